-- PostgreSQL only (TEN-2): the refused decryptions of migration 0110 are tenant-owned rows and
-- get the same policy as every other tenant-owned table, in its form of 0097 (each setting read
-- once per statement). A scan reads which tenants have one by the platform route; each is noted
-- and cleared in its tenant's scope.
ALTER TABLE refused_opens ENABLE ROW LEVEL SECURITY;
ALTER TABLE refused_opens FORCE ROW LEVEL SECURITY;
CREATE POLICY kura_tenant_isolation ON refused_opens
    USING (tenant_id = (SELECT NULLIF(current_setting('kura.tenant_id', true), '')::uuid)
           OR (SELECT current_setting('kura.platform', true) = 'on'))
    WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('kura.tenant_id', true), '')::uuid)
                OR (SELECT current_setting('kura.platform', true) = 'on'));
