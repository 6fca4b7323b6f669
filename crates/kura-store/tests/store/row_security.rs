//! TEN-2, the second layer: PostgreSQL's row-level security confines the application role to
//! the tenant its transaction names. The stores of these tests (of every PostgreSQL test)
//! connect as the test cluster's application role, migrated by the owner; the raw connections
//! below connect as that role too, and ask the database directly what it lets through.
//! SQLite has no roles and no row-level security: there these tests check only that the store
//! says so, or run the store-level half.

use super::*;
use kura_domain::CollectionId;
use kura_store::RowSecurity;
use kura_store::testing::{queued_as_data, queued_writers};
use sqlx::{Connection as _, PgConnection};
use std::time::Duration;

/// The tables the policies must cover: every table of Kura's with a `tenant_id` or `scope_id`
/// column, with that column, from the catalogue (so a table added later is covered, or fails).
async fn tenant_owned(owner: &mut PgConnection) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND column_name IN ('tenant_id', 'scope_id') ORDER BY 1",
    )
    .fetch_all(owner)
    .await
    .unwrap()
}

/// Owner and application-role connections to the test's database, on PostgreSQL only.
async fn connections(env: &Env) -> Option<(PgConnection, PgConnection)> {
    if env.store.engine() != Engine::Postgres {
        assert_eq!(env.store.row_security(), RowSecurity::NotAvailable);
        return None;
    }
    let owner = PgConnection::connect(&env.db.url).await.unwrap();
    let app = PgConnection::connect(&env.db.app_url()).await.unwrap();
    Some((owner, app))
}

/// Sets the tenant for the application connection's session (empty: none).
async fn set_tenant(app: &mut PgConnection, tenant: Option<TenantId>) {
    let value = tenant.map(|t| t.as_uuid().to_string()).unwrap_or_default();
    sqlx::query("SELECT set_config('kura.tenant_id', $1, false)").bind(value).execute(&mut *app).await.unwrap();
}

async fn count(conn: &mut PgConnection, sql: &str, bind: Option<Uuid>) -> i64 {
    let query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()));
    let query = match bind {
        Some(id) => query.bind(id),
        None => query,
    };
    query.fetch_one(conn).await.unwrap()
}

/// A tenant with rows in the main tables: a collection with two records, a user, an API key,
/// its built-in roles and its audit chain.
async fn populated(store: &Store, slug: &str) -> (Tenant, Collection) {
    let t = make_tenant(store, slug).await;
    let c = make_collection(store, &t, "customers").await;
    add_record(store, &t, &c, "a").await;
    add_record(store, &t, &c, "b").await;
    make_user(store, &t, &format!("taro@{slug}.example")).await;
    let editor = role(store, &t, BuiltinRole::Editor).await;
    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    w.insert_api_key(t.id, "sync", editor.id, None, None, Default::default()).await.unwrap();
    w.commit(AuditRecord::success(Operation::ApiKeyCreate, "api_key:sync")).await.unwrap();
    (t, c)
}

/// Tables each populated tenant has rows in: what makes the checks below mean something.
const POPULATED: [&str; 7] = ["api_keys", "audit_heads", "audit_log", "collections", "records", "roles", "users"];

#[tokio::test]
async fn ten_2_every_tenant_owned_table_has_forced_row_level_security() {
    let env = env().await;
    let Some((mut owner, _)) = connections(&env).await else { return };
    assert_eq!(env.store.row_security(), RowSecurity::Enforced, "the store runs as the application role");
    let tables = tenant_owned(&mut owner).await;
    assert!(tables.len() >= 25, "the catalogue lists the tenant-owned tables: {tables:?}");
    // Every table's policy is the one expression, on its own column, for reads and writes.
    let mut forms = std::collections::BTreeSet::new();
    for (table, column) in &tables {
        let (enabled, forced): (bool, bool) =
            sqlx::query_as("SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = to_regclass($1)")
                .bind(table)
                .fetch_one(&mut owner)
                .await
                .unwrap();
        assert!(enabled && forced, "{table} has row-level security enabled and forced");
        let policy: Option<(String, String)> = sqlx::query_as(
            "SELECT qual, with_check FROM pg_policies WHERE tablename = $1 AND policyname = 'kura_tenant_isolation'",
        )
        .bind(table)
        .fetch_optional(&mut owner)
        .await
        .unwrap();
        let (policy, check) = policy.unwrap_or_else(|| panic!("{table} has the tenant isolation policy"));
        assert!(policy.contains(&format!("({column} = ")), "{table}'s policy is on {column}: {policy}");
        assert_eq!(policy, check, "{table} checks the rows it writes as it filters those it reads");
        forms.insert(policy.replace(&format!("({column} = "), "(tenant_id = "));
    }
    // A table left with an older form of the policy (migration 0097) would show here.
    assert_eq!(forms.len(), 1, "one policy for every table: {forms:#?}");
}

