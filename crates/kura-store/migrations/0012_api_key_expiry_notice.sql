-- The expiry reminder last mailed for an API key (IAM-12): 0 for none, else the days-before
-- stage (14, then 3), so that each reminder goes out once, from one node.
ALTER TABLE api_keys ADD COLUMN expiry_notice BIGINT NOT NULL DEFAULT 0;
