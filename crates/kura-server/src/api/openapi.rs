//! The OpenAPI 3.1 document of the JSON API, generated from the handlers' annotations.

use super::{access, account, data, links, views};
use crate::error::Problem;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "Kura API", description = "Tenant data, users, roles, API keys, security settings and the audit log of a Kura tenant."),
    paths(
        access::login, access::logout, access::me,
        access::list_users, access::create_user, access::get_user, access::update_user, access::delete_user,
        access::list_roles, access::create_role, access::get_role, access::update_role, access::delete_role,
        access::list_api_keys, access::create_api_key, access::revoke_api_key,
        account::get_security, account::put_security, account::change_password, account::list_sessions,
        account::end_session, account::end_user_sessions, account::unlock_user,
        links::request_reset, links::use_link, links::resend_setup_link, links::import_users,
        links::issue_one_time_password,
        data::list_collections, data::create_collection, data::get_collection, data::update_collection,
        data::delete_collection, data::list_records, data::create_record, data::get_record, data::update_record,
        data::delete_record, data::list_audit,
    ),
    components(schemas(Problem, views::SessionCreated, views::Me, views::UserView, views::RoleView,
        views::ApiKeyView, views::ApiKeyCreated, views::OwnSessionView, views::SessionsEnded)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

#[derive(Debug)]
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// The document as pretty JSON, exactly as committed in `docs/openapi.json`.
pub fn document() -> String {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let mut text = doc.to_pretty_json().unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

pub async fn serve() -> ([(axum::http::HeaderName, &'static str); 1], String) {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], document())
}
