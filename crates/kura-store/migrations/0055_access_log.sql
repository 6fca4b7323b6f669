-- The access log (LOG-2): one row per HTTP request, apart from the audit log, with its own
-- retention. `scope_id` is the tenant the request was made as (the nil UUID for the platform:
-- operators and requests that named no tenant). The route is the template the request matched
-- (`/api/v1/collections/{name}/records/{id}`), never the raw path, so identifiers and query
-- strings are not kept. Rows are written in batches off the request path and purged by age;
-- nothing refers to them. The same text runs on both engines.

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
);
