-- The client's user agent in operation log entries (LOG-1). Sealed under the tenant's key in a
-- tenant's chain, like the actor's label; plain in the platform's. NULL in entries written
-- before it was recorded, which keep their original encoding and hashes.
ALTER TABLE audit_log ADD COLUMN user_agent TEXT NULL;
