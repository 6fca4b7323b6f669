//! Key rotation without downtime (DAT-2): a tenant's data key rotated while writes go on, the
//! re-encryption job resumed after a crash, a tenant opened before encryption sealed by the
//! same job, and the master key rotated under a running store.

use super::*;
use kura_crypto::vault::{MasterKey, MasterKeyRing};
use kura_store::testing::{TestKeystore, test_keystore};
use kura_store::{BatchOutcome, Claimed, KeyRotation, RotationKind, RotationStatus, Vault};

struct Keyed {
    env: Env,
    keystore: TestKeystore,
    master: Arc<MasterKey>,
}

fn lease() -> SignedDuration {
    SignedDuration::from_secs(60)
}

async fn open_store(db: &TestDb, clock: &Arc<ManualClock>, vault: Option<Arc<Vault>>) -> Store {
    let options = StoreOptions { vault, record_cache_records: 0, ..StoreOptions::default() };
    Store::open(&db.url, clock.clone(), options).await.unwrap()
}

async fn keyed_env() -> Keyed {
    let db = test_db().await;
    let keystore = test_keystore(&db).await;
    let master = Arc::new(MasterKey::generate());
    let clock = Arc::new(ManualClock::new("2026-11-22T02:00:00Z".parse().unwrap()));
    let vault = Arc::new(Vault::open(&keystore.url, master.clone(), false).await.unwrap());
    let store = open_store(&db, &clock, Some(vault)).await;
    Keyed { env: Env { db, store, clock }, keystore, master }
}

impl Keyed {
    /// A new process on the same database and keystore (a restart after a crash).
    async fn restart(&self) -> Store {
        let vault = Arc::new(Vault::open(&self.keystore.url, self.master.clone(), false).await.unwrap());
        open_store(&self.env.db, &self.env.clock, Some(vault)).await
    }
}

/// Starts a rotation of `t`'s data key, audited as the API does.
async fn start(store: &Store, t: &Tenant) -> KeyRotation {
    let mut w = store.begin(scope(t), cli()).await.unwrap();
    let (job, rotated) = w.start_key_rotation(t.id).await.unwrap();
    w.also_in_platform(AuditRecord::success(Operation::KeyRotateStart, format!("tenant:{}", t.slug))).unwrap();
    w.commit(AuditRecord::success(Operation::KeyRotateStart, "keys").with_detail(format!("to=v{}", rotated.to)))
        .await
        .unwrap();
    job
}

/// Claims the job and runs at most `batches` batches of `limit` rows; returns the job and
/// whether it is complete.
async fn run(store: &Store, limit: u32, batches: usize) -> (KeyRotation, Uuid, bool) {
    let claim = Uuid::now_v7();
    let Some(Claimed::Job(job)) = store.claim_key_rotation(claim, lease()).await.unwrap() else {
        panic!("a job to claim")
    };
    let mut job = *job;
    for _ in 0..batches {
        if store.key_rotation_batch(&mut job, claim, limit, lease()).await.unwrap().outcome == BatchOutcome::Complete {
            return (job, claim, true);
        }
    }
    (job, claim, false)
}

async fn finish(store: &Store, job: &KeyRotation, claim: Uuid) -> u64 {
    let mut w = store.begin(AuditScope::Tenant(job.tenant), job.actor.clone()).await.unwrap();
    let retired = w.finish_key_rotation(job, claim).await.unwrap();
    w.also_in_platform(AuditRecord::success(Operation::KeyRotateFinish, "tenant")).unwrap();
    w.commit(AuditRecord::success(Operation::KeyRotateFinish, "keys")).await.unwrap();
    retired
}

async fn rotate_to_the_end(store: &Store, limit: u32) -> KeyRotation {
    let (job, claim, complete) = run(store, limit, 10_000).await;
    assert!(complete);
    finish(store, &job, claim).await;
    job
}

/// The key version a stored record names.
async fn record_version(raw: &Raw, id: RecordId) -> u32 {
    const SQL: &str = "SELECT data FROM records WHERE id = $1";
    let data: Vec<u8> = match raw {
        Raw::Sqlite(p) => sqlx::query_scalar(SQL).bind(id.as_uuid()).fetch_one(p).await.unwrap(),
        Raw::Pg(p) => sqlx::query_scalar(SQL).bind(id.as_uuid()).fetch_one(p).await.unwrap(),
    };
    assert_eq!(data[0], 1, "sealed");
    u32::from_be_bytes([data[1], data[2], data[3], data[4]])
}

