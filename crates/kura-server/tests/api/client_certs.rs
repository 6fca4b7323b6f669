//! IAM-11: client certificates issued per tenant, required per door, presented by real TLS
//! clients — reqwest on rustls with a client identity, and Debian's `curl` (OpenSSL) with the
//! PKCS#12 download. Kura serves HTTPS with a certificate made for the test; the certificates
//! are issued through the API, exactly as an administrator would.

use crate::console_client::Console;
use crate::helpers::{PASSWORD, TenantFixture, TestApp, install_ring, spawn_app_with};
use jiff::SignedDuration;
use kura_domain::Clock as _;
use kura_server::SystemClock;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// A Kura serving HTTPS; returns it with the folder of the server certificate `server.pem`.
pub async fn tls_app() -> (TestApp, tempfile::TempDir) {
    tls_app_with(|_| {}).await
}

/// [`tls_app`] with more settings.
pub async fn tls_app_with(configure: impl FnOnce(&mut kura_server::Settings)) -> (TestApp, tempfile::TempDir) {
    let (dir, cert, key) = server_cert();
    let app = spawn_app_with(|s| {
        s.tls.cert_file = Some(cert);
        s.tls.key_file = Some(key);
        configure(s);
    })
    .await;
    (app, dir)
}

/// A folder with a self-signed server certificate for 127.0.0.1 (`server.pem`, `server.key`),
/// and the paths of the two files.
pub fn server_cert() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let start = SystemClock.now().as_second() - 86_400;
    let pair = kura_crypto::x509::self_signed_server(&["localhost", "127.0.0.1"], start, 30).unwrap();
    let (cert, key) = (dir.path().join("server.pem"), dir.path().join("server.key"));
    std::fs::write(&key, &pair.key_pem).unwrap();
    std::fs::write(&cert, &pair.cert_pem).unwrap();
    (dir, cert, key)
}

/// A client that trusts the test's server certificate and presents `identity` (a PEM bundle of
/// certificate and key), or no certificate.
pub fn client(server_dir: &Path, identity: Option<&str>) -> reqwest::Client {
    install_ring();
    let root = reqwest::Certificate::from_pem(&std::fs::read(server_dir.join("server.pem")).unwrap()).unwrap();
    let mut builder = reqwest::Client::builder()
        .tls_certs_only([root])
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true);
    if let Some(pem) = identity {
        builder = builder.identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap());
    }
    builder.build().unwrap()
}

