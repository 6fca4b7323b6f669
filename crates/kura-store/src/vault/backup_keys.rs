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

/// What the key of one keystore backup is wrapped under in place of a tenant id: bound to the
/// backup's id, so a wrapped key moved to another backup does not unwrap.
fn keystore_backup_owner(id: &str) -> Vec<u8> {
    format!("kura.keystore-backup/{id}").into_bytes()
}

impl Keystore {
    async fn tenant_ids(&self) -> Result<Vec<uuid::Uuid>, StoreError> {
        const SQL: &str = "SELECT DISTINCT tenant_id FROM tenant_keys ORDER BY tenant_id";
        Ok(match self {
            Self::Sqlite(p) => sqlx::query_scalar(SQL).fetch_all(p).await?,
            Self::Postgres(p) => sqlx::query_scalar(SQL).fetch_all(p).await?,
        })
    }

    async fn backup_key_versions(&self) -> Result<Vec<i64>, StoreError> {
        const SQL: &str = "SELECT version FROM backup_keys ORDER BY version";
        Ok(match self {
            Self::Sqlite(p) => sqlx::query_scalar(SQL).fetch_all(p).await?,
            Self::Postgres(p) => sqlx::query_scalar(SQL).fetch_all(p).await?,
        })
    }
}

/// A backup key as the keystore lists it (no key material).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupKeyInfo {
    pub version: u32,
    pub master_key_id: String,
    /// Microseconds since the epoch.
    pub created_at: i64,
    /// When a newer key replaced it (microseconds), or `None` for the current key.
    pub retired_at: Option<i64>,
}

impl Keystore {
    async fn backup_keys_info(&self) -> Result<Vec<BackupKeyInfo>, StoreError> {
        const SQL: &str = "SELECT version, master_key_id, created_at, retired_at FROM backup_keys ORDER BY version";
        let rows: Vec<(i64, String, i64, Option<i64>)> = match self {
            Self::Sqlite(p) => sqlx::query_as(SQL).fetch_all(p).await?,
            Self::Postgres(p) => sqlx::query_as(SQL).fetch_all(p).await?,
        };
        Ok(rows
            .into_iter()
            .filter_map(|(v, master_key_id, created_at, retired_at)| {
                Some(BackupKeyInfo { version: u32::try_from(v).ok()?, master_key_id, created_at, retired_at })
            })
            .collect())
    }

    /// Retires every current key older than `version` at `now`.
    async fn retire_backup_keys_before(&self, version: i64, now: i64) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE backup_keys SET retired_at = $1 WHERE version < $2 AND retired_at IS NULL";
        match self {
            Self::Sqlite(p) => sqlx::query(SQL).bind(now).bind(version).execute(p).await.map(|_| ())?,
            Self::Postgres(p) => sqlx::query(SQL).bind(now).bind(version).execute(p).await.map(|_| ())?,
        }
        Ok(())
    }

    /// Deletes the retired key `version`; `false` when there is no such retired key.
    async fn delete_retired_backup_key(&self, version: i64) -> Result<bool, StoreError> {
        const SQL: &str = "DELETE FROM backup_keys WHERE version = $1 AND retired_at IS NOT NULL";
        let n = match self {
            Self::Sqlite(p) => sqlx::query(SQL).bind(version).execute(p).await?.rows_affected(),
            Self::Postgres(p) => sqlx::query(SQL).bind(version).execute(p).await?.rows_affected(),
        };
        Ok(n == 1)
    }
}

impl Vault {
    /// Makes a new backup key, the one every new backup is encrypted with from now on, and
    /// retires the older ones at `now_micros` (kept to open the backups made with them).
    /// Returns the new key's version.
    pub async fn rotate_backup_key(&self, now_micros: i64) -> Result<u32, StoreError> {
        let newest = self.keystore.backup_key_versions().await?.into_iter().max().unwrap_or(0);
        let version = u32::try_from(newest + 1).map_err(|_| StoreError::Corrupt("backup key versions".into()))?;
        let version = KeyVersion::new(version).ok_or_else(|| StoreError::Corrupt("backup key version 0".into()))?;
        let key = BackupKey::generate(version);
        let wrapped = self.provider.wrap(BACKUP_KEY_OWNER, key.as_tenant_key()).map_err(backup_key_error)?;
        if !self.keystore.insert_backup_key(&wrapped, now_micros).await? {
            return Err(StoreError::Conflict("another process made a backup key at the same moment: try again".into()));
        }
        self.keystore.retire_backup_keys_before(i64::from(version.get()), now_micros).await?;
        tracing::info!(version = version.get(), "backup key rotated");
        Ok(version.get())
    }

    /// Every backup key the keystore holds, oldest first, without key material.
    pub async fn backup_keys(&self) -> Result<Vec<BackupKeyInfo>, StoreError> {
        self.keystore.backup_keys_info().await
    }

    /// Removes the retired backup key `version` (the backups made with it are gone); `false`
    /// when there is no such retired key. The current key is never removed.
    pub async fn remove_backup_key(&self, version: u32) -> Result<bool, StoreError> {
        self.keystore.delete_retired_backup_key(i64::from(version)).await
    }

    /// A fresh key for the keystore backup `id`, and its wrapped form (wrapped by the master
    /// key, bound to `id`) to keep in the backup's manifest. A keystore backup cannot be
    /// encrypted with the backup key: that key is kept in the keystore it restores.
    pub fn keystore_backup_key(&self, id: &str) -> Result<(BackupKey, Vec<u8>), StoreError> {
        let key = BackupKey::generate(KeyVersion::FIRST);
        let wrapped = self.provider.wrap(&keystore_backup_owner(id), key.as_tenant_key()).map_err(backup_key_error)?;
        Ok((key, wrapped.to_bytes()))
    }

    /// The key of the keystore backup `id` from its wrapped form: [`StoreError::Unreadable`]
    /// under another master key, or for a wrapped key of another backup.
    pub fn open_keystore_backup_key(&self, id: &str, wrapped: &[u8]) -> Result<BackupKey, StoreError> {
        let wrapped = WrappedKey::from_bytes(wrapped).map_err(|e| StoreError::Corrupt(format!("wrapped key: {e}")))?;
        let key = self.provider.unwrap(&keystore_backup_owner(id), &wrapped).map_err(backup_key_error)?;
        BackupKey::from_tenant_key(key)
            .ok_or_else(|| StoreError::Corrupt("a keystore backup's key is a key of another purpose".into()))
    }

    /// Another keystore (a restored keystore backup) opened with this vault's master key.
    pub async fn open_other(&self, url: &str) -> Result<Vault, StoreError> {
        Vault::open(url, std::sync::Arc::clone(&self.provider), false).await
    }

    /// The tenants that have keys in this keystore.
    pub async fn tenants_with_keys(&self) -> Result<Vec<kura_domain::TenantId>, StoreError> {
        Ok(self.keystore.tenant_ids().await?.into_iter().map(kura_domain::TenantId::from_uuid).collect())
    }

    /// The versions of the backup keys this keystore holds, oldest first.
    pub async fn backup_key_versions(&self) -> Result<Vec<u32>, StoreError> {
        Ok(self.keystore.backup_key_versions().await?.into_iter().filter_map(|v| u32::try_from(v).ok()).collect())
    }

    /// Closes this keystore's connections.
    pub async fn shut(&self) {
        self.keystore.close().await;
    }
}
