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
    let store = db.open(clock.clone(), options).await.unwrap();
    Sealed { env: Env { db, store, clock }, keystore, master }
}

impl Sealed {
    /// Another node: its own vault over the same keystore and master key, and no record cache,
    /// so every read opens what the database holds.
    async fn node(&self) -> Store {
        let vault = Arc::new(Vault::open(&self.keystore.url, self.master.clone(), false).await.unwrap());
        let options = StoreOptions { vault: Some(vault), record_cache_records: 0, ..StoreOptions::default() };
        self.env.db.open(self.env.clock.clone(), options).await.unwrap()
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
    let other = s.env.db.open(s.env.clock.clone(), options).await.unwrap();
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

// Users' emails and names (DAT-2) and the email's blind index (DAT-3) ----------------------------

/// A user's email, display name and email index as stored.
async fn stored_user(raw: &Raw, id: UserId) -> (String, String, Option<Vec<u8>>) {
    const SQL: &str = "SELECT email, display_name, email_index FROM users WHERE id = $1";
    match raw {
        Raw::Sqlite(p) => sqlx::query_as(SQL).bind(id.as_uuid()).fetch_one(p).await.unwrap(),
        Raw::Pg(p) => sqlx::query_as(SQL).bind(id.as_uuid()).fetch_one(p).await.unwrap(),
    }
}

/// Puts a user's row back as a release before sealing wrote it: plain values, no index.
async fn set_stored_user(raw: &Raw, id: UserId, email: &str, display_name: &str, index: Option<Vec<u8>>) {
    const SQL: &str = "UPDATE users SET email = $2, display_name = $3, email_index = $4 WHERE id = $1";
    let n = match raw {
        Raw::Sqlite(p) => sqlx::query(SQL)
            .bind(id.as_uuid())
            .bind(email)
            .bind(display_name)
            .bind(index)
            .execute(p)
            .await
            .unwrap()
            .rows_affected(),
        Raw::Pg(p) => sqlx::query(SQL)
            .bind(id.as_uuid())
            .bind(email)
            .bind(display_name)
            .bind(index)
            .execute(p)
            .await
            .unwrap()
            .rows_affected(),
    };
    assert_eq!(n, 1);
}

async fn add_user(store: &Store, tenant: &Tenant, address: &str, display: &str) -> Result<User, StoreError> {
    let editor = role(store, tenant, BuiltinRole::Editor).await;
    let mut w = store.begin(scope(tenant), cli()).await.unwrap();
    let user = w.insert_user(tenant.id, &email(address), &name(display), editor.id, Some("$argon2id$hash")).await?;
    // The entry names the user by id: audit details are not sealed yet (see ARCHITECTURE.md).
    w.commit(AuditRecord::success(Operation::UserCreate, format!("user:{}", user.id))).await.unwrap();
    Ok(user)
}

async fn signin_account(store: &Store, slug: &str, address: &str) -> Option<User> {
    let ctx = store.signin_context(&Slug::parse(slug).unwrap(), Some(&email(address)), None).await.unwrap().unwrap();
    ctx.account.map(|a| a.user)
}

#[tokio::test]
async fn dat_2_user_emails_and_names_are_ciphertext_in_the_database_and_plain_when_read() {
    let s = sealed_env().await;
    let store = &s.env.store;
    let t = make_tenant(store, "acme").await;
    let user = add_user(store, &t, "ｙａｍａｄａ.canary@example.jp", "山田カナリア").await.unwrap();
    assert_eq!(user.email.as_str(), "ｙａｍａｄａ.canary@example.jp", "kept as typed");
    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    let editor = role(store, &t, BuiltinRole::Editor).await;
    w.update_user(t.id, user.id, &name("山田花子カナリア"), editor.id, UserStatus::Active).await.unwrap();
    w.commit(AuditRecord::success(Operation::UserUpdate, format!("user:{}", user.id))).await.unwrap();

    let raw = Raw::connect(&s.env.db.url).await;
    let (stored_email, stored_name, index) = stored_user(&raw, user.id).await;
    for stored in [&stored_email, &stored_name] {
        assert!(stored.starts_with('\u{1}'), "sealed: {stored:?}");
        for canary in ["canary", "ｙａｍａｄａ", "yamada", "山田", "カナリア", "example"] {
            assert!(!stored.contains(canary), "{canary} in {stored:?}");
        }
    }
    assert_eq!(index.map(|i| i.len()), Some(32), "the blind index");
    // Read back in plain through every read, on this node and on another with the same keys.
    for node in [store.clone(), s.node().await] {
        let listed = node.users(t.id).await.unwrap();
        let mine: Vec<_> = listed.iter().filter(|u| u.id == user.id).collect();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].display_name.as_str(), "山田花子カナリア");
        assert_eq!(node.user(t.id, user.id).await.unwrap().unwrap().email.as_str(), "ｙａｍａｄａ.canary@example.jp");
        let (found, hash) = node.user_credentials(t.id, &email("YAMADA.Canary@example.jp")).await.unwrap().unwrap();
        assert_eq!((found.id, hash.as_deref()), (user.id, Some("$argon2id$hash")));
        assert_eq!(signin_account(&node, "acme", "yamada.canary@EXAMPLE.JP").await.unwrap().id, user.id);
        assert!(signin_account(&node, "acme", "yamada.other@example.jp").await.is_none());
    }
    // The same email in another tenant is another account, with an unrelated index.
    let other = make_tenant(store, "other").await;
    let theirs = add_user(store, &other, "yamada.canary@example.jp", "Yamada").await.unwrap();
    assert_ne!(stored_user(&raw, theirs.id).await.2, stored_user(&raw, user.id).await.2);
    assert_eq!(signin_account(store, "other", "ｙａｍａｄａ.canary@example.jp").await.unwrap().id, theirs.id);
}

