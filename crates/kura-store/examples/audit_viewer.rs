//! A hand-run benchmark of the operation log viewer (LOG-1): fills one tenant's log with `N`
//! entries through the store's own write path (so every entry is chained, in the Merkle tree and
//! verifiable), spread over a year, then times the viewer's page for each filter as the console
//! asks for it (50 entries and a count up to 10,001), and prints p50 and p95 per filter.
//!
//! ```text
//! cargo run --release -p kura-store --example audit_viewer -- sqlite:///tmp/kura-viewer.db 1000000
//! cargo run --release -p kura-store --example audit_viewer -- postgres://postgres@127.0.0.1:5432/kura_viewer 1000000
//! ```
//!
//! A third argument `reuse` keeps a log filled by an earlier run (same `N`) and only times. The
//! SQLite file is otherwise deleted first; the PostgreSQL database is created if missing and
//! emptied. Not a test: the numbers depend on the machine's disk and load.
#![allow(clippy::unwrap_used, clippy::print_stdout, reason = "a hand-run benchmark")]

use jiff::{SignedDuration, Timestamp};
use kura_domain::{
    Actor, ActorKind, AuditRecord, AuditScope, BuiltinRole, DisplayName, Email, Key, ManualClock, Operation, Outcome,
    Slug, TenantSpec, TimeZoneName,
};
use kura_store::{AuditFilter, Store, StoreOptions};
use sqlx::Connection as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

