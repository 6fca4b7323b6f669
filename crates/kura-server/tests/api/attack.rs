//! The cross-tenant attack suite (TEN-2): every route of the API and the tenant console that
//! takes an identifier or a name, enumerated from Kura's own route table, is called by tenant A's
//! principals (a session, an API key, a console sign-in) with tenant B's real identifiers. Each
//! call must answer 404, and B must be exactly as it was: its records, users, roles, keys,
//! sessions, factors and certificates, and its audit log, which would hold an entry for any
//! change.

use crate::access::sample_body;
use crate::console_client::{Console, csrf_of};
use crate::helpers::*;
use crate::second_factors::enrol;
use kura_server::routes::{Access, Route, Verb};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Tenant B's identifiers, each of a kind a route names by `{id}`, `{name}`, `{field}` or
/// `{serial}`.
struct Victim {
    /// A collection only B has, with a field only it has, and a record in it.
    collection: &'static str,
    field: &'static str,
    record: String,
    /// A record in B's `customers`, a collection name A has too.
    shared_record: String,
    user: String,
    role: String,
    key: String,
    key_token: String,
    session: String,
    /// The session token of B's administrator, whose session `session` is not.
    admin_token: String,
    factor: String,
    /// A passkey of B's administrator, and a registration of another under way (IAM-6).
    passkey: String,
    registration: String,
    /// An operator's break-glass access to B (IAM-13).
    break_glass: String,
    serial: String,
    /// An export job of B's, finished (DAT-5).
    export: String,
}

async fn victim(app: &TestApp, b: &TenantFixture) -> Victim {
    let created = |what: &str, s: StatusCode, body: &Value| assert!(s.is_success(), "B's {what}: {s} {body}");
    let spec =
        json!({"name": "vault", "label": "金庫", "fields": [{"name": "secret", "label": "秘密", "type": "text"}]});
    let (s, body) = app.post("/api/v1/collections", &b.admin_token, spec).await;
    created("collection", s, &body);
    let (s, rec) = app.post("/api/v1/collections/vault/records", &b.admin_token, json!({"secret": "B社の秘密"})).await;
    created("record", s, &rec);
    let (s, shared) = app
        .post("/api/v1/collections/customers/records", &b.admin_token, json!({"name": "B社の顧客", "points": 7}))
        .await;
    created("customer", s, &shared);
    let staff = crate::access::user_with_role(app, b, "staff@bravo.example.jp", "editor").await;
    let (_, users) = app.get("/api/v1/users", &b.admin_token).await;
    let user = users.as_array().unwrap().iter().find(|u| u["email"] == "staff@bravo.example.jp").unwrap()["id"].clone();
    let (s, role) = app
        .post(
            "/api/v1/roles",
            &b.admin_token,
            json!({"key": "auditor", "label": "監査", "permissions": ["audit.read"]}),
        )
        .await;
    created("role", s, &role);
    let (s, key) = app.post("/api/v1/api-keys", &b.admin_token, json!({"name": "B社連携", "role": "viewer"})).await;
    created("API key", s, &key);
    let (_, sessions) = app.get("/api/v1/me/sessions", &staff).await;
    let session = sessions.as_array().unwrap().iter().find(|x| x["current"] == true).unwrap()["id"].clone();
    enrol(app, &staff).await;
    let (_, factors) = app.get("/api/v1/me/second-factors", &staff).await;
    let factor = factors["factors"][0]["id"].clone();
    let mut device = webauthn_authenticator_rs::softpasskey::SoftPasskey::new(true);
    let passkey = crate::passkeys::register(app, &b.admin_token, &mut device, "B社の鍵").await["passkey"]["id"].clone();
    let (s, registration) = app.post("/api/v1/me/passkeys", &b.admin_token, json!({"name": "B社の二本目"})).await;
    created("passkey registration", s, &registration);
    let (s, cert) =
        app.post("/api/v1/client-certificates", &b.admin_token, json!({"holder": "B社端末", "days": 30})).await;
    created("client certificate", s, &cert);
    // An operator's break-glass access to B, started on B's page of the operator console.
    app.operator("ops@kura.example.jp").await;
    let op = crate::console_client::Console::new(app);
    op.operator_login(app, "ops@kura.example.jp", crate::helpers::PASSWORD, None).await;
    let slug = kura_domain::Slug::parse(&b.slug).unwrap();
    let page = format!("/operator/tenants/{}", app.state.store.tenant_by_slug(&slug).await.unwrap().unwrap().id);
    let reason = [("bg_reason", "B社からの問い合わせの調査"), ("bg_minutes", "60")];
    let started = op.submit(&page, &format!("{page}/break-glass"), &reason).await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
    let (_, accesses) = app.get("/api/v1/break-glass", &b.admin_token).await;
    let break_glass = accesses[0]["id"].clone();
    let text = |v: &Value, what: &str| v.as_str().unwrap_or_else(|| panic!("B's {what}: {v}")).to_owned();
    // An export of B's, finished by the node's worker before the attacks, so that nothing of B
    // changes while they run.
    let (s, export) =
        app.post("/api/v1/exports", &b.admin_token, json!({"kind": "collection", "collection": "vault"})).await;
    created("export job", s, &export);
    let export = text(&export["id"], "export job id");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (_, job) = app.get(&format!("/api/v1/exports/{export}"), &b.admin_token).await;
        if job["status"] == "ready" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "B's export was not built: {job}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Victim {
        collection: "vault",
        field: "secret",
        record: text(&rec["id"], "record id"),
        shared_record: text(&shared["id"], "customer id"),
        user: text(&user, "user id"),
        role: text(&role["id"], "role id"),
        key: text(&key["key"]["id"], "key id"),
        key_token: text(&key["token"], "key token"),
        session: text(&session, "session id"),
        admin_token: b.admin_token.clone(),
        factor: text(&factor, "factor id"),
        passkey: text(&passkey, "passkey id"),
        registration: text(&registration["registration"], "passkey registration id"),
        break_glass: text(&break_glass, "break-glass access id"),
        serial: text(&cert["certificate"]["serial"], "certificate serial"),
        export,
    }
}

