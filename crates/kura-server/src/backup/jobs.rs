//! Backups as the platform records them (OPS-1): taking one, verifying one and the restore
//! drill, each run by `kura serve`'s schedule, the operator console or the command line, and
//! each recorded in the platform's audit log (`backup.create`, `backup.verify`,
//! `backup.drill`) whether it succeeded or not; a keystore backup's entries name their target
//! `keystore-backup:<id>`. A verification or drill is also kept in
//! `backup_checks`, written in the same write as its entry, for the operator's page and
//! `/metrics`. One job runs at a time in a process.

use super::{BackupError, BackupKind, Backups, Location, Made, RestoreTarget, Scratch, Verified};
use crate::state::AppState;
use jiff::Timestamp;
use kura_domain::{Actor, ActorKind, AuditRecord, AuditScope, Operation, Outcome};
use kura_store::{BackupCheck, Store, StoreError, StoreOptions, Vault};
use std::sync::Arc;

/// The backup job of this process: one at a time.
#[derive(Debug, Default)]
pub struct Jobs(tokio::sync::Mutex<()>);

impl Jobs {
    pub(super) fn start(&self) -> Result<tokio::sync::MutexGuard<'_, ()>, BackupError> {
        self.0.try_lock().map_err(|_| BackupError::Busy)
    }
}

/// The actor of the scheduled jobs in `kura serve`.
pub fn schedule_actor() -> Actor {
    Actor {
        kind: ActorKind::Cli,
        id: None,
        label: "backup schedule".into(),
        role: None,
        source_ip: None,
        user_agent: None,
    }
}

fn vault_of(state: &AppState) -> Result<&Arc<Vault>, BackupError> {
    state.store.vault().ok_or_else(|| BackupError::NoMasterKey(state.settings.master_key_file()))
}

/// The audit target of the backup `id` of `kind`.
fn target(kind: BackupKind, id: &str) -> String {
    match kind {
        BackupKind::Data => format!("backup:{id}"),
        BackupKind::Keystore => format!("keystore-backup:{id}"),
    }
}

/// The backups of `kind` of this installation.
pub fn backups_of(state: &AppState, kind: BackupKind) -> &Backups {
    match kind {
        BackupKind::Data => &state.backups,
        BackupKind::Keystore => &state.keystore_backups,
    }
}

/// Takes a backup now and records it, or its failure, in the platform's log.
pub async fn take(state: &AppState, actor: Actor) -> Result<Made, BackupError> {
    take_of(state, actor, BackupKind::Data).await
}

/// Backs the keystore up now and records it, or its failure, in the platform's log.
pub async fn take_keystore(state: &AppState, actor: Actor) -> Result<Made, BackupError> {
    take_of(state, actor, BackupKind::Keystore).await
}

/// Deletes the keystore backups older than `backup.keystore_keep_days`, in the backup
/// directory, the copy directory and the bucket. The bucket is listed only when a local copy
/// has expired or, at most once an hour, to catch one whose local copy is gone. Failures are
/// logged; each deletion is logged too.
pub async fn expire_keystore(state: &AppState) {
    let now = state.clock.now();
    let b = &state.keystore_backups;
    let hourly =
        b.remote().is_some() && now.as_second().rem_euclid(3600) < i64::from(state.settings.backup.check_seconds);
    if !b.any_expired(now) && !hourly {
        return;
    }
    let (deleted, failed) = b.expire(now).await;
    for id in &deleted {
        tracing::info!(backup = %id, "keystore backup deleted: older than backup.keystore_keep_days");
    }
    for e in failed {
        tracing::error!(error = %e, "expired keystore backups could not be deleted");
    }
}

