-- Change sequences, so that a node can keep an in-memory snapshot of a collection's records and
-- refresh it by fetching only what changed (src/cache.rs). Every record insert or update takes the
-- collection's next change_seq and stores it on the record; a delete also moves delete_seq, which
-- tells a snapshot older than it to reload in full. Portable on both engines.
ALTER TABLE collections ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE collections ADD COLUMN delete_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE records ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX records_by_change ON records (tenant_id, collection_id, change_seq);
