-- Refused decryptions met by work that repeats (DAT-2): the reminder scans every few minutes,
-- the scheduled deletion at the contract's end every hour, the key rotation worker's claims and
-- each start of a node meet a value that does not open again and again. Its first meeting is
-- written to the tenant's log at once; while it goes on, one more entry a day says how often it
-- was met, and one more when it is no longer met. This row is what makes that hold across
-- nodes and restarts: one per tenant and piece of work, claimed by conditional statements so
-- that of several nodes one writes each entry. No value and no cause in the clear: `digest` is
-- the SHA-256 of the refusal's cause (where it was found), to tell a different value from the
-- same one. The same text runs on both engines.
CREATE TABLE refused_opens (
    tenant_id UUID NOT NULL,
    -- The piece of work, as the entries' target names it: `password expiry notices`,
    -- `key-rotation:<job id>`, `start-up sealing`...
    work TEXT NOT NULL,
    digest BYTEA NOT NULL,
    -- When this value was first met, when its newest entry was written, when it was last met.
    first_at BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL,
    seen_at BIGINT NOT NULL,
    -- How often it was met since its newest entry (counted, not written).
    unrecorded BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, work)
);