#[tokio::test]
async fn dat_3_full_width_and_ascii_emails_are_one_user_with_and_without_encryption() {
    let s = sealed_env().await;
    let sealed_tenant = make_tenant(&s.env.store, "sealed").await;
    // A tenant opened before encryption was configured: no keys, plain values, the keyless index.
    let plain_store = s.env.node().await;
    let plain_tenant = make_tenant(&plain_store, "plain").await;
    for (store, t) in [(&s.env.store, &sealed_tenant), (&s.env.store, &plain_tenant), (&plain_store, &plain_tenant)] {
        let slug = t.slug.as_str();
        let first = add_user(store, t, "ＹＡＭＡＤＡ@example.jp", "山田").await;
        let first = match first {
            Ok(user) => user,
            // The plain tenant's user was made through the first store already.
            Err(StoreError::Conflict(_)) => signin_account(store, slug, "yamada@example.jp").await.unwrap(),
            Err(e) => panic!("{e:?}"),
        };
        let again = add_user(store, t, "yamada@example.jp", "Yamada").await;
        assert!(matches!(&again, Err(StoreError::Conflict(m)) if m.contains("already exists")), "{again:?}");
        let again = add_user(store, t, "Yamada@Example.jp", "Yamada").await;
        assert!(matches!(again, Err(StoreError::Conflict(_))));
        for typed in ["yamada@example.jp", "ＹＡＭＡＤＡ@example.jp", "ｙａｍａｄａ@ＥＸＡＭＰＬＥ.jp"]
        {
            assert_eq!(signin_account(store, slug, typed).await.unwrap().id, first.id, "{typed}");
            assert_eq!(store.user_credentials(t.id, &email(typed)).await.unwrap().unwrap().0.id, first.id);
        }
        assert_eq!(store.users(t.id).await.unwrap().len(), 1);
    }
    let raw = Raw::connect(&s.env.db.url).await;
    let plain_user = signin_account(&plain_store, "plain", "yamada@example.jp").await.unwrap();
    let (stored_email, stored_name, index) = stored_user(&raw, plain_user.id).await;
    assert_eq!((stored_email.as_str(), stored_name.as_str()), ("ＹＡＭＡＤＡ@example.jp", "山田"), "stays plain");
    assert!(index.is_some());
}

