-- API keys narrowed beyond their role (IAM-12). `scopes`: the permissions the key may use, as a
-- comma-separated list of permission names (NULL: all of its role's). `allowed_ranges`: the
-- address ranges it may be used from, comma-separated CIDR (NULL: the tenant's API list alone).
-- `last_used_ip`: the client address of the last recorded use (recorded to the minute, with
-- `last_used_at`).
ALTER TABLE api_keys ADD COLUMN scopes TEXT NULL;
ALTER TABLE api_keys ADD COLUMN allowed_ranges TEXT NULL;
ALTER TABLE api_keys ADD COLUMN last_used_ip TEXT NULL;
