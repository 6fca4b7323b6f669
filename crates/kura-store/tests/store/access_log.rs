//! LOG-2: the access log is written over connections of its own, never through the writer
//! slot, and on SQLite into a file of its own beside the data file.

use super::*;
use kura_store::{AccessEntry, AccessFilter};
use std::time::Duration;

fn request(scope: AuditScope, at: Timestamp, route: &str) -> AccessEntry {
    AccessEntry {
        scope,
        at,
        id: Uuid::nil(),
        method: "GET".into(),
        route: route.into(),
        status: 200,
        latency_us: 120,
        actor_kind: Some(ActorKind::User),
        actor_id: Some(Uuid::now_v7()),
        source_ip: Some("192.0.2.7".into()),
        user_agent: Some("curl/8".into()),
    }
}

/// Deadlock guard only: a batch that needed the writer slot would never finish.
const GUARD: Duration = Duration::from_secs(30);

#[tokio::test]
async fn log_2_access_log_batches_never_wait_for_the_writer_slot() {
    let env = env().await;
    let now = env.clock.now();
    // A write holds the writer slot for the whole of the batch below.
    let held = env.store.begin(AuditScope::Platform, cli()).await.unwrap();
    let batch: Vec<_> = (0..2_000).map(|i| request(AuditScope::Platform, now, &format!("/r/{i}"))).collect();
    tokio::time::timeout(GUARD, env.store.append_access_log(batch))
        .await
        .expect("the batch was written while a write held the writer slot")
        .unwrap();
    let filter = AccessFilter::default();
    let listed = tokio::time::timeout(GUARD, env.store.access_log_count(AuditScope::Platform, &filter))
        .await
        .expect("the access log was read while a write held the writer slot")
        .unwrap();
    assert_eq!(listed, 2_000);
    drop(held);
}

#[tokio::test]
async fn log_2_a_purge_records_its_count_first_and_deletes_only_what_is_older() {
    let env = env().await;
    let now = env.clock.now();
    let old = now.checked_sub(SignedDuration::from_hours(48)).unwrap();
    let mut batch: Vec<_> = (0..3).map(|_| request(AuditScope::Platform, old, "/old")).collect();
    batch.push(request(AuditScope::Platform, now, "/new"));
    env.store.append_access_log(batch).await.unwrap();
    let before = now.checked_sub(SignedDuration::from_hours(24)).unwrap();
    let record =
        |n: u64| AuditRecord::success(Operation::AccessLogPurge, "access_log").with_detail(format!("deleted={n}"));
    assert_eq!(env.store.purge_access_log(AuditScope::Platform, before, cli(), record).await.unwrap(), 3);
    let left = env.store.access_log(AuditScope::Platform, &AccessFilter::default()).await.unwrap();
    assert_eq!(left.iter().map(|e| e.route.as_str()).collect::<Vec<_>>(), ["/new"]);
    let entries = env.store.audit_entries(AuditScope::Platform, &AuditFilter::default()).await.unwrap();
    let purges: Vec<_> = entries.iter().filter(|e| e.operation == Operation::AccessLogPurge).collect();
    assert_eq!(purges.len(), 1);
    assert_eq!(purges[0].detail.as_deref(), Some("deleted=3"));
    // Nothing older is left: nothing deleted, nothing recorded.
    assert_eq!(env.store.purge_access_log(AuditScope::Platform, before, cli(), record).await.unwrap(), 0);
    let entries = env.store.audit_entries(AuditScope::Platform, &AuditFilter::default()).await.unwrap();
    assert_eq!(entries.iter().filter(|e| e.operation == Operation::AccessLogPurge).count(), 1);
}

#[tokio::test]
async fn log_2_rows_an_earlier_version_wrote_into_the_data_file_move_to_the_access_log_file() {
    let env = env().await;
    let Some(path) = env.db.url.strip_prefix("sqlite://") else {
        // PostgreSQL keeps the table in the data database: nothing moves.
        return;
    };
    let data_file = std::path::PathBuf::from(path);
    env.store.close().await;
    // As an earlier version wrote it: rows in the data file's own table.
    let at = env.clock.now();
    {
        use sqlx::Connection as _;
        let mut c = sqlx::SqliteConnection::connect(&env.db.url).await.unwrap();
        for (i, route) in ["/a", "/b"].iter().enumerate() {
            sqlx::query(
                "INSERT INTO access_log (scope_id, at, id, method, route, status, latency_us) VALUES ($1, $2, $3, 'GET', $4, 200, 5)",
            )
            .bind(Uuid::nil())
            .bind(at.as_microsecond() + i64::try_from(i).unwrap())
            .bind(Uuid::now_v7())
            .bind(*route)
            .execute(&mut c)
            .await
            .unwrap();
        }
        c.close().await.unwrap();
    }
    let store = env.db.open(env.clock.clone(), StoreOptions::default()).await.unwrap();
    let listed = store.access_log(AuditScope::Platform, &AccessFilter::default()).await.unwrap();
    assert_eq!(listed.iter().map(|e| e.route.as_str()).collect::<Vec<_>>(), ["/b", "/a"]);
    store.close().await;
    assert!(data_file.with_file_name("kura-access.db").exists());
    use sqlx::Connection as _;
    let mut c = sqlx::SqliteConnection::connect(&env.db.url).await.unwrap();
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM access_log").fetch_one(&mut c).await.unwrap();
    assert_eq!(left, 0, "the data file's table is emptied once its rows are moved");
}