#[tokio::test]
async fn dat_2_users_written_before_sealing_are_sealed_and_indexed_when_the_store_opens() {
    let s = sealed_env().await;
    let store = &s.env.store;
    let t = make_tenant(store, "acme").await;
    let a = add_user(store, &t, "placeholder-a@example.jp", "A").await.unwrap();
    let b = add_user(store, &t, "placeholder-b@example.jp", "B").await.unwrap();
    let c = add_user(store, &t, "placeholder-c@example.jp", "C").await.unwrap();
    // As an earlier release left them: plain, without index; b and c differ only in width and
    // case, which was allowed then.
    let raw = Raw::connect(&s.env.db.url).await;
    set_stored_user(&raw, a.id, "legacy.a@example.jp", "旧山田", None).await;
    set_stored_user(&raw, b.id, "ＤＵＰ@example.jp", "Dup wide", None).await;
    set_stored_user(&raw, c.id, "dup@example.jp", "Dup narrow", None).await;

    let node = s.node().await;
    let (stored_email, stored_name, index_a) = stored_user(&raw, a.id).await;
    assert!(stored_email.starts_with('\u{1}') && stored_name.starts_with('\u{1}') && index_a.is_some());
    assert_eq!(signin_account(&node, "acme", "LEGACY.A@example.jp").await.unwrap().display_name.as_str(), "旧山田");
    // Of the two equal emails the first keeps the address; the second is sealed without an
    // index, still listed (an administrator can delete it), never signed in to by email.
    assert_eq!(signin_account(&node, "acme", "dup@example.jp").await.unwrap().id, b.id);
    let (c_email, _, c_index) = stored_user(&raw, c.id).await;
    assert!(c_email.starts_with('\u{1}') && c_index.is_none());
    let listed = node.users(t.id).await.unwrap();
    assert!(listed.iter().any(|u| u.id == c.id && u.display_name.as_str() == "Dup narrow"));
    // Opening again leaves what is done as it is.
    let again = s.node().await;
    assert_eq!(signin_account(&again, "acme", "legacy.a@example.jp").await.unwrap().id, a.id);
    assert_eq!(stored_user(&raw, a.id).await, (stored_email, stored_name, index_a));

    // A store without a vault indexes its plain tenants the same way, and leaves them plain.
    let plain = make_tenant(&s.env.node().await, "plain").await;
    let p = add_user(store, &plain, "placeholder@example.jp", "P").await.unwrap();
    set_stored_user(&raw, p.id, "Plain.User@example.jp", "平文", None).await;
    let bare = s.env.node().await;
    assert_eq!(signin_account(&bare, "plain", "plain.user@example.jp").await.unwrap().id, p.id);
    let (stored_email, stored_name, index) = stored_user(&raw, p.id).await;
    assert_eq!((stored_email.as_str(), stored_name.as_str()), ("Plain.User@example.jp", "平文"));
    assert!(index.is_some());
}

#[tokio::test]
async fn ten_2_a_sealed_email_moved_to_another_user_or_tenant_is_refused() {
    let s = sealed_env().await;
    let store = &s.env.store;
    let (a, b) = (make_tenant(store, "tenant-a").await, make_tenant(store, "tenant-b").await);
    let ua = add_user(store, &a, "a@example.jp", "A").await.unwrap();
    let ua2 = add_user(store, &a, "a2@example.jp", "A2").await.unwrap();
    let ub = add_user(store, &b, "b@example.jp", "B").await.unwrap();
    let raw = Raw::connect(&s.env.db.url).await;
    let (sealed_email, sealed_name, _) = stored_user(&raw, ua.id).await;
    let (_, _, index_b) = stored_user(&raw, ub.id).await;
    set_stored_user(&raw, ub.id, &sealed_email, &sealed_name, index_b).await;
    let node = s.node().await;
    assert!(matches!(node.user(b.id, ub.id).await, Err(StoreError::Unreadable(_))));
    assert!(matches!(node.users(b.id).await, Err(StoreError::Unreadable(_))));
    // Within the tenant, bound to its row; and a plain value planted in a sealed tenant is refused.
    let (email_a2, _, index_a2) = stored_user(&raw, ua2.id).await;
    set_stored_user(&raw, ua2.id, &email_a2, &sealed_name, index_a2.clone()).await;
    assert!(matches!(node.user(a.id, ua2.id).await, Err(StoreError::Unreadable(_))));
    set_stored_user(&raw, ua2.id, "planted@example.jp", "Planted", index_a2).await;
    assert!(matches!(node.user(a.id, ua2.id).await, Err(StoreError::Unreadable(_))));
    assert_eq!(node.user(a.id, ua.id).await.unwrap().unwrap().display_name.as_str(), "A");
}

// Labels, memos and API-key names (DAT-2) -------------------------------------------------------

