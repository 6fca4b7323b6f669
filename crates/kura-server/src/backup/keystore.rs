//! The keystore's own backups: the same code as the data's backups, in a directory of their
//! own (`backup.keystore_dir`, `keystore/` in the copy directory and the bucket), kept by days
//! (`backup.keystore_keep_days`), each encrypted with a key of its own that the master key
//! wraps, bound to the backup's id and carried in its signed manifest (the backup key cannot
//! serve: the keystore holds it). A restored keystore is opened with the master key and says
//! whose keys it holds.

use super::{BackupError, BackupKind, Backups, KEYSTORE_FOLDER, Manifest, Retention};
use crate::settings::Settings;
use kura_crypto::vault::BackupKey;
use kura_store::{StoreError, Vault};
use std::sync::Arc;

/// What a restored keystore holds, once opened with the master key.
#[derive(Debug)]
pub struct KeystoreContents {
    /// The tenants whose keys it holds.
    pub tenants: Vec<kura_domain::TenantId>,
    /// The versions of the backup keys it holds.
    pub backup_keys: Vec<u32>,
}

impl Backups {
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
}

impl KeystoreContents {
    /// What the keystore restored at `url` holds, opened with `vault`'s master key.
    pub(super) async fn of(vault: &Vault, url: &str) -> Result<Self, BackupError> {
        let restored = vault.open_other(url).await?;
        let tenants = restored.tenants_with_keys().await;
        let backup_keys = restored.backup_key_versions().await;
        restored.shut().await;
        Ok(Self { tenants: tenants?, backup_keys: backup_keys? })
    }
}

/// The key of a keystore backup, from the wrapped key in its manifest.
pub(super) fn keystore_backup_key_for(
    manifest: &Manifest,
    wrapped: &str,
    vault: &Vault,
) -> Result<BackupKey, BackupError> {
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

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}
