//! LOG-1 and LOG-3: the tenant administrator exports a time range of the operation log from the
//! API and the console, as CSV (with and without a byte order mark) and JSON, with times in the
//! tenant's zone, and the file verifies offline against the log's public key, sealed entries
//! included; every export is itself in the log; bad requests change nothing.

use crate::browser::Browser;
use crate::console_client::*;
use crate::helpers::*;
use kura_domain::{AuditScope, Operation};
use kura_server::audit_export::{FindingKind, verify};
use kura_store::AuditFilter;
use reqwest::StatusCode;
use serde_json::json;

/// The raw body, status and headers of an authenticated GET.
async fn fetch(app: &TestApp, path: &str, token: &str) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let resp = app.client.get(format!("{}{path}", app.address)).bearer_auth(token).send().await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    (status, headers, resp.bytes().await.unwrap().to_vec())
}

async fn exports(app: &TestApp, slug: &str) -> usize {
    let tenant = app.state.store.tenant_by_slug(&kura_domain::Slug::parse(slug).unwrap()).await.unwrap().unwrap();
    let filter = AuditFilter { operation: Some(Operation::AuditExport), ..AuditFilter::default() };
    app.state.store.audit_entries(AuditScope::Tenant(tenant.id), &filter).await.unwrap().len()
}

const RANGE: &str = "from=2026-11-01T00:00:00%2B09:00&to=2026-12-01T00:00:00%2B09:00";

#[tokio::test]
async fn log_1_tenant_admin_exports_the_log_as_csv_and_json_that_verify_offline() {
    // Encryption at rest on: actor labels, targets and details are sealed in the database, so
    // the leaves hash ciphertext while the file shows the opened values.
    let app = spawn_encrypted_app().await;
    let t = app.tenant("acme").await;
    let (s, _) = app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    assert_eq!(s, StatusCode::CREATED);
    for name in ["山田 太郎", "=SUM(A1)"] {
        let (s, body) = app.post("/api/v1/collections/customers/records", &t.admin_token, json!({"name": name})).await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
    }
    let (_, cp) = app.get("/api/v1/audit/checkpoint", &t.admin_token).await;
    let key = cp["public_key"].as_str().unwrap().to_owned();

    for (format, bom, ctype) in
        [("csv", true, "text/csv"), ("csv-utf8", false, "text/csv"), ("json", false, "application/json")]
    {
        let (s, headers, bytes) =
            fetch(&app, &format!("/api/v1/audit/export?{RANGE}&format={format}"), &t.admin_token).await;
        assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&bytes));
        assert!(headers[reqwest::header::CONTENT_TYPE].to_str().unwrap().starts_with(ctype));
        let disposition = headers[reqwest::header::CONTENT_DISPOSITION].to_str().unwrap();
        assert!(disposition.contains("operation-log-acme-20261101-20261201"), "{disposition}");
        assert_eq!(bytes.starts_with("\u{feff}".as_bytes()), bom, "{format}");
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains("2026-11-22T09:00:00+09:00"), "times in Tokyo with their offset: {format}");
        assert!(text.contains(&t.admin_email), "sealed actor labels are opened for people: {format}");
        assert!(text.contains("record.create"));
        let v = verify(&bytes, Some(&key)).unwrap_or_else(|f| panic!("{format}: {f:?}"));
        let (first, last) = v.entries.unwrap();
        assert_eq!(first, 1);
        assert!(v.rows as i64 == last && v.checkpoint_size >= last as u64);
    }
    // A formula is neutralised in CSV, as in every CSV export, and the file still verifies.
    let (_, _, bytes) = fetch(&app, &format!("/api/v1/audit/export?{RANGE}"), &t.admin_token).await;
    let text = String::from_utf8(bytes).unwrap();
    assert_eq!(exports(&app, "acme").await, 4, "every export is in the log");
    // The earlier exports are in the later file.
    assert!(text.contains("audit.export"), "{text}");

    // An edited cell is named by its entry.
    let line = text.split("\r\n").find(|l| l.starts_with("3,")).unwrap();
    let edited = text.replacen(line, &line.replacen("success", "failure", 1), 1);
    let found = verify(edited.as_bytes(), Some(&key)).unwrap_err();
    assert_eq!(found.iter().map(|f| (f.kind, f.seq)).collect::<Vec<_>>(), [(FindingKind::EditedEntry, Some(3))]);

    // A range with nothing in it exports an empty file that verifies too.
    let empty = "from=2026-10-01T00:00:00%2B09:00&to=2026-10-02T00:00:00%2B09:00&format=json";
    let (s, _, bytes) = fetch(&app, &format!("/api/v1/audit/export?{empty}"), &t.admin_token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(verify(&bytes, Some(&key)).unwrap().entries, None);
    app.verify_audit().await;
}

