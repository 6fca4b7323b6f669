//! Master-key rotation (DAT-2): every tenant key and backup key in the keystore that an older
//! master key wrapped is re-wrapped under the current one. The vault's provider is then a
//! `MasterKeyRing` (the new key, and the old ones for unwrapping), so nodes keep serving while
//! it runs. Each key is written back only while it is still as it was read, one statement at a
//! time: the work is resumable (run it again: what is done is skipped) and safe beside writes
//! (a tenant opened meanwhile gets keys wrapped by the new master key already).

use super::Vault;
use super::keystore::Keystore;
use crate::error::StoreError;
use kura_crypto::vault::{BACKUP_KEY_OWNER, WrappedKey, rewrap};

/// What a master-key rotation did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MasterRotation {
    /// Tenant keys and backup keys re-wrapped now.
    pub tenant_keys: u64,
    pub backup_keys: u64,
    /// Keys that were under the current master key already.
    pub already: u64,
}

/// One wrapped key of the keystore: its owner (tenant id, or `None` for a backup key), purpose
/// name and version, and its stored form.
type KeyRow = (Option<uuid::Uuid>, String, i64, Vec<u8>);
/// A row of `tenant_keys` and one of `backup_keys`, as read.
type TenantKeyRow = (uuid::Uuid, String, i64, Vec<u8>);
type BackupKeyRow = (i64, Vec<u8>);

impl Keystore {
    async fn all_wrapped(&self) -> Result<Vec<KeyRow>, StoreError> {
        const TENANT: &str =
            "SELECT tenant_id, purpose, version, wrapped FROM tenant_keys ORDER BY tenant_id, purpose, version";
        const BACKUP: &str = "SELECT version, wrapped FROM backup_keys ORDER BY version";
        let (tenant, backup): (Vec<TenantKeyRow>, Vec<BackupKeyRow>) = match self {
            Self::Sqlite(p) => (sqlx::query_as(TENANT).fetch_all(p).await?, sqlx::query_as(BACKUP).fetch_all(p).await?),
            Self::Postgres(p) => {
                (sqlx::query_as(TENANT).fetch_all(p).await?, sqlx::query_as(BACKUP).fetch_all(p).await?)
            }
        };
        let mut rows: Vec<KeyRow> = tenant.into_iter().map(|(t, p, v, w)| (Some(t), p, v, w)).collect();
        rows.extend(backup.into_iter().map(|(v, w)| (None, "backup".to_owned(), v, w)));
        Ok(rows)
    }

    /// Replaces one wrapped key if it is still `old`; returns whether it did.
    async fn replace_wrapped(&self, row: &KeyRow, new: &WrappedKey) -> Result<bool, StoreError> {
        const TENANT: &str = "UPDATE tenant_keys SET wrapped = $4, master_key_id = $5 \
                              WHERE tenant_id = $1 AND purpose = $2 AND version = $3 AND wrapped = $6";
        const BACKUP: &str =
            "UPDATE backup_keys SET wrapped = $2, master_key_id = $3 WHERE version = $1 AND wrapped = $4";
        let (owner, purpose, version, old) = row;
        let (bytes, id) = (new.to_bytes(), new.master_key_id().as_str());
        let n = match (self, owner) {
            (Self::Sqlite(p), Some(t)) => {
                let q = sqlx::query(TENANT).bind(t).bind(purpose).bind(version).bind(&bytes).bind(id).bind(old);
                q.execute(p).await?.rows_affected()
            }
            (Self::Postgres(p), Some(t)) => {
                let q = sqlx::query(TENANT).bind(t).bind(purpose).bind(version).bind(&bytes).bind(id).bind(old);
                q.execute(p).await?.rows_affected()
            }
            (Self::Sqlite(p), None) => {
                sqlx::query(BACKUP).bind(version).bind(&bytes).bind(id).bind(old).execute(p).await?.rows_affected()
            }
            (Self::Postgres(p), None) => {
                sqlx::query(BACKUP).bind(version).bind(&bytes).bind(id).bind(old).execute(p).await?.rows_affected()
            }
        };
        Ok(n == 1)
    }
}

impl Vault {
    /// Re-wraps every key of the keystore that the current master key did not wrap (it must
    /// unwrap with one of the previous keys this vault was opened with). A key that unwraps
    /// with none is an error naming its owner and master key, never skipped.
    pub async fn rewrap_under_current_master(&self) -> Result<MasterRotation, StoreError> {
        let current = self.provider.master_key_id().clone();
        let mut done = MasterRotation::default();
        for row in self.keystore.all_wrapped().await? {
            let wrapped = WrappedKey::from_bytes(&row.3).map_err(|e| StoreError::Corrupt(format!("keystore: {e}")))?;
            if *wrapped.master_key_id() == current {
                done.already += 1;
                continue;
            }
            let owner: Vec<u8> = match row.0 {
                Some(tenant) => tenant.as_bytes().to_vec(),
                None => BACKUP_KEY_OWNER.to_vec(),
            };
            let new = rewrap(&*self.provider, &*self.provider, &owner, &wrapped).map_err(|e| {
                let whose = row.0.map_or_else(|| "the backup key".to_owned(), |t| format!("a key of tenant {t}"));
                StoreError::Unreadable(format!(
                    "{whose} (version {}, master key {}): {e}",
                    row.2,
                    wrapped.master_key_id()
                ))
            })?;
            // Changed meanwhile (another run re-wrapped it): that run counts it.
            if self.keystore.replace_wrapped(&row, &new).await? {
                match row.0 {
                    Some(_) => done.tenant_keys += 1,
                    None => done.backup_keys += 1,
                }
            }
        }
        tracing::info!(
            master_key_id = %current, tenant_keys = done.tenant_keys, backup_keys = done.backup_keys,
            "keystore re-wrapped under the current master key"
        );
        Ok(done)
    }

    /// How many keys of the keystore another master key than the current one wrapped.
    pub async fn keys_under_other_master(&self) -> Result<u64, StoreError> {
        let current = self.provider.master_key_id().clone();
        let mut n = 0;
        for row in self.keystore.all_wrapped().await? {
            let wrapped = WrappedKey::from_bytes(&row.3).map_err(|e| StoreError::Corrupt(format!("keystore: {e}")))?;
            if *wrapped.master_key_id() != current {
                n += 1;
            }
        }
        Ok(n)
    }
}
