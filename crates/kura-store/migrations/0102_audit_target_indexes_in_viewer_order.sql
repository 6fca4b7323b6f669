-- The viewer's target filter in the viewer's order (LOG-1): newest first by time, then by
-- number, like the other filters' indexes (0101). The target's two indexes (0065, 0066) were
-- ordered by number alone, and a listing asked for both in one `OR`, which SQLite answered by
-- walking the time index over the whole log: about 0.7 s at a million entries for a user's
-- target, and tens of seconds at ten million. The listing now reads the two ways as separate
-- parts, each a page from its own index.
DROP INDEX audit_by_target_index;
CREATE INDEX audit_by_target_index ON audit_log (scope_id, target_index, at, seq);
DROP INDEX audit_by_plain_target;
CREATE INDEX audit_by_plain_target ON audit_log (scope_id, target, at, seq) WHERE target_index IS NULL;