async fn take_of(state: &AppState, actor: Actor, kind: BackupKind) -> Result<Made, BackupError> {
    let _job = state.jobs.start()?;
    let made = match vault_of(state) {
        Ok(vault) => backups_of(state, kind).make(vault, &*state.clock).await,
        Err(e) => Err(e),
    };
    let record = match &made {
        Ok(m) => {
            let mut copies = vec!["local".to_owned()];
            let mut failed = Vec::new();
            for (name, result) in [
                ("second directory", m.copy.as_ref().map(|c| c.as_ref().map(|_| ()))),
                ("bucket", m.remote.as_ref().map(|c| c.as_ref().map(|_| ()))),
            ] {
                match result {
                    Some(Ok(())) => copies.push(name.to_owned()),
                    Some(Err(e)) => failed.push(format!("the copy to the {name} failed: {e}")),
                    None => {}
                }
            }
            let detail = format!(
                "{} bytes of {}, {} stored; copies: {}; {} older deleted{}",
                m.database_bytes,
                if kind == BackupKind::Keystore { "keystore" } else { "database" },
                m.stored_bytes,
                copies.join(", "),
                m.deleted.len(),
                failed.iter().map(|f| format!("; {f}")).collect::<String>()
            );
            let outcome = if failed.is_empty() { Outcome::Success } else { Outcome::Failure };
            AuditRecord::success(Operation::BackupCreate, target(kind, &m.id)).with_outcome(outcome).with_detail(detail)
        }
        Err(e) => AuditRecord::success(Operation::BackupCreate, target(kind, "").trim_end_matches(':').to_owned())
            .with_outcome(Outcome::Failure)
            .with_detail(e.to_string()),
    };
    state.store.audit_only(AuditScope::Platform, actor.clone(), record).await?;
    // The retention rule may have deleted the last backups an old backup key opened.
    if kind == BackupKind::Data
        && made.is_ok()
        && let Ok(vault) = vault_of(state)
    {
        super::remove_retired_keys(state, actor, vault).await;
    }
    made
}

/// Verifies the backup at `at` and records the result: a row of `backup_checks` and a
/// `backup.verify` entry, written together.
pub async fn verify(state: &AppState, actor: Actor, at: &Location) -> Result<Verified, BackupError> {
    verify_of(state, actor, BackupKind::Data, at).await
}

/// Verifies a backup of `kind` (see [`verify`]). A keystore backup's check is kept under the
/// id `keystore:<id>`.
pub async fn verify_of(
    state: &AppState,
    actor: Actor,
    kind: BackupKind,
    at: &Location,
) -> Result<Verified, BackupError> {
    let _job = state.jobs.start()?;
    let started = std::time::Instant::now();
    let checked_at = state.clock.now();
    let backups = backups_of(state, kind);
    let verified = match vault_of(state) {
        Ok(vault) => backups.verify_at(at, vault).await,
        Err(e) => Err(e),
    };
    let id = backup_id_of(at, verified.as_ref().ok().map(|v| v.manifest.id.as_str()));
    let id = match kind {
        BackupKind::Data => id,
        BackupKind::Keystore => format!("keystore:{id}"),
    };
    let detail = match &verified {
        Ok(v) => format!(
            "signature, every file's SHA-256 and backup key {} checked; {} bytes of the {} database decrypted",
            v.manifest.backup_key_version, v.database_bytes, v.manifest.engine
        ),
        Err(e) => e.to_string(),
    };
    let check = BackupCheck {
        id: uuid::Uuid::now_v7(),
        backup_id: id,
        kind: "verify".into(),
        location: at.kind(backups).into(),
        checked_at,
        millis: started.elapsed().as_millis() as i64,
        ok: verified.is_ok(),
        detail,
    };
    record(state, actor, Operation::BackupVerify, &check).await?;
    verified
}

/// The backup id a location names (the manifest's, once read; else the directory's name).
fn backup_id_of(at: &Location, read: Option<&str>) -> String {
    if let Some(id) = read {
        return id.to_owned();
    }
    match at {
        Location::Remote(id) => id.clone(),
        Location::Dir(p) => p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
    }
}

/// Writes a check and its entry in one platform write.
async fn record(state: &AppState, actor: Actor, op: Operation, check: &BackupCheck) -> Result<(), BackupError> {
    let target = match check.backup_id.strip_prefix("keystore:") {
        _ if check.backup_id.is_empty() => "backup".to_owned(),
        Some(id) => target(BackupKind::Keystore, id),
        None => target(BackupKind::Data, &check.backup_id),
    };
    let outcome = if check.ok { Outcome::Success } else { Outcome::Failure };
    let detail = format!("{} copy: {}", check.location, check.detail);
    let mut w = state.store.begin(AuditScope::Platform, actor).await?;
    w.record_backup_check(check).await?;
    w.commit(AuditRecord::success(op, target).with_outcome(outcome).with_detail(detail)).await?;
    Ok(())
}

/// What a restore drill found.
#[derive(Debug)]
pub struct Drilled {
    pub backup: String,
    pub location: &'static str,
    /// Audit chains verified with their Merkle trees.
    pub chains: usize,
    pub tenants: usize,
    /// Records read and decrypted, as many as the restored tables hold.
    pub records: u64,
    /// Tenants in the backup deleted since (their keys destroyed: unreadable by design).
    pub deleted_since: usize,
    pub database_bytes: u64,
    pub seconds: f64,
}

