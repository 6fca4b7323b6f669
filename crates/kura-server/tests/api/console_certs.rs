//! IAM-11 in the tenant console: the client-certificate page (issue with the key shown once,
//! list, revoke after a confirmation), who may use it, what bad input does, the requirement on
//! the security settings page with its lock-out confirmation, and a certificate issued on one
//! node accepted and revoked on another that shares the CA folder.

use crate::client_certs::{assert_refused, call, client, require, tls_app, tls_app_with};
use crate::console_client::{Console, Page, attr_in_tag, csrf_of, english_sentences};
use crate::helpers::{PASSWORD, TenantFixture, TestApp, spawn_app};
use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{Value, json};

const LIST: &str = "/console/settings/client-certificates";
const NEW: &str = "/console/settings/client-certificates/new";

/// The text of the element with `id`.
fn text_of(html: &str, id: &str) -> String {
    let at = html.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in {html}"));
    let start = at + html[at..].find('>').unwrap() + 1;
    html[start..start + html[start..].find('<').unwrap()].to_owned()
}

/// The bytes of a `data:…;base64,` link.
fn data_link(html: &str, id: &str, mime: &str) -> Vec<u8> {
    let href = attr_in_tag(html, &format!("id=\"{id}\""), "href");
    let b64 = href.strip_prefix(&format!("data:{mime};base64,")).unwrap_or_else(|| panic!("{href}"));
    base64::engine::general_purpose::STANDARD.decode(b64).unwrap()
}

/// Opens the issuing form and posts it with `holder` and `days`; returns the answer and the
/// form as posted (to post it again).
async fn issue_form(c: &Console, holder: &str, days: &str) -> (Page, Vec<(String, String)>) {
    let form = c.get(NEW).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let fields = vec![
        ("holder".to_owned(), holder.to_owned()),
        ("days".to_owned(), days.to_owned()),
        ("issue_token".to_owned(), attr_in_tag(&form.body, "name=\"issue_token\"", "value")),
        ("_csrf".to_owned(), csrf_of(&form.body)),
    ];
    (post(c, NEW, &fields).await, fields)
}

async fn post(c: &Console, path: &str, fields: &[(String, String)]) -> Page {
    let form: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    c.post(path, &form).await
}

async fn api_list(app: &TestApp, t: &TenantFixture) -> Vec<Value> {
    let (s, list) = app.get("/api/v1/client-certificates", &t.admin_token).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    list.as_array().unwrap().clone()
}

async fn admin_console(app: &TestApp, t: &TenantFixture) -> Console {
    let c = Console::new(app);
    c.login(&t.slug, &t.admin_email, PASSWORD).await;
    c
}

