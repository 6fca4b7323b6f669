//! Whether a tenant's people may use the service now (TEN-1): the operator has not suspended the
//! tenant, and today, in the tenant's own time zone, is within its contract. Checked when a user
//! signs in and on every request of a session or an API key, so that a suspension or the end of
//! a contract takes effect at once, without waiting for sessions to expire.

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use kura_domain::Tenant;

/// `Ok` when the tenant may be used now; else a refusal that says why.
pub fn check(state: &AppState, tenant: &Tenant) -> AppResult<()> {
    let today = tenant.today(state.clock.now());
    tenant.access_on(today).map_err(|block| AppError::ForbiddenOther(block.message()))
}
