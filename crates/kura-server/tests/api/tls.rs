//! DAT-1: Kura terminates TLS itself. Real clients on the other side: reqwest on rustls, and
//! Debian's `openssl s_client` and `curl` (OpenSSL-linked test peers, not part of Kura), which
//! must be installed: these tests fail rather than skip without them.

use crate::console_client::Console;
use crate::helpers::{PASSWORD, TestApp, install_ring, spawn_app_with};
use kura_domain::Clock as _;
use kura_server::{Application, Settings, SystemClock};
use reqwest::StatusCode;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A certificate for `localhost` and `127.0.0.1`, valid from a day ago (by the real clock, which
/// the TLS clients check it against) for `days` days, written to `dir` as `NAME.pem` and
/// `NAME.key`. Returns the two files and the certificate's DER bytes.
fn certificate(dir: &Path, name: &str, days: u32) -> (PathBuf, PathBuf, Vec<u8>) {
    let start = SystemClock.now().as_second() - 86_400;
    let pair = kura_crypto::x509::self_signed_server(&["localhost", "127.0.0.1"], start, days).unwrap();
    let (cert, key) = (dir.join(format!("{name}.pem")), dir.join(format!("{name}.key")));
    std::fs::write(&key, &pair.key_pem).unwrap();
    std::fs::write(&cert, &pair.cert_pem).unwrap();
    (cert, key, pair.cert_der)
}

/// A Kura serving HTTPS with a fresh certificate; returns it with the certificate's directory.
async fn tls_app(configure: impl FnOnce(&mut Settings)) -> (TestApp, tempfile::TempDir, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, der) = certificate(dir.path(), "server", 90);
    let app = spawn_app_with(|s| {
        s.tls.cert_file = Some(cert);
        s.tls.key_file = Some(key);
        configure(s);
    })
    .await;
    (app, dir, der)
}

/// A client that trusts only `certs` and speaks exactly `version`.
fn client(certs: &[&Path], version: Option<reqwest::tls::Version>) -> reqwest::Client {
    install_ring();
    let roots = certs.iter().map(|c| reqwest::Certificate::from_pem(&std::fs::read(c).unwrap()).unwrap());
    let mut builder = reqwest::Client::builder()
        .tls_certs_only(roots)
        .tls_info(true)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0);
    if let Some(v) = version {
        builder = builder.tls_version_min(v).tls_version_max(v);
    }
    builder.build().unwrap()
}

/// Runs a client program off the test's runtime thread, which also serves Kura.
async fn run(mut command: Command) -> std::process::Output {
    let name = command.get_program().to_string_lossy().into_owned();
    tokio::task::spawn_blocking(move || command.stdin(Stdio::null()).output())
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{name} must be installed (Debian packages openssl and curl): {e}"))
}

/// Whether `openssl s_client` completes a handshake with `port` at `version` (`-tls1`, …).
/// Security level 0 lets this OpenSSL offer TLS 1.0 and 1.1 at all.
async fn s_client(port: u16, version: &str) -> bool {
    let mut command = Command::new("openssl");
    command
        .args(["s_client", "-brief", "-connect", &format!("127.0.0.1:{port}"), version])
        .args(["-cipher", "DEFAULT:@SECLEVEL=0"]);
    let out = run(command).await;
    let text = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    out.status.success() && text.contains("CONNECTION ESTABLISHED")
}

/// `openssl s_server` offering only `version`, as a control: it shows the client can speak it.
struct SServer(std::process::Child, u16);

impl SServer {
    fn start(cert: &Path, key: &Path, version: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("openssl")
            .args(["s_server", "-accept", &format!("127.0.0.1:{port}"), "-www", version])
            .args(["-cipher", "DEFAULT:@SECLEVEL=0"])
            .arg("-cert")
            .arg(cert)
            .arg("-key")
            .arg(key)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "openssl s_server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self(child, port)
    }
}

