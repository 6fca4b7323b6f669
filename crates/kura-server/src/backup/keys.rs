//! Backup-key rotation (OPS-1): `kura backup rotate-key` makes a new backup key, which every
//! backup made from then on is encrypted with, and retires the old one at that time. A retired
//! key stays in the keystore while any kept data backup (in the backup directory, the copy
//! directory or the bucket) was made before it was retired, since such a backup may be
//! encrypted with it; once none is, it is removed. The check runs after each rotation and after
//! each data backup's retention rule. Rotating and each removal are entries in the platform's
//! log (`backup.key_rotate`, `backup.key_remove`).

use super::{BackupError, id_time};
use crate::state::AppState;
use jiff::Timestamp;
use kura_domain::{Actor, AuditRecord, AuditScope, Operation, Outcome};
use kura_store::Vault;

/// A rotation done.
#[derive(Debug)]
pub struct Rotated {
    /// The new key's version.
    pub version: u32,
    /// The versions of the retired keys still kept, for the backups made with them.
    pub kept: Vec<u32>,
    /// The versions of the retired keys removed (no kept backup needs them).
    pub removed: Vec<u32>,
}

/// Makes a new backup key for new backups, records it, and removes the retired keys no kept
/// backup needs.
pub async fn rotate_key(state: &AppState, actor: Actor) -> Result<Rotated, BackupError> {
    let _job = state.jobs.start()?;
    let vault = state.store.vault().ok_or_else(|| BackupError::NoMasterKey(state.settings.master_key_file()))?;
    let rotated = vault.rotate_backup_key(state.clock.now().as_microsecond()).await;
    let record = match &rotated {
        Ok(v) => AuditRecord::success(Operation::BackupKeyRotate, format!("backup-key:{v}")).with_detail(format!(
            "backup key {v} made under master key {}; new backups are encrypted with it; older keys are kept until \
             the backups made with them have expired",
            vault.master_key_id()
        )),
        Err(e) => AuditRecord::success(Operation::BackupKeyRotate, "backup-key")
            .with_outcome(Outcome::Failure)
            .with_detail(e.to_string()),
    };
    state.store.audit_only(AuditScope::Platform, actor.clone(), record).await?;
    let version = rotated?;
    let removed = remove_retired_keys(state, actor, vault).await;
    let kept = vault.backup_keys().await?.into_iter().filter(|k| k.retired_at.is_some()).map(|k| k.version).collect();
    Ok(Rotated { version, kept, removed })
}

/// The ids of the data backups kept anywhere (the directory, the copy directory, the bucket),
/// oldest first, each once; `Err` when a place cannot be listed (then no key may be removed).
async fn kept_ids(state: &AppState) -> Result<Vec<String>, BackupError> {
    let b = &state.backups;
    let mut ids = b.complete_ids()?;
    ids.extend(b.copy_ids());
    if b.remote().is_some() {
        ids.extend(b.list_remote().await?.into_iter().map(|r| r.id));
    }
    ids.retain(|id| id_time(id).is_some());
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// The time of the oldest data backup kept anywhere, or `None` when there is none.
async fn oldest_kept(state: &AppState) -> Result<Option<Timestamp>, BackupError> {
    Ok(kept_ids(state).await?.first().and_then(|id| id_time(id)))
}

/// A backup key as the operator's page shows it: no key material.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyStatus {
    pub version: u32,
    /// The master key that wraps it.
    pub master_key_id: String,
    pub created: Timestamp,
    /// When a newer key replaced it; `None` for the key new backups are encrypted with.
    pub retired: Option<Timestamp>,
    /// The kept data backups that keep it in the keystore, oldest first: for a retired key,
    /// those made before its retirement (any of them may be encrypted with it); for the current
    /// key, those made since it was made.
    pub needed_by: Vec<String>,
    /// For a retired key, when it is removed.
    pub removal: Option<Removal>,
}