#[tokio::test]
async fn iam_11_console_issues_a_certificate_shown_once_lists_it_and_revokes_it() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let c = admin_console(&app, &t).await;

    // The navigation leads to the page beside the security settings; nothing issued yet.
    assert!(c.get("/console").await.body.contains(&format!("href=\"{LIST}\"")));
    let empty = c.get(LIST).await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.body);
    assert!(empty.body.contains("No client certificates have been issued yet"), "{}", empty.body);
    assert!(empty.body.contains("Certificates are not required yet"));

    // Issued: the page shows the password and offers the PKCS#12 file and the PEM, once.
    let (issued, fields) = issue_form(&c, "佐藤花子（ノートPC）", "365").await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.body);
    let password = text_of(&issued.body, "p12-password");
    assert_eq!(password.len(), 23, "{password}");
    let p12 = data_link(&issued.body, "download-p12", "application/x-pkcs12");
    assert!(p12.len() > 500 && p12[0] == 0x30, "a DER PKCS#12 file");
    let pem = String::from_utf8(data_link(&issued.body, "download-pem", "application/x-pem-file")).unwrap();
    assert!(pem.contains("-----BEGIN CERTIFICATE-----") && pem.contains("PRIVATE KEY-----"), "{pem}");
    for name in ["download=\"kura-acme-", ".p12\"", ".pem\"", "Windows", "macOS", "Firefox"] {
        assert!(issued.body.contains(name), "{name} missing: {}", issued.body);
    }
    let serial = text_of(&issued.body, "cert-serial");
    let list = api_list(&app, &t).await;
    assert_eq!(list.len(), 1);
    assert_eq!(
        (list[0]["serial"].as_str(), list[0]["holder"].as_str()),
        (Some(serial.as_str()), Some("佐藤花子（ノートPC）"))
    );

    // Sent again (a reload of the answer): refused with an explanation, nothing more issued.
    let again = post(&c, NEW, &fields).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert!(again.body.contains("This form was already sent"), "{}", again.body);
    assert!(!again.body.contains("p12-password") && !again.body.contains("data:application"));
    assert_eq!(api_list(&app, &t).await.len(), 1);

    // The list: serial, holder, expiry in the tenant's time zone, last use, state; no key.
    let not_after: jiff::Timestamp = list[0]["not_after"].as_str().unwrap().parse().unwrap();
    let expiry = kura_domain::format_in_zone(not_after, &kura_domain::TimeZoneName::tokyo());
    assert!(expiry.ends_with("JST"), "{expiry}");
    let listed = c.get(&format!("{LIST}?done=created")).await;
    for needle in [serial.as_str(), "佐藤花子（ノートPC）", expiry.as_str(), "Never", "Valid", "Created."] {
        assert!(listed.body.contains(needle), "{needle} missing: {}", listed.body);
    }
    assert!(!listed.body.contains(&password) && !listed.body.contains("data:application"));
    // In Japanese, with nothing left in English.
    let ja = c.get_in(LIST, "ja").await;
    assert!(ja.body.contains("クライアント証明書") && ja.body.contains("証明書のインストール方法"), "{}", ja.body);
    assert_eq!(english_sentences(&ja.body), Vec::<String>::new());
    let ja_form = c.get_in(NEW, "ja").await;
    assert_eq!(english_sentences(&ja_form.body), Vec::<String>::new());

    // Revoked after a confirmation page; the list then says so and offers no revoke link.
    let confirm_path = format!("{LIST}/{serial}/revoke");
    let confirm = c.get(&confirm_path).await;
    assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.body);
    assert!(confirm.body.contains(&serial) && confirm.body.contains("佐藤花子"), "{}", confirm.body);
    assert_eq!(api_list(&app, &t).await[0]["status"], "valid", "the confirmation page changes nothing");
    let done = c.post(&confirm_path, &[("_csrf", &csrf_of(&confirm.body))]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some(&*format!("{LIST}?done=revoked")));
    assert_eq!(api_list(&app, &t).await[0]["status"], "revoked");
    let listed = c.get(LIST).await;
    assert!(listed.body.contains("Revoked") && !listed.body.contains(&confirm_path), "{}", listed.body);

    // Both steps are in the operation log.
    for op in ["clientcert.issue", "clientcert.revoke"] {
        let (_, entries) = app.get(&format!("/api/v1/audit?operation={op}"), &t.admin_token).await;
        let entries = entries.as_array().unwrap();
        assert_eq!(entries.len(), 1, "{op}: {entries:?}");
        assert!(entries[0]["target"].as_str().unwrap().contains(&serial));
    }
    app.verify_audit().await;
}

#[tokio::test]
async fn iam_11_console_certificate_pages_refuse_users_without_settings_manage() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let (s, issued) =
        app.post("/api/v1/client-certificates", &t.admin_token, json!({"holder": "受付PC", "days": 30})).await;
    assert_eq!(s, StatusCode::CREATED, "{issued}");
    let serial = issued["certificate"]["serial"].as_str().unwrap().to_owned();
    let user = json!({"email": "e@acme.example.jp", "display_name": "編集者", "role": "editor", "password": PASSWORD});
    assert_eq!(app.post("/api/v1/users", &t.admin_token, user).await.0, StatusCode::CREATED);
    let editor = Console::new(&app);
    editor.login("acme", "e@acme.example.jp", PASSWORD).await;
    let home = editor.get("/console").await;
    assert!(!home.body.contains(LIST), "the navigation offers no certificate page");
    let csrf = csrf_of(&home.body);

    let revoke = format!("{LIST}/{serial}/revoke");
    for path in [LIST, NEW, revoke.as_str()] {
        assert_eq!(editor.get(path).await.status, StatusCode::FORBIDDEN, "GET {path}");
    }
    let posted =
        editor.post(NEW, &[("_csrf", &csrf), ("holder", "盗み見"), ("days", "30"), ("issue_token", "x")]).await;
    assert_eq!(posted.status, StatusCode::FORBIDDEN, "{}", posted.body);
    assert_eq!(editor.post(&revoke, &[("_csrf", &csrf)]).await.status, StatusCode::FORBIDDEN);

    // Nothing changed.
    let list = api_list(&app, &t).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["status"], "valid");
}