/// The restore drill: restores the newest backup (the local one, or the bucket's when there is
/// none here) into a scratch location — a private directory beside the backups on SQLite, the
/// database `<name>_drill` on the same PostgreSQL server — verifies every audit chain and
/// Merkle tree, reads and decrypts every record of every tenant with the installation's keys
/// and counts them against the restored tables, records the result and removes the scratch
/// copy.
pub async fn drill(state: &AppState, actor: Actor) -> Result<Drilled, BackupError> {
    let _job = state.jobs.start()?;
    let started = std::time::Instant::now();
    let checked_at = state.clock.now();
    let newest = newest(&state.backups).await;
    let (id, location) = match &newest {
        Ok(Some(at)) => (backup_id_of(at, None), at.kind(&state.backups)),
        _ => (String::new(), "local"),
    };
    let drilled = match newest {
        Ok(Some(at)) => {
            // On a blocking thread of its own, owning what it uses: opening the restored store
            // (`Store::open`) is not a future the compiler can prove `Send`, which a handler's
            // must be; `Handle::block_on` needs no `Send`.
            let (state, id, actor) = (state.clone(), id.clone(), actor.clone());
            let runtime = tokio::runtime::Handle::current();
            tokio::task::spawn_blocking(move || runtime.block_on(run_drill(&state, &actor, &at, &id, location)))
                .await
                .unwrap_or_else(|e| Err(BackupError::Drill(format!("the drill's task ended: {e}"))))
        }
        Ok(None) => Err(BackupError::NoBackups),
        Err(e) => Err(e),
    };
    let drilled = drilled.map(|mut d| {
        d.seconds = started.elapsed().as_secs_f64();
        d
    });
    let detail = match &drilled {
        Ok(d) => format!(
            "restored into a scratch copy: {} audit chains verified with their Merkle trees; {} records of {} \
             tenants read and decrypted{}; scratch copy removed",
            d.chains,
            d.records,
            d.tenants,
            if d.deleted_since > 0 {
                format!(" ({} tenants deleted since skipped: their keys are destroyed)", d.deleted_since)
            } else {
                String::new()
            }
        ),
        Err(e) => e.to_string(),
    };
    let check = BackupCheck {
        id: uuid::Uuid::now_v7(),
        backup_id: id,
        kind: "drill".into(),
        location: location.into(),
        checked_at,
        millis: started.elapsed().as_millis() as i64,
        ok: drilled.is_ok(),
        detail,
    };
    record(state, actor, Operation::BackupDrill, &check).await?;
    match &drilled {
        Ok(d) => tracing::info!(backup = %check.backup_id, records = d.records, "restore drill passed"),
        Err(e) => tracing::error!(backup = %check.backup_id, error = %e, "restore drill FAILED"),
    }
    drilled
}

/// The newest complete backup: in the backup directory, else in the bucket.
async fn newest(backups: &Backups) -> Result<Option<Location>, BackupError> {
    if let Some(id) = backups.complete_ids()?.pop() {
        return Ok(Some(Location::Dir(backups.dir().join(id))));
    }
    if backups.remote().is_some() {
        let remote = backups.list_remote().await?;
        return Ok(remote.into_iter().rev().find(|b| b.complete()).map(|b| Location::Remote(b.id)));
    }
    Ok(None)
}

/// Where the drill restores to, removed when dropped (SQLite) or by [`discard`] (PostgreSQL).
enum DrillTarget {
    Sqlite(Scratch),
    Postgres(String),
}

impl DrillTarget {
    fn target(&self) -> RestoreTarget {
        match self {
            Self::Sqlite(scratch) => RestoreTarget::parse(&scratch.path().display().to_string()),
            Self::Postgres(url) => RestoreTarget::parse(url),
        }
    }
}

async fn run_drill(
    state: &AppState,
    actor: &Actor,
    at: &Location,
    id: &str,
    location: &'static str,
) -> Result<Drilled, BackupError> {
    let vault = vault_of(state)?;
    let url = state.settings.database_admin_url();
    let scratch = if url.starts_with("sqlite:") {
        crate::application::create_private_dir(state.backups.dir())
            .map_err(|source| BackupError::Io { path: state.backups.dir().to_owned(), source })?;
        DrillTarget::Sqlite(Scratch::name(state.backups.dir(), "drill"))
    } else {
        DrillTarget::Postgres(drill_database(&url)?)
    };
    let target = scratch.target();
    // A drill that was cut off may have left its database: it is the drill's own, so it goes.
    target.discard().await?;
    let result = drill_into(state, actor, vault, at, id, &target).await;
    if let Err(e) = target.discard().await {
        tracing::error!(error = %e, target = %target.describe(), "the restore drill's scratch copy could not be removed");
    }
    drop(scratch);
    let (chains, tenants, records, deleted_since, database_bytes) = result?;
    Ok(Drilled {
        backup: id.to_owned(),
        location,
        chains,
        tenants,
        records,
        deleted_since,
        database_bytes,
        seconds: 0.0,
    })
}

