//! The tenant's security policy (IAM-4, IAM-5, IAM-9, IAM-10): read and changed as a whole by holders of
//! `settings.manage`, checked before anything is stored, audited with what changed, and read
//! from the database by every node (never a copy kept in one process).

use crate::auth::TenantPrincipal;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use kura_domain::{
    AccessLogPolicy, AddressPolicy, AuditRecord, CertificateRequirement, LockoutPolicy, Operation, PasswordPolicy,
    Permission, SecondFactorRule, SecurityPolicy, SessionPolicy, Surface, TenantId,
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
    "addresses": {"console": ["203.0.113.0/24"], "api": []},
    "client_certificates": {"console": false, "api": false},
    "second_factor": "administrators",
    "break_glass_approval": true,
    "access_log": {"retention_days": null},
    "against_nist": []
}))]
pub struct SecuritySettings {
    /// How many times the settings were saved (0: the defaults). Send it back with a change.
    pub revision: i64,
    pub password: PasswordPolicy,
    pub lockout: LockoutPolicy,
    pub sessions: SessionPolicy,
    pub addresses: AddressPolicy,
    /// Whether the console and the API require a client certificate of the tenant (IAM-11).
    pub client_certificates: CertificateRequirement,
    /// Who must sign in with a second factor (IAM-6): `optional`, `administrators` (roles that
    /// may manage users, roles, security settings or API keys) or `everyone`.
    pub second_factor: SecondFactorRule,
    /// Whether an operator's break-glass access waits for an administrator's approval (IAM-13).
    pub break_glass_approval: bool,
    /// How long the tenant's access log is kept (LOG-2); `GET /api/v1/access-log` gives the
    /// period in force.
    pub access_log: AccessLogPolicy,
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
    "sessions": {"absolute_minutes": 180, "idle_minutes": 30, "concurrent": "refuse"},
    "addresses": {"console": ["203.0.113.0/24", "2001:db8::/32"], "api": ["198.51.100.0/24"]},
    "second_factor": "everyone",
    "access_log": {"retention_days": 365},
    "confirm_lockout": false
}))]
pub struct SecuritySettingsChange {
    /// The revision the change was made from; a save by someone else since is a 409.
    pub revision: i64,
    pub password: PasswordPolicy,
    pub lockout: LockoutPolicy,
    pub sessions: SessionPolicy,
    /// The console's and the API's address lists (IAM-10), replaced as a whole like the rest.
    pub addresses: AddressPolicy,
    /// Whether the console and the API require a client certificate of the tenant (IAM-11);
    /// absent: unchanged.
    #[serde(default)]
    pub client_certificates: Option<CertificateRequirement>,
    /// Who must sign in with a second factor (IAM-6); absent: unchanged.
    #[serde(default)]
    pub second_factor: Option<SecondFactorRule>,
    /// Whether an operator's break-glass access waits for an administrator's approval (IAM-13);
    /// absent: unchanged.
    #[serde(default)]
    pub break_glass_approval: Option<bool>,
    /// How long the access log is kept (LOG-2); absent: unchanged.
    #[serde(default)]
    pub access_log: Option<AccessLogPolicy>,
    /// Save even though a list leaves out the address this request comes from (the author would
    /// lose access to that door). Without it, such a change is refused with 409
    /// `lockout_unconfirmed` and nothing is stored.
    #[serde(default)]
    pub confirm_lockout: bool,
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

/// The access log's retention in force for `policy`: the tenant's own, else the operator's.
pub fn access_log_days(state: &AppState, policy: &SecurityPolicy) -> u32 {
    policy.access_log.retention_days.unwrap_or(state.settings.access_log.retention_days)
}

fn view(revision: i64, policy: SecurityPolicy) -> SecuritySettings {
    let against_nist = policy.against_nist().into_iter().map(str::to_owned).collect();
    let SecurityPolicy {
        password,
        lockout,
        sessions,
        addresses,
        client_certificates,
        second_factor,
        break_glass_approval,
        access_log,
    } = policy;
    SecuritySettings {
        revision,
        password,
        lockout,
        sessions,
        addresses,
        client_certificates,
        second_factor,
        break_glass_approval,
        access_log,
        against_nist,
    }
}

pub async fn get(state: &AppState, p: &TenantPrincipal) -> AppResult<SecuritySettings> {
    let g = p.require(Permission::SettingsManage)?;
    let stored = state.store.security_policy(g.tenant_id()).await?;
    let revision = stored.as_ref().map_or(0, |(r, _)| *r);
    Ok(view(revision, effective(state, stored.map(|(_, p)| p))))
}

/// Replaces the policy as a whole. Nothing is stored unless every knob is within its bounds, and
/// unless the author either stays inside every address list that changed or confirmed that they
/// may lock themselves out (IAM-10).
pub async fn put(state: &AppState, p: &TenantPrincipal, change: SecuritySettingsChange) -> AppResult<SecuritySettings> {
    let g = p.require(Permission::SettingsManage)?;
    let SecuritySettingsChange {
        revision,
        password,
        lockout,
        sessions,
        addresses,
        client_certificates,
        second_factor,
        break_glass_approval,
        access_log,
        confirm_lockout,
    } = change;
    // Whether the author's own connection carries a valid certificate of the tenant, for the
    // lock-out check below (read before the write: judging reads the store).
    let author_cert = match client_certificates {
        Some(c) if c.console || c.api => {
            crate::service::client_certs::judge(state, g.tenant(), p.client_cert(), p.actor().source_ip.as_deref())
                .await?
                .is_ok()
        }
        _ => true,
    };
    if revision < 0 {
        return Err(AppError::BadRequest("revision must be 0 or more".into()));
    }
    // An absent `client_certificates` or `second_factor` keeps the stored setting; the write
    // below refuses the save if the policy changed since this read (the revision).
    let current = policy_of(state, g.tenant_id()).await?;
    let policy = SecurityPolicy {
        password,
        lockout,
        sessions,
        addresses,
        client_certificates: client_certificates.unwrap_or(current.client_certificates),
        second_factor: second_factor.unwrap_or(current.second_factor),
        break_glass_approval: break_glass_approval.unwrap_or(current.break_glass_approval),
        access_log: access_log.unwrap_or(current.access_log),
    };
    policy.check()?;
    let mut w = g.begin(&state.store).await?;
    let (new_revision, old) = w.put_security_policy(g.tenant_id(), revision, &policy).await?;
    let old = effective(state, old);
    let author = p.actor().source_ip.as_deref();
    let mut shut_out = shut_out(&old.addresses, &policy.addresses, author);
    // A door that newly requires a client certificate the author's connection does not carry
    // would shut the author out too (IAM-11).
    for surface in [Surface::Console, Surface::Api] {
        let newly = policy.client_certificates.requires(surface) && !old.client_certificates.requires(surface);
        if newly && !author_cert && !shut_out.contains(&surface) {
            shut_out.push(surface);
        }
    }
    if !shut_out.is_empty() && !confirm_lockout {
        // Dropping the write leaves the stored policy as it was.
        drop(w);
        let doors = shut_out.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" and ");
        return Err(AppError::LockoutUnconfirmed(format!(
            "the new address list or client-certificate requirement of the {doors} leaves out the address you \
             are saving from ({}) or the connection you are saving over (no valid client certificate of this \
             tenant); you would lose access. Nothing was saved: include your address and connect with a \
             certificate, or send confirm_lockout: true to save anyway",
            author.unwrap_or("unknown")
        )));
    }
    let changes = policy.changes_from(&old);
    let mut detail = if changes.is_empty() { "no change".to_owned() } else { changes.join("; ") };
    if !shut_out.is_empty() {
        let doors = shut_out.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" and ");
        detail.push_str(&format!("; saved from {} outside the {doors} list, confirmed", author.unwrap_or("unknown")));
    }
    w.commit(
        AuditRecord::success(Operation::SecurityPolicyUpdate, "settings:security")
            .with_detail(format!("revision {new_revision}: {detail}")),
    )
    .await?;
    Ok(view(new_revision, policy))
}

