//! The OpenAPI 3.1 document of the JSON API, generated from the handlers' annotations.
//!
//! Handlers declare their success responses; the error answers every operation can give are
//! added here by rule (`ErrorResponses`), so that each one is documented once and the same way:
//! `application/problem+json` bodies of the `Problem` schema.

use super::views::{ApiKeyCreated, ApiKeyView, Me, RecordValues, RoleView, SessionCreated, UserView};
use super::{
    access, account, audit_log, break_glass, bulk, client_certs, data, exports, keys, links, passkeys, second_factor,
    transfer, views,
};
use crate::error::{PROBLEM_JSON, Problem};
use crate::service::audit::{AuditEntryView, CheckpointView};
use crate::service::bulk::{BulkDelete, BulkOutcome, BulkUpdate};
use crate::service::records::{RecordPage, RecordView};
use crate::service::transfer::format::{Format, HeaderNames};
use crate::service::transfer::import::{RecordImportOptions, RecordImportReport};
use kura_domain::{
    Charset, Collection, CollectionId, CollectionSpec, DisplayName, FieldDef, FieldType, Key, Rules, TenantId,
};
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, HttpMethod, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "Kura API", description = "Tenant data, users, roles, API keys, client certificates, security settings and the audit log of a Kura tenant."),
    paths(
        access::login, access::logout, access::me,
        access::list_users, access::create_user, access::get_user, access::update_user, access::delete_user,
        access::list_roles, access::create_role, access::get_role, access::update_role, access::delete_role,
        access::list_api_keys, access::create_api_key, access::revoke_api_key, access::rotate_api_key,
        client_certs::list, client_certs::issue, client_certs::revoke,
        break_glass::list_break_glass, break_glass::approve_break_glass, break_glass::refuse_break_glass,
        break_glass::end_break_glass,
        account::get_security, account::put_security, account::get_time_zone, account::put_time_zone, account::change_password, account::list_sessions,
        account::end_session, account::end_user_sessions, account::unlock_user,
        links::request_reset, links::use_link, links::resend_setup_link, links::import_users,
        links::issue_one_time_password,
        second_factor::complete, second_factor::list_own, second_factor::start, second_factor::confirm,
        second_factor::renew_codes, second_factor::remove_own, second_factor::reset_user,
        passkeys::list_own_passkeys, passkeys::start_passkey, passkeys::finish_passkey, passkeys::remove_own_passkey,
        data::list_collections, data::create_collection, data::get_collection, data::update_collection,
        data::delete_collection, data::list_records, data::create_record, data::get_record, data::update_record,
        data::delete_record, data::list_audit, transfer::export_records, transfer::export_tenant,
        audit_log::latest_checkpoint, audit_log::make_checkpoint,
        audit_log::inclusion_proof, audit_log::consistency_proof, audit_log::export_log, audit_log::access_log,
        transfer::preview_import, transfer::import_records, bulk::bulk_delete, bulk::bulk_update,
        exports::start_export, exports::list_exports, exports::get_export, exports::download_export,
        keys::get_keys, keys::rotate_keys,
    ),
    components(schemas(Problem, CheckpointView, SessionCreated, Me, UserView, RoleView, ApiKeyView, ApiKeyCreated, RecordValues,
        RecordView, RecordPage, AuditEntryView, crate::api::audit_log::AccessLogPage,
        crate::service::access_log::AccessEntryView, crate::service::tenant_admin::TimeZoneSetting, kura_domain::AccessLogPolicy, Collection, CollectionSpec, FieldDef, FieldType, Rules, Charset, Key,
        DisplayName, CollectionId, TenantId, Format, HeaderNames, RecordImportOptions, RecordImportReport, BulkDelete, BulkUpdate, BulkOutcome, views::OwnSessionView, views::SessionsEnded,
        second_factor::SecondFactorRequired, second_factor::OwnFactors, second_factor::EnrolmentView,
        second_factor::IssuedRecoveryCodes, second_factor::CompleteRequest, second_factor::ConfirmRequest,
        crate::service::transfer::jobs::ExportRequest, crate::service::transfer::jobs::JobKind,
        exports::ExportJobView, exports::ExportStarted,
        passkeys::StartRequest, passkeys::Offer, passkeys::FinishRequest, passkeys::Registered,
        passkeys::OwnPasskeys, keys::KeysView, keys::KeyVersionView, keys::RotationView)),
    modifiers(&BearerAuth, &ErrorResponses),
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

/// Adds the problem answers an operation can give, by what it takes:
/// - 400: always (a malformed path, query or body), and 414 (a URI over 8 KiB);
/// - 401, 403: when it needs a credential (none or a bad one; a missing permission);
/// - 401: signing in, for wrong credentials;
/// - 404: when its path names something (a collection, a record, a user…);
/// - 409: when it changes something (a name taken, a version moved on, a role in use);
/// - 413, 415, 422: when it takes a body (too large, not JSON, invalid values).
#[derive(Debug)]
struct ErrorResponses;

impl Modify for ErrorResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            for (method, op) in [
                (HttpMethod::Get, item.get.as_mut()),
                (HttpMethod::Post, item.post.as_mut()),
                (HttpMethod::Put, item.put.as_mut()),
                (HttpMethod::Patch, item.patch.as_mut()),
                (HttpMethod::Delete, item.delete.as_mut()),
            ] {
                if let Some(op) = op {
                    add_errors(path, &method, op);
                }
            }
        }
    }
}

