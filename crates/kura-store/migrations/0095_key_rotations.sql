-- Data-key rotation jobs (DAT-2): a tenant's administrator (or the operator) rotates the
-- tenant's data key, or seals the values of a tenant opened before encryption at rest was
-- switched on. A new key version seals new writes at once; a worker on any node claims the job
-- for a lease and re-encrypts the stored values batch by batch. Its position (the column it is
-- in and the last row done) is written in the same transaction as each batch, so a job cut off
-- by a crash resumes where it stopped. The same text runs on both engines.
CREATE TABLE key_rotations (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    -- `rotate` (a new version of an existing key) or `seal` (the tenant's first keys).
    kind TEXT NOT NULL,
    -- The version every value is sealed under once the job is done; older ones are retired.
    target_version BIGINT NOT NULL,
    -- running, done or failed.
    status TEXT NOT NULL,
    -- Pass 1 re-seals; a later pass only checks, and the job is done after a pass that found
    -- nothing left to re-seal.
    pass BIGINT NOT NULL,
    -- The sealed column the pass is in (an index into the store's list) and the key of the
    -- last row done in it (NULL: none yet).
    column_no BIGINT NOT NULL,
    cursor BYTEA NULL,
    rows_done BIGINT NOT NULL,
    rows_total BIGINT NULL,
    resealed BIGINT NOT NULL,
    pass_resealed BIGINT NOT NULL,
    -- Who asked, as audit entries name them; the label is sealed under the tenant's key.
    actor_kind TEXT NOT NULL,
    actor_id UUID NULL,
    actor_label TEXT NOT NULL,
    actor_role TEXT NULL,
    source_ip TEXT NULL,
    -- The claim of the worker running it, and until when it holds.
    claim_id UUID NULL,
    claimed_until BIGINT NULL,
    error TEXT NULL,
    created_at BIGINT NOT NULL,
    finished_at BIGINT NULL,
    PRIMARY KEY (tenant_id, id)
);
-- One running job per tenant.
CREATE UNIQUE INDEX key_rotations_one_running ON key_rotations (tenant_id) WHERE status = 'running';
CREATE INDEX key_rotations_due ON key_rotations (status, claimed_until);