/// The doors whose list changed and no longer admits `author` (an unknown author is outside any
/// non-empty list).
pub fn shut_out(old: &AddressPolicy, new: &AddressPolicy, author: Option<&str>) -> Vec<Surface> {
    let ip = author.and_then(|a| a.parse::<std::net::IpAddr>().ok());
    [Surface::Console, Surface::Api]
        .into_iter()
        .filter(|s| old.list(*s) != new.list(*s) && !ip.is_some_and(|ip| new.allows(*s, ip)))
        .collect()
}

/// Empties a tenant's address lists for an operator, so that a tenant that locked itself out
/// can get back in (IAM-10). Written to the tenant's own log, with the operator and the reason.
/// Returns whether there was anything to empty.
pub async fn reset_address_lists(
    state: &AppState,
    operator: &crate::auth::OperatorPrincipal,
    tenant: TenantId,
    reason: &str,
) -> AppResult<bool> {
    let reason = reason.trim();
    if reason.chars().count() < 5 || reason.chars().count() > 500 {
        return Err(AppError::Validation(vec![kura_domain::FieldError::new(
            "reason",
            kura_domain::FieldErrorKind::Invalid { reason: "state the reason in 5 to 500 characters".into() },
        )]));
    }
    let Some((revision, old)) = state.store.security_policy(tenant).await? else {
        return Ok(false);
    };
    if old.addresses == AddressPolicy::default() {
        return Ok(false);
    }
    let mut new = old.clone();
    new.addresses = AddressPolicy::default();
    let mut w = operator.begin(&state.store, kura_domain::AuditScope::Tenant(tenant)).await?;
    let (new_revision, _) = w.put_security_policy(tenant, revision, &new).await?;
    let detail = format!("revision {new_revision}: {}; reason: {reason}", new.changes_from(&old).join("; "));
    w.commit(AuditRecord::success(Operation::AddressListsReset, "settings:security").with_detail(detail)).await?;
    Ok(true)
}
