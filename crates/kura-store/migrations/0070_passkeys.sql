-- Passkeys and security keys (WebAuthn, IAM-6) are second factors of kind `passkey` in
-- `second_factors`: `secret` holds the credential (its public key, id and counter) as JSON, sealed
-- like a TOTP secret. `credential_hash` is the SHA-256 of the credential's id, unique across all
-- accounts, so that one authenticator's credential can never be registered to two accounts.
-- TOTP factors leave it null (nulls never collide in a unique index on either engine).
ALTER TABLE second_factors ADD COLUMN credential_hash BYTEA NULL;
CREATE UNIQUE INDEX second_factors_by_credential ON second_factors (credential_hash);

-- The state of a sign-in's passkey ceremony (the challenge the browser signs and the credentials
-- it may use), sealed and bound to the sign-in challenge: it expires and ends with it.
ALTER TABLE signin_challenges ADD COLUMN passkey_state TEXT NULL;

-- A passkey registration under way: the ceremony's state and the name the user gave, sealed under
-- the tenant's key, bound to its owner, short-lived (`expires_at`, by the server's clock), and
-- deleted by the request that finishes it, so that it serves once and on any node.
CREATE TABLE passkey_registrations (
    scope_id UUID NOT NULL,
    id UUID NOT NULL,
    owner_id UUID NOT NULL,
    label TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (scope_id, id)
);
CREATE INDEX passkey_registrations_by_owner ON passkey_registrations (scope_id, owner_id);
