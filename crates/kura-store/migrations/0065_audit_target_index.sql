-- A tenant's audit entries keep their actor's label, target and detail sealed under the
-- tenant's data key (DAT-2): a target names a user by email, a detail may name a field's label.
-- The listing and a record's history find entries by their exact target through a blind index
-- instead (DAT-3): HMAC-SHA-256 under the tenant's blind-index key over the normalised target,
-- or for a tenant without keys the keyless hash of the same form. The platform's chain has no
-- tenant key and keeps its targets plain, without an index. Entries written before this
-- migration stay as they were (plain, no index): sealing them would change the bytes their
-- hashes, the Merkle tree and signed checkpoints committed to. The listing matches them by
-- their plain target.
ALTER TABLE audit_log ADD COLUMN target_index BYTEA NULL;
CREATE INDEX audit_by_target_index ON audit_log (scope_id, target_index, seq);