#[tokio::test]
async fn iam_11_console_refuses_bad_certificate_input_clearly_and_issues_nothing() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let c = admin_console(&app, &t).await;
    let form = c.get(NEW).await;
    let token = attr_in_tag(&form.body, "name=\"issue_token\"", "value");
    let csrf = csrf_of(&form.body);
    let long = "長".repeat(101);
    let cases: [(&str, &str, &str, &str); 6] = [
        ("", "365", "holder", "Name the user or device in 1 to 100 characters."),
        (&long, "365", "holder", "Name the user or device in 1 to 100 characters."),
        ("bell\u{7}", "365", "holder", "Name the user or device in 1 to 100 characters."),
        ("ノートPC", "0", "days", "Choose a validity between 1 and 731 days (two years)."),
        ("ノートPC", "732", "days", "Choose a validity between 1 and 731 days (two years)."),
        ("ノートPC", "一年", "days", "Enter a whole number of days from 1 to 731."),
    ];
    for (holder, days, input, message) in cases {
        let page = c.post(NEW, &[("_csrf", &csrf), ("holder", holder), ("days", days), ("issue_token", &token)]).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{holder} {days}: {}", page.body);
        assert!(page.body.contains(message), "{holder} {days}: {message} missing: {}", page.body);
        assert!(page.body.contains(&format!("id=\"f-{input}-error\"")), "shown beside {input}");
        assert!(!page.body.contains("p12-password"));
    }
    // The same in Japanese.
    let ja = c
        .client
        .post(format!("{}{NEW}", c.base))
        .header("accept-language", "ja")
        .form(&[("_csrf", csrf.as_str()), ("holder", ""), ("days", "800"), ("issue_token", &token)])
        .send()
        .await
        .unwrap();
    let ja = Console::read(ja).await;
    assert_eq!(ja.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(ja.body.contains("有効期間は1〜731日（2年）の範囲で指定してください。"), "{}", ja.body);
    assert!(ja.body.contains("利用者または端末の名前を1〜100文字で入力してください。"), "{}", ja.body);
    // A form without its token, or with another, issues nothing either.
    for bad in ["", "forged"] {
        let page = c.post(NEW, &[("_csrf", &csrf), ("holder", "ノートPC"), ("days", "30"), ("issue_token", bad)]).await;
        assert_eq!(page.status, StatusCode::CONFLICT, "{}", page.body);
    }
    // An unknown serial is not found, on the confirmation and on the revoke itself.
    let missing = format!("{LIST}/0123456789abcdef/revoke");
    assert_eq!(c.get(&missing).await.status, StatusCode::NOT_FOUND);
    assert_eq!(c.post(&missing, &[("_csrf", &csrf)]).await.status, StatusCode::NOT_FOUND);
    assert!(api_list(&app, &t).await.is_empty(), "nothing was issued");
    let (_, entries) = app.get("/api/v1/audit?operation=clientcert.issue", &t.admin_token).await;
    assert_eq!(entries, json!([]));
}

/// The security page's form as stored, plus `extra` (the certificate boxes, the confirmation).
fn security_form(page: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
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
        "client_certificates",
    ] {
        out.push((name.to_owned(), attr_in_tag(page, &format!("name=\"{name}\""), "value")));
    }
    for on in ["password.blocklist", "lockout.enabled"] {
        out.push((on.to_owned(), "on".to_owned()));
    }
    out.push(("sessions.concurrent".to_owned(), "allow".to_owned()));
    out.push(("_csrf".to_owned(), csrf_of(page)));
    out.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    out
}

