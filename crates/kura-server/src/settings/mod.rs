//! Configuration. Layers, later ones winning: built-in defaults → TOML file → `KURA_*`
//! environment variables → command-line flags (applied by the binary). Secrets are redacted in
//! `Debug`. Every option is listed, with its default, in `kura.example.toml`.

use kura_crypto::Argon2Params;
use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

mod check;
mod env;
mod places;

/// The configuration format version this binary understands.
pub const CONFIG_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {name}: {message}")]
    Env { name: String, message: String },
    #[error("invalid setting {name}: {message}")]
    Invalid { name: &'static str, message: String },
}

/// A value that must not appear in logs.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() { f.write_str("\"\"") } else { f.write_str("\"<redacted>\"") }
    }
}

/// All settings of a Kura process.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Configuration format version; must be 1.
    pub version: u32,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Where the SQLite database (and later keys and backups) live.
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL (or `sqlite://PATH` for SQLite elsewhere); empty means
    /// SQLite in `data_dir`. May hold a password.
    pub database_url: Secret,
    /// PostgreSQL: the URL of the role that owns Kura's tables, used only to run the migrations
    /// (and by backups, which read every tenant). Kura then grants the role of `database_url`
    /// what the application needs, and row-level security confines that role (TEN-2). Empty:
    /// `database_url` migrates, and if its role owns the tables the policies do not confine it
    /// (a warning at start-up; `/readyz` says so). May hold a password.
    pub database_owner_url: Secret,
    /// Connections in the database read pool (writes use one more).
    pub database_max_connections: u32,
    /// Records kept decoded in memory for fast listing, across all collections; 0 disables.
    pub record_cache_records: usize,
    /// The URL users reach Kura at (used in links); defaults to `http://<listen>`.
    pub public_url: Option<String>,
    /// Whether cookies carry the `Secure` flag. Keep true; browsers accept secure cookies on
    /// `localhost` and `127.0.0.1` even over plain HTTP.
    pub cookie_secure: bool,
    pub password: PasswordSettings,
    pub session: SessionSettings,
    pub mail: MailSettings,
    pub links: LinkSettings,
    pub limits: LimitSettings,
    pub metrics: MetricsSettings,
    /// Reverse proxies whose forwarding header is believed (IAM-10).
    pub proxies: ProxySettings,
    pub tls: TlsSettings,
    /// Encryption at rest (DAT-2): the master key and the keystore of tenant keys.
    pub encryption: EncryptionSettings,
    /// Signed checkpoints of the audit logs (LOG-3).
    pub audit: AuditSettings,
    /// The access log of every HTTP request (LOG-2).
    pub access_log: AccessLogSettings,
    /// Backups (OPS-1): where they go, how many are kept, the PostgreSQL tools.
    pub backup: BackupSettings,
    /// Exports built in the background (DAT-5): where their files wait and for how long.
    pub exports: ExportSettings,
    /// The contract's end (TEN-4): the grace period before a tenant's data is destroyed.
    pub contract: ContractSettings,
    /// Log filter, e.g. `info` or `kura_server=debug,info`.
    pub log: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordSettings {
    /// Argon2id memory cost in KiB (OWASP: 19456).
    pub argon2_memory_kib: u32,
    /// Argon2id passes (OWASP: 2).
    pub argon2_iterations: u32,
    /// Argon2id lanes (OWASP: 1).
    pub argon2_parallelism: u32,
    /// Password hashes computed at once; further sign-ins wait. 0 means one per CPU core.
    pub hashing_threads: usize,
    /// Shortest password accepted when setting one.
    pub min_length: usize,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionSettings {
    /// A session ends this many minutes after sign-in, whatever the activity (IAM-9: 3 hours).
    pub absolute_minutes: u32,
    /// A session ends after this many minutes without a request.
    pub idle_minutes: u32,
}

/// How long single-use password links work (TEN-1, IAM-7).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinkSettings {
    /// A setup link (new tenant administrator, invited user), in hours.
    pub setup_hours: u32,
    /// A reset link ("forgot password"), in minutes.
    pub reset_minutes: u32,
}

impl Default for LinkSettings {
    fn default() -> Self {
        Self { setup_hours: 72, reset_minutes: 60 }
    }
}