impl Drop for SServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn dat_1_tls_1_2_and_1_3_are_accepted_and_1_0_and_1_1_refused() {
    let (app, dir, _) = tls_app(|_| {}).await;
    let cert = dir.path().join("server.pem");
    let url = format!("{}/healthz", app.address);
    for version in [reqwest::tls::Version::TLS_1_2, reqwest::tls::Version::TLS_1_3] {
        let resp = client(&[&cert], Some(version)).get(&url).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{version:?}");
    }
    let port = app.port();
    assert!(s_client(port, "-tls1_2").await && s_client(port, "-tls1_3").await, "OpenSSL speaks 1.2 and 1.3 with Kura");
    let key = dir.path().join("server.key");
    for old in ["-tls1", "-tls1_1"] {
        // The control: the same client completes this version with a server that allows it...
        let control = SServer::start(&cert, &key, old);
        assert!(s_client(control.1, old).await, "the client can speak {old}");
        // ...and Kura refuses it.
        assert!(!s_client(port, old).await, "Kura must refuse {old}");
    }
    // A plain-HTTP request to the HTTPS port gets no answer in plain HTTP.
    let plain = reqwest::Client::new().get(format!("http://127.0.0.1:{port}/healthz")).send().await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
}

#[tokio::test]
async fn dat_1_alpn_serves_http2_and_http1_1_with_modern_suites_only() {
    let (app, dir, _) = tls_app(|_| {}).await;
    let cert = dir.path().join("server.pem");
    let curl = |flag: &'static str| {
        let mut command = Command::new("curl");
        command.args(["-sS", "-o", "/dev/null", "-w", "%{http_version}", flag, "--cacert"]);
        command.arg(&cert).arg(format!("{}/healthz", app.address));
        async move {
            let out = run(command).await;
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap()
        }
    };
    assert_eq!(curl("--http2").await, "2");
    assert_eq!(curl("--http1.1").await, "1.1");
    // Without forward secrecy, or with CBC, there is no suite in common.
    let port = app.port();
    let connects = |cipher: &'static str| {
        let mut command = Command::new("openssl");
        command.args(["s_client", "-brief", "-connect", &format!("127.0.0.1:{port}"), "-tls1_2", "-cipher", cipher]);
        async move { run(command).await.status.success() }
    };
    assert!(connects("ECDHE-ECDSA-AES128-GCM-SHA256").await, "the control: a modern suite connects");
    assert!(!connects("ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384:AES128-GCM-SHA256:@SECLEVEL=0").await);
}

