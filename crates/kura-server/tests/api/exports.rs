//! Exports built in the background (DAT-5): a job asked for over the API or the console, built
//! by a worker with its progress, downloaded once through a token, expired by the clock; who
//! may start, see and download one; failures and restarts.
//!
//! Most tests turn the node's own worker off and run its passes themselves
//! (`worker::run_pass`), so that what a pass does is seen step by step; one test leaves the
//! worker on and waits for it.

use crate::archive::{checked_manifest, unzip};
use crate::console_client::Console;
use crate::helpers::{PASSWORD, TenantFixture, TestApp, spawn_app, spawn_app_with};
use crate::transfer::{api_key, audit, download, notes};
use jiff::SignedDuration;
use kura_domain::Clock as _;
use kura_server::service::transfer::worker::run_pass;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// An application whose node builds no exports by itself.
async fn spawn_without_worker() -> TestApp {
    spawn_app_with(|s| s.exports.worker = false).await
}

/// The files of the node's export directory.
fn export_files(app: &TestApp) -> Vec<std::path::PathBuf> {
    let dir = app.state.settings.export_dir();
    let mut files: Vec<_> =
        std::fs::read_dir(&dir).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    files.sort();
    files
}

async fn start(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    app.post("/api/v1/exports", token, body).await
}

