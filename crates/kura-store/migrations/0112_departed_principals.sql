-- Principals a tenant deleted (LOG-1): a deleted user's audit entries stay, naming it by id
-- (`audit_log.actor_id`, which the viewer's actor filter reads by its index) and by the label
-- it had then, sealed. The filter finds the ids from the principals' names; once a user is
-- deleted, only this row still knows its id and names. One row per principal, written in the
-- same write as its deletion, with the labels it had then, sealed under the tenant's key like the
-- users' own (table `departed_principals`, row = the id, field = the column): never in the
-- clear. Nothing is added to the writing of an audit entry. The same text runs on both engines.
CREATE TABLE departed_principals (
    tenant_id UUID NOT NULL,
    id UUID NOT NULL,
    -- The actor kind its entries carry (`user`).
    kind TEXT NOT NULL,
    -- The label its entries carry (a user's email), and a user's display name (NULL for a
    -- principal with one name).
    label TEXT NOT NULL,
    display_name TEXT,
    departed_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
