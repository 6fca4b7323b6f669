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

mod audit;
mod backup_keys;
pub use backup_keys::BackupKeyInfo;
mod keystore;
mod mail;
mod master;
mod rotation;
pub use master::MasterRotation;
pub use rotation::{DataKeyInfo, Rotated};

pub(crate) use mail::{BODY as MAIL_BODY, ERROR as MAIL_ERROR, RECIPIENT as MAIL_RECIPIENT, SUBJECT as MAIL_SUBJECT};

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
pub(crate) const SEALED_FORMAT: u8 = 1;

/// The first character of a sealed text value (a user's email or name, a label) in its `TEXT`
/// column, before the sealed bytes in base64. Names, emails, labels and key names refuse
/// control characters, so none starts with it; a memo might, so a tenant without keys takes a
/// value for sealed only if the rest is the base64 of a sealed value.
pub(crate) const SEALED_TEXT: char = '\u{1}';

/// A SQL `LIKE` pattern matching sealed text values, to find those written before their column
/// was sealed.
pub(crate) const SEALED_TEXT_PATTERN: &str = "\u{1}%";

/// A user's email, as the blind index names it.
pub(crate) const USER_EMAIL_INDEX: &str = "users.email";

/// The master key, the keystore and the tenant keys loaded so far.
pub struct Vault {
    provider: Arc<dyn KeyProvider>,
    keystore: Keystore,
    /// Per tenant, its keys (or none, for a tenant opened before encryption) as loaded.
    tenants: RwLock<HashMap<TenantId, Loaded>>,
    /// Each tenant slug a sign-in named, with its tenant: the key of a sign-in's blind index is
    /// the tenant's, so its id is needed before the one statement that finds the account.
    slugs: RwLock<HashMap<String, TenantId>>,
}

/// A tenant's keys as the vault holds them.
#[derive(Clone, Debug, Default)]
struct Loaded {
    /// `None` for a tenant that has no keys (opened before encryption).
    keys: Option<Arc<TenantKeys>>,
    /// The tenant got its keys after it had stored plain values, and the job sealing them has
    /// not finished: a plain value is still read (`tenant_plain_values` in the keystore).
    accept_plain: bool,
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
        Ok(Self { provider, keystore, tenants: RwLock::default(), slugs: RwLock::default() })
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
        self.cache(tenant, Loaded { keys: Some(Arc::new(keys)), accept_plain: false });
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
        let loaded = match known {
            Some(loaded) => loaded,
            None => self.reload(tenant).await?,
        };
        Ok(Sealer::new(tenant, loaded.keys, loaded.accept_plain))
    }

    /// Reads `tenant`'s keys from the keystore again (and whether its plain values are still
    /// read), and keeps them.
    async fn reload(&self, tenant: TenantId) -> Result<Loaded, StoreError> {
        let wrapped = self.keystore.tenant_keys(tenant).await?;
        let loaded = if wrapped.is_empty() {
            Loaded::default()
        } else {
            let keys = TenantKeys::unwrap(&*self.provider, tenant.as_uuid().as_bytes(), &wrapped)
                .map_err(key_error(tenant))?;
            Loaded { keys: Some(Arc::new(keys)), accept_plain: self.keystore.has_plain_values(tenant).await? }
        };
        self.cache(tenant, loaded.clone());
        Ok(loaded)
    }

    /// The tenant a sign-in to `slug` found last, if any (checked against the row it reads).
    pub(crate) fn tenant_of_slug(&self, slug: &kura_domain::Slug) -> Option<TenantId> {
        self.slugs.read().unwrap_or_else(PoisonError::into_inner).get(slug.as_str()).copied()
    }

    pub(crate) fn remember_slug(&self, slug: &kura_domain::Slug, tenant: TenantId) {
        self.slugs.write().unwrap_or_else(PoisonError::into_inner).insert(slug.as_str().to_owned(), tenant);
    }

    pub(crate) fn forget_slug(&self, slug: &kura_domain::Slug) {
        self.slugs.write().unwrap_or_else(PoisonError::into_inner).remove(slug.as_str());
    }

    fn cache(&self, tenant: TenantId, loaded: Loaded) {
        self.tenants.write().unwrap_or_else(PoisonError::into_inner).insert(tenant, loaded);
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
    /// A plain value is read although the tenant has keys: its values stored before it had
    /// keys are being sealed (see [`Loaded::accept_plain`]).
    accept_plain: bool,
}

impl Sealer {
    /// Plain storage, for a store without a vault.
    pub(crate) fn plain(tenant: TenantId) -> Self {
        Self::new(tenant, None, false)
    }

