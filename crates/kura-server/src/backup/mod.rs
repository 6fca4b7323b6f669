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

mod jobs;
mod keys;
mod manifest;
mod meter;
mod remote;
mod schedule;

pub use jobs::{
    Drilled, Jobs, backups_of, drill, expire_keystore, last_drill, schedule_actor, take, take_keystore, verify,
    verify_of,
};
pub use keys::{Rotated, remove_retired_keys, rotate_key};
pub use kura_store::backup::RestoreTarget;
pub use manifest::{BackupKind, FileEntry, MANIFEST_FILE, Manifest, ManifestError};
pub use meter::Meter;
pub use remote::{Remote, RemoteBackup, RemoteError, check_remote};
pub use schedule::{Schedule, Schedules, id_time, parse_time, run_schedule};

use crate::checkpoints::{CheckpointError, Checkpoints};
use crate::settings::Settings;
use kura_crypto::hex;
use kura_crypto::vault::{BackupKey, OpenReader, SealWriter};
use kura_domain::Clock;
use kura_store::backup::{Snapshot, SnapshotError, Tools, engine_name, engine_of};
use kura_store::{ChainVerification, Store, StoreError, StoreOptions, Vault};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The database's file in a backup: zstd inside the backup key's encryption.
pub const DATABASE_FILE: &str = "database.zst.kbk";
/// The folder of the keystore's backups in the copy directory and in the bucket.
pub const KEYSTORE_FOLDER: &str = "keystore";
/// A backup being written is named so; listings and retention skip it.
const INCOMPLETE_PREFIX: &str = ".incomplete-";
/// zstd's level: its default, about as fast as the disk on two cores.
const ZSTD_LEVEL: i32 = 3;

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

/// How long backups are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retention {
    /// The newest this many complete backups.
    Generations(u32),
    /// Every backup younger than this many days.
    Days(u32),
}

impl Retention {
    /// How many of the complete backups `ids` (oldest first) are deleted at `now`: the first ones.
    fn excess(self, ids: &[String], now: jiff::Timestamp) -> usize {
        match self {
            Self::Generations(n) => ids.len().saturating_sub(n as usize),
            Self::Days(days) => {
                let keep = jiff::SignedDuration::from_hours(24 * i64::from(days));
                ids.iter()
                    .take_while(|id| id_time(id).is_none_or(|t| t.saturating_add(keep).is_ok_and(|end| end <= now)))
                    .count()
            }
        }
    }

