//! Taking a collection's records out to a file and bringing them in from one (DAT-5, DAT-6):
//! CSV in the encodings Japanese offices use, and JSON Lines.

pub mod archive;
pub mod export;
pub mod flag;
pub mod format;
pub mod import;
pub mod jobs;
pub mod rows;
pub mod staged;
pub mod upload;
pub mod worker;

use crate::auth::TenantPrincipal;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use kura_domain::{Actor, BuiltinRole, Key, Slug};

/// The principal of `kura export` and `kura import`: whoever can run the binary against the
/// data can read and write it all, so the command acts with the tenant administrator's role
/// (personal information shown), audited in the tenant's log under the command line's `actor`.
pub async fn command_line_principal(state: &AppState, actor: Actor, tenant: &str) -> AppResult<TenantPrincipal> {
    let slug = Slug::parse(tenant).map_err(|_| AppError::NotFound("tenant"))?;
    let tenant = state.store.tenant_by_slug(&slug).await?.ok_or(AppError::NotFound("tenant"))?;
    let key = Key::parse(BuiltinRole::TenantAdmin.key()).map_err(|_| AppError::NotFound("role"))?;
    let role = state.store.role_by_key(tenant.id, &key).await?.ok_or(AppError::NotFound("role"))?;
    Ok(TenantPrincipal::command_line(tenant, role, actor))
}
