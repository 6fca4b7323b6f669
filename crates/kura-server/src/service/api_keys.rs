//! API keys for external systems (IAM-12): shown once, stored as digests, with a prefix
//! (`kura_`) secret scanners recognise, acting with a role narrowed further by optional scopes
//! (a subset of the role's permissions) and address ranges (within the tenant's API list),
//! optionally expiring, revocable. A key belongs to the user who created it (a key created with a
//! key belongs to that key's owner): deleting or disabling the user revokes it.

use super::ensure_within;
use crate::auth::{TenantPrincipal, api_key_token};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use jiff::SignedDuration;
use kura_domain::{ApiKeyId, AuditRecord, FieldError, FieldErrorKind, Key, Operation, Permission};
use kura_store::ApiKey;
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "nightly CRM sync", "role": "viewer", "expires_in_days": 90,
    "scopes": ["records.read"], "allowed_ranges": ["198.51.100.0/24"]}))]
pub struct NewApiKey {
    /// What the key is for, e.g. `nightly CRM sync`.
    pub name: String,
    /// The role the key acts with; it cannot exceed your own.
    pub role: String,
    /// Days until the key stops working (1–730); absent means no expiry.
    #[schema(minimum = 1, maximum = 730)]
    pub expires_in_days: Option<u32>,
    /// The permissions the key may use, each one its role has (e.g. `["records.read"]`);
    /// absent: all of the role's.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// Address ranges (CIDR, or single addresses) the key may be used from; each must lie
    /// within the tenant's API address list when it has one. Absent or empty: wherever the
    /// tenant's API list allows.
    #[serde(default)]
    pub allowed_ranges: Option<Vec<String>>,
}

/// Checks the key's scopes against its role and its ranges against the tenant's API list;
/// every problem at once, by field.
fn limits(
    role: &kura_domain::Role,
    input: &NewApiKey,
    tenant_api: &[ipnet::IpNet],
) -> AppResult<kura_store::ApiKeyLimits> {
    let mut errors = Vec::new();
    let scopes = input.scopes.as_ref().map(|names| {
        let mut set = kura_domain::PermissionSet::empty();
        for (i, name) in names.iter().enumerate() {
            let field = format!("scopes[{i}]");
            match Permission::parse(name) {
                Err(_) => errors.push(FieldError::new(field, FieldErrorKind::NotAChoice)),
                Ok(p) if !role.allows(p) => errors.push(FieldError::new(
                    field,
                    FieldErrorKind::Invalid { reason: "the key's role does not have this permission".into() },
                )),
                Ok(p) => set.insert(p),
            }
        }
        set
    });
    if scopes.is_some_and(|s| s.is_empty()) && errors.is_empty() {
        errors.push(FieldError::new(
            "scopes",
            FieldErrorKind::Invalid { reason: "name at least one permission, or leave scopes out".into() },
        ));
    }
    let mut ranges = Vec::new();
    for (i, text) in input.allowed_ranges.iter().flatten().enumerate() {
        let field = format!("allowed_ranges[{i}]");
        match kura_domain::parse_range(text) {
            None => errors.push(FieldError::new(
                field,
                FieldErrorKind::Invalid { reason: "not an IP address or a CIDR range".into() },
            )),
            Some(net) if !tenant_api.is_empty() && !tenant_api.iter().any(|t| t.contains(&net)) => {
                errors.push(FieldError::new(
                    field,
                    FieldErrorKind::Invalid { reason: "outside the tenant's API address list".into() },
                ));
            }
            Some(net) => ranges.push(net),
        }
    }
    kura_domain::check_ranges(&mut errors, "allowed_ranges", &ranges);
    if errors.is_empty() {
        Ok(kura_store::ApiKeyLimits { scopes, allowed_ranges: ranges })
    } else {
        Err(AppError::Validation(errors))
    }
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
    let tenant_api = super::security::policy_of(state, g.tenant_id()).await?.addresses.api;
    let limits = limits(&role, &input, &tenant_api)?;
    let expires_at = match input.expires_in_days {
        None => None,
        Some(d @ 1..=730) => state.clock.now().checked_add(SignedDuration::from_hours(24 * i64::from(d))).ok(),
        Some(_) => return Err(AppError::BadRequest("expires_in_days must be between 1 and 730".into())),
    };
    let mut w = g.begin(&state.store).await?;
    let mut detail = format!("name={name} role={}", role.key);
    if let Some(scopes) = limits.scopes {
        detail.push_str(&format!(" scopes={}", scopes.to_list()));
    }
    if !limits.allowed_ranges.is_empty() {
        let ranges: Vec<String> = limits.allowed_ranges.iter().map(ToString::to_string).collect();
        detail.push_str(&format!(" ranges={}", ranges.join(",")));
    }
    let (secret, api_key) = w.insert_api_key(g.tenant_id(), name, role.id, expires_at, p.owner(), limits).await?;
    w.commit(AuditRecord::success(Operation::ApiKeyCreate, format!("apikey:{}", api_key.id)).with_detail(detail))
        .await?;
    Ok((api_key_token(g.tenant_id().as_uuid(), &secret), api_key))
}

