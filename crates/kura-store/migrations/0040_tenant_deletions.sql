-- The contract's end (TEN-4): what remains of a tenant once its keys are destroyed and its rows
-- deleted. The platform keeps, per deleted tenant, who it was, when its keys were destroyed and
-- its rows deleted, and the signed deletion certificate (a C2SP signed note), so that the
-- operator can hand it over again later. It holds no value of the tenant. The same text runs
-- on both engines.

CREATE TABLE tenant_deletions (
    tenant_id UUID NOT NULL PRIMARY KEY,
    slug TEXT NOT NULL,
    display_name TEXT NOT NULL,
    contract_end TEXT NOT NULL,
    keys_destroyed_at BIGINT NOT NULL,
    deleted_at BIGINT NOT NULL,
    certificate TEXT NOT NULL
);
CREATE INDEX tenant_deletions_by_slug ON tenant_deletions (slug, deleted_at);