/// Waits (up to 30 s) for the node's own worker to finish the job.
async fn wait_until_ready(app: &TestApp, token: &str, id: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (s, job) = app.get(&format!("/api/v1/exports/{id}"), token).await;
        assert_eq!(s, StatusCode::OK, "{job}");
        if job["status"] != "queued" && job["status"] != "running" {
            return job;
        }
        assert!(std::time::Instant::now() < deadline, "the worker did not finish the job: {job}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn dat_5_a_background_archive_is_built_with_progress_downloaded_once_and_its_file_deleted() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    notes(&app, &t, "notes").await;
    notes(&app, &t, "crm").await;

    let (s, started) = start(&app, &t.admin_token, json!({"kind": "archive"})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{started}");
    let id = started["id"].as_str().unwrap().to_owned();
    assert_eq!(started["status_url"], format!("/api/v1/exports/{id}"));
    let token = started["download_token"].as_str().unwrap().to_owned();
    assert!(token.len() >= 43, "a 256-bit token");
    assert!(["queued", "running", "ready"].contains(&started["job"]["status"].as_str().unwrap()), "{started}");

    // The node's own worker builds it.
    let job = wait_until_ready(&app, &t.admin_token, &id).await;
    assert_eq!(job["status"], "ready", "{job}");
    assert_eq!(job["rows_total"], 10, "the records of both collections: {job}");
    assert_eq!(job["rows_done"], 10, "{job}");
    assert_eq!(job["download_url"], format!("/api/v1/exports/{id}/download"));
    let expires: jiff::Timestamp = job["expires_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires, app.clock.now() + SignedDuration::from_hours(24), "24 hours by default");
    let raw = app
        .state
        .store
        .export_job(kura_domain::TenantId::from_uuid(tenant_id(&app, "acme").await), id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_ne!(raw.token_hash.as_deref(), Some(token.as_str()), "only the token's digest is kept");
    assert_eq!(raw.token_hash.as_deref().map(str::len), Some(64));

    // The finished file is the only one in the directory, private to Kura's user.
    let files = export_files(&app);
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].to_string_lossy().ends_with(&format!("{id}.zip")), "{files:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the file is the owner's only");
        let dir_mode = std::fs::metadata(app.state.settings.export_dir()).unwrap().permissions().mode() & 0o777;
        assert_eq!(dir_mode, 0o700, "the directory is the owner's only");
    }

    // A wrong token is refused and takes nothing.
    let (s, body) = app.get(&format!("/api/v1/exports/{id}/download?token=wrong"), &t.admin_token).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let (s, kind, bytes) =
        download(&app, &format!("/api/v1/exports/{id}/download?token={token}"), &t.admin_token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(kind, "application/zip");
    let files = unzip(&bytes);
    let manifest = checked_manifest(&files);
    assert_eq!(manifest["tenant"], "acme");
    assert!(files.contains_key("records/crm.csv") && files.contains_key("records/notes.jsonl"));
    assert!(export_files(&app).is_empty(), "the file is deleted once handed over");

    // Once only.
    let (s, body) = app.get(&format!("/api/v1/exports/{id}/download?token={token}"), &t.admin_token).await;
    assert_eq!(s, StatusCode::GONE, "{body}");
    assert_eq!(body["code"], "gone");
    let (s, job) = app.get(&format!("/api/v1/exports/{id}"), &t.admin_token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(job["status"], "downloaded");
    assert!(job["download_url"].is_null(), "{job}");

    for (operation, n) in
        [("export.job_start", 1), ("export.job_finish", 1), ("export.download", 1), ("tenant.export", 1)]
    {
        let entries = audit(&app, &t, operation).await;
        assert_eq!(entries.len(), n, "{operation}: {entries:?}");
        if operation != "tenant.export" {
            assert_eq!(entries[0]["target"], format!("export:{id}"), "{operation}");
        }
    }
    let finished = &audit(&app, &t, "export.job_finish").await[0];
    assert!(finished["detail"].as_str().unwrap().contains("kind=archive rows=10 "), "{finished}");
    let (s, list) = app.get("/api/v1/exports", &t.admin_token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
    app.verify_audit().await;
}

/// The same administrator signed in again (after the clock moved past their session's end).
async fn again(app: &TestApp, t: &TenantFixture) -> TenantFixture {
    let admin_token = app.login(&t.slug, &t.admin_email, PASSWORD).await;
    TenantFixture { admin_token, ..t.clone() }
}

/// A tenant's id, read through the store.
async fn tenant_id(app: &TestApp, slug: &str) -> uuid::Uuid {
    let slug = kura_domain::Slug::parse(slug).unwrap();
    app.state.store.tenant_by_slug(&slug).await.unwrap().unwrap().id.as_uuid()
}

#[tokio::test]
async fn dat_5_an_unused_download_link_expires_by_the_clock_and_its_file_is_deleted() {
    let app = spawn_without_worker().await;
    let t = app.tenant("acme").await;
    notes(&app, &t, "notes").await;
    let (s, started) =
        start(&app, &t.admin_token, json!({"kind": "collection", "collection": "notes", "format": "jsonl"})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{started}");
    let id = started["id"].as_str().unwrap().to_owned();
    let token = started["download_token"].as_str().unwrap().to_owned();
    let (_, job) = app.get(&format!("/api/v1/exports/{id}"), &t.admin_token).await;
    assert_eq!(job["status"], "queued", "no worker on this node: {job}");
    assert_eq!(job["rows_done"], 0);
    let (s, body) = app.get(&format!("/api/v1/exports/{id}/download?token={token}"), &t.admin_token).await;
    assert_eq!(s, StatusCode::CONFLICT, "not ready yet: {body}");

    assert_eq!(run_pass(&app.state).await.unwrap(), 1);
    let (_, job) = app.get(&format!("/api/v1/exports/{id}"), &t.admin_token).await;
    assert_eq!(job["status"], "ready", "{job}");
    assert_eq!((job["rows_done"].as_u64(), job["rows_total"].as_u64()), (Some(5), Some(5)));
    assert!(job["file_name"].as_str().unwrap().starts_with("notes-"), "{job}");
    assert_eq!(export_files(&app).len(), 1);
    assert_eq!(audit(&app, &t, "record.export").await.len(), 1, "the export itself, as every export");

    // Still there a minute before the end; gone after it, by the worker's next pass.
    app.clock.advance(SignedDuration::from_hours(24) - SignedDuration::from_mins(1));
    run_pass(&app.state).await.unwrap();
    assert_eq!(export_files(&app).len(), 1);
    // The administrator's session has ended by now: signed in again, as the same person.
    let t = again(&app, &t).await;
    assert!(audit(&app, &t, "export.expire").await.is_empty());
    app.clock.advance(SignedDuration::from_mins(2));
    run_pass(&app.state).await.unwrap();
    let t = again(&app, &t).await;
    assert!(export_files(&app).is_empty(), "the expired file is deleted");
    let (_, job) = app.get(&format!("/api/v1/exports/{id}"), &t.admin_token).await;
    assert_eq!(job["status"], "expired");
    let (s, body) = app.get(&format!("/api/v1/exports/{id}/download?token={token}"), &t.admin_token).await;
    assert_eq!(s, StatusCode::GONE, "{body}");
    let expired = audit(&app, &t, "export.expire").await;
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0]["target"], format!("export:{id}"));
    assert!(audit(&app, &t, "export.download").await.is_empty());
    app.verify_audit().await;
}

#[tokio::test]
async fn dat_5_an_expired_link_is_refused_and_its_file_deleted_even_before_the_worker_passes() {
    let app = spawn_without_worker().await;
    let t = app.tenant("acme").await;
    notes(&app, &t, "notes").await;
    let (_, started) = start(&app, &t.admin_token, json!({"kind": "collection", "collection": "notes"})).await;
    let id = started["id"].as_str().unwrap().to_owned();
    let token = started["download_token"].as_str().unwrap().to_owned();
    run_pass(&app.state).await.unwrap();
    app.clock.advance(SignedDuration::from_hours(25));
    let t = again(&app, &t).await;
    let (s, body) = app.get(&format!("/api/v1/exports/{id}/download?token={token}"), &t.admin_token).await;
    assert_eq!(s, StatusCode::GONE, "{body}");
    assert!(export_files(&app).is_empty());
    assert_eq!(audit(&app, &t, "export.expire").await.len(), 1);
}

#[tokio::test]
async fn dat_5_background_exports_check_permissions_and_stay_within_their_tenant() {
    let app = spawn_without_worker().await;
    let t = app.tenant("acme").await;
    notes(&app, &t, "notes").await;
    let other = app.tenant("globex").await;
    let reader = api_key(&app, &t, "reader", &["records.read"]).await;
    let exporter = api_key(&app, &t, "exporter", &["records.read", "records.export"]).await;
    let colleague = api_key(&app, &t, "colleague", &["records.read", "records.export", "pii.read"]).await;

    let (s, body) = start(&app, &reader, json!({"kind": "collection", "collection": "notes"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let (s, body) = start(&app, &exporter, json!({"kind": "archive"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "the archive needs every administrator permission: {body}");
    assert!(body["detail"].as_str().unwrap().contains("users.manage"), "{body}");
    assert!(audit(&app, &t, "export.job_start").await.is_empty(), "a refusal queues nothing");

    let (s, started) = start(&app, &exporter, json!({"kind": "collection", "collection": "notes"})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{started}");
    let id = started["id"].as_str().unwrap().to_owned();
    let token = started["download_token"].as_str().unwrap().to_owned();
    run_pass(&app.state).await.unwrap();
    let status = format!("/api/v1/exports/{id}");
    let file = format!("/api/v1/exports/{id}/download?token={token}");

    // Another tenant, even its administrator, cannot see it or take its file.
    for path in [&status, &file] {
        let (s, body) = app.get(path, &other.admin_token).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    let (_, list) = app.get("/api/v1/exports", &other.admin_token).await;
    assert_eq!(list, json!([]));
    // In the tenant: someone else without the administrator's permissions does not see it; the
    // administrator sees it but cannot take its file; no one lacking records.export reaches it.
    let (s, _) = app.get(&status, &colleague).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app.get(&file, &colleague).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app.get(&status, &reader).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, job) = app.get(&status, &t.admin_token).await;
    assert_eq!(s, StatusCode::OK, "{job}");
    assert!(job["download_url"].is_null(), "the link is the requester's: {job}");
    let (s, body) = app.get(&file, &t.admin_token).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("only the person who started"), "{body}");

    // The requester's file was built with the requester's rights: personal information masked.
    let (s, _, bytes) = download(&app, &file, &exporter).await;
    assert_eq!(s, StatusCode::OK);
    let csv = String::from_utf8(bytes).unwrap();
    assert!(csv.contains("••••••") && !csv.contains("佐藤 花子"), "{csv}");
    assert!(audit(&app, &t, "export.download").await.len() == 1);
    assert!(audit(&app, &other, "export.download").await.is_empty());
}

#[tokio::test]
async fn dat_5_a_requester_who_loses_the_permission_gets_no_file() {
    let app = spawn_without_worker().await;
    let t = app.tenant("acme").await;
    notes(&app, &t, "notes").await;
    let exporter = api_key(&app, &t, "exporter", &["records.read", "records.export"]).await;
    let (_, started) = start(&app, &exporter, json!({"kind": "collection", "collection": "notes"})).await;
    let id = started["id"].as_str().unwrap().to_owned();
    // The role loses records.export before the worker builds the file.
    let (s, roles) = app.get("/api/v1/roles", &t.admin_token).await;
    assert_eq!(s, StatusCode::OK);
    let role =
        roles.as_array().unwrap().iter().find(|r| r["key"] == "exporter").unwrap()["id"].as_str().unwrap().to_owned();
    let (s, body) =
        app.patch(&format!("/api/v1/roles/{role}"), &t.admin_token, json!({"permissions": ["records.read"]})).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    run_pass(&app.state).await.unwrap();
    let (_, job) = app.get(&format!("/api/v1/exports/{id}"), &t.admin_token).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert!(job["error"].as_str().unwrap().contains("records.export"), "{job}");
    assert!(export_files(&app).is_empty());
    assert!(audit(&app, &t, "record.export").await.is_empty(), "nothing was exported");
}

#[tokio::test]
async fn dat_5_a_failed_export_records_why_and_never_offers_a_partial_file() {
    let app = spawn_without_worker().await;
    let t = app.tenant("acme").await;
    let created = notes(&app, &t, "notes").await;
    let record = created[1]["id"].as_str().unwrap();
    let (s, body) = app
        .patch(&format!("/api/v1/collections/notes/records/{record}"), &t.admin_token, json!({"body": "寿司🍣"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, started) = start(
        &app,
        &t.admin_token,
        json!({"kind": "collection", "collection": "notes", "format": "csv-sjis", "header": "key"}),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{started}");
    let id = started["id"].as_str().unwrap().to_owned();
    let token = started["download_token"].as_str().unwrap().to_owned();
    run_pass(&app.state).await.unwrap();
    let (_, job) = app.get(&format!("/api/v1/exports/{id}"), &t.admin_token).await;
    assert_eq!(job["status"], "failed", "{job}");
    let error = job["error"].as_str().unwrap();
    assert!(error.contains(&format!("record {record}/body")) && error.contains("🍣"), "{error}");
    assert!(export_files(&app).is_empty(), "no part file is left: {:?}", export_files(&app));
    let (s, body) = app.get(&format!("/api/v1/exports/{id}/download?token={token}"), &t.admin_token).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    let failed = audit(&app, &t, "export.job_fail").await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["outcome"], "failure");
    assert!(audit(&app, &t, "export.job_finish").await.is_empty());
    app.verify_audit().await;
}

#[tokio::test]
async fn dat_5_a_job_whose_lease_expired_is_taken_again_and_finished() {
    let app = spawn_without_worker().await;
    let t = app.tenant("acme").await;
    notes(&app, &t, "notes").await;
    let (_, started) = start(&app, &t.admin_token, json!({"kind": "archive"})).await;
    let id = started["id"].as_str().unwrap().to_owned();
    // A node claims the job and stops before building it (its part file stays behind).
    let lease = SignedDuration::from_secs(i64::from(app.state.settings.exports.lease_seconds));
    let gone_node = uuid::Uuid::now_v7();
    let claimed = app.state.store.claim_export_job(gone_node, lease).await.unwrap().expect("the job");
    assert_eq!(claimed.id.to_string(), id);
    let dir = app.state.settings.export_dir();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{id}.zip.part")), b"half a file").unwrap();

    // While the lease holds, no other worker takes it.
    assert_eq!(run_pass(&app.state).await.unwrap(), 0);
    let (_, job) = app.get(&format!("/api/v1/exports/{id}"), &t.admin_token).await;
    assert_eq!(job["status"], "running");
    assert!(app.state.store.claim_export_job(uuid::Uuid::now_v7(), lease).await.unwrap().is_none());

    // Once it ends, the job is built again from the start.
    app.clock.advance(lease + SignedDuration::from_secs(1));
    assert_eq!(run_pass(&app.state).await.unwrap(), 1);
    let (_, job) = app.get(&format!("/api/v1/exports/{id}"), &t.admin_token).await;
    assert_eq!(job["status"], "ready", "{job}");
    let files = export_files(&app);
    assert_eq!(files.len(), 1, "the stale part file is gone: {files:?}");
    let (s, _, bytes) = download(
        &app,
        &format!("/api/v1/exports/{id}/download?token={}", started["download_token"].as_str().unwrap()),
        &t.admin_token,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    checked_manifest(&unzip(&bytes));
}

#[tokio::test]
async fn dat_5_bad_export_requests_get_a_clear_4xx_and_queue_nothing() {
    let app = spawn_without_worker().await;
    let t = app.tenant("acme").await;
    notes(&app, &t, "notes").await;
    let bad = [
        (json!({"kind": "everything"}), StatusCode::BAD_REQUEST),
        (json!({}), StatusCode::BAD_REQUEST),
        (json!({"kind": "archive", "collection": "notes"}), StatusCode::BAD_REQUEST),
        (json!({"kind": "archive", "format": "jsonl"}), StatusCode::BAD_REQUEST),
        (json!({"kind": "collection"}), StatusCode::BAD_REQUEST),
        (json!({"kind": "collection", "collection": "nothing_here"}), StatusCode::NOT_FOUND),
        (json!({"kind": "collection", "collection": "notes", "format": "xlsx"}), StatusCode::BAD_REQUEST),
        (json!({"kind": "collection", "collection": "notes", "extra": 1}), StatusCode::BAD_REQUEST),
    ];
    for (body, expected) in bad {
        let (s, problem) = start(&app, &t.admin_token, body.clone()).await;
        assert!(s.is_client_error(), "{body}: {s} {problem}");
        assert_eq!(s, expected, "{body}: {problem}");
        assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()), "{problem}");
    }
    let resp = app
        .client
        .post(format!("{}/api/v1/exports", app.address))
        .bearer_auth(&t.admin_token)
        .header("content-type", "text/plain")
        .body("kind=archive")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    for path in ["/api/v1/exports/not-a-uuid", "/api/v1/exports/not-a-uuid/download?token=x"] {
        let (s, body) = app.get(path, &t.admin_token).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}: {body}");
    }
    let unknown = uuid::Uuid::now_v7();
    let (s, _) = app.get(&format!("/api/v1/exports/{unknown}"), &t.admin_token).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // A real job: the download needs its token.
    let (_, started) = start(&app, &t.admin_token, json!({"kind": "collection", "collection": "notes"})).await;
    let id = started["id"].as_str().unwrap();
    run_pass(&app.state).await.unwrap();
    let (s, body) = app.get(&format!("/api/v1/exports/{id}/download"), &t.admin_token).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let (s, body) = app.get(&format!("/api/v1/exports/{id}/download?token="), &t.admin_token).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(audit(&app, &t, "export.job_start").await.len(), 1, "only the real job was queued");
    assert!(audit(&app, &t, "export.download").await.is_empty());
    assert_eq!(export_files(&app).len(), 1, "the file is still offered");

    // Three jobs waiting at once are the most one requester may have.
    for _ in 0..3 {
        let (s, body) = start(&app, &t.admin_token, json!({"kind": "collection", "collection": "notes"})).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    }
    let (s, body) = start(&app, &t.admin_token, json!({"kind": "collection", "collection": "notes"})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
}

#[tokio::test]
async fn dat_5_console_prepares_the_archive_in_the_background_and_downloads_it_once_in_japanese() {
    let app = spawn_without_worker().await;
    let t = app.tenant("acme").await;
    notes(&app, &t, "notes").await;
    let console = Console::new(&app);
    console.login("acme", &t.admin_email, PASSWORD).await;
    console.get("/console/lang?to=ja&back=/console").await;

    let empty = console.get("/console/exports").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(empty.body.contains("まだエクスポートはありません"), "an empty state: {}", empty.body);

    let form = console.get("/console/export").await;
    assert!(
        form.body.contains("action=\"/console/exports\"") && form.body.contains("バックグラウンドで作成"),
        "{}",
        form.body
    );
    let started = console.submit("/console/export", "/console/exports", &[("kind", "archive")]).await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
    let path = started.location.unwrap();
    assert!(path.starts_with("/console/exports/"), "{path}");

    let resp = console.client.get(format!("{}{path}", app.address)).send().await.unwrap();
    assert_eq!(resp.headers()["refresh"], "3", "the page refreshes itself while the file is built");
    let waiting = resp.text().await.unwrap();
    assert!(waiting.contains("開始待ち") && waiting.contains("自動で更新"), "{waiting}");
    assert!(!waiting.contains("<script"), "no script");

    run_pass(&app.state).await.unwrap();
    let resp = console.client.get(format!("{}{path}", app.address)).send().await.unwrap();
    assert!(resp.headers().get("refresh").is_none(), "a finished job's page stays still");
    let ready = resp.text().await.unwrap();
    assert!(ready.contains("ダウンロードできます") && ready.contains("1回だけ"), "{ready}");
    assert!(ready.contains(&format!("href=\"{path}/file\"")), "{ready}");
    assert!(ready.contains("JST"), "times in the tenant's zone: {ready}");
    let list = console.get("/console/exports").await;
    assert!(list.body.contains(&path) && list.body.contains("全データ（ZIP）"), "{}", list.body);

    // Another browser of the same person has no link.
    let other = Console::new(&app);
    other.login("acme", &t.admin_email, PASSWORD).await;
    other.get("/console/lang?to=ja&back=/console").await;
    let page = other.get(&path).await;
    assert!(page.body.contains("開始したブラウザー"), "{}", page.body);
    let refused = other.get(&format!("{path}/file")).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let resp = console.client.get(format!("{}{path}/file", app.address)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-disposition"].to_str().unwrap().contains("kura-acme-"));
    checked_manifest(&unzip(&resp.bytes().await.unwrap()));
    let again = console.get(&format!("{path}/file")).await;
    assert_eq!(again.status, StatusCode::GONE);
    assert!(again.body.contains("ご利用いただけません"), "{}", again.body);
    let done = console.get(&path).await;
    assert!(done.body.contains("ダウンロード済み"), "{}", done.body);
    assert_eq!(audit(&app, &t, "export.download").await.len(), 1);
}

#[tokio::test]
async fn dat_5_console_prepares_a_collection_in_the_background_in_english() {
    let app = spawn_without_worker().await;
    let t = app.tenant("acme").await;
    notes(&app, &t, "notes").await;
    let console = Console::new(&app);
    console.login("acme", &t.admin_email, PASSWORD).await;
    console.get("/console/lang?to=en&back=/console").await;
    let form = console.get("/console/collections/notes/export").await;
    assert!(form.body.contains("Prepare in the background"), "{}", form.body);
    let started = console
        .submit(
            "/console/collections/notes/export",
            "/console/exports",
            &[("kind", "collection"), ("collection", "notes"), ("format", "csv-utf8"), ("header", "key")],
        )
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
    let path = started.location.unwrap();
    run_pass(&app.state).await.unwrap();
    let ready = console.get(&path).await;
    assert!(ready.body.contains("Ready to download") && ready.body.contains("5 of 5 records"), "{}", ready.body);
    let resp = console.client.get(format!("{}{path}/file", app.address)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = resp.text().await.unwrap();
    assert!(text.starts_with("title,body,owner"), "CSV in UTF-8 with keys as column names: {text}");
    let bad = console
        .submit(
            "/console/exports",
            "/console/exports",
            &[("kind", "collection"), ("collection", "notes"), ("format", "xlsx")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
}

#[tokio::test]
async fn dat_5_background_exports_work_with_encryption_at_rest_and_name_their_requester() {
    let app = crate::helpers::spawn_encrypted_app_with(|s| s.exports.worker = false).await;
    let t = app.tenant("acme").await;
    notes(&app, &t, "notes").await;
    let (s, started) = start(&app, &t.admin_token, json!({"kind": "archive"})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{started}");
    assert_eq!(started["job"]["requested_by"], t.admin_email.as_str());
    let id = started["id"].as_str().unwrap().to_owned();
    run_pass(&app.state).await.unwrap();
    let (_, job) = app.get(&format!("/api/v1/exports/{id}"), &t.admin_token).await;
    assert_eq!(job["status"], "ready", "{job}");
    assert_eq!(job["requested_by"], t.admin_email.as_str(), "the sealed label opens");
    let token = started["download_token"].as_str().unwrap();
    let (s, _, bytes) = download(&app, &format!("/api/v1/exports/{id}/download?token={token}"), &t.admin_token).await;
    assert_eq!(s, StatusCode::OK);
    let files = unzip(&bytes);
    checked_manifest(&files);
    let csv = String::from_utf8(files["records/notes.csv"].clone()).unwrap();
    assert!(csv.contains("佐藤 花子"), "the records decrypted for the file");
    app.verify_audit().await;
}
