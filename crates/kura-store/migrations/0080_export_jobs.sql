-- Exports built in the background (DAT-5): a tenant's member asks for an export, a worker on
-- any node claims the job for a lease (so two nodes never build the same one, and a node that
-- stops half-way leaves it to the others once the lease ends), writes the file into its export
-- directory and records its progress; the file is then offered once, through a random token
-- kept here only as its SHA-256, until `expires_at`. The same text runs on both engines.
CREATE TABLE export_jobs (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    -- `archive` (the whole tenant) or `collection` (one collection's records).
    kind TEXT NOT NULL,
    collection TEXT NULL,
    format TEXT NULL,
    header TEXT NULL,
    -- Who asked, as audit entries name them; the label is sealed under the tenant's key.
    actor_kind TEXT NOT NULL,
    actor_id UUID NULL,
    actor_label TEXT NOT NULL,
    actor_role TEXT NULL,
    source_ip TEXT NULL,
    -- The role the job is built with (an API key's; a user's current role is read again).
    role_id UUID NOT NULL,
    -- queued, running, ready, failed, downloaded or expired.
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    rows_done BIGINT NOT NULL,
    rows_total BIGINT NULL,
    -- The claim of the worker building it, and until when it holds.
    claim_id UUID NULL,
    claimed_until BIGINT NULL,
    file_name TEXT NULL,
    bytes BIGINT NULL,
    -- SHA-256 of the download token, lowercase hex; erased once used or expired.
    token_hash TEXT NULL,
    expires_at BIGINT NULL,
    error TEXT NULL,
    created_at BIGINT NOT NULL,
    finished_at BIGINT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX export_jobs_by_time ON export_jobs (tenant_id, created_at);
CREATE INDEX export_jobs_due ON export_jobs (status, claimed_until);
CREATE INDEX export_jobs_by_id ON export_jobs (id);
