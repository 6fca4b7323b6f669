//! The tenant console (`/console`) and operator console (`/operator`): server-rendered pages in
//! Japanese and English, without any JavaScript (the CSP forbids inline scripts and styles).
//!
//! Handlers are thin: they translate forms to `service::*` calls, which check permissions and
//! write the audit log. Every state-changing form is a POST carrying the session's CSRF token and
//! is refused when its `Origin` is another site. Errors raised as [`crate::error::AppError`] are
//! re-rendered as localized HTML pages by [`errors::render_errors`].

mod assets;
mod cookies;
mod errors;
mod explain;
mod extract;
mod forms;
mod i18n;
mod labels;
mod layout;
mod msg;
mod operator;
mod pages;
mod widgets;

use crate::error::AppError;
use crate::state::AppState;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::{any, get, post};
use pages::{
    api_keys, audit, collections, dashboard, fields, record_form, record_view, records, roles, session, users,
};

pub fn router() -> Router<AppState> {
    let tenant = Router::new()
        .route("/console", get(dashboard::show))
        .route("/console/login", get(session::login_form).post(session::login))
        .route("/console/logout", post(session::logout))
        .route("/console/lang", get(i18n::switch))
        .route("/console/users", get(users::list))
        .route("/console/users/new", get(users::new_form).post(users::create))
        .route("/console/users/{id}", get(users::edit_form).post(users::update))
        .route("/console/users/{id}/delete", get(users::confirm_delete).post(users::delete))
        .route("/console/roles", get(roles::list))
        .route("/console/roles/new", get(roles::new_form).post(roles::create))
        .route("/console/roles/{id}", get(roles::edit_form).post(roles::update))
        .route("/console/roles/{id}/delete", get(roles::confirm_delete).post(roles::delete))
        .route("/console/collections", get(collections::list))
        .route("/console/collections/new", get(collections::new_form).post(collections::create))
        .route("/console/collections/{name}", get(records::list))
        .route("/console/collections/{name}/settings", get(collections::edit_form).post(collections::update))
        .route("/console/collections/{name}/delete", get(collections::confirm_delete).post(collections::delete))
        .route("/console/collections/{name}/fields/new", get(fields::new_form).post(fields::create))
        .route("/console/collections/{name}/fields/{field}", get(fields::edit_form).post(fields::update))
        .route("/console/collections/{name}/fields/{field}/delete", get(fields::confirm_delete).post(fields::delete))
        .route("/console/collections/{name}/columns", post(records::save_columns))
        .route("/console/collections/{name}/records/new", get(record_form::new_form).post(record_form::create))
        .route("/console/collections/{name}/records/{id}", get(record_view::show).post(record_form::update))
        .route("/console/collections/{name}/records/{id}/edit", get(record_form::edit_form))
        .route(
            "/console/collections/{name}/records/{id}/delete",
            get(record_form::confirm_delete).post(record_form::delete),
        )
        .route("/console/api-keys", get(api_keys::list))
        .route("/console/api-keys/new", get(api_keys::new_form).post(api_keys::create))
        .route("/console/api-keys/{id}/revoke", get(api_keys::confirm_revoke).post(api_keys::revoke))
        .route("/console/audit", get(audit::list))
        .route("/console/{*rest}", any(not_found));
    // Errors of both consoles become pages; the assets are plain files and need no such layer.
    tenant
        .merge(operator::router())
        .layer(axum::middleware::from_fn(errors::render_errors))
        .layer(axum::middleware::map_response(same_origin_referrer))
        .merge(assets::router())
}

/// Console pages send the referrer to their own origin only. Under the site-wide `no-referrer`,
/// browsers send `Origin: null` with every form POST, which would make the origin check useless
/// (it could not tell our own forms from a sandboxed attacker's); `same-origin` keeps the real
/// origin on our own POSTs and still leaks nothing to other sites.
async fn same_origin_referrer(mut response: Response) -> Response {
    response.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    response
}

async fn not_found() -> AppError {
    AppError::NotFound("page")
}
