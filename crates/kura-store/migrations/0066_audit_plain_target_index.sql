-- Entries found by their target's index (0065) no longer need the index on the target itself,
-- which now holds ciphertext for a tenant's entries: a random key whose every insert dirtied a
-- page of its own. It stays for the entries that have no index (the platform's chain, and a
-- tenant's entries written before 0065), which the listing finds by their plain target.
DROP INDEX audit_by_target;
CREATE INDEX audit_by_plain_target ON audit_log (scope_id, target, seq) WHERE target_index IS NULL;
