//! Command-line arguments. Flags override `KURA_*` environment variables, which override the
//! configuration file, which overrides the defaults.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "kura",
    version,
    about = "Kura (蔵): a multi-tenant customer-data service that keeps its security promises"
)]
pub struct Cli {
    /// Configuration file (TOML; see kura.example.toml).
    #[arg(long, global = true, env = "KURA_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone, Default)]
pub struct ServeArgs {
    /// Address and port to listen on [env: KURA_LISTEN]
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Data directory for the SQLite database [env: KURA_DATA_DIR]
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct DemoArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Serve plain HTTP instead of HTTPS with the demo's self-signed certificate.
    #[arg(long)]
    pub plain_http: bool,
}

#[derive(Debug, Args, Clone, Default)]
pub struct DataArgs {
    /// Data directory for the SQLite database [env: KURA_DATA_DIR]
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the console and API.
    Serve(ServeArgs),
    /// Create (or reuse) a demo tenant with sample customers, print one-time credentials and serve
    /// on 127.0.0.1 over HTTPS with a self-signed certificate made on first run.
    Demo(DemoArgs),
    /// Manage operator accounts.
    #[command(subcommand)]
    Operator(OperatorCommand),
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Audit log tools.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Disclose a tenant's logs on a lawful or reasonable request (LOG-5).
    #[command(subcommand)]
    Logs(LogsCommand),
    /// Print the OpenAPI document of the JSON API.
    Openapi,
    /// Encryption keys: a tenant's data-key versions and rotations, rotating a tenant's data
    /// key (its stored values re-encrypted in the background), and rotating the master key.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Export a collection's records to a file (CSV for Excel by default), with a progress bar.
    /// Audited in the tenant's log; personal information is written unmasked.
    Export(ExportArgs),
    /// Import a file into a collection: every row in one audited transaction, or none. Prints
    /// each bad row's problems; --dry-run only checks.
    Import(ImportArgs),
    /// Change or delete the records a filter selects, in one audited operation, all or none.
    /// Without --expected-count, prints how many records the selection holds and changes nothing.
    #[command(subcommand)]
    Bulk(BulkCommand),
    /// Take a backup now (consistent while writes go on; compressed, encrypted with the backup
    /// key from the keystore, described by a signed manifest), copy it to the second directory
    /// and the bucket if configured, then delete the oldest beyond backup.generations. `list`
    /// and `verify` inspect backups, `drill` runs a restore drill. With --keystore, back the
    /// keystore up instead (kept backup.keystore_keep_days). Recorded in the platform's log.
    Backup(BackupArgs),
    /// Restore a backup into a new data directory or an empty database, then verify every
    /// audit chain of the result. The backup is verified first; a target that holds anything
    /// is refused.
    Restore(RestoreArgs),
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BackupArgs {
    #[command(subcommand)]
    pub command: Option<BackupCommand>,
    /// Back the keystore up (into backup.keystore_dir) instead of the data.
    #[arg(long)]
    pub keystore: bool,
    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// List the backups in the backup directory, then the keystore's backups (or, with
    /// --remote, both in the bucket), oldest first, with their signature's state.
    List {
        /// List the copies in the bucket (backup.remote) instead.
        #[arg(long)]
        remote: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Verify a backup: the manifest's signature, every file's SHA-256, and that the backup key
    /// decrypts and decompresses all of it. Names the file that is corrupted. Recorded in the
    /// platform's log.
    Verify {
        /// The backup's id (as listed) or the path of its directory.
        backup: String,
        /// Verify the copy in the bucket (downloaded into a scratch directory first).
        #[arg(long)]
        remote: bool,
        /// The backup is one of the keystore's.
        #[arg(long)]
        keystore: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Restore the newest backup into a scratch location, verify its audit chains and read
    /// every record with the installation's keys, record the result and remove the copy.
    Drill {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Make a new backup key for every backup from now on. The old key stays in the keystore
    /// to verify and restore the backups made with it, and is removed once they have all been
    /// deleted by the retention rule. Recorded in the platform's log.
    RotateKey {
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup's id (as listed) or the path of its directory.
    pub backup: String,
    /// Restore the copy in the bucket (downloaded into a scratch directory first).
    #[arg(long)]
    pub remote: bool,
    /// The backup is one of the keystore's: restore a keystore (a directory then holds
    /// keystore.db) and list whose keys it holds.
    #[arg(long)]
    pub keystore: bool,
    /// A new (absent or empty) data directory, a sqlite://PATH that does not exist, or the
    /// postgres://… URL of an empty or absent database.
    #[arg(long)]
    pub into: String,
    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(Debug, Subcommand)]
pub enum BulkCommand {
    /// Set fields on every selected record.
    Update {
        #[command(flatten)]
        selection: BulkSelection,
        /// FIELD=VALUE, repeatable. VALUE is taken as JSON when it is a number, true, false or a
        /// quoted string, as text otherwise; an empty VALUE clears the field.
        #[arg(long = "set", value_name = "FIELD=VALUE", required = true)]
        set: Vec<String>,
    },
    /// Delete every selected record.
    Delete {
        #[command(flatten)]
        selection: BulkSelection,
    },
}

#[derive(Debug, Args)]
pub struct BulkSelection {
    /// The tenant's slug, e.g. acme
    #[arg(long)]
    pub tenant: String,
    /// The collection's key, e.g. customers
    #[arg(long)]
    pub collection: String,
    /// A filter as in the console, e.g. "plan = 'free' && created_at < '2025-04-01'"
    #[arg(long)]
    pub filter: Option<String>,
    /// A keyword matched against every field
    #[arg(long)]
    pub q: Option<String>,
    /// How many records the selection holds, as a run without this option prints: the operation
    /// runs only if that is still the count
    #[arg(long)]
    pub expected_count: Option<u64>,
    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The tenant's slug, e.g. acme
    #[arg(long)]
    pub tenant: String,
    /// The collection's key, e.g. customers
    #[arg(long)]
    pub collection: String,
    /// The file to read
    #[arg(long)]
    pub file: PathBuf,
    /// csv or jsonl
    #[arg(long, default_value = "csv", value_parser = ["csv", "jsonl"])]
    pub format: String,
    /// A CSV file's encoding: auto (UTF-8, else Shift_JIS), utf8 or shift_jis
    #[arg(long, default_value = "auto", value_parser = ["auto", "utf8", "shift_jis"])]
    pub encoding: String,
    /// Update the record whose FIELD matches instead of inserting
    #[arg(long, value_name = "FIELD")]
    pub upsert_by: Option<String>,
    /// Import the valid rows and skip the others
    #[arg(long)]
    pub valid_only: bool,
    /// Only check the file and print what would happen
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The tenant's slug, e.g. acme
    #[arg(long)]
    pub tenant: String,
    /// The collection's key, e.g. customers
    #[arg(long, required_unless_present = "all", conflicts_with = "all")]
    pub collection: Option<String>,
    /// Export the whole tenant as one ZIP file instead: definitions, every collection's records
    /// (CSV for Excel and JSON Lines), users and roles without secrets, the operation log, and a
    /// manifest of SHA-256 digests
    #[arg(long)]
    pub all: bool,
    /// csv (UTF-8 with BOM, for Excel), csv-utf8, csv-sjis (Shift_JIS) or jsonl
    #[arg(long, default_value = "csv")]
    pub format: String,
    /// Name the CSV columns by field label or by key
    #[arg(long, default_value = "label", value_parser = ["label", "key"])]
    pub header: String,
    /// The file to write
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Create an operator account; prints a generated password unless --password-stdin is given.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Operator")]
        name: String,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant and its administrator, who is mailed a single-use link to choose a password
    /// (queued, and sent by the running server); with --one-time-password, prints a password
    /// to hand over instead, which must be changed at the first sign-in.
    Create {
        /// Short URL-safe name, e.g. acme
        #[arg(long)]
        slug: String,
        /// Display name, e.g. 株式会社アクメ
        #[arg(long)]
        name: String,
        #[arg(long)]
        admin_email: String,
        #[arg(long, default_value = "管理者")]
        admin_name: String,
        /// IANA time zone
        #[arg(long, default_value = "Asia/Tokyo")]
        time_zone: String,
        /// Contract start date (YYYY-MM-DD)
        #[arg(long)]
        contract_start: Option<String>,
        /// Contract end date (YYYY-MM-DD)
        #[arg(long)]
        contract_end: Option<String>,
        /// Print a one-time password instead of mailing a setup link.
        #[arg(long)]
        one_time_password: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// List tenants.
    List {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Delete a tenant whose contract ended more than contract.grace_days ago (TEN-4): destroy
    /// its keys in the keystore, delete all its rows, mail its administrators and print the
    /// signed deletion certificate. `kura serve` does this on its own; this runs it now.
    /// Refused while the grace period lasts.
    Delete {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// Also write the certificate to this file.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Print (or write to --out) the signed deletion certificate of a deleted tenant.
    Certificate {
        /// The deleted tenant's slug.
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Verify a deletion certificate's signature against this installation's signing key and
    /// print what it states.
    VerifyCertificate {
        /// The certificate file.
        file: PathBuf,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum LogsCommand {
    /// Write a signed package of a period of a tenant's operation log (its entries, a checkpoint,
    /// the proofs and a manifest stating the reason), which `kura audit verify --export FILE`
    /// checks offline. Recorded in the tenant's log, where its administrators see it, and in the
    /// platform's; with --withheld, in the platform's log only.
    Disclose {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// The start (included): an RFC 3339 instant, or a date or date-time in the tenant's
        /// time zone.
        #[arg(long)]
        from: String,
        /// The end (excluded), in the same forms.
        #[arg(long)]
        to: String,
        /// Why: the request or order, on one line of 10 to 500 characters. It is in the package
        /// and, unless withheld, shown to the tenant's administrators.
        #[arg(long)]
        reason: String,
        /// Keep the disclosure from the tenant for a legal reason: recorded in the platform's log
        /// only.
        #[arg(long)]
        withheld: bool,
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify every audit log: its hash chain, its Merkle tree, and every signed checkpoint in
    /// the checkpoint directory. Exits non-zero, naming the kind of tampering and the entry.
    /// Prints how many bytes of log it hashed and how fast. With --export, checks an exported
    /// file of a tenant's operation log instead, offline: no server, database or data directory.
    Verify {
        /// An export of a tenant's operation log (CSV or JSON, from the console or the API) to
        /// check offline.
        #[arg(long, value_name = "FILE")]
        export: Option<PathBuf>,
        /// The log's public key (signed-note verifier format), as you got it from the console
        /// or the API; without it, the key in the export is used. Only with --export.
        #[arg(long, requires = "export")]
        key: Option<String>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Export a time range of a tenant's operation log to a file that `kura audit verify
    /// --export` checks offline (the console's and the API's export). Recorded in the log.
    Export {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// The start (included): an RFC 3339 instant, or a date or date-time in the tenant's
        /// time zone (2026-11-01, 2026-11-01T09:00).
        #[arg(long)]
        from: String,
        /// The end (excluded), in the same forms.
        #[arg(long)]
        to: String,
        /// csv (UTF-8 with a byte order mark), csv-utf8 or json.
        #[arg(long, default_value = "csv")]
        format: String,
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Make a signed checkpoint of every audit log now and append it to the checkpoint directory.
    Checkpoint {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Print the public key that checks the checkpoints (signed-note verifier format).
    PublicKey {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Print a C2SP tlog-proof that an entry is in a tenant's log, against a checkpoint made now.
    Prove {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// The entry's sequence number.
        #[arg(long)]
        seq: i64,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Print the consistency proof (one base64 hash a line) between two sizes of a tenant's log.
    Consistency {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// The older checkpoint's size.
        #[arg(long)]
        from: u64,
        /// The newer checkpoint's size.
        #[arg(long)]
        to: u64,
        #[command(flatten)]
        data: DataArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// A tenant's data-key versions and its rotations with their progress.
    Status {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Rotate a tenant's data key: a new version seals every write from now on, and the stored
    /// values are re-encrypted with it while the tenant keeps working. A tenant stored before
    /// encryption at rest was switched on gets its first keys, and its values are sealed.
    /// Recorded in the tenant's log and the platform's. Runs the re-encryption here, printing
    /// its progress, unless --no-wait (a running `kura serve` does it then).
    Rotate {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// Start the rotation and leave the re-encryption to the servers' workers.
        #[arg(long)]
        no_wait: bool,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Run the re-encryption of every rotation still running (one cut off by a crash resumes
    /// after its last batch), until none is left.
    Run {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Re-wrap every tenant key and backup key, and the client CA's key, under a new master key
    /// (the values themselves stay as they are). Give the new key with --new-key-file (32 random
    /// bytes, mode 0600), or configure it as the master key with the old one as
    /// `encryption.previous_master_key_file`. Safe to run again after a crash; recorded in the
    /// platform's log. See docs/operations.md, "Rotating the master key".
    RotateMaster {
        /// The new master key file.
        #[arg(long, value_name = "FILE")]
        new_key_file: Option<PathBuf>,
        #[command(flatten)]
        data: DataArgs,
    },
}
