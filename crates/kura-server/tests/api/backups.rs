//! OPS-1 through the operator console and the schedule: the backups page (list, copies,
//! verification, buttons audited in the platform's log) and the restore drill run by moving the
//! injected clock, with its result in the platform's log, on the page and in /metrics.

use crate::console_client::Console;
use crate::console_pages::operator_console;
use crate::helpers::{TestApp, customers_spec, spawn_encrypted_app_with};
use kura_server::backup::{Schedule, Schedules, parse_time, run_schedule};
use reqwest::StatusCode;
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;

/// An application with encryption at rest whose backups (and second copies) stay in its own
/// directory.
pub(crate) async fn app_with_backups() -> TestApp {
    spawn_encrypted_app_with(|s| {
        s.backup.dir = Some(s.data_dir.join("backups"));
        s.backup.copy_dir = Some(s.data_dir.join("offsite"));
        s.backup.generations = 3;
        s.backup.keystore_dir = Some(s.data_dir.join("keystore-backups"));
    })
    .await
}

fn backup_dir(app: &TestApp) -> PathBuf {
    app.data_dir().join("backups")
}

/// The complete backups in the directory, oldest first.
pub(crate) fn ids(app: &TestApp) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(backup_dir(app))
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    ids.retain(|n| kura_server::backup::id_time(n).is_some());
    ids.sort();
    ids
}

pub(crate) async fn scalar(app: &TestApp, sql: &'static str) -> i64 {
    if app.db_url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&app.db_url).await.unwrap();
        let n = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
        pool.close().await;
        n
    } else {
        let pool = sqlx::PgPool::connect(&app.db_url).await.unwrap();
        let n = sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap();
        pool.close().await;
        n
    }
}

/// A tenant with a collection of `n` customers.
async fn tenant_with_records(app: &TestApp, n: usize) {
    let t = app.tenant("acme").await;
    let (s, _) = app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    assert_eq!(s, StatusCode::CREATED);
    for i in 0..n {
        let body = json!({"name": format!("山田 {i}"), "points": i});
        let (s, b) = app.post("/api/v1/collections/customers/records", &t.admin_token, body).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
}

/// Flips one bit of `path` at `offset`.
fn flip(path: &std::path::Path, offset: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

const VERIFIED_BY_OPERATOR: &str =
    "SELECT COUNT(*) FROM audit_log WHERE operation = 'backup.verify' AND actor_label = 'ops@kura.example.jp'";

#[tokio::test]
async fn ops_1_the_operator_page_lists_backups_with_their_copies_and_takes_and_verifies_one() {
    let app = app_with_backups().await;
    tenant_with_records(&app, 3).await;
    let op = operator_console(&app).await;

    // Empty at first, in both languages, with the schedule and where copies go.
    let page = op.get("/operator/backups").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("バックアップはまだありません"), "{}", page.body);
    assert!(
        page.body.contains("毎日 03:00（Asia/Tokyo）にバックアップ") && page.body.contains("3 世代"),
        "{}",
        page.body
    );
    assert!(page.body.contains("復元訓練はまだ実行されていません"));
    op.get("/console/lang?to=en&back=/operator/backups").await;
    let page = op.get("/operator/backups").await;
    assert!(page.body.contains("No backups yet") && page.body.contains("offsite"), "{}", page.body);
    assert!(page.body.contains("Bucket: <span class=\"muted\">not configured"), "{}", page.body);
    op.get("/console/lang?to=ja&back=/operator/backups").await;

    // Take one now: it is listed with its time in the operator's zone, its size and its copies.
    let done = op.submit("/operator/backups", "/operator/backups/take", &[]).await;
    assert_eq!(done.location.as_deref(), Some("/operator/backups?done=backuptaken"), "{}", done.body);
    let id = ids(&app).pop().expect("a backup");
    assert_eq!(id, "20261122T000000.000000Z");
    let page = op.get("/operator/backups?done=backuptaken").await;
    assert!(page.body.contains("バックアップを取得し、コピーしました"));
    assert!(page.body.contains(&id) && page.body.contains("2026-11-22 09:00:00 JST"), "{}", page.body);
    assert!(page.body.contains("第二の保存先") && page.body.contains("未検証"), "{}", page.body);
    assert!(page.body.contains(" KB</td>"), "its size: {}", page.body);
    let taken = "SELECT COUNT(*) FROM audit_log WHERE operation = 'backup.create' AND actor_label = 'ops@kura.example.jp' \
                 AND outcome = 'success'";
    assert_eq!(scalar(&app, taken).await, 1, "taken by the operator, in the platform's log");

    // Verify it: the result and its time are on the page and in the platform's log.
    let fields = [("id", id.as_str()), ("location", "local")];
    let done = op.submit("/operator/backups", "/operator/backups/verify", &fields).await;
    assert_eq!(done.location.as_deref(), Some("/operator/backups?done=backupverified"), "{}", done.body);
    let page = op.get("/operator/backups").await;
    assert!(page.body.contains("成功") && page.body.contains("2026-11-22 09:00:00 JST"), "{}", page.body);
    assert_eq!(scalar(&app, VERIFIED_BY_OPERATOR).await, 1);

    // A corrupted file: verify says which, the page shows the failure, the log records it.
    let file = backup_dir(&app).join(&id).join("database.zst.kbk");
    flip(&file, 100);
    let page = op.submit("/operator/backups", "/operator/backups/verify", &fields).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body.contains("database.zst.kbk is corrupted") && page.body.contains("完了できませんでした"),
        "{}",
        page.body
    );
    assert!(page.body.contains("失敗"));
    assert_eq!(scalar(&app, VERIFIED_BY_OPERATOR).await, 2);
    let failures = "SELECT COUNT(*) FROM audit_log WHERE operation = 'backup.verify' AND outcome = 'failure'";
    assert_eq!(scalar(&app, failures).await, 1);
    // The second directory's copy is intact and verifies from there.
    let copy = [("id", id.as_str()), ("location", "copy")];
    let done = op.submit("/operator/backups", "/operator/backups/verify", &copy).await;
    assert_eq!(done.location.as_deref(), Some("/operator/backups?done=backupverified"), "{}", done.body);

    // Bad input is refused and records nothing.
    for fields in [[("id", "../../etc"), ("location", "local")], [("id", id.as_str()), ("location", "remote")]] {
        let page = op.submit("/operator/backups", "/operator/backups/verify", &fields).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{fields:?}");
        assert!(page.body.contains("指定された保存先に、そのバックアップはありません"));
    }
    assert_eq!(scalar(&app, VERIFIED_BY_OPERATOR).await, 3);
    // Without the form's token, nothing happens.
    let refused = op.post("/operator/backups/take", &[]).await;
    assert_ne!(refused.status, StatusCode::SEE_OTHER);
    assert_eq!(ids(&app).len(), 1);
    // Not for tenants' people.
    let user = Console::new(&app);
    assert_eq!(user.get("/operator/backups").await.location.as_deref(), Some("/operator/login"));
    app.verify_audit().await;
}

