//! Backups from the command line (OPS-1): take one, list them, verify one, restore one.

use kura_server::backup::{Backups, RestoreTarget, Signature, open_vault};
use kura_server::{Settings, SystemClock};
use std::process::ExitCode;
use std::sync::Arc;

fn mb_per_s(bytes: u64, seconds: f64) -> f64 {
    bytes as f64 / 1e6 / seconds.max(1e-9)
}

pub async fn make(settings: Settings) -> anyhow::Result<ExitCode> {
    let backups = Backups::new(&settings);
    let vault = open_vault(&settings).await?;
    let made = backups.make(&vault, &SystemClock).await;
    let made = made?;
    println!(
        "Backup {} written to {}: {} bytes of database, {} bytes compressed and encrypted, in {:.2} s ({:.1} MB/s).",
        made.id,
        made.path.display(),
        made.database_bytes,
        made.stored_bytes,
        made.seconds,
        mb_per_s(made.database_bytes, made.seconds)
    );
    for id in &made.deleted {
        println!("Deleted backup {id}: {} generations are kept.", backups.generations());
    }
    match &made.copy {
        Some(Ok(path)) => println!("Copied to {}.", path.display()),
        Some(Err(e)) => {
            println!("The backup is made, but copying it failed: {e}");
            return Ok(ExitCode::FAILURE);
        }
        None => {}
    }
    Ok(ExitCode::SUCCESS)
}

pub fn list(settings: Settings) -> anyhow::Result<ExitCode> {
    let backups = Backups::new(&settings);
    let listed = backups.list()?;
    if listed.is_empty() {
        println!("No backups in {}.", backups.dir().display());
        return Ok(ExitCode::SUCCESS);
    }
    println!("id\tcreated\tengine\tbytes\tsignature");
    for b in &listed {
        let (created, engine) = b.manifest.as_ref().map_or(("?", "?"), |m| (m.created.as_str(), m.engine.as_str()));
        let signature = match b.signature {
            Signature::Valid => "valid",
            Signature::Invalid => "INVALID",
            Signature::Unchecked => "unchecked (no signing key)",
        };
        println!("{}\t{created}\t{engine}\t{}\t{signature}", b.id, b.stored_bytes);
    }
    println!(
        "{} backup(s) in {}; {} generations are kept.",
        listed.len(),
        backups.dir().display(),
        backups.generations()
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn verify(settings: Settings, backup: &str) -> anyhow::Result<ExitCode> {
    let backups = Backups::new(&settings);
    let vault = open_vault(&settings).await?;
    let verified = backups.verify(&backups.locate(backup), &vault).await;
    let v = verified?;
    println!(
        "Backup {} verified: the manifest's signature checks, every file matches its SHA-256 digest, and backup \
         key {} decrypts and decompresses all {} bytes of the {} database ({:.2} s, {:.1} MB/s).",
        v.manifest.id,
        v.manifest.backup_key_version,
        v.database_bytes,
        v.manifest.engine,
        v.seconds,
        mb_per_s(v.database_bytes, v.seconds)
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn restore(settings: Settings, backup: &str, into: &str) -> anyhow::Result<ExitCode> {
    let backups = Backups::new(&settings);
    let vault = open_vault(&settings).await?;
    let target = RestoreTarget::parse(into);
    let restored = backups.restore(&backups.locate(backup), &target, &vault, Arc::new(SystemClock)).await;
    let r = restored?;
    println!(
        "Backup {} restored into {}: {} bytes in {:.2} s ({:.1} MB/s).",
        r.verified.manifest.id,
        r.target,
        r.verified.database_bytes,
        r.verified.seconds,
        mb_per_s(r.verified.database_bytes, r.verified.seconds)
    );
    let broken: Vec<_> = r.chains.iter().filter_map(|c| c.result.as_ref().err()).collect();
    for b in &broken {
        println!("BROKEN  audit log {}: entry {}: {} ({})", b.scope.storage_id(), b.seq, b.reason, b.kind.as_str());
    }
    if broken.is_empty() {
        println!("All {} audit chains of the restored data verified, with their Merkle trees.", r.chains.len());
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{} audit log(s) of the restored data failed verification.", broken.len());
        Ok(ExitCode::FAILURE)
    }
}