    /// When a backup made at `made` is deleted by this rule at the latest, if it says so by time.
    pub fn expiry(self, made: jiff::Timestamp) -> Option<jiff::Timestamp> {
        match self {
            Self::Generations(_) => None,
            Self::Days(days) => made.saturating_add(jiff::SignedDuration::from_hours(24 * i64::from(days))).ok(),
        }
    }
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

/// A private scratch directory beside the backups, removed when dropped.
#[derive(Debug)]
pub struct Scratch(PathBuf);

impl Scratch {
    /// A new name for a scratch directory in `dir` (not created).
    fn name(dir: &Path, what: &str) -> Self {
        let tag: String = kura_crypto::random_bytes::<6>().iter().map(|b| format!("{b:02x}")).collect();
        Self(dir.join(format!(".{what}-{tag}")))
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
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

/// What a verification or restore checked.
#[derive(Debug)]
pub struct Verified {
    pub manifest: Manifest,
    /// Bytes of the database, decrypted and decompressed.
    pub database_bytes: u64,
    pub seconds: f64,
}

/// A restore done.
#[derive(Debug)]
pub struct Restored {
    pub verified: Verified,
    pub target: String,
    /// Every audit chain of the restored data, verified with its Merkle tree (none for a keystore).
    pub chains: Vec<ChainVerification>,
    /// What a restored keystore holds.
    pub keystore: Option<KeystoreContents>,
}

/// What a restored keystore holds, once opened with the master key.
#[derive(Debug)]
pub struct KeystoreContents {
    /// The tenants whose keys it holds.
    pub tenants: Vec<kura_domain::TenantId>,
    /// The versions of the backup keys it holds.
    pub backup_keys: Vec<u32>,
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

    /// The keystore's backups as configured: in `backup.keystore_dir`, copied to `keystore/` in
    /// the copy directory and under `<prefix>/keystore/` in the bucket, kept
    /// `backup.keystore_keep_days` days.
    pub fn keystore(settings: &Settings) -> Result<Self, BackupError> {
        let data = Self::new(settings)?;
        Ok(Self {
            kind: BackupKind::Keystore,
            retention: Retention::Days(settings.backup.keystore_keep_days),
            dir: settings.keystore_backup_dir(),
            copy_dir: data.copy_dir.as_ref().map(|d| d.join(KEYSTORE_FOLDER)),
            remote: data.remote.as_ref().map(|r| r.under(KEYSTORE_FOLDER)),
            database_url: settings.keystore_url(),
            meter: Arc::default(),
            ..data
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
        let context = file_context(id, name);
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

    /// Deletes the complete backups the retention rule no longer keeps at `now`; returns their ids.
    pub fn apply_retention(&self, now: jiff::Timestamp) -> Result<Vec<String>, BackupError> {
        retain(&self.dir, self.retention, now)
    }

    /// Applies the retention rule at `now` everywhere the backups are: the directory, the copy
    /// directory and the bucket. The keystore's backups expire by time, so this runs at every
    /// check of `kura serve`, not only after a new backup. Returns the ids deleted here, and
    /// what failed (the rest is still done).
    pub async fn expire(&self, now: jiff::Timestamp) -> (Vec<String>, Vec<String>) {
        let mut deleted = Vec::new();
        let mut failed = Vec::new();
        match self.apply_retention(now) {
            Ok(ids) => deleted.extend(ids),
            Err(e) => failed.push(e.to_string()),
        }
        if let Some(to) = &self.copy_dir {
            match retain(to, self.retention, now) {
                Ok(ids) => deleted.extend(ids),
                Err(e) => failed.push(e.to_string()),
            }
        }
        if let Some(remote) = &self.remote {
            match remote.retain(self.retention, now).await {
                Ok(ids) => deleted.extend(ids),
                Err(e) => failed.push(e.to_string()),
            }
        }
        deleted.sort();
        deleted.dedup();
        (deleted, failed)
    }

    /// Whether some backup here (the directory or the copy directory) is past its retention
    /// at `now`: a cheap look before [`Backups::expire`] lists the bucket.
    pub fn any_expired(&self, now: jiff::Timestamp) -> bool {
        let past = |ids: Vec<String>| self.retention.excess(&ids, now) > 0;
        past(self.complete_ids().unwrap_or_default()) || past(self.copy_ids())
    }

    /// The ids of the complete backups in the copy directory, oldest first (none without one).
    pub fn copy_ids(&self) -> Vec<String> {
        self.copy_dir.as_deref().and_then(|d| complete_ids_in(d).ok()).unwrap_or_default()
    }

    /// The ids of the complete backups in the directory, oldest first.
    pub(crate) fn complete_ids(&self) -> Result<Vec<String>, BackupError> {
        complete_ids_in(&self.dir)
    }

    /// Copies the complete backup `id` into the copy directory (under a hidden name, synced,
    /// then renamed into place), and applies the retention rule there too.
    fn copy(&self, id: &str, to: &Path, now: jiff::Timestamp) -> Result<PathBuf, BackupError> {
        crate::application::create_private_dir(to).map_err(io_at(to))?;
        let staging = to.join(format!("{INCOMPLETE_PREFIX}{id}"));
        let copied = (|| -> Result<PathBuf, BackupError> {
            private_dir(&staging).map_err(io_at(&staging))?;
            let from = self.dir.join(id);
            for entry in std::fs::read_dir(&from).map_err(io_at(&from))?.flatten() {
                let target = staging.join(entry.file_name());
                copy_synced(&entry.path(), &target).map_err(io_at(&target))?;
            }
            sync_dir(&staging).map_err(io_at(&staging))?;
            let path = to.join(id);
            std::fs::rename(&staging, &path).map_err(io_at(&path))?;
            sync_dir(to).map_err(io_at(to))?;
            Ok(path)
        })();
        if copied.is_err() {
            let _ = std::fs::remove_dir_all(&staging);
        }
        let path = copied?;
        retain(to, self.retention, now)?;
        Ok(path)
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

    /// The directory of the backup at `at`: a local one as it is, a remote one downloaded into
    /// a scratch directory beside the backups (removed with the returned guard).
    async fn materialise(&self, at: &Location) -> Result<(PathBuf, Option<Scratch>), BackupError> {
        match at {
            Location::Dir(path) => Ok((path.clone(), None)),
            Location::Remote(id) => {
                let remote = self.remote.as_ref().ok_or(BackupError::NoRemote)?;
                crate::application::create_private_dir(&self.dir).map_err(io_at(&self.dir))?;
                let scratch = Scratch::name(&self.dir, "remote");
                remote.download(id, scratch.path()).await?;
                Ok((scratch.path().to_owned(), Some(scratch)))
            }
        }
    }

    /// A failure found in a downloaded copy, named by the remote object rather than the
    /// scratch file.
    fn name_remote(&self, at: &Location, e: BackupError) -> BackupError {
        let (Location::Remote(id), Some(remote)) = (at, &self.remote) else { return e };
        match e {
            BackupError::Corrupt { backup, file, why } => {
                let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                BackupError::Corrupt { backup, file: PathBuf::from(remote.url(id, &name)), why }
            }
            BackupError::Manifest { source, .. } => BackupError::Manifest { backup: remote.url(id, ""), source },
            other => other,
        }
    }

    /// Verifies the backup at `at` (see [`Backups::verify`]), downloading a remote one first.
    pub async fn verify_at(&self, at: &Location, vault: &Vault) -> Result<Verified, BackupError> {
        let (path, _scratch) = self.materialise(at).await?;
        self.verify(&path, vault).await.map_err(|e| self.name_remote(at, e))
    }

    /// Restores the backup at `at` (see [`Backups::restore`]), downloading a remote one first.
    pub async fn restore_from(
        &self,
        at: &Location,
        target: &RestoreTarget,
        vault: &Vault,
        clock: Arc<dyn Clock>,
    ) -> Result<Restored, BackupError> {
        let (path, _scratch) = self.materialise(at).await?;
        self.restore(&path, target, vault, clock).await.map_err(|e| self.name_remote(at, e))
    }

    /// The signed manifest of the backup at `path`, every file checked against its digest, and
    /// the backup key that encrypted it.
    async fn check(&self, path: &Path, vault: &Vault) -> Result<(Manifest, BackupKey), BackupError> {
        let backup = path.display().to_string();
        let note = match std::fs::read_to_string(path.join(MANIFEST_FILE)) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(BackupError::NotFound(backup)),
            Err(source) => return Err(BackupError::Io { path: path.join(MANIFEST_FILE), source }),
        };
        let Some(verifier) = self.checkpoints.verifier()? else {
            return Err(BackupError::NoVerifier { backup, key: self.checkpoints.key_file().to_owned() });
        };
        let manifest = Manifest::open(&note, &verifier).map_err(|source| BackupError::Manifest { backup, source })?;
        if manifest.kind != self.kind {
            return Err(BackupError::OtherKind { backup: manifest.id, kind: manifest.kind.as_str() });
        }
        if !manifest.files.iter().any(|f| f.name == self.kind.file()) {
            let source = ManifestError::Malformed(format!("it lists no {}", self.kind.file()));
            return Err(BackupError::Manifest { backup: manifest.id, source });
        }
        let (dir, files) = (path.to_owned(), manifest.files.clone());
        let id = manifest.id.clone();
        // Every file is read twice: for its digest, then to decrypt the data file.
        let data_bytes = files.iter().find(|f| f.name == self.kind.file()).map_or(0, |f| f.size);
        self.meter.start(files.iter().map(|f| f.size).sum::<u64>() + data_bytes);
        let meter = Arc::clone(&self.meter);
        tokio::task::spawn_blocking(move || check_digests(&dir, &id, &files, &meter))
            .await
            .map_err(|e| BackupError::Io { path: path.to_owned(), source: io::Error::other(e) })??;
        let key = match &manifest.wrapped_key {
            None => backup_key_for(&manifest, vault).await?,
            Some(wrapped) => keystore_backup_key_for(&manifest, wrapped, vault)?,
        };
        Ok((manifest, key))
    }

    /// Verifies the backup at `path`: signature, digests, and that the backup key decrypts and
    /// decompresses every byte of it.
    pub async fn verify(&self, path: &Path, vault: &Vault) -> Result<Verified, BackupError> {
        let started = std::time::Instant::now();
        let (manifest, key) = self.check(path, vault).await?;
        let file = path.join(self.kind.file());
        let context = file_context(&manifest.id, self.kind.file());
        let backup = manifest.id.clone();
        let meter = Arc::clone(&self.meter);
        let database_bytes = tokio::task::spawn_blocking(move || {
            let mut sink = io::sink();
            open_file(&file, &key, &context, &mut sink, meter).map_err(|why| BackupError::Corrupt { backup, file, why })
        })
        .await
        .map_err(|e| BackupError::Io { path: path.to_owned(), source: io::Error::other(e) })??;
        Ok(Verified { manifest, database_bytes, seconds: started.elapsed().as_secs_f64() })
    }

    /// Restores the backup at `path` into `target`, which must be empty, then verifies every
    /// audit chain and Merkle tree of what was restored.
    pub async fn restore(
        &self,
        path: &Path,
        target: &RestoreTarget,
        vault: &Vault,
        clock: Arc<dyn Clock>,
    ) -> Result<Restored, BackupError> {
        let started = std::time::Instant::now();
        let (manifest, key) = self.check(path, vault).await?;
        let target_engine = engine_name(target.engine());
        if manifest.engine != target_engine {
            let backup = if manifest.engine == "sqlite" { "sqlite" } else { "postgres" };
            return Err(SnapshotError::EngineMismatch { backup, target: target_engine }.into());
        }
        target.prepare().await?;
        let mut sink = target.sink(&self.tools)?;
        let file = path.join(self.kind.file());
        let context = file_context(&manifest.id, self.kind.file());
        let backup = manifest.id.clone();
        let meter = Arc::clone(&self.meter);
        let database_bytes =
            tokio::task::spawn_blocking(move || match open_file(&file, &key, &context, &mut sink, meter) {
                Ok(n) => sink.finish().map(|()| n).map_err(BackupError::from),
                Err(why) => {
                    sink.abandon();
                    Err(BackupError::Corrupt { backup, file, why })
                }
            })
            .await
            .map_err(|e| BackupError::Io { path: path.to_owned(), source: io::Error::other(e) })??;
        if self.kind == BackupKind::Keystore {
            // The restored keystore opens with this master key and says what it holds.
            let restored = vault.open_other(&target.url()).await?;
            let tenants = restored.tenants_with_keys().await;
            let backup_keys = restored.backup_key_versions().await;
            restored.shut().await;
            let keystore = KeystoreContents { tenants: tenants?, backup_keys: backup_keys? };
            let verified = Verified { manifest, database_bytes, seconds: started.elapsed().as_secs_f64() };
            return Ok(Restored { verified, target: target.describe(), chains: Vec::new(), keystore: Some(keystore) });
        }
        let store = Store::open(&target.url(), clock, StoreOptions { vault: None, ..StoreOptions::default() }).await?;
        let chains = store.verify_all_against(&HashMap::new()).await;
        store.close().await;
        let verified = Verified { manifest, database_bytes, seconds: started.elapsed().as_secs_f64() };
        Ok(Restored { verified, target: target.describe(), chains: chains?, keystore: None })
    }
}

/// The backup key that `manifest` names, told apart from a wrong one by its fingerprint.
async fn backup_key_for(manifest: &Manifest, vault: &Vault) -> Result<BackupKey, BackupError> {
    let (v, fingerprint) = (manifest.backup_key_version, &manifest.backup_key_fingerprint);
    let wrong = |why: String| BackupError::WrongKey { backup: manifest.id.clone(), why };
    match vault.backup_key_version(v).await {
        Ok(Some(key)) if &key.fingerprint() == fingerprint => Ok(key),
        Ok(Some(key)) => Err(wrong(format!(
            "it was encrypted with backup key {v} {fingerprint}, and this keystore's backup key {v} is {}: \
             another installation's keystore",
            key.fingerprint()
        ))),
        Ok(None) => Err(wrong(format!(
            "this keystore holds no backup key {v} ({fingerprint}): it is not the keystore the backup was made with"
        ))),
        Err(StoreError::Unreadable(_)) => Err(wrong(format!(
            "the keystore's backup key {v} does not unwrap with this master key ({}); the backup was made under \
             master key {}",
            vault.master_key_id(),
            manifest.master_key_id
        ))),
        Err(e) => Err(e.into()),
    }
}

/// The key of a keystore backup, from the wrapped key in its manifest.
fn keystore_backup_key_for(manifest: &Manifest, wrapped: &str, vault: &Vault) -> Result<BackupKey, BackupError> {
    let wrong = |why: String| BackupError::WrongKey { backup: manifest.id.clone(), why };
    let bytes = unhex(wrapped).ok_or_else(|| wrong("its wrapped key is not hex".into()))?;
    match vault.open_keystore_backup_key(&manifest.id, &bytes) {
        Ok(key) if key.fingerprint() == manifest.backup_key_fingerprint => Ok(key),
        Ok(_) => Err(wrong("its key's fingerprint differs from the one in the signed manifest".into())),
        Err(StoreError::Unreadable(_) | StoreError::Corrupt(_)) => Err(wrong(format!(
            "its key does not unwrap with this master key ({}); the backup was made under master key {}",
            vault.master_key_id(),
            manifest.master_key_id
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Deletes the complete backups in `dir` that `retention` no longer keeps at `now`; returns
/// their ids.
fn retain(dir: &Path, retention: Retention, now: jiff::Timestamp) -> Result<Vec<String>, BackupError> {
    let ids = complete_ids_in(dir)?;
    let excess = retention.excess(&ids, now);
    let mut deleted = Vec::new();
    for id in ids.into_iter().take(excess) {
        let path = dir.join(&id);
        std::fs::remove_dir_all(&path).map_err(io_at(&path))?;
        tracing::info!(backup = %id, dir = %dir.display(), "backup deleted by the retention rule");
        deleted.push(id);
    }
    if !deleted.is_empty() {
        sync_dir(dir).map_err(io_at(dir))?;
    }
    Ok(deleted)
}

/// The ids of the complete backups in `dir` (a directory named by a backup id, with its
/// manifest), oldest first.
fn complete_ids_in(dir: &Path) -> Result<Vec<String>, BackupError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(BackupError::Io { path: dir.to_owned(), source }),
    };
    let mut ids: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|name| is_backup_id(name) && dir.join(name).join(MANIFEST_FILE).is_file())
        .collect();
    ids.sort();
    Ok(ids)
}

/// What is bound into every chunk of a backup's file: the backup's id and the file's name.
fn file_context(id: &str, file: &str) -> Vec<u8> {
    format!("{id}/{file}").into_bytes()
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

/// Counts and hashes what goes through it.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// Compresses and encrypts `snapshot` into the new file `path` (mode 0600, synced); returns
/// the bytes read, the bytes written and their SHA-256.
fn seal_file(
    snapshot: Snapshot,
    path: &Path,
    key: &BackupKey,
    context: &[u8],
    meter: Arc<Meter>,
) -> Result<(u64, u64, String), BackupError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(io_at(path))?;
    let fail = |source| BackupError::Io { path: path.to_owned(), source };
    let hashing = Hashing { inner: io::BufWriter::with_capacity(1 << 20, file), hasher: Sha256::new(), bytes: 0 };
    let sealed = SealWriter::new(key, context, hashing).map_err(fail)?;
    let mut zstd = zstd::stream::Encoder::new(sealed, ZSTD_LEVEL).map_err(fail)?;
    let mut metered = meter::Metered { inner: snapshot, meter };
    let plain = io::copy(&mut metered, &mut zstd).map_err(fail)?;
    let snapshot = metered.inner;
    let hashing = zstd.finish().and_then(SealWriter::finish).map_err(fail)?;
    let (size, digest) = (hashing.bytes, hex(&hashing.hasher.finalize()));
    let file = hashing.inner.into_inner().map_err(|e| fail(e.into_error()))?;
    file.sync_all().map_err(fail)?;
    snapshot.finish()?;
    Ok((plain, size, digest))
}

/// Decrypts and decompresses the backup file `path` into `out`; returns the bytes written, or
/// why the file does not open.
fn open_file(
    path: &Path,
    key: &BackupKey,
    context: &[u8],
    out: &mut impl Write,
    meter: Arc<Meter>,
) -> Result<u64, String> {
    let file = meter::Metered { inner: std::fs::File::open(path).map_err(|e| e.to_string())?, meter };
    let opened =
        OpenReader::new(key, context, io::BufReader::with_capacity(1 << 20, file)).map_err(|e| e.to_string())?;
    let mut zstd = zstd::stream::Decoder::new(opened).map_err(|e| e.to_string())?;
    io::copy(&mut zstd, out).map_err(|e| e.to_string())
}

/// Checks every file of a manifest against its size and digest, naming the first that differs.
fn check_digests(dir: &Path, backup: &str, files: &[FileEntry], meter: &Meter) -> Result<(), BackupError> {
    for f in files {
        let path = dir.join(&f.name);
        let corrupt = |why: String| BackupError::Corrupt { backup: backup.to_owned(), file: path.clone(), why };
        let mut file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(e) => return Err(corrupt(format!("it cannot be read: {e}"))),
        };
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut size = 0u64;
        loop {
            let n = file.read(&mut buf).map_err(|e| corrupt(format!("it cannot be read: {e}")))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            size += n as u64;
            meter.add(n as u64);
        }
        if size != f.size {
            return Err(corrupt(format!("it has {size} bytes, and the signed manifest says {}", f.size)));
        }
        if hex(&hasher.finalize()) != f.sha256 {
            return Err(corrupt("its SHA-256 digest differs from the one in the signed manifest".to_owned()));
        }
    }
    Ok(())
}

/// `name` in the first directory of `PATH` that has it, or `name` itself (the spawn then fails
/// with a clear error).
fn find_on_path(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|p| p.join(name)).find(|p| p.is_file()))
        .unwrap_or_else(|| PathBuf::from(name))
}

fn private_dir(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new().mode(0o700).create(path)
}

fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

fn copy_synced(from: &Path, to: &Path) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut input = std::fs::File::open(from)?;
    let mut out = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(to)?;
    io::copy(&mut input, &mut out)?;
    out.sync_all()
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
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