#[tokio::test]
async fn ops_1_the_operator_page_backs_the_keystore_up_apart_and_lists_it_with_the_time_it_is_deleted() {
    let app = app_with_backups().await;
    tenant_with_records(&app, 1).await;
    let op = operator_console(&app).await;
    let page = op.get("/operator/backups").await;
    assert!(page.body.contains("キーストアのバックアップはまだありません"), "{}", page.body);
    assert!(page.body.contains("取得から 3 日後"), "the retention, stated: {}", page.body);

    let done = op.submit("/operator/backups", "/operator/backups/take-keystore", &[]).await;
    assert_eq!(done.location.as_deref(), Some("/operator/backups?done=keystorebackuptaken"), "{}", done.body);
    let dir = app.data_dir().join("keystore-backups");
    let id = "20261122T000000.000000Z";
    assert!(dir.join(id).join("keystore.zst.kbk").is_file() && dir.join(id).join("manifest.note").is_file());
    assert!(app.data_dir().join("offsite").join("keystore").join(id).is_dir(), "copied to the second directory");
    assert!(ids(&app).is_empty(), "no data backup");
    let page = op.get("/operator/backups?done=keystorebackuptaken").await;
    assert!(page.body.contains("キーストアをバックアップし、コピーしました"), "{}", page.body);
    // Taken 2026-11-22 09:00 JST, deleted 3 days later.
    assert!(page.body.contains("2026-11-25 09:00:00 JST"), "{}", page.body);
    let taken = "SELECT COUNT(*) FROM audit_log WHERE operation = 'backup.create' \
                 AND target = 'keystore-backup:20261122T000000.000000Z' AND actor_label = 'ops@kura.example.jp'";
    assert_eq!(scalar(&app, taken).await, 1);

    // Verified from the page; its check kept under its own name.
    let fields = [("id", id), ("location", "local"), ("kind", "keystore")];
    let done = op.submit("/operator/backups", "/operator/backups/verify", &fields).await;
    assert_eq!(done.location.as_deref(), Some("/operator/backups?done=backupverified"), "{}", done.body);
    let checked = "SELECT COUNT(*) FROM backup_checks WHERE backup_id = 'keystore:20261122T000000.000000Z' AND ok";
    assert_eq!(scalar(&app, checked).await, 1);
    // The data's list does not hold it: asked as data, it is not found.
    let fields = [("id", id), ("location", "local")];
    let page = op.submit("/operator/backups", "/operator/backups/verify", &fields).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The clock moves past its retention: the schedule's check deletes it and its copy.
    app.clock.set("2026-11-25T00:00:00Z".parse().unwrap());
    kura_server::backup::expire_keystore(&app.state).await;
    assert!(!dir.join(id).exists() && !app.data_dir().join("offsite").join("keystore").join(id).exists());
    app.verify_audit().await;
}

