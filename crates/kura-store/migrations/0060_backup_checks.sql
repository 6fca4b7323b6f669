-- Backups (OPS-1): every verification of a backup and every restore drill, with its result, so
-- that the operator console shows when each backup was last checked and how, and /metrics the
-- last drill. Each row is written in the platform write whose audit entry records the same check.
-- The backups themselves live outside the database; `backup_id` is a backup's name
-- (its time, e.g. 20261206T180000.000000Z). The same text runs on both engines.

CREATE TABLE backup_checks (
    id UUID NOT NULL PRIMARY KEY,
    backup_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    location TEXT NOT NULL,
    checked_at BIGINT NOT NULL,
    millis BIGINT NOT NULL,
    ok BOOLEAN NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX backup_checks_by_time ON backup_checks (checked_at);
