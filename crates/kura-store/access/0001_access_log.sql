-- The access log (LOG-2) on SQLite: a database file of its own beside the data file, so that
-- its batches never wait for, or hold up, the data's single writer. The same columns as the
-- data database's `access_log` (migration 0055, which PostgreSQL keeps using), in the same
-- order. WITHOUT ROWID: the primary key is the only b-tree a row goes into.

CREATE TABLE access_log (
    scope_id UUID NOT NULL,
    at BIGINT NOT NULL,
    id UUID NOT NULL,
    method TEXT NOT NULL,
    route TEXT NOT NULL,
    status INTEGER NOT NULL,
    latency_us BIGINT NOT NULL,
    actor_kind TEXT,
    actor_id UUID,
    source_ip TEXT,
    user_agent TEXT,
    PRIMARY KEY (scope_id, at, id)
) WITHOUT ROWID;
