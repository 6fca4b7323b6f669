//! The contract's end from the command line (TEN-4): delete a tenant whose grace period is over,
//! print its deletion certificate, verify one.

use kura_server::AppState;
use kura_server::erasure::{self, certificate::Certificate};
use std::path::Path;
use std::process::ExitCode;

pub async fn delete(state: &AppState, slug: &str, out: Option<&Path>) -> anyhow::Result<ExitCode> {
    let deleted = erasure::delete_tenant(state, super::cli_actor(), slug).await?;
    let c = &deleted.certificate;
    let rows: u64 = c.deleted.iter().map(|(_, n)| n).sum();
    println!(
        "Tenant {slug} deleted: {} keys destroyed at {}, {rows} rows deleted at {}.",
        c.keys_destroyed, c.keys_destroyed_at, c.rows_deleted_at
    );
    println!("No backup that held its keys is kept after {}.", c.keystore_backups_expired_by);
    write_or_print(&deleted.signed, out)?;
    Ok(ExitCode::SUCCESS)
}

pub async fn certificate(state: &AppState, slug: &str, out: Option<&Path>) -> anyhow::Result<ExitCode> {
    let signed = erasure::certificate_of(state, slug).await?;
    write_or_print(&signed, out)?;
    Ok(ExitCode::SUCCESS)
}

pub fn verify(state: &AppState, file: &Path) -> anyhow::Result<ExitCode> {
    let note = std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    match erasure::verify(state, &note) {
        Ok(c) => {
            print_summary(&c);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("INVALID  {}: {e}", file.display());
            Ok(ExitCode::FAILURE)
        }
    }
}

fn print_summary(c: &Certificate) {
    println!("Deletion certificate verified: signed by this installation's key.");
    println!("Tenant {} ({}, {}), contract ended {}.", c.slug, c.name, c.tenant_id, c.contract_end);
    println!("{} keys destroyed at {}; rows deleted at {}:", c.keys_destroyed, c.keys_destroyed_at, c.rows_deleted_at);
    for (category, n) in &c.deleted {
        println!("  {category}\t{n}");
    }
    println!("Keystore backups that held the keys expired by {}.", c.keystore_backups_expired_by);
    println!("Data backups that held the rows expired by {}.", c.data_backups_expired_by);
    println!("{}", c.basis);
}

fn write_or_print(signed: &str, out: Option<&Path>) -> anyhow::Result<()> {
    match out {
        Some(path) => {
            std::fs::write(path, signed).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            println!("Certificate written to {}.", path.display());
        }
        None => print!("{signed}"),
    }
    Ok(())
}
