//! API keys for external systems (IAM-12 basics): shown once, stored as digests, scoped to a
//! role, optionally expiring, revocable. A key belongs to the user who created it (a key created
//! with a key belongs to that key's owner): deleting or disabling the user revokes it.

use super::ensure_within;
use crate::auth::{TenantPrincipal, api_key_token};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use jiff::SignedDuration;
use kura_domain::{ApiKeyId, AuditRecord, Key, Operation, Permission};
use kura_store::ApiKey;
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "nightly CRM sync", "role": "viewer", "expires_in_days": 90}))]
pub struct NewApiKey {
    /// What the key is for, e.g. `nightly CRM sync`.
    pub name: String,
    /// The role the key acts with; it cannot exceed your own.
    pub role: String,
    /// Days until the key stops working (1–730); absent means no expiry.
    #[schema(minimum = 1, maximum = 730)]
    pub expires_in_days: Option<u32>,
}

pub async fn list(state: &AppState, p: &TenantPrincipal) -> AppResult<Vec<ApiKey>> {
    let g = p.require(Permission::ApiKeysManage)?;
    Ok(state.store.api_keys(g.tenant_id()).await?)
}

/// Creates a key; returns the token, which is never shown again, and the key.
pub async fn create(state: &AppState, p: &TenantPrincipal, input: NewApiKey) -> AppResult<(String, ApiKey)> {
    let g = p.require(Permission::ApiKeysManage)?;
    let name = input.name.trim();
    if name.is_empty()
        || name.chars().count() > 100
        || name.chars().any(|c| c.is_control() || kura_domain::is_invisible_control(c))
    {
        return Err(AppError::BadRequest("the key name must be 1–100 characters".into()));
    }
    let key = Key::parse(&input.role).map_err(|_| AppError::BadRequest(format!("{:?} is not a role", input.role)))?;
    let role = state
        .store
        .role_by_key(g.tenant_id(), &key)
        .await?
        .ok_or_else(|| AppError::BadRequest(format!("{key} is not a role of this tenant")))?;
    ensure_within(p.role(), &role)?;
    let expires_at = match input.expires_in_days {
        None => None,
        Some(d @ 1..=730) => state.clock.now().checked_add(SignedDuration::from_hours(24 * i64::from(d))).ok(),
        Some(_) => return Err(AppError::BadRequest("expires_in_days must be between 1 and 730".into())),
    };
    let mut w = g.begin(&state.store).await?;
    let (secret, api_key) = w.insert_api_key(g.tenant_id(), name, role.id, expires_at, p.owner()).await?;
    w.commit(
        AuditRecord::success(Operation::ApiKeyCreate, format!("apikey:{}", api_key.id))
            .with_detail(format!("name={name} role={}", role.key)),
    )
    .await?;
    Ok((api_key_token(g.tenant_id().as_uuid(), &secret), api_key))
}

pub async fn revoke(state: &AppState, p: &TenantPrincipal, id: ApiKeyId) -> AppResult<()> {
    let g = p.require(Permission::ApiKeysManage)?;
    let mut w = g.begin(&state.store).await?;
    w.revoke_api_key(g.tenant_id(), id).await?;
    w.commit(AuditRecord::success(Operation::ApiKeyRevoke, format!("apikey:{id}"))).await?;
    Ok(())
}