/// Runs a statement on the raw connection with one id parameter, returning the text columns.
async fn stored_texts(raw: &Raw, sql: &'static str, id: Uuid) -> Vec<String> {
    match raw {
        Raw::Sqlite(p) => {
            let row: (String,) = sqlx::query_as(sql).bind(id).fetch_one(p).await.unwrap();
            vec![row.0]
        }
        Raw::Pg(p) => {
            let row: (String,) = sqlx::query_as(sql).bind(id).fetch_one(p).await.unwrap();
            vec![row.0]
        }
    }
}

async fn raw_exec(raw: &Raw, sql: &'static str, id: Uuid, value: &str) {
    let n = match raw {
        Raw::Sqlite(p) => sqlx::query(sql).bind(id).bind(value).execute(p).await.unwrap().rows_affected(),
        Raw::Pg(p) => sqlx::query(sql).bind(id).bind(value).execute(p).await.unwrap().rows_affected(),
    };
    assert_eq!(n, 1);
}

const LABEL_CANARIES: [&str; 6] =
    ["顧客カナリア", "氏名カナリア", "memo-canary", "field-memo-canary", "役割カナリア", "キー名カナリア"];

fn canary_spec() -> CollectionSpec {
    serde_json::from_str(
        r#"{"name":"customers","label":"顧客カナリア","memo":"memo-canary","fields":[
            {"name":"name","label":"氏名カナリア","type":"text","memo":"field-memo-canary"}]}"#,
    )
    .unwrap()
}

/// A collection, a role and an API key whose label, memo and name are canaries.
async fn labelled(store: &Store, t: &Tenant) -> (Collection, Role, kura_store::ApiKey, SecretToken) {
    let mut w = store.begin(scope(t), cli()).await.unwrap();
    let c = w.insert_collection(t.id, &canary_spec()).await.unwrap();
    let role = w.insert_role(t.id, &key("auditors"), &name("役割カナリア"), PermissionSet::empty()).await.unwrap();
    let (token, api_key) = w
        .insert_api_key(t.id, "キー名カナリア", role.id, None, None, kura_store::ApiKeyLimits::default())
        .await
        .unwrap();
    w.commit(AuditRecord::success(Operation::CollectionCreate, format!("collection:{}", c.id))).await.unwrap();
    (c, role, api_key, token)
}

const COLLECTION_TEXT: &str = "SELECT label || memo || fields FROM collections WHERE id = $1";
const ROLE_TEXT: &str = "SELECT label FROM roles WHERE id = $1";
const KEY_TEXT: &str = "SELECT name FROM api_keys WHERE id = $1";

async fn assert_sealed(raw: &Raw, c: &Collection, role: &Role, api_key: &kura_store::ApiKey) {
    for (sql, id) in
        [(COLLECTION_TEXT, c.id.as_uuid()), (ROLE_TEXT, role.id.as_uuid()), (KEY_TEXT, api_key.id.as_uuid())]
    {
        for stored in stored_texts(raw, sql, id).await {
            assert!(stored.starts_with('\u{1}'), "sealed: {stored:?}");
            for canary in LABEL_CANARIES.iter().chain(&["氏名", "name", "text"]) {
                assert!(!stored.contains(canary), "{canary} in {stored:?}");
            }
        }
    }
}

async fn assert_read_back(node: &Store, t: &Tenant, role: &Role, token: &SecretToken) {
    let c = node.collection_by_name(t.id, &key("customers")).await.unwrap().unwrap();
    assert_eq!((c.label.as_str(), c.memo.as_str()), ("顧客カナリア", "memo-canary"));
    assert_eq!((c.fields[0].label.as_str(), c.fields[0].memo.as_str()), ("氏名カナリア", "field-memo-canary"));
    let at = node.collection_at(t.id, &key("customers")).await.unwrap().unwrap();
    assert_eq!(at.collection.label.as_str(), "顧客カナリア");
    assert_eq!(node.collections(t.id).await.unwrap()[0].fields[0].label.as_str(), "氏名カナリア");
    assert_eq!(node.role(t.id, role.id).await.unwrap().unwrap().label.as_str(), "役割カナリア");
    assert!(node.roles(t.id).await.unwrap().iter().any(|r| r.label.as_str() == "役割カナリア"));
    assert_eq!(node.api_keys(t.id).await.unwrap()[0].name, "キー名カナリア");
    let ctx = node.api_key_context(t.id, &token.digest(), None, None).await.unwrap().unwrap();
    assert_eq!((ctx.key.name.as_str(), ctx.role.label.as_str()), ("キー名カナリア", "役割カナリア"));
}

