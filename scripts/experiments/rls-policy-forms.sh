#!/usr/bin/env bash
# What the two forms of Kura's row-level security policy cost one statement, in PostgreSQL
# alone (TEN-2; docs/PERFORMANCE.md): the form of migration 0090, which calls
# `current_setting` in the policy's expression, against the form of 0097, which reads each
# setting in a scalar subquery (evaluated once per statement, as an InitPlan). The statement is
# the shape of Kura's credential statement (`sql/principals.rs`): a session joined with its
# user, tenant, role and a collection, five tables under the policy.
#
#   bash scripts/experiments/rls-policy-forms.sh [-r ROUNDS] [-t SECONDS] [-c CLIENTS]
#
# Runs pgbench in turns: as a superuser (policies bypassed), then as a plain role under each
# form, ROUNDS times (a third form, `tenant-only`, drops the platform route's `OR`, to show
# what that part costs), and prints transactions per second and each form's median ratio to the
# superuser's. Needs a PostgreSQL server on 127.0.0.1:5432 where `postgres` logs in without a
# password; creates (and drops again) the database `kura_rls_forms` and the role
# `kura_rls_probe`.
set -euo pipefail

rounds=3
seconds=8
clients=4
while getopts "r:t:c:" opt; do
    case $opt in
        r) rounds=$OPTARG ;;
        t) seconds=$OPTARG ;;
        c) clients=$OPTARG ;;
        *) sed -n '2,15p' "$0" >&2; exit 2 ;;
    esac
done

db=kura_rls_forms
role=kura_rls_probe
psql_su() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres "$@"; }
work=$(mktemp -d)
drop() {
    psql_su -d postgres -c "DROP DATABASE IF EXISTS $db" 2>/dev/null || true
    psql_su -d postgres -c "DROP ROLE IF EXISTS $role" 2>/dev/null || true
}
trap 'drop; rm -rf "$work"' EXIT
drop
psql_su -d postgres -c "CREATE DATABASE $db"
psql_su -d postgres -c "CREATE ROLE $role LOGIN"

# 100 tenants, each with 20 users (one session each), 3 roles and 5 collections.
psql_su -d "$db" <<SQL
CREATE TABLE tenants (id uuid PRIMARY KEY, slug text NOT NULL, status text NOT NULL);
CREATE TABLE roles (tenant_id uuid NOT NULL, id uuid NOT NULL, role_key text NOT NULL,
                    permissions text NOT NULL, PRIMARY KEY (tenant_id, id));
CREATE TABLE users (tenant_id uuid NOT NULL, id uuid NOT NULL, email text NOT NULL,
                    role_id uuid NOT NULL, status text NOT NULL, PRIMARY KEY (tenant_id, id));
CREATE TABLE sessions (scope_id uuid NOT NULL, token_hash bytea NOT NULL, user_id uuid NOT NULL,
                       expires_at bigint NOT NULL, PRIMARY KEY (scope_id, token_hash));
CREATE TABLE collections (tenant_id uuid NOT NULL, id uuid NOT NULL, name text NOT NULL,
                          change_seq bigint NOT NULL, PRIMARY KEY (tenant_id, id),
                          UNIQUE (tenant_id, name));
INSERT INTO tenants SELECT md5('t' || t)::uuid, 't' || t, 'active' FROM generate_series(1, 100) t;
INSERT INTO roles SELECT md5('t' || t)::uuid, md5('r' || t || '.' || r)::uuid, 'role' || r, '[]'
    FROM generate_series(1, 100) t, generate_series(1, 3) r;
INSERT INTO users SELECT md5('t' || t)::uuid, md5('u' || t || '.' || u)::uuid, 'u' || u || '@example.com',
    md5('r' || t || '.' || (u % 3 + 1))::uuid, 'active' FROM generate_series(1, 100) t, generate_series(1, 20) u;
INSERT INTO sessions SELECT md5('t' || t)::uuid, sha256(('s' || t || '.' || u)::bytea),
    md5('u' || t || '.' || u)::uuid, 9000000000000000 FROM generate_series(1, 100) t, generate_series(1, 20) u;
