//! Sign-in, sessions, users, roles and API keys through the API, and the permission matrices
//! (IAM-2): every declared route of the API and the consoles, enumerated from Kura's own route
//! table, against every built-in role, a role with no permissions and a role manager.

use crate::console_client::{Console, csrf_of};
use crate::helpers::*;
use jiff::SignedDuration;
use kura_server::routes::{Access, Route, Verb};
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

/// A missing id: routes that take one answer 404 to those allowed, 403 to the others.
const MISSING: &str = "01900000-0000-7000-8000-000000000000";

/// A concrete path for a declared route: `{name}` is the customers collection and `{field}` its
/// `name` field, except where the route would delete or replace them (there: names that do not
/// exist); every `{id}` is an id that does not exist.
fn concrete(verb: Verb, path: &str) -> String {
    let destructive = matches!(verb, Verb::Delete | Verb::Put) || path.ends_with("/delete");
    let (name, field) = if destructive { ("nosuch", "nosuch") } else { ("customers", "name") };
    // Routes with required query parameters get them, so that the request reaches the
    // permission check (a malformed query is refused before it, like a malformed body).
    let query = match path {
        "/api/v1/audit/proofs/inclusion" => "?seq=1",
        "/api/v1/audit/proofs/consistency" => "?first=1&second=1",
        _ => "",
    };
    path.replace("{name}", name).replace("{field}", field).replace("{id}", MISSING) + query
}

/// A body of the right shape for each API route that takes one, so that the request reaches
/// the permission check (a malformed body is refused before it). A new route that takes a body
/// needs one here.
pub(crate) fn sample_body(verb: Verb, path: &str) -> Option<Value> {
    let body = match (verb, path) {
        (Verb::Get | Verb::Delete, _) => return None,
        (Verb::Post, "/api/v1/sessions") => json!({"tenant": "acme", "email": "x@acme.example.jp", "password": "x"}),
        (Verb::Post, "/api/v1/collections") => json!({"name": "notes", "label": "メモ"}),
        (Verb::Post, "/api/v1/exports") => json!({"kind": "collection", "collection": "customers"}),
        (Verb::Put, "/api/v1/collections/{name}") => json!({"name": "customers", "label": "顧客"}),
        (Verb::Post, "/api/v1/collections/{name}/records") => json!({"points": 1}),
        (Verb::Patch, "/api/v1/collections/{name}/records/{id}") => json!({"points": 2}),
        // A count no selection holds here: allowed roles get 409, and nothing changes.
        (Verb::Post, "/api/v1/collections/{name}/records/bulk-delete") => json!({"expected_count": 9999}),
        (Verb::Post, "/api/v1/collections/{name}/records/bulk-update") => {
            json!({"set": {"points": 3}, "expected_count": 9999})
        }
        (Verb::Post, "/api/v1/users") => json!({"email": "x@acme.example.jp", "display_name": "x", "role": "viewer"}),
        (Verb::Patch, "/api/v1/users/{id}") => json!({"display_name": "y"}),
        (Verb::Post, "/api/v1/roles") => json!({"key": "r2", "label": "r2", "permissions": []}),
        (Verb::Patch, "/api/v1/roles/{id}") => json!({"label": "z"}),
        (Verb::Post, "/api/v1/api-keys") => json!({"name": "k", "role": "viewer"}),
        (Verb::Post, "/api/v1/api-keys/{id}/rotate") => json!({"grace_minutes": 0}),
        (Verb::Post, "/api/v1/client-certificates") => json!({"holder": "matrix", "days": 1}),
        (Verb::Post, "/api/v1/password-resets") => json!({"tenant": "acme", "email": "x@acme.example.jp"}),
        (Verb::Post, "/api/v1/password-links") => json!({"kind": "reset", "token": "x", "new_password": "y"}),
        // A wrong current password: allowed principals get 422, and nothing changes.
        (Verb::Put, "/api/v1/me/password") => json!({"current_password": "wrong", "new_password": "y"}),
        (Verb::Put, "/api/v1/settings/security") => {
            let defaults = kura_domain::SecurityPolicy::defaults(180, 60);
            let mut body = serde_json::to_value(defaults).unwrap();
            body["revision"] = 0.into();
            body
        }
        // The zone it already has: allowed principals get 200, and nothing changes.
        (Verb::Put, "/api/v1/settings/time-zone") => json!({"time_zone": "Asia/Tokyo"}),
        // A header without rows: checked, and nothing to write.
        (Verb::Post, "/api/v1/collections/{name}/import/preview" | "/api/v1/collections/{name}/import") => {
            json!({"file": "5rCP5ZCNDQo="})
        }
        (Verb::Post, "/api/v1/sessions/second-factor") => json!({"challenge": "x", "code": "123456"}),
        (Verb::Post, "/api/v1/me/second-factors/confirm") => json!({"code": "000000"}),
        (Verb::Post, "/api/v1/me/second-factors" | "/api/v1/me/recovery-codes") => return None,
        // Passkeys need a public URL naming a domain: allowed principals get 409 here, and a
        // credential that is no credential a 422; nothing changes.
        (Verb::Post, "/api/v1/me/passkeys") => json!({"name": "matrix"}),
        (Verb::Post, "/api/v1/me/passkeys/registrations/{id}") => json!({"credential": {}}),
        (Verb::Post, "/api/v1/audit/checkpoint") => return None,
        // Encryption at rest is off in these tests: allowed principals get a 409, nothing changes.
        (Verb::Post, "/api/v1/keys/rotate") => return None,
        (
            Verb::Post,
            "/api/v1/break-glass/{id}/approve" | "/api/v1/break-glass/{id}/refuse" | "/api/v1/break-glass/{id}/end",
        ) => {
            return None;
        }
        (Verb::Post, "/api/v1/users/import") => json!({"csv": "email,display_name,role\n", "dry_run": true}),
        (
            Verb::Post,
            "/api/v1/users/{id}/unlock" | "/api/v1/users/{id}/setup-link" | "/api/v1/users/{id}/one-time-password",
        ) => {
            return None;
        }
        _ => panic!("no sample body for {} {path}: add one", verb.as_str()),
    };
    Some(body)
}

