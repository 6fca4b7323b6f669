//! Rates of imports, bulk changes and the tenant archive for 100,000 records, each against the
//! plain create rate of the same engine measured in the same run, and an import's peak memory
//! for a 10 MB and a 100 MB file (docs/PERFORMANCE.md). Not a pass/fail test:
//! `cargo test -p kura-server --test api dat_6_measure -- --ignored --nocapture`.

use crate::helpers::{TestApp, spawn_app};
use crate::transfer::{create_notes, notes_spec};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Instant;

const N: usize = 100_000;

/// Peak resident memory of this process since the last reset (KiB).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

async fn download(app: &TestApp, token: &str, path: &str) -> Vec<u8> {
    let resp = app.client.get(format!("{}{path}", app.address)).bearer_auth(token).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.bytes().await.unwrap().to_vec()
}

async fn import(app: &TestApp, token: &str, name: &str, format: &str, body: Vec<u8>) -> Value {
    let kind = if format == "jsonl" { "application/jsonl" } else { "text/csv" };
    let resp = app
        .client
        .post(format!("{}/api/v1/collections/{name}/import", app.address))
        .bearer_auth(token)
        .header("content-type", kind)
        .query(&[("format", format)])
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

fn line(what: &str, n: usize, secs: f64, base: f64) -> f64 {
    let rate = n as f64 / secs;
    eprintln!("{what}: {n} in {secs:.2} s = {rate:.0}/s ({:.2}x the create rate)", rate / base);
    rate
}

#[tokio::test]
#[ignore = "a measurement, run by hand"]
async fn dat_6_measure_import_bulk_and_archive_rates_for_100000_records() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let token = t.admin_token.clone();
    create_notes(&app, &t, "notes").await;
    let store = &app.state.store;
    let tenant = store.tenant_by_slug(&kura_domain::Slug::parse("acme").unwrap()).await.unwrap().unwrap();
    let c = store.collection_by_name(tenant.id, &kura_domain::Key::parse("notes").unwrap()).await.unwrap().unwrap();
    // The base: plain creates through the store's writer, one transaction.
    let started = Instant::now();
    let mut w = store.begin(kura_domain::AuditScope::Tenant(tenant.id), crate::helpers::cli_actor()).await.unwrap();
    for i in 0..N {
        let input = json!({"title": format!("顧客 {i} 山田 太郎"), "body": "東京都千代田区丸の内１－２－３, \"本社\"",
            "owner": "佐藤 花子", "points": i, "due": "2026-12-24", "done": false, "plan": "premium"});
        let data = c.validate(input.as_object().unwrap(), kura_domain::WriteMode::Create, None).unwrap();
        w.insert_record(tenant.id, c.id, &data).await.unwrap();
    }
    w.commit(kura_domain::AuditRecord::success(kura_domain::Operation::RecordCreate, "collection:notes"))
        .await
        .unwrap();
    let secs = started.elapsed().as_secs_f64();
    let base = N as f64 / secs;
    eprintln!("create (base): {N} in {secs:.2} s = {base:.0}/s");

    // The tenant's archive: every collection as CSV and JSON Lines, users, roles, the log.
    let started = Instant::now();
    let archive = download(&app, &token, "/api/v1/export").await;
    line(&format!("archive ({:.1} MiB)", archive.len() as f64 / 1048576.0), N, started.elapsed().as_secs_f64(), base);
    drop(archive);

    // Imports of the collection's own exports into empty copies, through the API.
    for (format, export) in [("csv", "csv"), ("jsonl", "jsonl")] {
        let file = download(&app, &token, &format!("/api/v1/collections/notes/export?format={export}")).await;
        let target = format!("copy_{format}");
        create_notes(&app, &t, &target).await;
        let mib = file.len() as f64 / 1048576.0;
        let started = Instant::now();
        let report = import(&app, &token, &target, format, file).await;
        assert_eq!(report["inserted"], N);
        line(&format!("import {format} ({mib:.1} MiB)"), N, started.elapsed().as_secs_f64(), base);
    }

    // Bulk update and bulk delete, 10,000 records an operation (the limit of one).
    let started = Instant::now();
    for k in 0..N / 10_000 {
        let filter = format!("points >= {} && points < {}", k * 10_000, (k + 1) * 10_000);
        let body = json!({"filter": filter, "set": {"done": true, "plan": "free"}, "expected_count": 10_000});
        let (s, out) = app.post("/api/v1/collections/notes/records/bulk-update", &token, body).await;
        assert_eq!(s, StatusCode::OK, "{out}");
        assert_eq!(out["changed"], 10_000);
    }
    line("bulk update", N, started.elapsed().as_secs_f64(), base);
    let started = Instant::now();
    for k in 0..N / 10_000 {
        let filter = format!("points >= {} && points < {}", k * 10_000, (k + 1) * 10_000);
        let body = json!({"filter": filter, "expected_count": 10_000});
        let (s, out) = app.post("/api/v1/collections/notes/records/bulk-delete", &token, body).await;
        assert_eq!(s, StatusCode::OK, "{out}");
        assert_eq!(out["changed"], 10_000);
    }
    line("bulk delete", N, started.elapsed().as_secs_f64(), base);

    // An import's peak memory for a 10 MB and a 100 MB file (rows of about 1 KB).
    let note = "電話で連絡。「来月の請求書を郵送で」とのご希望、担当：佐藤。".repeat(10);
    for (rows, name) in [(10_000, "mem_10"), (100_000, "mem_100")] {
        let mut spec = notes_spec(name);
        spec["fields"][1]["rules"] = json!({"max_length": 2000});
        let (s, _) = app.post("/api/v1/collections", &token, spec).await;
        assert_eq!(s, StatusCode::CREATED);
        let mut file = String::from("title,body,points\n");
        for i in 0..rows {
            file.push_str(&format!("顧客 {i},\"{note}, {i}\",{i}\n"));
        }
        let bytes = file.len();
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let before = peak_rss_kib();
        let started = Instant::now();
        let report = import(&app, &token, name, "csv", file.into_bytes()).await;
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(report["inserted"], rows);
        let peak = peak_rss_kib();
        eprintln!(
            "import {:.1} MiB ({rows} rows) in {secs:.2} s = {:.0} rows/s; process peak {:.1} MiB \
             (at start {:.1} MiB, +{:.1} MiB; the test holds the file to send it)",
            bytes as f64 / 1048576.0,
            rows as f64 / secs,
            peak as f64 / 1024.0,
            before as f64 / 1024.0,
            peak.saturating_sub(before) as f64 / 1024.0
        );
    }
}
