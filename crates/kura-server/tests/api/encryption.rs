//! Encryption at rest through the API (DAT-2, DAT-3, TEN-2): record values are ciphertext in the
//! database under per-tenant keys, lists and search work on the opened values, normalised
//! search finds half-width kana and full-width letters, and a ciphertext moved to another
//! tenant's row is refused with a clear error, never answered with a value.

use crate::helpers::*;
use kura_domain::AuditScope;
use kura_store::AuditFilter;
use reqwest::StatusCode;
use serde_json::json;

/// The stored bytes of every record, read behind Kura's back.
pub async fn raw_records(db_url: &str) -> Vec<(uuid::Uuid, Vec<u8>)> {
    const SQL: &str = "SELECT id, data FROM records ORDER BY id";
    if db_url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(db_url).await.unwrap();
        sqlx::query_as(SQL).fetch_all(&pool).await.unwrap()
    } else {
        let pool = sqlx::PgPool::connect(db_url).await.unwrap();
        sqlx::query_as(SQL).fetch_all(&pool).await.unwrap()
    }
}

pub async fn set_raw_data(db_url: &str, id: &str, data: &[u8]) {
    const SQL: &str = "UPDATE records SET data = $2 WHERE id = $1";
    let id: uuid::Uuid = id.parse().unwrap();
    let n = if db_url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(db_url).await.unwrap();
        sqlx::query(SQL).bind(id).bind(data).execute(&pool).await.unwrap().rows_affected()
    } else {
        let pool = sqlx::PgPool::connect(db_url).await.unwrap();
        sqlx::query(SQL).bind(id).bind(data).execute(&pool).await.unwrap().rows_affected()
    };
    assert_eq!(n, 1);
}

fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn dat_2_records_written_through_the_api_are_ciphertext_and_read_back_in_plain() {
    let app = spawn_encrypted_app().await;
    let t = app.tenant("acme").await;
    let (s, body) = app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let records = "/api/v1/collections/customers/records";
    let (s, r) =
        app.post(records, &t.admin_token, json!({"name": "暗号 太郎", "email": "angou@example.jp", "points": 7})).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let id = r["id"].as_str().unwrap().to_owned();
    let (s, r) = app.patch(&format!("{records}/{id}"), &t.admin_token, json!({"name": "暗号 花子"})).await;
    assert_eq!(s, StatusCode::OK, "{r}");

    for (_, stored) in raw_records(&app.db_url).await {
        assert_eq!(stored[0], 1, "sealed");
        for plain in ["暗号", "花子", "angou@example.jp", "points"] {
            assert!(!holds(&stored, plain), "{plain} stored in the clear");
        }
    }
    // Lists, gets and filters work on the opened values, on this node and on another.
    for node in [&app, &app.another_node().await] {
        let (s, page) =
            node.get(&format!("{records}?filter=name%20~%20%22%E8%8A%B1%E5%AD%90%22"), &t.admin_token).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        assert_eq!(page["items"][0]["data"]["name"], "暗号 花子", "{page}");
        let (_, r) = node.get(&format!("{records}/{id}"), &t.admin_token).await;
        assert_eq!(r["data"]["email"], "angou@example.jp");
    }
    // Opening the tenant created its keys, and the platform's audit entry says so.
    let entries = app.state.store.audit_entries(AuditScope::Platform, &AuditFilter::default()).await.unwrap();
    let opening = entries.iter().find(|e| e.operation.as_str() == "tenant.create").unwrap();
    let detail = opening.detail.clone().unwrap_or_default();
    assert!(detail.contains("data key v1") && detail.contains("blind-index key v1"), "{detail}");
}

