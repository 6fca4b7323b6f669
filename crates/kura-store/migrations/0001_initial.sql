-- Kura's initial schema. This text runs unchanged on SQLite and PostgreSQL, so it uses only
-- types both accept: UUID (a 16-byte blob on SQLite), BIGINT (instants are microseconds since
-- the Unix epoch), TEXT, BOOLEAN and BYTEA (SQLite keeps blobs as they are).
--
-- Tenant-owned tables put tenant_id first in their primary key, so every tenant-scoped lookup is
-- an index prefix scan and no query can reach a row without naming its tenant.

CREATE TABLE operators (
    id UUID NOT NULL PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE tenants (
    id UUID NOT NULL PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    -- Civil dates as YYYY-MM-DD.
    contract_start TEXT NULL,
    contract_end TEXT NULL,
    created_at BIGINT NOT NULL
);

-- "key" is reserved in some dialects, hence role_key.
CREATE TABLE roles (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    role_key TEXT NOT NULL,
    label TEXT NOT NULL,
    -- Comma-separated permission names (PermissionSet::to_list).
    permissions TEXT NOT NULL,
    builtin BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, role_key)
);

CREATE TABLE users (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    email TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role_id UUID NOT NULL,
    -- NULL until the user sets a password.
    password_hash TEXT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, email),
    -- Composite: a user can only hold a role of their own tenant.
    FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id)
);
-- Counting a role's holders, and the foreign-key check when a role is deleted.
CREATE INDEX users_by_role ON users (tenant_id, role_id);

CREATE TABLE collections (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    name TEXT NOT NULL,
    label TEXT NOT NULL,
    memo TEXT NOT NULL,
    -- JSON array of field definitions.
    fields TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

-- The primary key's prefix (tenant_id, collection_id) serves "all records of a collection".
CREATE TABLE records (
    tenant_id UUID NOT NULL,
    collection_id UUID NOT NULL,
    id UUID NOT NULL,
    version BIGINT NOT NULL,
    -- Opaque bytes: JSON today, authenticated ciphertext once encryption at rest lands.
    data BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, collection_id, id),
    FOREIGN KEY (tenant_id, collection_id) REFERENCES collections (tenant_id, id)
);

-- scope_id is the tenant id, or the nil UUID for operator sessions. Only the token's digest is
-- stored.
CREATE TABLE sessions (
    scope_id UUID NOT NULL,
    token_hash BYTEA NOT NULL,
    user_id UUID NULL,
    operator_id UUID NULL,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    source_ip TEXT NULL,
    user_agent TEXT NULL,
    PRIMARY KEY (scope_id, token_hash)
);
-- Signing a user out everywhere (deletion, disabling).
CREATE INDEX sessions_by_user ON sessions (scope_id, user_id);

-- No foreign key on role_id: revoked keys keep naming the role they had, even once it is gone.
CREATE TABLE api_keys (
    tenant_id UUID NOT NULL REFERENCES tenants (id),
    id UUID NOT NULL,
    name TEXT NOT NULL,
    role_id UUID NOT NULL,
    token_hash BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NULL,
    revoked_at BIGINT NULL,
    last_used_at BIGINT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, token_hash)
);

-- The audit chains (LOG-1): one per scope (the nil UUID is the platform). No foreign keys: the
-- trail outlives the users, tenants and records it describes.
CREATE TABLE audit_log (
    scope_id UUID NOT NULL,
    seq BIGINT NOT NULL,
    at BIGINT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id UUID NULL,
    actor_label TEXT NOT NULL,
    actor_role TEXT NULL,
    source_ip TEXT NULL,
    operation TEXT NOT NULL,
    target TEXT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NULL,
    prev_hash BYTEA NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (scope_id, seq)
);

-- The last sequence number and hash of each chain. Appends lock this row, which serialises them
-- per scope; verification compares it with the last entry to detect a truncated tail.
CREATE TABLE audit_heads (
    scope_id UUID NOT NULL PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash BYTEA NOT NULL
);
