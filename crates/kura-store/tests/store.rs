//! The store's behaviour on a real database: SQLite by default, PostgreSQL when
//! `KURA_TEST_POSTGRES_URL` is set. Each test gets its own database from
//! `kura_store::testing::test_db()`. Tests are named after the controls they prove.
//!
//! One test binary; the tests live in the `store/` modules, the shared set-up here.

#![allow(clippy::unwrap_used, reason = "tests")]

use jiff::{SignedDuration, Timestamp};
use kura_crypto::SecretToken;
use kura_domain::{
    Actor, ActorKind, AuditRecord, AuditScope, BuiltinRole, Clock, Collection, CollectionId, CollectionSpec,
    DisplayName, Email, FieldValue, Key, ManualClock, Operation, PermissionSet, RecordData, RecordId, Role, Slug,
    Tenant, TenantId, TenantSpec, TimeZoneName, User, UserId, UserStatus,
};
use kura_store::testing::{TestDb, test_db};
use kura_store::{AuditFilter, Engine, SessionOwner, Store, StoreError, StoreOptions};
use std::sync::Arc;
use uuid::Uuid;

// Set-up ------------------------------------------------------------------------------------

struct Env {
    db: TestDb,
    store: Store,
    clock: Arc<ManualClock>,
}

async fn env() -> Env {
    let db = test_db().await;
    let clock = Arc::new(ManualClock::new("2026-11-22T02:00:00Z".parse().unwrap()));
    let store = db.open(clock.clone(), StoreOptions::default()).await.unwrap();
    Env { db, store, clock }
}

impl Env {
    /// Another node on the same database, as `env()` opens the first.
    async fn node(&self) -> Store {
        self.node_with_cache(StoreOptions::default().record_cache_records).await
    }

    /// Another node on the same database, whose record cache keeps at most `records` (0: none,
    /// so it reads what the database holds).
    async fn node_with_cache(&self, records: usize) -> Store {
        let options = StoreOptions { record_cache_records: records, ..StoreOptions::default() };
        self.db.open(self.clock.clone(), options).await.unwrap()
    }
}

fn actor(kind: ActorKind, label: &str) -> Actor {
    Actor { kind, id: None, label: label.into(), role: None, source_ip: Some("192.0.2.1".into()), user_agent: None }
}

fn cli() -> Actor {
    actor(ActorKind::Cli, "cli")
}

fn scope(t: &Tenant) -> AuditScope {
    AuditScope::Tenant(t.id)
}

fn email(s: &str) -> Email {
    Email::parse(s).unwrap()
}

fn name(s: &str) -> DisplayName {
    DisplayName::parse(s).unwrap()
}

fn key(s: &str) -> Key {
    Key::parse(s).unwrap()
}

fn data(value: &str) -> RecordData {
    RecordData::from([("name".to_owned(), FieldValue::Text(value.to_owned()))])
}

async fn make_tenant(store: &Store, slug: &str) -> Tenant {
    let mut w = store.begin(AuditScope::Platform, cli()).await.unwrap();
    let tenant = w
        .insert_tenant(&TenantSpec {
            slug: Slug::parse(slug).unwrap(),
            display_name: name(slug),
            time_zone: TimeZoneName::tokyo(),
            contract_start: Some("2026-04-01".parse().unwrap()),
            contract_end: None,
        })
        .await
        .unwrap();
    w.commit(AuditRecord::success(Operation::TenantCreate, format!("tenant:{slug}"))).await.unwrap();
    tenant
}

async fn make_collection(store: &Store, tenant: &Tenant, collection: &str) -> Collection {
    let mut w = store.begin(scope(tenant), cli()).await.unwrap();
    let spec = CollectionSpec { name: key(collection), label: name(collection), memo: "memo".into(), fields: vec![] };
    let c = w.insert_collection(tenant.id, &spec).await.unwrap();
    w.commit(AuditRecord::success(Operation::CollectionCreate, format!("collection:{collection}"))).await.unwrap();
    c
}

async fn role(store: &Store, tenant: &Tenant, builtin: BuiltinRole) -> Role {
    store.role_by_key(tenant.id, &key(builtin.key())).await.unwrap().unwrap()
}

