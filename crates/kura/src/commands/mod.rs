//! The subcommands. Each loads settings in the documented order and calls the library crates.
#![allow(clippy::print_stdout, reason = "printing results is the job of a CLI")]

mod admin;
mod audit;
mod backup;
mod bulk;
mod contract;
mod demo;
mod export;
mod import;
mod keys;
mod logs;
mod serve;

use crate::cli::{
    AuditCommand, BackupCommand, BulkCommand, Cli, Command, KeysCommand, LogsCommand, OperatorCommand, ServeArgs,
    TenantCommand,
};
use anyhow::Context as _;
use kura_domain::{Actor, ActorKind};
use kura_server::{AppState, Settings, SystemClock};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Openapi => {
            print!("{}", kura_server::api::openapi::document());
            Ok(ExitCode::SUCCESS)
        }
        Command::Keys(KeysCommand::Status { tenant, data }) => {
            keys::status(&open(settings(cli.config, &data.into())?).await?, &tenant).await
        }
        Command::Keys(KeysCommand::Rotate { tenant, no_wait, data }) => {
            keys::rotate(&open(settings(cli.config, &data.into())?).await?, cli_actor(), &tenant, no_wait).await
        }
        Command::Keys(KeysCommand::Run { data }) => keys::run(&open(settings(cli.config, &data.into())?).await?).await,
        Command::Keys(KeysCommand::RotateMaster { new_key_file, data }) => {
            let state = open(settings(cli.config, &data.into())?).await?;
            keys::rotate_master(&state, new_key_file.as_deref(), cli_actor()).await
        }
        Command::Serve(args) => serve::run(settings(cli.config, &args)?).await,
        Command::Demo(args) => demo::run(settings(cli.config, &args.serve)?, args.plain_http).await,
        Command::Operator(OperatorCommand::Create { email, name, password_stdin, data }) => {
            let state = open(settings(cli.config, &data.into())?).await?;
            admin::create_operator(&state, &email, &name, password_stdin).await
        }
        Command::Tenant(TenantCommand::Create {
            slug,
            name,
            admin_email,
            admin_name,
            time_zone,
            contract_start,
            contract_end,
            one_time_password,
            data,
        }) => {
            let state = open(settings(cli.config, &data.into())?).await?;
            let input = kura_server::service::tenants::NewTenant {
                slug,
                display_name: name,
                time_zone: Some(time_zone),
                contract_start,
                contract_end,
                admin_email,
                admin_name,
                admin_language: None,
            };
            admin::create_tenant(&state, input, one_time_password).await
        }
        Command::Tenant(TenantCommand::List { data }) => {
            let state = open(settings(cli.config, &data.into())?).await?;
            admin::list_tenants(&state).await
        }
        Command::Tenant(TenantCommand::Delete { tenant, out, data }) => {
            let state = open(settings(cli.config, &data.into())?).await?;
            contract::delete(&state, &tenant, out.as_deref()).await
        }
        Command::Tenant(TenantCommand::Certificate { tenant, out, data }) => {
            let state = open(settings(cli.config, &data.into())?).await?;
            contract::certificate(&state, &tenant, out.as_deref()).await
        }
        Command::Tenant(TenantCommand::VerifyCertificate { file, data }) => {
            let state = open(settings(cli.config, &data.into())?).await?;
            contract::verify(&state, &file)
        }
        Command::Export(args) => {
            let state = open(settings(cli.config, &args.data.clone().into())?).await?;
            export::run(&state, cli_actor(), &args).await
        }
        Command::Bulk(command) => {
            let data = match &command {
                BulkCommand::Update { selection, .. } | BulkCommand::Delete { selection } => selection.data.clone(),
            };
            let state = open(settings(cli.config, &data.into())?).await?;
            bulk::run(&state, cli_actor(), &command).await
        }
        Command::Import(args) => {
            let state = open(settings(cli.config, &args.data.clone().into())?).await?;
            import::run(&state, cli_actor(), &args).await
        }
        Command::Backup(args) => match args.command {
            None => {
                backup::make(open(settings(cli.config, &args.data.into())?).await?, cli_actor(), args.keystore).await
            }
            Some(BackupCommand::List { remote, data }) => {
                backup::list(settings(cli.config, &data.into())?, remote).await
            }
            Some(BackupCommand::Verify { backup, remote, keystore, data }) => {
                backup::verify(settings(cli.config, &data.into())?, &backup, remote, keystore, cli_actor()).await
            }
            Some(BackupCommand::Drill { data }) => {
                backup::drill(open(settings(cli.config, &data.into())?).await?, cli_actor()).await
            }
            Some(BackupCommand::RotateKey { data }) => {
                backup::rotate_key(open(settings(cli.config, &data.into())?).await?, cli_actor()).await
            }
        },
        Command::Restore(args) => {
            let settings = settings(cli.config, &args.data.clone().into())?;
            backup::restore(settings, &args.backup, args.remote, args.keystore, &args.into).await
        }
        Command::Logs(LogsCommand::Disclose { tenant, from, to, reason, withheld, out, data }) => {
            let state = open(settings(cli.config, &data.into())?).await?;
            logs::disclose(&state, cli_actor(), &tenant, &from, &to, &reason, withheld, &out).await
        }
        Command::Audit(AuditCommand::Verify { export: Some(file), key, .. }) => {
            audit::verify_export(&file, key.as_deref())
        }
        Command::Audit(AuditCommand::Verify { data, .. }) => {
            let state = open(settings(cli.config, &data.into())?).await?;
            audit::verify(&state).await
        }
        Command::Audit(AuditCommand::Export { tenant, from, to, format, out, data }) => {
            let state = open(settings(cli.config, &data.into())?).await?;
            audit::export(&state, cli_actor(), &tenant, &from, &to, &format, &out).await
        }
        Command::Audit(AuditCommand::Checkpoint { data }) => {
            let state = open(settings(cli.config, &data.into())?).await?;
            audit::checkpoint(&state).await
        }
        Command::Audit(AuditCommand::PublicKey { data }) => {
            let state = open(settings(cli.config, &data.into())?).await?;
            audit::public_key(&state)
        }
        Command::Audit(AuditCommand::Prove { tenant, seq, data }) => {
            let state = open(settings(cli.config, &data.into())?).await?;
            audit::prove(&state, &tenant, seq).await
        }
        Command::Audit(AuditCommand::Consistency { tenant, from, to, data }) => {
            let state = open(settings(cli.config, &data.into())?).await?;
            audit::consistency(&state, &tenant, from, to).await
        }
    }
}

