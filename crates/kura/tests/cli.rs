//! The `kura` binary end to end: tenant creation prints one-time credentials, `audit verify`
//! passes on an intact log and names the entry when a row is edited or deleted (LOG-1). Runs on
//! SQLite, and on PostgreSQL when `KURA_TEST_POSTGRES_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

#[path = "cli/audit_export.rs"]
mod audit_export;
#[path = "cli/audit_log.rs"]
mod audit_log;
#[path = "cli/backup.rs"]
mod backup;
#[path = "cli/bulk.rs"]
mod bulk;
#[path = "cli/contract_end.rs"]
mod contract_end;
#[path = "cli/disclosure.rs"]
mod disclosure;
#[path = "cli/encryption.rs"]
mod encryption;
#[path = "cli/import.rs"]
mod import;
#[path = "cli/keystore_backups.rs"]
mod keystore_backups;
#[path = "cli/s3.rs"]
mod s3;
#[path = "cli/sweep.rs"]
mod sweep;

use kura_store::testing::{TestDb, TestKeystore, test_db, test_keystore};
use std::path::{Path, PathBuf};
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
        // On PostgreSQL as the application role, the test's own URL owning the tables (TEN-2).
        kura(&self.data(), self.sink.path())
            .args(args)
            .env("KURA_DATABASE_URL", self.db.app_url())
            .env("KURA_DATABASE_OWNER_URL", kura_store::testing::owner_url(&self.db.url).unwrap_or_default())
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

/// The `kura` binary with `data` as its data directory and `sink` as its checkpoint sink, cheap
/// hashing (these tests are about the CLI, not Argon2's cost) and quiet logs; no database URL.
fn kura(data: &Path, sink: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kura"));
    cmd.env("KURA_DATA_DIR", data)
        .env("KURA_AUDIT_CHECKPOINT_DIR", sink)
        .env("KURA_ARGON2_MEMORY_KIB", "64")
        .env("KURA_ARGON2_ITERATIONS", "1")
        .env("KURA_LOG", "warn");
    cmd
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

#[tokio::test]
async fn dat_5_export_all_writes_a_tenant_archive_that_standard_tools_unpack_and_check() {
    let cli = Cli::new().await;
    demo_credentials(&cli).await;
    let file = cli.dir.path().join("demo.zip");
    let out = cli.run(&["export", "--tenant", "demo", "--all", "--out", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).contains("Exported tenant demo"), "{}", stdout(&out));
    // Python's zipfile unpacks it and coreutils' sha256sum checks every file against the sums.
    let unpacked = cli.dir.path().join("unpacked");
    let unzip = Command::new("python3")
        .args(["-m", "zipfile", "-e", file.to_str().unwrap(), unpacked.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(unzip.status.success(), "{}", String::from_utf8_lossy(&unzip.stderr));
    let check = Command::new("sha256sum").args(["-c", "SHA256SUMS"]).current_dir(&unpacked).output().unwrap();
    assert!(check.status.success(), "{}{}", stdout(&check), String::from_utf8_lossy(&check.stderr));
    let checked = stdout(&check);
    assert!(checked.contains("records/customers.csv: OK") && checked.contains("audit-log.jsonl: OK"), "{checked}");
    let csv = std::fs::read(unpacked.join("records/customers.csv")).unwrap();
    assert_eq!(csv::ReaderBuilder::new().from_reader(&csv[3..]).records().count(), 300);
    // Changed on the way: the check names the file.
    std::fs::write(unpacked.join("users.jsonl"), b"{}\n").unwrap();
    let check = Command::new("sha256sum").args(["-c", "SHA256SUMS"]).current_dir(&unpacked).output().unwrap();
    assert!(!check.status.success() && stdout(&check).contains("users.jsonl: FAILED"), "{}", stdout(&check));

    let missing = cli.dir.path().join("none.zip");
    let out = cli.run(&["export", "--tenant", "nosuch", "--all", "--out", missing.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("tenant not found"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!missing.exists(), "a refused export writes no file");
    let out = cli.run(&["export", "--tenant", "demo", "--out", missing.to_str().unwrap()]);
    assert!(!out.status.success(), "either --collection or --all");
    let out = cli.run(&["audit", "verify"]);
    assert!(out.status.success(), "{}", stdout(&out));
}
