-- Backup-key rotation (OPS-1): when a newer backup key was made, the older ones are retired at
-- that time. A retired key still opens the backups made before it was retired, and is removed
-- once none of them is kept. NULL: the current key. The same text runs on both engines.

ALTER TABLE backup_keys ADD COLUMN retired_at BIGINT;