#[tokio::test]
async fn dat_3_search_through_the_api_finds_half_width_kana_and_full_width_letters() {
    let app = spawn_encrypted_app().await;
    let t = app.tenant("acme").await;
    app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    let records = "/api/v1/collections/customers/records";
    for name in ["ヤマダ タロウ", "ABC123 商事", "やまだ はなこ"] {
        let (s, r) = app.post(records, &t.admin_token, json!({"name": name})).await;
        assert_eq!(s, StatusCode::CREATED, "{r}");
    }
    let names = |page: &serde_json::Value| -> Vec<String> {
        page["items"].as_array().unwrap().iter().map(|r| r["data"]["name"].as_str().unwrap().to_owned()).collect()
    };
    let search = |q: &str| {
        let url = reqwest::Url::parse_with_params(&format!("http://x{records}"), [("q", q)]).unwrap();
        format!("{}?{}", url.path(), url.query().unwrap())
    };
    let (s, page) = app.get(&search("ﾔﾏﾀﾞ"), &t.admin_token).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(names(&page), ["ヤマダ タロウ"]);
    let (_, page) = app.get(&search("ＡＢＣ１２３"), &t.admin_token).await;
    assert_eq!(names(&page), ["ABC123 商事"]);
    let (_, page) = app.get(&search("abc"), &t.admin_token).await;
    assert_eq!(names(&page), ["ABC123 商事"]);
}

#[tokio::test]
async fn ten_2_a_ciphertext_moved_to_another_tenants_record_is_refused_with_a_clear_error() {
    let app = spawn_encrypted_app().await;
    let (a, b) = (app.tenant("tenant-a").await, app.tenant("tenant-b").await);
    let records = "/api/v1/collections/customers/records";
    let mut ids = Vec::new();
    for (t, name) in [(&a, "Aの秘密"), (&b, "Bの記録")] {
        app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
        let (s, r) = app.post(records, &t.admin_token, json!({"name": name})).await;
        assert_eq!(s, StatusCode::CREATED, "{r}");
        ids.push(r["id"].as_str().unwrap().to_owned());
    }
    let stored = raw_records(&app.db_url).await;
    let a_sealed = stored.iter().find(|(id, _)| id.to_string() == ids[0]).unwrap().1.clone();
    set_raw_data(&app.db_url, &ids[1], &a_sealed).await;

    // A node that reads what the database holds: B's record does not open under B's key.
    let node = app.another_node().await;
    let (s, body) = node.get(&format!("{records}/{}", ids[1]), &b.admin_token).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_eq!(body["code"], "undecryptable", "{body}");
    assert!(!body.to_string().contains("秘密"), "{body}");
    let (s, body) = node.get(records, &b.admin_token).await;
    assert_eq!((s, body["code"].as_str()), (StatusCode::INTERNAL_SERVER_ERROR, Some("undecryptable")), "{body}");
    // A's record still opens where it belongs.
    let (s, r) = node.get(&format!("{records}/{}", ids[0]), &a.admin_token).await;
    assert_eq!((s, r["data"]["name"].as_str()), (StatusCode::OK, Some("Aの秘密")));
}

// The operation log, sealed (DAT-2, DAT-3, LOG-3) ---------------------------------------------

/// The text of every column of the tenant's audit entries, as stored, and how many there are
/// with a sealed actor, target and detail (those present).
async fn raw_entries(
    db_url: &str,
    tenant: uuid::Uuid,
) -> (Vec<(String, Option<String>, Option<String>, bool)>, String) {
    const SQL: &str = "SELECT actor_label, target, detail, target_index IS NOT NULL FROM audit_log \
                       WHERE scope_id = $1 ORDER BY seq";
    let rows: Vec<(String, Option<String>, Option<String>, bool)> = if db_url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(db_url).await.unwrap();
        sqlx::query_as(SQL).bind(tenant).fetch_all(&pool).await.unwrap()
    } else {
        let pool = sqlx::PgPool::connect(db_url).await.unwrap();
        sqlx::query_as(SQL).bind(tenant).fetch_all(&pool).await.unwrap()
    };
    let text = format!("{rows:?}");
    (rows, text)
}

async fn tenant_id(app: &TestApp, slug: &str) -> kura_domain::TenantId {
    let slug = kura_domain::Slug::parse(slug).unwrap();
    app.state.store.tenant_by_slug(&slug).await.unwrap().unwrap().id
}