async fn drill_into(
    state: &AppState,
    actor: &Actor,
    vault: &Arc<Vault>,
    at: &Location,
    id: &str,
    target: &RestoreTarget,
) -> Result<(usize, usize, u64, usize, u64), BackupError> {
    let restored = state.backups.restore_from(at, target, vault, Arc::clone(&state.clock)).await?;
    if let Some(broken) = restored.chains.iter().find_map(|c| c.result.as_ref().err()) {
        return Err(BackupError::Drill(format!(
            "the audit log {} of the restored data is broken at entry {}: {} ({})",
            broken.scope.storage_id(),
            broken.seq,
            broken.reason,
            broken.kind.as_str()
        )));
    }
    let deleted: Vec<_> = state.store.tenant_deletions().await?.into_iter().map(|d| d.tenant_id).collect();
    // A keystore connection of its own: closing the restored store closes its vault.
    let own =
        crate::application::open_vault(&state.settings).await.map_err(|e| BackupError::Keystore(e.to_string()))?;
    let options = StoreOptions { vault: Some(own), record_cache_records: 0, ..StoreOptions::default() };
    let store = Store::open(&target.url(), Arc::clone(&state.clock), options).await?;
    let counted = count_records(&store, &deleted).await;
    store.close().await;
    if let Err((Some(tenant), BackupError::Store(StoreError::Unreadable(why)))) = &counted {
        // A value of the copy did not open under the tenant's keys: recorded in that tenant's
        // log as a refused request's would be; the drill fails as before.
        let scope = AuditScope::Tenant(*tenant);
        crate::denials::record_refused_open(state, scope, actor.clone(), format!("backup-drill:{id}"), why).await;
    }
    let (tenants, records, deleted_since) = counted.map_err(|(_, e)| e)?;
    Ok((restored.chains.len(), tenants, records, deleted_since, restored.verified.database_bytes))
}

/// Reads and decrypts every record of every tenant not deleted since, checking that as many
/// come back as the table holds. A failure names the tenant it happened in, if any.
async fn count_records(
    store: &Store,
    deleted: &[kura_domain::TenantId],
) -> Result<(usize, u64, usize), (Option<kura_domain::TenantId>, BackupError)> {
    let (mut tenants, mut records, mut skipped) = (0, 0u64, 0);
    for tenant in store.tenants().await.map_err(|e| (None, BackupError::from(e)))? {
        if deleted.contains(&tenant.id) {
            skipped += 1;
            continue;
        }
        tenants += 1;
        let failed = |e: StoreError| (Some(tenant.id), BackupError::from(e));
        for collection in store.collections(tenant.id).await.map_err(failed)? {
            let read = store.records(tenant.id, collection.id).await.map_err(failed)?.len() as u64;
            let rows = store.record_count(tenant.id, collection.id).await.map_err(failed)?;
            if read != rows {
                return Err((
                    Some(tenant.id),
                    BackupError::Drill(format!(
                        "tenant {}, collection {}: {read} records read of {rows} stored",
                        tenant.slug, collection.name
                    )),
                ));
            }
            records += read;
        }
    }
    Ok((tenants, records, skipped))
}

/// The drill's PostgreSQL database: `<name>_drill` on the data's server.
fn drill_database(url: &str) -> Result<String, BackupError> {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let (server, name) =
        base.rsplit_once('/').filter(|(s, _)| s.contains("://") && !s.ends_with('/')).ok_or_else(|| {
            BackupError::Drill("the database URL names no database to put the drill's copy beside".into())
        })?;
    let drill = format!("{server}/{name}_drill");
    Ok(match query {
        Some(q) => format!("{drill}?{q}"),
        None => drill,
    })
}

/// The newest drill's time and result, for `/metrics`.
pub async fn last_drill(store: &Store) -> Option<(Timestamp, bool)> {
    let checks = store.backup_checks(50).await.ok()?;
    checks.into_iter().find(|c| c.kind == "drill").map(|c| (c.checked_at, c.ok))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_1_the_drill_database_sits_beside_the_data_on_the_same_server() {
        assert_eq!(drill_database("postgres://kura@db:5432/kura").unwrap(), "postgres://kura@db:5432/kura_drill");
        assert_eq!(
            drill_database("postgres://kura:pw@db/kura?sslmode=require").unwrap(),
            "postgres://kura:pw@db/kura_drill?sslmode=require"
        );
        assert!(drill_database("postgres://db").is_err());
    }
}