#[tokio::test]
async fn iam_11_security_page_requires_certificates_after_a_lockout_confirmation() {
    let (app, dir) = tls_app().await;
    let t = app.tenant("acme").await;
    let bare = Console { client: client(dir.path(), None), base: app.address.clone() };
    bare.login("acme", &t.admin_email, PASSWORD).await;
    let settings = "/console/settings/security";

    // Issued in the console over HTTPS; its PEM is what a client presents.
    let (issued, _) = issue_form(&bare, "管理者のノートPC", "90").await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.body);
    let pem = String::from_utf8(data_link(&issued.body, "download-pem", "application/x-pem-file")).unwrap();

    // Over a connection without a certificate, the page says so; ticking the API box asks for a
    // confirmation that names the door, and saves nothing.
    let page = bare.get(settings).await;
    assert!(page.body.contains("presents no valid certificate of this tenant"), "{}", page.body);
    assert!(
        page.body.contains("name=\"client_certificates.api\"") && page.body.contains("A setting with a large effect")
    );
    let warned = post(&bare, settings, &security_form(&page.body, &[("client_certificates.api", "on")])).await;
    assert_eq!(warned.status, StatusCode::CONFLICT, "{}", warned.body);
    assert!(warned.body.contains("name=\"confirm_lockout\""), "{}", warned.body);
    assert!(warned.body.contains("After saving, the API would refuse you here."), "{}", warned.body);
    assert!(!warned.body.contains("leaves out the address"), "the address lists are not the cause");
    let (_, stored) = app.get("/api/v1/settings/security", &t.admin_token).await;
    assert_eq!(stored["client_certificates"], json!({"console": false, "api": false}));

    // Confirmed: saved, and the API refuses a connection without a certificate at once.
    let confirmed = security_form(&warned.body, &[("client_certificates.api", "on"), ("confirm_lockout", "on")]);
    let saved = post(&bare, settings, &confirmed).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let without = client(dir.path(), None);
    assert_refused(
        &call(&app, &without, "GET", "/api/v1/me", Some(&t.admin_token), None).await,
        "no client certificate",
    );
    let with = client(dir.path(), Some(&pem));
    assert_eq!(call(&app, &with, "GET", "/api/v1/me", Some(&t.admin_token), None).await.0, StatusCode::OK);

    // Over the certificate's connection the console box needs no confirmation; then the console
    // without a certificate is refused, and with it works.
    let holder = Console { client: with.clone(), base: app.address.clone() };
    holder.login("acme", &t.admin_email, PASSWORD).await;
    let page = holder.get(settings).await;
    assert!(page.body.contains("presents a valid certificate of this tenant"), "{}", page.body);
    let both = [("client_certificates.api", "on"), ("client_certificates.console", "on")];
    let saved = post(&holder, settings, &security_form(&page.body, &both)).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(bare.get("/console").await.status, StatusCode::FORBIDDEN);
    assert_eq!(holder.get(LIST).await.status, StatusCode::OK);
    let (_, stored) = call(&app, &with, "GET", "/api/v1/settings/security", Some(&t.admin_token), None).await;
    assert_eq!(stored["client_certificates"], json!({"console": true, "api": true}));

    // Unticking both (from the certificate's connection) turns the requirement off.
    let page = holder.get(settings).await;
    assert_eq!(post(&holder, settings, &security_form(&page.body, &[])).await.status, StatusCode::SEE_OTHER);
    assert_eq!(bare.get("/console").await.status, StatusCode::OK);
}

