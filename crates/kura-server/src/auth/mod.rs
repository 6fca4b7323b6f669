//! Authentication and authorisation: password hashing on a bounded pool, sessions and API keys,
//! and the principal types through which handlers reach tenant data.
//!
//! **Architecture invariant:** tenant data is reached only through a [`Granted`], which can be
//! obtained only from a [`TenantPrincipal`] by naming the permission the operation needs.

mod hashing;
mod principal;
mod resolve;
mod tokens;

pub use hashing::Hashing;
pub use principal::{Granted, OperatorPrincipal, TenantPrincipal, Via};
pub use resolve::{
    ClientInfo, OPERATOR_COOKIE, SESSION_COOKIE, client_info, client_ip, cookie, resolve_api_request,
    resolve_operator_cookie, resolve_tenant_cookie,
};
pub use tokens::{
    api_key_token, parse_api_key_token, parse_session_token, parse_support_token, session_token, support_token,
};