/// The concrete paths an attacker tries for a declared route: B's identifiers in every
/// placeholder; where the route takes a collection name and a record id, also B's record under
/// the name of A's own collection of the same name.
fn attacks(v: &Victim, path: &str) -> Vec<String> {
    let id = |path: &str| {
        let before = path.split("/{id}").next().unwrap_or_default();
        match before.rsplit('/').next().unwrap_or_default() {
            "records" => v.record.clone(),
            "users" => v.user.clone(),
            "roles" => v.role.clone(),
            "api-keys" => v.key.clone(),
            "sessions" => v.session.clone(),
            "second-factors" => v.factor.clone(),
            "passkeys" => v.passkey.clone(),
            "registrations" => v.registration.clone(),
            "break-glass" => v.break_glass.clone(),
            "exports" => v.export.clone(),
            other => panic!("no identifier of B for /{other}/{{id}} in {path}: add one"),
        }
    };
    let fill = |collection: &str, record: &str| {
        let mut p = path.replace("{name}", collection).replace("{field}", v.field).replace("{serial}", &v.serial);
        if p.contains("{id}") {
            let id = if p.contains("/records/{id}") { record.to_owned() } else { id(path) };
            p = p.replace("{id}", &id);
        }
        p
    };
    let mut out = vec![fill(v.collection, &v.record)];
    if path.contains("{name}") && path.contains("/records/{id}") {
        out.push(fill("customers", &v.shared_record));
    }
    out
}

fn takes_identifier(r: &Route) -> bool {
    r.access != Access::Public && r.access != Access::Operator && r.path.contains('{')
}