pub async fn call(
    app: &TestApp,
    client: &reqwest::Client,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req =
        client.request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), format!("{}{path}", app.address));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Issues a certificate through the API; returns the answer (serial, PEM, PKCS#12, password).
pub async fn issue(app: &TestApp, t: &TenantFixture, holder: &str, days: u32) -> Value {
    let (status, issued) =
        app.post("/api/v1/client-certificates", &t.admin_token, json!({"holder": holder, "days": days})).await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    issued
}

/// An API key of the tenant's administrator role (API keys do not time out when the clock moves).
async fn api_key(app: &TestApp, t: &TenantFixture) -> String {
    let (status, created) =
        app.post("/api/v1/api-keys", &t.admin_token, json!({"name": "cert test", "role": "tenant_admin"})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["token"].as_str().unwrap().to_owned()
}

/// Sets the tenant's client-certificate requirement over `client`.
pub async fn require(
    app: &TestApp,
    client: &reqwest::Client,
    token: &str,
    console: bool,
    api: bool,
) -> (StatusCode, Value) {
    let (_, mut settings) = call(app, client, "GET", "/api/v1/settings/security", Some(token), None).await;
    let o = settings.as_object_mut().unwrap();
    o.remove("against_nist");
    o.insert("client_certificates".into(), json!({"console": console, "api": api}));
    call(app, client, "PUT", "/api/v1/settings/security", Some(token), Some(settings)).await
}

async fn refusals(app: &TestApp, t: &TenantFixture) -> Vec<Value> {
    let (s, list) = app.get("/api/v1/audit?operation=access.client_cert_refused", &t.admin_token).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    list.as_array().unwrap().clone()
}

/// The refusal's problem document names the door, the reason and who to ask.
pub fn assert_refused(answer: &(StatusCode, Value), reason: &str) {
    assert_eq!(answer.0, StatusCode::FORBIDDEN, "{}", answer.1);
    assert_eq!(answer.1["code"], "client_certificate_required", "{}", answer.1);
    let detail = answer.1["detail"].as_str().unwrap();
    assert!(detail.contains(reason) && detail.contains("ask an administrator of the tenant"), "{detail}");
}

#[tokio::test]
async fn iam_11_the_api_requires_a_valid_certificate_of_the_tenant_and_audits_every_refusal() {
    let (app, dir) = tls_app().await;
    let acme = app.tenant("acme").await;
    let beta = app.tenant("beta").await;
    let key = api_key(&app, &acme).await;
    let good = issue(&app, &acme, "Hanako's laptop", 365).await;
    let short = issue(&app, &acme, "Kiosk", 1).await;
    let doomed = issue(&app, &acme, "Lost phone", 365).await;
    let foreign = issue(&app, &beta, "Beta laptop", 365).await;
    for c in [&good, &short, &doomed, &foreign] {
        assert!(c["password"].as_str().unwrap().len() >= 20 && c["pkcs12_base64"].as_str().unwrap().len() > 100);
    }
    let with = |issued: &Value| client(dir.path(), Some(issued["pem"].as_str().unwrap()));
    let (good_c, short_c, doomed_c, foreign_c, none_c) =
        (with(&good), with(&short), with(&doomed), with(&foreign), client(dir.path(), None));

    // Requiring certificates from a connection without one would lock the author out: refused
    // unless confirmed, and nothing changes. From the good certificate's connection it is saved.
    let (status, body) = require(&app, &none_c, &acme.admin_token, false, true).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("lockout_unconfirmed")), "{body}");
    assert_eq!(call(&app, &none_c, "GET", "/api/v1/me", Some(&key), None).await.0, StatusCode::OK);
    let (status, body) = require(&app, &good_c, &acme.admin_token, false, true).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["client_certificates"], json!({"console": false, "api": true}));

    // The good certificate is accepted, with the key and with a session; its use is recorded.
    assert_eq!(call(&app, &good_c, "GET", "/api/v1/me", Some(&key), None).await.0, StatusCode::OK);
    let (status, session) = call(
        &app,
        &good_c,
        "POST",
        "/api/v1/sessions",
        None,
        Some(json!({"tenant": "acme", "email": acme.admin_email, "password": PASSWORD})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{session}");

    // Missing, another tenant's, revoked and expired: each refused, each in the tenant's log.
    // The clock moves a minute between them, past the throttling of repeated refusals.
    let minute = SignedDuration::from_secs(61);
    assert_refused(&call(&app, &none_c, "GET", "/api/v1/me", Some(&key), None).await, "no client certificate");
    app.clock.advance(minute);
    assert_refused(&call(&app, &foreign_c, "GET", "/api/v1/me", Some(&key), None).await, "another tenant");
    app.clock.advance(minute);
    let serial = doomed["certificate"]["serial"].as_str().unwrap();
    assert_eq!(call(&app, &doomed_c, "GET", "/api/v1/me", Some(&key), None).await.0, StatusCode::OK);
    let path = format!("/api/v1/client-certificates/{serial}");
    let (status, revoked) = call(&app, &good_c, "DELETE", &path, Some(&acme.admin_token), None).await;
    assert_eq!((status, revoked["status"].as_str()), (StatusCode::OK, Some("revoked")), "{revoked}");
    // The same connection (kept alive) is refused from the next request on.
    assert_refused(&call(&app, &doomed_c, "GET", "/api/v1/me", Some(&key), None).await, "revoked");
    app.clock.advance(SignedDuration::from_hours(25));
    assert_refused(&call(&app, &short_c, "GET", "/api/v1/me", Some(&key), None).await, "expired");
    // A sign-in without a certificate is refused before the password is looked at.
    let signin = call(
        &app,
        &none_c,
        "POST",
        "/api/v1/sessions",
        None,
        Some(json!({"tenant": "acme", "email": acme.admin_email, "password": PASSWORD})),
    )
    .await;
    assert_refused(&signin, "no client certificate");

    let admin = app.login_over(&good_c, "acme", &acme.admin_email).await;
    let refused = {
        let (s, list) =
            call(&app, &good_c, "GET", "/api/v1/audit?operation=access.client_cert_refused", Some(&admin), None).await;
        assert_eq!(s, StatusCode::OK, "{list}");
        list.as_array().unwrap().clone()
    };
    let details: Vec<&str> = refused.iter().map(|e| e["detail"].as_str().unwrap()).collect();
    for reason in ["no client certificate", "another tenant", "revoked", "expired"] {
        assert!(details.iter().any(|d| d.contains(reason)), "{reason} not audited: {details:?}");
    }
    assert!(refused.iter().all(|e| e["outcome"] == "denied"));
    assert!(details.iter().any(|d| d.contains(serial)), "the refused certificate is named: {details:?}");

    // The list shows serial, holder, expiry, status and last use.
    let (_, list) = call(&app, &good_c, "GET", "/api/v1/client-certificates", Some(&admin), None).await;
    let row = |s: &Value| {
        list.as_array().unwrap().iter().find(|c| c["serial"] == s["certificate"]["serial"]).unwrap().clone()
    };
    assert_eq!(row(&good)["status"], "valid");
    assert_eq!(row(&good)["last_used_ip"], "127.0.0.1");
    assert!(row(&good)["last_used_at"].is_string());
    assert_eq!(row(&short)["status"], "expired");
    assert_eq!(row(&doomed)["status"], "revoked");
    assert_eq!(list.as_array().unwrap().len(), 3, "another tenant's certificates are not listed");

    // Beta does not require certificates: without one, or with acme's, it works as before.
    let beta = TenantFixture { admin_token: app.login("beta", &beta.admin_email, PASSWORD).await, ..beta };
    assert_eq!(call(&app, &none_c, "GET", "/api/v1/me", Some(&beta.admin_token), None).await.0, StatusCode::OK);
    assert_eq!(call(&app, &good_c, "GET", "/api/v1/me", Some(&beta.admin_token), None).await.0, StatusCode::OK);
    assert!(refusals(&app, &beta).await.is_empty());
    app.verify_audit().await;
}

#[tokio::test]
async fn iam_11_the_console_refusal_page_says_which_certificate_is_needed_in_japanese_and_english() {
    let (app, dir) = tls_app().await;
    let acme = app.tenant("acme").await;
    let good = issue(&app, &acme, "Hanako's laptop", 365).await;
    let good_c = client(dir.path(), Some(good["pem"].as_str().unwrap()));
    assert_eq!(require(&app, &good_c, &acme.admin_token, true, false).await.0, StatusCode::OK);

    // With the certificate, the console signs in and opens.
    let console = Console { client: good_c.clone(), base: app.address.clone() };
    console.login("acme", &acme.admin_email, PASSWORD).await;
    assert_eq!(console.get("/console").await.status, StatusCode::OK);

    // Without one, the sign-in form says what is needed and who to ask, in both languages.
    let bare = Console { client: client(dir.path(), None), base: app.address.clone() };
    for (lang, needle) in [("en", "client certificate Kura issued"), ("ja", "クライアント証明書")] {
        let resp = bare
            .client
            .post(format!("{}/console/login", app.address))
            .header("accept-language", lang)
            .form(&[("tenant", "acme"), ("email", acme.admin_email.as_str()), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        let page = Console::read(resp).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
        assert!(page.body.contains(needle) && page.body.contains("acme 株式会社"), "{lang}: {}", page.body);
    }
    // The API is not affected by a console-only requirement.
    assert_eq!(
        call(&app, &client(dir.path(), None), "GET", "/api/v1/me", Some(&acme.admin_token), None).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn iam_11_curl_presents_the_pkcs12_download_and_is_let_in() {
    let (app, dir) = tls_app().await;
    let acme = app.tenant("acme").await;
    let good = issue(&app, &acme, "curl", 30).await;
    let good_c = client(dir.path(), Some(good["pem"].as_str().unwrap()));
    assert_eq!(require(&app, &good_c, &acme.admin_token, false, true).await.0, StatusCode::OK);
    use base64::Engine as _;
    let p12: PathBuf = dir.path().join("client.p12");
    std::fs::write(
        &p12,
        base64::engine::general_purpose::STANDARD.decode(good["pkcs12_base64"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    let curl = |with_cert: bool| {
        let mut command = std::process::Command::new("curl");
        command.args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert"]).arg(dir.path().join("server.pem"));
        if with_cert {
            command.args(["--cert-type", "P12", "--cert"]).arg(format!(
                "{}:{}",
                p12.display(),
                good["password"].as_str().unwrap()
            ));
        }
        command.args([
            "-H",
            &format!("Authorization: Bearer {}", acme.admin_token),
            &format!("{}/api/v1/me", app.address),
        ]);
        command
    };
    let run = |mut c: std::process::Command| {
        tokio::task::spawn_blocking(move || {
            c.stdin(std::process::Stdio::null()).output().expect("curl must be installed")
        })
    };
    let with = run(curl(true)).await.unwrap();
    assert_eq!(String::from_utf8_lossy(&with.stdout), "200", "{}", String::from_utf8_lossy(&with.stderr));
    let without = run(curl(false)).await.unwrap();
    assert_eq!(String::from_utf8_lossy(&without.stdout), "403", "{}", String::from_utf8_lossy(&without.stderr));
}