INSERT INTO collections SELECT md5('t' || t)::uuid, md5('c' || t || '.' || c)::uuid, 'c' || c, 0
    FROM generate_series(1, 100) t, generate_series(1, 5) c;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO $role;
ANALYZE;
SQL

# One tenant's session, looked up the way Kura looks up a request's credential.
cat >"$work/statement.sql" <<'SQL'
SELECT s.user_id, u.email, u.status, t.slug, t.status, r.role_key, r.permissions, c.id, c.change_seq
FROM sessions s
JOIN users u ON u.tenant_id = s.scope_id AND u.id = s.user_id
JOIN tenants t ON t.id = s.scope_id
JOIN roles r ON r.tenant_id = u.tenant_id AND r.id = u.role_id
LEFT JOIN collections c ON c.tenant_id = s.scope_id AND c.name = 'c3'
WHERE s.scope_id = md5('t42')::uuid AND s.token_hash = sha256('s42.7'::bytea) AND s.expires_at > 1;
SQL

# Applies a policy form to the five tables (tenants are keyed by their own id).
policy() {
    local tenant platform
    case $1 in
        0090)
            tenant="NULLIF(current_setting('kura.tenant_id', true), '')::uuid"
            platform=" OR current_setting('kura.platform', true) = 'on'"
            ;;
        0097)
            tenant="(SELECT NULLIF(current_setting('kura.tenant_id', true), '')::uuid)"
            platform=" OR (SELECT current_setting('kura.platform', true) = 'on')"
            ;;
        tenant-only)
            tenant="(SELECT NULLIF(current_setting('kura.tenant_id', true), '')::uuid)"
            platform=""
            ;;
    esac
    local sql="SET client_min_messages = warning;" tbl col
    for pair in tenants:id roles:tenant_id users:tenant_id sessions:scope_id collections:tenant_id; do
        tbl=${pair%%:*}
        col=${pair#*:}
        sql+="ALTER TABLE $tbl ENABLE ROW LEVEL SECURITY; ALTER TABLE $tbl FORCE ROW LEVEL SECURITY;
              DROP POLICY IF EXISTS p ON $tbl;
              CREATE POLICY p ON $tbl USING ($col = $tenant$platform);"
    done
    psql_su -d "$db" -c "$sql"
}

# Transactions per second of the statement, prepared (as sqlx prepares it), as role $1.
tps() {
    PGOPTIONS="-c kura.tenant_id=$(psql_su -d "$db" -Atc "SELECT md5('t42')::uuid")" \
        pgbench -n -h 127.0.0.1 -U "$1" -M prepared -c "$clients" -j 1 -T "$seconds" -f "$work/statement.sql" "$db" |
        sed -nE 's/^tps = ([0-9.]+).*/\1/p'
}

# The statement must find its row under the policy, or the comparison is of empty answers.
policy 0097
found=$(PGOPTIONS="-c kura.tenant_id=$(psql_su -d "$db" -Atc "SELECT md5('t42')::uuid")" \
    psql -X -h 127.0.0.1 -U "$role" -d "$db" -Atf "$work/statement.sql" | wc -l)
[[ $found == 1 ]] || { echo "the statement found $found rows under the policy, not 1" >&2; exit 1; }

results=$work/results
for round in $(seq 1 "$rounds"); do
    echo -e "$round\tsuperuser\t$(tps postgres)" | tee -a "$results"
    for form in 0090 0097 tenant-only; do
        policy "$form"
        echo -e "$round\t$form\t$(tps "$role")" | tee -a "$results"
    done
done

echo
echo "medians (ratio to the superuser's):"
python3 - "$results" <<'EOF'
import statistics, sys
by = {}
for line in open(sys.argv[1]):
    _, who, tps = line.split("\t")
    by.setdefault(who, []).append(float(tps))
base = statistics.median(by["superuser"])
for who, values in by.items():
    m = statistics.median(values)
    print(f"{who:10} {m:10.0f} tps  {m / base:.2f}x  ({' · '.join(f'{v:.0f}' for v in values)})")
EOF
