//! IP allow-lists per tenant (IAM-10), with real requests from several loopback addresses: the
//! console's and the API's lists, the confirmation a self-locking list needs, trusted proxies
//! and spoofed forwarding headers, and the operator's repair of a tenant that locked itself out.

use crate::console_client::{Console, csrf_of};
use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::net::IpAddr;

/// A client whose requests leave from `from` (all of 127/8 and ::1 are this machine).
pub fn client_from(from: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(from.parse::<IpAddr>().unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap()
}

/// The node's base URL reached from `from` (IPv6 clients reach it at `[::1]`).
pub fn base(app: &TestApp, from: &str) -> String {
    let port = app.address.rsplit(':').next().unwrap();
    if from.contains(':') { format!("http://[::1]:{port}") } else { format!("http://127.0.0.1:{port}") }
}

/// A request from `from`, with extra headers; returns status and body.
pub async fn call(
    app: &TestApp,
    from: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = client_from(from).request(method, format!("{}{path}", base(app, from)));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

async fn sign_in(app: &TestApp, from: &str, email: &str, headers: &[(&str, &str)]) -> (StatusCode, Value) {
    let body = json!({"tenant": "acme", "email": email, "password": PASSWORD});
    call(app, from, "POST", "/api/v1/sessions", None, Some(body), headers).await
}

/// The settings as the API shows them, ready to send back with `change` applied.
async fn settings_change(app: &TestApp, from: &str, token: &str, change: impl FnOnce(&mut Value)) -> Value {
    let (s, mut settings) = call(app, from, "GET", "/api/v1/settings/security", Some(token), None, &[]).await;
    assert_eq!(s, StatusCode::OK, "{settings}");
    let obj = settings.as_object_mut().unwrap();
    obj.remove("against_nist");
    change(&mut settings);
    settings
}

/// A node listening on every IPv6 and IPv4 address, so that IPv4 clients arrive as IPv4-mapped
/// IPv6 peers and are normalised.
async fn dual_stack(configure: impl FnOnce(&mut kura_server::Settings)) -> TestApp {
    spawn_app_with(|s| {
        s.listen = "[::]:0".parse().unwrap();
        // Plain HTTP on every address is allowed only behind a TLS-terminating proxy.
        s.tls.behind_proxy = true;
        configure(s);
    })
    .await
}

#[tokio::test]
async fn iam_10_api_list_admits_listed_addresses_only_and_a_self_locking_save_needs_confirmation() {
    let app = dual_stack(|_| {}).await;
    let t = app.tenant("acme").await;
    let (s, key) = app.post("/api/v1/api-keys", &t.admin_token, json!({"name": "sync", "role": "viewer"})).await;
    assert_eq!(s, StatusCode::CREATED, "{key}");
    let key = key["token"].as_str().unwrap().to_owned();
    let (_, before) = app.get("/api/v1/settings/security", &t.admin_token).await;

    // The administrator (at 127.0.0.1) saves a list without their own address: refused until
    // confirmed, and nothing changes meanwhile.
    let change = settings_change(&app, "127.0.0.1", &t.admin_token, |p| {
        p["addresses"]["api"] = json!(["127.0.0.2/32", "::1/128"]);
    })
    .await;
    let (s, body) = app.send("PUT", "/api/v1/settings/security", Some(&t.admin_token), Some(change.clone())).await;
    assert_eq!((s, body["code"].as_str()), (StatusCode::CONFLICT, Some("lockout_unconfirmed")), "{body}");
    assert!(body["detail"].as_str().unwrap().contains("(127.0.0.1)"), "a mapped peer is named as IPv4: {body}");
    let (_, unchanged) = app.get("/api/v1/settings/security", &t.admin_token).await;
    assert_eq!((&unchanged["revision"], &unchanged["addresses"]), (&before["revision"], &before["addresses"]));
    let mut confirmed = change;
    confirmed["confirm_lockout"] = true.into();
    let (s, saved) = app.send("PUT", "/api/v1/settings/security", Some(&t.admin_token), Some(confirmed)).await;
    assert_eq!(s, StatusCode::OK, "{saved}");
    assert_eq!(saved["addresses"]["api"], json!(["127.0.0.2/32", "::1/128"]));

    // The author's own token no longer works from 127.0.0.1.
    let (s, body) = app.get("/api/v1/me", &t.admin_token).await;
    assert_eq!((s, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("address_not_allowed")), "{body}");
    assert_eq!(body["status"], 403);

    // Sign-in: 127.0.0.2 and ::1 are listed, 127.0.0.3 is not (and guessing from it counts nothing).
    let (s, from2) = sign_in(&app, "127.0.0.2", &t.admin_email, &[]).await;
    assert_eq!(s, StatusCode::CREATED, "{from2}");
    let admin2 = from2["token"].as_str().unwrap().to_owned();
    let (s, from6) = sign_in(&app, "::1", &t.admin_email, &[]).await;
    assert_eq!(s, StatusCode::CREATED, "{from6}");
    let (s, from3) = sign_in(&app, "127.0.0.3", &t.admin_email, &[]).await;
    assert_eq!((s, from3["code"].as_str()), (StatusCode::FORBIDDEN, Some("address_not_allowed")), "{from3}");
    assert!(from3["detail"].as_str().unwrap().contains("127.0.0.3"));
    // A forged X-Forwarded-For from an address that is no trusted proxy changes nothing.
    let spoof = [("x-forwarded-for", "127.0.0.2"), ("forwarded", "for=127.0.0.2")];
    assert_eq!(sign_in(&app, "127.0.0.3", &t.admin_email, &spoof).await.0, StatusCode::FORBIDDEN);

    // Tokens and keys are judged per request, wherever they were issued.
    let me = |from: &'static str, token: String| {
        let app = &app;
        async move { call(app, from, "GET", "/api/v1/me", Some(&token), None, &[]).await.0 }
    };
    assert_eq!(me("127.0.0.2", admin2.clone()).await, StatusCode::OK);
    assert_eq!(me("::1", admin2.clone()).await, StatusCode::OK);
    assert_eq!(me("127.0.0.3", admin2.clone()).await, StatusCode::FORBIDDEN);
    assert_eq!(me("127.0.0.2", key.clone()).await, StatusCode::OK);
    assert_eq!(me("127.0.0.3", key.clone()).await, StatusCode::FORBIDDEN);
    let (s, spoofed) = call(&app, "127.0.0.3", "GET", "/api/v1/me", Some(&key), None, &spoof).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{spoofed}");

    // Every refusal is in the tenant's log with the address it came from.
    let (s, users) = call(&app, "127.0.0.2", "GET", "/api/v1/users", Some(&admin2), None, &[]).await;
    assert_eq!(s, StatusCode::OK);
    let admin = users.as_array().unwrap().iter().find(|u| u["email"] == t.admin_email.as_str()).unwrap();
    assert_eq!(admin["failed_logins"], 0, "a refused address does not guess passwords");
    let entries = {
        let (s, e) = call(
            &app,
            "127.0.0.2",
            "GET",
            "/api/v1/audit?operation=access.address_refused&limit=500",
            Some(&admin2),
            None,
            &[],
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{e}");
        e.as_array().unwrap().clone()
    };
    let from = |ip: &str| entries.iter().filter(|e| e["source_ip"] == ip).count();
    assert!(from("127.0.0.1") >= 1 && from("127.0.0.3") >= 1, "{entries:?}");
    assert!(entries.iter().all(|e| e["outcome"] != "success"), "{entries:?}");

    // The console's list is separate: still open from 127.0.0.3.
    let console = Console { client: client_from("127.0.0.3"), base: base(&app, "127.0.0.3") };
    console.login("acme", &t.admin_email, PASSWORD).await;

    // The author keeps access through a list that includes them: no confirmation asked.
    let change = settings_change(&app, "127.0.0.2", &admin2, |p| p["addresses"]["api"] = json!(["127.0.0.0/30"])).await;
    let (s, body) = call(&app, "127.0.0.2", "PUT", "/api/v1/settings/security", Some(&admin2), Some(change), &[]).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(me("127.0.0.3", key).await, StatusCode::OK, "127.0.0.3 is in 127.0.0.0/30");
    let (_, updates) = app.get("/api/v1/audit?operation=settings.security_update", &admin2).await;
    let details: Vec<&str> = updates.as_array().unwrap().iter().filter_map(|e| e["detail"].as_str()).collect();
    assert!(
        details.iter().any(|d| d.contains("addresses.api: any → 127.0.0.2/32, ::1/128") && d.contains("confirmed")),
        "{details:?}"
    );
    assert!(details.iter().any(|d| d.contains("addresses.api: 127.0.0.2/32, ::1/128 → 127.0.0.0/30")), "{details:?}");
    app.verify_audit().await;
}

#[tokio::test]
async fn iam_10_malformed_or_mapped_ranges_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let (_, before) = app.get("/api/v1/settings/security", &t.admin_token).await;
    for (bad, status) in [
        (json!(["10.0.0.0/33"]), StatusCode::BAD_REQUEST),
        (json!(["not an address"]), StatusCode::BAD_REQUEST),
        (json!("10.0.0.0/8"), StatusCode::BAD_REQUEST),
        (json!(["::ffff:10.0.0.0/104"]), StatusCode::UNPROCESSABLE_ENTITY),
        (json!(["10.0.0.0/8", "10.0.0.0/8"]), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let change =
            settings_change(&app, "127.0.0.1", &t.admin_token, |p| p["addresses"]["console"] = bad.clone()).await;
        let (s, body) = app.send("PUT", "/api/v1/settings/security", Some(&t.admin_token), Some(change)).await;
        assert_eq!(s, status, "{bad}: {body}");
        assert!(body["detail"].as_str().is_some_and(|d| d.contains("addresses")), "{bad}: {body}");
    }
    let too_many: Vec<String> = (0..=100).map(|i| format!("10.0.{i}.0/24")).collect();
    let change = settings_change(&app, "127.0.0.1", &t.admin_token, |p| p["addresses"]["api"] = json!(too_many)).await;
    let (s, body) = app.send("PUT", "/api/v1/settings/security", Some(&t.admin_token), Some(change)).await;
    assert_eq!((s, body["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("addresses.api")));
    // A revision no save ever reaches is a conflict on a tenant that never saved (the store
    // once overflowed on it).
    let change = settings_change(&app, "127.0.0.1", &t.admin_token, |p| p["revision"] = i64::MAX.into()).await;
    let (s, body) = app.send("PUT", "/api/v1/settings/security", Some(&t.admin_token), Some(change)).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    let (_, after) = app.get("/api/v1/settings/security", &t.admin_token).await;
    assert_eq!(after, before, "nothing changed");
}

#[tokio::test]
async fn iam_10_a_trusted_proxys_forwarded_address_is_believed_and_nobody_elses() {
    let app = dual_stack(|s| s.proxies.trusted = vec!["127.0.0.2/32".parse().unwrap()]).await;
    let t = app.tenant("acme").await;
    let change = settings_change(&app, "127.0.0.1", &t.admin_token, |p| {
        p["addresses"]["api"] = json!(["198.51.100.0/24"]);
        p["confirm_lockout"] = true.into();
    })
    .await;
    let (s, body) = app.send("PUT", "/api/v1/settings/security", Some(&t.admin_token), Some(change)).await;
    assert_eq!(s, StatusCode::OK, "{body}");

    // Through the proxy: the client's address is the one the proxy appended.
    let via_proxy = [("x-forwarded-for", "203.0.113.9, 198.51.100.7")];
    let (s, session) = sign_in(&app, "127.0.0.2", &t.admin_email, &via_proxy).await;
    assert_eq!(s, StatusCode::CREATED, "{session}");
    let token = session["token"].as_str().unwrap().to_owned();
    let (s, sessions) = call(&app, "127.0.0.2", "GET", "/api/v1/me/sessions", Some(&token), None, &via_proxy).await;
    assert_eq!(s, StatusCode::OK, "{sessions}");
    assert!(sessions.as_array().unwrap().iter().any(|s| s["source_ip"] == "198.51.100.7"), "{sessions}");
    // The proxy itself is not in the list, nor is an address the client put before it.
    assert_eq!(sign_in(&app, "127.0.0.2", &t.admin_email, &[]).await.0, StatusCode::FORBIDDEN);
    let forged = [("x-forwarded-for", "198.51.100.7, 203.0.113.9")];
    assert_eq!(sign_in(&app, "127.0.0.2", &t.admin_email, &forged).await.0, StatusCode::FORBIDDEN);
    // The same header from an address that is no trusted proxy is ignored.
    let (s, body) = sign_in(&app, "127.0.0.3", &t.admin_email, &via_proxy).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(body["detail"].as_str().unwrap().contains("127.0.0.3"), "judged by its own address: {body}");
    let (s, _) = call(&app, "::1", "GET", "/api/v1/me", Some(&token), None, &via_proxy).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "::1 is no proxy");

    let (s, _) = call(&app, "127.0.0.2", "GET", "/api/v1/me", Some(&token), None, &via_proxy).await;
    assert_eq!(s, StatusCode::OK);
    let (_, entries) = call(
        &app,
        "127.0.0.2",
        "GET",
        "/api/v1/audit?operation=access.address_refused&limit=500",
        Some(&token),
        None,
        &via_proxy,
    )
    .await;
    let ips: Vec<&str> = entries.as_array().unwrap().iter().filter_map(|e| e["source_ip"].as_str()).collect();
    for ip in ["127.0.0.2", "203.0.113.9", "127.0.0.3", "::1"] {
        assert!(ips.contains(&ip), "{ip} audited: {ips:?}");
    }
    app.verify_audit().await;
}

#[tokio::test]
async fn iam_10_console_list_refuses_with_a_page_asks_to_confirm_and_the_operator_repairs_a_lockout() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let admin = Console { client: client_from("127.0.0.2"), base: base(&app, "127.0.0.2") };
    admin.login("acme", &t.admin_email, PASSWORD).await;
    let page = admin.get("/console/settings/security").await;
    assert!(page.body.contains("127.0.0.2"), "the page shows the author's address");

    // A list without the author's address: the form comes back with a warning and a box to
    // tick; nothing is saved until it is ticked.
    let fields = |page: &str| -> Vec<(String, String)> {
        let mut out = Vec::new();
        for name in [
            "revision",
            "password.min_length",
            "password.max_length",
            "password.expiry_days",
            "password.history",
            "lockout.threshold",
            "lockout.lock_minutes",
            "lockout.throttle_failures",
            "lockout.throttle_window_minutes",
            "sessions.absolute_minutes",
            "sessions.idle_minutes",
        ] {
            let value = crate::console_client::attr_in_tag(page, &format!("name=\"{name}\""), "value");
            out.push((name.to_owned(), value));
        }
        for on in ["password.blocklist", "lockout.enabled"] {
            out.push((on.to_owned(), "on".to_owned()));
        }
        out.push(("sessions.concurrent".to_owned(), "allow".to_owned()));
        out.push(("_csrf".to_owned(), csrf_of(page)));
        out
    };
    let mut form = fields(&page.body);
    form.push(("addresses.console".into(), "127.0.0.3\n10.0.0.0/8".into()));
    let form_ref: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let warned = admin.post("/console/settings/security", &form_ref).await;
    assert_eq!(warned.status, StatusCode::CONFLICT, "{}", warned.body);
    assert!(warned.body.contains("confirm_lockout") && warned.body.contains("127.0.0.2"));
    assert!(app.get("/api/v1/settings/security", &t.admin_token).await.1["addresses"]["console"] == json!([]));

    // A line that is no address is named, and nothing is saved.
    let mut bad = fields(&warned.body);
    bad.push(("addresses.console".into(), "127.0.0.3\n300.1.1.1".into()));
    let bad_ref: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let refused = admin.post("/console/settings/security", &bad_ref).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("300.1.1.1"), "{}", refused.body);

    form = fields(&warned.body);
    form.push(("addresses.console".into(), "127.0.0.3\n10.0.0.0/8".into()));
    form.push(("confirm_lockout".into(), "on".into()));
    let form_ref: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let saved = admin.post("/console/settings/security", &form_ref).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);

    // The author's console session is now refused with a page that says why.
    let refused = admin.get("/console").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("127.0.0.2"), "{}", refused.body);
    // A sign-in from an unlisted address is refused on the sign-in page, in its language.
    let other = Console { client: client_from("127.0.0.4"), base: base(&app, "127.0.0.4") };
    let page = other
        .post("/console/login", &[("tenant", "acme"), ("email", t.admin_email.as_str()), ("password", PASSWORD)])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("127.0.0.4"), "{}", page.body);
    // From the listed address the console works; the API (its own empty list) still does too.
    let listed = Console { client: client_from("127.0.0.3"), base: base(&app, "127.0.0.3") };
    listed.login("acme", &t.admin_email, PASSWORD).await;
    assert_eq!(app.get("/api/v1/me", &t.admin_token).await.0, StatusCode::OK);

    // The operator empties the lists; the reset is in the tenant's own log with the reason.
    app.operator("ops@kura.example.jp").await;
    let op = Console::new(&app);
    let (next, _) = op.operator_login(&app, "ops@kura.example.jp", PASSWORD, None).await;
    assert_eq!(next, "/operator");
    let tenant_id =
        app.state.store.tenant_by_slug(&kura_domain::Slug::parse("acme").unwrap()).await.unwrap().unwrap().id;
    let page = format!("/operator/tenants/{tenant_id}");
    let action = format!("{page}/address-lists/reset");
    let short = op.submit(&page, &action, &[("reason", "x")]).await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY, "a reason is required");
    let reset = op.submit(&page, &action, &[("reason", "お客様から電話で依頼（受付番号 1234）")]).await;
    assert_eq!(reset.location.as_deref(), Some(format!("{page}?done=addresses").as_str()), "{}", reset.body);
    assert_eq!(admin.get("/console").await.status, StatusCode::OK, "the author is back in");
    let (_, entries) = app.get("/api/v1/audit?operation=settings.address_lists_reset", &t.admin_token).await;
    let entry = &entries[0];
    assert_eq!(entry["actor"], "ops@kura.example.jp", "{entries}");
    assert!(entry["detail"].as_str().unwrap().contains("受付番号 1234"), "{entry}");
    assert!(entry["detail"].as_str().unwrap().contains("addresses.console: 127.0.0.3/32, 10.0.0.0/8 → any"));
    let again = op.submit(&page, &action, &[("reason", "念のため再実行")]).await;
    assert_eq!(again.location.as_deref(), Some(format!("{page}?done=noaddresses").as_str()));
    app.verify_audit().await;
}
