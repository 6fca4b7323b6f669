//! Backups (OPS-1). `kura backup` takes one consistent copy of the database while writes go on
//! (kura-store `backup/`: SQLite's `VACUUM INTO`, or `pg_dump`), compresses it with zstd,
//! encrypts it with the installation's backup key (kept in the keystore, wrapped by the master
//! key; kura-crypto `vault/backup.rs`) and describes it in a manifest of SHA-256 digests signed
//! with the audit signing key (`manifest.rs`). Each backup is a directory of its own in the
//! backup directory, named by its time, written under a hidden name and renamed into place once
//! whole, so a listed backup is never half written. After each backup the oldest beyond the
//! configured number of generations are deleted. With a copy directory configured, each backup
//! is then copied there whole (hidden until complete) under the same retention rule.
//!
//! Verifying checks the signature, then every file's digest (naming the file that differs),
//! then that the backup key opens and decompresses every byte. Restoring does the same checks
//! first, refuses a target that holds anything, writes the database, and verifies every audit
//! chain and Merkle tree of the result.
//!
//! The keystore is backed up by the same code on a schedule of its own (`backup.keystore_times`)
//! into a directory of its own, with a retention in days (`backup.keystore_keep_days`), not
//! generations: a destroyed tenant key must be gone from every keystore backup within a time the
//! deletion certificate can state. A keystore backup cannot be encrypted with the backup key,
//! which the keystore itself holds; each carries a key of its own, wrapped by the master key, in
//! its signed manifest.
//!
//! By job: this file takes a backup and lists them; `files.rs` is the file plumbing (sealing,
//! opening, digests, synced writes); `retention.rs` where backups are kept and for how long;
//! `restore.rs` verifying and restoring; `keystore.rs` what is particular to the keystore's
//! backups; `keys.rs` the backup key's rotation; `jobs.rs` the audited jobs; `schedule.rs`
//! the schedule; `remote.rs` the bucket; `manifest.rs` the signed manifest; `meter.rs` progress.

mod files;
mod jobs;
mod keys;
mod keystore;
mod manifest;
mod meter;
mod remote;
mod restore;
mod retention;
mod schedule;

pub use files::Scratch;
pub use jobs::{
    Drilled, Jobs, backups_of, drill, expire_keystore, last_drill, schedule_actor, take, take_keystore, verify,
    verify_of,
};
pub use keys::{KeyStatus, Removal, Rotated, key_statuses, remove_retired_keys, rotate_key};
pub use keystore::KeystoreContents;
pub use kura_store::backup::RestoreTarget;
pub use manifest::{BackupKind, FileEntry, MANIFEST_FILE, Manifest, ManifestError};
pub use meter::Meter;
pub use remote::{Remote, RemoteBackup, RemoteError, check_remote};
pub use restore::{Restored, Verified};
pub use retention::Retention;
pub use schedule::{Schedule, Schedules, id_time, parse_time, run_schedule};

use crate::checkpoints::{CheckpointError, Checkpoints};
use crate::settings::Settings;
use files::{private_dir, seal_file, sync_dir, write_synced};
use kura_crypto::hex;
use kura_crypto::vault::BackupKey;
use kura_domain::Clock;
use kura_store::backup::{Snapshot, SnapshotError, Tools, engine_name, engine_of};
use kura_store::{StoreError, Vault};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The database's file in a backup: zstd inside the backup key's encryption.
pub const DATABASE_FILE: &str = "database.zst.kbk";
/// The folder of the keystore's backups in the copy directory and in the bucket.
pub const KEYSTORE_FOLDER: &str = "keystore";
/// A backup being written is named so; listings and retention skip it.
const INCOMPLETE_PREFIX: &str = ".incomplete-";

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "backups are encrypted with a backup key that the keystore keeps under the master key, and there is \
         no master key: set KURA_MASTER_KEY or create the key file {0}"
    )]
    NoMasterKey(PathBuf),
    #[error("the keystore: {0}")]
    Keystore(String),
    #[error("there is no backup {0}")]
    NotFound(String),
    #[error("backup {backup}: {source}")]
    Manifest { backup: String, source: ManifestError },
    #[error("backup {backup}: there is no signing key at {key}, so its manifest cannot be checked")]
    NoVerifier { backup: String, key: PathBuf },
    #[error("backup {backup}: the file {file} is corrupted: {why}")]
    Corrupt { backup: String, file: PathBuf, why: String },
    #[error("backup {backup}: wrong backup key: {why}")]
    WrongKey { backup: String, why: String },
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error("there is no remote copy configured: set backup.remote (docs/operations.md)")]
    NoRemote,
    #[error("another backup job (a backup, a verification or a drill) is running: try again when it is done")]
    Busy,
    #[error("the restore drill failed: {0}")]
    Drill(String),
    #[error("there is no backup yet to restore: take one first")]
    NoBackups,
    #[error("backup {backup} is a {kind} backup: name it with --keystore for a keystore backup, without for data")]
    OtherKind { backup: String, kind: &'static str },
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> BackupError + '_ {
    move |source| BackupError::Io { path: path.to_owned(), source }
}