#[tokio::test]
async fn dat_1_a_certificate_rotated_on_disk_is_served_without_restart() {
    let (app, dir, first) = tls_app(|s| s.tls.reload_seconds = 1).await;
    let served = |client: reqwest::Client| {
        let url = format!("{}/healthz", app.address);
        async move {
            let resp = client.get(url).send().await.unwrap();
            resp.extensions().get::<reqwest::tls::TlsInfo>().unwrap().peer_certificate().unwrap().to_vec()
        }
    };
    let (cert, key) = (dir.path().join("server.pem"), dir.path().join("server.key"));
    assert_eq!(served(client(&[&cert], None)).await, first);
    // The renewal: a new key and certificate over the old files, the key first (a moment where
    // they do not fit, which Kura must ride out on the old pair).
    let (new_cert, new_key, second) = certificate(dir.path(), "renewed", 90);
    std::fs::copy(&new_key, &key).unwrap();
    std::fs::copy(&new_cert, &cert).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // A fresh connection each time; the new one is trusted, the old one not.
        match client(&[&new_cert], None).get(format!("{}/healthz", app.address)).send().await {
            Ok(resp) => {
                let peer = resp.extensions().get::<reqwest::tls::TlsInfo>().unwrap().peer_certificate().unwrap();
                assert_eq!(peer, second.as_slice());
                break;
            }
            Err(_) => assert!(Instant::now() < deadline, "the renewed certificate was not served in time"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(served(client(&[&new_cert], None)).await, second);
    let readyz = client(&[&new_cert], None).get(format!("{}/readyz", app.address)).send().await.unwrap();
    assert_eq!(readyz.status(), StatusCode::OK);
}

#[tokio::test]
async fn dat_1_plain_http_is_refused_off_loopback_unless_a_proxy_terminates_tls() {
    let dir = tempfile::tempdir().unwrap();
    let settings =
        Settings { listen: "0.0.0.0:0".parse().unwrap(), data_dir: dir.path().to_owned(), ..Settings::default() };
    let refused = Application::build(settings, std::sync::Arc::new(SystemClock)).await.unwrap_err();
    assert!(refused.to_string().contains("plain HTTP is allowed only on a loopback address"), "{refused}");
    assert!(!dir.path().join("kura.db").exists(), "nothing was opened");
    // Behind a declared proxy, plain HTTP on any address, and still Secure cookies and HSTS.
    let app = spawn_app_with(|s| {
        s.listen = "0.0.0.0:0".parse().unwrap();
        s.tls.behind_proxy = true;
    })
    .await;
    let resp = app.client.get(format!("{}/console/login", app.address)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["strict-transport-security"].to_str().unwrap().starts_with("max-age="));
    let t = app.tenant("acme").await;
    let console = Console::new(&app);
    let resp = console
        .client
        .post(format!("{}/console/login", app.address))
        .form(&[("tenant", "acme"), ("email", t.admin_email.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    let cookies: Vec<_> = resp.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    assert!(!cookies.is_empty() && cookies.iter().all(|c| c.contains("; Secure")), "{cookies:?}");
}

#[tokio::test]
async fn dat_1_the_redirect_listener_only_sends_clients_to_https() {
    let (app, _dir, _) = tls_app(|s| s.tls.redirect_listen = Some("127.0.0.1:0".parse().unwrap())).await;
    let port = app.redirect_port.unwrap();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for method in [reqwest::Method::GET, reqwest::Method::POST] {
        let resp = http.request(method, format!("http://127.0.0.1:{port}/console/login?lang=ja")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(resp.headers()["location"], format!("{}/console/login?lang=ja", app.address));
        assert!(resp.text().await.unwrap().is_empty(), "nothing but the redirect");
    }
    // Followed, the redirect lands on the HTTPS console.
    let resp = app.client.get(format!("{}/console/login?lang=ja", app.address)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn dat_1_readyz_metrics_and_the_operator_console_report_days_to_expiry() {
    let (app, _dir, der) = tls_app(|_| {}).await;
    // Kura's clock 88 days and an hour before the certificate expires.
    let not_after = kura_crypto::x509::inspect(&der).unwrap().not_after;
    app.clock.set(jiff::Timestamp::from_second(not_after - 88 * 86_400 - 3_600).unwrap());
    let readyz: serde_json::Value =
        app.client.get(format!("{}/readyz", app.address)).send().await.unwrap().json().await.unwrap();
    assert_eq!(readyz["certificate_days_left"], 88, "{readyz}");
    let metrics = app.client.get(format!("{}/metrics", app.address)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.lines().any(|l| l == "kura_tls_certificate_days_left 88"), "{metrics}");
    app.operator("ops@kura.example.jp").await;
    // Signed in afresh each time: the clock moves by weeks, far past any session.
    // The operator's authenticator app, enrolled at the first sign-in.
    let secret = std::sync::Mutex::new(None::<String>);
    let app_ref = &app;
    let operator_page = |lang: &'static str| {
        let op = Console { client: app.client.clone(), base: app.address.clone() };
        let secret = &secret;
        async move {
            let known = secret.lock().unwrap().clone();
            let (next, enrolled) = op.operator_login(app_ref, "ops@kura.example.jp", PASSWORD, known.as_deref()).await;
            assert_eq!(next, "/operator");
            *secret.lock().unwrap() = Some(enrolled);
            let page = op.get_in("/operator", lang).await;
            assert_eq!(page.status, StatusCode::OK);
            page.body
        }
    };
    assert!(!operator_page("en").await.contains("TLS certificate"), "no warning 88 days ahead");
    // 60 days later, 28 days are left: the operators are warned, in their language.
    app.clock.advance(jiff::SignedDuration::from_hours(60 * 24));
    let page = operator_page("en").await;
    assert!(page.contains("TLS certificate expires in 28 days"), "{page}");
    let page = operator_page("ja").await;
    assert!(page.contains("TLS証明書の有効期限まであと28日"), "{page}");
    let readyz: serde_json::Value =
        app.client.get(format!("{}/readyz", app.address)).send().await.unwrap().json().await.unwrap();
    assert_eq!(readyz["certificate_days_left"], 28);
    // Past expiry the warning says so.
    app.clock.advance(jiff::SignedDuration::from_hours(40 * 24));
    let page = operator_page("ja").await;
    assert!(page.contains("TLS証明書の有効期限が切れています"), "{page}");
}
