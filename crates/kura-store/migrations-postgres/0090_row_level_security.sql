-- PostgreSQL only (TEN-2, the second layer): row-level security on every tenant-owned table.
-- Applied after the shared migrations of the same or lower number (the store merges both
-- directories on PostgreSQL; SQLite never sees this file).
--
-- A row is visible, and may be written, only when its tenant is the one the connection's
-- current transaction (or read lease) named in `kura.tenant_id`, or when the store opened the
-- platform route by setting `kura.platform` to 'on' (see ARCHITECTURE.md, "Row-level
-- security"). Nothing set: no rows at all. The platform chain and the operators' rows carry the
-- nil UUID as their scope, so they are reached by the platform route only.
--
-- FORCE applies the policies to the tables' owner as well; superusers and roles with BYPASSRLS
-- still pass, which is why the application should connect as a role that is neither (the store
-- warns at start-up when it is not).
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES
        -- Tables keyed by tenant.
        ('api_keys', 'tenant_id'),
        ('break_glass', 'tenant_id'),
        ('client_certificates', 'tenant_id'),
        ('collections', 'tenant_id'),
        ('export_jobs', 'tenant_id'),
        ('password_history', 'tenant_id'),
        ('records', 'tenant_id'),
        ('roles', 'tenant_id'),
        ('tenant_deletions', 'tenant_id'),
        ('tenant_security', 'tenant_id'),
        ('user_tokens', 'tenant_id'),
        ('user_views', 'tenant_id'),
        ('users', 'tenant_id'),
        -- Tables keyed by audit scope: a tenant, or the platform (the nil UUID).
        ('access_log', 'scope_id'),
        ('audit_heads', 'scope_id'),
        ('audit_log', 'scope_id'),
        ('audit_tree_nodes', 'scope_id'),
        ('mail_outbox', 'scope_id'),
        ('passkey_registrations', 'scope_id'),
        ('recovery_codes', 'scope_id'),
        ('second_factors', 'scope_id'),
        ('sessions', 'scope_id'),
        ('signin_challenges', 'scope_id'),
        ('signin_throttle', 'scope_id')
    ) AS v (tbl, col)
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t.tbl);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t.tbl);
        EXECUTE format(
            'CREATE POLICY kura_tenant_isolation ON %I '
            'USING (%I = NULLIF(current_setting(''kura.tenant_id'', true), '''')::uuid '
            'OR current_setting(''kura.platform'', true) = ''on'') '
            'WITH CHECK (%I = NULLIF(current_setting(''kura.tenant_id'', true), '''')::uuid '
            'OR current_setting(''kura.platform'', true) = ''on'')',
            t.tbl, t.col, t.col);
    END LOOP;
END
$$;
