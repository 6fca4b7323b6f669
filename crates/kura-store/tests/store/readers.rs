//! The read connections (`db.rs`, `Readers`): reused without a round trip on return, never more
//! than the configured number, and never reused when broken or left inside a transaction.

use super::*;
use kura_store::testing::{PG_ACCESS_LOG_APPLICATION_NAME, PG_WRITER_APPLICATION_NAME};

async fn env_with_readers(max_connections: u32) -> Env {
    let db = test_db().await;
    let clock = Arc::new(ManualClock::new("2026-11-22T02:00:00Z".parse().unwrap()));
    let options = StoreOptions { max_connections, ..StoreOptions::default() };
    let store = db.open(clock.clone(), options).await.unwrap();
    Env { db, store, clock }
}

/// The store's read connections to this database on PostgreSQL (its backends other than the
/// writer's, the access log's and the caller's own), by state.
async fn pg_readers(raw: &sqlx::PgPool) -> Vec<String> {
    const SQL: &str = "SELECT COALESCE(state, '') FROM pg_stat_activity \
                       WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name NOT IN ($1, $2)";
    sqlx::query_scalar(SQL)
        .bind(PG_WRITER_APPLICATION_NAME)
        .bind(PG_ACCESS_LOG_APPLICATION_NAME)
        .fetch_all(raw)
        .await
        .unwrap()
}

#[tokio::test]
async fn readers_are_reused_and_never_more_than_the_limit() {
    let env = env_with_readers(2).await;
    let t = make_tenant(&env.store, "acme").await;
    let mut reads = tokio::task::JoinSet::new();
    for _ in 0..64 {
        let (store, id) = (env.store.clone(), t.id);
        reads.spawn(async move { store.tenant(id).await });
    }
    while let Some(read) = reads.join_next().await {
        assert_eq!(read.unwrap().unwrap().unwrap().id, t.id);
    }
    if let Raw::Pg(raw) = Raw::connect(&env.db.url).await {
        let readers = pg_readers(&raw).await;
        assert!(readers.len() <= 2, "{readers:?}");
        assert!(readers.iter().all(|s| s == "idle"), "{readers:?}");
    }
}

#[tokio::test]
async fn readers_do_not_reuse_a_connection_after_a_consistent_snapshot() {
    // One reader: if the connection that verified the chain (inside a read transaction) were
    // pooled again, the next read would still see the database as of that transaction.
    let env = env_with_readers(1).await;
    let t = tenant_with_three_entries(&env).await;
    let c = env.store.collection_by_name(t.id, &key("customers")).await.unwrap().unwrap();
    assert_eq!(env.store.verify_audit(scope(&t)).await.unwrap().unwrap().entries, 3);
    let r = add_record(&env.store, &t, &c, "after").await;
    assert_eq!(env.store.record(t.id, c.id, r.id).await.unwrap().unwrap(), r);
    assert_eq!(env.store.verify_audit(scope(&t)).await.unwrap().unwrap().entries, 4);
    if let Raw::Pg(raw) = Raw::connect(&env.db.url).await {
        let readers = pg_readers(&raw).await;
        assert!(!readers.iter().any(|s| s.contains("transaction")), "{readers:?}");
    }
}

#[tokio::test]
async fn readers_replace_a_connection_the_server_closed() {
    let env = env_with_readers(1).await;
    if env.store.engine() != Engine::Postgres {
        return; // An embedded SQLite connection cannot be cut from outside.
    }
    let t = make_tenant(&env.store, "acme").await;
    assert!(env.store.tenant(t.id).await.unwrap().is_some());
    let Raw::Pg(raw) = Raw::connect(&env.db.url).await else { unreachable!() };
    const CUT: &str = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                       WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name NOT IN ($1, $2)";
    let cut: Vec<bool> = sqlx::query_scalar(CUT)
        .bind(PG_WRITER_APPLICATION_NAME)
        .bind(PG_ACCESS_LOG_APPLICATION_NAME)
        .fetch_all(&raw)
        .await
        .unwrap();
    assert_eq!(cut, [true]);

    // The read that finds its connection closed fails; the connection is not pooled again, so
    // the next read opens a new one and every later read succeeds.
    assert!(env.store.tenant(t.id).await.is_err());
    for _ in 0..3 {
        assert_eq!(env.store.tenant(t.id).await.unwrap().unwrap().id, t.id);
    }
}
