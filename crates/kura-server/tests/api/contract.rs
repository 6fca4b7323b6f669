//! Answers in Kura's own format wherever a request goes wrong (405, 414, malformed queries: the
//! API's problem+json, the consoles' pages), direction characters refused in names and shown
//! escaped in record values, and `/metrics` only for the configured networks or token (MON-2).

use crate::console_client::Console;
use crate::helpers::*;
use reqwest::StatusCode;
use reqwest::header::{ALLOW, AUTHORIZATION, CONTENT_TYPE, LOCATION};
use serde_json::json;

async fn raw(app: &TestApp, method: &str, path: &str) -> reqwest::Response {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    app.client.request(method, format!("{}{path}", app.address)).send().await.unwrap()
}

fn content_type(r: &reqwest::Response) -> String {
    r.headers().get(CONTENT_TYPE).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

#[tokio::test]
async fn wrong_method_long_uri_and_bad_query_answer_in_kuras_format() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;

    // 405 on the API: problem+json, with the methods that are allowed.
    let r = raw(&app, "PUT", "/api/v1/me").await;
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers().get(ALLOW).unwrap(), "GET,HEAD");
    assert_eq!(content_type(&r), "application/problem+json");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "method_not_allowed");
    // 405 in the console: a page.
    let r = raw(&app, "DELETE", "/console/login").await;
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(r.headers().get(ALLOW).is_some());
    assert!(content_type(&r).starts_with("text/html"), "{}", content_type(&r));

    // 414 over 8 KiB, in both.
    let long = "a".repeat(9000);
    let (s, body) = app.get(&format!("/api/v1/collections?q={long}"), &t.admin_token).await;
    assert_eq!((s, body["code"].as_str()), (StatusCode::URI_TOO_LONG, Some("uri_too_long")));
    let r = raw(&app, "GET", &format!("/console/audit?actor={long}")).await;
    assert_eq!(r.status(), StatusCode::URI_TOO_LONG);
    assert!(content_type(&r).starts_with("text/html"));

    // A query axum cannot read: problem+json on the API, a page in the console.
    let (s, body) = app.get("/api/v1/audit?limit=many", &t.admin_token).await;
    assert_eq!((s, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_request")));
    let console = Console::new(&app);
    console.login("acme", &t.admin_email, PASSWORD).await;
    let page = console.get("/console/audit?actor=a&actor=b").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("<html"), "{}", page.body);
}

#[tokio::test]
async fn console_language_switch_without_parameters_returns_to_the_console() {
    let app = spawn_app().await;
    let r = raw(&app, "GET", "/console/lang").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers().get(LOCATION).unwrap(), "/console");
    assert!(r.headers().get("set-cookie").is_none(), "no language, nothing remembered");
    let r = raw(&app, "GET", "/console/lang?to=ja&back=/console/users").await;
    assert_eq!(r.headers().get(LOCATION).unwrap(), "/console/users");
    let cookie = r.headers().get("set-cookie").unwrap().to_str().unwrap().to_owned();
    assert!(cookie.starts_with("kura_lang=ja") && cookie.contains("SameSite=Lax"), "{cookie}");
}

#[tokio::test]
async fn pub_2_direction_characters_are_refused_in_names_and_escaped_in_record_values() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let (s, body) = app
        .post(
            "/api/v1/users",
            &t.admin_token,
            json!({"email": "x@acme.example.jp", "display_name": "経理\u{202E}fdp.exe", "role": "viewer"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    let (s, _) = app.post("/api/v1/api-keys", &t.admin_token, json!({"name": "sync\u{2066}x", "role": "viewer"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = app
        .post("/api/v1/roles", &t.admin_token, json!({"key": "r", "label": "営業\u{202D}", "permissions": []}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(app.get("/api/v1/users", &t.admin_token).await.1.as_array().unwrap().len(), 1, "nothing created");

    // A record value may hold one (it is data), but the console shows it written out.
    app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    let (s, r) = app
        .post("/api/v1/collections/customers/records", &t.admin_token, json!({"name": "請求書\u{202E}fdp.exe"}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    // The list (as the administrator) and the record's page (as a reader, who sees it read-only).
    let perms = json!({"key": "reader", "label": "reader", "permissions": ["records.read", "pii.read"]});
    assert_eq!(app.post("/api/v1/roles", &t.admin_token, perms).await.0, StatusCode::CREATED);
    crate::access::user_with_role(&app, &t, "v@acme.example.jp", "reader").await;
    let record = format!("/console/collections/customers/records/{}", r["id"].as_str().unwrap());
    for (email, path) in [(t.admin_email.as_str(), "/console/collections/customers"), ("v@acme.example.jp", &record)] {
        let console = Console::new(&app);
        console.login("acme", email, PASSWORD).await;
        let page = console.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(page.body.contains("請求書[U+202E]fdp.exe"), "{path}");
        assert!(!page.body.contains('\u{202E}'), "{path}");
    }
}

#[tokio::test]
async fn mon_2_metrics_are_served_only_to_configured_networks_or_the_token() {
    // Loopback by default: the test client is on it.
    let app = spawn_app().await;
    let r = raw(&app, "GET", "/metrics").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("kura_logins_total"));

    let token = "metrics-token-0123456789";
    let app = spawn_app_with(|s| {
        s.metrics.allow_from = vec!["10.0.0.0/8".parse().unwrap()];
        s.metrics.token = kura_server::settings::Secret::new(token);
    })
    .await;
    let r = raw(&app, "GET", "/metrics").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(content_type(&r), "application/problem+json");
    let get =
        |auth: &'static str| app.client.get(format!("{}/metrics", app.address)).header(AUTHORIZATION, auth).send();
    assert_eq!(get("Bearer wrong-token-0123456789").await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(get("Bearer metrics-token-0123456789").await.unwrap().status(), StatusCode::OK);
    // The refusals are in the platform's log.
    let filter =
        kura_store::AuditFilter { operation: Some(kura_domain::Operation::AccessDenied), ..Default::default() };
    let denied = app.state.store.audit_entries(kura_domain::AuditScope::Platform, &filter).await.unwrap();
    assert_eq!(denied.len(), 1, "two refusals in a minute, one entry");
    assert_eq!(denied[0].target.as_deref(), Some("GET /metrics"));
}