#[tokio::test]
async fn ten_2_an_unscoped_query_as_the_application_role_returns_no_other_tenants_rows() {
    let env = env().await;
    let (a, _) = populated(&env.store, "acme").await;
    let (b, _) = populated(&env.store, "bolt").await;
    // The store itself reads each tenant's rows through the policies.
    assert_eq!(env.store.users(a.id).await.unwrap().len(), 1);
    assert_eq!(env.store.api_keys(b.id).await.unwrap().len(), 1);
    let Some((mut owner, mut app)) = connections(&env).await else { return };
    for (table, column) in tenant_owned(&mut owner).await {
        let of = format!("SELECT count(*) FROM {table} WHERE {column} = $1");
        let (of_a, of_b) =
            (count(&mut owner, &of, Some(a.id.as_uuid())).await, count(&mut owner, &of, Some(b.id.as_uuid())).await);
        if POPULATED.contains(&table.as_str()) {
            assert!(of_a > 0 && of_b > 0, "{table} holds rows of both tenants");
        }
        // Deliberately unscoped: no WHERE at all.
        let all = format!("SELECT count(*) FROM {table}");
        set_tenant(&mut app, None).await;
        assert_eq!(count(&mut app, &all, None).await, 0, "{table}: no tenant set, no rows");
        set_tenant(&mut app, Some(a.id)).await;
        assert_eq!(count(&mut app, &all, None).await, of_a, "{table}: tenant A set, exactly A's rows");
        let others = format!("SELECT count(*) FROM {table} WHERE {column} <> $1");
        assert_eq!(count(&mut app, &others, Some(a.id.as_uuid())).await, 0, "{table}: none of another scope");
        set_tenant(&mut app, Some(b.id)).await;
        assert_eq!(count(&mut app, &all, None).await, of_b, "{table}: tenant B set, exactly B's rows");
    }
}

#[tokio::test]
async fn ten_2_the_application_role_cannot_write_another_tenants_rows() {
    let env = env().await;
    let (a, ca) = populated(&env.store, "acme").await;
    let (b, cb) = populated(&env.store, "bolt").await;
    let Some((mut owner, mut app)) = connections(&env).await else { return };
    let b_records = "SELECT count(*) FROM records WHERE tenant_id = $1";
    let before = count(&mut owner, b_records, Some(b.id.as_uuid())).await;
    set_tenant(&mut app, Some(a.id)).await;
    let (bid, aid) = (b.id.as_uuid(), a.id.as_uuid());

    // B's rows are not there to change or delete: nothing is touched.
    for sql in [
        "UPDATE records SET version = version + 1 WHERE tenant_id = $1",
        "DELETE FROM records WHERE tenant_id = $1",
        "DELETE FROM users WHERE tenant_id = $1",
        "UPDATE audit_heads SET seq = seq + 1 WHERE scope_id = $1",
        "DELETE FROM audit_log WHERE scope_id = $1",
    ] {
        let done = sqlx::query(sql).bind(bid).execute(&mut app).await.unwrap();
        assert_eq!(done.rows_affected(), 0, "{sql} touched none of B's rows");
    }
    // A row written for B, or moved from A to B, is refused outright.
    let refused = [
        sqlx::query("INSERT INTO audit_heads (scope_id, seq, hash) VALUES ($1, 99, '\\x00')")
            .bind(bid)
            .execute(&mut app)
            .await,
        sqlx::query("UPDATE records SET tenant_id = $1 WHERE tenant_id = $2 AND collection_id = $3")
            .bind(bid)
            .bind(aid)
            .bind(ca.id.as_uuid())
            .execute(&mut app)
            .await,
        sqlx::query(
            "INSERT INTO sessions (scope_id, token_hash, csrf_token, created_at, last_seen_at, expires_at) \
             VALUES ($1, '\\x01', 'x', 0, 0, 0)",
        )
        .bind(bid)
        .execute(&mut app)
        .await,
    ];
    for (i, result) in refused.into_iter().enumerate() {
        assert!(result.is_err(), "write {i} into tenant B as tenant A is refused");
    }
    assert_eq!(count(&mut owner, b_records, Some(bid)).await, before);
    assert!(env.store.verify_audit(scope(&b)).await.unwrap().is_ok(), "B's chain is as it was");
    assert_eq!(env.store.records(b.id, cb.id).await.unwrap().len(), 2);
}

/// Sets the application connection's scope for its session, as the two settings' raw texts.
async fn set_settings(app: &mut PgConnection, tenant: &str, platform: &str) {
    sqlx::query("SELECT set_config('kura.tenant_id', $1, false), set_config('kura.platform', $2, false)")
        .bind(tenant)
        .bind(platform)
        .execute(&mut *app)
        .await
        .unwrap();
}

