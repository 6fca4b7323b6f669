//! Sign-in, sessions, users, roles and API keys through the API, and the permission matrix
//! (IAM-2): every endpoint against every built-in role and a role with no permissions.

use crate::helpers::*;
use jiff::SignedDuration;
use reqwest::StatusCode;
use serde_json::{Value, json};

pub(crate) async fn user_with_role(app: &TestApp, t: &TenantFixture, email: &str, role: &str) -> String {
    let (s, body) = app
        .post(
            "/api/v1/users",
            &t.admin_token,
            json!({"email": email, "display_name": "テスト", "role": role, "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    app.login(&t.slug, email, PASSWORD).await
}

#[tokio::test]
async fn iam_2_permission_matrix_covers_every_endpoint_and_role() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    let (s, body) = app
        .post("/api/v1/roles", &t.admin_token, json!({"key": "nothing", "label": "権限なし", "permissions": []}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let tokens = [
        ("tenant_admin", t.admin_token.clone()),
        ("editor", user_with_role(&app, &t, "e@acme.example.jp", "editor").await),
        ("viewer", user_with_role(&app, &t, "v@acme.example.jp", "viewer").await),
        ("nothing", user_with_role(&app, &t, "n@acme.example.jp", "nothing").await),
    ];
    let missing = "01900000-0000-7000-8000-000000000000";
    let rec = format!("/api/v1/collections/customers/records/{missing}");
    // (method, path, body, required permission or None for any authenticated principal)
    let matrix: Vec<(&str, String, Option<Value>, Option<&str>)> = vec![
        ("GET", "/api/v1/me".into(), None, None),
        ("GET", "/api/v1/collections".into(), None, Some("records.read")),
        (
            "POST",
            "/api/v1/collections".into(),
            Some(json!({"name": "notes", "label": "メモ"})),
            Some("collections.manage"),
        ),
        ("GET", "/api/v1/collections/customers".into(), None, Some("records.read")),
        (
            "PUT",
            "/api/v1/collections/nosuch".into(),
            Some(json!({"name": "nosuch", "label": "x"})),
            Some("collections.manage"),
        ),
        ("DELETE", "/api/v1/collections/nosuch".into(), None, Some("collections.manage")),
        ("GET", "/api/v1/collections/customers/records".into(), None, Some("records.read")),
        ("POST", "/api/v1/collections/customers/records".into(), Some(json!({"points": 1})), Some("records.write")),
        ("GET", rec.clone(), None, Some("records.read")),
        ("PATCH", rec.clone(), Some(json!({"points": 2})), Some("records.write")),
        ("DELETE", rec.clone(), None, Some("records.delete")),
        ("GET", "/api/v1/users".into(), None, Some("users.manage")),
        (
            "POST",
            "/api/v1/users".into(),
            Some(json!({"email": "x@acme.example.jp", "display_name": "x", "role": "viewer"})),
            Some("users.manage"),
        ),
        ("GET", format!("/api/v1/users/{missing}"), None, Some("users.manage")),
        ("PATCH", format!("/api/v1/users/{missing}"), Some(json!({"display_name": "y"})), Some("users.manage")),
        ("DELETE", format!("/api/v1/users/{missing}"), None, Some("users.manage")),
        ("GET", "/api/v1/roles".into(), None, Some("roles.manage")),
        (
            "POST",
            "/api/v1/roles".into(),
            Some(json!({"key": "r2", "label": "r2", "permissions": []})),
            Some("roles.manage"),
        ),
        ("GET", format!("/api/v1/roles/{missing}"), None, Some("roles.manage")),
        ("PATCH", format!("/api/v1/roles/{missing}"), Some(json!({"label": "z"})), Some("roles.manage")),
        ("DELETE", format!("/api/v1/roles/{missing}"), None, Some("roles.manage")),
        ("GET", "/api/v1/api-keys".into(), None, Some("apikeys.manage")),
        ("POST", "/api/v1/api-keys".into(), Some(json!({"name": "k", "role": "viewer"})), Some("apikeys.manage")),
        ("DELETE", format!("/api/v1/api-keys/{missing}"), None, Some("apikeys.manage")),
        ("GET", "/api/v1/audit".into(), None, Some("audit.read")),
    ];
    for (role, token) in &tokens {
        let (_, me) = app.get("/api/v1/me", token).await;
        let perms: Vec<String> = serde_json::from_value(me["permissions"].clone()).unwrap();
        for (method, path, body, needed) in &matrix {
            let (s, resp) = app.send(method, path, Some(token), body.clone()).await;
            let allowed = needed.is_none_or(|p| perms.iter().any(|x| x == p));
            if allowed {
                assert!(
                    s != StatusCode::FORBIDDEN && s != StatusCode::UNAUTHORIZED,
                    "{role} {method} {path}: {s} {resp}"
                );
            } else {
                assert_eq!(s, StatusCode::FORBIDDEN, "{role} {method} {path} should be forbidden: {resp}");
                assert_eq!(resp["code"], "forbidden");
            }
        }
        // No token at all is always 401.
        for (method, path, body, _) in &matrix {
            let (s, _) = app.send(method, path, None, body.clone()).await;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "anonymous {method} {path}");
        }
    }
}

#[tokio::test]
async fn log_1_failed_login_is_refused_generically_and_audited() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    for (slug, email, pw) in [
        ("acme", t.admin_email.as_str(), "wrong-password"),
        ("acme", "nobody@acme.example.jp", PASSWORD),
        ("nosuch", "a@b.jp", PASSWORD),
    ] {
        let (s, body) = app
            .send("POST", "/api/v1/sessions", None, Some(json!({"tenant": slug, "email": email, "password": pw})))
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(body["detail"], "the tenant, email address or password is wrong");
    }
    let (_, entries) = app.get("/api/v1/audit?operation=user.login_failed", &t.admin_token).await;
    let entries = entries.as_array().unwrap();
    assert_eq!(entries.len(), 2, "failures in this tenant are in its log");
    assert!(entries.iter().all(|e| e["outcome"] == "failure" && e["source_ip"] == "127.0.0.1"));
    app.verify_audit().await;
}

#[tokio::test]
async fn iam_9_sessions_end_at_logout_absolute_and_idle_timeouts() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let (s, _) = app.send("DELETE", "/api/v1/sessions/current", Some(&t.admin_token), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/api/v1/me", &t.admin_token).await.0, StatusCode::UNAUTHORIZED);

    // Idle: 60 minutes without a request ends the session.
    let token = app.login("acme", &t.admin_email, PASSWORD).await;
    app.clock.advance(SignedDuration::from_mins(59));
    assert_eq!(app.get("/api/v1/me", &token).await.0, StatusCode::OK);
    app.clock.advance(SignedDuration::from_mins(61));
    assert_eq!(app.get("/api/v1/me", &token).await.0, StatusCode::UNAUTHORIZED);

    // Absolute: 3 hours after sign-in, however active.
    let token = app.login("acme", &t.admin_email, PASSWORD).await;
    for _ in 0..5 {
        app.clock.advance(SignedDuration::from_mins(35));
        assert_eq!(app.get("/api/v1/me", &token).await.0, StatusCode::OK);
    }
    app.clock.advance(SignedDuration::from_mins(10));
    assert_eq!(app.get("/api/v1/me", &token).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn iam_1_user_lifecycle_disable_and_delete_keep_audit_trail() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let token = user_with_role(&app, &t, "staff@acme.example.jp", "editor").await;
    let (_, users) = app.get("/api/v1/users", &t.admin_token).await;
    let id = users.as_array().unwrap().iter().find(|u| u["email"] == "staff@acme.example.jp").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, u) = app.patch(&format!("/api/v1/users/{id}"), &t.admin_token, json!({"status": "disabled"})).await;
    assert_eq!((s, u["status"].as_str()), (StatusCode::OK, Some("disabled")));
    assert_eq!(app.get("/api/v1/me", &token).await.0, StatusCode::UNAUTHORIZED, "disabled users are signed out");
    let (s, _) = app
        .send(
            "POST",
            "/api/v1/sessions",
            None,
            Some(json!({"tenant": "acme", "email": "staff@acme.example.jp", "password": PASSWORD})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = app.delete(&format!("/api/v1/users/{id}"), &t.admin_token).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, entries) = app.get("/api/v1/audit?actor=staff%40acme", &t.admin_token).await;
    assert!(
        entries.as_array().unwrap().iter().any(|e| e["operation"] == "user.login"),
        "the deleted user's entries remain"
    );
    // The administrator cannot lock themselves out.
    let (_, me_users) = app.get("/api/v1/users", &t.admin_token).await;
    let admin_id = me_users[0]["id"].as_str().unwrap().to_owned();
    let (s, _) = app.delete(&format!("/api/v1/users/{admin_id}"), &t.admin_token).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    app.verify_audit().await;
}

#[tokio::test]
async fn iam_2_roles_cannot_grant_more_than_their_author_has() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    app.post("/api/v1/roles", &t.admin_token, json!({"key": "hr", "label": "人事", "permissions": ["users.manage"]}))
        .await;
    let hr = user_with_role(&app, &t, "hr@acme.example.jp", "hr").await;
    let (s, body) = app
        .post(
            "/api/v1/users",
            &hr,
            json!({"email": "boss@acme.example.jp", "display_name": "x", "role": "tenant_admin", "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let (s, _) = app
        .post(
            "/api/v1/users",
            &hr,
            json!({"email": "peer@acme.example.jp", "display_name": "x", "role": "hr", "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, roles) = app.get("/api/v1/roles", &t.admin_token).await;
    let admin_role = roles.as_array().unwrap().iter().find(|r| r["key"] == "tenant_admin").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, _) = app.patch(&format!("/api/v1/roles/{admin_role}"), &t.admin_token, json!({"label": "x"})).await;
    assert_eq!(s, StatusCode::CONFLICT, "built-in roles are fixed");
}

#[tokio::test]
async fn iam_12_api_keys_shown_once_scoped_revocable_and_expiring() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    let (s, created) = app
        .post("/api/v1/api-keys", &t.admin_token, json!({"name": "CRM連携", "role": "viewer", "expires_in_days": 30}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let key = created["token"].as_str().unwrap().to_owned();
    assert!(key.starts_with("kura_"));
    let (s, me) = app.get("/api/v1/me", &key).await;
    assert_eq!((s, me["actor_kind"].as_str()), (StatusCode::OK, Some("api_key")));
    assert_eq!(app.get("/api/v1/collections/customers/records", &key).await.0, StatusCode::OK);
    assert_eq!(
        app.post("/api/v1/collections/customers/records", &key, json!({"name": "x"})).await.0,
        StatusCode::FORBIDDEN
    );
    let (_, list) = app.get("/api/v1/api-keys", &t.admin_token).await;
    assert!(!list.to_string().contains(&key[20..]), "the secret is never listed");
    assert!(list[0]["last_used_at"].is_string());
    app.clock.advance(SignedDuration::from_hours(24 * 31));
    assert_eq!(app.get("/api/v1/me", &key).await.0, StatusCode::UNAUTHORIZED, "expired");

    let t2 = app.login("acme", &t.admin_email, PASSWORD).await;
    let (_, created) = app.post("/api/v1/api-keys", &t2, json!({"name": "batch", "role": "editor"})).await;
    let key = created["token"].as_str().unwrap().to_owned();
    let id = created["key"]["id"].as_str().unwrap();
    assert_eq!(app.delete(&format!("/api/v1/api-keys/{id}"), &t2).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/api/v1/me", &key).await.0, StatusCode::UNAUTHORIZED, "revoked");
    let (s, _) = app.post("/api/v1/api-keys", &t2, json!({"name": "bad", "role": "nosuch"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let garbage = format!("kura_{}_{}", "0".repeat(32), "x".repeat(43));
    assert_eq!(app.get("/api/v1/me", &garbage).await.0, StatusCode::UNAUTHORIZED);
}