/// The principals of the matrix: the three built-in roles, a role without permissions, and a
/// role manager with nothing else.
async fn matrix_principals(app: &TestApp, t: &TenantFixture) -> Vec<(&'static str, String, Vec<String>, String)> {
    for (key, permissions) in [("nothing", json!([])), ("rolemgr", json!(["roles.manage", "records.read"]))] {
        let (s, body) = app
            .post("/api/v1/roles", &t.admin_token, json!({"key": key, "label": key, "permissions": permissions}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
    }
    let mut out = vec![("tenant_admin", t.admin_token.clone(), t.admin_email.clone())];
    for role in ["editor", "viewer", "nothing", "rolemgr"] {
        let email = format!("{role}@acme.example.jp");
        out.push((role, user_with_role(app, t, &email, role).await, email));
    }
    let mut principals = Vec::new();
    for (role, token, email) in out {
        let (_, me) = app.get("/api/v1/me", &token).await;
        let perms: Vec<String> = serde_json::from_value(me["permissions"].clone()).unwrap();
        principals.push((role, token, perms, email));
    }
    principals
}

fn allowed(access: Access, perms: &[String]) -> bool {
    match access {
        Access::Public | Access::Tenant => true,
        Access::Permission(p) => perms.iter().any(|x| x == p.as_str()),
        Access::AllOf(all) => all.iter().all(|p| perms.iter().any(|x| x == p.as_str())),
        Access::Operator => false,
    }
}

#[tokio::test]
async fn iam_2_permission_matrix_covers_every_api_route_and_role() {
    let app = spawn_app_with(|s| s.limits.records_per_minute_without_export = 1).await;
    let t = app.tenant("acme").await;
    app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    let principals = matrix_principals(&app, &t).await;
    let routes: Vec<Route> = kura_server::routes().into_iter().filter(|r| r.path.starts_with("/api/v1/")).collect();
    assert!(routes.len() >= 28, "the API's routes are enumerated: {routes:?}");
    for (role, token, perms, _) in &principals {
        for r in &routes {
            // Signing out would end the session the rest of the matrix uses (the iam_9 tests
            // cover it).
            if r.access == Access::Public || r.path == "/api/v1/sessions/current" {
                continue;
            }
            let (method, path) = (r.verb.as_str(), concrete(r.verb, r.path));
            let (s, resp) = app.send(method, &path, Some(token), sample_body(r.verb, r.path)).await;
            if allowed(r.access, perms) {
                assert!(
                    s != StatusCode::FORBIDDEN && s != StatusCode::UNAUTHORIZED,
                    "{role} {method} {path}: {s} {resp}"
                );
            } else {
                assert_eq!(s, StatusCode::FORBIDDEN, "{role} {method} {path} should be forbidden: {resp}");
                assert_eq!(resp["code"], "forbidden");
            }
        }
    }
    // Without a credential every route but the public ones is 401.
    for r in &routes {
        let (s, _) = app.send(r.verb.as_str(), &concrete(r.verb, r.path), None, sample_body(r.verb, r.path)).await;
        let expected = if r.access == Access::Public { s } else { StatusCode::UNAUTHORIZED };
        assert_eq!(s, expected, "anonymous {} {}", r.verb.as_str(), r.path);
        assert_ne!(s, StatusCode::FORBIDDEN);
    }
    // Every route is in the API document, and the document has no route that is not routed.
    let doc: Value = serde_json::from_str(&kura_server::api::openapi::document()).unwrap();
    let mut documented: Vec<String> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    let mut routed: Vec<String> = routes
        .iter()
        .filter(|r| r.path != "/api/v1/openapi.json")
        .map(|r| format!("{} {}", r.verb.as_str(), r.path))
        .collect();
    documented.sort();
    routed.sort();
    assert_eq!(documented, routed);

    // records.export: bulk listing (here: more than one record a minute) needs it.
    app.post("/api/v1/collections/customers/records", &t.admin_token, json!({"name": "a"})).await;
    let list = "/api/v1/collections/customers/records";
    for (role, token, perms, _) in &principals {
        if !perms.iter().any(|p| p == "records.read") {
            continue;
        }
        let first = app.get(list, token).await.0;
        let second = app.get(list, token).await;
        assert_eq!(first, StatusCode::OK, "{role}");
        if perms.iter().any(|p| p == "records.export") {
            assert_eq!(second.0, StatusCode::OK, "{role}: {}", second.1);
        } else {
            assert_eq!(second.0, StatusCode::FORBIDDEN, "{role}: {}", second.1);
        }
    }

    // roles.manage alone does not reach a role stronger than the manager's own.
    let (_, roles) = app.get("/api/v1/roles", &t.admin_token).await;
    let nothing = roles.as_array().unwrap().iter().find(|r| r["key"] == "nothing").unwrap()["id"].clone();
    let (s, body) = app
        .post("/api/v1/roles", &t.admin_token, json!({"key": "strong", "label": "s", "permissions": ["records.write"]}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let mgr = &principals.iter().find(|p| p.0 == "rolemgr").unwrap().1;
    let weaken = json!({"permissions": []});
    let (s, _) = app.patch(&format!("/api/v1/roles/{}", body["id"].as_str().unwrap()), mgr, weaken.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "weakening a stronger role");
    let (s, _) = app.patch(&format!("/api/v1/roles/{}", nothing.as_str().unwrap()), mgr, weaken).await;
    assert_eq!(s, StatusCode::OK, "a role within the manager's own");
}

#[tokio::test]
async fn iam_2_permission_matrix_covers_every_console_route_and_role() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    let principals = matrix_principals(&app, &t).await;
    let routes: Vec<Route> = kura_server::routes().into_iter().filter(|r| r.path.starts_with("/console")).collect();
    assert!(routes.len() >= 40, "the console's routes are enumerated: {routes:?}");
    for (role, _, perms, email) in &principals {
        let console = Console::new(&app);
        console.login("acme", email, PASSWORD).await;
        let csrf = csrf_of(&console.get("/console").await.body);
        for r in &routes {
            // Signing out would end the session the rest of the matrix uses.
            if r.access == Access::Public || r.path == "/console/logout" {
                continue;
            }
            let path = concrete(r.verb, r.path);
            let page = match r.verb {
                Verb::Get => console.get(&path).await,
                _ => console.post(&path, &[("_csrf", &csrf)]).await,
            };
            let verb = r.verb.as_str();
            if allowed(r.access, perms) {
                assert!(page.status != StatusCode::FORBIDDEN, "{role} {verb} {path}: {}", page.status);
                assert_ne!(page.location.as_deref(), Some("/console/login"), "{role} {verb} {path}");
            } else {
                assert_eq!(page.status, StatusCode::FORBIDDEN, "{role} {verb} {path} should be forbidden");
            }
        }
    }
    // The operator console's routes need an operator: tenant users are sent to its sign-in.
    let console = Console::new(&app);
    console.login("acme", &t.admin_email, PASSWORD).await;
    for r in kura_server::routes().iter().filter(|r| r.access == Access::Operator && r.verb == Verb::Get) {
        let page = console.get(r.path).await;
        assert_eq!(page.location.as_deref(), Some("/operator/login"), "{}", r.path);
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
