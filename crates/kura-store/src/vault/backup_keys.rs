//! The installation's backup key in the keystore (OPS-1): wrapped by the master key like a
//! tenant key, made at the first backup, and looked up by version when a backup is opened.

use super::Vault;
use super::keystore::Keystore;
use crate::error::StoreError;
use kura_crypto::vault::{BACKUP_KEY_OWNER, BackupKey, KeyVersion, WrappedKey};

impl Keystore {
    async fn backup_key_row(&self, version: Option<i64>) -> Result<Option<Vec<u8>>, StoreError> {
        const NEWEST: &str = "SELECT wrapped FROM backup_keys ORDER BY version DESC LIMIT 1";
        const ONE: &str = "SELECT wrapped FROM backup_keys WHERE version = $1";
        Ok(match (self, version) {
            (Self::Sqlite(p), None) => sqlx::query_scalar(NEWEST).fetch_optional(p).await?,
            (Self::Postgres(p), None) => sqlx::query_scalar(NEWEST).fetch_optional(p).await?,
            (Self::Sqlite(p), Some(v)) => sqlx::query_scalar(ONE).bind(v).fetch_optional(p).await?,
            (Self::Postgres(p), Some(v)) => sqlx::query_scalar(ONE).bind(v).fetch_optional(p).await?,
        })
    }

    /// Stores a new backup key; `false` when another process stored that version first.
    async fn insert_backup_key(&self, wrapped: &WrappedKey, now: i64) -> Result<bool, StoreError> {
        const SQL: &str = "INSERT INTO backup_keys (version, master_key_id, wrapped, created_at) \
                           VALUES ($1, $2, $3, $4) ON CONFLICT (version) DO NOTHING";
        let version = i64::from(wrapped.version().get());
        let id = wrapped.master_key_id().as_str();
        let bytes = wrapped.to_bytes();
        let done = match self {
            Self::Sqlite(p) => {
                sqlx::query(SQL).bind(version).bind(id).bind(bytes).bind(now).execute(p).await?.rows_affected()
            }
            Self::Postgres(p) => {
                sqlx::query(SQL).bind(version).bind(id).bind(bytes).bind(now).execute(p).await?.rows_affected()
            }
        };
        Ok(done == 1)
    }
}

impl Vault {
    /// The newest backup key, made and stored durably in the keystore the first time.
    pub async fn backup_key(&self, now_micros: i64) -> Result<BackupKey, StoreError> {
        if let Some(key) = self.load_backup_key(None).await? {
            return Ok(key);
        }
        let key = BackupKey::generate(KeyVersion::FIRST);
        let wrapped = self.provider.wrap(BACKUP_KEY_OWNER, key.as_tenant_key()).map_err(backup_key_error)?;
        if self.keystore.insert_backup_key(&wrapped, now_micros).await? {
            tracing::info!(master_key_id = %self.master_key_id(), "backup key created");
            return Ok(key);
        }
        // Another process made it at the same moment: use that one.
        self.load_backup_key(None).await?.ok_or(StoreError::NotFound)
    }

    /// The backup key of `version`, or `None` when the keystore has no such key.
    pub async fn backup_key_version(&self, version: u32) -> Result<Option<BackupKey>, StoreError> {
        self.load_backup_key(Some(i64::from(version))).await
    }

    async fn load_backup_key(&self, version: Option<i64>) -> Result<Option<BackupKey>, StoreError> {
        let Some(bytes) = self.keystore.backup_key_row(version).await? else { return Ok(None) };
        let wrapped = WrappedKey::from_bytes(&bytes).map_err(|e| StoreError::Corrupt(format!("keystore: {e}")))?;
        let key = self.provider.unwrap(BACKUP_KEY_OWNER, &wrapped).map_err(backup_key_error)?;
        BackupKey::from_tenant_key(key)
            .map(Some)
            .ok_or_else(|| StoreError::Corrupt("keystore: a backup key row holds a key of another purpose".into()))
    }
}

fn backup_key_error(e: kura_crypto::vault::KeyError) -> StoreError {
    StoreError::Unreadable(format!("the backup key: {e}"))
}
