//! The operations Kura offers, shared by the JSON API, the consoles and the CLI. Each checks the
//! permission it needs (through `TenantPrincipal::require`), validates its input, and writes
//! through the store's audited write path. Handlers only translate HTTP to these calls.

pub mod access_log;
pub mod account;
pub mod api_keys;
pub mod audit;
pub mod audit_export;
pub mod break_glass;
pub mod bulk;
pub mod client_certs;
pub mod collections;
pub mod contract_notices;
pub mod disclosure;
pub mod duplicates;
pub mod expiry;
pub mod export;
pub mod history;
pub mod import;
pub mod key_rotation;
pub mod links;
pub mod master_key;
pub mod passkeys;
pub mod passwords;
pub mod records;
pub mod roles;
pub mod second_factor;
pub mod security;
pub mod security_events;
pub mod sessions;
pub mod tenant_access;
pub mod tenant_admin;
pub mod tenants;
pub mod transfer;
pub mod users;
pub mod views;

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use kura_domain::{FieldError, FieldErrorKind, Role};

/// Checks a new password against the configured policy.
pub(crate) fn check_password(state: &AppState, field: &str, password: &str) -> AppResult<()> {
    let n = password.chars().count();
    let min = state.settings.password.min_length;
    if n < min {
        return Err(AppError::Validation(vec![FieldError::new(field, FieldErrorKind::TooShort { min: min as u32 })]));
    }
    if n > 128 {
        return Err(AppError::Validation(vec![FieldError::new(field, FieldErrorKind::TooLong { max: 128 })]));
    }
    Ok(())
}

/// Refuses to hand out a role more powerful than the caller's own (no privilege escalation
/// through user or API-key management).
pub(crate) fn ensure_within(own: &Role, granted: &Role) -> AppResult<()> {
    if granted.permissions.iter().all(|p| own.permissions.contains(p)) {
        Ok(())
    } else {
        Err(AppError::ForbiddenOther(format!("the role {} has permissions you do not have yourself", granted.key)))
    }
}