const USERS: usize = 20;
const ADDRESSES: usize = 50;
const TASKS: usize = 64;
const START: &str = "2025-11-22T00:00:00Z";
/// The viewer's page and the count it shows.
const PAGE: u32 = 50;
const COUNT_CAP: u64 = 10_001;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args.get(1).cloned().unwrap_or_else(|| "sqlite:///tmp/kura-viewer.db".to_owned());
    let n: usize = args.get(2).map_or(1_000_000, |a| a.parse().unwrap());
    let reuse = args.get(3).is_some_and(|a| a == "reuse");
    if !reuse {
        fresh(&url).await;
    }
    let start: Timestamp = START.parse().unwrap();
    // A year of entries: the clock moves this much before each.
    let step = SignedDuration::from_micros(365 * 86_400_000_000 / n.max(1) as i64);
    let clock = Arc::new(ManualClock::new(start));
    let store = Store::open(&url, clock.clone(), StoreOptions::default()).await.unwrap();
    let cli = Actor::cli("bench");
    let slug = Slug::parse("viewer").unwrap();
    let tenant = match store.tenant_by_slug(&slug).await.unwrap() {
        Some(t) => t,
        None => {
            let mut w = store.begin(AuditScope::Platform, cli.clone()).await.unwrap();
            let spec = TenantSpec {
                slug,
                display_name: DisplayName::parse("Viewer").unwrap(),
                time_zone: TimeZoneName::tokyo(),
                contract_start: None,
                contract_end: None,
            };
            let t = w.insert_tenant(&spec).await.unwrap();
            w.commit(AuditRecord::success(Operation::TenantCreate, "tenant:viewer")).await.unwrap();
            t
        }
    };
    let scope = AuditScope::Tenant(tenant.id);
    let mut users = store.users(tenant.id).await.unwrap();
    if users.is_empty() {
        let role =
            store.role_by_key(tenant.id, &Key::parse(BuiltinRole::Editor.key()).unwrap()).await.unwrap().unwrap();
        for i in 0..USERS {
            let mut w = store.begin(scope, cli.clone()).await.unwrap();
            let email = Email::parse(&format!("user{i}@example.jp")).unwrap();
            let name = DisplayName::parse(&format!("User {i}")).unwrap();
            let u = w.insert_user(tenant.id, &email, &name, role.id, Some("$argon2id$x")).await.unwrap();
            w.commit(AuditRecord::success(Operation::UserCreate, format!("user:{email}"))).await.unwrap();
            users.push(u);
        }
    }
    let have = store.audit_tree_head(scope).await.unwrap().size as usize;
    if have < n {
        let t0 = Instant::now();
        let per_task = (n - have).div_ceil(TASKS);
        let handles: Vec<_> = (0..TASKS)
            .map(|task| {
                let (store, clock, ids) =
                    (store.clone(), clock.clone(), users.iter().map(|u| u.id.as_uuid()).collect::<Vec<_>>());
                tokio::spawn(async move {
                    for i in 0..per_task {
                        let k = task * per_task + i;
                        clock.advance(step);
                        let (actor, record) = entry(k, &ids);
                        store.audit_only(scope, actor, record).await.unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
        let secs = t0.elapsed().as_secs_f64();
        println!("filled {} entries in {secs:.0} s ({:.0} entries/s)", n - have, (n - have) as f64 / secs);
    }
    if !url.starts_with("sqlite:") {
        // As autovacuum would soon after the fill (a server may run without it): the planner
        // learns the table's size and spread, and the visibility map lets counts read the
        // indexes alone.
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::raw_sql("VACUUM ANALYZE audit_log").execute(&mut conn).await.unwrap();
    }
    let size = store.audit_tree_head(scope).await.unwrap().size;
    println!("{:?}: the log holds {size} entries", store.engine());

    let day = move |d: i64| start + SignedDuration::from_hours(24 * d);
    type Make = Box<dyn Fn(usize) -> AuditFilter>;
    let filters: Vec<(&str, Make)> = vec![
        ("newest page, no filter", Box::new(|_| AuditFilter::default())),
        (
            "one day (time range)",
            Box::new(move |i| AuditFilter {
                from: Some(day(30 + i as i64 * 11)),
                to: Some(day(31 + i as i64 * 11)),
                ..Default::default()
            }),
        ),
        (
            "since a date (time range, open end)",
            Box::new(move |i| AuditFilter { from: Some(day(300 + i as i64)), ..Default::default() }),
        ),
        ("user", Box::new(|i| AuditFilter { actor: Some(format!("user{}@", i % USERS)), ..Default::default() })),
        (
            "operation (rare: failed sign-ins)",
            Box::new(|_| AuditFilter { operation: Some(Operation::UserLoginFailed), ..Default::default() }),
        ),
        (
            "operation (common: record updates)",
            Box::new(|_| AuditFilter { operation: Some(Operation::RecordUpdate), ..Default::default() }),
        ),
        (
            "target (a user)",
            Box::new(|i| AuditFilter {
                target: Some(format!("user:user{}@example.jp", i % USERS)),
                ..Default::default()
            }),
        ),
        ("outcome (denied)", Box::new(|_| AuditFilter { outcome: Some(Outcome::Denied), ..Default::default() })),
        ("address", Box::new(|i| AuditFilter { source_ip: Some(address(i % ADDRESSES)), ..Default::default() })),
        (
            "address + outcome + one month",
            Box::new(move |i| AuditFilter {
                source_ip: Some(address(i % ADDRESSES)),
                outcome: Some(Outcome::Failure),
                from: Some(day(i as i64 * 7)),
                to: Some(day(30 + i as i64 * 7)),
                ..Default::default()
            }),
        ),
        (
            "older page (paging back 20 pages)",
            Box::new(move |_| AuditFilter { before_seq: Some(size as i64 - 1000), ..Default::default() }),
        ),
    ];
    println!("| filter | p50 ms | p95 ms | entries on page | count shown |");
    println!("|---|---:|---:|---:|---:|");
    for (name, make) in &filters {
        let mut times = Vec::new();
        let (mut shown, mut counted) = (0, 0);
        for i in 0..20 {
            let mut f = make(i);
            f.limit = PAGE;
            let t0 = Instant::now();
            let page = store.audit_entries(scope, &f).await.unwrap();
            let n = store.audit_count_up_to(scope, &f, Some(COUNT_CAP)).await.unwrap();
            times.push(t0.elapsed());
            (shown, counted) = (page.len(), n);
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let count = if counted >= COUNT_CAP { "> 10,000".to_owned() } else { counted.to_string() };
        println!("| {name} | {:.1} | {:.1} | {shown} | {count} |", ms(times[9]), ms(times[18]));
    }
    store.close().await;
}

fn address(i: usize) -> String {
    format!("198.51.100.{}", 10 + i)
}

/// The `k`-th entry: mostly record changes by the users, some sign-ins, failures and refusals.
fn entry(k: usize, ids: &[uuid::Uuid]) -> (Actor, AuditRecord) {
    let u = k % ids.len();
    let user = Actor {
        kind: ActorKind::User,
        id: Some(ids[u]),
        label: format!("user{u}@example.jp"),
        role: Some("editor".into()),
        source_ip: Some(address((k / 7) % ADDRESSES)),
        user_agent: Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0".into()),
    };
    let record = |op| AuditRecord::success(op, format!("record:customers/{}", uuid::Uuid::now_v7()));
    match k % 100 {
        0..=59 => (user, record(Operation::RecordUpdate)),
        60..=89 => (user, record(Operation::RecordCreate).with_detail("fields=name,email")),
        90..=95 => (user, AuditRecord::success(Operation::UserLogin, format!("user:user{u}@example.jp"))),
        96 | 97 => {
            let anonymous = Actor { kind: ActorKind::Anonymous, id: None, role: None, ..user };
            let failed = AuditRecord::success(Operation::UserLoginFailed, format!("user:user{u}@example.jp"));
            (anonymous, failed.with_outcome(Outcome::Failure))
        }
        98 => (user, record(Operation::RecordDelete)),
        _ => {
            let denied = AuditRecord::success(Operation::AccessDenied, "DELETE /api/v1/users/{id}");
            (user, denied.with_outcome(Outcome::Denied).with_detail("missing=users.manage"))
        }
    }
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
