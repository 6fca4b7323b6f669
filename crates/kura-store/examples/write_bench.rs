//! A hand-run micro-benchmark of the audited write path: `TASKS` concurrent tasks each commit
//! `WRITES` record inserts (record + audit entry) and the elapsed time is reported.
//!
//! ```text
//! cargo run --release -p kura-store --example write_bench -- sqlite:///tmp/kura-bench.db 200 25
//! cargo run --release -p kura-store --example write_bench -- postgres://postgres@127.0.0.1:5432/kura_bench 200 25
//! ```
//!
//! The SQLite file is deleted first; the PostgreSQL database is created if missing and emptied.
//! Not a test: the numbers depend on the machine's disk (its fsync rate) and load.
#![allow(clippy::unwrap_used, clippy::print_stdout, reason = "a hand-run benchmark")]

use kura_domain::{
    Actor, ActorKind, AuditRecord, AuditScope, CollectionSpec, DisplayName, FieldValue, Key, ManualClock, Operation,
    RecordData, Slug, TenantSpec, TimeZoneName,
};
use kura_store::{CommitStats, Store, StoreOptions};
use sqlx::Connection as _;
use std::sync::Arc;
use std::time::Instant;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args.get(1).cloned().unwrap_or_else(|| "sqlite:///tmp/kura-bench.db".to_owned());
    let tasks: usize = args.get(2).map_or(200, |a| a.parse().unwrap());
    let writes: usize = args.get(3).map_or(25, |a| a.parse().unwrap());
    fresh(&url).await;

    let clock = Arc::new(ManualClock::new("2026-11-22T02:00:00Z".parse().unwrap()));
    let store = Store::open(&url, clock, StoreOptions::default()).await.unwrap();
    let cli =
        Actor { kind: ActorKind::Cli, id: None, label: "bench".into(), role: None, source_ip: None, user_agent: None };
    let mut w = store.begin(AuditScope::Platform, cli.clone()).await.unwrap();
    let tenant = w
        .insert_tenant(&TenantSpec {
            slug: Slug::parse("bench").unwrap(),
            display_name: DisplayName::parse("Bench").unwrap(),
            time_zone: TimeZoneName::tokyo(),
            contract_start: None,
            contract_end: None,
        })
        .await
        .unwrap();
    w.commit(AuditRecord::success(Operation::TenantCreate, "tenant:bench")).await.unwrap();
    let scope = AuditScope::Tenant(tenant.id);
    let mut w = store.begin(scope, cli.clone()).await.unwrap();
    let spec = CollectionSpec {
        name: Key::parse("customers").unwrap(),
        label: DisplayName::parse("Customers").unwrap(),
        memo: String::new(),
        fields: vec![],
    };
    let collection = w.insert_collection(tenant.id, &spec).await.unwrap();
    w.commit(AuditRecord::success(Operation::CollectionCreate, "collection:customers")).await.unwrap();
    let before = stats(&store);

    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let (store, cli) = (store.clone(), cli.clone());
            tokio::spawn(async move {
                for i in 0..writes {
                    let data = RecordData::from([("name".to_owned(), FieldValue::Text(format!("customer {t}-{i}")))]);
                    let mut w = store.begin(scope, cli.clone()).await.unwrap();
                    let r = w.insert_record(tenant.id, collection.id, &data).await.unwrap();
                    w.commit(AuditRecord::success(Operation::RecordCreate, format!("record:{}", r.id))).await.unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    let elapsed = start.elapsed();
    let total = tasks * writes;
    let after = stats(&store);
    println!(
        "{engine:?}: {total} writes by {tasks} tasks in {ms:.0} ms = {rate:.0} writes/s; {batches}",
        engine = store.engine(),
        ms = elapsed.as_secs_f64() * 1000.0,
        rate = total as f64 / elapsed.as_secs_f64(),
        batches = batches(before, after),
    );
    assert_eq!(store.record_count(tenant.id, collection.id).await.unwrap(), total as u64);
    assert!(store.verify_audit(scope).await.unwrap().is_ok());
    store.close().await;
}

/// Starts from an empty database.
async fn fresh(url: &str) {
    if let Some(path) = url.strip_prefix("sqlite://") {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{path}{suffix}"));
        }
    } else {
        let (server, name) = url.rsplit_once('/').unwrap();
        let mut conn = sqlx::PgConnection::connect(&format!("{server}/postgres")).await.unwrap();
        let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        sqlx::raw_sql(sqlx::AssertSqlSafe(drop)).execute(&mut conn).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.unwrap();
    }
}

fn stats(store: &Store) -> CommitStats {
    store.commit_stats()
}

fn batches(before: CommitStats, after: CommitStats) -> String {
    let (writes, batches) = (after.writes - before.writes, after.batches - before.batches);
    format!("{batches} commits, {:.1} writes per commit", writes as f64 / batches.max(1) as f64)
}