/// How mail leaves Kura.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailSettings {
    /// The SMTP relay; empty writes mail to files in `data_dir/mail`.
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_security: SmtpSecurity,
    pub smtp_username: String,
    pub smtp_password: Secret,
    /// A PEM file of extra root certificates (a relay with a private CA).
    pub ca_file: Option<PathBuf>,
    /// `Name <address>` or an address.
    pub from: String,
    pub max_attempts: u32,
    pub retry_seconds: u32,
    pub poll_seconds: u32,
}

/// How the connection to the SMTP relay is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, which is required.
    Starttls,
    /// TLS from the first byte (SMTPS).
    Tls,
    /// No encryption: only for a relay on the same machine.
    None,
}

impl std::str::FromStr for SmtpSecurity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "starttls" => Ok(Self::Starttls),
            "tls" => Ok(Self::Tls),
            "none" => Ok(Self::None),
            other => Err(format!("{other:?} is not starttls, tls or none")),
        }
    }
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            smtp_host: String::new(),
            smtp_port: 587,
            smtp_security: SmtpSecurity::Starttls,
            smtp_username: String::new(),
            smtp_password: Secret::default(),
            ca_file: None,
            from: "Kura <no-reply@kura.invalid>".into(),
            max_attempts: 6,
            retry_seconds: 30,
            poll_seconds: 10,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitSettings {
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Records a principal without `records.export` may list per minute (IAM-2).
    pub records_per_minute_without_export: u64,
    /// Largest file a record import accepts, in bytes (DAT-6). The file is spooled to a
    /// temporary file and read a chunk at a time, so this bounds disk and time, not memory.
    pub import_max_bytes: usize,
    /// Records one principal may export within 24 hours before each further export is flagged
    /// in the tenant's log as `export.flagged` (DAT-5, for MON-1's detectors).
    pub export_flag_records: u64,
}

/// The reverse proxies in front of Kura (IAM-10). A request whose peer is in `trusted` has its
/// client's address taken from `header`; from any other peer the header is ignored, so a client
/// cannot choose the address it is judged and recorded by.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProxySettings {
    /// The proxies' own addresses or networks, e.g. `["10.0.0.5/32"]`; empty: no proxy.
    pub trusted: Vec<ipnet::IpNet>,
    /// `x-forwarded-for` (the default) or `forwarded` (RFC 7239): the one header the proxies
    /// set; the other is never read.
    pub header: ForwardedHeader,
}

/// The forwarding header the trusted proxies set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardedHeader {
    #[default]
    XForwardedFor,
    Forwarded,
}

impl std::str::FromStr for ForwardedHeader {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(Self::XForwardedFor),
            "forwarded" => Ok(Self::Forwarded),
            other => Err(format!("`{other}` is neither x-forwarded-for nor forwarded")),
        }
    }
}

/// Who may read `/metrics` (MON-2): it reveals sign-in failure counts and load, so it is served
/// only to the listed networks, or to a request carrying the token as `Authorization: Bearer`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSettings {
    /// Networks whose addresses may read the metrics, e.g. `["127.0.0.0/8", "10.0.0.0/8"]`.
    pub allow_from: Vec<ipnet::IpNet>,
    /// A bearer token that opens the metrics from anywhere; empty means none.
    pub token: Secret,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        let loopback = ["127.0.0.0/8", "::1/128"];
        Self { allow_from: loopback.iter().filter_map(|n| n.parse().ok()).collect(), token: Secret::default() }
    }
}

/// Signed checkpoints of the audit logs (LOG-3): where they are appended, which key signs them,
/// and how often they are made.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSettings {
    /// The directory checkpoints are appended to (one file per log). Default: a directory
    /// beside `data_dir` named `<data_dir>-checkpoints`, so that it can be another mount with
    /// its own permissions; a share on another machine is better still.
    pub checkpoint_dir: Option<PathBuf>,
    /// The Ed25519 signing key, in the signed-note private key format; created (mode 0600) at
    /// first need. Default: `audit-signing.key` in `data_dir`. Never in the database.
    pub signing_key_file: Option<PathBuf>,
    /// Seconds between scheduled checkpoints of every log, also when nothing happened.
    pub checkpoint_seconds: u32,
    /// The name that starts every log's origin (`<name>/audit/<tenant id>`) and names the key.
    pub log_name: String,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self { checkpoint_dir: None, signing_key_file: None, checkpoint_seconds: 60, log_name: "kura".into() }
    }
}

