-- Second factors (IAM-6). Rows belong to a scope like sessions do: `scope_id` is the tenant's id
-- for a user's factors, the nil UUID for an operator's, and `owner_id` is the user or operator.
--
-- TOTP secrets are stored as base32 text: the store has no sealing of values yet; encryption at
-- rest (the key hierarchy of kura-crypto's vault) will seal this column with the tenant's key.
-- `confirmed_at` is null while an enrolment waits for its first valid code; `last_step` is the
-- last time step accepted, so that a code is accepted only once (RFC 6238 §5.2).
CREATE TABLE second_factors (
    scope_id UUID NOT NULL,
    id UUID NOT NULL,
    owner_id UUID NOT NULL,
    kind TEXT NOT NULL,
    label TEXT NOT NULL,
    secret TEXT NOT NULL,
    last_step BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    confirmed_at BIGINT NULL,
    last_used_at BIGINT NULL,
    PRIMARY KEY (scope_id, id)
);
CREATE INDEX second_factors_by_owner ON second_factors (scope_id, owner_id);

-- Single-use recovery codes, stored as SHA-256 digests; `used_at` burns one.
CREATE TABLE recovery_codes (
    scope_id UUID NOT NULL,
    owner_id UUID NOT NULL,
    code_hash BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT NULL,
    PRIMARY KEY (scope_id, owner_id, code_hash)
);

-- A sign-in whose password was right and that waits for its second factor, kept in the
-- database so that any node can finish it. The token is stored as its digest. `pending_secret`
-- holds the secret offered to someone who must enrol before signing in (confirmed by the first
-- valid code); `attempts` counts wrong codes.
CREATE TABLE signin_challenges (
    scope_id UUID NOT NULL,
    token_hash BYTEA NOT NULL,
    owner_id UUID NOT NULL,
    surface TEXT NOT NULL,
    pending_secret TEXT NULL,
    attempts BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (scope_id, token_hash)
);
CREATE INDEX signin_challenges_by_owner ON signin_challenges (scope_id, owner_id);
