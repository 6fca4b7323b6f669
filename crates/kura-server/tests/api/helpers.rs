//! The test harness: each test gets its own application on port 0 with a fresh database —
//! SQLite by default, PostgreSQL when `KURA_TEST_POSTGRES_URL` is set.

use jiff::Timestamp;
use kura_crypto::Argon2Params;
use kura_domain::{Actor, ActorKind, ManualClock};
use kura_server::service::tenants::{self, NewTenant};
use kura_server::{AppState, Application, Settings};
use kura_store::testing::{TestDb, TestKeystore, test_db, test_keystore};
use reqwest::StatusCode;
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::oneshot;

pub const PASSWORD: &str = "correct-horse-battery";

/// A running application and what a test needs to drive it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`, or `https://…` when the settings configure a certificate.
    pub address: String,
    /// The port of the listener that only redirects to HTTPS, if configured.
    pub redirect_port: Option<u16>,
    pub state: AppState,
    pub clock: Arc<ManualClock>,
    pub client: reqwest::Client,
    /// The database URL (another node can open the same database).
    pub db_url: String,
    /// `None` for another node of an application: the first one owns (and drops) the database.
    _db: Option<TestDb>,
    /// With encryption at rest: the keystore and the directory of the master key file.
    pub keys: Option<Arc<TestKeys>>,
    _dir: tempfile::TempDir,
    _shutdown: oneshot::Sender<()>,
}

/// A tenant created for a test, with its administrator's credentials.
#[derive(Clone, Debug)]
pub struct TenantFixture {
    pub slug: String,
    pub admin_email: String,
    pub admin_token: String,
}

pub fn cli_actor() -> Actor {
    Actor { kind: ActorKind::Cli, id: None, label: "test".into(), role: None, source_ip: None, user_agent: None }
}

/// The keystore and master key file of an application with encryption at rest.
pub struct TestKeys {
    pub keystore: TestKeystore,
    pub master_key_file: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

/// An application with encryption at rest on: its keystore apart from the data (a SQLite file
/// in a directory of its own, or its own PostgreSQL database) and a master key file (0600).
pub async fn spawn_encrypted_app() -> TestApp {
    spawn_encrypted_app_with(|_| {}).await
}

/// [`spawn_encrypted_app`] with more settings (a TLS certificate, the client CA's folder).
pub async fn spawn_encrypted_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let db = test_db().await;
    let keystore = test_keystore(&db).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let master_key_file = dir.path().join("master.key");
    kura_crypto::vault::MasterKey::create_file(&master_key_file).expect("master key file");
    let keys = Arc::new(TestKeys { keystore, master_key_file, _dir: dir });
    let start: Timestamp = "2026-11-22T00:00:00Z".parse().expect("time");
    let clock = Arc::new(ManualClock::new(start));
    let url = db.url.clone();
    let mut app = spawn_node(url, Some(db), clock, |s| {
        encrypted(s, &keys);
        configure(s);
    })
    .await;
    app.keys = Some(keys);
    app
}

fn encrypted(settings: &mut Settings, keys: &TestKeys) {
    settings.encryption.enabled = Some(true);
    settings.encryption.keystore_url = kura_server::settings::Secret::new(keys.keystore.url.clone());
    settings.encryption.master_key_file = Some(keys.master_key_file.clone());
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let db = test_db().await;
    let start: Timestamp = "2026-11-22T00:00:00Z".parse().expect("time");
    let clock = Arc::new(ManualClock::new(start));
    let url = db.url.clone();
    spawn_node(url, Some(db), clock, configure).await
}

impl TestApp {
    /// The port the application listens on.
    pub fn port(&self) -> u16 {
        self.address.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port")
    }