async fn all_record_versions(raw: &Raw, t: &Tenant) -> Vec<u32> {
    const SQL: &str = "SELECT id FROM records WHERE tenant_id = $1";
    let ids: Vec<Uuid> = match raw {
        Raw::Sqlite(p) => sqlx::query_scalar(SQL).bind(t.id.as_uuid()).fetch_all(p).await.unwrap(),
        Raw::Pg(p) => sqlx::query_scalar(SQL).bind(t.id.as_uuid()).fetch_all(p).await.unwrap(),
    };
    let mut out = Vec::new();
    for id in ids {
        out.push(record_version(raw, RecordId::from_uuid(id)).await);
    }
    out
}

/// The texts of a table's column for a tenant, as stored.
async fn stored_column(raw: &Raw, sql: &'static str, t: &Tenant) -> Vec<String> {
    match raw {
        Raw::Sqlite(p) => sqlx::query_scalar(sql).bind(t.id.as_uuid()).fetch_all(p).await.unwrap(),
        Raw::Pg(p) => sqlx::query_scalar(sql).bind(t.id.as_uuid()).fetch_all(p).await.unwrap(),
    }
}

/// The key version of a sealed text value, or `None` for a plain one.
fn text_version(stored: &str) -> Option<u32> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD.decode(stored.strip_prefix('\u{1}')?).ok()?;
    Some(u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]))
}

fn values(records: &kura_store::RecordSnapshot) -> Vec<String> {
    let mut v: Vec<String> =
        records.iter().map(|r| r.data.get("name").map(FieldValue::display).unwrap_or_default()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn dat_2_rotating_a_data_key_reseals_every_value_and_retires_the_old_version() {
    let s = keyed_env().await;
    let store = &s.env.store;
    let t = make_tenant(store, "acme").await;
    let c = make_collection(store, &t, "customers").await;
    let before: Vec<_> = [0, 1, 2, 3, 4].iter().map(|i| format!("before {i}")).collect();
    for v in &before {
        add_record(store, &t, &c, v).await;
    }
    let user = make_user(store, &t, "taro@example.jp").await;
    // A deleted user's email and name, kept for the log viewer (LOG-1), are re-sealed too.
    let jiro = make_user(store, &t, "jiro@example.jp").await;
    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    w.delete_user(t.id, jiro.id).await.unwrap();
    w.commit(AuditRecord::success(Operation::UserDelete, "user:jiro@example.jp")).await.unwrap();
    let raw = Raw::connect(&s.env.db.url).await;
    assert_eq!(all_record_versions(&raw, &t).await, [1; 5]);

    let job = start(store, &t).await;
    assert_eq!((job.kind, job.target_version), (RotationKind::Rotate, 2));
    // New writes use the new version at once, while the old values still open.
    let new = add_record(store, &t, &c, "after").await;
    assert_eq!(record_version(&raw, new.id).await, 2);
    assert_eq!(store.records(t.id, c.id).await.unwrap().len(), 6);
    // A second rotation while this one runs is refused, and changes nothing.
    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    assert!(matches!(w.start_key_rotation(t.id).await, Err(StoreError::Conflict(_))));
    drop(w);

    let done = rotate_to_the_end(store, 2).await;
    assert!(done.pass >= 2, "a last pass checked nothing was left");
    assert_eq!(all_record_versions(&raw, &t).await, [2; 6]);
    let emails = stored_column(&raw, "SELECT email FROM users WHERE tenant_id = $1", &t).await;
    assert!(emails.iter().all(|e| text_version(e) == Some(2)), "{emails:?}");
    let labels = stored_column(&raw, "SELECT label FROM roles WHERE tenant_id = $1", &t).await;
    assert!(labels.iter().all(|e| text_version(e) == Some(2)));
    for departed in [
        "SELECT label FROM departed_principals WHERE tenant_id = $1",
        "SELECT display_name FROM departed_principals WHERE tenant_id = $1",
    ] {
        let stored = stored_column(&raw, departed, &t).await;
        assert!(stored.len() == 1 && text_version(&stored[0]) == Some(2), "{departed}: {stored:?}");
    }

    // The old version is retired, not deleted: the audit entries sealed under it still open,
    // and the chain still verifies (they were not re-sealed).
    let keys = store.data_keys(t.id).await.unwrap();
    assert_eq!(keys.iter().map(|k| (k.version, k.retired_at.is_some())).collect::<Vec<_>>(), [(1, true), (2, false)]);
    let node = s.restart().await;
    assert!(node.verify_audit(scope(&t)).await.unwrap().is_ok());
    let entries = node.audit_entries(scope(&t), &AuditFilter::default()).await.unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e.operation == Operation::UserCreate && e.target.as_deref() == Some("user:taro@example.jp"))
    );
    assert!(entries.iter().any(|e| e.operation == Operation::KeyRotateStart));
    assert!(entries.iter().any(|e| e.operation == Operation::KeyRotateFinish));
    let platform = node.audit_entries(AuditScope::Platform, &AuditFilter::default()).await.unwrap();
    assert!(platform.iter().any(|e| e.operation == Operation::KeyRotateFinish));
    // Everything reads on a fresh process; sign-in by email still finds the user.
    let mut expected = before.clone();
    expected.push("after".into());
    expected.sort();
    assert_eq!(values(&node.records(t.id, c.id).await.unwrap()), expected);
    assert_eq!(node.user(t.id, user.id).await.unwrap().unwrap().email.as_str(), "taro@example.jp");
    let found = node.signin_context(&t.slug, Some(&email("TARO@example.jp")), None).await.unwrap().unwrap();
    assert_eq!(found.account.unwrap().user.id, user.id);
    let jobs = node.key_rotations(t.id, 10).await.unwrap();
    assert_eq!(jobs[0].status, RotationStatus::Done);
    assert_eq!(jobs[0].resealed, done.resealed);
    assert!(done.resealed >= 5 + 1 + 3, "records, the user's email and name, the role labels");
}

