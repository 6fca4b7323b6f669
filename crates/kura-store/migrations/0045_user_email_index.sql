-- Users' emails and display names are sealed under the tenant's data key (DAT-2), so the
-- database can no longer compare emails. Sign-in and the per-tenant uniqueness of an email use
-- a blind index instead (DAT-3): HMAC-SHA-256 under the tenant's blind-index key over the
-- normalised email (NFKC, case folded, full- and half-width folded), or for a tenant without
-- keys the keyless hash of the same form. Rows written before this migration have none: the
-- store fills it in, and seals their values, when it opens (`Store::seal_unsealed`).
ALTER TABLE users ADD COLUMN email_index BYTEA NULL;
CREATE UNIQUE INDEX users_by_email_index ON users (tenant_id, email_index);
