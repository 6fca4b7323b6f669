//! Backups from the command line (OPS-1): take one, list them, verify one, restore one, run a
//! restore drill. Taking, verifying and drilling are recorded in the platform's log, as when
//! `kura serve` or the operator console does them; a spinner on standard error shows the work
//! going on.

use indicatif::{ProgressBar, ProgressStyle};
use kura_domain::Actor;
use kura_server::backup::{Backups, Location, RestoreTarget, Signature, open_vault};
use kura_server::{AppState, Settings, SystemClock};
use std::process::ExitCode;
use std::sync::Arc;

fn mb_per_s(bytes: u64, seconds: f64) -> f64 {
    bytes as f64 / 1e6 / seconds.max(1e-9)
}

/// A spinner with the time spent, drawn only when standard error is a terminal.
fn spinner(what: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(what.to_owned());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

pub async fn make(state: AppState, actor: Actor) -> anyhow::Result<ExitCode> {
    let bar = spinner("Taking a backup");
    let made = kura_server::backup::take(&state, actor).await;
    bar.finish_and_clear();
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
    let generations = state.backups.generations();
    for id in &made.deleted {
        println!("Deleted backup {id}: {generations} generations are kept.");
    }
    let mut failed = false;
    match &made.copy {
        Some(Ok(path)) => println!("Copied to {}.", path.display()),
        Some(Err(e)) => {
            println!("The backup is made, but copying it failed: {e}");
            failed = true;
        }
        None => {}
    }
    match &made.remote {
        Some(Ok(at)) => println!("Uploaded to {at}."),
        Some(Err(e)) => {
            println!("The backup is made, but uploading it to the bucket failed: {e}");
            failed = true;
        }
        None => {}
    }
    for id in &made.remote_deleted {
        println!("Deleted backup {id} from the bucket: {generations} generations are kept.");
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

pub async fn list(settings: Settings, remote: bool) -> anyhow::Result<ExitCode> {
    let backups = Backups::new(&settings)?;
    if remote {
        return list_remote(&backups).await;
    }
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

async fn list_remote(backups: &Backups) -> anyhow::Result<ExitCode> {
    let listed = backups.list_remote().await?;
    let place = backups.remote().map(|r| r.describe()).unwrap_or_default();
    if listed.is_empty() {
        println!("No backups in {place}.");
        return Ok(ExitCode::SUCCESS);
    }
    println!("id\tbytes\tstate");
    for b in &listed {
        let state = if b.complete() { "complete" } else { "INCOMPLETE (no manifest: an upload cut off)" };
        println!("{}\t{}\t{state}", b.id, b.stored_bytes());
    }
    let complete = listed.iter().filter(|b| b.complete()).count();
    println!("{complete} complete backup(s) in {place}; {} generations are kept.", backups.generations());
    Ok(ExitCode::SUCCESS)
}

/// Verifies and records the result in the platform's log; when the data cannot be opened (a
/// lost database is what backups are for), verifies all the same and says it is not recorded.
pub async fn verify(settings: Settings, backup: &str, remote: bool, actor: Actor) -> anyhow::Result<ExitCode> {
    let state = kura_server::build_state(settings.clone(), Arc::new(SystemClock)).await;
    let bar = spinner("Verifying the backup");
    let verified = match &state {
        Ok(state) => {
            let at = location(&state.backups, backup, remote);
            kura_server::backup::verify(state, actor, &at).await
        }
        Err(e) => {
            bar.suspend(|| eprintln!("The data cannot be opened ({e}): this verification is not recorded."));
            let backups = Backups::new(&settings)?;
            let vault = open_vault(&settings).await?;
            backups.verify_at(&location(&backups, backup, remote), &vault).await
        }
    };
    bar.finish_and_clear();
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

fn location(backups: &Backups, backup: &str, remote: bool) -> Location {
    if remote { Location::Remote(backup.to_owned()) } else { Location::Dir(backups.locate(backup)) }
}

pub async fn restore(settings: Settings, backup: &str, remote: bool, into: &str) -> anyhow::Result<ExitCode> {
    let backups = Backups::new(&settings)?;
    let vault = open_vault(&settings).await?;
    let target = RestoreTarget::parse(into);
    let bar = spinner(if remote { "Downloading, verifying and restoring the backup" } else { "Restoring the backup" });
    let at = location(&backups, backup, remote);
    let restored = backups.restore_from(&at, &target, &vault, Arc::new(SystemClock)).await;
    bar.finish_and_clear();
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

pub async fn drill(state: AppState, actor: Actor) -> anyhow::Result<ExitCode> {
    let bar = spinner("Restore drill: restoring the newest backup into a scratch copy");
    let drilled = kura_server::backup::drill(&state, actor).await;
    bar.finish_and_clear();
    let d = drilled?;
    println!(
        "Restore drill passed for backup {} ({} copy): {} audit chains verified with their Merkle trees, {} records \
         of {} tenants read and decrypted, in {:.2} s; the scratch copy is removed.",
        d.backup, d.location, d.chains, d.records, d.tenants, d.seconds
    );
    if d.deleted_since > 0 {
        println!("{} tenant(s) deleted since the backup were skipped: their keys are destroyed.", d.deleted_since);
    }
    Ok(ExitCode::SUCCESS)
}
