//! The operator console (`/operator`): the company running Kura signs in here to open tenants,
//! change their settings and contracts, suspend or resume them, and look after the backups and
//! their keys.
//! Operators are not members of any tenant and see no tenant data here (IAM-13): their one way
//! to a tenant's data is a break-glass access (`break_glass.rs`), logged in the tenant's log and
//! shown to the tenant.

mod account;
mod backup_keys;
mod backups;
mod break_glass;
mod deletions;
mod isolation;
mod keys;
mod mail;
mod session;
mod tenant_page;
mod tenants;

use crate::routes::{Access, Routes, Verb};
use crate::state::AppState;

/// The operator console's pages and forms with the access they need.
pub fn table() -> Routes<AppState> {
    use Access::{Operator, Public};
    use Verb::{Get, Post};
    Routes::default()
        .add(Get, "/operator", Operator, tenants::list)
        .add(Get, "/operator/login", Public, session::login_form)
        .add(Post, "/operator/login", Public, session::login)
        .add(Get, "/operator/login/second-factor", Public, crate::console::second_step::operator_form)
        .add(Post, "/operator/login/second-factor", Public, crate::console::second_step::operator_submit)
        .add(Post, "/operator/logout", Operator, session::logout)
        .add(Get, "/operator/account/password", Operator, account::password_form)
        .add(Post, "/operator/account/password", Operator, account::change_password)
        .add(Get, "/operator/mail", Operator, mail::list)
        .add(Get, "/operator/backups", Operator, backups::list)
        .add(Post, "/operator/backups/take", Operator, backups::take)
        .add(Post, "/operator/backups/take-keystore", Operator, backups::take_keystore)
        .add(Post, "/operator/backups/verify", Operator, backups::verify)
        .add(Post, "/operator/backups/drill", Operator, backups::drill)
        .add(Get, "/operator/access-log", Operator, crate::console::pages::access_log::platform)
        .add(Get, "/operator/deletions/{id}/certificate", Operator, deletions::certificate)
        .add(Get, "/operator/tenants/new", Operator, tenants::new_form)
        .add(Post, "/operator/tenants/new", Operator, tenants::create)
        .add(Get, "/operator/tenants/{id}", Operator, tenant_page::show)
        .add(Post, "/operator/tenants/{id}", Operator, tenant_page::update)
        .add(Get, "/operator/tenants/{id}/suspend", Operator, tenant_page::confirm_suspend)
        .add(Post, "/operator/tenants/{id}/suspend", Operator, tenant_page::suspend)
        .add(Post, "/operator/tenants/{id}/resume", Operator, tenant_page::resume)
        .add(Post, "/operator/tenants/{id}/address-lists/reset", Operator, tenant_page::reset_address_lists)
        .add(Get, "/operator/break-glass", Operator, break_glass::overview)
        .add(Post, "/operator/tenants/{id}/break-glass", Operator, break_glass::start)
        .add(Post, "/operator/tenants/{id}/break-glass/{access}/open", Operator, break_glass::open)
        .add(Post, "/operator/tenants/{id}/break-glass/{access}/end", Operator, break_glass::end)
        .add(Get, "/operator/backups/keys", Operator, backup_keys::list)
        .add(Get, "/operator/backups/keys/rotate", Operator, backup_keys::confirm_rotate)
        .add(Post, "/operator/backups/keys/rotate", Operator, backup_keys::rotate)
        .add(Get, "/operator/keys", Operator, keys::overview)
        .add(Get, "/operator/tenants/{id}/keys/rotate", Operator, keys::confirm)
        .add(Post, "/operator/tenants/{id}/keys/rotate", Operator, keys::rotate)
}
