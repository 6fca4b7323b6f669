-- Single-use links to set a password (TEN-1, IAM-7): a setup link for a new account, a reset
-- link asked for on the sign-in page. Only the token's SHA-256 digest is stored; a link is
-- burned (used_at) by the one statement that accepts it, and refused once expired.
CREATE TABLE user_tokens (
    tenant_id UUID NOT NULL,
    token_hash BYTEA NOT NULL,
    user_id UUID NOT NULL,
    -- 'setup' or 'reset'.
    purpose TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT NULL,
    PRIMARY KEY (tenant_id, token_hash)
);
-- A new link replaces the user's earlier ones of the same purpose.
CREATE INDEX user_tokens_by_user ON user_tokens (tenant_id, user_id);