/// Opens the keystore with the master key, as `kura serve` does: backups need both.
pub async fn open_vault(settings: &Settings) -> Result<Arc<Vault>, BackupError> {
    let key_file = settings.master_key_file();
    if settings.encryption.master_key.expose().is_empty() && !key_file.exists() {
        return Err(BackupError::NoMasterKey(key_file));
    }
    crate::application::open_vault(settings).await.map_err(|e| BackupError::Keystore(e.to_string()))
}
/// The backups of one installation: of its database, or of its keystore.
#[derive(Clone, Debug)]
pub struct Backups {
    kind: BackupKind,
    retention: Retention,
    dir: PathBuf,
    /// The second directory every backup is copied to (another disk or a mounted share).
    copy_dir: Option<PathBuf>,
    /// The bucket every backup is uploaded to.
    remote: Option<Remote>,
    generations: u32,
    database_url: String,
    tools: Tools,
    checkpoints: Checkpoints,
    /// How far the running job is, in bytes.
    meter: Arc<Meter>,
}

/// A backup just made.
#[derive(Clone, Debug)]
pub struct Made {
    pub id: String,
    pub path: PathBuf,
    /// Bytes of the database copy, before compression.
    pub database_bytes: u64,
    /// Bytes written to the backup's files.
    pub stored_bytes: u64,
    pub seconds: f64,
    /// Older backups deleted by the retention rule.
    pub deleted: Vec<String>,
    /// The copy in the copy directory, or why it failed (the backup itself stands).
    pub copy: Option<Result<PathBuf, String>>,
    /// The copy in the bucket (where), or why it failed (the backup itself stands).
    pub remote: Option<Result<String, String>>,
    /// Older backups deleted from the bucket by the retention rule.
    pub remote_deleted: Vec<String>,
}

/// Where a backup to verify or restore is read from.
#[derive(Clone, Debug)]
pub enum Location {
    /// A backup directory: in the backup directory, the copy directory, or anywhere.
    Dir(PathBuf),
    /// A backup in the bucket, by its id.
    Remote(String),
}

impl Location {
    /// `local`, `copy` or `remote`, as the platform's record names where a check read from.
    pub fn kind(&self, backups: &Backups) -> &'static str {
        match self {
            Self::Remote(_) => "remote",
            Self::Dir(p) if backups.copy_dir().is_some_and(|c| p.starts_with(c)) => "copy",
            Self::Dir(_) => "local",
        }
    }
}

/// Whether a listed backup's manifest carries a valid signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signature {
    Valid,
    Invalid,
    /// There is no signing key to check it with.
    Unchecked,
}

/// A backup as listed.
#[derive(Clone, Debug)]
pub struct Listed {
    pub id: String,
    pub path: PathBuf,
    pub manifest: Option<Manifest>,
    pub signature: Signature,
    pub stored_bytes: u64,
}

