//! Encryption at rest in the store (DAT-2, TEN-2): the only module of Kura that seals tenant
//! values before they reach SQL and opens them when they are read back.
//!
//! A [`Vault`] holds the master key (behind kura-crypto's `KeyProvider`), the keystore
//! (`keystore.rs`, a database of its own) and the tenants' unwrapped keys once loaded. The
//! write path asks it for a tenant's [`Sealer`] and seals each value once, in the caller's task
//! before the write is queued, so the writer's batches carry ciphertext only; snapshots are
//! filled with opened values, so filtering, sorting and search in the domain stay as they are.
//!
//! A tenant opened before encryption was configured has no keys: its values stay as they were
//! (plain JSON) until they are re-encrypted. A tenant with keys never accepts a plain value back:
//! a row that does not open is an error, never read as something else.

mod backup_keys;
mod keystore;

use crate::error::StoreError;
use keystore::Keystore;
use kura_crypto::vault::{KeyProvider, MasterKeyId, SealContext, TenantKeys, sealed_version};
use kura_domain::{CollectionId, RecordData, RecordId, TenantId};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

/// The table and field names bound into a record's seal. A record's field values are sealed
/// together, as the one stored value of its `data` column: one seal per record write and one
/// open per record loaded.
const RECORDS: &str = "records";
const RECORD_DATA: &str = "data";

/// The first byte of a sealed value (kura-crypto's format 1); plain JSON starts with `{`.
const SEALED_FORMAT: u8 = 1;

/// The master key, the keystore and the tenant keys loaded so far.
pub struct Vault {
    provider: Arc<dyn KeyProvider>,
    keystore: Keystore,
    /// Per tenant, its keys, or `None` for a tenant that has none (opened before encryption).
    tenants: RwLock<HashMap<TenantId, Option<Arc<TenantKeys>>>>,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault").field("master_key_id", self.provider.master_key_id()).finish_non_exhaustive()
    }
}

/// What opening a tenant created in the keystore, for its audit entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedKeys {
    pub master_key_id: MasterKeyId,
    pub data_version: u32,
    pub blind_version: u32,
}

impl fmt::Display for CreatedKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "data key v{} and blind-index key v{} created under master key {}",
            self.data_version, self.blind_version, self.master_key_id
        )
    }
}

impl Vault {
    /// Opens the keystore at `url` (`sqlite://PATH`, created if missing, or `postgres://…`, an
    /// existing database unless `create_database`) with the master key `provider`.
    pub async fn open(url: &str, provider: Arc<dyn KeyProvider>, create_database: bool) -> Result<Self, StoreError> {
        let keystore = Keystore::open(url, create_database).await?;
        Ok(Self { provider, keystore, tenants: RwLock::default() })
    }

    pub fn master_key_id(&self) -> &MasterKeyId {
        self.provider.master_key_id()
    }

    /// New keys for `tenant`, wrapped and stored durably in the keystore. Called before the
    /// tenant's row is written: a key without a tenant (the opening then failed) is harmless,
    /// a tenant without a key is not possible.
    pub async fn create_tenant_keys(&self, tenant: TenantId, now_micros: i64) -> Result<CreatedKeys, StoreError> {
        let keys = TenantKeys::generate();
        let wrapped = keys.wrap(&*self.provider, tenant.as_uuid().as_bytes()).map_err(key_error(tenant))?;
        self.keystore.insert(tenant, &wrapped, now_micros).await?;
        let created = CreatedKeys {
            master_key_id: self.provider.master_key_id().clone(),
            data_version: keys.data().current().version().get(),
            blind_version: keys.blind().version().get(),
        };
        self.cache(tenant, Some(Arc::new(keys)));
        tracing::info!(%tenant, master_key_id = %created.master_key_id, "tenant keys created");
        Ok(created)
    }

    /// Destroys `tenant`'s keys in the keystore (and forgets them here): every copy of its
    /// sealed values becomes unreadable. Returns how many keys were destroyed.
    pub async fn destroy_tenant_keys(&self, tenant: TenantId) -> Result<u64, StoreError> {
        let n = self.keystore.destroy(tenant).await?;
        self.tenants.write().unwrap_or_else(PoisonError::into_inner).remove(&tenant);
        Ok(n)
    }

    /// The tenant's sealer: its keys from memory, or from the keystore the first time.
    pub(crate) async fn sealer(&self, tenant: TenantId) -> Result<Sealer, StoreError> {
        let known = self.tenants.read().unwrap_or_else(PoisonError::into_inner).get(&tenant).cloned();
        let keys = match known {
            Some(keys) => keys,
            None => {
                let wrapped = self.keystore.tenant_keys(tenant).await?;
                let keys = if wrapped.is_empty() {
                    None
                } else {
                    let keys = TenantKeys::unwrap(&*self.provider, tenant.as_uuid().as_bytes(), &wrapped)
                        .map_err(key_error(tenant))?;
                    Some(Arc::new(keys))
                };
                self.cache(tenant, keys.clone());
                keys
            }
        };
        Ok(Sealer::new(tenant, keys))
    }