/// The same changes in any application: the administrator makes a collection, a staff user
/// and records; the staff user changes a record; one sign-in fails. Returns the record ids.
async fn log_scenario(app: &TestApp, t: &TenantFixture) -> Vec<String> {
    app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    let staff = crate::access::user_with_role(app, t, "Staff.Canary@acme.example.jp", "editor").await;
    let records = "/api/v1/collections/customers/records";
    let mut ids = Vec::new();
    for (token, name) in [(&t.admin_token, "記録 一"), (&staff, "記録 二"), (&t.admin_token, "記録 三")] {
        let (s, r) = app.post(records, token, json!({"name": name})).await;
        assert_eq!(s, StatusCode::CREATED, "{r}");
        ids.push(r["id"].as_str().unwrap().to_owned());
    }
    let (s, _) = app.patch(&format!("{records}/{}", ids[0]), &staff, json!({"name": "記録 一改"})).await;
    assert_eq!(s, StatusCode::OK);
    let wrong = json!({"tenant": t.slug, "email": "staff.canary@acme.example.jp", "password": "wrong-password"});
    app.send("POST", "/api/v1/sessions", None, Some(wrong)).await;
    ids
}

/// What a listing shows of each entry, without numbers and hashes (which differ between apps).
fn shown(entries: &serde_json::Value) -> Vec<(String, String, String, String)> {
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_owned();
    entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (s(&e["operation"]), s(&e["actor"]), s(&e["target"]), s(&e["outcome"])))
        .collect()
}

#[tokio::test]
async fn dat_2_tenant_audit_entries_are_sealed_and_the_log_verifies_before_and_after_the_tenants_keys_are_destroyed() {
    let app = spawn_encrypted_app().await;
    let t = app.tenant("acme").await;
    let ids = log_scenario(&app, &t).await;
    let tenant = tenant_id(&app, "acme").await;

    // Stored: every actor label, target and detail sealed, every target indexed; no email,
    // name or field label of the tenant in any column.
    let (rows, text) = raw_entries(&app.db_url, tenant.as_uuid()).await;
    assert!(rows.len() >= 8, "{rows:?}");
    for (label, target, detail, indexed) in &rows {
        assert!(label.starts_with('\u{1}'), "{label}");
        assert!(target.iter().chain(detail).all(|v| v.starts_with('\u{1}')), "{target:?} {detail:?}");
        assert_eq!(*indexed, target.is_some());
    }
    for plain in ["staff.canary", "Staff.Canary", "admin@acme", "customers", "氏名", &ids[0]] {
        assert!(!text.contains(plain), "{plain} stored in the clear");
    }
    // Read back opened, on this node and on another.
    for node in [&app, &app.another_node().await] {
        let (s, entries) = node.get("/api/v1/audit?operation=user.create", &t.admin_token).await;
        assert_eq!(s, StatusCode::OK, "{entries}");
        let target = entries[0]["target"].as_str().unwrap().to_lowercase();
        assert_eq!(target, "user:staff.canary@acme.example.jp");
        assert_eq!(entries[0]["actor"], t.admin_email.as_str());
    }

    // The chain and the tree commit to the stored bytes: they verify without the key, before
    // and after the tenant's keys are destroyed (a backup of the data restored afterwards).
    app.verify_audit().await;
    let vault = app.state.store.vault().unwrap();
    assert!(vault.destroy_tenant_keys(tenant).await.unwrap() >= 2);
    let node = app.another_node().await;
    node.verify_audit().await;
    let head = node.state.store.audit_tree_head(AuditScope::Tenant(tenant)).await.unwrap();
    assert_eq!(head.size, rows.len() as u64);
    // Reading them is refused with a clear error, never stored bytes shown as values.
    let refused = node.state.store.audit_entries(AuditScope::Tenant(tenant), &AuditFilter::default()).await;
    assert!(matches!(refused, Err(kura_store::StoreError::Unreadable(_))), "{refused:?}");
}

