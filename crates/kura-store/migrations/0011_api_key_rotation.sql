-- Rotating an API key (IAM-12): the new secret's digest replaces `token_hash`, and the old one is
-- kept in `previous_token_hash`, accepted until `previous_valid_until` (the grace period the
-- administrator chose), so that the systems using the key can switch without an outage.
ALTER TABLE api_keys ADD COLUMN previous_token_hash BYTEA NULL;
ALTER TABLE api_keys ADD COLUMN previous_valid_until BIGINT NULL;
CREATE INDEX api_keys_previous_token ON api_keys (tenant_id, previous_token_hash);