#[tokio::test]
async fn iam_11_two_nodes_sharing_the_ca_accept_and_revoke_each_others_certificates() {
    let shared = tempfile::tempdir().unwrap();
    let ca_dir = shared.path().join("client-ca");
    let ca = ca_dir.clone();
    let (a, dir) = tls_app_with(move |s| s.tls.client_ca_dir = Some(ca)).await;
    let (cert, key) = (dir.path().join("server.pem"), dir.path().join("server.key"));
    let ca = ca_dir.clone();
    let b = a
        .another_node_with(move |s| {
            s.tls.cert_file = Some(cert);
            s.tls.key_file = Some(key);
            s.tls.client_ca_dir = Some(ca);
        })
        .await;
    assert!(b.address.starts_with("https://") && b.address != a.address);
    let t = a.tenant("acme").await;

    // One certificate issued in each node's console.
    let on_a = Console { client: client(dir.path(), None), base: a.address.clone() };
    on_a.login("acme", &t.admin_email, PASSWORD).await;
    let on_b = Console { client: client(dir.path(), None), base: b.address.clone() };
    on_b.login("acme", &t.admin_email, PASSWORD).await;
    let pem_of =
        |page: &Page| String::from_utf8(data_link(&page.body, "download-pem", "application/x-pem-file")).unwrap();
    let (from_a, _) = issue_form(&on_a, "A で発行", "30").await;
    let (from_b, _) = issue_form(&on_b, "B で発行", "30").await;
    let (cert_a, cert_b) = (client(dir.path(), Some(&pem_of(&from_a))), client(dir.path(), Some(&pem_of(&from_b))));
    assert_eq!(require(&a, &cert_a, &t.admin_token, false, true).await.0, StatusCode::OK);

    // Each node accepts the other's certificate, and refuses a connection without one.
    let me = |node: &TestApp, c: &reqwest::Client| {
        let (node, c, token) = (node.address.clone(), c.clone(), t.admin_token.clone());
        async move { c.get(format!("{node}/api/v1/me")).bearer_auth(token).send().await.unwrap().status() }
    };
    for (node, c) in [(&a, &cert_b), (&b, &cert_a), (&a, &cert_a), (&b, &cert_b)] {
        assert_eq!(me(node, c).await, StatusCode::OK, "{}", node.address);
    }
    assert_eq!(me(&b, &client(dir.path(), None)).await, StatusCode::FORBIDDEN);

    // Revoked in A's console: B refuses it from the next request on, on the same connection.
    let serial = text_of(&from_b.body, "cert-serial");
    let confirm = format!("{LIST}/{serial}/revoke");
    let csrf = csrf_of(&on_a.get(&confirm).await.body);
    assert_eq!(on_a.post(&confirm, &[("_csrf", &csrf)]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(me(&b, &cert_b).await, StatusCode::FORBIDDEN);
    assert_eq!(me(&a, &cert_b).await, StatusCode::FORBIDDEN);
    assert_eq!(me(&b, &cert_a).await, StatusCode::OK);
    // B's list shows what A did.
    let listed = on_b.get(LIST).await;
    assert!(listed.body.contains("Revoked") && listed.body.contains("A で発行"), "{}", listed.body);
    let files: Vec<String> =
        std::fs::read_dir(&ca_dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(files.len(), 2, "one CA in the shared folder: {files:?}");
}

/// Runs a Debian command (a real client of the download) and returns whether it succeeded and
/// its output.
async fn run(program: &str, args: Vec<String>) -> (bool, String, String) {
    let program = program.to_owned();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(&program)
            .args(&args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{program} must be installed: {e}"))
    })
    .await
    .unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[tokio::test]
async fn iam_11_the_console_pkcs12_download_opens_with_its_shown_password_in_openssl_and_curl() {
    let (app, dir) = tls_app().await;
    let t = app.tenant("acme").await;
    let c = Console { client: client(dir.path(), None), base: app.address.clone() };
    c.login("acme", &t.admin_email, PASSWORD).await;
    let (issued, _) = issue_form(&c, "経理部のPC", "30").await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.body);
    let password = text_of(&issued.body, "p12-password");
    let serial = text_of(&issued.body, "cert-serial");
    let p12 = dir.path().join("download.p12");
    std::fs::write(&p12, data_link(&issued.body, "download-p12", "application/x-pkcs12")).unwrap();
    let p12 = p12.display().to_string();

    // OpenSSL opens it with the password the page showed: the certificate, the CA's, the key.
    let openssl = |password: &str, part: &str| {
        let args = ["pkcs12", "-in", &p12, "-passin", &format!("pass:{password}"), part, "-noenc"];
        run("openssl", args.iter().map(|a| (*a).to_owned()).collect())
    };
    let (ok, certs, err) = openssl(&password, "-nokeys").await;
    assert!(ok, "{err}");
    assert_eq!(certs.matches("-----BEGIN CERTIFICATE-----").count(), 2, "the certificate and the CA's: {certs}");
    assert!(certs.contains("Kura client CA"), "{certs}");
    let (ok, key, err) = openssl(&password, "-nocerts").await;
    assert!(ok && key.contains("-----BEGIN PRIVATE KEY-----"), "{err}");
    // Any other password is refused.
    let (ok, _, _) = openssl(&format!("{password}x"), "-nokeys").await;
    assert!(!ok, "a wrong password must not open the file");

    // curl presents the same file where the tenant requires a certificate for the API.
    let pem = String::from_utf8(data_link(&issued.body, "download-pem", "application/x-pem-file")).unwrap();
    let with_pem = client(dir.path(), Some(&pem));
    assert_eq!(require(&app, &with_pem, &t.admin_token, false, true).await.0, StatusCode::OK);
    let curl = |with_cert: bool| {
        let mut args = vec!["-sS".to_owned(), "-o".into(), "/dev/null".into(), "-w".into(), "%{http_code}".into()];
        args.extend(["--cacert".into(), dir.path().join("server.pem").display().to_string()]);
        if with_cert {
            args.extend(["--cert-type".into(), "P12".into(), "--cert".into(), format!("{p12}:{password}")]);
        }
        args.extend(["-H".into(), format!("Authorization: Bearer {}", t.admin_token)]);
        args.push(format!("{}/api/v1/me", app.address));
        run("curl", args)
    };
    let (_, code, err) = curl(true).await;
    assert_eq!(code, "200", "{err}");
    let (_, code, err) = curl(false).await;
    assert_eq!(code, "403", "{err}");
    // The use is recorded against the certificate the console issued.
    let (status, list) = call(&app, &with_pem, "GET", "/api/v1/client-certificates", Some(&t.admin_token), None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let used = list.as_array().unwrap().iter().find(|c| c["serial"] == serial.as_str()).unwrap().clone();
    assert!(used["last_used_at"].is_string(), "{used}");
}