/// When a retired backup key is removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Removal {
    /// No kept backup needs it any more: at the next backup or rotation.
    Next,
    /// Once the retention rule has deleted the backups that need it: after this many more
    /// backups, which the schedule takes by `at` (`None` without scheduled times).
    After { backups: u32, at: Option<Timestamp> },
}

/// Every backup key in the keystore, oldest first, with the kept backups that need it and when
/// it goes, by the rule [`remove_retired_keys`] applies, at `now`.
pub async fn key_statuses(state: &AppState, vault: &Vault, now: Timestamp) -> Result<Vec<KeyStatus>, BackupError> {
    let keys = vault.backup_keys().await?;
    let kept = kept_ids(state).await?;
    let local = state.backups.complete_ids()?;
    let schedule = super::Schedule::from_settings(&state.settings);
    let mut out = Vec::new();
    for k in keys {
        let (Ok(created), retired) = (Timestamp::from_microsecond(k.created_at), k.retired_at) else { continue };
        let retired = retired.and_then(|at| Timestamp::from_microsecond(at).ok());
        let needs = |id: &&String| match (id_time(id), retired) {
            (Some(t), Some(r)) => t < r,
            (Some(t), None) => t >= created,
            (None, _) => false,
        };
        let needed_by: Vec<String> = kept.iter().filter(needs).cloned().collect();
        let removal = retired.map(|_| match needed_by.last() {
            None => Removal::Next,
            Some(newest) => {
                // The retention rule keeps the newest `generations` backups: the newest backup
                // that needs the key goes once that many newer ones are in the directory.
                let newer = local.iter().filter(|id| *id > newest).count();
                let backups =
                    state.backups.generations().saturating_sub(u32::try_from(newer).unwrap_or(u32::MAX)).max(1);
                let at = schedule.as_ref().and_then(|s| s.nth_slot_after(now, backups));
                Removal::After { backups, at }
            }
        });
        out.push(KeyStatus {
            version: k.version,
            master_key_id: k.master_key_id,
            created,
            retired,
            needed_by,
            removal,
        });
    }
    Ok(out)
}

/// Removes every retired backup key that no kept data backup can need: none was made before
/// the key was retired. Each removal is an entry in the platform's log; failures are logged
/// and keep the key. Returns the versions removed.
pub async fn remove_retired_keys(state: &AppState, actor: Actor, vault: &Vault) -> Vec<u32> {
    let keys = match vault.backup_keys().await {
        Ok(keys) => keys,
        Err(e) => {
            tracing::error!(error = %e, "the backup keys could not be listed");
            return Vec::new();
        }
    };
    let retired: Vec<(u32, i64)> = keys.iter().filter_map(|k| k.retired_at.map(|at| (k.version, at))).collect();
    if retired.is_empty() {
        return Vec::new();
    }
    let oldest = match oldest_kept(state).await {
        Ok(oldest) => oldest,
        Err(e) => {
            tracing::error!(error = %e, "the backups could not be listed: retired backup keys are kept for now");
            return Vec::new();
        }
    };
    let mut removed = Vec::new();
    for (version, at) in retired {
        let Ok(retired_at) = Timestamp::from_microsecond(at) else { continue };
        if oldest.is_some_and(|o| o < retired_at) {
            continue;
        }
        match vault.remove_backup_key(version).await {
            Ok(true) => {
                let detail = format!(
                    "backup key {version}, retired at {retired_at}, removed from the keystore: no kept backup was made \
                     before then"
                );
                let record = AuditRecord::success(Operation::BackupKeyRemove, format!("backup-key:{version}"))
                    .with_detail(detail);
                if let Err(e) = state.store.audit_only(AuditScope::Platform, actor.clone(), record).await {
                    tracing::error!(error = %e, version, "the removal of a backup key could not be recorded");
                }
                tracing::info!(version, "retired backup key removed");
                removed.push(version);
            }
            Ok(false) => {}
            Err(e) => tracing::error!(error = %e, version, "a retired backup key could not be removed"),
        }
    }
    removed
}
