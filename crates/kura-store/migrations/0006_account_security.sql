-- Account security (IAM-4, IAM-5, IAM-9): each tenant's security policy, the lockout and
-- password state of each user, password history, and per-address sign-in throttling.

-- One typed policy per tenant, as JSON (kura_domain::SecurityPolicy). A tenant without a row
-- uses the defaults. `revision` counts saves, so that two administrators cannot overwrite each
-- other's change unseen.
CREATE TABLE tenant_security (
    tenant_id UUID NOT NULL PRIMARY KEY REFERENCES tenants (id),
    revision BIGINT NOT NULL,
    policy TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The language of the user's mail ('ja' or 'en').
ALTER TABLE users ADD COLUMN lang TEXT NOT NULL DEFAULT 'ja';
-- Set when the user must choose a new password before anything else.
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
-- When the password was last set; expiry counts from here.
ALTER TABLE users ADD COLUMN password_changed_at BIGINT NULL;
UPDATE users SET password_changed_at = updated_at WHERE password_hash IS NOT NULL;
-- The expiry warning last mailed for the current password: 0 none, 14 or 3 days before.
ALTER TABLE users ADD COLUMN expiry_notice BIGINT NOT NULL DEFAULT 0;
-- Operators' one-time passwords (kura demo, kura operator create) must be changed at first use.
ALTER TABLE operators ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
-- Consecutive failed sign-ins, counted by one atomic UPDATE per failure, and the lock they
-- caused. locked_until NULL with locked_at set: locked until an administrator unlocks.
ALTER TABLE users ADD COLUMN failed_logins BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_at BIGINT NULL;
ALTER TABLE users ADD COLUMN locked_until BIGINT NULL;

-- Hashes of a user's previous passwords, for the reuse rule; ids are time-ordered (UUIDv7), so
-- the newest come first in descending id order.
CREATE TABLE password_history (
    tenant_id UUID NOT NULL,
    user_id UUID NOT NULL,
    id UUID NOT NULL,
    changed_at BIGINT NOT NULL,
    password_hash TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, id)
);

-- Failed sign-ins per source address in the current window, shared by every node. scope_id is
-- the tenant (the nil UUID for the operator console).
CREATE TABLE signin_throttle (
    scope_id UUID NOT NULL,
    address TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    failures BIGINT NOT NULL,
    PRIMARY KEY (scope_id, address)
);