/// The access log (LOG-2): every HTTP request, written in batches off the request path, kept
/// for a number of days and then purged by a scheduled job.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccessLogSettings {
    /// Whether requests are logged at all.
    pub enabled: bool,
    /// Days entries are kept where a tenant has not chosen its own (7 to 3650); also the
    /// platform's own requests.
    pub retention_days: u32,
    /// Requests waiting to be written, at most; past it a request is not logged and
    /// `kura_access_log_dropped_total` counts it (a request is never held up or refused).
    pub buffer: usize,
    /// Milliseconds between writes of the waiting requests (sooner when 1,000 are waiting).
    pub flush_milliseconds: u64,
    /// Minutes between runs of the purge of expired entries.
    pub purge_minutes: u32,
}

impl Default for AccessLogSettings {
    fn default() -> Self {
        Self { enabled: true, retention_days: 90, buffer: 50_000, flush_milliseconds: 1_000, purge_minutes: 60 }
    }
}

/// Backups (OPS-1): each one a directory of its own in `dir`, compressed, encrypted with the
/// backup key from the keystore and described by a signed manifest.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupSettings {
    /// The backup directory. Default: `<data_dir>-backups` beside (not inside) the data
    /// directory; better another disk or machine.
    pub dir: Option<PathBuf>,
    /// A second directory every backup is copied to once made (another disk, or a share of
    /// another machine or region), with the same retention. Unset: no copy.
    pub copy_dir: Option<PathBuf>,
    /// How many backups (generations) are kept: after each successful backup the oldest beyond
    /// this number are deleted. 1 to 1000.
    pub generations: u32,
    /// `pg_dump` for PostgreSQL data. Default: found on `PATH`.
    pub pg_dump: Option<PathBuf>,
    /// `pg_restore` for restoring PostgreSQL data. Default: found on `PATH`.
    pub pg_restore: Option<PathBuf>,
    /// When `kura serve` takes a backup each day, `HH:MM` in `time_zone`; empty: never (run
    /// `kura backup` from cron instead).
    pub times: Vec<String>,
    /// The IANA time zone of `times`.
    pub time_zone: String,
    /// Seconds between the scheduler's checks of whether a backup is due.
    pub check_seconds: u32,
    /// When `kura serve` runs the restore drill, `HH:MM` in `time_zone`: the newest backup is
    /// restored into a scratch location, verified, recorded and removed. Empty: never.
    pub drill_times: Vec<String>,
    /// The copy of every backup in an S3-compatible bucket (another region or provider).
    pub remote: RemoteSettings,
    /// The directory of the keystore's own backups. Default: `<data_dir>-keystore-backups`
    /// beside the data directory. Their copies go to `keystore/` in `copy_dir` and under
    /// `<prefix>/keystore/` in the bucket.
    pub keystore_dir: Option<PathBuf>,
    /// When `kura serve` backs the keystore up each day, `HH:MM` in `time_zone`; empty: never
    /// (run `kura backup --keystore` from cron instead).
    pub keystore_times: Vec<String>,
    /// Days a keystore backup is kept, 1 to 90: a destroyed tenant key is gone from every
    /// keystore backup at most this long (and one check) after it was destroyed, which the
    /// deletion certificate states. Short on purpose.
    pub keystore_keep_days: u32,
}

/// The remote copy of backups in an S3-compatible bucket (OPS-1). Off while `bucket` is empty.
/// The secret access key is never read from this file: it comes from
/// `KURA_BACKUP_REMOTE_SECRET_ACCESS_KEY` or from `credentials_file`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RemoteSettings {
    /// The bucket. Empty: no remote copy.
    pub bucket: String,
    /// The service's URL, e.g. `https://s3.ap-northeast-1.amazonaws.com` or another provider's;
    /// empty: AWS S3 in `region`.
    pub endpoint: String,
    /// The bucket's region.
    pub region: String,
    /// The folder in the bucket the backups go under (no leading or trailing `/`); empty: the
    /// bucket's root.
    pub prefix: String,
    /// Allow an `http://` endpoint; only on a loopback address (a test server, or a local
    /// proxy that speaks TLS onwards).
    pub allow_http: bool,
    /// The access key id (not secret); from the file, `KURA_BACKUP_REMOTE_ACCESS_KEY_ID`, or
    /// `credentials_file`.
    pub access_key_id: String,
    /// The secret access key, from `KURA_BACKUP_REMOTE_SECRET_ACCESS_KEY` only.
    #[serde(skip)]
    pub secret_access_key: Secret,
    /// A file in the AWS shared-credentials format (`aws_access_key_id = …`,
    /// `aws_secret_access_key = …`), mode 0600, holding both keys instead.
    pub credentials_file: Option<PathBuf>,
}