    /// The node's data directory (where mail goes without an SMTP relay).
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// The mails written to files so far (no SMTP relay configured), waiting up to a few seconds
    /// for at least `n`.
    pub async fn mail_files(&self, n: usize) -> Vec<crate::smtp::Received> {
        let dir = self.data_dir().join("mail");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let mut files: Vec<_> = std::fs::read_dir(&dir)
                .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "eml")).collect())
                .unwrap_or_default();
            files.sort();
            if files.len() >= n {
                return files.iter().map(|p| crate::smtp::parse(&std::fs::read_to_string(p).unwrap())).collect();
            }
            assert!(std::time::Instant::now() < deadline, "expected {n} mail file(s) in {}", dir.display());
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// A second Kura node on this application's database and clock (several stateless nodes
    /// sharing one database).
    pub async fn another_node(&self) -> TestApp {
        self.another_node_with(|_| {}).await
    }

    /// [`TestApp::another_node`] with more settings (a TLS certificate, a shared client CA).
    pub async fn another_node_with(&self, configure: impl FnOnce(&mut Settings)) -> TestApp {
        self.try_another_node_with(configure).await.expect("build application")
    }

    /// [`TestApp::another_node_with`], or why the node could not be built.
    pub async fn try_another_node_with(
        &self,
        configure: impl FnOnce(&mut Settings),
    ) -> Result<TestApp, kura_server::BuildError> {
        let keys = self.keys.clone();
        let mut node = try_spawn_node(self.db_url.clone(), None, self.clock.clone(), |s| {
            if let Some(keys) = &keys {
                encrypted(s, keys);
            }
            configure(s);
        })
        .await?;
        node.keys = keys;
        Ok(node)
    }
}

async fn spawn_node(
    db_url: String,
    db: Option<TestDb>,
    clock: Arc<ManualClock>,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    try_spawn_node(db_url, db, clock, configure).await.expect("build application")
}

async fn try_spawn_node(
    db_url: String,
    db: Option<TestDb>,
    clock: Arc<ManualClock>,
    configure: impl FnOnce(&mut Settings),
) -> Result<TestApp, kura_server::BuildError> {
    let dir = tempfile::tempdir().expect("tempdir");
    // On PostgreSQL the application runs as the test cluster's application role, which row-level
    // security confines (TEN-2); the test's own URL owns the tables and migrates.
    let app_url = kura_store::testing::app_url(&db_url);
    let mut settings = Settings::default();
    settings.listen = "127.0.0.1:0".parse().expect("addr");
    settings.data_dir = dir.path().to_owned();
    settings.database_url = kura_server::settings::Secret::new(app_url.clone());
    let cheap = Argon2Params::insecure_for_tests();
    // The checkpoint sink inside the test's own directory, so that nothing outlives it.
    settings.audit.checkpoint_dir = Some(dir.path().join("checkpoints"));
    settings.password.argon2_memory_kib = cheap.memory_kib;
    settings.password.argon2_iterations = cheap.iterations;
    settings.password.argon2_parallelism = cheap.parallelism;
    settings.limits.max_body_bytes = 64 * 1024;
    configure(&mut settings);
    if settings.database_url.expose() == app_url
        && let Some(owner) = kura_store::testing::owner_url(&db_url)
    {
        settings.database_owner_url = kura_server::settings::Secret::new(owner);
    }
    let tls_cert =
        settings.tls.cert_file.as_ref().filter(|_| settings.tls.enabled()).map(|f| std::fs::read(f).unwrap());
    let app = Application::build(settings, clock.clone()).await?;
    let scheme = if tls_cert.is_some() { "https" } else { "http" };
    let address = format!("{scheme}://127.0.0.1:{}", app.port());
    let redirect_port = app.redirect_port();
    let state = app.state().clone();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(app.run_with_shutdown(async move {
        let _ = rx.await;
    }));
    // Every client of the tests (reqwest has no TLS provider of its own) needs ring installed.
    install_ring();
    let mut client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_store(true);
    if let Some(pem) = tls_cert {
        client = client.tls_certs_only([reqwest::Certificate::from_pem(&pem).expect("certificate")]);
    }
    let client = client.build().expect("client");
    Ok(TestApp { address, redirect_port, state, clock, client, db_url, _db: db, keys: None, _dir: dir, _shutdown: tx })
}

/// Makes ring rustls's process-wide provider, which the test clients need (reqwest is built
/// without one of its own).
pub fn install_ring() {
    let _ = (*kura_server::tls::provider()).clone().install_default();
}

