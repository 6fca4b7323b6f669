//! Hardened API keys (IAM-12): a prefix secret scanners recognise, scopes narrower than the
//! role and enforced, per-key address ranges within the tenant's API list, and the last use's
//! time and address shown.

use crate::console_client::{Console, csrf_of};
use crate::helpers::*;
use crate::ip_rules::{base, call, client_from};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn new_key(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    app.post("/api/v1/api-keys", token, body).await
}

async fn key_count(app: &TestApp, token: &str) -> usize {
    app.get("/api/v1/api-keys", token).await.1.as_array().unwrap().len()
}

#[tokio::test]
async fn iam_12_keys_are_recognisable_and_scopes_narrow_the_role_and_are_enforced() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let (s, _) = app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, created) =
        new_key(&app, &t.admin_token, json!({"name": "reader", "role": "editor", "scopes": ["records.read"]})).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let token = created["token"].as_str().unwrap().to_owned();
    // kura_<tenant, 32 hex>_<secret>: a pattern a secret scanner can match.
    let (prefix, rest) = token.split_at(5);
    assert_eq!(prefix, "kura_");
    assert!(rest[..32].chars().all(|c| c.is_ascii_hexdigit()) && &rest[32..33] == "_", "{token}");
    assert_eq!(created["key"]["scopes"], json!(["records.read"]));

    let (s, me) = app.get("/api/v1/me", &token).await;
    assert_eq!((s, &me["permissions"]), (StatusCode::OK, &json!(["records.read"])), "{me}");
    let records = "/api/v1/collections/customers/records";
    assert_eq!(app.get(records, &token).await.0, StatusCode::OK);
    let (s, body) = app.post(records, &token, json!({"name": "山田"})).await;
    assert_eq!((s, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "the role could, the key not");
    // A key without scopes keeps all of its role's permissions.
    let (_, plain) = new_key(&app, &t.admin_token, json!({"name": "writer", "role": "editor"})).await;
    assert!(plain["key"]["scopes"].is_null());
    assert_eq!(
        app.post(records, plain["token"].as_str().unwrap(), json!({"name": "山田"})).await.0,
        StatusCode::CREATED
    );

    // Scopes beyond the role, unknown permissions and an empty list are refused; nothing is made.
    let before = key_count(&app, &t.admin_token).await;
    for (scopes, field) in [
        (json!(["records.read", "records.write"]), "scopes[1]"),
        (json!(["records.fly"]), "scopes[0]"),
        (json!([]), "scopes"),
    ] {
        let (s, body) = new_key(&app, &t.admin_token, json!({"name": "k", "role": "viewer", "scopes": scopes})).await;
        assert_eq!((s, body["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{body}");
    }
    assert_eq!(key_count(&app, &t.admin_token).await, before);
    let (_, entries) = app.get("/api/v1/audit?operation=apikey.create", &t.admin_token).await;
    assert!(entries.as_array().unwrap().iter().any(|e| e["detail"] == "name=reader role=editor scopes=records.read"));
    app.verify_audit().await;
}

#[tokio::test]
async fn iam_12_a_keys_address_ranges_lie_within_the_tenants_list_and_refuse_other_addresses() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let (s, created) =
        new_key(&app, &t.admin_token, json!({"name": "sync", "role": "viewer", "allowed_ranges": ["127.0.0.2"]})).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    assert_eq!(created["key"]["allowed_ranges"], json!(["127.0.0.2/32"]));
    let key = created["token"].as_str().unwrap().to_owned();
    let me = |from: &'static str| {
        let (app, key) = (&app, key.clone());
        async move { call(app, from, "GET", "/api/v1/me", Some(&key), None, &[]).await }
    };
    assert_eq!(me("127.0.0.2").await.0, StatusCode::OK);
    let (s, body) = me("127.0.0.3").await;
    assert_eq!((s, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("address_not_allowed")), "{body}");
    assert!(body["detail"].as_str().unwrap().contains("127.0.0.3"));
    let spoofed = call(&app, "127.0.0.3", "GET", "/api/v1/me", Some(&key), None, &[("x-forwarded-for", "127.0.0.2")]);
    assert_eq!(spoofed.await.0, StatusCode::FORBIDDEN);

    // The last use is shown with its address; the refusal is audited with its own.
    let (_, keys) = app.get("/api/v1/api-keys", &t.admin_token).await;
    let listed = keys.as_array().unwrap().iter().find(|k| k["name"] == "sync").unwrap().clone();
    assert_eq!((listed["last_used_ip"].as_str(), listed["last_used_at"].is_string()), (Some("127.0.0.2"), true));
    let (_, refused) = app.get("/api/v1/audit?operation=access.address_refused", &t.admin_token).await;
    let refused = refused.as_array().unwrap();
    assert!(refused.iter().any(|e| e["source_ip"] == "127.0.0.3" && e["actor"] == "sync"), "{refused:?}");
    let console = Console::new(&app);
    console.login("acme", &t.admin_email, PASSWORD).await;
    let page = console.get("/console/api-keys").await;
    assert!(page.body.contains("127.0.0.2") && page.body.contains("127.0.0.2/32"), "{}", page.body);

    // With a tenant API list, a key's ranges must lie inside it.
    let (_, mut settings) = app.get("/api/v1/settings/security", &t.admin_token).await;
    settings.as_object_mut().unwrap().remove("against_nist");
    settings["addresses"]["api"] = json!(["127.0.0.0/29"]);
    assert_eq!(
        app.send("PUT", "/api/v1/settings/security", Some(&t.admin_token), Some(settings)).await.0,
        StatusCode::OK
    );
    let before = key_count(&app, &t.admin_token).await;
    for (ranges, why) in [
        (json!(["10.0.0.0/8"]), "outside"),
        (json!(["127.0.0.0/24"]), "wider than the tenant's list"),
        (json!(["not-an-address"]), "malformed"),
        (json!(["127.0.0.2", "127.0.0.2/32"]), "repeated"),
    ] {
        let (s, body) =
            new_key(&app, &t.admin_token, json!({"name": "k", "role": "viewer", "allowed_ranges": ranges})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{why}: {body}");
    }
    assert_eq!(key_count(&app, &t.admin_token).await, before, "nothing made");
    let (s, body) =
        new_key(&app, &t.admin_token, json!({"name": "k", "role": "viewer", "allowed_ranges": ["127.0.0.4/30"]})).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    app.verify_audit().await;
}

#[tokio::test]
async fn iam_12_the_console_issues_a_scoped_key_with_ranges_and_names_a_bad_line() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let console = Console { client: client_from("127.0.0.1"), base: base(&app, "127.0.0.1") };
    console.login("acme", &t.admin_email, PASSWORD).await;
    let form = console.get("/console/api-keys/new").await;
    let csrf = csrf_of(&form.body);
    let post = |ranges: &'static str| {
        let console = &console;
        let csrf = csrf.clone();
        async move {
            let fields = [
                ("name", "集計"),
                ("role", "viewer"),
                ("expires_in_days", "30"),
                ("scopes", "records.read"),
                ("allowed_ranges", ranges),
                ("_csrf", csrf.as_str()),
            ];
            console.post("/console/api-keys/new", &fields).await
        }
    };
    let bad = post("192.0.2.0/24\n192.0.2.300").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("192.0.2.300"), "the bad line is named");
    let made = post("192.0.2.0/24\n2001:db8::/32").await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let (_, keys) = app.get("/api/v1/api-keys", &t.admin_token).await;
    let key = &keys[0];
    assert_eq!(
        (&key["scopes"], &key["allowed_ranges"]),
        (&json!(["records.read"]), &json!(["192.0.2.0/24", "2001:db8::/32"]))
    );
}

