//! Group commit survives a crash: every write the server acknowledged before it was killed
//! (SIGKILL, no shutdown) is there after a restart, and the audit chains still verify. Runs the
//! real binary on SQLite, and on PostgreSQL when `KURA_TEST_POSTGRES_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use kura_store::testing::{TestDb, test_db};
use serde_json::{Value, json};
use std::net::TcpListener;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A data directory (and database) the binary runs on, across restarts.
struct Site {
    db: TestDb,
    dir: tempfile::TempDir,
}

/// A running `kura serve`, killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Site {
    async fn new() -> Self {
        Self { db: test_db().await, dir: tempfile::tempdir().unwrap() }
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kura"));
        cmd.env("KURA_DATA_DIR", self.dir.path().join("data"))
            // Cheap hashing: this test is about durability, not Argon2's cost.
            .env("KURA_ARGON2_MEMORY_KIB", "64")
            .env("KURA_ARGON2_ITERATIONS", "1")
            .env("KURA_LOG", "warn");
        // On SQLite, the default database in the data directory, as in production.
        if !self.db.url.starts_with("sqlite:") {
            // As the application role, the test's own URL owning the tables (TEN-2).
            cmd.env("KURA_DATABASE_URL", self.db.app_url()).env("KURA_DATABASE_OWNER_URL", &self.db.url);
        }
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("run kura")
    }

    /// Starts the server on a free port and waits until it is ready.
    async fn serve(&self, http: &reqwest::Client) -> Server {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log =
            std::fs::OpenOptions::new().create(true).append(true).open(self.dir.path().join("serve.log")).unwrap();
        let child = self
            .command()
            .arg("serve")
            .env("KURA_LISTEN", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start kura serve");
        let server = Server { child, base: format!("http://127.0.0.1:{port}") };
        for _ in 0..600 {
            if let Ok(r) = http.get(format!("{}/readyz", server.base)).send().await
                && r.status().is_success()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("kura serve did not become ready: {}", self.log());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("serve.log")).unwrap_or_default()
    }
}

/// Creates a record; `Some(id)` only if the server acknowledged it (201 with the record).
async fn create(http: &reqwest::Client, base: &str, token: &str, name: &str) -> Option<String> {
    let response = http
        .post(format!("{base}/api/v1/collections/customers/records"))
        .bearer_auth(token)
        .json(&json!({"name": name}))
        .send()
        .await
        .ok()?;
    if response.status() != reqwest::StatusCode::CREATED {
        return None;
    }
    let body: Value = response.json().await.ok()?;
    Some(body["id"].as_str()?.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ops_group_commit_acknowledged_writes_survive_kill() {
    let site = Site::new().await;
    let out = site.run(&[
        "tenant",
        "create",
        "--slug",
        "acme",
        "--name",
        "アクメ",
        "--admin-email",
        "admin@acme.example.jp",
        "--one-time-password",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let password = stdout
        .lines()
        .find_map(|l| l.strip_prefix("One-time password: "))
        .expect("a one-time password is printed")
        .trim()
        .to_owned();

    // reqwest has no TLS provider of its own in these tests (the demo's test speaks HTTPS).
    let _ = (*kura_server::tls::provider()).clone().install_default();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
    let server = site.serve(&http).await;
    let base = server.base.clone();
    let login = json!({"tenant": "acme", "email": "admin@acme.example.jp", "password": password});
    let response = http.post(format!("{base}/api/v1/sessions")).json(&login).send().await.unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::CREATED);
    let token = response.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    // A one-time password: the administrator chooses their own before anything else.
    let change = json!({"current_password": password, "new_password": "crash-test-harbour-lantern"});
    let response =
        http.put(format!("{base}/api/v1/me/password")).bearer_auth(&token).json(&change).send().await.unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let spec = json!({"name": "customers", "label": "顧客", "memo": "", "fields": [
        {"name": "name", "label": "氏名", "type": "text", "required": true}]});
    let response =
        http.post(format!("{base}/api/v1/collections")).bearer_auth(&token).json(&spec).send().await.unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::CREATED);

    // 300 concurrent creates, all acknowledged.
    let first: Vec<_> = (0..300)
        .map(|i| {
            let (http, base, token) = (http.clone(), base.clone(), token.clone());
            tokio::spawn(async move { create(&http, &base, &token, &format!("first {i}")).await })
        })
        .collect();
    let mut acknowledged = Vec::new();
    for task in first {
        acknowledged.push(task.await.unwrap().expect("a create while the server is healthy succeeds"));
    }

    // Then a steady stream of creates, and SIGKILL while many are in flight.
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..64)
        .map(|w| {
            let (http, base, token) = (http.clone(), base.clone(), token.clone());
            let (stop, acked) = (stop.clone(), acked.clone());
            tokio::spawn(async move {
                let mut i = 0;
                while !stop.load(Ordering::SeqCst) {
                    if let Some(id) = create(&http, &base, &token, &format!("stream {w}-{i}")).await {
                        acked.lock().unwrap().push(id);
                    }
                    i += 1;
                }
            })
        })
        .collect();
    for _ in 0..2_000 {
        if acked.lock().unwrap().len() >= 300 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut server = server;
    server.child.kill().unwrap(); // SIGKILL: no graceful shutdown, no final commit.
    server.child.wait().unwrap();
    stop.store(true, Ordering::SeqCst);
    for worker in workers {
        worker.await.unwrap();
    }
    drop(server);
    let streamed = acked.lock().unwrap().clone();
    assert!(!streamed.is_empty(), "some creates were acknowledged before the kill");
    eprintln!(
        "{} creates acknowledged, {} of them in the stream cut by SIGKILL",
        acknowledged.len() + streamed.len(),
        streamed.len()
    );
    acknowledged.extend(streamed);

    // Restart on the same data: every acknowledged record is there.
    let server = site.serve(&http).await;
    let base = server.base.clone();
    let mut missing = Vec::new();
    for id in &acknowledged {
        let response = http
            .get(format!("{base}/api/v1/collections/customers/records/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        if response.status() != reqwest::StatusCode::OK {
            missing.push((id.clone(), response.status()));
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged records are missing: {missing:?}",
        missing.len(),
        acknowledged.len()
    );
    drop(server);

    let out = site.run(&["audit", "verify"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("All 2 audit chains verified."), "{stdout}");
}