/// Waits (real time) until `check` holds.
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..600 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn drills(app: &TestApp) -> Vec<kura_store::BackupCheck> {
    let mut checks = app.state.store.backup_checks(100).await.unwrap();
    checks.retain(|c| c.kind == "drill");
    checks
}

async fn metrics(app: &TestApp) -> String {
    app.client.get(format!("{}/metrics", app.address)).send().await.unwrap().text().await.unwrap()
}

#[tokio::test]
async fn ops_1_the_scheduled_restore_drill_restores_the_newest_backup_and_reports_it() {
    let app = app_with_backups().await;
    tenant_with_records(&app, 5).await;
    // 03:30 in Tokyo: the day's 03:00 backup is due; the 04:00 drill is half an hour away.
    app.clock.set("2026-11-21T18:30:00Z".parse().unwrap());
    let zone = jiff::tz::TimeZone::get("Asia/Tokyo").unwrap();
    let every = Duration::from_millis(20);
    let at = |t: &str| Schedule { times: vec![parse_time(t).unwrap()], zone: zone.clone(), every };
    let schedules = Schedules { backups: Some(at("03:00")), drills: Some(at("04:00")), keystore: None, every };
    let job = tokio::spawn(run_schedule(app.state.clone(), schedules));

    // The backup is taken at once; no drill has run, so yesterday's is caught up on it.
    eventually("the first drill", async || drills(&app).await.len() == 1).await;
    assert_eq!(ids(&app), ["20261121T183000.000000Z"]);
    let first = &drills(&app).await[0];
    assert!(first.ok, "{}", first.detail);
    assert_eq!(first.backup_id, "20261121T183000.000000Z");
    assert!(first.detail.contains("5 records of 1 tenants read and decrypted"), "{}", first.detail);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(drills(&app).await.len(), 1, "nothing more until 04:00");

    // 04:00: the drill runs again. The next day, after the 03:00 backup, it restores that one.
    app.clock.set("2026-11-21T19:00:01Z".parse().unwrap());
    eventually("the 04:00 drill", async || drills(&app).await.len() == 2).await;
    app.clock.set("2026-11-22T18:00:01Z".parse().unwrap());
    eventually("the next backup", async || ids(&app).len() == 2).await;
    app.clock.set("2026-11-22T19:00:01Z".parse().unwrap());
    eventually("the next drill", async || drills(&app).await.len() == 3).await;
    job.abort();
    let newest = &drills(&app).await[0];
    assert!(newest.ok && newest.backup_id == "20261122T180001.000000Z", "{newest:?}");
    let entries = "SELECT COUNT(*) FROM audit_log WHERE operation = 'backup.drill' AND outcome = 'success' \
                   AND actor_label = 'backup schedule'";
    assert_eq!(scalar(&app, entries).await, 3, "each drill is in the platform's log");

    // The scratch copy is gone after each drill.
    let leftovers: Vec<String> = std::fs::read_dir(backup_dir(&app))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    if !app.db_url.starts_with("sqlite:") {
        let drill_dbs = "SELECT COUNT(*) FROM pg_database WHERE datname LIKE '%\\_drill'";
        assert_eq!(scalar(&app, drill_dbs).await, 0, "the drill's database is dropped");
    }
    let text = metrics(&app).await;
    assert!(text.contains("kura_backup_drill_success 1"), "{text}");
    let when = "2026-11-22T19:00:01Z".parse::<jiff::Timestamp>().unwrap().as_second();
    assert!(text.contains(&format!("kura_backup_drill_timestamp_seconds {when}")), "{text}");
    assert!(text.contains("kura_backup_newest_timestamp_seconds"), "{text}");

    // A drill on a damaged backup fails, says why, and is shown as failed on the page and in
    // /metrics; run from the operator's button.
    let newest_file = backup_dir(&app).join(ids(&app).pop().unwrap()).join("database.zst.kbk");
    flip(&newest_file, 150);
    let op = operator_console(&app).await;
    let page = op.submit("/operator/backups", "/operator/backups/drill", &[]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("database.zst.kbk is corrupted"), "{}", page.body);
    let failed = &drills(&app).await[0];
    assert!(!failed.ok && failed.detail.contains("corrupted"), "{failed:?}");
    assert!(metrics(&app).await.contains("kura_backup_drill_success 0"));
    let page = op.get("/operator/backups").await;
    assert!(page.body.contains("直近の復元訓練") && page.body.contains("失敗"), "{}", page.body);
    app.verify_audit().await;
}