impl From<crate::cli::DataArgs> for ServeArgs {
    fn from(d: crate::cli::DataArgs) -> Self {
        Self { listen: None, data_dir: d.data_dir }
    }
}

/// Defaults → file → environment → flags.
fn settings(config: Option<PathBuf>, args: &ServeArgs) -> anyhow::Result<Settings> {
    let mut s = Settings::load(config.as_deref(), std::env::vars())?;
    if let Some(listen) = args.listen {
        s.listen = listen;
    }
    if let Some(dir) = &args.data_dir {
        s.data_dir = dir.clone();
    }
    init_tracing(&s.log);
    Ok(s)
}

fn init_tracing(filter: &str) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Logs go to standard error so that command output on standard output stays clean.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(std::io::stderr).try_init();
}

async fn open(settings: Settings) -> anyhow::Result<AppState> {
    kura_server::build_state(settings, Arc::new(SystemClock)).await.context("cannot open the Kura data")
}

/// The actor recorded in audit entries for command-line actions: whoever can run the binary
/// against the data directory, identified by the local user name.
fn cli_actor() -> Actor {
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".into());
    Actor {
        kind: ActorKind::Cli,
        id: None,
        label: format!("cli:{user}"),
        role: None,
        source_ip: None,
        user_agent: None,
    }
}

/// A command's work on `tenant`'s data, as `result` came back: a stored value that did not
/// open is recorded in the tenant's log (`crypto.open_refused`) under `actor`, as the server
/// records it for a request; `result` comes back unchanged.
async fn audited<T>(
    state: &AppState,
    tenant: kura_domain::TenantId,
    actor: &Actor,
    command: &str,
    result: kura_server::error::AppResult<T>,
) -> kura_server::error::AppResult<T> {
    kura_server::denials::audit_refused_open(state, tenant, actor, command, result).await
}
