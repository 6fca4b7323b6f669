-- PostgreSQL only (TEN-2): the data-key rotation jobs of migration 0095 are tenant-owned rows
-- and get the same policy as every other tenant-owned table (0090). The worker that claims jobs
-- across tenants reads them by the platform route; a job's batches run in its tenant's scope.
ALTER TABLE key_rotations ENABLE ROW LEVEL SECURITY;
ALTER TABLE key_rotations FORCE ROW LEVEL SECURITY;
CREATE POLICY kura_tenant_isolation ON key_rotations
    USING (tenant_id = NULLIF(current_setting('kura.tenant_id', true), '')::uuid
           OR current_setting('kura.platform', true) = 'on')
    WITH CHECK (tenant_id = NULLIF(current_setting('kura.tenant_id', true), '')::uuid
                OR current_setting('kura.platform', true) = 'on');
