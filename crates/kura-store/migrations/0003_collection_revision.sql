-- A collection's definition revision: 1 at creation, incremented by every change of its label,
-- memo or fields. Nodes keep parsed definitions in memory and check this number (read in the
-- same statement as the change sequence numbers) before using one.
ALTER TABLE collections ADD COLUMN revision BIGINT NOT NULL DEFAULT 1;