#[tokio::test]
async fn dat_2_a_rotation_resumes_after_a_crash_from_its_last_batch() {
    let s = keyed_env().await;
    let store = &s.env.store;
    let t = make_tenant(store, "acme").await;
    let c = make_collection(store, &t, "customers").await;
    for i in 0..12 {
        add_record(store, &t, &c, &format!("r{i}")).await;
    }
    start(store, &t).await;
    // Users, roles and the first records: the worker stops after six batches of two rows.
    let (job, _, complete) = run(store, 2, 6).await;
    assert!(!complete);
    let (column, cursor, resealed) = (job.column_no, job.cursor.clone(), job.resealed);
    assert!(resealed > 0);
    store.close().await;

    // A new process: the position is what the last batch committed; the job is taken again
    // once the dead worker's lease has ended, and nothing is re-sealed twice.
    let node = s.restart().await;
    let stored = node.key_rotations(t.id, 1).await.unwrap().remove(0);
    assert_eq!((stored.column_no, &stored.cursor, stored.resealed), (column, &cursor, resealed));
    assert!(node.claim_key_rotation(Uuid::now_v7(), lease()).await.unwrap().is_none(), "still leased");
    s.env.clock.advance(SignedDuration::from_secs(61));
    let done = rotate_to_the_end(&node, 2).await;
    let raw = Raw::connect(&s.env.db.url).await;
    assert_eq!(all_record_versions(&raw, &t).await, [2; 12]);
    let stale_at_start = done.resealed;
    // Every value re-sealed exactly once: a second full rotation re-seals the same number.
    start(&node, &t).await;
    let again = rotate_to_the_end(&node, 50).await;
    assert_eq!(again.resealed, stale_at_start + 1, "the first job's row is new since");
    assert_eq!(values(&node.records(t.id, c.id).await.unwrap()).len(), 12);
}

