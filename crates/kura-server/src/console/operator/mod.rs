//! The operator console (`/operator`): the company running Kura signs in here to open tenants,
//! change their settings and contracts, and suspend or resume them.
//! Operators are not members of any tenant and see no tenant data here (IAM-13).

mod session;
mod tenant_page;
mod tenants;

use crate::state::AppState;
use axum::Router;
use axum::routing::{get, post};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/operator", get(tenants::list))
        .route("/operator/login", get(session::login_form).post(session::login))
        .route("/operator/logout", post(session::logout))
        .route("/operator/tenants/new", get(tenants::new_form).post(tenants::create))
        .route("/operator/tenants/{id}", get(tenant_page::show).post(tenant_page::update))
        .route("/operator/tenants/{id}/suspend", get(tenant_page::confirm_suspend).post(tenant_page::suspend))
        .route("/operator/tenants/{id}/resume", post(tenant_page::resume))
        .route("/operator/{*rest}", axum::routing::any(super::not_found))
}
