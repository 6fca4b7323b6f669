//! The tenant console (`/console`) and operator console (`/operator`): server-rendered pages in
//! Japanese and English, without any JavaScript (the CSP forbids inline scripts and styles).
//!
//! Handlers are thin: they translate forms to `service::*` calls, which check permissions and
//! write the audit log. Every state-changing form is a POST carrying the session's CSRF token and
//! is refused when its `Origin` is another site. Errors raised as [`crate::error::AppError`] are
//! re-rendered as localized HTML pages by [`errors::render_errors`].

mod assets;
mod cookies;
pub(crate) mod errors;
mod explain;
mod extract;
mod forms;
mod help;
pub(crate) mod i18n;
mod labels;
mod layout;
mod msg;
mod operator;
mod pages;
pub(crate) mod second_step;
mod widgets;

use crate::error::AppError;
use crate::routes::{Access, Route, Routes, Verb};
use crate::service::transfer::archive;
use crate::state::AppState;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::any;
use kura_domain::Permission;
use pages::{
    access_log, account, api_keys, audit, audit_checkpoint, break_glass, bulk, client_certs, collections, dashboard,
    disclosures, export, exports, factors, fields, import, keys, links, passkeys, record_form, record_import,
    record_view, records, roles, security, session, users,
};

/// Every console page and form with the access it needs; the router is built from this table.
fn table() -> Routes<AppState> {
    use Access::{Permission as Needs, Public, Tenant};
    use Permission::*;
    use Verb::{Get, Post};
    Routes::default()
        .add(Get, "/console", Tenant, dashboard::show)
        .add(Get, "/console/login", Public, session::login_form)
        .add(Post, "/console/login", Public, session::login)
        .add(Get, "/console/login/second-factor", Public, second_step::tenant_form)
        .add(Post, "/console/login/second-factor", Public, second_step::tenant_submit)
        .add(Post, "/console/logout", Tenant, session::logout)
        .add(Get, "/console/lang", Public, i18n::switch)
        .add(Get, "/console/forgot", Public, links::forgot_form)
        .add(Post, "/console/forgot", Public, links::forgot)
        .add(Get, "/console/setup/{token}", Public, links::setup_form)
        .add(Post, "/console/setup/{token}", Public, links::setup)
        .add(Get, "/console/reset/{token}", Public, links::reset_form)
        .add(Post, "/console/reset/{token}", Public, links::reset)
        .add(Get, "/console/account/password", Tenant, account::password_form)
        .add(Post, "/console/account/password", Tenant, account::change_password)
        .add(Get, "/console/account/sessions", Tenant, account::sessions)
        .add(Get, "/console/account/second-factors", Tenant, factors::list)
        .add(Post, "/console/account/second-factors", Tenant, factors::start)
        .add(Post, "/console/account/second-factors/confirm", Tenant, factors::confirm)
        .add(Post, "/console/account/passkeys", Tenant, passkeys::start)
        .add(Post, "/console/account/passkeys/finish", Tenant, passkeys::finish)
        .add(Post, "/console/account/recovery-codes", Tenant, factors::renew_codes)
        .add(Get, "/console/account/second-factors/{id}/remove", Tenant, factors::confirm_remove)
        .add(Post, "/console/account/second-factors/{id}/remove", Tenant, factors::remove)
        .add(Post, "/console/account/sessions/end-others", Tenant, account::end_other_sessions)
        .add(Post, "/console/account/sessions/{handle}/end", Tenant, account::end_session)
        .add(Get, "/console/help/security", Tenant, help::security)
        .add(Get, "/console/help/data", Tenant, help::data)
        .add(Get, "/console/settings/security", Needs(SettingsManage), security::show)
        .add(Post, "/console/settings/security", Needs(SettingsManage), security::save)
        .add(Get, "/console/settings/break-glass", Needs(SettingsManage), break_glass::show)
        .add(Post, "/console/settings/break-glass", Needs(SettingsManage), break_glass::save_policy)
        .add(Post, "/console/settings/break-glass/{id}/approve", Needs(SettingsManage), break_glass::approve)
        .add(Post, "/console/settings/break-glass/{id}/refuse", Needs(SettingsManage), break_glass::refuse)
        .add(Post, "/console/settings/break-glass/{id}/end", Needs(SettingsManage), break_glass::end)
        .add(Post, "/console/settings/time-zone", Needs(SettingsManage), security::save_time_zone)
        .add(Get, "/console/settings/client-certificates", Needs(SettingsManage), client_certs::list)
        .add(Get, "/console/settings/client-certificates/new", Needs(SettingsManage), client_certs::new_form)
        .add(Post, "/console/settings/client-certificates/new", Needs(SettingsManage), client_certs::issue)
        .add(
            Get,
            "/console/settings/client-certificates/{serial}/revoke",
            Needs(SettingsManage),
            client_certs::confirm_revoke,
        )
        .add(Post, "/console/settings/client-certificates/{serial}/revoke", Needs(SettingsManage), client_certs::revoke)
        .add(Get, "/console/users", Needs(UsersManage), users::list)
        .add(Get, "/console/users/new", Needs(UsersManage), users::new_form)
        .add(Post, "/console/users/new", Needs(UsersManage), users::create)
        .add(Get, "/console/users/{id}", Needs(UsersManage), users::edit_form)
        .add(Post, "/console/users/{id}", Needs(UsersManage), users::update)
        .add(Get, "/console/users/{id}/delete", Needs(UsersManage), users::confirm_delete)
        .add(Post, "/console/users/{id}/delete", Needs(UsersManage), users::delete)
        .add(Get, "/console/users/import", Needs(UsersManage), import::form)
        .add(Post, "/console/users/import", Needs(UsersManage), import::submit)
        .add(Post, "/console/users/{id}/unlock", Needs(UsersManage), users::unlock)
        .add(Get, "/console/users/{id}/second-factors/reset", Needs(UsersManage), factors::confirm_reset)
        .add(Post, "/console/users/{id}/second-factors/reset", Needs(UsersManage), factors::reset)
        .add(Post, "/console/users/{id}/signout", Needs(UsersManage), users::sign_out)
        .add(Post, "/console/users/{id}/setup-link", Needs(UsersManage), users::resend_setup_link)
        .add(Get, "/console/users/{id}/one-time-password", Needs(UsersManage), users::one_time_password)
        .add(Post, "/console/users/{id}/one-time-password", Needs(UsersManage), users::issue_one_time)
        .add(Get, "/console/roles", Needs(RolesManage), roles::list)
        .add(Get, "/console/roles/new", Needs(RolesManage), roles::new_form)
        .add(Post, "/console/roles/new", Needs(RolesManage), roles::create)
        .add(Get, "/console/roles/{id}", Needs(RolesManage), roles::edit_form)
        .add(Post, "/console/roles/{id}", Needs(RolesManage), roles::update)
        .add(Get, "/console/roles/{id}/delete", Needs(RolesManage), roles::confirm_delete)
        .add(Post, "/console/roles/{id}/delete", Needs(RolesManage), roles::delete)
        .add(Get, "/console/collections", Needs(RecordsRead), collections::list)
        .add(Get, "/console/collections/new", Needs(CollectionsManage), collections::new_form)
        .add(Post, "/console/collections/new", Needs(CollectionsManage), collections::create)
        .add(Get, "/console/collections/{name}", Needs(RecordsRead), records::list)
        .add(Get, "/console/collections/{name}/settings", Needs(CollectionsManage), collections::edit_form)
        .add(Post, "/console/collections/{name}/settings", Needs(CollectionsManage), collections::update)
        .add(Get, "/console/collections/{name}/delete", Needs(CollectionsManage), collections::confirm_delete)
        .add(Post, "/console/collections/{name}/delete", Needs(CollectionsManage), collections::delete)
        .add(Get, "/console/collections/{name}/fields/new", Needs(CollectionsManage), fields::new_form)
        .add(Post, "/console/collections/{name}/fields/new", Needs(CollectionsManage), fields::create)
        .add(Get, "/console/collections/{name}/fields/{field}", Needs(CollectionsManage), fields::edit_form)
        .add(Post, "/console/collections/{name}/fields/{field}", Needs(CollectionsManage), fields::update)
        .add(Get, "/console/collections/{name}/fields/{field}/delete", Needs(CollectionsManage), fields::confirm_delete)
        .add(Post, "/console/collections/{name}/fields/{field}/delete", Needs(CollectionsManage), fields::delete)
        .add(Post, "/console/collections/{name}/columns", Needs(RecordsRead), records::save_columns)
        .add(Get, "/console/collections/{name}/export", Needs(RecordsExport), export::form)
        .add(Get, "/console/collections/{name}/export/file", Needs(RecordsExport), export::file)
        .add(Get, "/console/export", Needs(RecordsExport), export::tenant_form)
        .add(Get, "/console/export/file", Access::AllOf(&archive::NEEDS), export::tenant_file)
        .add(Get, "/console/exports", Needs(RecordsExport), exports::list)
        .add(Post, "/console/exports", Needs(RecordsExport), exports::start)
        .add(Get, "/console/exports/{id}", Needs(RecordsExport), exports::show)
        .add(Get, "/console/exports/{id}/file", Needs(RecordsExport), exports::file)
        .add(Get, "/console/collections/{name}/import", Needs(RecordsWrite), record_import::form)
        .add(Post, "/console/collections/{name}/import", Needs(RecordsWrite), record_import::submit)
        .add(Get, "/console/collections/{name}/bulk-update", Needs(RecordsWrite), bulk::update_form)
        .add(Post, "/console/collections/{name}/bulk-update", Needs(RecordsWrite), bulk::update)
        .add(Get, "/console/collections/{name}/bulk-delete", Needs(RecordsDelete), bulk::delete_form)
        .add(Post, "/console/collections/{name}/bulk-delete", Needs(RecordsDelete), bulk::delete)
        .add(Get, "/console/collections/{name}/records/new", Needs(RecordsWrite), record_form::new_form)
        .add(Post, "/console/collections/{name}/records/new", Needs(RecordsWrite), record_form::create)
        .add(Get, "/console/collections/{name}/records/{id}", Needs(RecordsRead), record_view::show)
        .add(Post, "/console/collections/{name}/records/{id}", Needs(RecordsWrite), record_form::update)
        .add(Get, "/console/collections/{name}/records/{id}/edit", Needs(RecordsWrite), record_form::edit_form)
        .add(Get, "/console/collections/{name}/records/{id}/delete", Needs(RecordsDelete), record_form::confirm_delete)
        .add(Post, "/console/collections/{name}/records/{id}/delete", Needs(RecordsDelete), record_form::delete)
        .add(Get, "/console/api-keys", Needs(ApiKeysManage), api_keys::list)
        .add(Get, "/console/api-keys/new", Needs(ApiKeysManage), api_keys::new_form)
        .add(Post, "/console/api-keys/new", Needs(ApiKeysManage), api_keys::create)
        .add(Get, "/console/api-keys/{id}/created", Needs(ApiKeysManage), api_keys::created)
        .add(Get, "/console/api-keys/{id}/revoke", Needs(ApiKeysManage), api_keys::confirm_revoke)
        .add(Get, "/console/api-keys/{id}/rotate", Needs(ApiKeysManage), api_keys::rotate_form)
        .add(Post, "/console/api-keys/{id}/rotate", Needs(ApiKeysManage), api_keys::rotate)
        .add(Post, "/console/api-keys/{id}/revoke", Needs(ApiKeysManage), api_keys::revoke)
        .add(Get, "/console/audit", Needs(AuditRead), audit::list)
        .add(Get, "/console/audit/checkpoint", Needs(AuditRead), audit_checkpoint::show)
        .add(Get, "/console/audit/export", Needs(AuditRead), audit::export_file)
        .add(Get, "/console/audit/disclosures", Needs(AuditRead), disclosures::list)
        .add(Get, "/console/access-log", Needs(AuditRead), access_log::list)
        .add(Get, "/console/settings/keys", Needs(SettingsManage), keys::show)
        .add(Get, "/console/settings/keys/rotate", Needs(SettingsManage), keys::confirm)
        .add(Post, "/console/settings/keys/rotate", Needs(SettingsManage), keys::rotate)
        .merge(operator::table())
}

/// The consoles' pages and forms.
pub fn routes() -> Vec<Route> {
    table().list().to_vec()
}

pub fn router() -> Router<AppState> {
    // Anything else under either console is a page that does not exist.
    let pages =
        table().into_router().route("/console/{*rest}", any(not_found)).route("/operator/{*rest}", any(not_found));
    // Errors of both consoles become pages; the assets are plain files and need no such layer.
    pages
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
