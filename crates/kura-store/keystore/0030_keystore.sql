-- The keystore: tenant keys wrapped by the master key (DAT-2, DAT-3). It is its own database,
-- kept and backed up apart from the data: a SQLite file outside the data directory, or its own
-- PostgreSQL database. It holds no value of a tenant and no unwrapped key. The same text runs
-- on both engines.

CREATE TABLE tenant_keys (
    tenant_id UUID NOT NULL,
    -- 'data' (seals values) or 'blind-index' (keys the blind indexes).
    purpose TEXT NOT NULL,
    version BIGINT NOT NULL,
    -- The master key that wrapped this key (its public id), for master-key rotation.
    master_key_id TEXT NOT NULL,
    -- The wrapped key as `WrappedKey::to_bytes`, which repeats purpose, version and master key.
    wrapped BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, purpose, version)
);
