//! The tenant's security policy (IAM-4, IAM-5, IAM-9): read and changed as a whole by holders of
//! `settings.manage`, checked before anything is stored, audited with what changed, and read
//! from the database by every node (never a copy kept in one process).

use crate::auth::TenantPrincipal;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use kura_domain::{
    AuditRecord, LockoutPolicy, Operation, PasswordPolicy, Permission, SecurityPolicy, SessionPolicy, TenantId,
};
use serde::{Deserialize, Serialize};

/// The tenant's security settings as the API shows them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "revision": 2,
    "password": {"min_length": 8, "max_length": 128, "require_lowercase": false, "require_uppercase": false,
        "require_digit": false, "require_symbol": false, "expiry_days": null, "history": 0, "blocklist": true,
        "change_after_admin_set": true},
    "lockout": {"enabled": true, "threshold": 5, "lock_minutes": 30, "throttle_failures": 30,
        "throttle_window_minutes": 15},
    "sessions": {"absolute_minutes": 180, "idle_minutes": 60, "concurrent": "refuse"},
    "against_nist": []
}))]
pub struct SecuritySettings {
    /// How many times the settings were saved (0: the defaults). Send it back with a change.
    pub revision: i64,
    pub password: PasswordPolicy,
    pub lockout: LockoutPolicy,
    pub sessions: SessionPolicy,
    /// The knobs set against the advice of NIST SP 800-63B (`password.composition`,
    /// `password.expiry_days`, `password.max_length`, `password.blocklist`, `lockout.enabled`).
    pub against_nist: Vec<String>,
}

/// New security settings, replacing the old as a whole.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "revision": 2,
    "password": {"min_length": 10, "max_length": 128, "require_lowercase": false, "require_uppercase": false,
        "require_digit": false, "require_symbol": false, "expiry_days": null, "history": 5, "blocklist": true,
        "change_after_admin_set": true},
    "lockout": {"enabled": true, "threshold": 5, "lock_minutes": null, "throttle_failures": 30,
        "throttle_window_minutes": 15},
    "sessions": {"absolute_minutes": 180, "idle_minutes": 30, "concurrent": "refuse"}
}))]
pub struct SecuritySettingsChange {
    /// The revision the change was made from; a save by someone else since is a 409.
    pub revision: i64,
    pub password: PasswordPolicy,
    pub lockout: LockoutPolicy,
    pub sessions: SessionPolicy,
}

/// The policy in force: the stored one, or the defaults (the session timeouts of the process
/// settings).
pub fn effective(state: &AppState, stored: Option<SecurityPolicy>) -> SecurityPolicy {
    stored.unwrap_or_else(|| {
        SecurityPolicy::defaults(state.settings.session.absolute_minutes, state.settings.session.idle_minutes)
    })
}

/// The policy in force in a tenant, read from the database.
pub async fn policy_of(state: &AppState, tenant: TenantId) -> AppResult<SecurityPolicy> {
    Ok(effective(state, state.store.security_policy(tenant).await?.map(|(_, p)| p)))
}

fn view(revision: i64, policy: SecurityPolicy) -> SecuritySettings {
    let against_nist = policy.against_nist().into_iter().map(str::to_owned).collect();
    let SecurityPolicy { password, lockout, sessions } = policy;
    SecuritySettings { revision, password, lockout, sessions, against_nist }
}

pub async fn get(state: &AppState, p: &TenantPrincipal) -> AppResult<SecuritySettings> {
    let g = p.require(Permission::SettingsManage)?;
    let stored = state.store.security_policy(g.tenant_id()).await?;
    let revision = stored.as_ref().map_or(0, |(r, _)| *r);
    Ok(view(revision, effective(state, stored.map(|(_, p)| p))))
}

/// Replaces the policy as a whole. Nothing is stored unless every knob is within its bounds.
pub async fn put(state: &AppState, p: &TenantPrincipal, change: SecuritySettingsChange) -> AppResult<SecuritySettings> {
    let g = p.require(Permission::SettingsManage)?;
    let SecuritySettingsChange { revision, password, lockout, sessions } = change;
    let policy = SecurityPolicy { password, lockout, sessions };
    policy.check()?;
    if revision < 0 {
        return Err(AppError::BadRequest("revision must be 0 or more".into()));
    }
    let mut w = g.begin(&state.store).await?;
    let (new_revision, old) = w.put_security_policy(g.tenant_id(), revision, &policy).await?;
    let old = effective(state, old);
    let changes = policy.changes_from(&old);
    let detail = if changes.is_empty() { "no change".to_owned() } else { changes.join("; ") };
    w.commit(
        AuditRecord::success(Operation::SecurityPolicyUpdate, "settings:security")
            .with_detail(format!("revision {new_revision}: {detail}")),
    )
    .await?;
    Ok(view(new_revision, policy))
}
