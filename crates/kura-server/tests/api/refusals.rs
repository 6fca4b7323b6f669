//! Refused decryptions met by work that repeats (DAT-2): the reminder scans, the deletion at the
//! contract's end, the key rotation worker's claims and the start of a node meet a damaged value
//! at every pass, and each is in the tenant's log once, once more a day while it goes on, and
//! once more when it is no longer met; the restore drill's refusal is recorded too. Values are
//! damaged behind Kura's back (one character of a ciphertext changed), and time is moved on the
//! injected clock.

use crate::encryption::{records_with_one_altered, refusals_counted};
use crate::helpers::*;
use jiff::SignedDuration;
use kura_domain::{AuditEntry, AuditScope, Operation, Outcome, Slug, TenantId};
use kura_server::service::tenants::{NewTenant, create_tenant};
use kura_store::AuditFilter;
use reqwest::StatusCode;
use serde_json::json;

/// Runs `sql` on one row behind Kura's back: `$1` is the row's id, `$2` the `value` if any.
async fn execute(app: &TestApp, sql: String, id: &str, value: Option<&str>) {
    let id = id.parse::<uuid::Uuid>().unwrap();
    let n = if app.db_url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&app.db_url).await.unwrap();
        let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id);
        let query = match value {
            Some(v) => query.bind(v.to_owned()),
            None => query,
        };
        let n = query.execute(&pool).await.unwrap().rows_affected();
        pool.close().await;
        n
    } else {
        let pool = sqlx::PgPool::connect(&app.db_url).await.unwrap();
        let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id);
        let query = match value {
            Some(v) => query.bind(v.to_owned()),
            None => query,
        };
        let n = query.execute(&pool).await.unwrap().rows_affected();
        pool.close().await;
        n
    };
    assert_eq!(n, 1);
}

/// `column` of the row `id` of `table`, as stored.
async fn stored(app: &TestApp, table: &str, column: &str, id: &str) -> String {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {column} FROM {table} WHERE id = $1"));
    let id = id.parse::<uuid::Uuid>().unwrap();
    if app.db_url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&app.db_url).await.unwrap();
        sqlx::query_scalar(sql).bind(id).fetch_one(&pool).await.unwrap()
    } else {
        let pool = sqlx::PgPool::connect(&app.db_url).await.unwrap();
        sqlx::query_scalar(sql).bind(id).fetch_one(&pool).await.unwrap()
    }
}

/// Stores `value` as `column` of the row `id` of `table`.
async fn set_stored(app: &TestApp, table: &str, column: &str, id: &str, value: &str) {
    execute(app, format!("UPDATE {table} SET {column} = $2 WHERE id = $1"), id, Some(value)).await;
}

/// Changes one character of the sealed text in `column` of the row `id` of `table`, so that it
/// no longer opens; returns the text as it was.
async fn damage(app: &TestApp, table: &str, column: &str, id: &str) -> String {
    let sealed = stored(app, table, column, id).await;
    let mut chars: Vec<char> = sealed.chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    set_stored(app, table, column, id, &chars.into_iter().collect::<String>()).await;
    sealed
}

async fn tenant_id(app: &TestApp, slug: &str) -> TenantId {
    app.state.store.tenant_by_slug(&Slug::parse(slug).unwrap()).await.unwrap().unwrap().id
}

/// The `crypto.open_refused` entries of the tenant `slug`, newest first, read from the store
/// (sessions do not outlive the days the tests move the clock by).
async fn refusals(app: &TestApp, slug: &str) -> Vec<AuditEntry> {
    let scope = AuditScope::Tenant(tenant_id(app, slug).await);
    let filter = AuditFilter { operation: Some(Operation::CryptoOpenRefused), ..AuditFilter::default() };
    app.state.store.audit_entries(scope, &filter).await.unwrap()
}

fn detail(e: &AuditEntry) -> &str {
    e.detail.as_deref().unwrap_or("")
}

/// The entry as (outcome, actor, target).
fn shape(e: &AuditEntry) -> (Outcome, &str, &str) {
    (e.outcome, e.actor.label.as_str(), e.target.as_deref().unwrap_or(""))
}

/// A tenant whose contract ends on `end`, with its administrator's password.
async fn tenant_ending(app: &TestApp, slug: &str, end: &str) -> String {
    let input = NewTenant { contract_end: Some(end.into()), ..new_tenant(slug) };
    let admin_email = input.admin_email.clone();
    create_tenant(&app.state, cli_actor(), input, Some(PASSWORD.into())).await.unwrap();
    admin_email
}