#[tokio::test]
async fn log_1_bad_export_requests_are_refused_clearly_and_change_nothing() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    for query in [
        "",
        "from=2026-11-01T00:00:00%2B09:00",
        "from=yesterday&to=2026-12-01T00:00:00%2B09:00",
        "from=2026-12-01T00:00:00%2B09:00&to=2026-11-01T00:00:00%2B09:00",
        "from=2026-11-01T00:00:00%2B09:00&to=2026-12-01T00:00:00%2B09:00&format=xlsx",
        "from=2026-11-01T00:00:00%2B09:00&to=2026-12-01T00:00:00%2B09:00&colour=red",
    ] {
        let (s, headers, body) = fetch(&app, &format!("/api/v1/audit/export?{query}"), &t.admin_token).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{query}: {}", String::from_utf8_lossy(&body));
        assert_eq!(headers[reqwest::header::CONTENT_TYPE], "application/problem+json", "{query}");
    }
    assert_eq!(exports(&app, "acme").await, 0);
    // Readers without audit.read get nothing.
    let (s, body) = app.post("/api/v1/api-keys", &t.admin_token, json!({"name": "reader", "role": "viewer"})).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, _, _) = fetch(&app, &format!("/api/v1/audit/export?{RANGE}"), body["token"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app.send("GET", &format!("/api/v1/audit/export?{RANGE}"), None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(exports(&app, "acme").await, 0);
}

#[tokio::test]
async fn log_1_the_console_log_page_offers_the_export_in_both_languages() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let c = Console::new(&app);
    c.login(&t.slug, &t.admin_email, PASSWORD).await;
    let page = c.get("/console/audit").await;
    assert!(page.body.contains("action=\"/console/audit/export\""), "{}", page.body);
    assert!(page.body.contains("value=\"2026-11-01T00:00\""), "prefilled with this month in the tenant's zone");
    assert!(c.get("/console/lang?to=ja&back=/console").await.status.is_redirection());
    let page = c.get("/console/audit").await;
    assert!(page.body.contains("検証できる形でエクスポート"), "{}", page.body);
    assert!(english_sentences(&page.body).is_empty(), "{:?}", english_sentences(&page.body));
    let file = c
        .get("/console/audit/export?export_from=2026-11-01T00%3A00&export_to=2026-11-23T00%3A00&export_format=json")
        .await;
    assert_eq!(file.status, StatusCode::OK);
    assert!(verify(file.body.as_bytes(), None).is_ok());
    // A reversed period is refused with a page in the reader's language, nothing exported.
    let bad = c.get("/console/audit/export?export_from=2026-11-23T00%3A00&export_to=2026-11-01T00%3A00").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(exports(&app, "acme").await, 1);
}

#[tokio::test]
async fn log_1_browser_exports_the_log_from_the_console_and_the_file_verifies_offline() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let (s, _) = app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, cp) = app.get("/api/v1/audit/checkpoint", &t.admin_token).await;
    let key = cp["public_key"].as_str().unwrap().to_owned();
    let downloads = tempfile::tempdir().unwrap();
    let Some(b) = Browser::launch_downloading(downloads.path()).await else { return };
    let url = |p: &str| format!("{}{p}", app.address);
    b.goto(&url("/console/login")).await;
    b.find("#f-tenant").await.send_keys("acme").await;
    b.find("#f-email").await.send_keys(&t.admin_email).await;
    b.find("#f-password").await.send_keys(PASSWORD).await;
    b.find("main form button[type=submit]").await.click().await;
    b.wait_for_text("main h1", "Dashboard").await;
    b.goto(&url("/console/lang?to=ja&back=/console/audit")).await;
    b.wait_for_text("main", "検証できる形でエクスポート").await;
    // The form's period is this month so far; CSV for Excel is the default.
    b.find("main form.log-export button[type=submit]").await.click().await;
    let bytes = downloaded(downloads.path(), ".csv").await;
    assert!(bytes.starts_with("\u{feff}".as_bytes()));
    let v = verify(&bytes, Some(&key)).unwrap_or_else(|f| panic!("{f:?}"));
    assert!(v.rows >= 3, "{v:?}");
    // JSON as well, chosen in the form.
    b.goto(&url("/console/audit")).await;
    b.select_option("#f-export_format", "json").await;
    b.find("main form.log-export button[type=submit]").await.click().await;
    let bytes = downloaded(downloads.path(), ".json").await;
    assert!(verify(&bytes, Some(&key)).is_ok());
    assert_eq!(exports(&app, "acme").await, 2);
    app.verify_audit().await;
}

/// A downloaded file in `dir` once Chromium has finished writing it.
async fn downloaded(dir: &std::path::Path, suffix: &str) -> Vec<u8> {
    for _ in 0..100 {
        let done = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().ends_with(suffix));
        if let Some(path) = done {
            return std::fs::read(path).unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no {suffix} file was downloaded into {}", dir.display());
}
