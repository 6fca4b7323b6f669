//! LOG-1, the operation log complete: every entry of a request carries the client's user agent,
//! sealed under the tenant's key and committed to by the chain and the Merkle leaf, shown by the
//! API, the console and the export; the viewer filters by time, user, operation, target, outcome
//! and address; the log page draws the security events of the last 30 days as SVG.

use crate::console_client::*;
use crate::helpers::*;
use kura_domain::{AuditScope, Slug};
use reqwest::StatusCode;
use serde_json::{Value, json};

const AGENT: &str = "KuraTest/2.0 (audit log; +https://example.jp)";

/// A JSON request sent with the test's user agent.
async fn send_as_agent(app: &TestApp, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Value {
    let mut req = app
        .client
        .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), format!("{}{path}", app.address))
        .header(reqwest::header::USER_AGENT, AGENT);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let text = resp.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

/// The stored user agents of a scope's entries, read behind Kura's back.
async fn raw_agents(db_url: &str, scope: uuid::Uuid) -> Vec<(i64, Option<String>)> {
    const SQL: &str = "SELECT seq, user_agent FROM audit_log WHERE scope_id = $1 ORDER BY seq";
    if db_url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(db_url).await.unwrap();
        sqlx::query_as(SQL).bind(scope).fetch_all(&pool).await.unwrap()
    } else {
        let pool = sqlx::PgPool::connect(db_url).await.unwrap();
        sqlx::query_as(SQL).bind(scope).fetch_all(&pool).await.unwrap()
    }
}

async fn set_raw_agent(db_url: &str, scope: uuid::Uuid, seq: i64, agent: &str) {
    const SQL: &str = "UPDATE audit_log SET user_agent = $3 WHERE scope_id = $1 AND seq = $2";
    let n = if db_url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(db_url).await.unwrap();
        sqlx::query(SQL).bind(scope).bind(seq).bind(agent).execute(&pool).await.unwrap().rows_affected()
    } else {
        let pool = sqlx::PgPool::connect(db_url).await.unwrap();
        sqlx::query(SQL).bind(scope).bind(seq).bind(agent).execute(&pool).await.unwrap().rows_affected()
    };
    assert_eq!(n, 1);
}

async fn tenant_uuid(app: &TestApp, slug: &str) -> uuid::Uuid {
    app.state.store.tenant_by_slug(&Slug::parse(slug).unwrap()).await.unwrap().unwrap().id.as_uuid()
}

#[tokio::test]
async fn log_1_entries_carry_the_user_agent_sealed_and_hashed_and_every_surface_shows_it() {
    let app = spawn_encrypted_app().await;
    let t = app.tenant("acme").await;
    let login = send_as_agent(
        &app,
        "POST",
        "/api/v1/sessions",
        None,
        Some(json!({"tenant": "acme", "email": t.admin_email, "password": PASSWORD})),
    )
    .await;
    let token = login["token"].as_str().unwrap().to_owned();
    send_as_agent(&app, "POST", "/api/v1/collections", Some(&token), Some(customers_spec())).await;

    // The API shows it on the entries of requests made with it, and none on the CLI's.
    let (s, list) = app.get("/api/v1/audit?limit=1000", &t.admin_token).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let list = list.as_array().unwrap();
    let of = |op: &'static str| list.iter().filter(move |e| e["operation"] == op);
    assert!(of("user.login").any(|e| e["user_agent"] == AGENT), "{list:?}");
    assert!(of("collection.create").all(|e| e["user_agent"] == AGENT), "{list:?}");
    assert!(of("tenant.create").all(|e| e["user_agent"].is_null()), "{list:?}");

    // Sealed in the database: the stored value is not the text.
    let scope = tenant_uuid(&app, "acme").await;
    let raw = raw_agents(&app.db_url, scope).await;
    let stored: Vec<_> = raw.iter().filter_map(|(seq, a)| a.as_ref().map(|a| (*seq, a.clone()))).collect();
    assert!(!stored.is_empty());
    assert!(stored.iter().all(|(_, a)| !a.contains("KuraTest")), "{stored:?}");
    app.verify_audit().await;

    // The console shows it beside the address.
    let console = Console::new(&app);
    console.login("acme", &t.admin_email, PASSWORD).await;
    let page = console.get("/console/audit?operation=collection.create").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(AGENT), "{}", page.body);

    // The export carries it in a column of its own, and the file verifies offline.
    let range = "from=2026-11-01T00:00:00%2B09:00&to=2026-12-01T00:00:00%2B09:00";
    let resp = app
        .client
        .get(format!("{}/api/v1/audit/export?{range}&format=csv-utf8", app.address))
        .bearer_auth(&t.admin_token)
        .send()
        .await
        .unwrap();
    let bytes = resp.bytes().await.unwrap().to_vec();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.starts_with("seq,time,time_utc,actor_kind,actor,actor_id,role,source_ip,user_agent,"), "{text}");
    assert!(text.contains(AGENT), "{text}");
    kura_server::audit_export::verify(&bytes, None).unwrap();

    // The chain and the leaf commit to it: an agent changed behind Kura's back is an edit.
    let (seq, _) = stored[0].clone();
    set_raw_agent(&app.db_url, scope, seq, "curl/8.0").await;
    let broken = app.state.store.verify_audit(AuditScope::Tenant(kura_domain::TenantId::from_uuid(scope))).await;
    let brk = broken.unwrap().unwrap_err();
    assert_eq!((brk.seq, brk.kind), (seq, kura_store::TamperKind::EditedEntry), "{brk:?}");
}

