-- The mail outbox: every notice Kura sends (setup and reset links, expiry warnings) is written
-- here in the same transaction as the change that causes it, and a sender task on any node
-- delivers it, with retries. This is the platform's queue, not a tenant's table: scope_id names
-- the tenant the mail belongs to (the nil UUID for the platform), so that a failure is recorded
-- in that tenant's audit chain.
CREATE TABLE mail_outbox (
    id UUID NOT NULL PRIMARY KEY,
    scope_id UUID NOT NULL,
    recipient TEXT NOT NULL,
    lang TEXT NOT NULL,
    -- Which notice it is (setup_link, reset_link, password_expiry…), for the operator's list.
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    -- The rendered text. It may hold a one-time link, so it is erased ('') once the mail is
    -- delivered or given up.
    body TEXT NOT NULL,
    -- pending, sent or failed.
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    -- A sender has taken the mail until then; after that, another may (a node that stopped
    -- half-way does not lose it).
    claimed_until BIGINT NULL,
    last_error TEXT NULL,
    created_at BIGINT NOT NULL,
    sent_at BIGINT NULL
);
CREATE INDEX mail_outbox_due ON mail_outbox (status, next_attempt_at);
CREATE INDEX mail_outbox_by_scope ON mail_outbox (scope_id, created_at);
