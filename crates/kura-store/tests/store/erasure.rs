//! TEN-4: deleting a tenant at its contract's end leaves no row of it in any table, and touches
//! no other tenant's.

use super::*;

/// Every (table, column) of the schema that names a tenant: `tenant_id` or `scope_id`.
async fn tenant_columns(raw: &Raw) -> Vec<(String, String)> {
    const SQLITE: &str = "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                          WHERE m.type = 'table' AND p.name IN ('tenant_id', 'scope_id') ORDER BY 1";
    const PG: &str = "SELECT table_name::text, column_name::text FROM information_schema.columns \
                      WHERE table_schema = current_schema() AND column_name IN ('tenant_id', 'scope_id') ORDER BY 1";
    match raw {
        Raw::Sqlite(p) => sqlx::query_as(SQLITE).fetch_all(p).await.unwrap(),
        Raw::Pg(p) => sqlx::query_as(PG).fetch_all(p).await.unwrap(),
    }
}

async fn rows_of(raw: &Raw, table: &str, column: &str, tenant: TenantId) -> i64 {
    let sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table} WHERE {column} = $1"));
    match raw {
        Raw::Sqlite(p) => sqlx::query_scalar(sql).bind(tenant.as_uuid()).fetch_one(p).await.unwrap(),
        Raw::Pg(p) => sqlx::query_scalar(sql).bind(tenant.as_uuid()).fetch_one(p).await.unwrap(),
    }
}

#[tokio::test]
async fn ten_4_every_tenant_table_is_erased_and_no_other_tenant_is_touched() {
    let env = env().await;
    let store = &env.store;
    let mut tenants = Vec::new();
    for slug in ["gone", "stays"] {
        let t = make_tenant(store, slug).await;
        let c = make_collection(store, &t, "customers").await;
        add_record(store, &t, &c, "金庫番").await;
        make_user(store, &t, "taro@example.jp").await;
        // A deleted user leaves a departed principal (LOG-1), which goes with the tenant too.
        let jiro = make_user(store, &t, "jiro@example.jp").await;
        let mut w = store.begin(scope(&t), cli()).await.unwrap();
        w.delete_user(t.id, jiro.id).await.unwrap();
        w.commit(AuditRecord::success(Operation::UserDelete, "user:jiro@example.jp")).await.unwrap();
        tenants.push(t);
    }
    let (gone, stays) = (&tenants[0], &tenants[1]);
    let raw = Raw::connect(&env.db.url).await;
    let columns = tenant_columns(&raw).await;
    assert!(columns.len() >= 15, "{columns:?}");
    let mut before = Vec::new();
    for (table, column) in &columns {
        before.push(rows_of(&raw, table, column, stays.id).await);
    }

    // Only the platform's write may erase a tenant.
    let mut w = store.begin(scope(gone), cli()).await.unwrap();
    assert!(matches!(w.erase_tenant(gone.id).await, Err(StoreError::OutOfScope { .. })));
    drop(w);

    let mut w = store.begin(AuditScope::Platform, cli()).await.unwrap();
    let counts = w.tenant_row_counts(gone.id).await.unwrap();
    let deleted = w.erase_tenant(gone.id).await.unwrap();
    assert_eq!(deleted, counts);
    let n = |name: &str| deleted.iter().find(|(c, _)| *c == name).map(|(_, n)| *n);
    assert_eq!(
        (n("records"), n("collections"), n("users"), n("roles"), n("tenant")),
        (Some(1), Some(1), Some(1), Some(3), Some(1))
    );
    assert_eq!(n("departed-principals"), Some(1));
    assert!(n("audit-log-entries").unwrap() >= 3);
    w.commit(AuditRecord::success(Operation::TenantDelete, "tenant:gone")).await.unwrap();

    for ((table, column), kept) in columns.iter().zip(before) {
        if table == "tenant_deletions" {
            continue;
        }
        assert_eq!(rows_of(&raw, table, column, gone.id).await, 0, "{table}.{column} still holds the tenant");
        assert_eq!(rows_of(&raw, table, column, stays.id).await, kept, "{table}.{column} of the other tenant");
    }
    assert!(store.tenant(gone.id).await.unwrap().is_none());
    assert!(store.verify_audit(AuditScope::Platform).await.unwrap().is_ok());
    assert!(store.verify_audit(scope(stays)).await.unwrap().is_ok());
}
