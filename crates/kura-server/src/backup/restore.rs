//! Verifying and restoring a backup: the signed manifest and every file's digest are checked
//! first, then the backup key named in the manifest (or the keystore backup's own key) opens
//! and decompresses every byte. A restore refuses a target that holds anything, writes the
//! copy, and verifies every audit chain and Merkle tree of the result. A backup in the bucket
//! is downloaded into a scratch directory first, and what fails is named by its object.

use super::files::{Scratch, check_digests, file_context, open_file};
use super::keystore::{KeystoreContents, keystore_backup_key_for};
use super::{BackupError, BackupKind, Backups, Location, MANIFEST_FILE, Manifest, ManifestError, RestoreTarget, io_at};
use kura_crypto::vault::BackupKey;
use kura_domain::Clock;
use kura_store::backup::{SnapshotError, engine_name};
use kura_store::{ChainVerification, Store, StoreError, StoreOptions, Vault};
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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

impl Backups {
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
            let keystore = KeystoreContents::of(vault, &target.url()).await?;
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