#[tokio::test]
async fn dat_2_labels_memos_and_api_key_names_are_ciphertext_in_the_database_and_plain_when_read() {
    let s = sealed_env().await;
    let store = &s.env.store;
    let t = make_tenant(store, "acme").await;
    let (c, role, api_key, token) = labelled(store, &t).await;
    let raw = Raw::connect(&s.env.db.url).await;
    assert_sealed(&raw, &c, &role, &api_key).await;
    // The built-in roles' labels are sealed too.
    let admin = role_of(store, &t, BuiltinRole::TenantAdmin).await;
    assert!(stored_texts(&raw, ROLE_TEXT, admin.id.as_uuid()).await[0].starts_with('\u{1}'));
    for node in [store.clone(), s.node().await] {
        assert_read_back(&node, &t, &role, &token).await;
    }
    // A changed definition and role are sealed again.
    let mut spec = canary_spec();
    spec.memo = "memo-canary 2".into();
    let mut w = store.begin(scope(&t), cli()).await.unwrap();
    w.update_collection(t.id, c.id, &spec).await.unwrap();
    w.update_role(t.id, role.id, &name("役割カナリア"), PermissionSet::empty()).await.unwrap();
    w.commit(AuditRecord::success(Operation::CollectionUpdate, format!("collection:{}", c.id))).await.unwrap();
    assert_sealed(&raw, &c, &role, &api_key).await;
    assert_eq!(s.node().await.collection(t.id, c.id).await.unwrap().unwrap().memo, "memo-canary 2");

    // Moved to another collection of the same tenant, a sealed definition does not open.
    let other = make_collection(store, &t, "other").await;
    let sealed_fields: String = match &raw {
        Raw::Sqlite(p) => sqlx::query_scalar("SELECT fields FROM collections WHERE id = $1")
            .bind(c.id.as_uuid())
            .fetch_one(p)
            .await
            .unwrap(),
        Raw::Pg(p) => sqlx::query_scalar("SELECT fields FROM collections WHERE id = $1")
            .bind(c.id.as_uuid())
            .fetch_one(p)
            .await
            .unwrap(),
    };
    raw_exec(&raw, "UPDATE collections SET fields = $2 WHERE id = $1", other.id.as_uuid(), &sealed_fields).await;
    assert!(matches!(s.node().await.collection(t.id, other.id).await, Err(StoreError::Unreadable(_))));
}

async fn role_of(store: &Store, t: &Tenant, builtin: BuiltinRole) -> Role {
    role(store, t, builtin).await
}

#[tokio::test]
async fn dat_2_labels_and_key_names_written_before_sealing_are_sealed_when_the_store_opens() {
    let s = sealed_env().await;
    let store = &s.env.store;
    let t = make_tenant(store, "acme").await;
    let (c, role, api_key, token) = labelled(store, &t).await;
    // As an earlier release left them: plain.
    let raw = Raw::connect(&s.env.db.url).await;
    let fields = serde_json::to_string(&canary_spec().fields).unwrap();
    raw_exec(
        &raw,
        "UPDATE collections SET label = '顧客カナリア', memo = 'memo-canary', fields = $2 WHERE id = $1",
        c.id.as_uuid(),
        &fields,
    )
    .await;
    raw_exec(&raw, "UPDATE roles SET label = $2 WHERE id = $1", role.id.as_uuid(), "役割カナリア").await;
    raw_exec(&raw, "UPDATE api_keys SET name = $2 WHERE id = $1", api_key.id.as_uuid(), "キー名カナリア").await;
    // A tenant opened before encryption keeps its labels plain.
    let plain = make_tenant(&s.env.node().await, "plain").await;
    let plain_collection = make_collection(store, &plain, "plain_things").await;

    let node = s.node().await;
    assert_sealed(&raw, &c, &role, &api_key).await;
    assert_read_back(&node, &t, &role, &token).await;
    let stored = stored_texts(&raw, COLLECTION_TEXT, plain_collection.id.as_uuid()).await;
    assert_eq!(stored, ["plain_thingsmemo[]"], "a tenant without keys stays plain");
    assert_eq!(node.collection(plain.id, plain_collection.id).await.unwrap().unwrap().label.as_str(), "plain_things");
}

