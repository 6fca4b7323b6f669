-- The user who created an API key (IAM-12). Deleting or disabling that user revokes the keys
-- they created, in the same write. Empty for keys created before this column existed and for
-- keys whose creator was no user.
ALTER TABLE api_keys ADD COLUMN created_by UUID NULL;