/// A rotation: how long the current secret stays accepted beside the new one.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"grace_minutes": 1440}))]
pub struct RotateApiKey {
    /// Minutes the current secret keeps working (0–43200, that is up to 30 days; 0: it stops at
    /// once).
    #[schema(minimum = 0, maximum = 43200)]
    pub grace_minutes: u32,
}

/// The longest grace period of a rotation, in minutes (30 days).
pub const MAX_GRACE_MINUTES: u32 = 43_200;

/// Gives a live key a new secret, returned once; the current secret keeps working for the grace
/// period, then is refused. Only someone holding every permission of the key's role may rotate
/// it (they would learn a secret acting with that role).
pub async fn rotate(
    state: &AppState,
    p: &TenantPrincipal,
    id: ApiKeyId,
    change: RotateApiKey,
) -> AppResult<(String, ApiKey)> {
    let g = p.require(Permission::ApiKeysManage)?;
    if change.grace_minutes > MAX_GRACE_MINUTES {
        return Err(AppError::Validation(vec![FieldError::new(
            "grace_minutes",
            FieldErrorKind::AboveMaximum { max: f64::from(MAX_GRACE_MINUTES) },
        )]));
    }
    let key = state
        .store
        .api_keys(g.tenant_id())
        .await?
        .into_iter()
        .find(|k| k.id == id)
        .ok_or(AppError::NotFound("api key"))?;
    if let Some(role) = state.store.role(g.tenant_id(), key.role_id).await? {
        ensure_within(p.role(), &role)?;
    }
    let grace = SignedDuration::from_mins(i64::from(change.grace_minutes));
    let mut w = g.begin(&state.store).await?;
    let (secret, key) = w.rotate_api_key(g.tenant_id(), id, grace).await?;
    let zone = &p.tenant().time_zone;
    let detail = match key.previous_valid_until {
        Some(until) if change.grace_minutes > 0 => {
            format!("new secret; the previous one is accepted until {}", kura_domain::format_in_zone(until, zone))
        }
        _ => "new secret; the previous one was refused at once".to_owned(),
    };
    w.commit(AuditRecord::success(Operation::ApiKeyRotate, format!("apikey:{id}")).with_detail(detail)).await?;
    Ok((api_key_token(g.tenant_id().as_uuid(), &secret), key))
}

pub async fn revoke(state: &AppState, p: &TenantPrincipal, id: ApiKeyId) -> AppResult<()> {
    let g = p.require(Permission::ApiKeysManage)?;
    let mut w = g.begin(&state.store).await?;
    w.revoke_api_key(g.tenant_id(), id).await?;
    w.commit(AuditRecord::success(Operation::ApiKeyRevoke, format!("apikey:{id}"))).await?;
    Ok(())
}
