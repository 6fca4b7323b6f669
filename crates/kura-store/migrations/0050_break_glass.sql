-- Break-glass access (IAM-13): an operator's time-bounded, tenant-visible access to one tenant,
-- with the reason stated, the approval where the tenant's policy asks for one, and when it began
-- and ended. Tenant-owned (the tenant's history page lists them), deleted with the tenant. The
-- support session it opens is a token whose digest only is kept here, one per access: opening
-- a new one replaces it. Times are microseconds since the epoch; the same text runs on both
-- engines.
CREATE TABLE break_glass (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    operator_id UUID NOT NULL,
    operator_email TEXT NOT NULL,
    reason TEXT NOT NULL,
    minutes BIGINT NOT NULL,
    requested_at BIGINT NOT NULL,
    approval_required BOOLEAN NOT NULL,
    status TEXT NOT NULL,
    decided_by TEXT NULL,
    decided_at BIGINT NULL,
    starts_at BIGINT NULL,
    ends_at BIGINT NULL,
    ended_at BIGINT NULL,
    ended_by TEXT NULL,
    token_hash BYTEA NULL,
    PRIMARY KEY (tenant_id, id)
);
-- The open accesses (pending or active) of every tenant, for the operator's overview, the
-- banner and the job that closes those whose time is up.
CREATE INDEX break_glass_open ON break_glass (status, tenant_id);
