//! Operator and tenant administration, and audit verification, from the command line.

use super::cli_actor;
use anyhow::Context as _;
use kura_server::AppState;
use kura_server::service::tenants::{self, AdminAccess, NewTenant};
use std::io::Read as _;
use std::process::ExitCode;

pub async fn create_operator(
    state: &AppState,
    email: &str,
    name: &str,
    password_stdin: bool,
) -> anyhow::Result<ExitCode> {
    if password_stdin {
        let mut pw = String::new();
        std::io::stdin().read_to_string(&mut pw).context("cannot read the password from standard input")?;
        let password = pw.trim_end_matches(['\r', '\n']).to_owned();
        let op = tenants::create_operator(state, cli_actor(), email, name, &password).await?;
        println!("Created operator {}.", op.email);
    } else {
        let (op, password) = tenants::create_operator_one_time(state, cli_actor(), email, name).await?;
        println!("Created operator {}.", op.email);
        println!("One-time password: {password}");
        println!("It is shown only now, and must be changed at the first sign-in at /operator/login.");
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn create_tenant(state: &AppState, input: NewTenant, one_time_password: bool) -> anyhow::Result<ExitCode> {
    let access = if one_time_password { AdminAccess::OneTimePassword } else { AdminAccess::SetupLink };
    let (tenant, admin, password) = tenants::create_tenant_with(state, cli_actor(), input, access).await?;
    println!("Created tenant {} ({}).", tenant.slug, tenant.display_name);
    println!("Administrator: {}", admin.email);
    if password.is_none() {
        println!(
            "A single-use link to choose a password is queued for {} (valid {} hours); the running server sends it.",
            admin.email, state.settings.links.setup_hours
        );
    }
    if let Some(pw) = password {
        println!("One-time password: {pw}");
        println!(
            "It is shown only now, and must be changed at the first sign-in at /console/login with tenant \"{}\".",
            tenant.slug
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn list_tenants(state: &AppState) -> anyhow::Result<ExitCode> {
    let tenants = state.store.tenants().await?;
    if tenants.is_empty() {
        println!("No tenants yet. Create one with `kura tenant create`.");
    }
    for t in tenants {
        println!("{}\t{}\t{}\t{}", t.slug, t.display_name, t.time_zone, t.created_at);
    }
    Ok(ExitCode::SUCCESS)
}