    fn new(tenant: TenantId, keys: Option<Arc<TenantKeys>>, accept_plain: bool) -> Self {
        Self { tenant, tenant_bytes: *tenant.as_uuid().as_bytes(), keys, accept_plain }
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
            Some(_) if self.accept_plain && stored.first() != Some(&SEALED_FORMAT) => {
                return serde_json::from_slice(stored).map_err(|e| StoreError::Corrupt(format!("record data: {e}")));
            }
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

    pub(crate) fn tenant(&self) -> TenantId {
        self.tenant
    }

    /// Whether the tenant's values are sealed (it has keys).
    pub(crate) fn has_keys(&self) -> bool {
        self.keys.is_some()
    }

    /// The stored form of a text value (`table`, `row`, `field` name where it is stored):
    /// sealed under the tenant's newest data key and written as [`SEALED_TEXT`] and base64, or
    /// the value itself for a tenant without keys.
    pub(crate) fn seal_text(&self, table: &str, row: &[u8], field: &str, value: &str) -> String {
        use base64::Engine as _;
        let Some(keys) = &self.keys else { return value.to_owned() };
        let ctx = SealContext { tenant: &self.tenant_bytes, table, row, field };
        let sealed = keys.seal(&ctx, value.as_bytes());
        let mut out = String::with_capacity(1 + sealed.len().div_ceil(3) * 4);
        out.push(SEALED_TEXT);
        base64::engine::general_purpose::STANDARD_NO_PAD.encode_string(&sealed, &mut out);
        out
    }

    /// A text value from its stored form. For a tenant with keys it must open for exactly this
    /// tenant, table, row and field; a plain value there, or a sealed one in a tenant without
    /// keys, is [`StoreError::Unreadable`], logged with where it was found (never the value).
    pub(crate) fn open_text(&self, table: &str, row: &[u8], field: &str, stored: String) -> Result<String, StoreError> {
        match self.open_text_inner(table, row, field, &stored) {
            Ok(Some(plain)) => Ok(plain),
            Ok(None) if self.keys.is_none() || self.accept_plain => Ok(stored),
            Ok(None) => {
                Err(self.refused_text(table, row, field, "the tenant's values are encrypted, and this one is not"))
            }
            Err(why) => Err(self.refused_text(table, row, field, &why)),
        }
    }

    /// Like [`Sealer::open_text`], but a plain value is taken as it is: only for sealing the
    /// rows written before their column was sealed (`Store::seal_unsealed`).
    pub(crate) fn open_text_or_plain(
        &self,
        table: &str,
        row: &[u8],
        field: &str,
        stored: String,
    ) -> Result<String, StoreError> {
        match self.open_text_inner(table, row, field, &stored) {
            Ok(Some(plain)) => Ok(plain),
            Ok(None) => Ok(stored),
            Err(why) => Err(self.refused_text(table, row, field, &why)),
        }
    }

    /// `Some` with the opened value when `stored` is sealed, `None` when it is plain.
    fn open_text_inner(&self, table: &str, row: &[u8], field: &str, stored: &str) -> Result<Option<String>, String> {
        use base64::Engine as _;
        let Some(encoded) = stored.strip_prefix(SEALED_TEXT) else { return Ok(None) };
        let decoded = base64::engine::general_purpose::STANDARD_NO_PAD.decode(encoded);
        let Some(keys) = &self.keys else {
            return match decoded {
                Ok(sealed) if sealed.first() == Some(&SEALED_FORMAT) && sealed_version(&sealed).is_ok() => {
                    Err("the value is encrypted and the tenant has no keys (destroyed or never loaded)".into())
                }
                // A plain value that happens to start with the marker (a memo).
                _ => Ok(None),
            };
        };
        let sealed = decoded.map_err(|_| "the sealed value is not base64".to_owned())?;
        let ctx = SealContext { tenant: &self.tenant_bytes, table, row, field };
        let plain = keys.open(&ctx, &sealed).map_err(|e| e.to_string())?;
        String::from_utf8(plain).map(Some).map_err(|_| "the opened value is not UTF-8".to_owned())
    }

    /// The refusal of the value of `table`.`field` in `row`, naming the row (its id when the
    /// row is one, else its key in hex) so that an administrator can find it, and so that two
    /// values refused in the same column are told apart (`refused_opens` in kura-server).
    fn refused_text(&self, table: &str, row: &[u8], field: &str, why: &str) -> StoreError {
        let row = uuid::Uuid::from_slice(row).map_or_else(|_| kura_crypto::hex(row), |id| id.to_string());
        tracing::error!(tenant = %self.tenant, table, field, row, why, "a stored value was refused");
        StoreError::Unreadable(format!("a value of {table}.{field} of row {row} of tenant {}: {why}", self.tenant))
    }

    /// The index by which `field` (such as [`USER_EMAIL_INDEX`]) is looked up and kept unique:
    /// the blind index under the tenant's key, or for a tenant without keys the keyless hash of
    /// the same normalised form (its values are stored plain beside it anyway).
    pub(crate) fn index(&self, field: &str, value: &str) -> Vec<u8> {
        match &self.keys {
            Some(keys) => keys.blind_index(field, value).0.to_vec(),
            None => kura_crypto::vault::plain_index(field, value).0.to_vec(),
        }
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
