//! Key rotation without downtime through the public surfaces (DAT-2): the API and the console
//! start it, the worker re-encrypts while records are written, a worker stopped half-way is
//! resumed by a new process on the same data, every endpoint checks its permission, and a
//! tenant opened before encryption was switched on is sealed by the same job.

use crate::console_client::Console;
use crate::encryption::raw_records;
use crate::helpers::*;
use kura_domain::AuditScope;
use kura_server::service::key_rotation::{self, Limits};
use kura_store::AuditFilter;
use reqwest::StatusCode;
use serde_json::json;

fn no_worker(s: &mut kura_server::Settings) {
    s.encryption.rotation_worker = Some(false);
}

fn versions(stored: &[(uuid::Uuid, Vec<u8>)]) -> Vec<u32> {
    stored.iter().map(|(_, d)| u32::from_be_bytes([d[1], d[2], d[3], d[4]])).collect()
}

const RECORDS: &str = "/api/v1/collections/customers/records";

#[tokio::test]
async fn dat_2_ten_2_a_rotation_through_the_api_resumes_on_a_new_process_while_records_are_written() {
    let app = spawn_encrypted_app_with(no_worker).await;
    let t = app.tenant("acme").await;
    let (s, body) = app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let mut ids = Vec::new();
    for i in 0..10 {
        let (s, r) = app.post(RECORDS, &t.admin_token, json!({"name": format!("顧客{i}")})).await;
        assert_eq!(s, StatusCode::CREATED, "{r}");
        ids.push(r["id"].as_str().unwrap().to_owned());
    }
    let (s, keys) = app.get("/api/v1/keys", &t.admin_token).await;
    assert_eq!(s, StatusCode::OK, "{keys}");
    assert_eq!(keys["current_version"], 1);

    let (s, job) = app.post("/api/v1/keys/rotate", &t.admin_token, json!({})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{job}");
    assert_eq!((job["kind"].as_str(), job["target_version"].as_u64()), (Some("rotate"), Some(2)));
    let (s, again) = app.post("/api/v1/keys/rotate", &t.admin_token, json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{again}");

    // The worker stops after three batches of two rows, with writes going on.
    let ran = key_rotation::run(&app.state, Limits { batch_rows: 2, max_batches: Some(3) }).await.unwrap();
    assert_eq!(ran, 3);
    let (_, r) = app.patch(&format!("{RECORDS}/{}", ids[9]), &t.admin_token, json!({"name": "更新後"})).await;
    assert_eq!(r["data"]["name"], "更新後");
    let (_, status) = app.get("/api/v1/keys", &t.admin_token).await;
    assert_eq!(status["rotations"][0]["status"], "running", "{status}");
    assert!(status["rotations"][0]["resealed"].as_u64().unwrap() > 0);

    // A new process on the same data takes the job over once the stopped worker's lease ends
    // (the first process stays up only because it owns the test's database).
    let node = app.another_node_with(no_worker).await;
    node.clock.advance(jiff::SignedDuration::from_secs(61));
    let writer = {
        let (client, address, token) = (node.client.clone(), node.address.clone(), t.admin_token.clone());
        tokio::spawn(async move {
            for i in 0..10 {
                let r = client
                    .post(format!("{address}{RECORDS}"))
                    .bearer_auth(&token)
                    .json(&json!({"name": format!("並行{i}")}))
                    .send()
                    .await
                    .unwrap();
                let status = r.status();
                assert_eq!(status, StatusCode::CREATED, "{}", r.text().await.unwrap());
            }
        })
    };
    key_rotation::run(&node.state, Limits { batch_rows: 2, max_batches: None }).await.unwrap();
    writer.await.unwrap();
    // Records written after the job's last pass are under the new version by themselves.
    assert!(versions(&raw_records(&node.db_url).await).iter().all(|&v| v == 2));

    let (_, status) = node.get("/api/v1/keys", &t.admin_token).await;
    assert_eq!(status["rotations"][0]["status"], "done", "{status}");
    assert_eq!(status["current_version"], 2);
    assert!(status["versions"][0]["retired_at"].is_string(), "v1 retired: {status}");
    assert!(status["versions"][1]["retired_at"].is_null());
    let (_, page) = node.get(RECORDS, &t.admin_token).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 20, "{page}");
    // Audited in the tenant's log and the platform's; the chains verify.
    let (_, log) = node.get("/api/v1/audit?operation=key.rotate_finish", &t.admin_token).await;
    assert_eq!(log.as_array().map(Vec::len), Some(1), "{log}");
    let platform = node.state.store.audit_entries(AuditScope::Platform, &AuditFilter::default()).await.unwrap();
    let ops: Vec<&str> = platform.iter().map(|e| e.operation.as_str()).collect();
    assert!(ops.contains(&"key.rotate_start") && ops.contains(&"key.rotate_finish"), "{ops:?}");
    node.verify_audit().await;
}

#[tokio::test]
async fn dat_2_keys_need_settings_manage_and_the_console_confirms_before_rotating() {
    let app = spawn_encrypted_app_with(no_worker).await;
    let t = app.tenant("acme").await;
    let (s, _) = app
        .post(
            "/api/v1/users",
            &t.admin_token,
            json!({"email": "editor@acme.example.jp", "display_name": "編集者", "role": "editor", "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let editor = app.login("acme", "editor@acme.example.jp", PASSWORD).await;
    let (s, _) = app.get("/api/v1/keys", &editor).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app.post("/api/v1/keys/rotate", &editor, json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(
        app.state.store.key_rotations(tenant_of(&app, "acme").await, 5).await.unwrap().is_empty(),
        "nothing changed"
    );

    let c = Console::new(&app);
    c.login("acme", &t.admin_email, PASSWORD).await;
    let en = c.get_in("/console/settings/keys", "en").await;
    assert_eq!(en.status, StatusCode::OK);
    assert!(en.body.contains("Encrypts everything saved from now on"), "{}", en.body);
    let ja = c.get_in("/console/settings/keys/rotate", "ja").await;
    assert!(ja.body.contains("データ鍵の更新") && ja.body.contains("操作ログの記録は再暗号化しません"), "{}", ja.body);
    let started = c.submit("/console/settings/keys/rotate", "/console/settings/keys/rotate", &[]).await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
    let progress = c.get_in("/console/settings/keys", "ja").await;
    assert!(progress.body.contains("再暗号化中"), "{}", progress.body);
    assert!(progress.body.contains("自動で更新"), "it says it refreshes while it runs");
    key_rotation::run(&app.state, Limits::default()).await.unwrap();
    let done = c.get_in("/console/settings/keys", "en").await;
    assert!(done.body.contains("Retired"), "{}", done.body);

    // The operator console shows every tenant's key and rotates one after a confirmation.
    app.operator("ops@kura.example.jp").await;
    let op = Console::new(&app);
    op.operator_login(&app, "ops@kura.example.jp", PASSWORD, None).await;
    let overview = op.get_in("/operator/keys", "en").await;
    assert!(overview.body.contains("acme") && overview.body.contains("v2"), "{}", overview.body);
    let id = tenant_of(&app, "acme").await;
    let confirm = format!("/operator/tenants/{id}/keys/rotate");
    let rotated = op.submit(&confirm, &confirm, &[]).await;
    assert_eq!(rotated.status, StatusCode::SEE_OTHER, "{}", rotated.body);
    let (_, status) = app.get("/api/v1/keys", &t.admin_token).await;
    assert_eq!(status["current_version"], 3);
}

async fn tenant_of(app: &TestApp, slug: &str) -> kura_domain::TenantId {
    app.state.store.tenant_by_slug(&kura_domain::Slug::parse(slug).unwrap()).await.unwrap().unwrap().id
}

#[tokio::test]
async fn dat_2_a_tenant_opened_before_encryption_is_sealed_by_the_job_and_still_reads() {
    // Encryption off: the tenant's records are stored plain.
    let plain = spawn_app().await;
    let t = plain.tenant("acme").await;
    let (s, _) = plain.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    assert_eq!(s, StatusCode::CREATED);
    for i in 0..5 {
        let (s, _) = plain.post(RECORDS, &t.admin_token, json!({"name": format!("平文カナリア{i}")})).await;
        assert_eq!(s, StatusCode::CREATED);
    }
    assert!(raw_records(&plain.db_url).await.iter().all(|(_, d)| d[0] == b'{'));

    // Encryption switched on: a node with a keystore and a master key on the same database.
    let keys = tempfile::tempdir().unwrap();
    let master = keys.path().join("master.key");
    kura_crypto::vault::MasterKey::create_file(&master).unwrap();
    let keystore = format!("sqlite://{}", keys.path().join("keystore.db").display());
    let node = plain
        .another_node_with(|s| {
            no_worker(s);
            s.encryption.enabled = Some(true);
            s.encryption.keystore_url = kura_server::settings::Secret::new(keystore.clone());
            s.encryption.master_key_file = Some(master.clone());
        })
        .await;
    let (_, before) = node.get("/api/v1/keys", &t.admin_token).await;
    assert!(before["current_version"].is_null(), "{before}");
    let (s, job) = node.post("/api/v1/keys/rotate", &t.admin_token, json!({})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{job}");
    assert_eq!(job["kind"], "seal");
    key_rotation::run(&node.state, Limits::default()).await.unwrap();

    let stored = raw_records(&node.db_url).await;
    assert!(stored.iter().all(|(_, d)| d[0] == 1), "every record sealed");
    assert!(!stored.iter().any(|(_, d)| d.windows("カナリア".len()).any(|w| w == "カナリア".as_bytes())));
    let (_, page) = node.get(RECORDS, &t.admin_token).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 5, "{page}");
    let (_, status) = node.get("/api/v1/keys", &t.admin_token).await;
    assert_eq!(
        (status["current_version"].as_u64(), status["rotations"][0]["status"].as_str()),
        (Some(1), Some("done"))
    );
}