/// What B looks like to B: compared before and after the attacks.
async fn state_of_b(app: &TestApp, v: &Victim) -> Vec<Value> {
    let token = &v.admin_token;
    let mut out = Vec::new();
    for path in [
        format!("/api/v1/collections/vault/records/{}", v.record),
        format!("/api/v1/collections/customers/records/{}", v.shared_record),
        "/api/v1/collections/vault".to_owned(),
        format!("/api/v1/users/{}", v.user),
        format!("/api/v1/roles/{}", v.role),
        "/api/v1/api-keys".to_owned(),
        "/api/v1/client-certificates".to_owned(),
    ] {
        let (s, mut body) = app.get(&path, token).await;
        assert_eq!(s, StatusCode::OK, "B reads {path}: {body}");
        // Last use is bookkeeping that B's own reads move.
        strip(&mut body, &["last_used_at", "last_seen_at", "last_used_from", "last_login_at"]);
        out.push(body);
    }
    // Any change to B would have left an entry in B's audit log: its size is the tree's.
    let (s, head) = app.send("POST", "/api/v1/audit/checkpoint", Some(token), None).await;
    assert_eq!(s, StatusCode::OK, "{head}");
    assert!(head["size"].as_u64().is_some_and(|n| n > 5), "{head}");
    out.push(json!({"audit_entries": head["size"]}));
    out
}

fn strip(v: &mut Value, keys: &[&str]) {
    match v {
        Value::Object(map) => {
            for k in keys {
                map.remove(*k);
            }
            map.values_mut().for_each(|x| strip(x, keys));
        }
        Value::Array(items) => items.iter_mut().for_each(|x| strip(x, keys)),
        _ => {}
    }
}

#[tokio::test]
async fn ten_2_attack_suite_every_api_and_console_route_refuses_another_tenants_identifiers() {
    // Reached at a domain, so that B has passkeys for A to try.
    let app = crate::passkeys::spawn_passkey_app().await;
    let a = app.tenant("alpha").await;
    let b = app.tenant("bravo").await;
    for t in [&a, &b] {
        let (s, body) = app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
    }
    let v = victim(&app, &b).await;
    let before = state_of_b(&app, &v).await;

    let (s, key) =
        app.post("/api/v1/api-keys", &a.admin_token, json!({"name": "A社連携", "role": "tenant_admin"})).await;
    assert_eq!(s, StatusCode::CREATED, "{key}");
    let a_key = key["token"].as_str().unwrap().to_owned();
    let routes: Vec<Route> = kura_server::routes().into_iter().filter(takes_identifier).collect();

    let mut tried = 0;
    for (who, token) in [("A's session", &a.admin_token), ("A's API key", &a_key)] {
        for r in routes.iter().filter(|r| r.path.starts_with("/api/v1/")) {
            for path in attacks(&v, r.path) {
                let method = r.verb.as_str();
                let (s, body) = app.send(method, &path, Some(token), sample_body(r.verb, r.path)).await;
                // An API key has no sessions or factors of its own: refused as such, before any id.
                let own = token == &a_key && r.path.starts_with("/api/v1/me/") && s == StatusCode::BAD_REQUEST;
                assert!(s == StatusCode::NOT_FOUND || own, "{who}: {method} {path} with B's identifiers: {s} {body}");
                assert!(!body.to_string().contains("B社"), "{who}: {method} {path} shows B's data: {body}");
                tried += 1;
            }
        }
    }

    let mut wrong = Vec::new();
    let console = Console::new(&app);
    console.login("alpha", &a.admin_email, PASSWORD).await;
    let csrf = csrf_of(&console.get("/console").await.body);
    for r in routes.iter().filter(|r| r.path.starts_with("/console/")) {
        for path in attacks(&v, r.path) {
            let page = match r.verb {
                Verb::Get => console.get(&path).await,
                // A well-formed form, so that the refusal is about the identifier.
                _ if r.path.ends_with("/rotate") => {
                    console.post(&path, &[("_csrf", &csrf), ("grace_minutes", "0")]).await
                }
                _ => console.post(&path, &[("_csrf", &csrf)]).await,
            };
            let verb = r.verb.as_str();
            if page.status != StatusCode::NOT_FOUND || page.body.contains("B社") {
                wrong.push(format!("console {verb} {path}: {}", page.status));
            }
            tried += 1;
        }
    }
    assert!(wrong.is_empty(), "answered other than 404 to B's identifiers: {wrong:#?}");
    assert!(tried >= 60, "every route with an identifier was tried: {tried}");

    // B is exactly as it was, and its own credentials still work.
    assert_eq!(state_of_b(&app, &v).await, before, "B changed under A's attacks");
    assert_eq!(app.get("/api/v1/me", &v.key_token).await.0, StatusCode::OK, "B's key still works");
    app.verify_audit().await;
}