    fn cache(&self, tenant: TenantId, keys: Option<Arc<TenantKeys>>) {
        self.tenants.write().unwrap_or_else(PoisonError::into_inner).insert(tenant, keys);
    }

    pub(crate) async fn close(&self) {
        self.keystore.close().await;
    }
}

fn key_error(tenant: TenantId) -> impl FnOnce(kura_crypto::vault::KeyError) -> StoreError {
    move |e| {
        tracing::error!(%tenant, error = %e, "a tenant's keys could not be used");
        StoreError::Unreadable(format!("the keys of tenant {tenant}: {e}"))
    }
}

/// One tenant's way of sealing and opening its values: with its keys, or plain for a tenant
/// that has none (no vault, or a tenant opened before encryption was configured).
#[derive(Clone, Debug)]
pub(crate) struct Sealer {
    tenant: TenantId,
    /// The tenant id's bytes, bound into every seal.
    tenant_bytes: [u8; 16],
    keys: Option<Arc<TenantKeys>>,
}

impl Sealer {
    /// Plain storage, for a store without a vault.
    pub(crate) fn plain(tenant: TenantId) -> Self {
        Self::new(tenant, None)
    }

    fn new(tenant: TenantId, keys: Option<Arc<TenantKeys>>) -> Self {
        Self { tenant, tenant_bytes: *tenant.as_uuid().as_bytes(), keys }
    }

    /// The stored form of a record's data: sealed for its tenant, collection and id under the
    /// tenant's newest data key, or JSON for a tenant without keys.
    pub(crate) fn seal_record(
        &self,
        collection: CollectionId,
        id: RecordId,
        data: &RecordData,
    ) -> Result<Vec<u8>, StoreError> {
        let json = serde_json::to_vec(data).map_err(|e| StoreError::Corrupt(format!("record data: {e}")))?;
        let Some(keys) = &self.keys else { return Ok(json) };
        let row = record_row(collection, id);
        let sealed = keys.seal(&self.context(&row), &json);
        // The JSON held the values in the clear: do not leave it in freed memory.
        zeroize_vec(json);
        Ok(sealed)
    }

    /// A record's data from its stored form. For a tenant with keys the value must open for
    /// exactly this tenant, collection and id; anything else (another tenant's or row's
    /// ciphertext, an altered one, a plain value) is [`StoreError::Unreadable`], logged with
    /// where it was found.
    pub(crate) fn open_record(
        &self,
        collection: CollectionId,
        id: RecordId,
        stored: &[u8],
    ) -> Result<RecordData, StoreError> {
        let refused = |why: &str| {
            tracing::error!(tenant = %self.tenant, %collection, record = %id, why, "a stored record was refused");
            StoreError::Unreadable(format!("record {id} of tenant {}: {why}", self.tenant))
        };
        let json = match &self.keys {
            Some(keys) => {
                if stored.first() != Some(&SEALED_FORMAT) {
                    return Err(refused("the tenant's values are encrypted, and this one is not"));
                }
                let row = record_row(collection, id);
                keys.open(&self.context(&row), stored).map_err(|e| refused(&e.to_string()))?
            }
            None if stored.first() == Some(&SEALED_FORMAT) && sealed_version(stored).is_ok() => {
                return Err(refused("the value is encrypted and the tenant has no keys (destroyed or never loaded)"));
            }
            None => {
                return serde_json::from_slice(stored).map_err(|e| StoreError::Corrupt(format!("record data: {e}")));
            }
        };
        let data = serde_json::from_slice(&json).map_err(|e| StoreError::Corrupt(format!("record data: {e}")));
        zeroize_vec(json);
        data
    }

    fn context<'a>(&'a self, row: &'a [u8; 32]) -> SealContext<'a> {
        SealContext { tenant: &self.tenant_bytes, table: RECORDS, row, field: RECORD_DATA }
    }
}

/// A record's row in the seal: its collection and its id, so that a ciphertext moved to
/// another record, or to a record of the same id in another collection, does not open.
fn record_row(collection: CollectionId, id: RecordId) -> [u8; 32] {
    let mut row = [0u8; 32];
    row[..16].copy_from_slice(collection.as_uuid().as_bytes());
    row[16..].copy_from_slice(id.as_uuid().as_bytes());
    row
}

fn zeroize_vec(mut v: Vec<u8>) {
    use zeroize::Zeroize as _;
    v.zeroize();
}
