//! The systems under test: Kura on SQLite, Kura on PostgreSQL and PocketBase, each started on
//! 127.0.0.1 with fresh data, set up with the same two collections (five fields: two text, email,
//! number, date) and an account to sign in with.

use crate::pg::PgDatabase;
use crate::proc::{self, Server};
use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The collection that get, list and update work on: exactly the seeded records.
pub const COLLECTION: &str = "bench";
/// The collection that the create workload fills, so that the listing above always scans the
/// same number of records whichever system created more.
pub const CREATE_COLLECTION: &str = "bench_create";
const KURA_TENANT: &str = "bench";
const KURA_ADMIN: &str = "admin@bench.example";
/// The password the administrator chooses in place of the printed one-time password.
const KURA_PASSWORD: &str = "harbour-lantern-orchid-velvet";
const PB_SUPERUSER: &str = "superuser@bench.example";
const PB_USER: &str = "user@bench.example";
/// Loopback-only throwaway accounts in temporary directories.
const PB_PASSWORD: &str = "kura-bench-Passw0rd";
const HEALTH_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a freshly started server idles before its resident memory is read.
const SETTLE: Duration = Duration::from_secs(1);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum SystemKind {
    KuraSqlite,
    Pocketbase,
    KuraPostgres,
    /// Kura on SQLite serving TLS with a self-signed certificate, otherwise as `KuraSqlite`.
    KuraSqliteTls,
    /// Kura on PostgreSQL connected as the application role, which row-level security confines
    /// (TEN-2), the server's superuser owning the tables; `KuraPostgres` connects as that
    /// superuser, which the policies do not check.
    KuraPostgresRls,
}

impl SystemKind {
    pub const fn label(self) -> &'static str {
        match self {
            Self::KuraSqlite => "Kura (SQLite)",
            Self::Pocketbase => "PocketBase",
            Self::KuraPostgres => "Kura (PostgreSQL)",
            Self::KuraSqliteTls => "Kura (SQLite, TLS)",
            Self::KuraPostgresRls => "Kura (PostgreSQL, row-level security)",
        }
    }
}

/// What the load generator needs to talk to one system.
#[derive(Debug)]
pub struct Target {
    /// The value of the `Authorization` header of authenticated requests.
    pub auth: String,
    /// `…/records` of [`COLLECTION`]; a record is `…/records/{id}`.
    pub records_url: String,
    /// `…/records` of [`CREATE_COLLECTION`].
    pub create_url: String,
    /// A page of 50 records with `points>100`, sorted by `-joined`.
    pub list_url: String,
    pub login_url: String,
    pub login_body: String,
    /// Kura's Prometheus endpoint (durable writes and commits); `None` for PocketBase.
    pub metrics_url: Option<String>,
    /// The health check, which the new-connection workload asks for.
    pub health_url: String,
    /// The certificate (PEM) the system serves over TLS, which the clients trust; `None` for
    /// plain HTTP.
    pub tls_root: Option<Vec<u8>>,
    /// The ids of the seeded records of [`COLLECTION`].
    pub ids: Vec<String>,
}

/// Start-up figures of one system, one entry per start.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Startup {
    pub start_to_healthy_ms: Vec<f64>,
    pub idle_rss_kib: Vec<u64>,
}

/// A running, set-up system. Fields drop in order: the server is killed before its database is
/// dropped and its directory removed.
#[derive(Debug)]
pub struct Instance {
    pub kind: SystemKind,
    pub server: Server,
    pub target: Arc<Target>,
    pub startup: Startup,
    pub version: String,
    pub notes: Vec<String>,
    pub pg: Option<PgDatabase>,
    pub _dir: tempfile::TempDir,
}

/// Paths and options the systems are started with.
#[derive(Debug, Clone)]
pub struct Launch {
    pub kura_bin: PathBuf,
    pub pocketbase_bin: PathBuf,
    pub work_dir: PathBuf,
    /// How many times each server is started to measure start-up (the last one stays up).
    pub starts: usize,
    /// Kura with encryption at rest (a master key file beside its data directory).
    pub kura_encrypted: bool,
}

