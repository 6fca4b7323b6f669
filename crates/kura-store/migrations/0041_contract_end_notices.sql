-- Reminders of the contract's end (TEN-4): the tenant's administrators are mailed 30, 14 and 1
-- days before its last day, each once. `end_notice` is the nearest reminder already sent (in
-- days before the end, 0 for none) for the end date `end_notice_for`; a changed end date starts
-- the reminders again. The claim is one conditional UPDATE, so that of several nodes, and across
-- restarts, only one sends each reminder.
ALTER TABLE tenants ADD COLUMN end_notice BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN end_notice_for TEXT NULL;