/// The tenant `slug` as [`TestApp::tenant`] creates it: its administrator is
/// `admin@{slug}.example.jp`.
pub fn new_tenant(slug: &str) -> NewTenant {
    NewTenant {
        slug: slug.into(),
        display_name: format!("{slug} 株式会社"),
        admin_email: format!("admin@{slug}.example.jp"),
        admin_name: "管理者".into(),
        ..NewTenant::default()
    }
}

impl TestApp {
    /// Creates a tenant (as the CLI would) and signs its administrator in over the API.
    pub async fn tenant(&self, slug: &str) -> TenantFixture {
        let input = new_tenant(slug);
        let admin_email = input.admin_email.clone();
        tenants::create_tenant(&self.state, cli_actor(), input, Some(PASSWORD.into())).await.expect("create tenant");
        let admin_token = self.login(slug, &admin_email, PASSWORD).await;
        TenantFixture { slug: slug.into(), admin_email, admin_token }
    }

    pub async fn operator(&self, email: &str) {
        tenants::create_operator(&self.state, cli_actor(), email, "運用担当", PASSWORD).await.expect("create operator");
    }

    pub async fn login(&self, slug: &str, email: &str, password: &str) -> String {
        let (status, body) = self
            .send(
                "POST",
                "/api/v1/sessions",
                None,
                Some(serde_json::json!({"tenant": slug, "email": email, "password": password})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "login failed: {body}");
        body["token"].as_str().expect("token").to_owned()
    }

    /// Signs `email` in over `client` (a client presenting a certificate, say) with the test
    /// password; returns the session token.
    pub async fn login_over(&self, client: &reqwest::Client, slug: &str, email: &str) -> String {
        let body = serde_json::json!({"tenant": slug, "email": email, "password": PASSWORD});
        let resp = client.post(format!("{}/api/v1/sessions", self.address)).json(&body).send().await.expect("login");
        assert_eq!(resp.status(), StatusCode::CREATED);
        let body: Value = resp.json().await.expect("json");
        body["token"].as_str().expect("token").to_owned()
    }

    /// Has the tenant's administrator add a user with `role` and the test password over the API;
    /// returns the new user's id and a session token of theirs.
    pub async fn add_user(&self, t: &TenantFixture, email: &str, name: &str, role: &str) -> (String, String) {
        let body = serde_json::json!({"email": email, "display_name": name, "role": role, "password": PASSWORD});
        let (status, user) = self.post("/api/v1/users", &t.admin_token, body).await;
        assert_eq!(status, StatusCode::CREATED, "adding {email} failed: {user}");
        let id = user["id"].as_str().expect("user id").to_owned();
        (id, self.login(&t.slug, email, PASSWORD).await)
    }

    /// Sends a JSON request and returns the status and the parsed body (Null if empty).
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.client.request(method, format!("{}{}", self.address, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let value =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        (status, value)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.send("GET", path, Some(token), None).await
    }
    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.send("POST", path, Some(token), Some(body)).await
    }
    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.send("PATCH", path, Some(token), Some(body)).await
    }
    pub async fn delete(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.send("DELETE", path, Some(token), None).await
    }

    /// Verifies every audit chain in the database, as `kura audit verify` does.
    pub async fn verify_audit(&self) {
        for chain in self.state.store.verify_all().await.expect("verify") {
            assert!(chain.result.is_ok(), "audit chain broken: {chain:?}");
        }
    }
}

/// A customers collection used across tests.
pub fn customers_spec() -> Value {
    serde_json::json!({
        "name": "customers",
        "label": "顧客",
        "memo": "会員名簿",
        "fields": [
            {"name": "name", "label": "氏名", "type": "text", "required": true, "pii": true, "rules": {"max_length": 50}},
            {"name": "kana", "label": "フリガナ", "type": "text", "rules": {"charset": "katakana"}},
            {"name": "email", "label": "メール", "type": "email", "pii": true},
            {"name": "points", "label": "ポイント", "type": "number", "rules": {"min": 0}},
            {"name": "joined", "label": "入会日", "type": "date"},
            {"name": "plan", "label": "プラン", "type": "choice", "choices": ["free", "standard", "premium"]}
        ]
    })
}