// The plaintext canary sweep, for what the store seals beyond records ---------------------------

/// Every file under `dir`, recursively, with its bytes.
fn files_under(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path.display().to_string(), bytes));
        }
    }
    out
}

/// Every row of every table of a PostgreSQL database as PostgreSQL prints it.
async fn pg_rows(url: &str) -> Vec<u8> {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'")
        .fetch_all(&pool)
        .await
        .unwrap();
    let mut out = Vec::new();
    for table in tables {
        let sql = format!("SELECT t::text FROM {table} t");
        let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_all(&pool).await.unwrap();
        rows.iter().for_each(|r| out.extend_from_slice(r.as_bytes()));
    }
    pool.close().await;
    out
}

#[tokio::test]
async fn dat_2_dat_3_canary_sweep_finds_no_user_email_name_label_or_key_name_in_the_database_or_keystore() {
    let s = sealed_env().await;
    let store = &s.env.store;
    let t = make_tenant(store, "acme").await;
    // Canaries: ASCII, Japanese, full-width (and its normalised form), half-width kana.
    let user = add_user(store, &t, "ＫＵＲＡＣＡＮＡＲＹ７７@example.jp", "金庫番カナリア試験 ｶﾅﾘｱﾃｽﾄ").await.unwrap();
    let (c, role, api_key, token) = labelled(store, &t).await;
    // The same values are there, opened, for whoever may read them.
    assert_eq!(signin_account(store, "acme", "kuracanary77@example.jp").await.unwrap().id, user.id);
    assert_read_back(store, &t, &role, &token).await;
    let canaries: Vec<&str> = [
        "ＫＵＲＡＣＡＮＡＲＹ７７",
        "kuracanary77",
        "KURACANARY77",
        "金庫番カナリア試験",
        "ｶﾅﾘｱﾃｽﾄ",
        "カナリアテスト",
        "customers\",\"label",
    ]
    .into_iter()
    .chain(LABEL_CANARIES)
    .collect();

    // Every byte: the database (file, WAL and shm on SQLite; every row on PostgreSQL) and the
    // keystore, while the store is open (the WAL holds the latest writes) and after it closed.
    let mut found = Vec::new();
    for round in ["open", "closed"] {
        if round == "closed" {
            store.close().await;
        }
        let mut written: Vec<(String, Vec<u8>)> = Vec::new();
        for url in [&s.env.db.url, &s.keystore.url] {
            match url.strip_prefix("sqlite://") {
                Some(path) => written.extend(files_under(std::path::Path::new(path).parent().unwrap())),
                None => written.push((format!("rows of {url}"), pg_rows(url).await)),
            }
        }
        assert!(written.len() >= 2, "{:?}", written.iter().map(|w| &w.0).collect::<Vec<_>>());
        // The sweep sees the data: the role's key, an identifier, is stored as it is.
        let identifier = b"auditors";
        assert!(written.iter().any(|(_, bytes)| bytes.windows(identifier.len()).any(|w| w == identifier)), "{round}");
        for (name, bytes) in &written {
            for canary in &canaries {
                let n = bytes.windows(canary.len()).filter(|w| *w == canary.as_bytes()).count();
                if n > 0 {
                    found.push(format!("{canary} ×{n} in {name} ({round})"));
                }
            }
        }
    }
    assert!(found.is_empty(), "plaintext found: {found:?}");
    let _ = (c, api_key);
}

// Second factors (DAT-2) -----------------------------------------------------------------------

const TOTP_SECRET: &str = "JBSWY3DPEHPK3PXPKURACANARY234567";

async fn enrol(store: &Store, write_scope: AuditScope, owner: SessionOwner) -> (Uuid, SecretToken) {
    let mut w = store.begin(write_scope, cli()).await.unwrap();
    let id = w.begin_factor(owner, "端末カナリア", TOTP_SECRET).await.unwrap();
    let challenge = kura_store::Challenge {
        owner,
        surface: "console".into(),
        pending_secret: Some(TOTP_SECRET.into()),
        passkey_state: None,
        attempts: 0,
        expires_at: store.clock().now().checked_add(SignedDuration::from_hours(8)).unwrap(),
    };
    let token = w.insert_challenge(&challenge).await.unwrap();
    w.commit(AuditRecord::success(Operation::UserUpdate, "factor")).await.unwrap();
    (id, token)
}

