//! Backups from the command line (OPS-1): take one, list them, verify one, restore one, run a
//! restore drill. Taking, verifying and drilling are recorded in the platform's log, as when
//! `kura serve` or the operator console does them. On a terminal, a progress bar in bytes on
//! standard error shows the work going on (a spinner while the size is not known, as with
//! `pg_dump`); nothing is drawn when standard error is not a terminal.

use indicatif::{ProgressBar, ProgressStyle};
use kura_domain::Actor;
use kura_server::backup::{BackupKind, Backups, Location, Meter, RestoreTarget, Retention, Signature, open_vault};
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

/// What the retention rule of `backups` keeps, for messages.
fn kept(backups: &Backups) -> String {
    match backups.retention() {
        Retention::Generations(n) => format!("{n} generations are kept"),
        Retention::Days(n) => format!("keystore backups are kept {n} days"),
    }
}

fn kind(keystore: bool) -> BackupKind {
    if keystore { BackupKind::Keystore } else { BackupKind::Data }
}

/// A progress bar fed from a backup job's meter while the job runs.
struct Progress {
    bar: ProgressBar,
    feed: tokio::task::JoinHandle<()>,
}

impl Progress {
    /// Starts as a spinner; becomes a bar in bytes once the meter knows the job's size.
    fn new(what: &str, meter: Arc<Meter>) -> Self {
        let bar = spinner(what);
        let shown = bar.clone();
        let feed = tokio::spawn(async move {
            let bytes = ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ({eta} left)",
            )
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            let mut sized = false;
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                let (done, total) = meter.get();
                if total == 0 {
                    continue;
                }
                if !sized || shown.length() != Some(total) {
                    shown.set_style(bytes.clone());
                    shown.set_length(total);
                    sized = true;
                }
                shown.set_position(done.min(total));
            }
        });
        Self { bar, feed }
    }

    fn finish(self) {
        self.feed.abort();
        self.bar.finish_and_clear();
    }
}

