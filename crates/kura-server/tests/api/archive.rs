//! The whole tenant's export (DAT-5): the ZIP archive with its manifest and SHA256SUMS, who may
//! take it, masking, the console page, and the flag on repeated large exports.

use crate::console_client::Console;
use crate::helpers::{PASSWORD, spawn_app, spawn_app_with};
use crate::transfer::{api_key, audit, csv_rows, download, notes, sha2_digest};
use reqwest::StatusCode;
use serde_json::Value;

/// The files of a ZIP archive by name.
pub(crate) fn unzip(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    use std::io::Read as _;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a ZIP file");
    let mut files = std::collections::BTreeMap::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).expect("an entry");
        let mut content = Vec::new();
        f.read_to_end(&mut content).expect("readable");
        files.insert(f.name().expect("a UTF-8 name").into_owned(), content);
    }
    files
}

/// Checks the manifest and SHA256SUMS against the files; returns the manifest.
pub(crate) fn checked_manifest(files: &std::collections::BTreeMap<String, Vec<u8>>) -> Value {
    let manifest: Value = serde_json::from_slice(&files["manifest.json"]).expect("manifest.json is JSON");
    let listed = manifest["files"].as_array().unwrap();
    assert_eq!(listed.len() + 2, files.len(), "every file but the manifest and the sums is listed");
    let sums = std::str::from_utf8(&files["SHA256SUMS"]).unwrap();
    for f in listed {
        let path = f["path"].as_str().unwrap();
        let content = &files[path];
        let digest = format!("{:x}", sha2_digest(content));
        assert_eq!(f["sha256"], digest.as_str(), "{path}");
        assert_eq!(f["bytes"], content.len(), "{path}");
        assert!(sums.lines().any(|l| l == format!("{digest}  {path}")), "{path} in SHA256SUMS");
    }
    manifest
}

#[tokio::test]
async fn dat_5_the_tenant_archive_holds_definitions_records_people_and_the_log_with_digests_that_check() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    notes(&app, &t, "notes").await;
    notes(&app, &t, "crm").await;
    let other = app.tenant("globex").await;
    notes(&app, &other, "secret").await;
    let (s, kind, bytes) = download(&app, "/api/v1/export", &t.admin_token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(kind, "application/zip");
    let files = unzip(&bytes);
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "SHA256SUMS",
            "audit-log.jsonl",
            "collections.json",
            "manifest.json",
            "records/crm.csv",
            "records/crm.jsonl",
            "records/notes.csv",
            "records/notes.jsonl",
            "roles.json",
            "users.jsonl"
        ]
    );
    let manifest = checked_manifest(&files);
    assert_eq!(manifest["format"], "kura-tenant-export/1");
    assert_eq!(manifest["tenant"], "acme");
    assert_eq!(manifest["pii_masked"], false);
    assert_eq!(manifest["time_zone"], "Asia/Tokyo");

    let csv = std::str::from_utf8(&files["records/notes.csv"]).unwrap();
    assert!(csv.starts_with("\u{feff}件名,本文,担当者"), "UTF-8 with a BOM, labels as column names");
    let rows = csv_rows(csv.trim_start_matches('\u{feff}'));
    assert_eq!(rows.len(), 6);
    assert!(rows.iter().any(|r| r[0] == "山田 太郎" && r[2] == "佐藤 花子"), "personal information shown to the admin");
    assert!(rows.iter().any(|r| r[0] == "'=cmd|' /C calc'!A0"), "formulas neutralised as in every CSV export");
    let lines: Vec<Value> = std::str::from_utf8(&files["records/crm.jsonl"])
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    let definitions: Value = serde_json::from_slice(&files["collections.json"]).unwrap();
    assert_eq!(definitions.as_array().unwrap().len(), 2);

    let users = std::str::from_utf8(&files["users.jsonl"]).unwrap();
    assert!(users.contains(&t.admin_email));
    for secret in ["argon2", "password_hash", "secret", "totp", "token"] {
        assert!(!users.contains(secret), "users.jsonl holds no {secret}: {users}");
    }
    let roles: Value = serde_json::from_slice(&files["roles.json"]).unwrap();
    assert!(roles.as_array().unwrap().iter().any(|r| r["key"] == "tenant_admin"), "{roles}");
    let log = std::str::from_utf8(&files["audit-log.jsonl"]).unwrap();
    let creates = log.lines().filter(|l| l.contains("\"record.create\"")).count();
    assert_eq!(creates, 10, "every record created is in the log");
    for name in ["globex", "secret"] {
        assert!(
            !files.values().any(|f| String::from_utf8_lossy(f).contains(name)),
            "nothing of another tenant: {name}"
        );
    }

    let entries = audit(&app, &t, "tenant.export").await;
    assert_eq!(entries.len(), 1, "one entry for the whole archive");
    assert_eq!(entries[0]["target"], "tenant:acme");
    let detail = entries[0]["detail"].as_str().unwrap();
    assert!(detail.starts_with("format=zip collections=2 records=10 users=1 "), "{detail}");
    assert!(detail.contains("pii=shown"), "{detail}");
    app.verify_audit().await;
}

