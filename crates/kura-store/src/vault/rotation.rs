//! Data-key rotation (DAT-2) in the vault: a new version of a tenant's data key, which seals
//! every new write at once while the older versions still open; the tenant's first keys for a
//! tenant opened before encryption at rest (its plain values still read until they are sealed);
//! retiring the older versions once a job has re-sealed every value; and re-sealing one value.
//!
//! A retired version is marked, not deleted: the audit entries sealed under it are committed to
//! by the hash chain and the Merkle tree, so they are never re-sealed and need it to open until
//! the tenant's keys are destroyed.

use super::keystore::Keystore;
use super::{Loaded, SEALED_FORMAT, SEALED_TEXT, Sealer, Vault, key_error};
use crate::error::StoreError;
use kura_crypto::vault::sealed_version;
use kura_domain::{CollectionId, RecordId, TenantId};
use std::sync::Arc;

/// A data-key version of a tenant as the keystore lists it (no key material).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataKeyInfo {
    pub version: u32,
    pub master_key_id: String,
    /// Microseconds since the epoch.
    pub created_at: i64,
    /// When a finished rotation retired it (microseconds); `None` while it is in use.
    pub retired_at: Option<i64>,
}

/// What starting a rotation did in the keystore.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rotated {
    /// The version that sealed new writes before, or `None` for a tenant that had no keys.
    pub from: Option<u32>,
    /// The version that seals them now.
    pub to: u32,
}

impl Keystore {
    /// Whether `tenant` still has plain values being sealed (`tenant_plain_values`).
    pub(crate) async fn has_plain_values(&self, tenant: TenantId) -> Result<bool, StoreError> {
        const SQL: &str = "SELECT 1 FROM tenant_plain_values WHERE tenant_id = $1";
        let row: Option<i32> = match self {
            Self::Sqlite(p) => sqlx::query_scalar(SQL).bind(tenant.as_uuid()).fetch_optional(p).await?,
            Self::Postgres(p) => sqlx::query_scalar(SQL).bind(tenant.as_uuid()).fetch_optional(p).await?,
        };
        Ok(row.is_some())
    }

    async fn set_plain_values(&self, tenant: TenantId, on: bool, now: i64) -> Result<(), StoreError> {
        const ADD: &str = "INSERT INTO tenant_plain_values (tenant_id, since) VALUES ($1, $2) ON CONFLICT DO NOTHING";
        const REMOVE: &str = "DELETE FROM tenant_plain_values WHERE tenant_id = $1";
        let t = tenant.as_uuid();
        match (self, on) {
            (Self::Sqlite(p), true) => sqlx::query(ADD).bind(t).bind(now).execute(p).await.map(drop)?,
            (Self::Postgres(p), true) => sqlx::query(ADD).bind(t).bind(now).execute(p).await.map(drop)?,
            (Self::Sqlite(p), false) => sqlx::query(REMOVE).bind(t).execute(p).await.map(drop)?,
            (Self::Postgres(p), false) => sqlx::query(REMOVE).bind(t).execute(p).await.map(drop)?,
        }
        Ok(())
    }

    async fn data_keys_info(&self, tenant: TenantId) -> Result<Vec<DataKeyInfo>, StoreError> {
        const SQL: &str = "SELECT version, master_key_id, created_at, retired_at FROM tenant_keys \
                           WHERE tenant_id = $1 AND purpose = 'data' ORDER BY version";
        let rows: Vec<(i64, String, i64, Option<i64>)> = match self {
            Self::Sqlite(p) => sqlx::query_as(SQL).bind(tenant.as_uuid()).fetch_all(p).await?,
            Self::Postgres(p) => sqlx::query_as(SQL).bind(tenant.as_uuid()).fetch_all(p).await?,
        };
        Ok(rows
            .into_iter()
            .filter_map(|(v, master_key_id, created_at, retired_at)| {
                Some(DataKeyInfo { version: u32::try_from(v).ok()?, master_key_id, created_at, retired_at })
            })
            .collect())
    }

    async fn retire_data_keys_before(&self, tenant: TenantId, version: i64, now: i64) -> Result<u64, StoreError> {
        const SQL: &str = "UPDATE tenant_keys SET retired_at = $3 WHERE tenant_id = $1 AND purpose = 'data' \
                           AND version < $2 AND retired_at IS NULL";
        let t = tenant.as_uuid();
        Ok(match self {
            Self::Sqlite(p) => sqlx::query(SQL).bind(t).bind(version).bind(now).execute(p).await?.rows_affected(),
            Self::Postgres(p) => sqlx::query(SQL).bind(t).bind(version).bind(now).execute(p).await?.rows_affected(),
        })
    }
}