#[tokio::test]
async fn log_1_the_api_filters_by_outcome_address_target_and_user_and_refuses_bad_values() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let (s, _) = app
        .send(
            "POST",
            "/api/v1/sessions",
            None,
            Some(json!({"tenant": "acme", "email": t.admin_email, "password": "wrong"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    assert_eq!(s, StatusCode::CREATED);

    let ops = |v: &Value| {
        v.as_array().unwrap().iter().map(|e| e["operation"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    let (s, failed) = app.get("/api/v1/audit?outcome=failure", &t.admin_token).await;
    assert_eq!(s, StatusCode::OK, "{failed}");
    assert_eq!(ops(&failed), ["user.login_failed"]);
    // A failed sign-in's target names the tenant and the address typed.
    let typed = failed[0]["target"].as_str().unwrap().to_owned();
    assert_eq!(typed, format!("tenant:acme user:{}", t.admin_email));
    let (_, target) = app.get(&format!("/api/v1/audit?target={}", typed.replace(' ', "%20")), &t.admin_token).await;
    assert_eq!(ops(&target), ["user.login_failed"], "{target}");
    let (_, here) = app.get("/api/v1/audit?source_ip=127.0.0.1&operation=collection.create", &t.admin_token).await;
    assert_eq!(ops(&here), ["collection.create"]);
    let (_, elsewhere) = app.get("/api/v1/audit?source_ip=192.0.2.1", &t.admin_token).await;
    assert_eq!(ops(&elsewhere), Vec::<String>::new());
    // The user: by the principal (current address) and by the recorded label of failed sign-ins.
    let (_, mine) = app.get("/api/v1/audit?actor=ADMIN@acme", &t.admin_token).await;
    let mine = ops(&mine);
    assert!(
        mine.contains(&"collection.create".to_owned()) && mine.contains(&"user.login_failed".to_owned()),
        "{mine:?}"
    );
    let (_, nobody) = app.get("/api/v1/audit?actor=nobody@", &t.admin_token).await;
    assert_eq!(ops(&nobody), Vec::<String>::new());
    // Paging continues after the last entry shown, newest first.
    let (_, all) = app.get("/api/v1/audit", &t.admin_token).await;
    let all = all.as_array().unwrap().clone();
    let (_, first) = app.get("/api/v1/audit?limit=2", &t.admin_token).await;
    let before = first[1]["seq"].as_i64().unwrap();
    let (_, rest) = app.get(&format!("/api/v1/audit?before={before}"), &t.admin_token).await;
    let paged: Vec<Value> = first.as_array().unwrap().iter().chain(rest.as_array().unwrap()).cloned().collect();
    assert_eq!(paged, all);

    let before = app.get("/api/v1/audit?limit=1000", &t.admin_token).await.1.as_array().unwrap().len();
    for bad in ["outcome=maybe", "outcome=", "source_ip=not-an-address", "target=", "source_ip="] {
        let (s, body) = app.get(&format!("/api/v1/audit?{bad}"), &t.admin_token).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    // Reading the log writes nothing to it.
    assert_eq!(app.get("/api/v1/audit?limit=1000", &t.admin_token).await.1.as_array().unwrap().len(), before);
}

#[tokio::test]
async fn log_1_the_console_log_filters_by_target_and_charts_security_events_in_both_languages() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let console = Console::new(&app);
    console.login("acme", &t.admin_email, PASSWORD).await;

    // No security event yet: the chart's empty state, in both languages.
    let en = console.get_in("/console/audit", "en").await;
    assert_eq!(en.status, StatusCode::OK);
    assert!(en.body.contains("No security events in the last 30 days."), "{}", en.body);
    assert!(!en.body.contains("<svg class=\"chart\""), "{}", en.body);
    let ja = console.get_in("/console/audit", "ja").await;
    assert!(ja.body.contains("過去30日間にセキュリティイベントはありません。"), "{}", ja.body);

    // Two failed sign-ins today: a bar, described in words and as a table.
    for _ in 0..2 {
        let body = json!({"tenant": "acme", "email": t.admin_email, "password": "wrong"});
        let (s, _) = app.send("POST", "/api/v1/sessions", None, Some(body)).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let en = console.get_in("/console/audit", "en").await;
    assert!(en.body.contains("<svg class=\"chart\""), "{}", en.body);
    assert!(en.body.contains("role=\"img\""));
    assert!(en.body.contains("2 events in 30 days"), "{}", en.body);
    assert!(en.body.contains("Failed sign-ins 2"), "{}", en.body);
    assert!(en.body.contains("Show the numbers as a table"));
    assert!(!en.body.contains("<script"));
    let ja = console.get_in("/console/audit", "ja").await;
    assert!(ja.body.contains("30日間で2件"), "{}", ja.body);
    assert!(ja.body.contains("ログイン失敗 2"), "{}", ja.body);

    // The target filter.
    let target = format!("tenant:acme user:{}", t.admin_email);
    let page = console
        .get_in(&format!("/console/audit?target={}", target.replace('@', "%40").replace(' ', "%20")), "en")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("2 entries"), "{}", page.body);
    assert!(page.body.contains("name=\"target\""));
    let page = console.get_in("/console/audit?outcome=failure&ip=127.0.0.1", "en").await;
    assert!(page.body.contains("2 entries"), "{}", page.body);
}

/// The departed principals of a tenant, as stored: kind, label and display name.
async fn raw_departed(db_url: &str, tenant: uuid::Uuid) -> Vec<(String, String, Option<String>)> {
    const SQL: &str = "SELECT kind, label, display_name FROM departed_principals WHERE tenant_id = $1";
    if db_url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(db_url).await.unwrap();
        sqlx::query_as(SQL).bind(tenant).fetch_all(&pool).await.unwrap()
    } else {
        let pool = sqlx::PgPool::connect(db_url).await.unwrap();
        sqlx::query_as(SQL).bind(tenant).fetch_all(&pool).await.unwrap()
    }
}

#[tokio::test]
async fn log_1_actor_filter_finds_a_deleted_users_entries_by_index() {
    let app = spawn_encrypted_app().await;
    let t = app.tenant("acme").await;
    let (s, _) = app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    assert_eq!(s, StatusCode::CREATED);
    let address = "leaver.canary@acme.example.jp";
    let (id, token) = app.add_user(&t, address, "退職 花子", "editor").await;
    let (s, r) = app.post("/api/v1/collections/customers/records", &token, json!({"name": "記録"})).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let (s, _) = app.delete(&format!("/api/v1/users/{id}"), &t.admin_token).await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    // By a part of the email in any case, and by a part of the name they had (退職), which no
    // entry's label holds: only their id, kept by the deletion, finds those entries.
    for text in ["LEAVER.canary", "%E9%80%80%E8%81%B7"] {
        let (s, entries) = app.get(&format!("/api/v1/audit?actor={text}"), &t.admin_token).await;
        assert_eq!(s, StatusCode::OK, "{entries}");
        let entries = entries.as_array().unwrap();
        let ops: Vec<&str> = entries.iter().map(|e| e["operation"].as_str().unwrap()).collect();
        assert_eq!(ops, ["record.create", "user.login"], "{text}: {entries:?}");
        assert!(entries.iter().all(|e| e["actor"] == address), "{entries:?}");
    }
    // The administrator's entries about the user (its creation, its deletion) are not theirs.
    let (_, none) = app.get("/api/v1/audit?actor=leaver&operation=user.delete", &t.admin_token).await;
    assert_eq!(none, json!([]));

    // The deletion kept the user's email and name for the filter, sealed: nothing in the clear.
    let departed = raw_departed(&app.db_url, tenant_uuid(&app, "acme").await).await;
    assert_eq!(departed.len(), 1, "{departed:?}");
    let (kind, label, name) = &departed[0];
    assert_eq!(kind, "user");
    for stored in [label, name.as_ref().unwrap()] {
        assert!(stored.starts_with('\u{1}'), "sealed: {stored:?}");
        for plain in ["leaver", "canary", "acme", "退職", "花子"] {
            assert!(!stored.contains(plain), "{plain} stored in the clear");
        }
    }
    app.verify_audit().await;
}
