//! Encryption at rest (DAT-2, TEN-2): record values are ciphertext in the database, open only
//! for their own tenant and row, and tenant keys live in the keystore, apart from the data.

use super::*;
use kura_crypto::vault::{KeyProvider as _, MasterKey};
use kura_store::Vault;
use kura_store::testing::{TestKeystore, test_keystore};

struct Sealed {
    env: Env,
    keystore: TestKeystore,
    master: Arc<MasterKey>,
}

async fn sealed_env() -> Sealed {
    let db = test_db().await;
    let keystore = test_keystore(&db).await;
    let master = Arc::new(MasterKey::generate());
    let clock = Arc::new(ManualClock::new("2026-11-22T02:00:00Z".parse().unwrap()));
    let vault = Arc::new(Vault::open(&keystore.url, master.clone(), false).await.unwrap());
    let options = StoreOptions { vault: Some(vault), ..StoreOptions::default() };
    let store = Store::open(&db.url, clock.clone(), options).await.unwrap();
    Sealed { env: Env { db, store, clock }, keystore, master }
}

impl Sealed {
    /// Another node: its own vault over the same keystore and master key, and no record cache,
    /// so every read opens what the database holds.
    async fn node(&self) -> Store {
        let vault = Arc::new(Vault::open(&self.keystore.url, self.master.clone(), false).await.unwrap());
        let options = StoreOptions { vault: Some(vault), record_cache_records: 0, ..StoreOptions::default() };
        Store::open(&self.env.db.url, self.env.clock.clone(), options).await.unwrap()
    }
}

async fn stored_data(raw: &Raw, id: RecordId) -> Vec<u8> {
    const SQL: &str = "SELECT data FROM records WHERE id = $1";
    match raw {
        Raw::Sqlite(p) => sqlx::query_scalar(SQL).bind(id.as_uuid()).fetch_one(p).await.unwrap(),
        Raw::Pg(p) => sqlx::query_scalar(SQL).bind(id.as_uuid()).fetch_one(p).await.unwrap(),
    }
}

