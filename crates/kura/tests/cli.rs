//! The `kura` binary end to end: tenant creation prints one-time credentials, `audit verify`
//! passes on an intact log and names the entry when a row is edited or deleted (LOG-1). Runs on
//! SQLite, and on PostgreSQL when `KURA_TEST_POSTGRES_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

#[path = "cli/backup.rs"]
mod backup;

use kura_store::testing::{TestDb, TestKeystore, test_db, test_keystore};
use std::path::PathBuf;
use std::process::{Command, Output};

struct Cli {
    db: TestDb,
    dir: tempfile::TempDir,
    /// On PostgreSQL, the database the keystore defaults to (`<name>_keys`), made here so that
    /// it is dropped with the test's database.
    _keystore: Option<TestKeystore>,
    /// The checkpoint sink, outside the data directory as by default.
    sink: tempfile::TempDir,
}

impl Cli {
    async fn new() -> Self {
        let db = test_db().await;
        let keystore = if db.url.starts_with("sqlite:") { None } else { Some(test_keystore(&db).await) };
        Self { db, dir: tempfile::tempdir().unwrap(), _keystore: keystore, sink: tempfile::tempdir().unwrap() }
    }

    /// The data directory, inside the test's directory so that the keystore and master key file
    /// made beside it (`data-keystore/`, `data-master.key`) are removed with it.
    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_kura"))
            .args(args)
            .env("KURA_DATABASE_URL", &self.db.url)
            .env("KURA_DATA_DIR", self.data())
            .env("KURA_AUDIT_CHECKPOINT_DIR", self.sink.path())
            // Cheap hashing: these tests are about the CLI, not Argon2's cost.
            .env("KURA_ARGON2_MEMORY_KIB", "64")
            .env("KURA_ARGON2_ITERATIONS", "1")
            .env("KURA_LOG", "warn")
            .output()
            .expect("run kura")
    }

    async fn sql(&self, sql: &'static str) {
        if self.db.url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(&self.db.url).await.unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
            pool.close().await;
        } else {
            let pool = sqlx::PgPool::connect(&self.db.url).await.unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test]
async fn log_1_audit_verify_detects_edited_and_deleted_entries() {
    let cli = Cli::new().await;
    let out = cli.run(&[
        "tenant",
        "create",
        "--slug",
        "acme",
        "--name",
        "アクメ株式会社",
        "--admin-email",
        "admin@acme.example.jp",
        "--one-time-password",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).contains("One-time password: "));
    let out = cli.run(&["operator", "create", "--email", "ops@example.jp"]);
    assert!(out.status.success());

    let out = cli.run(&["audit", "verify"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).contains("All 2 audit chains verified."), "{}", stdout(&out));

    // Editing an entry breaks the chain at that entry.
    cli.sql("UPDATE audit_log SET actor_label = 'someone-else' WHERE seq = 2").await;
    let out = cli.run(&["audit", "verify"]);
    assert!(!out.status.success());
    assert!(stdout(&out).contains("BROKEN  platform: entry 2"), "{}", stdout(&out));
}

#[tokio::test]
async fn log_1_audit_verify_detects_a_deleted_entry() {
    let cli = Cli::new().await;
    for email in ["a@example.jp", "b@example.jp", "c@example.jp"] {
        assert!(cli.run(&["operator", "create", "--email", email]).status.success());
    }
    cli.sql("DELETE FROM audit_log WHERE seq = 2").await;
    let out = cli.run(&["audit", "verify"]);
    assert!(!out.status.success());
    assert!(stdout(&out).contains("entry 2"), "{}", stdout(&out));
}

#[tokio::test]
async fn cli_refuses_bad_input_with_a_clear_message() {
    let cli = Cli::new().await;
    let out = cli.run(&["tenant", "create", "--slug", "Bad Slug", "--name", "x", "--admin-email", "a@example.jp"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("slug"), "{err}");
    let out = cli.run(&["tenant", "list"]);
    assert!(stdout(&out).contains("No tenants yet"), "nothing was created");
}

#[test]
fn openapi_command_prints_the_document() {
    let out = Command::new(env!("CARGO_BIN_EXE_kura")).arg("openapi").output().unwrap();
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["info"]["title"], "Kura API");
}