#[tokio::test]
async fn dat_5_the_tenant_archive_needs_every_administrator_permission_and_masks_without_pii_read() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    notes(&app, &t, "notes").await;
    let exporter = api_key(&app, &t, "exporter", &["records.read", "records.export"]).await;
    let (s, body) = app.get("/api/v1/export", &exporter).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("users.manage"), "{body}");
    assert!(audit(&app, &t, "tenant.export").await.is_empty(), "a refusal exports nothing");

    let steward =
        api_key(&app, &t, "steward", &["records.read", "records.export", "users.manage", "roles.manage", "audit.read"])
            .await;
    let (s, _, bytes) = download(&app, "/api/v1/export", &steward).await;
    assert_eq!(s, StatusCode::OK);
    let files = unzip(&bytes);
    let manifest = checked_manifest(&files);
    assert_eq!(manifest["pii_masked"], true);
    let csv = std::str::from_utf8(&files["records/notes.csv"]).unwrap();
    assert!(csv.contains("••••••") && !csv.contains("佐藤 花子"), "personal information masked");
    let jsonl = std::str::from_utf8(&files["records/notes.jsonl"]).unwrap();
    assert!(jsonl.contains("••••••") && !jsonl.contains("佐藤 花子"));
    let entries = audit(&app, &t, "tenant.export").await;
    assert_eq!(entries.len(), 1);
    assert!(entries[0]["detail"].as_str().unwrap().contains("pii=masked"));
}

#[tokio::test]
async fn dat_5_repeated_large_exports_by_one_principal_are_flagged_in_the_log_for_monitoring() {
    let app = spawn_app_with(|s| s.limits.export_flag_records = 8).await;
    let t = app.tenant("acme").await;
    notes(&app, &t, "notes").await;
    let exporter = api_key(&app, &t, "exporter", &["records.read", "records.export"]).await;
    let (s, _, _) = download(&app, "/api/v1/collections/notes/export", &exporter).await;
    assert_eq!(s, StatusCode::OK);
    assert!(audit(&app, &t, "export.flagged").await.is_empty(), "5 records in a day is under 8");
    let (s, _, _) = download(&app, "/api/v1/collections/notes/export?format=jsonl", &exporter).await;
    assert_eq!(s, StatusCode::OK, "a flagged export is still served");
    let flagged = audit(&app, &t, "export.flagged").await;
    assert_eq!(flagged.len(), 1, "{flagged:?}");
    assert_eq!(flagged[0]["target"], "api_key:exporter");
    assert_eq!(flagged[0]["detail"], "records_24h=10 exports_24h=2 threshold=8");
    // Each principal has its own total: the administrator's first export is not flagged.
    let (s, _, _) = download(&app, "/api/v1/export", &t.admin_token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(audit(&app, &t, "export.flagged").await.len(), 1);
    // A day later the window is empty again (read with a key: the session has expired by then).
    let auditor = api_key(&app, &t, "auditor", &["audit.read"]).await;
    app.clock.advance(jiff::SignedDuration::from_hours(25));
    let (s, _, _) = download(&app, "/api/v1/collections/notes/export", &exporter).await;
    assert_eq!(s, StatusCode::OK);
    let (s, flagged) = app.get("/api/v1/audit?operation=export.flagged", &auditor).await;
    assert_eq!(s, StatusCode::OK, "{flagged}");
    assert_eq!(flagged.as_array().unwrap().len(), 1);
    app.verify_audit().await;
}

#[tokio::test]
async fn dat_5_console_offers_the_tenant_archive_to_administrators_in_japanese() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    notes(&app, &t, "notes").await;
    let console = Console::new(&app);
    console.login("acme", &t.admin_email, PASSWORD).await;
    console.get("/console/lang?to=ja&back=/console").await;
    let list = console.get("/console/collections").await;
    assert!(list.body.contains("href=\"/console/export\""), "the collections page links to it");
    let form = console.get("/console/export").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.body.contains("テナントの全データのエクスポート") && form.body.contains("SHA256SUMS"),
        "{}",
        form.body
    );
    let resp = console.client.get(format!("{}/console/export/file", app.address)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-disposition"].to_str().unwrap().contains("kura-acme-"));
    let files = unzip(&resp.bytes().await.unwrap());
    checked_manifest(&files);
    assert_eq!(audit(&app, &t, "tenant.export").await.len(), 1);
}
