//! The JSON API under `/api/v1` (IAM-12). Authenticated with a bearer API key or a session token
//! from `POST /api/v1/sessions`; errors are `application/problem+json`. The OpenAPI 3.1 document
//! is served at `/api/v1/openapi.json` and committed as `docs/openapi.json`.

mod access;
mod account;
pub(crate) mod audit_log;
mod break_glass;
mod bulk;
mod client_certs;
mod data;
pub(crate) mod exports;
mod extract;
pub(crate) mod keys;
mod links;
pub mod openapi;
mod passkeys;
mod second_factor;
pub(crate) mod transfer;
pub(crate) mod views;

pub use extract::BodyLimit;
pub use views::RecordValues;

use crate::routes::{Access, Route, Routes, Verb};
use crate::service::transfer::archive;
use crate::state::AppState;
use axum::Router;
use kura_domain::Permission;

/// Every API route with the access it needs; the router is built from this table alone.
fn table() -> Routes<AppState> {
    use Access::{Permission as Needs, Public, Tenant};
    use Permission::*;
    use Verb::*;
    Routes::default()
        .add(Get, "/api/v1/openapi.json", Public, openapi::serve)
        .add(Post, "/api/v1/sessions", Public, access::login)
        .add(Post, "/api/v1/sessions/second-factor", Public, second_factor::complete)
        .add(Delete, "/api/v1/sessions/current", Tenant, access::logout)
        .add(Post, "/api/v1/password-resets", Public, links::request_reset)
        .add(Post, "/api/v1/password-links", Public, links::use_link)
        .add(Get, "/api/v1/me", Tenant, access::me)
        .add(Put, "/api/v1/me/password", Tenant, account::change_password)
        .add(Get, "/api/v1/me/sessions", Tenant, account::list_sessions)
        .add(Delete, "/api/v1/me/sessions/{id}", Tenant, account::end_session)
        .add(Get, "/api/v1/me/second-factors", Tenant, second_factor::list_own)
        .add(Post, "/api/v1/me/second-factors", Tenant, second_factor::start)
        .add(Post, "/api/v1/me/second-factors/confirm", Tenant, second_factor::confirm)
        .add(Post, "/api/v1/me/recovery-codes", Tenant, second_factor::renew_codes)
        .add(Delete, "/api/v1/me/second-factors/{id}", Tenant, second_factor::remove_own)
        .add(Get, "/api/v1/me/passkeys", Tenant, passkeys::list_own_passkeys)
        .add(Post, "/api/v1/me/passkeys", Tenant, passkeys::start_passkey)
        .add(Post, "/api/v1/me/passkeys/registrations/{id}", Tenant, passkeys::finish_passkey)
        .add(Delete, "/api/v1/me/passkeys/{id}", Tenant, passkeys::remove_own_passkey)
        .add(Get, "/api/v1/settings/security", Needs(SettingsManage), account::get_security)
        .add(Put, "/api/v1/settings/security", Needs(SettingsManage), account::put_security)
        .add(Get, "/api/v1/settings/time-zone", Needs(SettingsManage), account::get_time_zone)
        .add(Put, "/api/v1/settings/time-zone", Needs(SettingsManage), account::put_time_zone)
        .add(Get, "/api/v1/collections", Needs(RecordsRead), data::list_collections)
        .add(Post, "/api/v1/collections", Needs(CollectionsManage), data::create_collection)
        .add(Get, "/api/v1/collections/{name}", Needs(RecordsRead), data::get_collection)
        .add(Put, "/api/v1/collections/{name}", Needs(CollectionsManage), data::update_collection)
        .add(Delete, "/api/v1/collections/{name}", Needs(CollectionsManage), data::delete_collection)
        .add(Get, "/api/v1/collections/{name}/export", Needs(RecordsExport), transfer::export_records)
        .add(Get, "/api/v1/export", Access::AllOf(&archive::NEEDS), transfer::export_tenant)
        .add(Post, "/api/v1/exports", Needs(RecordsExport), exports::start_export)
        .add(Get, "/api/v1/exports", Needs(RecordsExport), exports::list_exports)
        .add(Get, "/api/v1/exports/{id}", Needs(RecordsExport), exports::get_export)
        .add(Get, "/api/v1/exports/{id}/download", Needs(RecordsExport), exports::download_export)
        .add(Post, "/api/v1/collections/{name}/import/preview", Needs(RecordsWrite), transfer::preview_import)
        .add(Post, "/api/v1/collections/{name}/import", Needs(RecordsWrite), transfer::import_records)
        .add(Post, "/api/v1/collections/{name}/records/bulk-delete", Needs(RecordsDelete), bulk::bulk_delete)
        .add(Post, "/api/v1/collections/{name}/records/bulk-update", Needs(RecordsWrite), bulk::bulk_update)
        .add(Get, "/api/v1/collections/{name}/records", Needs(RecordsRead), data::list_records)
        .add(Post, "/api/v1/collections/{name}/records", Needs(RecordsWrite), data::create_record)
        .add(Get, "/api/v1/collections/{name}/records/{id}", Needs(RecordsRead), data::get_record)
        .add(Patch, "/api/v1/collections/{name}/records/{id}", Needs(RecordsWrite), data::update_record)
        .add(Delete, "/api/v1/collections/{name}/records/{id}", Needs(RecordsDelete), data::delete_record)
        .add(Get, "/api/v1/users", Needs(UsersManage), access::list_users)
        .add(Post, "/api/v1/users", Needs(UsersManage), access::create_user)
        .add(Get, "/api/v1/users/{id}", Needs(UsersManage), access::get_user)
        .add(Patch, "/api/v1/users/{id}", Needs(UsersManage), access::update_user)
        .add(Delete, "/api/v1/users/{id}", Needs(UsersManage), access::delete_user)
        .add(Post, "/api/v1/users/import", Needs(UsersManage), links::import_users)
        .add(Delete, "/api/v1/users/{id}/sessions", Needs(UsersManage), account::end_user_sessions)
        .add(Post, "/api/v1/users/{id}/unlock", Needs(UsersManage), account::unlock_user)
        .add(Delete, "/api/v1/users/{id}/second-factors", Needs(UsersManage), second_factor::reset_user)
        .add(Post, "/api/v1/users/{id}/setup-link", Needs(UsersManage), links::resend_setup_link)
        .add(Post, "/api/v1/users/{id}/one-time-password", Needs(UsersManage), links::issue_one_time_password)
        .add(Get, "/api/v1/roles", Needs(RolesManage), access::list_roles)
        .add(Post, "/api/v1/roles", Needs(RolesManage), access::create_role)
        .add(Get, "/api/v1/roles/{id}", Needs(RolesManage), access::get_role)
        .add(Patch, "/api/v1/roles/{id}", Needs(RolesManage), access::update_role)
        .add(Delete, "/api/v1/roles/{id}", Needs(RolesManage), access::delete_role)
        .add(Get, "/api/v1/api-keys", Needs(ApiKeysManage), access::list_api_keys)
        .add(Post, "/api/v1/api-keys", Needs(ApiKeysManage), access::create_api_key)
        .add(Delete, "/api/v1/api-keys/{id}", Needs(ApiKeysManage), access::revoke_api_key)
        .add(Post, "/api/v1/api-keys/{id}/rotate", Needs(ApiKeysManage), access::rotate_api_key)
        .add(Get, "/api/v1/break-glass", Needs(SettingsManage), break_glass::list_break_glass)
        .add(Post, "/api/v1/break-glass/{id}/approve", Needs(SettingsManage), break_glass::approve_break_glass)
        .add(Post, "/api/v1/break-glass/{id}/refuse", Needs(SettingsManage), break_glass::refuse_break_glass)
        .add(Post, "/api/v1/break-glass/{id}/end", Needs(SettingsManage), break_glass::end_break_glass)
        .add(Get, "/api/v1/client-certificates", Needs(SettingsManage), client_certs::list)
        .add(Post, "/api/v1/client-certificates", Needs(SettingsManage), client_certs::issue)
        .add(Delete, "/api/v1/client-certificates/{serial}", Needs(SettingsManage), client_certs::revoke)
        .add(Get, "/api/v1/audit", Needs(AuditRead), data::list_audit)
        .add(Get, "/api/v1/audit/checkpoint", Needs(AuditRead), audit_log::latest_checkpoint)
        .add(Post, "/api/v1/audit/checkpoint", Needs(AuditRead), audit_log::make_checkpoint)
        .add(Get, "/api/v1/audit/proofs/inclusion", Needs(AuditRead), audit_log::inclusion_proof)
        .add(Get, "/api/v1/audit/proofs/consistency", Needs(AuditRead), audit_log::consistency_proof)
        .add(Get, "/api/v1/audit/export", Needs(AuditRead), audit_log::export_log)
        .add(Get, "/api/v1/access-log", Needs(AuditRead), audit_log::access_log)
        .add(Get, "/api/v1/keys", Needs(SettingsManage), keys::get_keys)
        .add(Post, "/api/v1/keys/rotate", Needs(SettingsManage), keys::rotate_keys)
}

/// The API's routes.
pub fn routes() -> Vec<Route> {
    table().list().to_vec()
}

pub fn router() -> Router<AppState> {
    table().into_router()
}
