//! Refused requests leave a trace (LOG-1): permission refusals, CSRF refusals and refused
//! operator sign-ins are audited with actor, address, operation and outcome `denied`, one entry
//! per kind and minute plus one that counts the rest.

use crate::access::user_with_role;
use crate::console_client::{Console, csrf_of, english_sentences};
use crate::helpers::*;
use jiff::SignedDuration;
use kura_domain::{AuditEntry, AuditScope, Operation, Outcome};
use kura_store::AuditFilter;
use reqwest::StatusCode;
use reqwest::header::ORIGIN;
use serde_json::{Value, json};

async fn entries(app: &TestApp, t: &TenantFixture, operation: &str) -> Vec<Value> {
    let (s, list) = app.get(&format!("/api/v1/audit?operation={operation}"), &t.admin_token).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    list.as_array().unwrap().clone()
}

async fn platform(app: &TestApp, operation: Operation) -> Vec<AuditEntry> {
    let filter = AuditFilter { operation: Some(operation), ..AuditFilter::default() };
    app.state.store.audit_entries(AuditScope::Platform, &filter).await.unwrap()
}

#[tokio::test]
async fn log_1_permission_refusals_are_audited_once_a_minute_with_a_count() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let viewer = user_with_role(&app, &t, "v@acme.example.jp", "viewer").await;
    for _ in 0..5 {
        assert_eq!(app.get("/api/v1/users", &viewer).await.0, StatusCode::FORBIDDEN);
    }
    let denied = entries(&app, &t, "access.denied").await;
    assert_eq!(denied.len(), 1, "a flood is one entry: {denied:?}");
    let e = &denied[0];
    assert_eq!(e["outcome"], "denied");
    assert_eq!(e["actor"], "v@acme.example.jp");
    assert_eq!(e["actor_role"], "viewer");
    assert_eq!(e["source_ip"], "127.0.0.1");
    assert_eq!(e["target"], "GET /api/v1/users");
    assert_eq!(e["detail"], "missing permission users.manage");

    // Once the minute is over, the rest are counted in one entry.
    app.clock.advance(SignedDuration::from_secs(61));
    app.state.denials.flush_due(&app.state).await;
    let denied = entries(&app, &t, "access.denied").await;
    assert_eq!(denied.len(), 2);
    assert!(denied[0]["detail"].as_str().unwrap().starts_with("repeated=4 in the 60 s after"), "{}", denied[0]);
    // The next refusal opens a new minute with an entry of its own.
    let (s, _) = app
        .patch(&format!("/api/v1/users/{}", "01900000-0000-7000-8000-000000000000"), &viewer, serde_json::json!({}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(entries(&app, &t, "access.denied").await.len(), 3);
    // Nothing was refused in the platform's log.
    assert!(platform(&app, Operation::AccessDenied).await.is_empty());
    app.verify_audit().await;
}

#[tokio::test]
async fn log_1_csrf_refusals_are_audited_in_the_tenants_log() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let console = Console::new(&app);
    console.login("acme", &t.admin_email, PASSWORD).await;
    // A wrong token, and a post from another site with the right one.
    let page = console.post("/console/users/new", &[("_csrf", "forged"), ("email", "x@acme.example.jp")]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let token = csrf_of(&console.get("/console").await.body);
    let resp = console
        .client
        .post(format!("{}/console/logout", app.address))
        .header(ORIGIN, "https://evil.example")
        .form(&[("_csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let refused = entries(&app, &t, "access.csrf_refused").await;
    assert_eq!(refused.len(), 1, "the second refusal of the minute is counted: {refused:?}");
    assert_eq!(refused[0]["actor"], t.admin_email.as_str());
    assert_eq!(refused[0]["outcome"], "denied");
    assert_eq!(refused[0]["target"], "POST /console/users/new");
    app.clock.advance(SignedDuration::from_secs(60));
    app.state.denials.flush_due(&app.state).await;
    let refused = entries(&app, &t, "access.csrf_refused").await;
    assert_eq!(refused.len(), 2);
    assert!(refused[0]["detail"].as_str().unwrap().contains("repeated=1"), "{}", refused[0]);
    assert_eq!(refused[0]["target"], "POST /console/logout", "the count names the last one");
    assert_eq!(console.get("/console").await.status, StatusCode::OK, "still signed in");

    // A sign-in form posted from another site has no principal: the platform's log has it.
    let resp = app
        .client
        .post(format!("{}/console/login", app.address))
        .header(ORIGIN, "https://evil.example")
        .form(&[("tenant", "acme"), ("email", "x@y.jp"), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let anon = platform(&app, Operation::CsrfRefused).await;
    assert_eq!(anon.len(), 1);
    assert_eq!((anon[0].actor.label.as_str(), anon[0].actor.source_ip.as_deref()), ("anonymous", Some("127.0.0.1")));
    app.verify_audit().await;
}

#[tokio::test]
async fn log_1_refused_operator_sign_ins_are_audited_as_denied_and_throttled() {
    let app = spawn_app().await;
    app.operator("ops@example.jp").await;
    let console = Console::new(&app);
    for _ in 0..3 {
        let page =
            console.post("/operator/login", &[("email", "ops@example.jp"), ("password", "wrong-password")]).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    }
    let failed = platform(&app, Operation::OperatorLoginFailed).await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].outcome, Outcome::Denied);
    assert_eq!(failed[0].actor.source_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(failed[0].target.as_deref(), Some("operator:ops@example.jp"));
    // Shutting down writes what was counted, even inside the minute.
    app.state.denials.flush_all(&app.state).await;
    let failed = platform(&app, Operation::OperatorLoginFailed).await;
    assert_eq!(failed.len(), 2);
    assert!(failed[0].detail.as_deref().unwrap().starts_with("repeated=2"), "{:?}", failed[0]);
    // A correct sign-in still works and is no refusal.
    let page = console.post("/operator/login", &[("email", "ops@example.jp"), ("password", PASSWORD)]).await;
    assert_eq!(page.location.as_deref(), Some("/operator/login/second-factor"));
    app.verify_audit().await;
}

#[tokio::test]
async fn log_1_the_console_log_reads_refusals_and_security_changes_in_the_readers_language() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    let viewer = user_with_role(&app, &t, "v@acme.example.jp", "viewer").await;
    for _ in 0..3 {
        assert_eq!(app.get("/api/v1/users", &viewer).await.0, StatusCode::FORBIDDEN);
    }
    app.clock.advance(SignedDuration::from_secs(61));
    app.state.denials.flush_due(&app.state).await;
    // A role loses a permission, a field becomes personal information, a user is disabled.
    let sales = json!({"key": "sales", "label": "営業", "permissions": ["records.read", "records.write"]});
    let (_, role) = app.post("/api/v1/roles", &t.admin_token, sales).await;
    let path = format!("/api/v1/roles/{}", role["id"].as_str().unwrap());
    assert_eq!(app.patch(&path, &t.admin_token, json!({"permissions": ["records.read"]})).await.0, StatusCode::OK);
    let mut spec = customers_spec();
    spec["fields"][1]["pii"] = json!(true);
    let (s, body) = app.send("PUT", "/api/v1/collections/customers", Some(&t.admin_token), Some(spec)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, users) = app.get("/api/v1/users", &t.admin_token).await;
    let v = users.as_array().unwrap().iter().find(|u| u["email"] == "v@acme.example.jp").unwrap()["id"].clone();
    let path = format!("/api/v1/users/{}", v.as_str().unwrap());
    assert_eq!(app.patch(&path, &t.admin_token, json!({"status": "disabled"})).await.0, StatusCode::OK);

    let console = Console::new(&app);
    console.login("acme", &t.admin_email, PASSWORD).await;
    console.get("/console/lang?to=ja&back=/console").await;
    let log = console.get("/console/audit").await;
    assert_eq!(log.status, StatusCode::OK);
    for shown in [
        r#"<option value="access.denied">"#,
        r#"<option value="access.csrf_refused">"#,
        r#"<option value="view.update">"#,
        "理由</span>: 「ユーザー管理」の権限がありません。",
        "その後1分間の繰り返し</span>: さらに2回",
        r#"権限</span>: <span class="before">レコードの閲覧、レコードの作成・編集</span> → <span class="after">レコードの閲覧</span>"#,
        "個人情報に指定した項目</span>: フリガナ",
        "失効させたAPIキー</span>: 0件",
    ] {
        assert!(log.body.contains(shown), "{shown} not in the operation log");
    }
    let english = english_sentences(&log.body);
    assert!(english.is_empty(), "untranslated text in the operation log: {english:?}");
}
