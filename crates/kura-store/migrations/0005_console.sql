-- What the consoles need beyond the records themselves. Portable on both engines.

-- A tenant's status (TEN-1): 'active', or 'suspended' by the operator, which refuses every
-- sign-in and every request of its users and API keys until the operator resumes it.
ALTER TABLE tenants ADD COLUMN status TEXT NOT NULL DEFAULT 'active';

-- The columns a user chose to see in a collection's records table, as a comma-separated list of
-- field names. Dropped with the user or the collection.
CREATE TABLE user_views (
    tenant_id UUID NOT NULL,
    user_id UUID NOT NULL,
    collection_id UUID NOT NULL,
    columns TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, collection_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, collection_id) REFERENCES collections (tenant_id, id) ON DELETE CASCADE
);

-- One record's history: the entries of a chain that name it, newest first.
CREATE INDEX audit_by_target ON audit_log (scope_id, target, seq);
