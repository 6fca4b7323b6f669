//! Whether a tenant's people may use the service now (TEN-1): the operator has not suspended the
//! tenant, and today, in the tenant's own time zone, its contract has started. Checked when a
//! user signs in and on every request of a session or an API key, so that a suspension takes
//! effect at once, without waiting for sessions to expire.
//!
//! After the contract's last day the tenant is read-only until its data is deleted (TEN-4): its
//! people can still sign in, read and export, and every request that would change something is
//! refused ([`check_request`]), naming the end date.

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use axum::http::Method;
use kura_domain::Tenant;

/// `Ok` when the tenant may be used now; else a refusal that says why.
pub fn check(state: &AppState, tenant: &Tenant) -> AppResult<()> {
    let today = tenant.today(state.clock.now());
    tenant.access_on(today).map_err(|block| AppError::ForbiddenOther(block.message()))
}

/// [`check`] for a request of a session or an API key: also `Ok` only unless the request (its
/// `method` and `path`) would change something in a tenant whose contract has ended. Reading
/// (GET, HEAD, which includes exporting) stays allowed, and so does ending one's own sessions.
pub fn check_request(state: &AppState, tenant: &Tenant, method: &Method, path: &str) -> AppResult<()> {
    let today = tenant.today(state.clock.now());
    tenant.access_on(today).map_err(|block| AppError::ForbiddenOther(block.message()))?;
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) || ends_sessions(method, path) {
        return Ok(());
    }
    tenant.writable_on(today).map_err(|block| AppError::ReadOnly(block.message()))
}

/// What the console tells a tenant's people about its contract's end (TEN-4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContractNotice {
    /// The contract's last day is `end`, `days` days from today (0: today); shown to the
    /// tenant's administrators from [`NOTICE_DAYS`] days before.
    EndsSoon { end: jiff::civil::Date, days: i64 },
    /// The contract ended on `end`: the tenant is read-only, and its data is deleted on
    /// `deletion`. Shown to everyone of the tenant.
    Ended { end: jiff::civil::Date, deletion: jiff::civil::Date },
}

/// How many days before the contract's end the console starts to say so.
pub const NOTICE_DAYS: i64 = 30;

/// The notice for someone of `tenant` (an administrator or not) now, if there is one.
pub fn contract_notice(state: &AppState, tenant: &Tenant, administrator: bool) -> Option<ContractNotice> {
    let end = tenant.contract_end?;
    let today = tenant.today(state.clock.now());
    if today > end {
        let deletion = crate::erasure::due_date(end, state.settings.contract.grace_days);
        return Some(ContractNotice::Ended { end, deletion });
    }
    let days = i64::from((end - today).get_days());
    (administrator && days <= NOTICE_DAYS).then_some(ContractNotice::EndsSoon { end, days })
}

/// Signing out and ending one's own sessions change nothing of the tenant's data.
fn ends_sessions(method: &Method, path: &str) -> bool {
    match *method {
        Method::POST => path == "/console/logout" || path.starts_with("/console/account/sessions/"),
        Method::DELETE => path == "/api/v1/sessions/current" || path.starts_with("/api/v1/me/sessions/"),
        _ => false,
    }
}