async fn stored_factor(raw: &Raw, id: Uuid) -> (String, String) {
    const SQL: &str = "SELECT label, secret FROM second_factors WHERE id = $1";
    match raw {
        Raw::Sqlite(p) => sqlx::query_as(SQL).bind(id).fetch_one(p).await.unwrap(),
        Raw::Pg(p) => sqlx::query_as(SQL).bind(id).fetch_one(p).await.unwrap(),
    }
}

async fn stored_pending(raw: &Raw, token: &SecretToken) -> String {
    const SQL: &str = "SELECT pending_secret FROM signin_challenges WHERE token_hash = $1";
    match raw {
        Raw::Sqlite(p) => sqlx::query_scalar(SQL).bind(token.digest().0.to_vec()).fetch_one(p).await.unwrap(),
        Raw::Pg(p) => sqlx::query_scalar(SQL).bind(token.digest().0.to_vec()).fetch_one(p).await.unwrap(),
    }
}

#[tokio::test]
async fn dat_2_totp_secrets_of_tenant_users_are_sealed_and_operators_stay_plain() {
    let s = sealed_env().await;
    let store = &s.env.store;
    let t = make_tenant(store, "acme").await;
    let user = add_user(store, &t, "totp@example.jp", "TOTP").await.unwrap();
    let owner = SessionOwner::User { tenant_id: t.id, user_id: user.id };
    let (factor, token) = enrol(store, scope(&t), owner).await;
    let raw = Raw::connect(&s.env.db.url).await;
    let (label, secret) = stored_factor(&raw, factor).await;
    let pending = stored_pending(&raw, &token).await;
    for stored in [&label, &secret, &pending] {
        assert!(
            stored.starts_with('\u{1}') && !stored.contains("KURACANARY") && !stored.contains("カナリア"),
            "{stored}"
        );
    }
    for node in [store.clone(), s.node().await] {
        let factors = node.second_factors(owner).await.unwrap();
        assert_eq!((factors[0].label.as_str(), factors[0].secret.as_str()), ("端末カナリア", TOTP_SECRET));
        let challenge = node.challenge(t.id.as_uuid(), &token.digest()).await.unwrap().unwrap();
        assert_eq!(challenge.pending_secret.as_deref(), Some(TOTP_SECRET));
    }
    // A factor's secret moved to another factor's row does not open.
    let other_user = add_user(store, &t, "totp2@example.jp", "TOTP2").await.unwrap();
    let other = SessionOwner::User { tenant_id: t.id, user_id: other_user.id };
    let (other_factor, _) = enrol(store, scope(&t), other).await;
    raw_exec(&raw, "UPDATE second_factors SET secret = $2 WHERE id = $1", other_factor, &secret).await;
    assert!(matches!(s.node().await.second_factors(other).await, Err(StoreError::Unreadable(_))));

    // Written before sealing: sealed when the store opens.
    raw_exec(&raw, "UPDATE second_factors SET label = '端末カナリア', secret = $2 WHERE id = $1", factor, TOTP_SECRET)
        .await;
    let node = s.node().await;
    assert!(stored_factor(&raw, factor).await.1.starts_with('\u{1}'));
    assert_eq!(node.second_factors(owner).await.unwrap()[0].secret, TOTP_SECRET);

    // An operator's factor is the platform's: no tenant key covers it, and it stays plain.
    let mut w = store.begin(AuditScope::Platform, cli()).await.unwrap();
    let op = w.insert_operator(&email("op@example.jp"), &name("Op"), "$argon2id$hash").await.unwrap();
    w.commit(AuditRecord::success(Operation::OperatorCreate, "operator")).await.unwrap();
    let (op_factor, _) = enrol(store, AuditScope::Platform, SessionOwner::Operator(op.id)).await;
    assert_eq!(stored_factor(&raw, op_factor).await.1, TOTP_SECRET);
    assert_eq!(store.second_factors(SessionOwner::Operator(op.id)).await.unwrap()[0].secret, TOTP_SECRET);
}