#[tokio::test]
async fn iam_12_a_rotated_keys_old_secret_works_for_the_chosen_grace_then_is_refused() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let (_, created) =
        new_key(&app, &t.admin_token, json!({"name": "sync", "role": "viewer", "scopes": ["records.read"]})).await;
    let (old, id) = (created["token"].as_str().unwrap().to_owned(), created["key"]["id"].as_str().unwrap().to_owned());
    let rotate = format!("/api/v1/api-keys/{id}/rotate");

    // Bad input changes nothing: the old secret is still the only one.
    for bad in [json!({"grace_minutes": 43_201}), json!({"grace_minutes": -1}), json!({})] {
        let (s, body) = app.post(&rotate, &t.admin_token, bad.clone()).await;
        assert!(s == StatusCode::BAD_REQUEST || s == StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {s} {body}");
    }
    assert_eq!(app.get("/api/v1/me", &old).await.0, StatusCode::OK);

    let (s, rotated) = app.post(&rotate, &t.admin_token, json!({"grace_minutes": 60})).await;
    assert_eq!(s, StatusCode::OK, "{rotated}");
    let new = rotated["token"].as_str().unwrap().to_owned();
    assert!(new.starts_with("kura_") && new != old);
    assert_eq!(rotated["key"]["scopes"], json!(["records.read"]), "the key keeps its limits");
    assert!(rotated["key"]["previous_valid_until"].is_string());
    assert_eq!(app.get("/api/v1/me", &new).await.0, StatusCode::OK);
    assert_eq!(app.get("/api/v1/me", &old).await.0, StatusCode::OK, "within the grace period");
    app.clock.advance(jiff::SignedDuration::from_mins(61));
    assert_eq!(app.get("/api/v1/me", &old).await.0, StatusCode::UNAUTHORIZED, "after the grace period");
    assert_eq!(app.get("/api/v1/me", &new).await.0, StatusCode::OK);
    // The administrator's session idled out meanwhile.
    let admin = app.login("acme", &t.admin_email, PASSWORD).await;
    let t = TenantFixture { admin_token: admin, ..t };

    // With no grace the old secret stops at once; rotating again drops the earlier one too.
    let (_, second) = app.post(&rotate, &t.admin_token, json!({"grace_minutes": 1440})).await;
    let (_, third) = app.post(&rotate, &t.admin_token, json!({"grace_minutes": 0})).await;
    let (second, third) = (second["token"].as_str().unwrap(), third["token"].as_str().unwrap());
    assert_eq!(app.get("/api/v1/me", &new).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/api/v1/me", second).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/api/v1/me", third).await.0, StatusCode::OK);
    let (_, entries) = app.get("/api/v1/audit?operation=apikey.rotate", &t.admin_token).await;
    let details: Vec<&str> = entries.as_array().unwrap().iter().filter_map(|e| e["detail"].as_str()).collect();
    assert_eq!(details.len(), 3, "{details:?}");
    assert!(
        details.iter().any(|d| d.contains("refused at once")) && details.iter().any(|d| d.contains("accepted until"))
    );

    // A revoked key cannot be rotated back to life, and a weaker administrator cannot rotate a
    // stronger key (they would learn its secret).
    assert_eq!(app.delete(&format!("/api/v1/api-keys/{id}"), &t.admin_token).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.post(&rotate, &t.admin_token, json!({"grace_minutes": 0})).await.0, StatusCode::NOT_FOUND);
    let (_, strong) = new_key(&app, &t.admin_token, json!({"name": "admin-key", "role": "tenant_admin"})).await;
    let (s, body) = app
        .post(
            "/api/v1/roles",
            &t.admin_token,
            json!({"key": "key_keeper", "label": "鍵係", "permissions": ["apikeys.manage"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, body) = app
        .post(
            "/api/v1/users",
            &t.admin_token,
            json!({"email": "keys@acme.example.jp", "display_name": "鍵係", "role": "key_keeper", "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let keeper = app.login("acme", "keys@acme.example.jp", PASSWORD).await;
    let strong_rotate = format!("/api/v1/api-keys/{}/rotate", strong["key"]["id"].as_str().unwrap());
    assert_eq!(app.post(&strong_rotate, &keeper, json!({"grace_minutes": 0})).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/v1/me", strong["token"].as_str().unwrap()).await.0, StatusCode::OK, "unchanged");
    app.verify_audit().await;
}

#[tokio::test]
async fn iam_12_the_console_rotates_a_key_and_shows_the_new_secret_once() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let (_, created) = new_key(&app, &t.admin_token, json!({"name": "sync", "role": "viewer"})).await;
    let (old, id) = (created["token"].as_str().unwrap().to_owned(), created["key"]["id"].as_str().unwrap().to_owned());
    let console = Console::new(&app);
    console.login("acme", &t.admin_email, PASSWORD).await;
    let form = format!("/console/api-keys/{id}/rotate");
    let done = console.submit(&form, &form, &[("grace_minutes", "60")]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let shown = console.get(done.location.as_deref().unwrap()).await;
    let new = crate::console_client::attr_in_tag(&shown.body, "id=\"token\"", "id");
    assert_eq!(new, "token");
    let token_start = shown.body.find("kura_").expect("the new secret is shown");
    let token: String = shown.body[token_start..].chars().take_while(|c| *c != '<').collect();
    assert_ne!(token, old);
    assert_eq!(app.get("/api/v1/me", &token).await.0, StatusCode::OK);
    assert_eq!(app.get("/api/v1/me", &old).await.0, StatusCode::OK, "within the grace period");
    assert!(!console.get(done.location.as_deref().unwrap()).await.body.contains(&token), "shown once");
    let list = console.get("/console/api-keys").await;
    assert!(list.body.contains("/rotate"), "{}", list.body);
}

#[tokio::test]
async fn iam_12_the_owner_of_an_expiring_key_is_reminded_14_and_3_days_before_once_each() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let (s, created) =
        new_key(&app, &t.admin_token, json!({"name": "会計連携", "role": "viewer", "expires_in_days": 20})).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let (_, revoked) =
        new_key(&app, &t.admin_token, json!({"name": "old", "role": "viewer", "expires_in_days": 10})).await;
    let revoked_id = revoked["key"]["id"].as_str().unwrap();
    assert_eq!(app.delete(&format!("/api/v1/api-keys/{revoked_id}"), &t.admin_token).await.0, StatusCode::NO_CONTENT);
    let run = || async { kura_server::service::expiry::send_due_notices(&app.state).await.unwrap() };
    let reminders = || async {
        let admin = app.login("acme", &t.admin_email, PASSWORD).await;
        let (_, entries) = app.get("/api/v1/audit?operation=apikey.expiry_notice", &admin).await;
        entries.as_array().unwrap().iter().filter_map(|e| e["detail"].as_str().map(str::to_owned)).collect::<Vec<_>>()
    };
    run().await;
    assert!(reminders().await.is_empty(), "20 days left: nothing yet");

    app.clock.advance(jiff::SignedDuration::from_hours(24 * 7));
    run().await;
    run().await;
    let sent = reminders().await;
    assert_eq!(sent.len(), 1, "once, and never for the revoked key: {sent:?}");
    assert!(sent[0].starts_with("14-day reminder to admin@acme.example.jp"), "{sent:?}");
    let mails = app.mail_files(1).await;
    let mail = mails.iter().find(|m| m.subject.contains("会計連携")).expect("the reminder names the key");
    assert_eq!(mail.to, "admin@acme.example.jp");
    assert!(mail.body.contains("/console/api-keys"), "{}", mail.body);

    app.clock.advance(jiff::SignedDuration::from_hours(24 * 11));
    run().await;
    run().await;
    let sent = reminders().await;
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent.iter().any(|d| d.starts_with("3-day reminder")), "{sent:?}");
    app.verify_audit().await;
}
