//! The JSON API under `/api/v1` (IAM-12). Authenticated with a bearer API key or a session token
//! from `POST /api/v1/sessions`; errors are `application/problem+json`. The OpenAPI 3.1 document
//! is served at `/api/v1/openapi.json` and committed as `docs/openapi.json`.

mod access;
mod account;
mod data;
mod extract;
mod links;
pub mod openapi;
mod views;

pub use extract::BodyLimit;

use crate::state::AppState;
use axum::Router;
use axum::routing::{delete, get, post, put};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi::serve))
        .route("/sessions", post(access::login))
        .route("/sessions/current", delete(access::logout))
        .route("/password-resets", post(links::request_reset))
        .route("/password-links", post(links::use_link))
        .route("/me", get(access::me))
        .route("/me/password", put(account::change_password))
        .route("/me/sessions", get(account::list_sessions))
        .route("/me/sessions/{id}", delete(account::end_session))
        .route("/settings/security", get(account::get_security).put(account::put_security))
        .route("/collections", get(data::list_collections).post(data::create_collection))
        .route(
            "/collections/{name}",
            get(data::get_collection).put(data::update_collection).delete(data::delete_collection),
        )
        .route("/collections/{name}/records", get(data::list_records).post(data::create_record))
        .route(
            "/collections/{name}/records/{id}",
            get(data::get_record).patch(data::update_record).delete(data::delete_record),
        )
        .route("/users", get(access::list_users).post(access::create_user))
        .route("/users/import", post(links::import_users))
        .route("/users/{id}", get(access::get_user).patch(access::update_user).delete(access::delete_user))
        .route("/users/{id}/sessions", delete(account::end_user_sessions))
        .route("/users/{id}/unlock", post(account::unlock_user))
        .route("/users/{id}/setup-link", post(links::resend_setup_link))
        .route("/users/{id}/one-time-password", post(links::issue_one_time_password))
        .route("/roles", get(access::list_roles).post(access::create_role))
        .route("/roles/{id}", get(access::get_role).patch(access::update_role).delete(access::delete_role))
        .route("/api-keys", get(access::list_api_keys).post(access::create_api_key))
        .route("/api-keys/{id}", delete(access::revoke_api_key))
        .route("/audit", get(data::list_audit))
}
