//! Privilege boundaries that a holder of one management permission must not cross: personal
//! information behind `pii.read` (IAM-3), roles stronger than the role manager's own (IAM-2),
//! bulk reads behind `records.export` (IAM-2), and credentials that outlive their owner (IAM-9,
//! IAM-12).

use crate::access::user_with_role;
use crate::console_client::Console;
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn role(app: &TestApp, t: &TenantFixture, key: &str, permissions: &[&str]) -> String {
    let (s, body) =
        app.post("/api/v1/roles", &t.admin_token, json!({"key": key, "label": key, "permissions": permissions})).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

async fn collection(app: &TestApp, token: &str) -> Value {
    let (s, c) = app.get("/api/v1/collections/customers", token).await;
    assert_eq!(s, StatusCode::OK, "{c}");
    c
}

/// The collection's definition with `edit` applied to its field list, ready to PUT.
fn with_fields(c: &Value, edit: impl FnOnce(&mut Vec<Value>)) -> Value {
    let mut fields = c["fields"].as_array().unwrap().clone();
    edit(&mut fields);
    json!({"name": c["name"], "label": c["label"], "memo": c["memo"], "fields": fields})
}

fn set_pii(fields: &mut [Value], name: &str, pii: bool) {
    fields.iter_mut().find(|f| f["name"] == name).unwrap()["pii"] = json!(pii);
}

async fn count(app: &TestApp, t: &TenantFixture, operation: &str) -> usize {
    let (_, entries) = app.get(&format!("/api/v1/audit?operation={operation}"), &t.admin_token).await;
    entries.as_array().unwrap().len()
}

async fn last_entry(app: &TestApp, t: &TenantFixture, operation: &str) -> Value {
    let (_, entries) = app.get(&format!("/api/v1/audit?operation={operation}&limit=1"), &t.admin_token).await;
    entries[0].clone()
}

#[tokio::test]
async fn iam_3_collection_managers_without_pii_read_cannot_unmask_personal_information() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    let (_, r) = app
        .post(
            "/api/v1/collections/customers/records",
            &t.admin_token,
            json!({"name": "山田 太郎", "email": "taro@example.jp", "points": 5}),
        )
        .await;
    let record = format!("/api/v1/collections/customers/records/{}", r["id"].as_str().unwrap());
    role(&app, &t, "schema", &["collections.manage", "records.read"]).await;
    let schema = user_with_role(&app, &t, "schema@acme.example.jp", "schema").await;
    let c = collection(&app, &schema).await;
    let before = count(&app, &t, "collection.update").await;

    // Unmarking, removing a marked field, and marking are all refused, and change nothing.
    let unmark = with_fields(&c, |f| set_pii(f, "name", false));
    let remove = with_fields(&c, |f| f.retain(|x| x["name"] != "email"));
    let mark = with_fields(&c, |f| set_pii(f, "kana", true));
    for spec in [unmark.clone(), remove.clone(), mark] {
        let (s, body) = app.send("PUT", "/api/v1/collections/customers", Some(&schema), Some(spec)).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["code"], "forbidden");
        assert!(body["detail"].as_str().unwrap().contains("pii.read"), "{body}");
    }
    assert_eq!(collection(&app, &t.admin_token).await, c, "the definition is unchanged");
    let (_, seen) = app.get(&record, &schema).await;
    assert_eq!(seen["data"]["name"], "••••••", "still masked");
    assert_eq!(seen["data"]["email"], "••••••");
    assert_eq!(count(&app, &t, "collection.update").await, before, "refusals write no update entry");

    // Other changes to the collection stay open to the collection manager.
    let relabel = with_fields(&c, |f| f[3]["label"] = json!("保有ポイント"));
    let (s, body) = app.send("PUT", "/api/v1/collections/customers", Some(&schema), Some(relabel)).await;
    assert_eq!(s, StatusCode::OK, "{body}");

    // An administrator with pii.read may, and the log names the change explicitly.
    let (s, body) = app.send("PUT", "/api/v1/collections/customers", Some(&t.admin_token), Some(remove)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let entry = last_entry(&app, &t, "collection.update").await;
    assert!(entry["detail"].as_str().unwrap().contains("pii_removed=email"), "{entry}");

    // The removed field's values are still stored: adding an unmarked field of that name would
    // show them again, so it needs pii.read too; adding it marked does not.
    let c = collection(&app, &t.admin_token).await;
    let email = |pii: bool| json!({"name": "email", "label": "メール", "type": "email", "pii": pii});
    let revive = with_fields(&c, |f| f.push(email(false)));
    let (s, body) = app.send("PUT", "/api/v1/collections/customers", Some(&schema), Some(revive)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let (s, body) = app
        .send("PUT", "/api/v1/collections/customers", Some(&schema), Some(with_fields(&c, |f| f.push(email(true)))))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, seen) = app.get(&record, &schema).await;
    assert_eq!(seen["data"]["email"], "••••••", "back, and masked");

    // Unmarking by the administrator is logged as such.
    let c = collection(&app, &t.admin_token).await;
    let (s, _) = app
        .send(
            "PUT",
            "/api/v1/collections/customers",
            Some(&t.admin_token),
            Some(with_fields(&c, |f| set_pii(f, "name", false))),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let entry = last_entry(&app, &t, "collection.update").await;
    assert!(entry["detail"].as_str().unwrap().contains("pii_unmarked=name"), "{entry}");
    app.verify_audit().await;
}

#[tokio::test]
async fn iam_3_console_field_form_keeps_the_pii_flag_of_a_manager_without_pii_read() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    role(&app, &t, "schema", &["collections.manage", "records.read"]).await;
    user_with_role(&app, &t, "schema@acme.example.jp", "schema").await;
    let console = Console::new(&app);
    console.login("acme", "schema@acme.example.jp", PASSWORD).await;
    let form = "/console/collections/customers/fields/name";
    let page = console.get(form).await;
    assert_eq!(page.status, StatusCode::OK);
    let at = page.body.find("name=\"pii\"").unwrap();
    let tag = &page.body[page.body[..at].rfind('<').unwrap()..at + page.body[at..].find('>').unwrap()];
    assert!(tag.contains("disabled") && tag.contains("checked"), "{tag}");
    // A browser does not send a disabled box: the flag stays as it was, and the label changes.
    let page = console.submit(form, form, &[("label", "お名前"), ("required", "on")]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let c = collection(&app, &t.admin_token).await;
    assert_eq!(c["fields"][0]["label"], "お名前");
    assert_eq!(c["fields"][0]["pii"], true);
    // Removing the marked field from the console is refused with a page that says why.
    let page = console.submit(&format!("{form}/delete"), &format!("{form}/delete"), &[]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    assert!(collection(&app, &t.admin_token).await["fields"][0]["name"] == "name");
}

#[tokio::test]
async fn iam_2_role_managers_cannot_change_or_delete_roles_stronger_than_their_own() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let strong = role(&app, &t, "strong", &["records.read", "records.write", "records.delete"]).await;
    let weak = role(&app, &t, "weak", &["records.read"]).await;
    role(&app, &t, "rolemgr", &["roles.manage", "records.read"]).await;
    let mgr = user_with_role(&app, &t, "mgr@acme.example.jp", "rolemgr").await;
    let holder = user_with_role(&app, &t, "holder@acme.example.jp", "strong").await;

    // Weakening a stronger role, relabelling it, or deleting it: refused, nothing changes.
    for body in [json!({"permissions": ["records.read"]}), json!({"label": "x"}), json!({"permissions": []})] {
        let (s, resp) = app.patch(&format!("/api/v1/roles/{strong}"), &mgr, body).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{resp}");
        assert_eq!(resp["code"], "forbidden");
    }
    let (s, _) = app.delete(&format!("/api/v1/roles/{strong}"), &mgr).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, r) = app.get(&format!("/api/v1/roles/{strong}"), &t.admin_token).await;
    assert_eq!(r["permissions"], json!(["records.read", "records.write", "records.delete"]));
    assert_eq!(r["label"], "strong");
    let (_, me) = app.get("/api/v1/me", &holder).await;
    assert!(me["permissions"].as_array().unwrap().contains(&json!("records.write")), "the holder keeps it");

    // Strengthening a role beyond the manager's own: refused.
    let (s, _) = app.patch(&format!("/api/v1/roles/{weak}"), &mgr, json!({"permissions": ["records.write"]})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Within the manager's own permissions, before and after: allowed, and logged with both.
    let (s, resp) = app.patch(&format!("/api/v1/roles/{weak}"), &mgr, json!({"permissions": [], "label": "w"})).await;
    assert_eq!(s, StatusCode::OK, "{resp}");
    let entry = last_entry(&app, &t, "role.update").await;
    assert_eq!(entry["detail"], "permissions= previous=records.read");
    let (s, _) = app.delete(&format!("/api/v1/roles/{weak}"), &mgr).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    app.verify_audit().await;
}

async fn user_id(app: &TestApp, t: &TenantFixture, email: &str) -> String {
    let (_, users) = app.get("/api/v1/users", &t.admin_token).await;
    users.as_array().unwrap().iter().find(|u| u["email"] == email).unwrap()["id"].as_str().unwrap().to_owned()
}

async fn key(app: &TestApp, token: &str, name: &str, role: &str) -> (String, String) {
    let (s, created) = app.post("/api/v1/api-keys", token, json!({"name": name, "role": role})).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    (created["token"].as_str().unwrap().to_owned(), created["key"]["id"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn iam_12_deleting_or_disabling_a_user_revokes_the_api_keys_they_created() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    role(&app, &t, "integrator", &["apikeys.manage", "records.read"]).await;
    let alice = user_with_role(&app, &t, "alice@acme.example.jp", "integrator").await;
    let bob = user_with_role(&app, &t, "bob@acme.example.jp", "integrator").await;
    let (alice_key, alice_key_id) = key(&app, &alice, "alice-sync", "integrator").await;
    // A key created with a key belongs to the same person.
    let (alice_key2, _) = key(&app, &alice_key, "alice-child", "viewer").await;
    let (bob_key, _) = key(&app, &bob, "bob-sync", "viewer").await;
    let (admin_key, _) = key(&app, &t.admin_token, "admin-sync", "viewer").await;
    let (_, listed) = app.get("/api/v1/api-keys", &t.admin_token).await;
    let alice_id = user_id(&app, &t, "alice@acme.example.jp").await;
    let owner_of = |id: &str| listed.as_array().unwrap().iter().find(|k| k["id"] == id).unwrap()["created_by"].clone();
    assert_eq!(owner_of(&alice_key_id), json!(alice_id), "the owner is shown");

    // Disabling Alice ends her keys at once, and the log says how many.
    let (s, body) =
        app.patch(&format!("/api/v1/users/{alice_id}"), &t.admin_token, json!({"status": "disabled"})).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    for k in [&alice_key, &alice_key2] {
        assert_eq!(app.get("/api/v1/me", k).await.0, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(app.get("/api/v1/me", &bob_key).await.0, StatusCode::OK, "other users' keys live on");
    assert_eq!(last_entry(&app, &t, "user.update").await["detail"], "changed=status api_keys_revoked=2");
    // Enabling her again does not bring them back.
    app.patch(&format!("/api/v1/users/{alice_id}"), &t.admin_token, json!({"status": "active"})).await;
    assert_eq!(app.get("/api/v1/me", &alice_key).await.0, StatusCode::UNAUTHORIZED);

    // Deleting Bob ends his.
    let bob_id = user_id(&app, &t, "bob@acme.example.jp").await;
    assert_eq!(app.delete(&format!("/api/v1/users/{bob_id}"), &t.admin_token).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/api/v1/me", &bob_key).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(last_entry(&app, &t, "user.delete").await["detail"], "api_keys_revoked=1");
    assert_eq!(app.get("/api/v1/me", &admin_key).await.0, StatusCode::OK);
    let (_, listed) = app.get("/api/v1/api-keys", &t.admin_token).await;
    let revoked = listed.as_array().unwrap().iter().filter(|k| k["revoked_at"].is_string()).count();
    assert_eq!(revoked, 3);
    app.verify_audit().await;
}

#[tokio::test]
async fn iam_9_ending_the_current_session_with_an_api_key_is_refused_and_ends_nothing() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let (api_key, _) = key(&app, &t.admin_token, "sync", "viewer").await;
    let (s, body) = app.send("DELETE", "/api/v1/sessions/current", Some(&api_key), None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "bad_request");
    assert!(body["detail"].as_str().unwrap().contains("API key"), "{body}");
    assert_eq!(app.get("/api/v1/me", &api_key).await.0, StatusCode::OK, "the key still works");
    assert_eq!(app.get("/api/v1/me", &t.admin_token).await.0, StatusCode::OK, "no session ended either");
    assert_eq!(count(&app, &t, "user.logout").await, 0);
}

#[tokio::test]
async fn iam_2_listing_records_in_bulk_needs_records_export() {
    let app = spawn_app_with(|s| s.limits.records_per_minute_without_export = 20).await;
    let t = app.tenant("acme").await;
    app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    for i in 0..30 {
        let (s, _) = app
            .post(
                "/api/v1/collections/customers/records",
                &t.admin_token,
                json!({"name": format!("顧客{i}"), "points": i}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let viewer = user_with_role(&app, &t, "v@acme.example.jp", "viewer").await;
    let editor = user_with_role(&app, &t, "e@acme.example.jp", "editor").await;
    let page = |n: u32| format!("/api/v1/collections/customers/records?per_page=15&page={n}");

    let (s, body) = app.get(&page(1), &viewer).await;
    assert_eq!((s, body["items"].as_array().unwrap().len()), (StatusCode::OK, 15));
    let (s, body) = app.get(&page(2), &viewer).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "30 records in a minute is past the cap of 20: {body}");
    assert_eq!(body["code"], "forbidden");
    assert!(body["detail"].as_str().unwrap().contains("records.export"), "{body}");
    // Single records stay readable; a smaller page fits what is left of the minute.
    let id = app.get(&page(1), &editor).await.1["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(app.get(&format!("/api/v1/collections/customers/records/{id}"), &viewer).await.0, StatusCode::OK);
    let (s, _) = app.get("/api/v1/collections/customers/records?per_page=5&page=4", &viewer).await;
    assert_eq!(s, StatusCode::OK);

    // The holder of records.export (the editor) pages through everything.
    for n in 1..=2 {
        assert_eq!(app.get(&page(n), &editor).await.0, StatusCode::OK);
    }
    assert_eq!(app.get("/api/v1/collections/customers/records?per_page=30", &editor).await.0, StatusCode::OK);
    // A minute later the viewer may go on.
    app.clock.advance(jiff::SignedDuration::from_secs(60));
    assert_eq!(app.get(&page(2), &viewer).await.0, StatusCode::OK);

    // The console's records page reads through the same service: past the cap the viewer is
    // told why, in their language; the editor pages on.
    app.clock.advance(jiff::SignedDuration::from_secs(60));
    let table = |n: u32| format!("/console/collections/customers?per_page=20&page={n}");
    for (email, exports) in [("v@acme.example.jp", false), ("e@acme.example.jp", true)] {
        let console = Console::new(&app);
        console.login("acme", email, PASSWORD).await;
        console.get("/console/lang?to=ja&back=/console").await;
        assert_eq!(console.get(&table(1)).await.status, StatusCode::OK, "{email}");
        let second = console.get(&table(2)).await;
        if exports {
            assert_eq!(second.status, StatusCode::OK, "{email}");
        } else {
            assert_eq!(second.status, StatusCode::FORBIDDEN, "{email}");
            assert!(second.body.contains("一覧で表示できるのは1分間に20件までです。"), "{}", second.body);
        }
    }
}

#[tokio::test]
async fn iam_1_an_api_key_cannot_disable_delete_or_demote_its_own_owner() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let (admin_key, _) = key(&app, &t.admin_token, "admin-sync", "tenant_admin").await;
    let admin_id = user_id(&app, &t, &t.admin_email).await;
    let path = format!("/api/v1/users/{admin_id}");
    for change in [json!({"status": "disabled"}), json!({"role": "viewer"})] {
        let (s, body) = app.patch(&path, &admin_key, change).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    }
    assert_eq!(app.delete(&path, &admin_key).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/v1/me", &admin_key).await.0, StatusCode::OK, "the key lives");
    assert_eq!(app.get("/api/v1/me", &t.admin_token).await.0, StatusCode::OK);
}