impl Vault {
    /// Starts sealing `tenant`'s values under a new data-key version: the next version (read
    /// from the keystore, not from memory, so a stale node cannot reuse a number), stored
    /// durably before it seals anything; or, for a tenant without keys, its first keys, with
    /// its plain values still read until the job has sealed them ([`Vault::finish_sealing`]).
    /// Two rotations at once are a [`StoreError::Conflict`] for the second.
    pub async fn rotate_data_key(&self, tenant: TenantId, now_micros: i64) -> Result<Rotated, StoreError> {
        let loaded = self.reload(tenant).await?;
        let Some(keys) = loaded.keys else {
            // Marked first: a tenant with keys and without the mark refuses its plain values.
            self.keystore.set_plain_values(tenant, true, now_micros).await?;
            let created = self.create_tenant_keys(tenant, now_micros).await.map_err(|e| match e {
                StoreError::Conflict(_) => StoreError::Conflict("this tenant got its keys at the same moment".into()),
                other => other,
            })?;
            let keys = self.tenants.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(&tenant).cloned();
            self.cache(tenant, Loaded { keys: keys.and_then(|l| l.keys), accept_plain: true });
            return Ok(Rotated { from: None, to: created.data_version });
        };
        let from = keys.data().current().version();
        let mut next = (*keys).clone();
        let to = next
            .data_mut()
            .rotate()
            .ok_or_else(|| StoreError::Conflict("this tenant's data key has no version left".into()))?;
        let wrapped = self
            .provider
            .wrap(tenant.as_uuid().as_bytes(), next.data().current().as_tenant_key())
            .map_err(key_error(tenant))?;
        self.keystore.insert(tenant, &[wrapped], now_micros).await.map_err(|e| match e {
            StoreError::Conflict(_) => {
                StoreError::Conflict("another rotation of this tenant's key started first".into())
            }
            other => other,
        })?;
        self.cache(tenant, Loaded { keys: Some(Arc::new(next)), accept_plain: loaded.accept_plain });
        tracing::info!(%tenant, from = from.get(), to = to.get(), "tenant data key rotated");
        Ok(Rotated { from: Some(from.get()), to: to.get() })
    }

    /// Retires every data-key version of `tenant` older than `version` at `now_micros` (kept
    /// for the audit entries sealed under them), and stops reading its plain values. Called
    /// once a job has re-sealed every other value. Returns how many versions it retired.
    pub(crate) async fn finish_rotation(
        &self,
        tenant: TenantId,
        version: u32,
        now_micros: i64,
    ) -> Result<u64, StoreError> {
        let retired = self.keystore.retire_data_keys_before(tenant, i64::from(version), now_micros).await?;
        self.keystore.set_plain_values(tenant, false, now_micros).await?;
        self.reload(tenant).await?;
        Ok(retired)
    }

    /// `tenant`'s data-key versions, oldest first, without key material.
    pub async fn data_keys(&self, tenant: TenantId) -> Result<Vec<DataKeyInfo>, StoreError> {
        self.keystore.data_keys_info(tenant).await
    }
}

impl Sealer {
    /// The data-key version that seals now, or `None` for a tenant without keys.
    pub(crate) fn current_version(&self) -> Option<u32> {
        self.keys.as_ref().map(|k| k.data().current().version().get())
    }

    /// Whether a stored text value is not under the current version: plain, or sealed under an
    /// older one. Always `false` for a tenant without keys.
    pub(crate) fn text_is_stale(&self, stored: &str) -> bool {
        use base64::Engine as _;
        let Some(current) = self.current_version() else { return false };
        let Some(encoded) = stored.strip_prefix(SEALED_TEXT) else { return true };
        match base64::engine::general_purpose::STANDARD_NO_PAD.decode(encoded) {
            Ok(sealed) if sealed.first() == Some(&SEALED_FORMAT) => {
                sealed_version(&sealed).is_ok_and(|v| v.get() < current)
            }
            // A plain value that starts with the marker (a memo).
            _ => true,
        }
    }

    /// Whether a record's stored data is not under the current version.
    pub(crate) fn record_is_stale(&self, stored: &[u8]) -> bool {
        let Some(current) = self.current_version() else { return false };
        if stored.first() != Some(&SEALED_FORMAT) {
            return true;
        }
        sealed_version(stored).is_ok_and(|v| v.get() < current)
    }

    /// A text value sealed again under the current version (a plain one sealed for the first
    /// time); a value that does not open is refused, never re-sealed as something else.
    pub(crate) fn reseal_text(
        &self,
        table: &str,
        row: &[u8],
        field: &str,
        stored: String,
    ) -> Result<String, StoreError> {
        let plain = zeroize::Zeroizing::new(self.open_text_or_plain(table, row, field, stored)?);
        Ok(self.seal_text(table, row, field, &plain))
    }

    /// A record's data sealed again under the current version (plain JSON sealed for the first
    /// time).
    pub(crate) fn reseal_record(
        &self,
        collection: CollectionId,
        id: RecordId,
        stored: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        let data = if stored.first() == Some(&SEALED_FORMAT) {
            self.open_record(collection, id, stored)?
        } else {
            serde_json::from_slice(stored).map_err(|e| StoreError::Corrupt(format!("record data: {e}")))?
        };
        self.seal_record(collection, id, &data)
    }
}
