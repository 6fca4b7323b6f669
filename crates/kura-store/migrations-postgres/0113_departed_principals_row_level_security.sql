-- PostgreSQL only (TEN-2): the departed principals of migration 0112 are tenant-owned rows and
-- get the same policy as every other tenant-owned table, in its form of 0097 (each setting read
-- once per statement). They are written by a user's deletion and read by the log viewer, both
-- in the tenant's scope.
ALTER TABLE departed_principals ENABLE ROW LEVEL SECURITY;
ALTER TABLE departed_principals FORCE ROW LEVEL SECURITY;
CREATE POLICY kura_tenant_isolation ON departed_principals
    USING (tenant_id = (SELECT NULLIF(current_setting('kura.tenant_id', true), '')::uuid)
           OR (SELECT current_setting('kura.platform', true) = 'on'))
    WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('kura.tenant_id', true), '')::uuid)
                OR (SELECT current_setting('kura.platform', true) = 'on'));
