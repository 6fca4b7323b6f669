//! The operator console (`/operator`): the company running Kura signs in here to open tenants.
//! Operators are not members of any tenant and see no tenant data here (IAM-13).

mod account;
mod mail;
mod session;
mod tenants;

use crate::state::AppState;
use axum::Router;
use axum::routing::{get, post};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/operator", get(tenants::list))
        .route("/operator/login", get(session::login_form).post(session::login))
        .route("/operator/logout", post(session::logout))
        .route("/operator/account/password", get(account::password_form).post(account::change_password))
        .route("/operator/tenants/new", get(tenants::new_form).post(tenants::create))
        .route("/operator/mail", get(mail::list))
        .route("/operator/{*rest}", axum::routing::any(super::not_found))
}
