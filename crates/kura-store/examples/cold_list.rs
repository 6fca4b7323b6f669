//! A hand-run measurement of what encryption at rest costs the first list of a cold collection:
//! one collection of `N` records (ten fields of about 250 bytes of JSON each) is written twice on
//! SQLite, once with values as they are and once sealed under a tenant key; then, in turns, a
//! new store (no snapshot in memory) loads it whole, as the first list after a start does, and
//! the process's resident memory before and after says what the snapshot holds. On the loaded
//! snapshot it then times partial-match searches (DAT-3), and it measures the machine's AEAD
//! limit in the same run: opening values of a sealed record's size with the store's own cipher
//! (AES-256-GCM) on one core.
//!
//! ```text
//! cargo run --release -p kura-store --example cold_list -- 100000 5
//! ```
//!
//! Not a test: the numbers depend on the machine and its load.
#![allow(clippy::unwrap_used, clippy::print_stdout, reason = "a hand-run benchmark")]

use kura_crypto::vault::MasterKey;
use kura_crypto::vault::keys::{DataKey, KeyVersion};
use kura_crypto::vault::seal::{self, SealContext};
use kura_domain::{
    Actor, ActorKind, AuditRecord, AuditScope, Collection, CollectionSpec, DisplayName, FieldValue, Key, ListQuery,
    ManualClock, Operation, RecordData, Slug, TenantId, TenantSpec, TimeZoneName,
};
use kura_store::{Store, StoreOptions, Vault};
use std::sync::Arc;
use std::time::Instant;

struct Setup {
    url: String,
    keystore: Option<String>,
    master: Arc<MasterKey>,
    tenant: TenantId,
    collection: Option<Collection>,
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
        collection: None,
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
        fields: serde_json::from_value(serde_json::json!([
            {"name": "name", "label": "Name", "type": "text"},
            {"name": "kana", "label": "Kana", "type": "text"},
            {"name": "email", "label": "Email", "type": "email"},
            {"name": "phone", "label": "Phone", "type": "text"},
            {"name": "prefecture", "label": "Prefecture", "type": "text"},
            {"name": "plan", "label": "Plan", "type": "text"},
            {"name": "points", "label": "Points", "type": "number"},
            {"name": "joined", "label": "Joined", "type": "date"},
            {"name": "newsletter", "label": "Newsletter", "type": "boolean"},
            {"name": "note", "label": "Note", "type": "long_text"}
        ]))
        .unwrap(),
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
    s.collection = Some(collection);
    s
}

/// What one cold load measured.
struct Load {
    ms: f64,
    /// Growth of the process's resident memory, MiB.
    rss_mib: f64,
    /// Milliseconds per search, for each needle of [`SEARCHES`].
    searches: Vec<f64>,
}

/// Partial-match searches over every visible field: half-width kana that finds the full-width
/// kana every record holds (after normalisation), and a part of one record's address.
const SEARCHES: [(&str, &str); 2] =
    [("ﾔﾏﾀﾞ", "every record (half-width kana, normalised)"), ("yamada77777@", "one record")];

/// The process's resident memory in MiB.
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.split_whitespace().next());
    kib.and_then(|k| k.parse::<f64>().ok()).unwrap_or(0.0) / 1024.0
}

/// A new store's first load of the collection, then the searches on what it loaded.
async fn cold_load(s: &Setup, n: usize) -> Load {
    let c = s.collection.as_ref().unwrap();
    let store = Store::open(&s.url, clock(), options(s).await).await.unwrap();
    let before = rss_mib();
    let start = Instant::now();
    let snapshot = store.records(s.tenant, c.id).await.unwrap();
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    let rss = rss_mib() - before;
    assert_eq!(snapshot.len(), n);
    let mut searches = Vec::new();
    for (needle, _) in SEARCHES {
        let query = ListQuery::parse(c, None, Some(needle), None, None, None, true).unwrap();
        let start = Instant::now();
        let page = snapshot.list(c, &query, true);
        searches.push(start.elapsed().as_secs_f64() * 1000.0);
        assert!(page.total >= 1, "{needle} found nothing");
    }
    drop(snapshot);
    store.close().await;
    Load { ms, rss_mib: rss, searches }
}

/// Opens per second of `len`-byte values sealed with the store's cipher, on this thread.
fn aead_opens_per_second(len: usize) -> f64 {
    let key = DataKey::generate(KeyVersion::FIRST);
    let value = vec![0x5a_u8; len];
    let rows: Vec<[u8; 16]> = (0..100_000u128).map(u128::to_be_bytes).collect();
    fn ctx(row: &[u8; 16]) -> SealContext<'_> {
        SealContext { tenant: b"tenant", table: "records", row: &row[..], field: "data" }
    }
    let sealed: Vec<Vec<u8>> = rows.iter().map(|r| seal::seal(&key, &ctx(r), &value)).collect();
    let start = Instant::now();
    for (r, v) in rows.iter().zip(&sealed) {
        std::hint::black_box(seal::open(&key, &ctx(r), v).unwrap());
    }
    rows.len() as f64 / start.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).map_or(100_000, |a| a.parse().unwrap());
    let rounds: usize = args.get(2).map_or(5, |a| a.parse().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let plain = setup(dir.path(), "plain", false, n).await;
    let sealed = setup(dir.path(), "sealed", true, n).await;
    // The first load in the process, of the sealed collection, shows the snapshot's memory: later
    // loads reuse what the earlier ones freed, so their growth says little.
    let first = cold_load(&sealed, n).await;
    let (mut p, mut s) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        p.push(cold_load(&plain, n).await);
        s.push(cold_load(&sealed, n).await);
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let show = |v: &[Load]| v.iter().map(|l| format!("{:.0}", l.ms)).collect::<Vec<_>>().join(" · ");
    println!("first list of a cold collection of {n} records, ms per round (plain, then sealed, in turns):");
    println!("  plain:  {}", show(&p));
    println!("  sealed: {}", show(&s));
    let (mp, ms) = (median(p.iter().map(|l| l.ms).collect()), median(s.iter().map(|l| l.ms).collect()));
    println!("  median: plain {mp:.0} ms, sealed {ms:.0} ms ({:+.1} %)", (ms / mp - 1.0) * 100.0);
    println!(
        "  resident memory added by the first load in the process (sealed; the snapshot holds opened records either way): {:.1} MiB, {:.0} bytes a record",
        first.rss_mib,
        first.rss_mib * 1_048_576.0 / n as f64
    );
    // A sealed record's size: its values as JSON, as the store seals them.
    let record = serde_json::json!({"name": "山田 太郎 12345", "kana": "ヤマダ タロウ",
        "email": "taro.yamada12345@example.jp", "phone": "090-1234-5678", "prefecture": "東京都", "plan": "standard",
        "points": 2345, "joined": "2024-04-01", "newsletter": true, "note": "電話での連絡を希望"})
    .to_string()
    .len();
    let opens = aead_opens_per_second(record);
    let loaded = n as f64 / (ms / 1000.0);
    println!(
        "AEAD limit: {opens:.0} opens/s of {record}-byte values on one core; the sealed load ran at {loaded:.0} records/s ({:.2}× of it)",
        loaded / opens
    );
    for (k, (needle, what)) in SEARCHES.iter().enumerate() {
        let t = median(s.iter().map(|l| l.searches[k]).collect());
        let rate = n as f64 / (t / 1000.0);
        println!(
            "search {needle:?} ({what}) on the sealed collection's snapshot: {t:.1} ms, {rate:.0} records/s ({:.1}× the AEAD limit)",
            rate / opens
        );
    }
}