impl Backups {
    /// The backups as configured; the remote copy's client is made here, so a bad remote
    /// configuration (its credentials file) stops every command that uses backups at once.
    pub fn new(settings: &Settings) -> Result<Self, BackupError> {
        let which = |configured: &Option<PathBuf>, name: &str| configured.clone().unwrap_or_else(|| find_on_path(name));
        Ok(Self {
            kind: BackupKind::Data,
            retention: Retention::Generations(settings.backup.generations),
            dir: settings.backup_dir(),
            copy_dir: settings.backup.copy_dir.clone(),
            remote: Remote::from_settings(&settings.backup.remote)?,
            generations: settings.backup.generations,
            // The owner's: `pg_dump` reads every tenant's rows, which row-level security keeps
            // from the application role (TEN-2).
            database_url: settings.database_admin_url(),
            tools: Tools {
                pg_dump: which(&settings.backup.pg_dump, "pg_dump"),
                pg_restore: which(&settings.backup.pg_restore, "pg_restore"),
            },
            checkpoints: Checkpoints::new(settings),
            meter: Arc::default(),
        })
    }

    pub fn kind(&self) -> BackupKind {
        self.kind
    }
    /// How far the running backup, verification or restore is, in bytes.
    pub fn meter(&self) -> &Arc<Meter> {
        &self.meter
    }
    pub fn retention(&self) -> Retention {
        self.retention
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
    pub fn copy_dir(&self) -> Option<&Path> {
        self.copy_dir.as_deref()
    }
    pub fn generations(&self) -> u32 {
        self.generations
    }
    pub fn remote(&self) -> Option<&Remote> {
        self.remote.as_ref()
    }

    /// A backup named by its id (a directory of the backup directory) or by its path.
    pub fn locate(&self, name: &str) -> PathBuf {
        let path = Path::new(name);
        if name.contains('/') || path.is_absolute() { path.to_owned() } else { self.dir.join(name) }
    }

    /// Takes a backup now, then deletes the oldest beyond the configured generations.
    pub async fn make(&self, vault: &Vault, clock: &dyn Clock) -> Result<Made, BackupError> {
        let started = std::time::Instant::now();
        // Microseconds, as Kura stores time everywhere.
        let now = clock.now();
        let now = jiff::Timestamp::from_microsecond(now.as_microsecond()).unwrap_or(now);
        let id = backup_id(now);
        let (key, wrapped) = match self.kind {
            BackupKind::Data => (vault.backup_key(now.as_microsecond()).await?, None),
            BackupKind::Keystore => {
                let (key, wrapped) = vault.keystore_backup_key(&id)?;
                (key, Some(hex(&wrapped)))
            }
        };
        crate::application::create_private_dir(&self.dir).map_err(io_at(&self.dir))?;
        let staging = self.dir.join(format!("{INCOMPLETE_PREFIX}{id}"));
        private_dir(&staging).map_err(io_at(&staging))?;
        let written = self.write(&staging, &id, &now.to_string(), vault, key, wrapped).await;
        let (database_bytes, stored_bytes) = match written {
            Ok(sizes) => sizes,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staging);
                return Err(e);
            }
        };
        let path = self.dir.join(&id);
        std::fs::rename(&staging, &path).map_err(io_at(&path))?;
        sync_dir(&self.dir).map_err(io_at(&self.dir))?;
        tracing::info!(backup = %id, kind = self.kind.as_str(), database_bytes, stored_bytes, "backup made");
        let deleted = self.apply_retention(now)?;
        let copy = self.copy_dir.as_ref().map(|to| {
            self.copy(&id, to, now).map_err(|e| {
                tracing::error!(backup = %id, error = %e, "the backup could not be copied");
                e.to_string()
            })
        });
        let mut remote_deleted = Vec::new();
        let remote = match &self.remote {
            None => None,
            Some(remote) => Some(match remote.upload(&path, &id).await {
                Ok(at) => match remote.retain(self.retention, now).await {
                    Ok(deleted) => {
                        remote_deleted = deleted;
                        Ok(at)
                    }
                    Err(e) => Err(format!("uploaded to {at}, but the retention rule failed there: {e}")),
                },
                Err(e) => Err(e.to_string()),
            }),
        };
        if let Some(Err(e)) = &remote {
            tracing::error!(backup = %id, error = %e, "the backup could not be copied to the bucket");
        }
        let seconds = started.elapsed().as_secs_f64();
        Ok(Made { id, path, database_bytes, stored_bytes, seconds, deleted, copy, remote, remote_deleted })
    }

    async fn write(
        &self,
        staging: &Path,
        id: &str,
        created: &str,
        vault: &Vault,
        key: BackupKey,
        wrapped_key: Option<String>,
    ) -> Result<(u64, u64), BackupError> {
        self.meter.start(0);
        let snapshot = Snapshot::take(&self.database_url, &self.tools, staging).await?;
        self.meter.start(snapshot.size().unwrap_or(0));
        let meter = Arc::clone(&self.meter);
        let name = self.kind.file();
        let file = staging.join(name);
        let context = files::file_context(id, name);
        let fingerprint = key.fingerprint();
        let version = key.version().get();
        let target = file.clone();
        let (plain, size, sha256) =
            tokio::task::spawn_blocking(move || seal_file(snapshot, &target, &key, &context, meter))
                .await
                .map_err(|e| BackupError::Io { path: file.clone(), source: io::Error::other(e) })??;
        let manifest = Manifest {
            id: id.to_owned(),
            created: created.to_owned(),
            engine: engine_name(engine_of(&self.database_url)?).to_owned(),
            kind: self.kind,
            master_key_id: vault.master_key_id().to_string(),
            backup_key_version: version,
            backup_key_fingerprint: fingerprint,
            wrapped_key,
            files: vec![FileEntry { name: name.to_owned(), size, sha256 }],
        };
        let note = manifest
            .sign(&self.checkpoints.signer()?)
            .map_err(|source| BackupError::Manifest { backup: id.to_owned(), source })?;
        let manifest_path = staging.join(MANIFEST_FILE);
        write_synced(&manifest_path, note.as_bytes()).map_err(io_at(&manifest_path))?;
        sync_dir(staging).map_err(io_at(staging))?;
        Ok((plain, size + note.len() as u64))
    }

    /// Every complete backup, oldest first, with its manifest and whether its signature checks.
    pub fn list(&self) -> Result<Vec<Listed>, BackupError> {
        let verifier = self.checkpoints.verifier()?;
        let mut out = Vec::new();
        for id in self.complete_ids()? {
            let path = self.dir.join(&id);
            let note = std::fs::read_to_string(path.join(MANIFEST_FILE)).unwrap_or_default();
            let (manifest, signature) = match &verifier {
                Some(v) => match Manifest::open(&note, v) {
                    Ok(m) => (Some(m), Signature::Valid),
                    Err(_) => (Manifest::read_unchecked(&note).ok(), Signature::Invalid),
                },
                None => (Manifest::read_unchecked(&note).ok(), Signature::Unchecked),
            };
            let stored_bytes = std::fs::read_dir(&path)
                .map(|d| d.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum())
                .unwrap_or(0);
            out.push(Listed { id, path, manifest, signature, stored_bytes });
        }
        Ok(out)
    }

    /// Every backup in the bucket, complete or not, oldest first, with its manifest read
    /// unchecked (a listing; `verify` checks).
    pub async fn list_remote(&self) -> Result<Vec<RemoteBackup>, BackupError> {
        let remote = self.remote.as_ref().ok_or(BackupError::NoRemote)?;
        Ok(remote.list().await?)
    }
}