#[tokio::test]
async fn dat_1_demo_serves_https_with_the_certificate_it_prints_and_reuses_data() {
    let cli = Cli::new().await;
    let (first, fingerprint) = demo_credentials(&cli).await;
    let (second, again) = demo_credentials(&cli).await;
    assert_ne!(first, second, "new one-time passwords");
    assert_eq!(fingerprint, again, "the certificate is made once and reused");
    let out = cli.run(&["tenant", "list"]);
    assert_eq!(stdout(&out).lines().filter(|l| l.starts_with("demo\t")).count(), 1, "the tenant is reused");
    let out = cli.run(&["audit", "verify"]);
    assert!(out.status.success(), "{}", stdout(&out));
}

/// A client that trusts only the certificate in `pem_file` and reports the peer's certificate.
fn https_client(pem_file: &std::path::Path) -> reqwest::Client {
    let _ = (*kura_server::tls::provider()).clone().install_default();
    let cert = reqwest::Certificate::from_pem(&std::fs::read(pem_file).unwrap()).unwrap();
    reqwest::Client::builder()
        .tls_certs_only([cert])
        .tls_info(true)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

/// The SHA-256 fingerprint of the certificate a response came over.
fn peer_fingerprint(resp: &reqwest::Response) -> String {
    let der = resp.extensions().get::<reqwest::tls::TlsInfo>().unwrap().peer_certificate().unwrap();
    kura_crypto::x509::fingerprint_sha256(der)
}

/// Runs `kura demo` until it prints its banner, checks that both printed passwords are one-time
/// passwords (each sign-in leads to a required change) over HTTPS with the self-signed
/// certificate whose fingerprint it printed, then stops it; returns the two passwords and the
/// fingerprint.
async fn demo_credentials(cli: &Cli) -> (Vec<String>, String) {
    use std::io::{BufRead as _, BufReader};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let mut child = Command::new(env!("CARGO_BIN_EXE_kura"))
        .args(["demo", "--listen", &format!("127.0.0.1:{port}")])
        .env("KURA_DATABASE_URL", &cli.db.url)
        .env("KURA_DATA_DIR", cli.data())
        .env("KURA_AUDIT_CHECKPOINT_DIR", cli.sink.path())
        .env("KURA_ARGON2_MEMORY_KIB", "64")
        .env("KURA_ARGON2_ITERATIONS", "1")
        .env("KURA_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut passwords = Vec::new();
    let mut fingerprint = None;
    // Kept open until the child is stopped: it prints after its banner, and a closed pipe would
    // make that fail.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut banner = String::new();
    for line in &mut lines {
        let line = line.unwrap();
        banner.push_str(&line);
        banner.push('\n');
        if let Some(pw) = line.split("password / パスワード").nth(1) {
            passwords.push(pw.trim().to_owned());
        }
        if line.trim().len() == 95 && line.trim().split(':').count() == 32 {
            fingerprint = Some(line.trim().to_owned());
        }
        if line.contains("Press Ctrl-C") {
            break;
        }
    }
    assert_eq!(passwords.len(), 2, "{passwords:?}");
    // The demo says where the master key and the keystore are (DAT-2).
    let master_key = cli.dir.path().join("data-master.key");
    assert!(banner.contains(&format!("master key / マスター鍵 {}", master_key.display())), "{banner}");
    assert!(banner.contains("keystore / 鍵ストア"), "{banner}");
    let fingerprint = fingerprint.expect("the demo prints its certificate's fingerprint");
    let base = format!("https://127.0.0.1:{port}");
    let http = https_client(&cli.data().join("tls/demo-cert.pem"));
    let admin = serde_json::json!({"tenant": "demo", "email": "admin@demo.example.jp", "password": passwords[0]});
    let resp = http.post(format!("{base}/api/v1/sessions")).json(&admin).send().await.unwrap();
    assert_eq!(peer_fingerprint(&resp), fingerprint, "the served certificate is the printed one");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["password_change_required"], true, "{body}");
    let operator = [("email", "operator@example.jp"), ("password", passwords[1].as_str())];
    let resp = http.post(format!("{base}/operator/login")).form(&operator).send().await.unwrap();
    // Operators always have a second factor (IAM-6): the password leads to enrolling one first.
    assert_eq!(resp.headers()["location"], "/operator/login/second-factor");
    child.kill().unwrap();
    child.wait().unwrap();
    drop(lines);
    (passwords, fingerprint)
}

#[tokio::test]
async fn dat_1_sighup_makes_kura_serve_a_renewed_certificate_at_once() {
    let cli = Cli::new().await;
    let tls = cli.dir.path().join("certs");
    std::fs::create_dir_all(&tls).unwrap();
    let (cert, key) = (tls.join("cert.pem"), tls.join("key.pem"));
    let write = |name: &str| {
        // Valid from an hour ago by the real clock, which the client checks it against.
        let start = kura_domain::Clock::now(&kura_server::SystemClock).as_second() - 3_600;
        let pair = kura_crypto::x509::self_signed_server(&["localhost", "127.0.0.1"], start, 30).unwrap();
        std::fs::write(tls.join(format!("{name}-key.pem")), &pair.key_pem).unwrap();
        std::fs::write(tls.join(format!("{name}-cert.pem")), &pair.cert_pem).unwrap();
        kura_crypto::x509::fingerprint_sha256(&pair.cert_der)
    };
    let first = write("first");
    std::fs::copy(tls.join("first-key.pem"), &key).unwrap();
    std::fs::copy(tls.join("first-cert.pem"), &cert).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_kura"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("KURA_DATABASE_URL", &cli.db.url)
        .env("KURA_DATA_DIR", cli.data())
        .env("KURA_AUDIT_CHECKPOINT_DIR", cli.sink.path())
        .env("KURA_TLS_CERT_FILE", &cert)
        .env("KURA_TLS_KEY_FILE", &key)
        // Only the signal can make it look again within this test.
        .env("KURA_TLS_RELOAD_SECONDS", "86400")
        .env("KURA_LOG", "warn")
        .spawn()
        .unwrap();
    let url = format!("https://127.0.0.1:{port}/healthz");
    let served = |trust: &str| {
        let client = https_client(&tls.join(format!("{trust}-cert.pem")));
        let url = url.clone();
        async move { client.get(url).send().await.ok().map(|r| peer_fingerprint(&r)) }
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while served("first").await.is_none() {
        assert!(std::time::Instant::now() < deadline, "kura serve did not start");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(served("first").await, Some(first));
    let second = write("second");
    std::fs::copy(tls.join("second-key.pem"), &key).unwrap();
    std::fs::copy(tls.join("second-cert.pem"), &cert).unwrap();
    let hup = Command::new("kill").args(["-HUP", &server.id().to_string()]).status().unwrap();
    assert!(hup.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(fp) = served("second").await {
            assert_eq!(fp, second);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the renewed certificate was not served after SIGHUP");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(server.try_wait().unwrap().is_none(), "SIGHUP reloads; it does not stop Kura");
    server.kill().unwrap();
    server.wait().unwrap();
}

#[tokio::test]
async fn ten_1_tenant_create_queues_a_setup_link_that_a_running_server_sends() {
    let cli = Cli::new().await;
    let out = cli.run(&[
        "tenant",
        "create",
        "--slug",
        "acme",
        "--name",
        "アクメ株式会社",
        "--admin-email",
        "admin@acme.example.jp",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).contains("A single-use link to choose a password is queued for admin@acme.example.jp"));
    assert!(!stdout(&out).contains("One-time password"), "no password is printed");
    // Without an SMTP relay, the server writes the mail to the data directory.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_kura"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("KURA_DATABASE_URL", &cli.db.url)
        .env("KURA_DATA_DIR", cli.data())
        .env("KURA_AUDIT_CHECKPOINT_DIR", cli.sink.path())
        .env("KURA_LOG", "warn")
        .spawn()
        .unwrap();
    let mail_dir = cli.data().join("mail");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mail = loop {
        let found = std::fs::read_dir(&mail_dir)
            .ok()
            .and_then(|d| d.flatten().find(|e| e.path().extension().is_some_and(|x| x == "eml")));
        if let Some(entry) = found {
            break std::fs::read_to_string(entry.path()).unwrap();
        }
        assert!(std::time::Instant::now() < deadline, "the queued mail was not sent");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(mail.contains("To: admin@acme.example.jp"), "{mail}");
}

#[tokio::test]
async fn log_3_audit_verify_finds_a_tenant_whose_chain_was_deleted_and_says_what_it_proves() {
    let cli = Cli::new().await;
    for slug in ["acme", "beta"] {
        let email = format!("admin@{slug}.example.jp");
        let out = cli.run(&["tenant", "create", "--slug", slug, "--name", slug, "--admin-email", &email]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let out = cli.run(&["audit", "verify"]);
    assert!(out.status.success(), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("All 3 audit chains verified."), "{text}");
    assert!(text.contains("Not proven: entries written after the last checkpoint can be rewritten"), "{text}");

    // Every row of one tenant's chain and its head gone: the tenant is still there, so its chain
    // must be too.
    cli.sql("DELETE FROM audit_log WHERE scope_id IN (SELECT id FROM tenants WHERE slug = 'beta')").await;
    cli.sql("DELETE FROM audit_heads WHERE scope_id IN (SELECT id FROM tenants WHERE slug = 'beta')").await;
    let out = cli.run(&["audit", "verify"]);
    assert!(!out.status.success());
    let text = stdout(&out);
    assert!(text.contains("BROKEN  tenant beta: entry 1: the chain is missing"), "{text}");
    assert!(text.contains("ok      tenant acme"), "{text}");
    assert!(!text.contains("Proven:"), "{text}");

    // The platform's chain, likewise, once tenants exist.
    cli.sql("DELETE FROM audit_log WHERE scope_id NOT IN (SELECT id FROM tenants)").await;
    cli.sql("DELETE FROM audit_heads WHERE scope_id NOT IN (SELECT id FROM tenants)").await;
    let text = stdout(&cli.run(&["audit", "verify"]));
    assert!(text.contains("BROKEN  platform: entry 1: the chain is missing"), "{text}");
}

#[tokio::test]
async fn dat_5_dat_6_export_and_import_commands_write_and_read_a_collection_and_audit_it() {
    let cli = Cli::new().await;
    demo_credentials(&cli).await;
    let file = cli.dir.path().join("customers.csv");
    let out = cli.run(&["export", "--tenant", "demo", "--collection", "customers", "--out", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).contains("Exported 300 records"), "{}", stdout(&out));
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.starts_with(b"\xef\xbb\xbf"), "CSV for Excel by default");
    let rows = csv::ReaderBuilder::new().from_reader(&bytes[3..]).records().count();
    assert_eq!(rows, 300);
    let sjis = cli.dir.path().join("customers-sjis.csv");
    let out = cli.run(&[
        "export",
        "--tenant",
        "demo",
        "--collection",
        "customers",
        "--format",
        "csv-sjis",
        "--out",
        sjis.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::str::from_utf8(&std::fs::read(&sjis).unwrap()).is_err(), "Shift_JIS, not UTF-8");
    // The file imports back: checked first, then every row in one transaction.
    let out = cli.run(&[
        "import",
        "--tenant",
        "demo",
        "--collection",
        "customers",
        "--file",
        file.to_str().unwrap(),
        "--dry-run",
    ]);
    assert!(out.status.success(), "{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout(&out).contains("300 rows (UTF-8): 300 valid (300 to add, 0 to update), 0 with problems."),
        "{}",
        stdout(&out)
    );
    let out = cli.run(&["import", "--tenant", "demo", "--collection", "customers", "--file", sjis.to_str().unwrap()]);
    assert!(out.status.success(), "{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout(&out).contains("300 rows (Shift_JIS)") && stdout(&out).contains("300 added, 0 updated"),
        "{}",
        stdout(&out)
    );
    let out = cli.run(&["export", "--tenant", "demo", "--collection", "nosuch", "--out", file.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("collection not found"));
    let out = cli.run(&["audit", "verify"]);
    assert!(out.status.success(), "{}", stdout(&out));
}

/// Every file under `dir`, recursively.
fn files_under(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn occurrences(haystack: &[u8], needle: &str) -> usize {
    haystack.windows(needle.len()).filter(|w| *w == needle.as_bytes()).count()
}

#[tokio::test]
async fn dat_2_demo_keeps_the_master_key_and_keystore_beside_the_data_and_serve_needs_the_key() {
    let cli = Cli::new().await;
    demo_credentials(&cli).await;
    let master_key = cli.dir.path().join("data-master.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&master_key).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert_eq!(std::fs::read(&master_key).unwrap().len(), 32);
    if cli.db.url.starts_with("sqlite:") {
        assert!(cli.dir.path().join("data-keystore/keystore.db").is_file(), "the keystore beside the data");
    }
    let inside: Vec<PathBuf> = files_under(&cli.data());
    assert!(
        !inside.iter().any(|p| p.to_string_lossy().contains("keystore") || p.ends_with("master.key")),
        "{inside:?}"
    );
    // Other commands find the key beside the data: encryption is on for them too.
    let out = cli.run(&["tenant", "list"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // With encryption required and no master key, `kura serve` refuses to start and says why.
    let out = Command::new(env!("CARGO_BIN_EXE_kura"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("KURA_DATABASE_URL", &cli.db.url)
        .env("KURA_DATA_DIR", cli.dir.path().join("elsewhere"))
        .env("KURA_ENCRYPTION_ENABLED", "true")
        .env("KURA_LOG", "warn")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no master key") && err.contains("KURA_MASTER_KEY"), "{err}");
    // A master key that does not unwrap the tenants' keys opens nothing: a clear error, no value.
    let wrong = Command::new(env!("CARGO_BIN_EXE_kura"))
        .args(["export", "--tenant", "demo", "--collection", "customers", "--format", "jsonl", "--out"])
        .arg(cli.dir.path().join("wrong.jsonl"))
        .env("KURA_DATABASE_URL", &cli.db.url)
        .env("KURA_DATA_DIR", cli.data())
        .env("KURA_MASTER_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
        .env("KURA_LOG", "warn")
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    let err = String::from_utf8_lossy(&wrong.stderr);
    assert!(err.contains("decrypt"), "{err}");
}

/// `kura` on the embedded database only (no `KURA_DATABASE_URL`), with `dir/data` as its data
/// directory and nothing said about encryption.
fn embedded(dir: &std::path::Path, args: &[&str], extra: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kura"));
    cmd.args(args)
        .env_remove("KURA_DATABASE_URL")
        .env_remove("KURA_ENCRYPTION_ENABLED")
        .env_remove("KURA_MASTER_KEY")
        .env("KURA_DATA_DIR", dir.join("data"))
        .env("KURA_AUDIT_CHECKPOINT_DIR", dir.join("sink"))
        .env("KURA_ARGON2_MEMORY_KIB", "64")
        .env("KURA_ARGON2_ITERATIONS", "1")
        .env("KURA_LOG", "warn");
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.output().expect("run kura")
}

/// The tenants whose keys the embedded keystore beside `dir/data` holds.
async fn keystore_tenants(dir: &std::path::Path) -> i64 {
    let url = format!("sqlite://{}", dir.join("data-keystore/keystore.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let n = sqlx::query_scalar("SELECT COUNT(DISTINCT tenant_id) FROM tenant_keys").fetch_one(&pool).await.unwrap();
    pool.close().await;
    n
}

#[tokio::test]
async fn dat_2_a_new_embedded_deployment_creates_its_master_key_and_encrypts_from_its_first_tenant() {
    let create = ["tenant", "create", "--slug", "acme", "--name", "Acme", "--admin-email", "admin@acme.example.jp"];
    // A new deployment: no database yet, nothing configured. Its first command makes the key.
    let new = tempfile::tempdir().unwrap();
    let out = embedded(new.path(), &create, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("master key was created") && err.contains("data-master.key"), "told where: {err}");
    let key = new.path().join("data-master.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert_eq!(keystore_tenants(new.path()).await, 1, "the first tenant was opened with keys");
    // Later commands find the key: not made again, the same tenant readable.
    let before = std::fs::read(&key).unwrap();
    let out = embedded(new.path(), &["tenant", "list"], &[]);
    assert!(out.status.success() && stdout(&out).contains("acme"), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read(&key).unwrap(), before);

    // An existing deployment that stores values as they are is never switched over silently:
    // unset, it stays off (and says so); no key file appears.
    let old = tempfile::tempdir().unwrap();
    let out = embedded(old.path(), &create, &[("KURA_ENCRYPTION_ENABLED", "false")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = embedded(old.path(), &["tenant", "list"], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("encryption at rest is off"));
    assert!(!old.path().join("data-master.key").exists());
}

#[tokio::test]
async fn dat_2_dat_3_plaintext_canary_sweep_finds_no_record_value_in_any_byte_kura_wrote() {
    let cli = Cli::new().await;
    demo_credentials(&cli).await;
    // Canaries: ASCII, Japanese UTF-8, and forms that only show after normalising (full-width
    // letters, half-width kana): the raw and the normalised form are both searched for.
    let ascii = "KuraCanaryAscii7q";
    let japanese = "金庫番カナリア試験";
    let (full_width, full_width_normalised) = ("ＫＵＲＡＣＡＮＡＲＹ９８", "kuracanary98");
    let (half_kana, half_kana_normalised) = ("ｶﾅﾘｱﾃｽﾄ", "カナリアテスト");
    let csv = format!(
        "name,kana,email,note\n{full_width} {japanese},{half_kana},kuracanary7q@example.jp,{ascii} {japanese}\n"
    );
    let file = cli.dir.path().join("canaries.csv");
    std::fs::write(&file, csv).unwrap();
    let log = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_kura"))
            .args(args)
            .env("KURA_DATABASE_URL", &cli.db.url)
            .env("KURA_DATA_DIR", cli.data())
            .env("KURA_LOG", "trace")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        out
    };
    let import = log(&["import", "--tenant", "demo", "--collection", "customers", "--file", file.to_str().unwrap()]);
    let exported = cli.dir.path().join("exported.jsonl");
    let export = log(&[
        "export",
        "--tenant",
        "demo",
        "--collection",
        "customers",
        "--format",
        "jsonl",
        "--out",
        exported.to_str().unwrap(),
    ]);
    // The values are there, decrypted, for whoever may read them.
    let text = std::fs::read_to_string(&exported).unwrap();
    assert!(text.contains(ascii) && text.contains(japanese) && text.contains(half_kana_normalised), "{text}");

    // Every byte Kura wrote: the data directory, the keystore and master key beside it, the
    // database (file, WAL and shm on SQLite; the raw rows on PostgreSQL), and the logs.
    let mut written: Vec<(String, Vec<u8>)> = Vec::new();
    for path in files_under(&cli.data()).into_iter().chain(files_under(&cli.dir.path().join("data-keystore"))) {
        written.push((path.display().to_string(), std::fs::read(&path).unwrap()));
    }
    written.push(("master key".into(), std::fs::read(cli.dir.path().join("data-master.key")).unwrap()));
    if let Some(path) = cli.db.url.strip_prefix("sqlite://") {
        let db_dir = std::path::Path::new(path).parent().unwrap();
        // The database file, and its WAL and shm when a process left them (the last one to
        // close checkpoints the WAL into the file and removes it).
        for path in files_under(db_dir) {
            written.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    } else {
        for url in [cli.db.url.clone(), cli._keystore.as_ref().unwrap().url.clone()] {
            written.push((format!("rows of {url}"), pg_rows(&url).await));
        }
    }
    for (name, out) in [("import", &import), ("export", &export)] {
        written.push((format!("{name} log"), out.stderr.clone()));
    }
    let canaries = [
        ascii,
        japanese,
        full_width,
        full_width_normalised,
        half_kana,
        half_kana_normalised,
        "kuracanary7q@example.jp",
    ];
    let mut found = Vec::new();
    for (name, bytes) in &written {
        for canary in canaries {
            let n = occurrences(bytes, canary);
            if n > 0 {
                found.push(format!("{canary} ×{n} in {name}"));
            }
        }
    }
    assert!(found.is_empty(), "plaintext found: {found:?}");
    assert!(written.len() > 4, "{:?}", written.iter().map(|w| &w.0).collect::<Vec<_>>());
}

/// Every row of every table of the PostgreSQL database at `url`, as text, and the records'
/// stored bytes as they are.
async fn pg_rows(url: &str) -> Vec<u8> {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'")
        .fetch_all(&pool)
        .await
        .unwrap();
    let mut out = Vec::new();
    for table in tables {
        let sql = format!("SELECT t::text FROM {table} t");
        let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_all(&pool).await.unwrap();
        for row in rows {
            out.extend_from_slice(row.as_bytes());
        }
        if table == "records" {
            let data: Vec<Vec<u8>> = sqlx::query_scalar("SELECT data FROM records").fetch_all(&pool).await.unwrap();
            data.iter().for_each(|d| out.extend_from_slice(d));
        }
    }
    pool.close().await;
    out
}

// LOG-3: `kura audit verify` names each of the seven kinds of tampering --------------------

/// A platform log of `2 n` entries (creating an operator records two) with a checkpoint of it
/// in the sink.
async fn checkpointed_platform_log(n: usize) -> Cli {
    let cli = Cli::new().await;
    for i in 0..n {
        let out = cli.run(&["operator", "create", "--email", &format!("ops{i}@example.jp")]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let out = cli.run(&["audit", "checkpoint"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).contains(&format!("platform: {} entries", 2 * n)), "{}", stdout(&out));
    let out = cli.run(&["audit", "verify"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).contains("1 checkpoint(s) matched"), "{}", stdout(&out));
    cli
}

/// Runs `kura audit verify`, which must fail, and returns its report.
fn verify_fails(cli: &Cli) -> String {
    let out = cli.run(&["audit", "verify"]);
    let text = stdout(&out);
    assert!(!out.status.success(), "{text}");
    assert!(!text.contains("Proven:"), "{text}");
    text
}

fn sink_file(cli: &Cli) -> std::path::PathBuf {
    cli.sink.path().join("00000000-0000-0000-0000-000000000000.checkpoints")
}

#[tokio::test]
async fn log_3_verify_names_an_edited_entry() {
    let cli = checkpointed_platform_log(4).await;
    cli.sql("UPDATE audit_log SET actor_label = 'someone-else' WHERE seq = 2").await;
    let text = verify_fails(&cli);
    assert!(text.contains("BROKEN  platform: entry 2: entry 2 was altered (edited entry)"), "{text}");
}

#[tokio::test]
async fn log_3_verify_names_a_deleted_entry() {
    let cli = checkpointed_platform_log(4).await;
    cli.sql("DELETE FROM audit_log WHERE seq = 2").await;
    let text = verify_fails(&cli);
    assert!(text.contains("BROKEN  platform: entry 2: entry 2 is missing (deleted entry)"), "{text}");
}

#[tokio::test]
async fn log_3_verify_names_an_inserted_entry() {
    let cli = checkpointed_platform_log(4).await;
    // Make room at 2 by renumbering the later entries (in two steps: keys stay unique), copy
    // entry 1 there as someone else's, and count it in the head.
    cli.sql("UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 2").await;
    cli.sql("UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1000").await;
    cli.sql(
        "INSERT INTO audit_log (scope_id, seq, at, actor_kind, actor_id, actor_label, actor_role, source_ip, \
         operation, target, outcome, detail, prev_hash, hash) SELECT scope_id, 2, at, actor_kind, actor_id, \
         'mallory@example.jp', actor_role, source_ip, operation, target, outcome, detail, prev_hash, hash \
         FROM audit_log WHERE seq = 1",
    )
    .await;
    cli.sql("UPDATE audit_heads SET seq = seq + 1").await;
    let text = verify_fails(&cli);
    assert!(text.contains("BROKEN  platform: entry 2: entry 2 was inserted"), "{text}");
    assert!(text.contains("(inserted entry)"), "{text}");
}

#[tokio::test]
async fn log_3_verify_names_two_swapped_entries() {
    let cli = checkpointed_platform_log(5).await;
    cli.sql("UPDATE audit_log SET seq = 100 WHERE seq = 2").await;
    cli.sql("UPDATE audit_log SET seq = 2 WHERE seq = 4").await;
    cli.sql("UPDATE audit_log SET seq = 4 WHERE seq = 100").await;
    let text = verify_fails(&cli);
    assert!(text.contains("BROKEN  platform: entry 2: entries 2 and 4 were swapped"), "{text}");
    assert!(text.contains("(swapped entries)"), "{text}");
    // Neighbours swapped back and forth: 2 and 4 back, then 5 and 6.
    cli.sql("UPDATE audit_log SET seq = 100 WHERE seq = 2").await;
    cli.sql("UPDATE audit_log SET seq = 2 WHERE seq = 4").await;
    cli.sql("UPDATE audit_log SET seq = 4 WHERE seq = 100").await;
    assert!(cli.run(&["audit", "verify"]).status.success());
    cli.sql("UPDATE audit_log SET seq = 100 WHERE seq = 5").await;
    cli.sql("UPDATE audit_log SET seq = 5 WHERE seq = 6").await;
    cli.sql("UPDATE audit_log SET seq = 6 WHERE seq = 100").await;
    let text = verify_fails(&cli);
    assert!(text.contains("BROKEN  platform: entry 5: entries 5 and 6 were swapped"), "{text}");
}

#[tokio::test]
async fn log_3_verify_names_a_truncated_tail() {
    let cli = checkpointed_platform_log(4).await;
    cli.sql("DELETE FROM audit_log WHERE seq >= 3").await;
    let text = verify_fails(&cli);
    assert!(
        text.contains(
            "BROKEN  platform: entry 3: the chain head says 8 entries but only 2 are present (truncated tail)"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn log_3_verify_names_a_forged_or_altered_checkpoint() {
    let cli = checkpointed_platform_log(3).await;
    let file = sink_file(&cli);
    let good = std::fs::read_to_string(&file).unwrap();

    // The size in the signed text changed: the signature no longer holds.
    let altered = good.replacen("\n6\n", "\n5\n", 1);
    assert_ne!(altered, good);
    std::fs::write(&file, &altered).unwrap();
    let text = verify_fails(&cli);
    assert!(text.contains("BROKEN  platform: checkpoint 1 of 1 in the sink is forged or altered"), "{text}");
    assert!(text.contains("(forged checkpoint)"), "{text}");

    // A well-formed checkpoint signed by another key under the same name.
    let (origin, root) = {
        let mut lines = good.lines();
        (lines.next().unwrap().to_owned(), lines.nth(1).unwrap().to_owned())
    };
    let other = kura_crypto::merkle::NoteSigner::generate("kura").unwrap();
    let note = kura_crypto::merkle::sign_note(&format!("{origin}\n6\n{root}\n"), &other).unwrap();
    std::fs::write(&file, format!("{good}{note}\n")).unwrap();
    let text = verify_fails(&cli);
    assert!(text.contains("checkpoint 2 of 2 in the sink is forged or altered"), "{text}");

    // The genuine sink alone verifies again.
    std::fs::write(&file, &good).unwrap();
    assert!(cli.run(&["audit", "verify"]).status.success());
}

#[tokio::test]
async fn log_3_verify_exposes_a_database_rolled_back_to_an_older_copy() {
    let cli = checkpointed_platform_log(3).await;
    // An older copy of the log's tables, taken now.
    for table in ["audit_log", "audit_heads", "audit_tree_nodes"] {
        let sql = format!("CREATE TABLE old_{table} AS SELECT * FROM {table}");
        cli.sql(Box::leak(sql.into_boxed_str())).await;
    }
    for email in ["later1@example.jp", "later2@example.jp"] {
        assert!(cli.run(&["operator", "create", "--email", email]).status.success());
    }
    assert!(cli.run(&["audit", "checkpoint"]).status.success());
    // The database goes back to the older copy: consistent in itself, behind the sink.
    for table in ["audit_log", "audit_heads", "audit_tree_nodes"] {
        cli.sql(Box::leak(format!("DELETE FROM {table}").into_boxed_str())).await;
        cli.sql(Box::leak(format!("INSERT INTO {table} SELECT * FROM old_{table}").into_boxed_str())).await;
    }
    let text = verify_fails(&cli);
    assert!(text.contains("a signed checkpoint covers 10 entries but the database holds 6"), "{text}");
    assert!(text.contains("(database rolled back)"), "{text}");

    // Written again after the rollback, up to the same size: the trees differ.
    for email in ["again1@example.jp", "again2@example.jp"] {
        assert!(cli.run(&["operator", "create", "--email", email]).status.success());
    }
    let text = verify_fails(&cli);
    assert!(text.contains("the first 10 entries differ from the signed checkpoint of that size"), "{text}");
}

#[tokio::test]
async fn log_3_cli_proves_inclusion_and_consistency_against_its_checkpoints() {
    let cli = Cli::new().await;
    let out = cli.run(&[
        "tenant",
        "create",
        "--slug",
        "acme",
        "--name",
        "Acme",
        "--admin-email",
        "admin@acme.example.jp",
        "--one-time-password",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key = stdout(&cli.run(&["audit", "public-key"]));
    let verifier = kura_crypto::merkle::NoteVerifier::parse(key.trim()).unwrap();
    let out = cli.run(&["audit", "prove", "--tenant", "acme", "--seq", "1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let proof = kura_crypto::merkle::TlogProof::parse(&stdout(&out)).unwrap();
    assert_eq!(proof.index, 0);
    let body = kura_crypto::merkle::open_note(&proof.checkpoint, &verifier).unwrap();
    let checkpoint = kura_crypto::merkle::Checkpoint::parse(body).unwrap();
    assert!(checkpoint.origin().starts_with("kura/audit/"), "{}", checkpoint.origin());
    // The proof does not hold for another leaf.
    assert!(proof.verify(checkpoint.origin(), &kura_crypto::merkle::leaf_hash(b"x"), &verifier).is_err());
    let out = cli.run(&["audit", "prove", "--tenant", "acme", "--seq", "99"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("there is no entry 99"));
    let out = cli.run(&["audit", "consistency", "--tenant", "acme", "--from", "1", "--to", "1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout(&out), "", "a tree is consistent with itself without any hash");
    let out = cli.run(&["audit", "consistency", "--tenant", "acme", "--from", "1", "--to", "5"]);
    assert!(!out.status.success(), "beyond the log");
}
