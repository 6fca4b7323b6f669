-- Data-key rotation (DAT-2). A rotation adds a new data-key version; once its job has
-- re-encrypted every re-sealable value, the older versions are retired at that time. A retired
-- version is kept: the audit entries sealed under it are committed to by the hash chain and the
-- Merkle tree, so they are never re-sealed, and still open with it. It seals nothing any more.
ALTER TABLE tenant_keys ADD COLUMN retired_at BIGINT;

-- A tenant opened before encryption at rest was switched on gets its keys when its values are
-- first sealed; until that job has sealed them all, its plain values are still read (a tenant
-- with keys and no row here refuses a plain value). The row is deleted when the job finishes.
CREATE TABLE tenant_plain_values (
    tenant_id UUID NOT NULL PRIMARY KEY,
    since BIGINT NOT NULL
);
