-- PostgreSQL only (TEN-2, the second layer): the tenant isolation policy of every tenant-owned
-- table (0090, 0096) again, with the same confinement, read once per statement instead of once
-- per row.
--
-- Written bare, as in 0090, the policy's expression called `current_setting` twice and cast
-- the text to a uuid for every row a statement read or wrote; a create writes two or three
-- rows (its record, its audit entry, now and then a Merkle subtree), each checked on the way
-- in (docs/PERFORMANCE.md, "what PostgreSQL row-level security costs"). Here each setting is
-- read in a scalar subquery that refers to nothing of the row, which PostgreSQL plans as an
-- InitPlan: run once per execution of the statement, its result compared with every row's
-- column. Every row is still checked; only the reading of the setting is shared. A prepared
-- statement runs it again at every execution, so a plan kept across scopes sees each one's.
--
-- Unchanged: a row is visible, and may be written, only when its tenant (or audit scope) is the
-- one `kura.tenant_id` names, or when `kura.platform` is 'on' (the platform route). Nothing
-- set: no rows. A row written for another tenant, or moved to one, is an error (WITH CHECK).
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
        ('key_rotations', 'tenant_id'),
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
        EXECUTE format(
            'ALTER POLICY kura_tenant_isolation ON %I '
            'USING (%I = (SELECT NULLIF(current_setting(''kura.tenant_id'', true), '''')::uuid) '
            'OR (SELECT current_setting(''kura.platform'', true) = ''on'')) '
            'WITH CHECK (%I = (SELECT NULLIF(current_setting(''kura.tenant_id'', true), '''')::uuid) '
            'OR (SELECT current_setting(''kura.platform'', true) = ''on''))',
            t.tbl, t.col, t.col);
    END LOOP;
END
$$;