pub async fn make(state: AppState, actor: Actor, keystore: bool) -> anyhow::Result<ExitCode> {
    let meter = Arc::clone(kura_server::backup::backups_of(&state, kind(keystore)).meter());
    let bar = Progress::new(if keystore { "Backing the keystore up" } else { "Taking a backup" }, meter);
    let made = if keystore {
        kura_server::backup::take_keystore(&state, actor).await
    } else {
        kura_server::backup::take(&state, actor).await
    };
    bar.finish();
    let made = made?;
    let backups = kura_server::backup::backups_of(&state, kind(keystore));
    println!(
        "{} {} written to {}: {} bytes of {}, {} bytes compressed and encrypted, in {:.2} s ({:.1} MB/s).",
        if keystore { "Keystore backup" } else { "Backup" },
        made.id,
        made.path.display(),
        made.database_bytes,
        if keystore { "keystore" } else { "database" },
        made.stored_bytes,
        made.seconds,
        mb_per_s(made.database_bytes, made.seconds)
    );
    let kept = kept(backups);
    for id in &made.deleted {
        println!("Deleted backup {id}: {kept}.");
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
        println!("Deleted backup {id} from the bucket: {kept}.");
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Lists the data's backups, then the keystore's.
pub async fn list(settings: Settings, remote: bool) -> anyhow::Result<ExitCode> {
    for (n, backups) in [Backups::new(&settings)?, Backups::keystore(&settings)?].iter().enumerate() {
        if n > 0 {
            println!();
        }
        println!("{}", if backups.kind() == BackupKind::Keystore { "Keystore backups" } else { "Data backups" });
        if remote {
            list_remote(backups).await?;
        } else {
            list_local(backups)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn list_local(backups: &Backups) -> anyhow::Result<()> {
    let listed = backups.list()?;
    if listed.is_empty() {
        println!("No backups in {}.", backups.dir().display());
        return Ok(());
    }
    let expiry = |id: &str| {
        kura_server::backup::id_time(id)
            .and_then(|t| backups.retention().expiry(t))
            .map(|t| format!("\t{}", t.round(jiff::Unit::Second).unwrap_or(t)))
            .unwrap_or_default()
    };
    let days = matches!(backups.retention(), Retention::Days(_));
    println!("id\tcreated\tengine\tbytes\tsignature{}", if days { "\texpires" } else { "" });
    for b in &listed {
        let (created, engine) = b.manifest.as_ref().map_or(("?", "?"), |m| (m.created.as_str(), m.engine.as_str()));
        let signature = match b.signature {
            Signature::Valid => "valid",
            Signature::Invalid => "INVALID",
            Signature::Unchecked => "unchecked (no signing key)",
        };
        println!("{}\t{created}\t{engine}\t{}\t{signature}{}", b.id, b.stored_bytes, expiry(&b.id));
    }
    println!("{} backup(s) in {}; {}.", listed.len(), backups.dir().display(), kept(backups));
    Ok(())
}

async fn list_remote(backups: &Backups) -> anyhow::Result<()> {
    let listed = backups.list_remote().await?;
    let place = backups.remote().map(|r| r.describe()).unwrap_or_default();
    if listed.is_empty() {
        println!("No backups in {place}.");
        return Ok(());
    }
    println!("id\tbytes\tstate");
    for b in &listed {
        let state = if b.complete() { "complete" } else { "INCOMPLETE (no manifest: an upload cut off)" };
        println!("{}\t{}\t{state}", b.id, b.stored_bytes());
    }
    let complete = listed.iter().filter(|b| b.complete()).count();
    println!("{complete} complete backup(s) in {place}; {}.", kept(backups));
    Ok(())
}

/// Verifies and records the result in the platform's log; when the data cannot be opened (a
/// lost database is what backups are for), verifies all the same and says it is not recorded.
pub async fn verify(
    settings: Settings,
    backup: &str,
    remote: bool,
    keystore: bool,
    actor: Actor,
) -> anyhow::Result<ExitCode> {
    let state = kura_server::build_state(settings.clone(), Arc::new(SystemClock)).await;
    let fallback = if keystore { Backups::keystore(&settings)? } else { Backups::new(&settings)? };
    let meter = match &state {
        Ok(state) => Arc::clone(kura_server::backup::backups_of(state, kind(keystore)).meter()),
        Err(_) => Arc::clone(fallback.meter()),
    };
    let bar = Progress::new("Verifying the backup", meter);
    let verified = match &state {
        Ok(state) => {
            let at = location(kura_server::backup::backups_of(state, kind(keystore)), backup, remote);
            kura_server::backup::verify_of(state, actor, kind(keystore), &at).await
        }
        Err(e) => {
            bar.bar.suspend(|| eprintln!("The data cannot be opened ({e}): this verification is not recorded."));
            let vault = open_vault(&settings).await?;
            fallback.verify_at(&location(&fallback, backup, remote), &vault).await
        }
    };
    bar.finish();
    let v = verified?;
    let key = match v.manifest.kind {
        BackupKind::Data => format!("backup key {}", v.manifest.backup_key_version),
        BackupKind::Keystore => "its own key, unwrapped with the master key,".to_owned(),
    };
    println!(
        "{} {} verified: the manifest's signature checks, every file matches its SHA-256 digest, and {key} \
         decrypts and decompresses all {} bytes of the {} {} ({:.2} s, {:.1} MB/s).",
        if keystore { "Keystore backup" } else { "Backup" },
        v.manifest.id,
        v.database_bytes,
        v.manifest.engine,
        if keystore { "keystore" } else { "database" },
        v.seconds,
        mb_per_s(v.database_bytes, v.seconds)
    );
    Ok(ExitCode::SUCCESS)
}

fn location(backups: &Backups, backup: &str, remote: bool) -> Location {
    if remote { Location::Remote(backup.to_owned()) } else { Location::Dir(backups.locate(backup)) }
}

pub async fn restore(
    settings: Settings,
    backup: &str,
    remote: bool,
    keystore: bool,
    into: &str,
) -> anyhow::Result<ExitCode> {
    let backups = if keystore { Backups::keystore(&settings)? } else { Backups::new(&settings)? };
    let vault = open_vault(&settings).await?;
    let target = if keystore { RestoreTarget::parse_keystore(into) } else { RestoreTarget::parse(into) };
    let what = if remote { "Downloading, verifying and restoring the backup" } else { "Restoring the backup" };
    let bar = Progress::new(what, Arc::clone(backups.meter()));
    let at = location(&backups, backup, remote);
    let restored = backups.restore_from(&at, &target, &vault, Arc::new(SystemClock)).await;
    bar.finish();
    let r = restored?;
    println!(
        "Backup {} restored into {}: {} bytes in {:.2} s ({:.1} MB/s).",
        r.verified.manifest.id,
        r.target,
        r.verified.database_bytes,
        r.verified.seconds,
        mb_per_s(r.verified.database_bytes, r.verified.seconds)
    );
    if let Some(k) = &r.keystore {
        println!(
            "The restored keystore opens with this master key: it holds the keys of {} tenant(s) and backup key(s) {}.",
            k.tenants.len(),
            k.backup_keys.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
        );
        for t in &k.tenants {
            println!("tenant\t{t}");
        }
        return Ok(ExitCode::SUCCESS);
    }
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

pub async fn rotate_key(state: AppState, actor: Actor) -> anyhow::Result<ExitCode> {
    let r = kura_server::backup::rotate_key(&state, actor).await?;
    println!("Backup key {} made: every backup from now on is encrypted with it.", r.version);
    let list = |v: &[u32]| v.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
    if !r.kept.is_empty() {
        println!(
            "Kept for the backups made with them, until those have been deleted by the retention rule: backup key(s) {}.",
            list(&r.kept)
        );
    }
    if !r.removed.is_empty() {
        println!("Removed (no kept backup was made with them): backup key(s) {}.", list(&r.removed));
    }
    Ok(ExitCode::SUCCESS)
}