async fn set_stored_data(raw: &Raw, id: RecordId, data: &[u8]) {
    const SQL: &str = "UPDATE records SET data = $2 WHERE id = $1";
    let n = match raw {
        Raw::Sqlite(p) => sqlx::query(SQL).bind(id.as_uuid()).bind(data).execute(p).await.unwrap().rows_affected(),
        Raw::Pg(p) => sqlx::query(SQL).bind(id.as_uuid()).bind(data).execute(p).await.unwrap().rows_affected(),
    };
    assert_eq!(n, 1);
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn audit(r: &kura_domain::Record) -> AuditRecord {
    AuditRecord::success(Operation::RecordCreate, format!("record:{}", r.id))
}

fn text(r: &kura_domain::Record) -> String {
    r.data.get("name").map(FieldValue::display).unwrap_or_default()
}

#[tokio::test]
async fn dat_2_record_values_are_ciphertext_in_the_database_and_plain_in_the_snapshot() {
    let s = sealed_env().await;
    let store = &s.env.store;
    let t = make_tenant(store, "acme").await;
    let c = make_collection(store, &t, "customers").await;
    // Every write path: a queued create, a create inside a write, a queued and a held update.
    let (queued, _) = store.create_record(t.id, cli(), c.id, &data("canary-queued 山田"), audit).await.unwrap();
    let held = add_record(store, &t, &c, "canary-held 太郎").await;
    let (queued, _) = store.update_record(t.id, cli(), &queued, &data("canary-updated 花子"), audit).await.unwrap();
    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    w.update_record(t.id, c.id, held.id, None, &data("canary-rewritten 次郎")).await.unwrap();
    w.commit(AuditRecord::success(Operation::RecordUpdate, "record")).await.unwrap();

    let raw = Raw::connect(&s.env.db.url).await;
    for id in [queued.id, held.id] {
        let stored = stored_data(&raw, id).await;
        assert_eq!(stored[0], 1, "sealed format");
        for canary in ["canary", "山田", "太郎", "花子", "次郎", "name"] {
            assert!(!contains(&stored, canary), "{canary} in the stored record");
        }
    }
    // The snapshot holds the values opened, on this node and on another with the same keys.
    for node in [store.clone(), s.node().await] {
        let snapshot = node.records(t.id, c.id).await.unwrap();
        let mut values: Vec<String> = snapshot.iter().map(text).collect();
        values.sort();
        assert_eq!(values, ["canary-rewritten 次郎", "canary-updated 花子"]);
        assert_eq!(text(&node.record(t.id, c.id, queued.id).await.unwrap().unwrap()), "canary-updated 花子");
    }
}

#[tokio::test]
async fn ten_2_a_ciphertext_moved_to_another_tenants_row_is_refused() {
    let s = sealed_env().await;
    let store = &s.env.store;
    let (a, b) = (make_tenant(store, "tenant-a").await, make_tenant(store, "tenant-b").await);
    let (ca, cb) = (make_collection(store, &a, "customers").await, make_collection(store, &b, "customers").await);
    let secret = add_record(store, &a, &ca, "a's secret").await;
    let victim = add_record(store, &b, &cb, "b's own").await;
    let sibling = add_record(store, &a, &ca, "a's other").await;

    let raw = Raw::connect(&s.env.db.url).await;
    let sealed = stored_data(&raw, secret.id).await;
    let node = s.node().await;
    // Into another tenant's row: B's keys do not open A's value, and nothing else comes back.
    set_stored_data(&raw, victim.id, &sealed).await;
    let refused = node.record(b.id, cb.id, victim.id).await;
    assert!(matches!(refused, Err(StoreError::Unreadable(_))), "{refused:?}");
    assert!(matches!(node.records(b.id, cb.id).await, Err(StoreError::Unreadable(_))));
    // Into another row of the same tenant: bound to its record, so refused as well.
    set_stored_data(&raw, sibling.id, &sealed).await;
    assert!(matches!(node.record(a.id, ca.id, sibling.id).await, Err(StoreError::Unreadable(_))));
    // A plain value put in place of a sealed one is refused too, never read as data.
    set_stored_data(&raw, sibling.id, br#"{"name":"planted"}"#).await;
    assert!(matches!(node.record(a.id, ca.id, sibling.id).await, Err(StoreError::Unreadable(_))));
    // The original still opens where it belongs.
    assert_eq!(text(&node.record(a.id, ca.id, secret.id).await.unwrap().unwrap()), "a's secret");
}

#[tokio::test]
async fn dat_2_tenant_keys_live_wrapped_in_the_keystore_and_destroying_them_shreds_the_values() {
    let s = sealed_env().await;
    let store = &s.env.store;
    let t = make_tenant(store, "acme").await;
    let c = make_collection(store, &t, "customers").await;
    let r = add_record(store, &t, &c, "to be shredded").await;

    // The keystore holds the tenant's two keys, wrapped; the data database holds none.
    let keys = Raw::connect(&s.keystore.url).await;
    const SQL: &str = "SELECT purpose, version, master_key_id FROM tenant_keys WHERE tenant_id = $1 ORDER BY purpose";
    let rows: Vec<(String, i64, String)> = match &keys {
        Raw::Sqlite(p) => sqlx::query_as(SQL).bind(t.id.as_uuid()).fetch_all(p).await.unwrap(),
        Raw::Pg(p) => sqlx::query_as(SQL).bind(t.id.as_uuid()).fetch_all(p).await.unwrap(),
    };
    let master_id = s.master.master_key_id().to_string();
    assert_eq!(
        rows,
        [("blind-index".to_owned(), 1, master_id.clone()), ("data".to_owned(), 1, master_id)],
        "two wrapped keys, version 1"
    );
    let data_tables: Vec<String> = match Raw::connect(&s.env.db.url).await {
        Raw::Sqlite(p) => {
            sqlx::query_scalar("SELECT name FROM sqlite_master WHERE name LIKE '%key%'").fetch_all(&p).await.unwrap()
        }
        Raw::Pg(p) => sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE tablename LIKE '%key%'")
            .fetch_all(&p)
            .await
            .unwrap(),
    };
    assert!(!data_tables.iter().any(|t| t.contains("tenant_keys")), "{data_tables:?}");

    // Another master key does not unwrap them: the keystore alone opens nothing.
    let stranger = Arc::new(Vault::open(&s.keystore.url, Arc::new(MasterKey::generate()), false).await.unwrap());
    let options = StoreOptions { vault: Some(stranger), record_cache_records: 0, ..StoreOptions::default() };
    let other = Store::open(&s.env.db.url, s.env.clock.clone(), options).await.unwrap();
    assert!(matches!(other.record(t.id, c.id, r.id).await, Err(StoreError::Unreadable(_))));

    // Destroying the keys leaves the values unreadable on every node, never plain.
    assert_eq!(store.vault().unwrap().destroy_tenant_keys(t.id).await.unwrap(), 2);
    let node = s.node().await;
    assert!(matches!(node.record(t.id, c.id, r.id).await, Err(StoreError::Unreadable(_))));
}

#[tokio::test]
async fn dat_2_opening_a_tenant_creates_its_keys_first_and_reports_them_for_the_audit_entry() {
    let s = sealed_env().await;
    let store = &s.env.store;
    let mut w = store.begin(AuditScope::Platform, cli()).await.unwrap();
    let spec = TenantSpec {
        slug: Slug::parse("opened").unwrap(),
        display_name: name("opened"),
        time_zone: TimeZoneName::tokyo(),
        contract_start: None,
        contract_end: None,
    };
    let t = w.insert_tenant(&spec).await.unwrap();
    let created = w.created_keys(t.id).cloned().unwrap();
    assert_eq!(created.master_key_id, *s.master.master_key_id());
    assert_eq!((created.data_version, created.blind_version), (1, 1));
    // The opening is given up: the keys stay behind, harmless, and no tenant exists.
    drop(w);
    assert!(store.tenant(t.id).await.unwrap().is_none());
    let keys = Raw::connect(&s.keystore.url).await;
    const SQL: &str = "SELECT COUNT(*) FROM tenant_keys WHERE tenant_id = $1";
    let n: i64 = match &keys {
        Raw::Sqlite(p) => sqlx::query_scalar(SQL).bind(t.id.as_uuid()).fetch_one(p).await.unwrap(),
        Raw::Pg(p) => sqlx::query_scalar(SQL).bind(t.id.as_uuid()).fetch_one(p).await.unwrap(),
    };
    assert_eq!(n, 2);
    // A store without a vault opens tenants without keys, as before.
    let plain = make_tenant(&s.env.node().await, "plain").await;
    let n: i64 = match &keys {
        Raw::Sqlite(p) => sqlx::query_scalar(SQL).bind(plain.id.as_uuid()).fetch_one(p).await.unwrap(),
        Raw::Pg(p) => sqlx::query_scalar(SQL).bind(plain.id.as_uuid()).fetch_one(p).await.unwrap(),
    };
    assert_eq!(n, 0);
}