/// The tenants whose records the application connection sees, in order; one prepared statement
/// with a parameter, so that a plan PostgreSQL keeps is run again under each scope.
async fn visible_tenants(app: &mut PgConnection) -> Vec<Uuid> {
    sqlx::query_scalar("SELECT DISTINCT tenant_id FROM records WHERE collection_id <> $1 ORDER BY 1")
        .bind(Uuid::nil())
        .fetch_all(app)
        .await
        .unwrap()
}

/// The policies read the scope once per statement (migration 0097: each setting in a scalar
/// subquery, which PostgreSQL runs once per execution) and still check every row against it,
/// and read it again at every execution: a statement that writes many rows of its own tenant
/// and one of another is refused whole; a prepared statement with a kept (generic) plan sees
/// the rows of whichever scope is set when it runs; the platform route, and only `on`, sees
/// every tenant's.
#[tokio::test]
async fn ten_2_the_scope_read_once_per_statement_still_checks_every_row_at_every_execution() {
    let env = env().await;
    let (a, _) = populated(&env.store, "acme").await;
    let (b, _) = populated(&env.store, "bolt").await;
    let Some((mut owner, mut app)) = connections(&env).await else { return };
    let (aid, bid) = (a.id.as_uuid(), b.id.as_uuid());
    let throttled = "SELECT count(*) FROM signin_throttle WHERE address LIKE 'ten2-%' AND scope_id <> $1";

    // Writes: the row of another scope is found wherever it is among the statement's rows.
    set_tenant(&mut app, Some(a.id)).await;
    for foreign_at in [1, 250, 500] {
        let refused = sqlx::query(
            "INSERT INTO signin_throttle (scope_id, address, window_start, failures) \
             SELECT CASE WHEN g = $3 THEN $2::uuid ELSE $1::uuid END, 'ten2-' || g, 0, 1 FROM generate_series(1, 500) g",
        )
        .bind(aid)
        .bind(bid)
        .bind(foreign_at)
        .execute(&mut app)
        .await;
        let error = refused.expect_err("a statement with one row of tenant B is refused as tenant A");
        assert!(error.to_string().contains("row-level security"), "refused by the policy: {error}");
    }
    assert_eq!(count(&mut owner, throttled, Some(Uuid::nil())).await, 0, "no row of the refused statements stays");
    let written = sqlx::query(
        "INSERT INTO signin_throttle (scope_id, address, window_start, failures) \
         SELECT $1::uuid, 'ten2-' || g, 0, 1 FROM generate_series(1, 500) g",
    )
    .bind(aid)
    .execute(&mut app)
    .await
    .unwrap();
    assert_eq!(written.rows_affected(), 500, "tenant A's own rows are written");
    assert_eq!(count(&mut owner, throttled, Some(Uuid::nil())).await, 500);
    assert_eq!(count(&mut owner, throttled, Some(aid)).await, 0, "all of them tenant A's");

    // Reads: a generic plan, kept from the first execution, under scope after scope.
    sqlx::raw_sql("SET plan_cache_mode = force_generic_plan").execute(&mut app).await.unwrap();
    for _ in 0..4 {
        set_tenant(&mut app, Some(a.id)).await;
        assert_eq!(visible_tenants(&mut app).await, [aid]);
        set_tenant(&mut app, Some(b.id)).await;
        assert_eq!(visible_tenants(&mut app).await, [bid]);
        set_tenant(&mut app, None).await;
        assert_eq!(visible_tenants(&mut app).await, Vec::<Uuid>::new());
    }
    let mut both = vec![aid, bid];
    both.sort();
    set_settings(&mut app, "", "on").await;
    assert_eq!(visible_tenants(&mut app).await, both, "the platform route sees every tenant's rows");
    for platform in ["off", "true", "ON", "1"] {
        set_settings(&mut app, "", platform).await;
        assert_eq!(
            visible_tenants(&mut app).await,
            Vec::<Uuid>::new(),
            "kura.platform = {platform:?} is not the route"
        );
    }
    // A scope set for one transaction, as the writer's savepoints set it, is gone after it.
    let mut tx = app.begin().await.unwrap();
    sqlx::query("SELECT set_config('kura.tenant_id', $1, true)").bind(bid.to_string()).execute(&mut *tx).await.unwrap();
    assert_eq!(visible_tenants(&mut tx).await, [bid]);
    tx.rollback().await.unwrap();
    assert_eq!(visible_tenants(&mut app).await, Vec::<Uuid>::new(), "the session's empty scope is back");
}