#[tokio::test]
async fn dat_2_writes_during_a_rotation_are_kept_and_sealed_under_the_new_version() {
    let s = keyed_env().await;
    let store = &s.env.store;
    let t = make_tenant(store, "acme").await;
    let c = make_collection(store, &t, "customers").await;
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(add_record(store, &t, &c, &format!("old {i}")).await);
    }
    start(store, &t).await;
    // Writers update every record and add new ones while the job runs in small batches.
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (store, t, c, ids) = (store.clone(), t.clone(), c.clone(), ids.clone());
            tokio::spawn(async move {
                for (i, r) in ids.iter().enumerate().filter(|(i, _)| i % 4 == w) {
                    let mut tx = store.begin(scope(&t), cli()).await.unwrap();
                    tx.update_record(t.id, c.id, r.id, None, &data(&format!("new {i}"))).await.unwrap();
                    tx.commit(AuditRecord::success(Operation::RecordUpdate, "record")).await.unwrap();
                    add_record(&store, &t, &c, &format!("added {w}-{i}")).await;
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    let job = rotate_to_the_end(store, 3).await;
    finished(writers).await;
    assert_eq!(job.status, RotationStatus::Running, "the copy taken before the end");

    let raw = Raw::connect(&s.env.db.url).await;
    assert_eq!(all_record_versions(&raw, &t).await, vec![2; 40]);
    let node = s.restart().await;
    let got = values(&node.records(t.id, c.id).await.unwrap());
    assert_eq!(got.iter().filter(|v| v.starts_with("new ")).count(), 20, "no update undone");
    assert_eq!(got.iter().filter(|v| v.starts_with("added ")).count(), 20);
    assert!(node.verify_audit(scope(&t)).await.unwrap().is_ok());
}

#[tokio::test]
async fn dat_2_a_tenant_opened_before_encryption_is_sealed_by_the_job() {
    let db = test_db().await;
    let clock = Arc::new(ManualClock::new("2026-11-22T02:00:00Z".parse().unwrap()));
    // Encryption off: the tenant's values are stored plain.
    let plain = open_store(&db, &clock, None).await;
    let t = make_tenant(&plain, "acme").await;
    let mut w = plain.begin(scope(&t), cli()).await.unwrap();
    let spec = CollectionSpec {
        name: key("customers"),
        label: name("顧客カナリア"),
        memo: "memo-kanaria".into(),
        fields: vec![],
    };
    let c = w.insert_collection(t.id, &spec).await.unwrap();
    w.commit(AuditRecord::success(Operation::CollectionCreate, "collection:customers")).await.unwrap();
    for i in 0..5 {
        add_record(&plain, &t, &c, &format!("記録カナリア-{i}")).await;
    }
    let editor = role(&plain, &t, BuiltinRole::Editor).await;
    let mut w = plain.begin(scope(&t), cli()).await.unwrap();
    let user = w
        .insert_user(t.id, &email("ｙａｍａｄａ@example.jp"), &name("氏名カナリア"), editor.id, Some("$argon2id$h"))
        .await
        .unwrap();
    w.commit(AuditRecord::success(Operation::UserCreate, format!("user:{}", user.id))).await.unwrap();
    plain.close().await;

    // Encryption switched on: the tenant has no keys, its plain values read as before.
    let keystore = test_keystore(&db).await;
    let master = Arc::new(MasterKey::generate());
    let vault = Arc::new(Vault::open(&keystore.url, master.clone(), false).await.unwrap());
    let store = open_store(&db, &clock, Some(vault)).await;
    assert!(store.data_keys(t.id).await.unwrap().is_empty());
    let job = start(&store, &t).await;
    assert_eq!((job.kind, job.target_version), (RotationKind::Seal, 1));
    // Half-way, plain and sealed values read side by side, and a new write is sealed.
    let (mut half, claim, _) = run(&store, 2, 3).await;
    add_record(&store, &t, &c, "記録カナリア-new").await;
    assert_eq!(store.records(t.id, c.id).await.unwrap().len(), 6);
    loop {
        if store.key_rotation_batch(&mut half, claim, 2, lease()).await.unwrap().outcome == BatchOutcome::Complete {
            break;
        }
    }
    finish(&store, &half, claim).await;

    let raw = Raw::connect(&db.url).await;
    assert_eq!(all_record_versions(&raw, &t).await, [1; 6]);
    for sql in [
        "SELECT email FROM users WHERE tenant_id = $1",
        "SELECT display_name FROM users WHERE tenant_id = $1",
        "SELECT label FROM collections WHERE tenant_id = $1",
        "SELECT memo FROM collections WHERE tenant_id = $1",
        "SELECT label FROM roles WHERE tenant_id = $1",
    ] {
        for v in stored_column(&raw, sql, &t).await {
            assert_eq!(text_version(&v), Some(1), "{sql}: {v:?}");
        }
    }
    let node = {
        let vault = Arc::new(Vault::open(&keystore.url, master.clone(), false).await.unwrap());
        open_store(&db, &clock, Some(vault)).await
    };
    assert_eq!(node.records(t.id, c.id).await.unwrap().len(), 6);
    assert_eq!(node.collection(t.id, c.id).await.unwrap().unwrap().label.as_str(), "顧客カナリア");
    assert_eq!(node.user(t.id, user.id).await.unwrap().unwrap().display_name.as_str(), "氏名カナリア");
    // Sign-in finds the user by the keyed index now, in either width.
    let found = node.signin_context(&t.slug, Some(&email("yamada@EXAMPLE.jp")), None).await.unwrap().unwrap();
    assert_eq!(found.account.unwrap().user.id, user.id);
    // Plain values are refused again once the job is done.
    raw_set_record(&raw, &t, br#"{"name":"planted"}"#).await;
    assert!(matches!(node.records(t.id, c.id).await, Err(StoreError::Unreadable(_))));
    store.close().await;
    node.close().await;
    if let Raw::Sqlite(p) = &raw {
        // The replaced pages leave the WAL once it is checkpointed and truncated (at the
        // latest when the last connection closes).
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(p).await.unwrap();
        p.close().await;
    }

    // No canary left in the bytes of the SQLite database (the audit entries name the user by
    // id and the collection by key); PostgreSQL's rows are checked above.
    if let Some(path) = db.url.strip_prefix("sqlite://") {
        let dir = std::path::Path::new(path).parent().unwrap();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            for canary in ["カナリア", "kanaria", "ｙａｍａｄａ"] {
                let at = bytes.windows(canary.len()).position(|w| w == canary.as_bytes());
                let around = at.map(|i| {
                    String::from_utf8_lossy(&bytes[i.saturating_sub(80)..(i + 80).min(bytes.len())]).into_owned()
                });
                assert!(at.is_none(), "{canary} in {}: {around:?}", path.display());
            }
        }
    }
}

async fn raw_set_record(raw: &Raw, t: &Tenant, data: &[u8]) {
    const SQL: &str = "UPDATE records SET data = $2 WHERE id IN (SELECT id FROM records WHERE tenant_id = $1 LIMIT 1)";
    let n = match raw {
        Raw::Sqlite(p) => sqlx::query(SQL).bind(t.id.as_uuid()).bind(data).execute(p).await.unwrap().rows_affected(),
        Raw::Pg(p) => sqlx::query(SQL).bind(t.id.as_uuid()).bind(data).execute(p).await.unwrap().rows_affected(),
    };
    assert_eq!(n, 1);
}

#[tokio::test]
async fn dat_2_rotating_the_master_key_rewraps_every_key_while_writes_go_on() {
    let s = keyed_env().await;
    let store = &s.env.store;
    let a = make_tenant(store, "tenant-a").await;
    let ca = make_collection(store, &a, "customers").await;
    add_record(store, &a, &ca, "a's value").await;
    store.vault().unwrap().backup_key(0).await.unwrap();
    start(store, &a).await;
    rotate_to_the_end(store, 50).await;
    store.close().await;

    // The node restarts with the new master key, the old one kept for unwrapping.
    let new = Arc::new(MasterKey::generate());
    let ring = Arc::new(MasterKeyRing::new(new.clone(), [s.master.clone()]));
    let vault = Arc::new(Vault::open(&s.keystore.url, ring, false).await.unwrap());
    let node = open_store(&s.env.db, &s.env.clock, Some(vault.clone())).await;
    assert_eq!(vault.keys_under_other_master().await.unwrap(), 4, "two data versions, blind index, backup");
    // Tenants are opened and written while the keystore is re-wrapped.
    let writers: Vec<_> = (0..3)
        .map(|i| {
            let node = node.clone();
            tokio::spawn(async move {
                let t = make_tenant(&node, &format!("during-{i}")).await;
                let c = make_collection(&node, &t, "customers").await;
                add_record(&node, &t, &c, "written during").await;
                t
            })
        })
        .collect();
    let done = vault.rewrap_under_current_master().await.unwrap();
    let during = finished(writers).await;
    assert_eq!((done.tenant_keys, done.backup_keys), (3, 1));
    // Run again (resumed after a crash, say): nothing left, nothing changed.
    let again = vault.rewrap_under_current_master().await.unwrap();
    assert_eq!((again.tenant_keys, again.backup_keys), (0, 0));
    assert_eq!(vault.keys_under_other_master().await.unwrap(), 0);
    node.close().await;

    // The new master key alone opens every tenant; the old one alone opens none.
    let only_new = Arc::new(Vault::open(&s.keystore.url, new.clone(), false).await.unwrap());
    let fresh = open_store(&s.env.db, &s.env.clock, Some(only_new.clone())).await;
    assert_eq!(values(&fresh.records(a.id, ca.id).await.unwrap()), ["a's value"]);
    for t in &during {
        let c = fresh.collection_by_name(t.id, &key("customers")).await.unwrap().unwrap();
        assert_eq!(values(&fresh.records(t.id, c.id).await.unwrap()), ["written during"]);
    }
    assert!(only_new.backup_key_version(1).await.unwrap().is_some());
    fresh.close().await;
    let only_old = Arc::new(Vault::open(&s.keystore.url, s.master.clone(), false).await.unwrap());
    let stale = open_store(&s.env.db, &s.env.clock, Some(only_old)).await;
    assert!(matches!(stale.records(a.id, ca.id).await, Err(StoreError::Unreadable(_))));
}
