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
    /// Print the OpenAPI document of the JSON API.
    Openapi,
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
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify every audit hash chain; exits non-zero and names the first broken entry.
    Verify {
        #[command(flatten)]
        data: DataArgs,
    },
}