impl Default for RemoteSettings {
    fn default() -> Self {
        Self {
            bucket: String::new(),
            endpoint: String::new(),
            region: "us-east-1".into(),
            prefix: String::new(),
            allow_http: false,
            access_key_id: String::new(),
            secret_access_key: Secret::default(),
            credentials_file: None,
        }
    }
}

impl RemoteSettings {
    /// Whether a remote copy is configured.
    pub fn enabled(&self) -> bool {
        !self.bucket.is_empty()
    }
}

/// What happens after a tenant's contract ends (TEN-4).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContractSettings {
    /// Days after the contract's last day during which the tenant stays readable and can export
    /// its data; after them its keys are destroyed and its rows deleted. 0 to 90.
    pub grace_days: u32,
    /// Seconds between the checks of `kura serve` for tenants whose grace period is over.
    pub check_seconds: u32,
}

impl Default for ContractSettings {
    fn default() -> Self {
        Self { grace_days: 60, check_seconds: 3600 }
    }
}

impl Default for BackupSettings {
    fn default() -> Self {
        Self {
            dir: None,
            copy_dir: None,
            generations: 7,
            pg_dump: None,
            pg_restore: None,
            times: vec!["03:00".into()],
            time_zone: "Asia/Tokyo".into(),
            check_seconds: 60,
            drill_times: vec!["04:00".into()],
            remote: RemoteSettings::default(),
            keystore_dir: None,
            keystore_times: vec!["03:00".into()],
            keystore_keep_days: 3,
        }
    }
}

/// Exports built in the background (DAT-5): a worker on each node builds the files of the jobs
/// it claims into `dir`, and each file is offered for one download until its link expires.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExportSettings {
    /// Whether this node builds exports and expires their links (on by default). Turn it off
    /// on nodes that should only serve requests; at least one node must keep it on.
    pub worker: bool,
    /// Where finished export files wait for their download (created owner-only, files 0600).
    /// Default: `exports` inside the data directory. Nodes behind one address should share it
    /// (a download is served by whichever node receives it).
    pub dir: Option<PathBuf>,
    /// Hours a finished export's download link works (1 to 720); the file is deleted then.
    pub link_hours: u32,
    /// Seconds between a node's looks for jobs queued elsewhere and for expired links.
    pub poll_seconds: u32,
    /// Seconds a worker's claim on a job holds without news; a node that stops building
    /// leaves the job to another once it ends (renewed while building).
    pub lease_seconds: u32,
    /// Builds of one job before it is recorded as failed.
    pub max_attempts: u32,
}

impl Default for ExportSettings {
    fn default() -> Self {
        Self { worker: true, dir: None, link_hours: 24, poll_seconds: 10, lease_seconds: 120, max_attempts: 3 }
    }
}

/// How connections are protected (DAT-1). With a certificate and key, Kura serves HTTPS only
/// (TLS 1.2 and 1.3). Without them it serves plain HTTP, which it allows only on a loopback
/// address or behind a declared TLS-terminating proxy.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSettings {
    /// PEM file with the server certificate, followed by any intermediate certificates.
    pub cert_file: Option<PathBuf>,
    /// PEM file with the certificate's private key (PKCS#8, SEC1 or PKCS#1).
    pub key_file: Option<PathBuf>,
    /// Seconds between checks of the two files for a renewed certificate; SIGHUP reloads at once.
    pub reload_seconds: u32,
    /// A proxy in front of Kura terminates TLS: plain HTTP is then allowed on any address.
    /// Cookies stay `Secure` and HSTS is still sent.
    pub behind_proxy: bool,
    /// A second address (usually port 80) that only redirects to HTTPS; needs a certificate.
    pub redirect_listen: Option<SocketAddr>,
    /// The folder of the client-certificate CA (IAM-11: `client-ca.pem` and the 0600
    /// `client-ca.key`), made there on first need. Every node must see the same two files.
    /// Default: `tls` in `data_dir`.
    pub client_ca_dir: Option<PathBuf>,
}