#[tokio::test]
async fn dat_3_the_log_filters_by_actor_and_target_on_sealed_entries_with_the_same_results_as_on_plain_ones() {
    let (plain, sealed) = (spawn_app().await, spawn_encrypted_app().await);
    let mut results = Vec::new();
    for app in [&plain, &sealed] {
        let t = app.tenant("acme").await;
        let ids = log_scenario(app, &t).await;
        let mut seen = Vec::new();
        // A part of the actor, in any case; with other conditions; paged.
        for query in [
            "actor=STAFF.canary",
            "actor=admin%40acme",
            "actor=canary&operation=record.update",
            "actor=nobody-at-all",
            "actor=staff&limit=2",
        ] {
            let (s, entries) = app.get(&format!("/api/v1/audit?{query}"), &t.admin_token).await;
            assert_eq!(s, StatusCode::OK, "{entries}");
            seen.push((query.to_owned(), shown(&entries)));
        }
        let (_, page) = app.get("/api/v1/audit?actor=staff&limit=2", &t.admin_token).await;
        let before = page[1]["seq"].as_i64().unwrap();
        let (_, older) = app.get(&format!("/api/v1/audit?actor=staff&limit=2&before={before}"), &t.admin_token).await;
        seen.push(("older".into(), shown(&older)));
        // A record's history: its target, exactly.
        let tenant = tenant_id(app, "acme").await;
        let target = format!("record:customers/{}", ids[0]);
        let filter = AuditFilter { target: Some(target.clone()), ..AuditFilter::default() };
        let history = app.state.store.audit_entries(AuditScope::Tenant(tenant), &filter).await.unwrap();
        assert_eq!(history.len(), 2, "created and updated: {history:?}");
        assert!(history.iter().all(|e| e.target.as_deref() == Some(target.as_str())));
        let count = app.state.store.audit_count(AuditScope::Tenant(tenant), &filter).await.unwrap();
        seen.push((
            format!("history {count}"),
            history
                .iter()
                .map(|e| (e.operation.as_str().into(), e.actor.label.clone(), String::new(), String::new()))
                .collect(),
        ));
        // The console's count of entries by the actor.
        let c = crate::console_client::Console::new(app);
        c.login("acme", &t.admin_email, PASSWORD).await;
        let page = c.get("/console/audit?actor=Staff.Canary").await.body;
        let by_staff = seen[0].1.len();
        assert!(
            page.contains(&format!("該当 {by_staff}件")) || page.contains(&format!("{by_staff} entries")),
            "{page}"
        );
        // Record ids differ between the applications: named by their order instead.
        for (_, entries) in &mut seen {
            for e in entries.iter_mut() {
                for (n, id) in ids.iter().enumerate() {
                    e.2 = e.2.replace(id.as_str(), &format!("#{n}"));
                }
            }
        }
        results.push(seen);
    }
    // The staff user's entries: sign-in, a record created, one changed, a failed sign-in.
    let by_staff = &results[1][0].1;
    let operations: Vec<&str> = by_staff.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(operations, ["user.login_failed", "record.update", "record.create", "user.login"], "{by_staff:?}");
    assert!(results[1][3].1.is_empty(), "nobody");
    assert_eq!(results[1][4].1.len(), 2, "limited");
    assert_eq!(results[1][5].1.len(), 2, "the older page");
    assert_ne!(results[1][4].1, results[1][5].1);
    assert_eq!(results[0], results[1], "plain and sealed logs filter alike");
}

// Refused decryptions (DAT-2, TEN-2) -----------------------------------------------------------

#[tokio::test]
async fn dat_2_an_edited_ciphertext_is_refused_counted_and_recorded_once_per_request_in_the_tenants_log() {
    let app = spawn_encrypted_app().await;
    let t = app.tenant("acme").await;
    app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    let records = "/api/v1/collections/customers/records";
    let (_, r) = app.post(records, &t.admin_token, json!({"name": "改ざん 検知"})).await;
    let id = r["id"].as_str().unwrap().to_owned();
    // One byte of the ciphertext changed, behind Kura's back.
    let (_, mut stored) = raw_records(&app.db_url).await.remove(0);
    let last = stored.len() - 1;
    stored[last] ^= 0x01;
    set_raw_data(&app.db_url, &id, &stored).await;

    let node = app.another_node().await;
    let metric = |text: &serde_json::Value| -> u64 {
        let text = text.as_str().unwrap_or("");
        let line = text.lines().find(|l| l.starts_with("kura_decryption_refusals_total")).unwrap_or("");
        line.rsplit(' ').next().and_then(|n| n.parse().ok()).unwrap_or(0)
    };
    assert_eq!(metric(&node.send("GET", "/metrics", None, None).await.1), 0);
    for n in 1..=2u64 {
        let (s, body) = node.get(&format!("{records}/{id}"), &t.admin_token).await;
        assert_eq!((s, body["code"].as_str()), (StatusCode::INTERNAL_SERVER_ERROR, Some("undecryptable")), "{body}");
        assert!(!body.to_string().contains("改ざん"), "{body}");
        assert_eq!(metric(&node.send("GET", "/metrics", None, None).await.1), n);
        let (s, entries) = node.get("/api/v1/audit?operation=crypto.open_refused", &t.admin_token).await;
        assert_eq!(s, StatusCode::OK, "{entries}");
        let entries = entries.as_array().unwrap();
        assert_eq!(entries.len() as u64, n, "one entry a refused request: {entries:?}");
        let e = &entries[0];
        assert_eq!((e["outcome"].as_str(), e["actor"].as_str()), (Some("failure"), Some(t.admin_email.as_str())));
        assert_eq!(e["target"], format!("GET {records}/{id}"));
        assert!(e["detail"].as_str().unwrap().contains(&id) && !e["detail"].to_string().contains("改ざん"), "{e}");
    }
    // The console's page for the record is an error page, recorded the same way.
    let c = crate::console_client::Console::new(&node);
    c.login("acme", &t.admin_email, PASSWORD).await;
    let page = c.get(&format!("/console/collections/customers/records/{id}")).await;
    assert_eq!(page.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!page.body.contains("改ざん"));
    let (_, entries) = node.get("/api/v1/audit?operation=crypto.open_refused", &t.admin_token).await;
    assert_eq!(entries.as_array().unwrap().len(), 3, "{entries}");
    node.verify_audit().await;
}

