//! A hand-run measurement of what encryption at rest costs the first list of a cold collection:
//! one collection of `N` records (ten fields of about 250 bytes of JSON each) is written twice on
//! SQLite, once with values as they are and once sealed under a tenant key; then, in turns, a
//! new store (no snapshot in memory) loads it whole, as the first list after a start does.
//!
//! ```text
//! cargo run --release -p kura-store --example cold_list -- 100000 5
//! ```
//!
//! Not a test: the numbers depend on the machine and its load.
#![allow(clippy::unwrap_used, clippy::print_stdout, reason = "a hand-run benchmark")]

use kura_crypto::vault::MasterKey;
use kura_domain::{
    Actor, ActorKind, AuditRecord, AuditScope, CollectionId, CollectionSpec, DisplayName, FieldValue, Key, ManualClock,
    Operation, RecordData, Slug, TenantId, TenantSpec, TimeZoneName,
};
use kura_store::{Store, StoreOptions, Vault};
use std::sync::Arc;
use std::time::Instant;

struct Setup {
    url: String,
    keystore: Option<String>,
    master: Arc<MasterKey>,
    tenant: TenantId,
    collection: CollectionId,
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new("2026-11-22T02:00:00Z".parse().unwrap()))
}

async fn options(s: &Setup) -> StoreOptions {
    let vault = match &s.keystore {
        Some(url) => Some(Arc::new(Vault::open(url, s.master.clone(), false).await.unwrap())),
        None => None,
    };
    StoreOptions { vault, ..StoreOptions::default() }
}

async fn setup(dir: &std::path::Path, name: &str, encrypted: bool, n: usize) -> Setup {
    let url = format!("sqlite://{}", dir.join(format!("{name}.db")).display());
    let keystore = encrypted.then(|| format!("sqlite://{}", dir.join(format!("{name}-keys.db")).display()));
    let mut s = Setup {
        url,
        keystore,
        master: Arc::new(MasterKey::generate()),
        tenant: TenantId::from_uuid(uuid::Uuid::nil()),
        collection: CollectionId::from_uuid(uuid::Uuid::nil()),
    };
    let store = Store::open(&s.url, clock(), options(&s).await).await.unwrap();
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
    let mut w = store.begin(AuditScope::Tenant(tenant.id), cli.clone()).await.unwrap();
    let spec = CollectionSpec {
        name: Key::parse("customers").unwrap(),
        label: DisplayName::parse("Customers").unwrap(),
        memo: String::new(),
        fields: vec![],
    };
    let collection = w.insert_collection(tenant.id, &spec).await.unwrap();
    for i in 0..n {
        let data: RecordData = [
            ("name", FieldValue::Text(format!("山田 太郎 {i}"))),
            ("kana", FieldValue::Text("ヤマダ タロウ".into())),
            ("email", FieldValue::Text(format!("taro.yamada{i}@example.jp"))),
            ("phone", FieldValue::Text("090-1234-5678".into())),
            ("prefecture", FieldValue::Text("東京都".into())),
            ("plan", FieldValue::Text("standard".into())),
            ("points", FieldValue::Number((i % 5000) as f64)),
            ("joined", FieldValue::Text("2024-04-01".into())),
            ("newsletter", FieldValue::Bool(i % 2 == 0)),
            ("note", FieldValue::Text("電話での連絡を希望".into())),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        w.insert_record(tenant.id, collection.id, &data).await.unwrap();
    }
    w.commit(AuditRecord::success(Operation::RecordImport, "collection:customers")).await.unwrap();
    store.close().await;
    s.tenant = tenant.id;
    s.collection = collection.id;
    s
}

/// Milliseconds for a new store's first load of the collection.
async fn cold_load(s: &Setup, n: usize) -> f64 {
    let store = Store::open(&s.url, clock(), options(s).await).await.unwrap();
    let start = Instant::now();
    let snapshot = store.records(s.tenant, s.collection).await.unwrap();
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(snapshot.len(), n);
    store.close().await;
    ms
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).map_or(100_000, |a| a.parse().unwrap());
    let rounds: usize = args.get(2).map_or(5, |a| a.parse().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let plain = setup(dir.path(), "plain", false, n).await;
    let sealed = setup(dir.path(), "sealed", true, n).await;
    let (mut p, mut s) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        p.push(cold_load(&plain, n).await);
        s.push(cold_load(&sealed, n).await);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let show = |v: &[f64]| v.iter().map(|x| format!("{x:.0}")).collect::<Vec<_>>().join(" · ");
    println!("first list of a cold collection of {n} records, ms per round (plain, then sealed, in turns):");
    println!("  plain:  {}", show(&p));
    println!("  sealed: {}", show(&s));
    let (mp, ms) = (median(&mut p), median(&mut s));
    println!("  median: plain {mp:.0} ms, sealed {ms:.0} ms ({:+.1} %)", (ms / mp - 1.0) * 100.0);
}