/// A `kura` command with a clean environment: every `KURA_*` variable of the caller removed, so
/// that Kura runs with its production defaults (Argon2id m=19456, t=2, p=1 among them).
fn kura_command(bin: &Path, data_dir: &Path, database_url: &str) -> Command {
    let mut cmd = Command::new(bin);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("KURA_") {
            cmd.env_remove(&k);
        }
    }
    cmd.env("KURA_DATA_DIR", data_dir).env("KURA_DATABASE_URL", database_url);
    cmd
}

/// [`kura_command`] with the owner's URL for the migrations, when there is one.
fn kura_command_owned(bin: &Path, data_dir: &Path, database_url: &str, owner_url: &str) -> Command {
    let mut cmd = kura_command(bin, data_dir, database_url);
    if !owner_url.is_empty() {
        cmd.env("KURA_DATABASE_OWNER_URL", owner_url);
    }
    cmd
}

/// The one-time password in the output of `kura tenant create` (`One-time password: X`).
pub fn parse_one_time_password(stdout: &str) -> Option<String> {
    stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("One-time password:"))
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
}

/// Starts Kura, on SQLite in a fresh directory or on a fresh PostgreSQL database; with `tls`,
/// serving HTTPS with a self-signed certificate made for the run.
pub async fn start_kura(launch: &Launch, pg: Option<PgDatabase>, tls: bool, rls: bool) -> anyhow::Result<Instance> {
    let kind = match (&pg, tls) {
        (Some(_), _) if rls => SystemKind::KuraPostgresRls,
        (Some(_), _) => SystemKind::KuraPostgres,
        (None, true) => SystemKind::KuraSqliteTls,
        (None, false) => SystemKind::KuraSqlite,
    };
    let dir = tempfile::Builder::new().prefix("kura-bench-").tempdir_in(&launch.work_dir)?;
    let tls = if tls { Some(crate::tls::server_cert(dir.path())?) } else { None };
    let tls_root = tls.as_ref().map(|(_, _, pem)| pem.clone());
    let data = dir.path().join("data");
    let db_url = pg.as_ref().map(|p| p.url.clone()).unwrap_or_default();
    // As the application role (created by the test harness's rules), the owner migrating.
    let (db_url, owner_url) =
        if rls { (kura_store::testing::app_url(&db_url), db_url) } else { (db_url, String::new()) };
    let mut notes = Vec::new();
    if let Some(p) = &pg {
        match p.describe().await {
            Ok(d) => notes.push(d),
            Err(e) => notes.push(format!("PostgreSQL settings unknown: {e}")),
        }
    }
    let version = proc::run_capture(kura_command(&launch.kura_bin, &data, &db_url).arg("--version"), "kura --version")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|e| format!("unknown ({e})"));

    if launch.kura_encrypted {
        // Kura turns encryption on when it finds its master key file beside the data directory.
        kura_crypto::vault::MasterKey::create_file(&dir.path().join("data-master.key"))?;
        notes.push("encryption at rest: on".to_owned());
    }
    // The tenant and its administrator, through the CLI, before the server runs.
    let mut create = kura_command_owned(&launch.kura_bin, &data, &db_url, &owner_url);
    create.args([
        "tenant",
        "create",
        "--slug",
        KURA_TENANT,
        "--name",
        "Kura bench",
        "--admin-email",
        KURA_ADMIN,
        "--one-time-password",
    ]);
    let out = proc::run_capture(&mut create, "kura tenant create")?;
    let password =
        parse_one_time_password(&out).context("no \"One-time password:\" in the output of kura tenant create")?;

    let log = dir.path().join("kura.log");
    let (server, base, startup) =
        start_measured(kind.label(), launch.starts, "/healthz", &log, tls_root.as_deref(), |port| {
            let mut cmd = kura_command_owned(&launch.kura_bin, &data, &db_url, &owner_url);
            cmd.arg("serve").env("KURA_LISTEN", format!("127.0.0.1:{port}"));
            if let Some((cert, key, _)) = &tls {
                cmd.env("KURA_TLS_CERT_FILE", cert).env("KURA_TLS_KEY_FILE", key);
            }
            cmd
        })
        .await?;
    if tls.is_some() {
        notes.push("TLS with a self-signed ECDSA P-256 certificate; clients on rustls (ring), HTTP/1.1".to_owned());
    }

    let http = setup_client(tls_root.as_deref())?;
    let login_url = format!("{base}/api/v1/sessions");
    let first_login = json!({"tenant": KURA_TENANT, "email": KURA_ADMIN, "password": password}).to_string();
    let session = call(&http, reqwest::Method::POST, &login_url, None, Some(&first_login)).await?;
    let token = session["token"].as_str().context("no token in the session response")?;
    let auth = format!("Bearer {token}");
    // The printed password is a one-time password: the administrator chooses their own first,
    // and the login workload signs in with it.
    let change = json!({"current_password": password, "new_password": KURA_PASSWORD}).to_string();
    call(&http, reqwest::Method::PUT, &format!("{base}/api/v1/me/password"), Some(&auth), Some(&change)).await?;
    let login_body = json!({"tenant": KURA_TENANT, "email": KURA_ADMIN, "password": KURA_PASSWORD}).to_string();
    for name in [COLLECTION, CREATE_COLLECTION] {
        let spec = json!({
            "name": name,
            "label": "Bench",
            "fields": [
                {"name": "name", "label": "Name", "type": "text", "required": true},
                {"name": "city", "label": "City", "type": "text"},
                {"name": "email", "label": "Email", "type": "email"},
                {"name": "points", "label": "Points", "type": "number"},
                {"name": "joined", "label": "Joined", "type": "date"}
            ]
        });
        call(&http, reqwest::Method::POST, &format!("{base}/api/v1/collections"), Some(&auth), Some(&spec.to_string()))
            .await?;
    }
    let records_url = format!("{base}/api/v1/collections/{COLLECTION}/records");
    let target = Target {
        auth,
        list_url: format!("{records_url}?filter=points%3E100&sort=-joined&per_page=50"),
        create_url: format!("{base}/api/v1/collections/{CREATE_COLLECTION}/records"),
        records_url,
        login_url,
        login_body,
        metrics_url: Some(format!("{base}/metrics")),
        health_url: format!("{base}/healthz"),
        tls_root,
        ids: Vec::new(),
    };
    Ok(Instance { kind, server, target: Arc::new(target), startup, version, notes, pg, _dir: dir })
}

