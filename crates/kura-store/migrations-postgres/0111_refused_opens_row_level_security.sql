-- PostgreSQL only (TEN-2): the refused decryptions of migration 0110 are tenant-owned rows and
-- get the same policy as every other tenant-owned table (0090). A scan reads which tenants have
-- one by the platform route; each is noted and cleared in its tenant's scope.
ALTER TABLE refused_opens ENABLE ROW LEVEL SECURITY;
ALTER TABLE refused_opens FORCE ROW LEVEL SECURITY;
CREATE POLICY kura_tenant_isolation ON refused_opens
    USING (tenant_id = NULLIF(current_setting('kura.tenant_id', true), '')::uuid
           OR current_setting('kura.platform', true) = 'on')
    WITH CHECK (tenant_id = NULLIF(current_setting('kura.tenant_id', true), '')::uuid
                OR current_setting('kura.platform', true) = 'on');