/// A backup's id: its time in UTC to the microsecond, so that ids sort as the backups were made.
fn backup_id(now: jiff::Timestamp) -> String {
    format!("{}.{:06}Z", now.strftime("%Y%m%dT%H%M%S"), now.subsec_microsecond())
}

fn is_backup_id(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() == 23
        && b[8] == b'T'
        && b[15] == b'.'
        && b[22] == b'Z'
        && b.iter().enumerate().all(|(i, c)| matches!(i, 8 | 15 | 22) || c.is_ascii_digit())
}

/// `name` in the first directory of `PATH` that has it, or `name` itself (the spawn then fails
/// with a clear error).
fn find_on_path(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|p| p.join(name)).find(|p| p.is_file()))
        .unwrap_or_else(|| PathBuf::from(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_1_backup_ids_sort_by_time_and_are_recognised() {
        let a: jiff::Timestamp = "2026-12-06T20:19:12.000123Z".parse().unwrap();
        let b: jiff::Timestamp = "2026-12-06T20:19:12.1Z".parse().unwrap();
        assert_eq!(backup_id(a), "20261206T201912.000123Z");
        assert!(backup_id(a) < backup_id(b));
        assert!(is_backup_id(&backup_id(b)));
        assert!(!is_backup_id(".incomplete-20261206T201912.000123Z") && !is_backup_id("notes"));
    }
}
