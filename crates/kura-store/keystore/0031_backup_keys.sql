-- The installation's backup keys (OPS-1), wrapped by the master key like tenant keys (purpose
-- 'backup', bound to the owner "kura.backup-key" instead of a tenant id). Every backup names the
-- version and fingerprint of the key that encrypted it; a key is never deleted while a backup
-- made with it is kept. The same text runs on both engines.

CREATE TABLE backup_keys (
    version BIGINT NOT NULL PRIMARY KEY,
    -- The master key that wrapped this key (its public id).
    master_key_id TEXT NOT NULL,
    -- The wrapped key as `WrappedKey::to_bytes`.
    wrapped BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