/// Encryption at rest (DAT-2, DAT-3): tenant values are sealed under per-tenant keys, which the
/// keystore holds wrapped by the master key. The keystore and the master key are kept apart from
/// the data (and from each other in backups): see docs/operations.md.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EncryptionSettings {
    /// Seal tenant values: `true` requires a master key (`kura serve` refuses to start without
    /// one), `false` stores values as they are; unset, encryption is on exactly when a master
    /// key is given (`KURA_MASTER_KEY`, or the key file exists), and a new embedded deployment
    /// (no `database_url`, no database file yet) creates its key file on first start.
    pub enabled: Option<bool>,
    /// The keystore: `sqlite://PATH` or `postgres://…`. Empty: with SQLite data, `keystore.db`
    /// in the directory `<data_dir>-keystore` beside (not inside) the data directory; with
    /// PostgreSQL, the database `<name>_keys` on the same server, which must exist.
    pub keystore_url: Secret,
    /// The master key file: 32 random bytes, mode 0600. Empty: `<data_dir>-master.key` beside
    /// the data directory. `KURA_MASTER_KEY` (base64) is used instead when set.
    pub master_key_file: Option<PathBuf>,
    /// The master key itself, base64, from `KURA_MASTER_KEY` only (never from the file).
    #[serde(skip)]
    pub master_key: Secret,
    /// Create a missing PostgreSQL keystore database (`kura demo` only; in production it is
    /// made by the operator, with its own backups).
    #[serde(skip)]
    pub create_keystore: bool,
    /// The master key being replaced, during a master-key rotation (32 bytes, mode 0600): it
    /// only unwraps the keys it wrapped until `kura keys rotate-master` has re-wrapped them
    /// under `master_key_file` (docs/operations.md, "Rotating the master key").
    pub previous_master_key_file: Option<PathBuf>,
    /// Run the data-key rotation worker on this node. Unset: on.
    pub rotation_worker: Option<bool>,
}

impl Default for TlsSettings {
    fn default() -> Self {
        Self {
            cert_file: None,
            key_file: None,
            reload_seconds: 60,
            behind_proxy: false,
            redirect_listen: None,
            client_ca_dir: None,
        }
    }
}

impl TlsSettings {
    /// Whether Kura terminates TLS itself.
    pub fn enabled(&self) -> bool {
        self.cert_file.is_some() && self.key_file.is_some()
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            version: CONFIG_VERSION,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("kura-data"),
            database_url: Secret::default(),
            database_owner_url: Secret::default(),
            database_max_connections: 8,
            record_cache_records: 1_000_000,
            public_url: None,
            cookie_secure: true,
            password: PasswordSettings::default(),
            session: SessionSettings::default(),
            mail: MailSettings::default(),
            links: LinkSettings::default(),
            limits: LimitSettings::default(),
            metrics: MetricsSettings::default(),
            proxies: ProxySettings::default(),
            tls: TlsSettings::default(),
            encryption: EncryptionSettings::default(),
            audit: AuditSettings::default(),
            access_log: AccessLogSettings::default(),
            backup: BackupSettings::default(),
            exports: ExportSettings::default(),
            contract: ContractSettings::default(),
            log: "info".into(),
        }
    }
}

impl Default for PasswordSettings {
    fn default() -> Self {
        let a = Argon2Params::default();
        Self {
            argon2_memory_kib: a.memory_kib,
            argon2_iterations: a.iterations,
            argon2_parallelism: a.parallelism,
            hashing_threads: 0,
            min_length: 8,
        }
    }
}

impl Default for SessionSettings {
    fn default() -> Self {
        Self { absolute_minutes: 180, idle_minutes: 60 }
    }
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            records_per_minute_without_export: 500,
            import_max_bytes: 256 * 1024 * 1024,
            export_flag_records: 100_000,
        }
    }
}

/// `KURA_*` variables as `Settings::load` takes them, for the tests of this module's parts.
#[cfg(test)]
fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn secrets_are_redacted_in_debug() {
        let s = Settings::load(
            None,
            vars(&[("KURA_DATABASE_URL", "postgres://u:hunter2@h/db"), ("KURA_SMTP_PASSWORD", "relay-secret")]),
        )
        .unwrap();
        let debug = format!("{s:?}");
        assert!(!debug.contains("hunter2") && !debug.contains("relay-secret"), "{debug}");
        assert_eq!(s.mail.smtp_password.expose(), "relay-secret");
    }

    #[test]
    fn example_file_lists_every_option_and_loads() {
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../kura.example.toml");
        let s = Settings::load(Some(Path::new(example)), vars(&[])).unwrap();
        assert_eq!(s.version, CONFIG_VERSION);
    }
}