#[tokio::test]
async fn ten_2_the_application_role_cannot_disable_or_bypass_rls() {
    let env = env().await;
    let (a, _) = populated(&env.store, "acme").await;
    populated(&env.store, "bolt").await;
    let Some((_, mut app)) = connections(&env).await else { return };
    let (superuser, bypass): (bool, bool) =
        sqlx::query_as("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            .fetch_one(&mut app)
            .await
            .unwrap();
    assert!(!superuser && !bypass, "the application role is no superuser and cannot bypass the policies");
    set_tenant(&mut app, Some(a.id)).await;
    for sql in [
        "ALTER TABLE records DISABLE ROW LEVEL SECURITY",
        "ALTER TABLE records NO FORCE ROW LEVEL SECURITY",
        "DROP POLICY kura_tenant_isolation ON records",
        "CREATE POLICY everything ON records USING (true)",
        "ALTER TABLE records OWNER TO CURRENT_USER",
        "TRUNCATE records",
        "SET ROLE postgres",
        "ALTER ROLE CURRENT_USER BYPASSRLS",
        "CREATE TABLE copied AS SELECT * FROM records",
    ] {
        assert!(sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut app).await.is_err(), "{sql} is refused");
    }
    // With row_security off, a query the policies would filter fails instead of seeing all.
    sqlx::raw_sql("SET row_security = off").execute(&mut app).await.unwrap();
    assert!(sqlx::raw_sql("SELECT * FROM records").execute(&mut app).await.is_err(), "row_security = off refused");
}

/// The writer's group commit as the application role: writes of three tenants, some holding the
/// slot and some queued as data, join one batch; each is written in its own tenant's scope and
/// all are durable, in the right tenant, with unbroken chains.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_2_group_commit_with_several_tenants_in_one_batch_works_as_the_application_role() {
    let env = env().await;
    let store = &env.store;
    let mut tenants: Vec<(Tenant, Collection)> = Vec::new();
    for slug in ["acme", "bolt", "cask"] {
        let t = make_tenant(store, slug).await;
        let c = make_collection(store, &t, "customers").await;
        tenants.push((t, c));
    }
    let before = store.commit_stats();
    // The first tenant's write holds the slot while the others line up behind it.
    let (first, first_c) = &tenants[0];
    let mut held = store.begin(scope(first), cli()).await.unwrap();
    let held_record = held.insert_record(first.id, first_c.id, &data("held")).await.unwrap();
    let mut tasks = Vec::new();
    for (t, c) in &tenants {
        let (store, tenant, collection) = (store.clone(), t.id, c.id);
        tasks.push(tokio::spawn(async move { hold_and_insert(&store, tenant, collection, "slot").await }));
    }
    line_up(store, tenants.len()).await;
    for (t, c) in &tenants {
        for n in 0..3 {
            let (store, tenant, collection) = (store.clone(), t.id, c.id);
            tasks.push(tokio::spawn(async move { queue_insert(&store, tenant, collection, &format!("q{n}")).await }));
        }
    }
    line_up_queued(store, tenants.len() * 3).await;
    held.commit(AuditRecord::success(Operation::RecordCreate, format!("record:{}", held_record.id))).await.unwrap();
    for done in finished(tasks).await {
        done.unwrap();
    }

    let after = store.commit_stats();
    let writes = 1 + tenants.len() * 4;
    assert_eq!(after.writes - before.writes, writes as u64);
    assert!(after.batches - before.batches < writes as u64, "the tenants' writes shared commits");
    assert_eq!(after.failed_batches, before.failed_batches);
    for (i, (t, c)) in tenants.iter().enumerate() {
        let expected = if i == 0 { 5 } else { 4 };
        let records = env.node().await.records(t.id, c.id).await.unwrap();
        assert_eq!(records.len(), expected, "tenant {i} has its own records, and only those");
        let report = store.verify_audit(scope(t)).await.unwrap().unwrap();
        assert_eq!(report.entries, expected as u64 + 1, "tenant {i}'s chain holds its writes");
    }
}

async fn hold_and_insert(
    store: &Store,
    tenant: TenantId,
    collection: CollectionId,
    value: &str,
) -> Result<(), StoreError> {
    let mut w = store.begin(AuditScope::Tenant(tenant), cli()).await?;
    let r = w.insert_record(tenant, collection, &data(value)).await?;
    w.commit(AuditRecord::success(Operation::RecordCreate, format!("record:{}", r.id))).await.map(drop)
}

async fn queue_insert(
    store: &Store,
    tenant: TenantId,
    collection: CollectionId,
    value: &str,
) -> Result<(), StoreError> {
    let audit = |r: &kura_domain::Record| AuditRecord::success(Operation::RecordCreate, format!("record:{}", r.id));
    store.create_record(tenant, cli(), collection, &data(value), audit).await.map(drop)
}

async fn line_up(store: &Store, n: usize) {
    for _ in 0..5_000 {
        if queued_writers(store) >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("{n} writers did not line up");
}

async fn line_up_queued(store: &Store, n: usize) {
    for _ in 0..5_000 {
        if queued_as_data(store) >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("{n} inserts did not queue");
}