fn add_errors(path: &str, method: &HttpMethod, op: &mut Operation) {
    // Success responses are described by their status when the handler says no more.
    for (status, response) in op.responses.responses.iter_mut() {
        if let RefOr::T(response) = response
            && response.description.is_empty()
        {
            let reason = status.parse::<u16>().ok().and_then(|s| axum::http::StatusCode::from_u16(s).ok());
            response.description = reason.and_then(|s| s.canonical_reason()).unwrap_or("Success").to_owned();
        }
    }
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let has_body = op.request_body.is_some();
    let mut statuses =
        vec![("400", "The path, query or body is malformed."), ("414", "The request URI is longer than 8 KiB.")];
    if secured {
        statuses.push(("401", "No credential, or one that is unknown, expired or revoked."));
        statuses.push(("403", "The credential lacks the permission this needs, or a rule refuses it."));
    } else if path == "/api/v1/sessions/second-factor" {
        statuses.push((
            "401",
            "The code is wrong or was used (`second_factor_refused`), the passkey is not the account's or did not \
             answer this challenge (`passkey_refused`), or the challenge is unknown or finished \
             (`challenge_unknown`) or expired (`challenge_expired`).",
        ));
        statuses.push((
            "403",
            "The tenant does not accept sign-ins from this address (`address_not_allowed`), or cannot be used now.",
        ));
    } else if path == "/api/v1/sessions" {
        statuses.push(("401", "The tenant, email address or password is wrong."));
        statuses.push((
            "403",
            "The tenant does not accept sign-ins from this address (`address_not_allowed`), or cannot be used now.",
        ));
    }
    if path.contains('{') {
        statuses.push(("404", "What the path names does not exist in your tenant."));
    }
    if matches!(method, HttpMethod::Post | HttpMethod::Put | HttpMethod::Patch | HttpMethod::Delete) && secured {
        statuses.push(("409", "It conflicts with the current state: a name in use, a changed version, a role in use."));
    }
    if has_body {
        statuses.push(("413", "The body is larger than the configured limit."));
        statuses.push(("415", "The body is not sent as application/json."));
        statuses.push(("422", "Some values are invalid; `errors` lists them by field."));
    }
    for (status, description) in statuses {
        if op.responses.responses.contains_key(status) {
            continue;
        }
        let response = ResponseBuilder::new()
            .description(description)
            .content(PROBLEM_JSON, ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build())
            .build();
        op.responses.responses.insert(status.to_owned(), response.into());
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

#[cfg(test)]
mod tests {
    use serde_json::Value;

    fn doc() -> Value {
        serde_json::from_str(&super::document()).unwrap()
    }

    fn operations(doc: &Value) -> Vec<(String, String, Value)> {
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                out.push((method.clone(), path.clone(), op.clone()));
            }
        }
        out
    }

    #[test]
    fn query_parameters_are_declared_in_the_query() {
        let doc = doc();
        let query = [
            "from",
            "to",
            "actor",
            "operation",
            "before",
            "limit",
            "filter",
            "q",
            "sort",
            "page",
            "per_page",
            "format",
            "header",
            "seq",
            "first",
            "second",
            "status",
            "route",
            "ip",
            "token",
            "outcome",
            "source_ip",
            "target",
            "encoding",
            "mode",
            "key",
            "columns",
            "valid_only",
        ];
        let mut seen = std::collections::BTreeSet::new();
        for (method, path, op) in operations(&doc) {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                let expected = if query.contains(&name) {
                    seen.insert(name.to_owned());
                    "query"
                } else if name == "If-Match" {
                    "header"
                } else {
                    "path"
                };
                assert_eq!(p["in"], expected, "{method} {path}: {name}");
                assert!(p.get("example").is_some(), "{method} {path}: {name} has no example");
            }
        }
        assert_eq!(seen.len(), query.len(), "every listed query parameter is used somewhere: {seen:?}");
    }

    #[test]
    fn every_operation_has_typed_bodies_examples_and_problem_answers() {
        let doc = doc();
        for (method, path, op) in operations(&doc) {
            // Actions that need nothing more than the path take no body.
            let bodiless = [
                "/unlock",
                "/setup-link",
                "/one-time-password",
                "/audit/checkpoint",
                "/recovery-codes",
                "/second-factors",
                "/approve",
                "/refuse",
                "/end",
                "/keys/rotate",
            ]
            .iter()
            .any(|a| path.ends_with(a));
            if ["post", "put", "patch"].contains(&method.as_str()) && path != "/api/v1/sessions/current" && !bodiless {
                let schema = &op["requestBody"]["content"]["application/json"]["schema"];
                assert!(schema.get("$ref").is_some(), "{method} {path}: request body {schema}");
            }
            for (status, response) in op["responses"].as_object().unwrap() {
                if status.starts_with('4') {
                    assert_eq!(
                        response["content"]["application/problem+json"]["schema"]["$ref"],
                        "#/components/schemas/Problem",
                        "{method} {path} {status}"
                    );
                }
            }
        }
        for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
            let described = schema.get("example").is_some()
                || schema.get("examples").is_some()
                || schema.get("enum").is_some()
                || schema.get("format").is_some();
            let has_props = schema.get("properties").is_some();
            assert!(described || !has_props, "schema {name} has no example");
        }
    }
}
