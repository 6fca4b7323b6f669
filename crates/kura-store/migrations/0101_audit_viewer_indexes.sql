-- The operation log viewer's filters, each answered from an index in the viewer's order (newest
-- first by time, then by number), a page at a time however long the log (LOG-1). Failures and
-- refusals are few beside successes: their index leaves successes out, which the time index
-- serves. The target keeps its indexes (0065, 0066).
CREATE INDEX IF NOT EXISTS audit_by_time ON audit_log (scope_id, at, seq);
CREATE INDEX IF NOT EXISTS audit_by_operation ON audit_log (scope_id, operation, at, seq);
CREATE INDEX IF NOT EXISTS audit_by_outcome ON audit_log (scope_id, outcome, at, seq) WHERE outcome <> 'success';
CREATE INDEX IF NOT EXISTS audit_by_source_ip ON audit_log (scope_id, source_ip, at, seq);
CREATE INDEX IF NOT EXISTS audit_by_actor ON audit_log (scope_id, actor_id, at, seq);