/// The id of the user `email` of the tenant `slug`.
async fn user_id(app: &TestApp, slug: &str, email: &str) -> String {
    let users = app.state.store.users(tenant_id(app, slug).await).await.unwrap();
    users.iter().find(|u| u.email.as_str() == email).unwrap().id.to_string()
}

#[tokio::test]
async fn dat_2_a_value_that_does_not_open_in_a_reminder_scan_is_recorded_once_in_the_tenants_log() {
    let app = spawn_encrypted_app().await;
    let (acme, beta) = (app.tenant("acme").await, app.tenant("beta").await);
    for t in [&acme, &beta] {
        let (_, mut policy) = app.get("/api/v1/settings/security", &t.admin_token).await;
        policy.as_object_mut().unwrap().remove("against_nist");
        policy["password"]["expiry_days"] = 30.into();
        let (s, body) = app.send("PUT", "/api/v1/settings/security", Some(&t.admin_token), Some(policy)).await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    let (user, _) = app.add_user(&acme, "u@acme.example.jp", "利用者", "viewer").await;
    let name = damage(&app, "users", "display_name", &user).await;
    let send = || kura_server::service::expiry::send_due_notices(&app.state);

    // 14 days before the passwords expire, the scan runs again and again (every 10 minutes on
    // every node): acme's part stops at the damaged name, the other tenant is warned, and
    // acme's log gets one entry however often the scan meets it. Every meeting is counted.
    app.clock.advance(SignedDuration::from_hours(24 * 16 + 1));
    let mut queued = 0;
    for _ in 0..3 {
        queued += send().await.unwrap();
    }
    assert_eq!(queued, 1, "beta's administrator is warned");
    let entries = refusals(&app, "acme").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(shape(&entries[0]), (Outcome::Failure, "password expiry", "password expiry notices"));
    let d = detail(&entries[0]);
    assert!(d.contains("users.display_name") && d.contains(&user) && !d.contains("利用者"), "{d}");
    assert!(refusals(&app, "beta").await.is_empty());
    assert_eq!(refusals_counted(&app).await, 3);

    // A day later it is still refused: one entry says so, and how often it was met since.
    app.clock.advance(SignedDuration::from_hours(24));
    send().await.unwrap();
    send().await.unwrap();
    let entries = refusals(&app, "acme").await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(shape(&entries[0]).0, Outcome::Failure);
    assert!(detail(&entries[0]).starts_with("still refused: met 3 more time(s)"), "{entries:?}");
    assert!(detail(&entries[0]).contains(&user), "{entries:?}");

    // Repaired: acme's warnings go out, and one entry says the refusal is over.
    set_stored(&app, "users", "display_name", &user, &name).await;
    assert_eq!(send().await.unwrap(), 2, "acme's administrator and user");
    send().await.unwrap();
    let entries = refusals(&app, "acme").await;
    assert_eq!(entries.len(), 3, "{entries:?}");
    assert_eq!(shape(&entries[0]), (Outcome::Success, "password expiry", "password expiry notices"));
    assert!(detail(&entries[0]).starts_with("no longer met: met 1 more time(s)"), "{entries:?}");
    app.verify_audit().await;
}

#[tokio::test]
async fn dat_2_a_value_that_does_not_open_in_the_key_and_contract_end_reminders_is_recorded_once_across_nodes() {
    let app = spawn_encrypted_app().await;
    // The clock is 2026-11-22 09:00 in Tokyo; the contract's last day is 31 December.
    let admin_email = tenant_ending(&app, "acme", "2026-12-31").await;
    let token = app.login("acme", &admin_email, PASSWORD).await;
    let (s, key) = app
        .post("/api/v1/api-keys", &token, json!({"name": "会計連携", "role": "viewer", "expires_in_days": 18}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{key}");
    let key = key["key"]["id"].as_str().unwrap().to_owned();
    let admin = user_id(&app, "acme", &admin_email).await;
    damage(&app, "api_keys", "name", &key).await;
    damage(&app, "users", "display_name", &admin).await;
    // A second node (its own scan ran at its start, with nothing due yet).
    let other = app.another_node().await;

    // 1 December: the key expires within 14 days and the contract ends within 30; both scans
    // meet a damaged value, on both nodes, again and again.
    app.clock.set("2026-12-01T00:00:00Z".parse().unwrap());
    for _ in 0..2 {
        for node in [&app, &other] {
            assert_eq!(kura_server::service::expiry::send_due_notices(&node.state).await.unwrap(), 0);
        }
    }
    let mut entries: Vec<_> = refusals(&app, "acme").await;
    entries.sort_by(|a, b| a.target.cmp(&b.target));
    assert_eq!(entries.len(), 2, "one entry each: {entries:?}");
    assert_eq!(shape(&entries[0]), (Outcome::Failure, "api key expiry", "api key expiry notices"));
    assert!(detail(&entries[0]).contains("api_keys.name") && detail(&entries[0]).contains(&key), "{entries:?}");
    assert_eq!(shape(&entries[1]), (Outcome::Failure, "contract end", "contract end notices"));
    assert!(detail(&entries[1]).contains("users.display_name") && detail(&entries[1]).contains(&admin));
    assert!(!format!("{entries:?}").contains("会計連携"), "{entries:?}");
    app.verify_audit().await;
}

#[tokio::test]
async fn dat_2_a_value_that_does_not_open_in_the_contract_end_deletion_is_recorded_once_in_the_tenants_log() {
    let app = spawn_encrypted_app().await;
    // The contract ended on 1 September, more than the 60 days of grace ago: deletion is due.
    let admin_email = tenant_ending(&app, "gone", "2026-09-01").await;
    let admin = user_id(&app, "gone", &admin_email).await;
    damage(&app, "users", "display_name", &admin).await;

    // The schedule tries every hour; the administrator's name does not open, so nothing is
    // deleted (not even the keys), and the log says why once.
    for _ in 0..3 {
        assert!(kura_server::erasure::delete_due(&app.state).await.is_empty());
        app.clock.advance(SignedDuration::from_hours(1));
    }
    let entries = refusals(&app, "gone").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(shape(&entries[0]), (Outcome::Failure, "contract end", "tenant-deletion:gone"));
    assert!(detail(&entries[0]).contains("users.display_name") && detail(&entries[0]).contains(&admin));
    assert_eq!(refusals_counted(&app).await, 3);
    let keys = app.state.store.data_keys(tenant_id(&app, "gone").await).await.unwrap();
    assert!(!keys.is_empty(), "the keys are still there");
    app.verify_audit().await;
}

#[tokio::test]
async fn dat_2_a_value_that_does_not_open_in_the_restore_drill_is_recorded_in_the_tenants_log() {
    let app = crate::backups::app_with_backups().await;
    let t = app.tenant("acme").await;
    let ids = records_with_one_altered(&app, &t, &["改ざん 訓練", "無傷"]).await;
    kura_server::backup::take(&app.state, cli_actor()).await.unwrap();

    // The drill restores the backup and reads every record of the copy: the altered one does
    // not open, the drill fails, and the tenant's log says where.
    let drilled = kura_server::backup::drill(&app.state, cli_actor()).await;
    assert!(drilled.is_err(), "{drilled:?}");
    let entries = refusals(&app, "acme").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    let (outcome, actor, target) = shape(&entries[0]);
    assert_eq!((outcome, actor), (Outcome::Failure, "test"));
    assert!(target.starts_with("backup-drill:"), "{target}");
    assert!(detail(&entries[0]).contains(&ids[0]) && !format!("{entries:?}").contains("改ざん"), "{entries:?}");
    assert_eq!(refusals_counted(&app).await, 1);
    app.verify_audit().await;
}

#[tokio::test]
async fn dat_2_a_rotation_whose_requester_does_not_open_is_recorded_once_when_its_job_is_claimed() {
    use kura_server::service::key_rotation::{self, Limits};
    let app = spawn_encrypted_app_with(|s| s.encryption.rotation_worker = Some(false)).await;
    let t = app.tenant("acme").await;
    let (s, job) = app.post("/api/v1/keys/rotate", &t.admin_token, json!({})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{job}");
    let id = job["id"].as_str().unwrap().to_owned();
    let label = damage(&app, "key_rotations", "actor_label", &id).await;

    // The worker claims the job, cannot read who asked, and leaves it; once the lease is over
    // it claims it again, and again. One entry.
    for _ in 0..3 {
        assert_eq!(key_rotation::run(&app.state, Limits::default()).await.unwrap(), 0);
        app.clock.advance(SignedDuration::from_secs(61));
    }
    let entries = refusals(&app, "acme").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    let target = format!("key-rotation:{id}");
    assert_eq!(shape(&entries[0]), (Outcome::Failure, "key rotation", target.as_str()));
    assert!(detail(&entries[0]).contains("key_rotations.actor_label") && detail(&entries[0]).contains(&id));

    // Repaired: the job runs to its end, and one entry says the refusal is over.
    set_stored(&app, "key_rotations", "actor_label", &id, &label).await;
    assert!(key_rotation::run(&app.state, Limits::default()).await.unwrap() > 0);
    let (_, status) = app.get("/api/v1/keys", &t.admin_token).await;
    assert_eq!(status["rotations"][0]["status"], "done", "{status}");
    let entries = refusals(&app, "acme").await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(shape(&entries[0]), (Outcome::Success, "key rotation", target.as_str()));
    assert!(detail(&entries[0]).starts_with("no longer met: met 2 more time(s)"), "{entries:?}");
    app.verify_audit().await;
}

#[tokio::test]
async fn dat_2_a_value_that_does_not_open_when_a_node_starts_is_recorded_once_in_the_tenants_log() {
    let app = spawn_encrypted_app().await;
    let t = app.tenant("acme").await;
    let (user, _) = app.add_user(&t, "u@acme.example.jp", "起動", "viewer").await;
    // A user as an earlier release left it (no email index yet, so every start seals and
    // indexes it), whose sealed email was then altered.
    let email = damage(&app, "users", "email", &user).await;
    execute(&app, "UPDATE users SET email_index = NULL WHERE id = $1".into(), &user, None).await;

    // Every node that starts meets it; the log gets it once that day.
    let _second = app.another_node().await;
    let _third = app.another_node().await;
    let entries = refusals(&app, "acme").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(shape(&entries[0]), (Outcome::Failure, "start-up sealing", "start-up sealing"));
    assert!(detail(&entries[0]).contains("users.email") && detail(&entries[0]).contains(&user), "{entries:?}");
    assert!(!format!("{entries:?}").contains("u@acme"), "{entries:?}");

    // A day later, a start says it is still refused.
    app.clock.advance(SignedDuration::from_hours(25));
    let _fourth = app.another_node().await;
    let entries = refusals(&app, "acme").await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert!(detail(&entries[0]).starts_with("still refused: met 2 more time(s)"), "{entries:?}");

    // Repaired: the next start seals and indexes it, and says the refusal is over.
    set_stored(&app, "users", "email", &user, &email).await;
    let _fifth = app.another_node().await;
    let entries = refusals(&app, "acme").await;
    assert_eq!(entries.len(), 3, "{entries:?}");
    assert_eq!(shape(&entries[0]), (Outcome::Success, "start-up sealing", "start-up sealing"));
    let _sixth = app.another_node().await;
    assert_eq!(refusals(&app, "acme").await.len(), 3);
    app.verify_audit().await;
}

#[tokio::test]
async fn dat_2_nodes_that_meet_the_same_refused_value_at_once_write_one_entry_and_a_new_value_at_once() {
    let app = spawn_encrypted_app().await;
    app.tenant("acme").await;
    let tenant = tenant_id(&app, "acme").await;
    let (b, c) = (app.another_node().await, app.another_node().await);
    let actor = kura_domain::Actor::cli("test job");
    let meet = |node: &TestApp, cause: &'static str| {
        let (state, actor) = (node.state.clone(), actor.clone());
        async move { kura_server::refused_opens::record(&state, tenant, &actor, "test work", cause).await }
    };
    let first = "a value of t.f of row 1 of tenant acme: refused";
    for _ in 0..3 {
        tokio::join!(meet(&app, first), meet(&b, first), meet(&c, first));
    }
    let entries = refusals(&app, "acme").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!((shape(&entries[0]), detail(&entries[0])), ((Outcome::Failure, "test job", "test work"), first));
    // Another value met by the same work is written at once, on whichever node meets it.
    let second = "a value of t.f of row 2 of tenant acme: refused";
    tokio::join!(meet(&b, second), meet(&c, second));
    let entries = refusals(&app, "acme").await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(detail(&entries[0]), second);
    app.verify_audit().await;
}