/// Records of `customers` in `t` named `names`, the first of them then altered behind Kura's
/// back (one byte of its ciphertext). Returns the record ids.
pub(crate) async fn records_with_one_altered(app: &TestApp, t: &TenantFixture, names: &[&str]) -> Vec<String> {
    app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    let mut ids = Vec::new();
    for name in names {
        let (s, r) = app.post("/api/v1/collections/customers/records", &t.admin_token, json!({"name": name})).await;
        assert_eq!(s, StatusCode::CREATED, "{r}");
        ids.push(r["id"].as_str().unwrap().to_owned());
    }
    let mut stored = raw_records(&app.db_url).await.into_iter().find(|(id, _)| id.to_string() == ids[0]).unwrap().1;
    let last = stored.len() - 1;
    stored[last] ^= 0x01;
    set_raw_data(&app.db_url, &ids[0], &stored).await;
    ids
}

/// `kura_decryption_refusals_total` of `app`.
pub(crate) async fn refusals_counted(app: &TestApp) -> u64 {
    let (_, text) = app.send("GET", "/metrics", None, None).await;
    let line =
        text.as_str().unwrap_or("").lines().find(|l| l.starts_with("kura_decryption_refusals_total")).unwrap_or("");
    line.rsplit(' ').next().and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// The tenant's `crypto.open_refused` entries, newest first.
async fn refused_entries(app: &TestApp, t: &TenantFixture) -> Vec<serde_json::Value> {
    let (s, entries) = app.get("/api/v1/audit?operation=crypto.open_refused", &t.admin_token).await;
    assert_eq!(s, StatusCode::OK, "{entries}");
    entries.as_array().unwrap().clone()
}

#[tokio::test]
async fn dat_2_a_value_that_does_not_open_in_the_key_rotation_job_is_recorded_in_the_tenants_log() {
    use kura_server::service::key_rotation::{self, Limits};
    let app = spawn_encrypted_app_with(|s| s.encryption.rotation_worker = Some(false)).await;
    let t = app.tenant("acme").await;
    let ids = records_with_one_altered(&app, &t, &["改ざん 回転", "無傷 一", "無傷 二"]).await;
    assert_eq!(refusals_counted(&app).await, 0);

    let (s, job) = app.post("/api/v1/keys/rotate", &t.admin_token, json!({})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{job}");
    key_rotation::run(&app.state, Limits::default()).await.unwrap();
    // The job ends as before: the other values re-sealed, the altered one left as it was.
    let (_, status) = app.get("/api/v1/keys", &t.admin_token).await;
    assert_eq!(status["rotations"][0]["status"], "done", "{status}");
    for (id, stored) in raw_records(&app.db_url).await {
        let version = u32::from_be_bytes([stored[1], stored[2], stored[3], stored[4]]);
        assert_eq!(version, if id.to_string() == ids[0] { 1 } else { 2 }, "{id}");
    }
    // Recorded once in the tenant's log, as the rotation's requester (its other entries are),
    // naming the record and never its value; and counted.
    let entries = refused_entries(&app, &t).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    let e = &entries[0];
    assert_eq!((e["outcome"].as_str(), e["actor"].as_str()), (Some("failure"), Some(t.admin_email.as_str())));
    assert_eq!(e["target"], format!("key-rotation:{}", job["id"].as_str().unwrap()));
    assert!(e["detail"].as_str().unwrap().contains(&ids[0]) && !e.to_string().contains("改ざん"), "{e}");
    assert_eq!(refusals_counted(&app).await, 1);
    app.verify_audit().await;
}

#[tokio::test]
async fn dat_2_a_value_that_does_not_open_in_an_export_job_is_recorded_in_the_tenants_log() {
    let without_workers = |s: &mut kura_server::Settings| {
        s.exports.worker = false;
        s.encryption.rotation_worker = Some(false);
    };
    let app = spawn_encrypted_app_with(without_workers).await;
    let t = app.tenant("acme").await;
    let ids = records_with_one_altered(&app, &t, &["改ざん 出力", "無傷"]).await;
    let body = json!({"kind": "collection", "collection": "customers", "format": "jsonl"});
    let (s, started) = app.post("/api/v1/exports", &t.admin_token, body).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{started}");
    let id = started["id"].as_str().unwrap().to_owned();

    // Built by a node that reads what the database holds (the first one keeps the records it
    // wrote in memory): the job fails as before, and the refusal is recorded.
    let node = app.another_node_with(without_workers).await;
    kura_server::service::transfer::worker::run_pass(&node.state).await.unwrap();
    let (_, job) = node.get(&format!("/api/v1/exports/{id}"), &t.admin_token).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert!(!job.to_string().contains("改ざん") && !job.to_string().contains(&ids[0]), "{job}");
    let entries = refused_entries(&node, &t).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    let e = &entries[0];
    assert_eq!((e["outcome"].as_str(), e["actor"].as_str()), (Some("failure"), Some(t.admin_email.as_str())));
    assert_eq!(e["target"], format!("export:{id}"));
    assert!(e["detail"].as_str().unwrap().contains(&ids[0]) && !e.to_string().contains("改ざん"), "{e}");
    assert_eq!(refusals_counted(&node).await, 1);
    node.verify_audit().await;
}

#[tokio::test]
async fn dat_3_entries_written_before_targets_were_indexed_are_still_found_by_their_target() {
    // A tenant's entries as an earlier release wrote them: plain, without a target index (the
    // index is not part of what the chain hashed, so taking it away leaves the chain intact).
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let ids = log_scenario(&app, &t).await;
    let tenant = tenant_id(&app, "acme").await;
    let target = format!("record:customers/{}", ids[0]);
    let filter = AuditFilter { target: Some(target.clone()), ..AuditFilter::default() };
    let scope = AuditScope::Tenant(tenant);
    let before = app.state.store.audit_entries(scope, &filter).await.unwrap();
    assert_eq!(before.len(), 2);
    const SQL: &str = "UPDATE audit_log SET target_index = NULL WHERE scope_id = $1";
    if app.db_url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&app.db_url).await.unwrap();
        sqlx::query(SQL).bind(tenant.as_uuid()).execute(&pool).await.unwrap();
    } else {
        let pool = sqlx::PgPool::connect(&app.db_url).await.unwrap();
        sqlx::query(SQL).bind(tenant.as_uuid()).execute(&pool).await.unwrap();
    }
    let after = app.state.store.audit_entries(scope, &filter).await.unwrap();
    assert_eq!(after, before);
    assert_eq!(app.state.store.audit_count(scope, &filter).await.unwrap(), 2);
    // A new entry for the same record is indexed, and the history shows both kinds.
    let (s, _) = app
        .patch(&format!("/api/v1/collections/customers/records/{}", ids[0]), &t.admin_token, json!({"name": "三度目"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let mixed = app.state.store.audit_entries(scope, &filter).await.unwrap();
    assert_eq!(mixed.len(), 3, "{mixed:?}");
    assert_eq!(&mixed[1..], &before[..]);
    app.verify_audit().await;
}
