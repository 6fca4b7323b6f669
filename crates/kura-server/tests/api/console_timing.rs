//! How long the records page takes for a collection of 10,000 records: a measurement, not a
//! test (no time is asserted), run by hand in a release build and reported in
//! docs/PERFORMANCE.md:
//!
//! ```sh
//! cargo test --release -p kura-server --test api console_records_page_timing -- --ignored --nocapture
//! ```

use crate::console_client::Console;
use crate::helpers::*;
use kura_domain::{AuditRecord, AuditScope, FieldValue, Key, Operation, RecordData};
use serde_json::json;
use std::time::{Duration, Instant};

const RECORDS: usize = 10_000;
const ROUNDS: usize = 200;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::test]
#[ignore = "a measurement to run by hand in a release build"]
async fn console_records_page_timing() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let spec = json!({
        "name": "customers", "label": "顧客",
        "fields": [
            {"name": "name", "label": "氏名", "type": "text", "pii": true},
            {"name": "email", "label": "メールアドレス", "type": "email", "pii": true},
            {"name": "phone", "label": "電話番号", "type": "phone", "pii": true},
            {"name": "prefecture", "label": "都道府県", "type": "text"},
            {"name": "plan", "label": "プラン", "type": "choice", "choices": ["free", "standard", "premium"],
             "choice_labels": {"free": "フリー", "standard": "スタンダード", "premium": "プレミアム"}},
            {"name": "points", "label": "ポイント", "type": "number"},
            {"name": "joined", "label": "入会日", "type": "date"},
            {"name": "note", "label": "備考", "type": "long_text"}
        ]
    });
    let (_, c) = app.post("/api/v1/collections", &t.admin_token, spec).await;
    let tenant = app.state.store.tenant_by_slug(&kura_domain::Slug::parse("acme").unwrap()).await.unwrap().unwrap();
    let collection =
        app.state.store.collection_by_name(tenant.id, &Key::parse("customers").unwrap()).await.unwrap().unwrap();
    assert_eq!(c["name"], "customers");
    // Loaded as one bulk write, as `kura demo` loads its sample.
    let mut w = app.state.store.begin(AuditScope::Tenant(tenant.id), cli_actor()).await.unwrap();
    let prefectures = ["東京都", "大阪府", "北海道", "福岡県", "愛知県"];
    for i in 0..RECORDS {
        let text = |s: String| FieldValue::Text(s);
        let data = RecordData::from([
            ("name".to_owned(), text(format!("山田 太郎{i}"))),
            ("email".to_owned(), text(format!("taro{i}@example.jp"))),
            ("phone".to_owned(), text(format!("070-{:04}-{:04}", i % 10_000, (i * 7) % 10_000))),
            ("prefecture".to_owned(), text(prefectures[i % 5].to_owned())),
            ("plan".to_owned(), text(["free", "standard", "premium"][i % 3].to_owned())),
            ("points".to_owned(), FieldValue::Number((i * 37 % 10_000) as f64)),
            ("joined".to_owned(), text(format!("20{:02}-{:02}-{:02}", 15 + i % 11, 1 + i % 12, 1 + i % 28))),
            ("note".to_owned(), text("平日の午前中にご連絡ください。".repeat(1 + i % 4))),
        ]);
        w.insert_record(tenant.id, collection.id, &data).await.unwrap();
    }
    w.commit(AuditRecord::success(Operation::RecordCreate, "collection:customers")).await.unwrap();

    let console = Console::new(&app);
    console.login("acme", &t.admin_email, PASSWORD).await;
    let pages = [
        "/console/collections/customers",
        "/console/collections/customers?page=150",
        "/console/collections/customers?sort=-points&per_page=100",
        "/console/collections/customers?filter=points%20%3E%3D%205000%20%26%26%20plan%20%3D%20%27premium%27",
        "/console/collections/customers?q=%E5%A4%A7%E9%98%AA&sort=joined",
    ];
    // Warm up: the first list of a snapshot builds its indexes.
    for page in pages {
        for _ in 0..3 {
            assert_eq!(console.get(page).await.status, reqwest::StatusCode::OK);
        }
    }
    let mut all = Vec::new();
    for page in pages {
        let mut times = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            let start = Instant::now();
            let got = console.get(page).await;
            times.push(start.elapsed());
            assert_eq!(got.status, reqwest::StatusCode::OK);
        }
        times.sort();
        eprintln!(
            "{page}: p50 {:.1} ms, p95 {:.1} ms",
            percentile(&times, 0.5).as_secs_f64() * 1e3,
            percentile(&times, 0.95).as_secs_f64() * 1e3
        );
        all.extend(times);
    }
    all.sort();
    eprintln!(
        "records page, {RECORDS} records, {} requests: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        all.len(),
        percentile(&all, 0.5).as_secs_f64() * 1e3,
        percentile(&all, 0.95).as_secs_f64() * 1e3,
        all.last().map_or(0.0, |d| d.as_secs_f64() * 1e3)
    );
}