/// Starts PocketBase in a fresh directory with a superuser, the two collections (open to any
/// signed-in user) and a user of the built-in `users` auth collection.
pub async fn start_pocketbase(launch: &Launch) -> anyhow::Result<Instance> {
    let kind = SystemKind::Pocketbase;
    let bin = &launch.pocketbase_bin;
    let dir = tempfile::Builder::new().prefix("kura-bench-pb-").tempdir_in(&launch.work_dir)?;
    let data = dir.path().join("pb_data");
    let version = proc::run_capture(Command::new(bin).arg("--version"), "pocketbase --version")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|e| format!("unknown ({e})"));
    let mut upsert = Command::new(bin);
    upsert.args(["superuser", "upsert", PB_SUPERUSER, PB_PASSWORD, "--dir"]).arg(&data);
    proc::run_capture(&mut upsert, "pocketbase superuser upsert")?;

    let log = dir.path().join("pocketbase.log");
    let (server, base, startup) = start_measured(kind.label(), launch.starts, "/api/health", &log, None, |port| {
        let mut cmd = Command::new(bin);
        cmd.args(["serve", "--http", &format!("127.0.0.1:{port}"), "--dir"]).arg(&data);
        cmd
    })
    .await?;

    let http = setup_client(None)?;
    let su = call(
        &http,
        reqwest::Method::POST,
        &format!("{base}/api/collections/_superusers/auth-with-password"),
        None,
        Some(&json!({"identity": PB_SUPERUSER, "password": PB_PASSWORD}).to_string()),
    )
    .await?;
    let su_token = su["token"].as_str().context("no superuser token")?.to_owned();
    let signed_in = "@request.auth.id != \"\"";
    for name in [COLLECTION, CREATE_COLLECTION] {
        let spec = json!({
            "name": name,
            "type": "base",
            "listRule": signed_in, "viewRule": signed_in, "createRule": signed_in, "updateRule": signed_in,
            "deleteRule": null,
            "fields": [
                {"name": "name", "type": "text", "required": true},
                {"name": "city", "type": "text"},
                {"name": "email", "type": "email"},
                {"name": "points", "type": "number"},
                {"name": "joined", "type": "date"}
            ]
        });
        call(
            &http,
            reqwest::Method::POST,
            &format!("{base}/api/collections"),
            Some(&su_token),
            Some(&spec.to_string()),
        )
        .await?;
    }
    let user = json!({"email": PB_USER, "password": PB_PASSWORD, "passwordConfirm": PB_PASSWORD, "verified": true});
    call(
        &http,
        reqwest::Method::POST,
        &format!("{base}/api/collections/users/records"),
        Some(&su_token),
        Some(&user.to_string()),
    )
    .await?;
    let login_url = format!("{base}/api/collections/users/auth-with-password");
    let login_body = json!({"identity": PB_USER, "password": PB_PASSWORD}).to_string();
    let auth = call(&http, reqwest::Method::POST, &login_url, None, Some(&login_body)).await?;
    let token = auth["token"].as_str().context("no user token")?.to_owned();
    let records_url = format!("{base}/api/collections/{COLLECTION}/records");
    let target = Target {
        auth: token,
        list_url: format!("{records_url}?filter=points%3E100&sort=-joined&perPage=50"),
        create_url: format!("{base}/api/collections/{CREATE_COLLECTION}/records"),
        records_url,
        login_url,
        login_body,
        metrics_url: None,
        health_url: format!("{base}/api/health"),
        tls_root: None,
        ids: Vec::new(),
    };
    let notes = vec!["default settings: WAL with synchronous=NORMAL, request log on".to_owned()];
    Ok(Instance { kind, server, target: Arc::new(target), startup, version, notes, pg: None, _dir: dir })
}