async fn make_user(store: &Store, tenant: &Tenant, address: &str) -> User {
    let editor = role(store, tenant, BuiltinRole::Editor).await;
    let mut w = store.begin(scope(tenant), cli()).await.unwrap();
    let user =
        w.insert_user(tenant.id, &email(address), &name("Taro"), editor.id, Some("$argon2id$hash")).await.unwrap();
    w.commit(AuditRecord::success(Operation::UserCreate, format!("user:{address}"))).await.unwrap();
    user
}

async fn add_record(store: &Store, tenant: &Tenant, c: &Collection, value: &str) -> kura_domain::Record {
    let mut w = store.begin(scope(tenant), cli()).await.unwrap();
    let r = w.insert_record(tenant.id, c.id, &data(value)).await.unwrap();
    w.commit(AuditRecord::success(Operation::RecordCreate, format!("record:{}", r.id))).await.unwrap();
    r
}

/// What each spawned task returned, in order (a task that panicked fails the test).
async fn finished<T>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

/// A separate connection to the same database, for changing rows behind the store's back.
enum Raw {
    Sqlite(sqlx::SqlitePool),
    Pg(sqlx::PgPool),
}

impl Raw {
    async fn connect(url: &str) -> Self {
        if url.starts_with("sqlite:") {
            Self::Sqlite(sqlx::SqlitePool::connect(url).await.unwrap())
        } else {
            Self::Pg(sqlx::PgPool::connect(url).await.unwrap())
        }
    }

    /// A collection's change and delete numbers, as stored.
    async fn collection_seqs(&self, id: kura_domain::CollectionId) -> (i64, i64) {
        const SQL: &str = "SELECT change_seq, delete_seq FROM collections WHERE id = $1";
        match self {
            Self::Sqlite(p) => sqlx::query_as(SQL).bind(id.as_uuid()).fetch_one(p).await.unwrap(),
            Self::Pg(p) => sqlx::query_as(SQL).bind(id.as_uuid()).fetch_one(p).await.unwrap(),
        }
    }

    /// Runs a statement taking a scope id ($1) and a sequence number ($2).
    async fn exec(&self, sql: &'static str, scope: Uuid, seq: i64) -> u64 {
        match self {
            Self::Sqlite(p) => sqlx::query(sql).bind(scope).bind(seq).execute(p).await.unwrap().rows_affected(),
            Self::Pg(p) => sqlx::query(sql).bind(scope).bind(seq).execute(p).await.unwrap().rows_affected(),
        }
    }
}

/// A tenant whose chain has three entries (collection create, two record creates).
async fn tenant_with_three_entries(env: &Env) -> Tenant {
    let t = make_tenant(&env.store, "acme").await;
    let c = make_collection(&env.store, &t, "customers").await;
    add_record(&env.store, &t, &c, "a").await;
    add_record(&env.store, &t, &c, "b").await;
    assert!(env.store.verify_audit(scope(&t)).await.unwrap().is_ok());
    t
}

fn spec_of(c: &Collection) -> CollectionSpec {
    CollectionSpec { name: c.name.clone(), label: c.label.clone(), memo: c.memo.clone(), fields: c.fields.clone() }
}

fn far_future(env: &Env) -> Timestamp {
    env.clock.now().checked_add(SignedDuration::from_hours(8)).unwrap()
}

#[path = "store/access_log.rs"]
mod access_log;
#[path = "store/accounts.rs"]
mod accounts;
#[path = "store/audit.rs"]
mod audit;
#[path = "store/cache.rs"]
mod cache;
#[path = "store/console.rs"]
mod console;
#[path = "store/data.rs"]
mod data;
#[path = "store/encryption.rs"]
mod encryption;
#[path = "store/erasure.rs"]
mod erasure;
#[path = "store/group_commit.rs"]
mod group_commit;
#[path = "store/key_rotation.rs"]
mod key_rotation;
#[path = "store/opening.rs"]
mod opening;
#[path = "store/readers.rs"]
mod readers;
#[path = "store/row_security.rs"]
mod row_security;
#[path = "store/tenancy.rs"]
mod tenancy;