/// Starts a server `starts` times on fresh ports, measuring spawn → first 200 on `health` and the
/// resident memory after idling for [`SETTLE`]; keeps the last one running. With `tls_root`, the
/// server speaks HTTPS with that certificate.
async fn start_measured(
    name: &str,
    starts: usize,
    health: &str,
    log: &Path,
    tls_root: Option<&[u8]>,
    command: impl Fn(u16) -> Command,
) -> anyhow::Result<(Server, String, Startup)> {
    let mut startup = Startup::default();
    let scheme = if tls_root.is_some() { "https" } else { "http" };
    let probe = crate::tls::http_client(tls_root, false, Duration::from_secs(2))?;
    for i in 0..starts.max(1) {
        let port = proc::free_port()?;
        let base = format!("{scheme}://127.0.0.1:{port}");
        let spawned = Instant::now();
        let mut server = Server::spawn(name, command(port), log)?;
        let took = server.wait_healthy(&probe, &format!("{base}{health}"), spawned, HEALTH_TIMEOUT).await?;
        startup.start_to_healthy_ms.push(took.as_secs_f64() * 1000.0);
        tokio::time::sleep(SETTLE).await;
        server.check_alive()?;
        startup.idle_rss_kib.push(proc::memory(server.pid())?.rss_kib);
        if i + 1 == starts.max(1) {
            return Ok((server, base, startup));
        }
        drop(server);
    }
    bail!("unreachable: no start of {name}")
}

fn setup_client(tls_root: Option<&[u8]>) -> anyhow::Result<reqwest::Client> {
    crate::tls::http_client(tls_root, false, Duration::from_secs(30))
}

/// One set-up request; fails on anything but 2xx, with the response body.
async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    auth: Option<&str>,
    body: Option<&str>,
) -> anyhow::Result<Value> {
    let mut req = http.request(method.clone(), url);
    if let Some(a) = auth {
        req = req.header(reqwest::header::AUTHORIZATION, a);
    }
    if let Some(b) = body {
        req = req.header(reqwest::header::CONTENT_TYPE, "application/json").body(b.to_owned());
    }
    let resp = req.send().await.with_context(|| format!("{method} {url}"))?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    if !status.is_success() {
        bail!("{method} {url}: HTTP {status}: {}", text.chars().take(500).collect::<String>());
    }
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(&text).with_context(|| format!("{method} {url}: not JSON"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_time_password_line() {
        let out = "Created tenant bench (Kura bench).\nAdministrator: admin@bench.example\n\
                   One-time password: vWrQNAXkbQgDhKXGQTu5\nIt is shown only now.\n";
        assert_eq!(parse_one_time_password(out).as_deref(), Some("vWrQNAXkbQgDhKXGQTu5"));
        assert_eq!(parse_one_time_password("  One-time password:  abc  \r\n").as_deref(), Some("abc"));
        assert_eq!(parse_one_time_password("Created tenant bench.\n"), None);
        assert_eq!(parse_one_time_password("One-time password: \n"), None);
    }
}
