//! Everything a tenant sign-in decides on, read in one statement: the tenant by slug, its
//! security policy, the account by address with its password hash, lockout state and role, and
//! the source address's throttling window. One round trip instead of four, on the path every
//! sign-in takes (`docs/PERFORMANCE.md`: logins are bound by hashing, and each statement is a
//! hand-off to the database). The account is found by its email's blind index (DAT-3), which
//! the caller computes with the tenant's key before the statement.

use super::lockout::Throttle;
use super::roles::RoleRow;
use super::tenants::TenantRow;
use super::users::UserRow;
use super::{corrupt, security, timestamp};
use crate::conn::{Exec, run};
use crate::error::StoreError;
use crate::vault::Sealer;
use kura_domain::{Role, SecurityPolicy, Slug, Tenant, TenantId, User};
use uuid::Uuid;

/// A sign-in's view of the tenant and the account it names.
#[derive(Clone, Debug)]
pub struct SigninContext {
    pub tenant: Tenant,
    /// The stored policy and its revision; `None` while the tenant uses the defaults.
    pub policy: Option<(i64, SecurityPolicy)>,
    /// The account with that address, if there is one.
    pub account: Option<SigninAccount>,
    /// The source address's failures in its current window, if it has any.
    pub throttle: Option<Throttle>,
}

/// An account as a sign-in needs it.
#[derive(Clone, Debug)]
pub struct SigninAccount {
    pub user: User,
    /// `None` until the user sets a password.
    pub password_hash: Option<String>,
    pub role: Role,
}

#[derive(sqlx::FromRow)]
pub(crate) struct SigninRow {
    #[sqlx(flatten)]
    tenant: TenantRow,
    ts_revision: Option<i64>,
    ts_policy: Option<String>,
    u_id: Option<Uuid>,
    u_email: Option<String>,
    u_display_name: Option<String>,
    u_role_id: Option<Uuid>,
    u_status: Option<String>,
    u_created_at: Option<i64>,
    u_updated_at: Option<i64>,
    u_lang: Option<String>,
    u_password_hash: Option<String>,
    u_must_change_password: Option<bool>,
    u_password_changed_at: Option<i64>,
    u_failed_logins: Option<i64>,
    u_locked_at: Option<i64>,
    u_locked_until: Option<i64>,
    r_id: Option<Uuid>,
    r_role_key: Option<String>,
    r_label: Option<String>,
    r_permissions: Option<String>,
    r_builtin: Option<bool>,
    th_window_start: Option<i64>,
    th_failures: Option<i64>,
}

/// The sign-in row for the account whose email has the blind index `email_index` in the tenant
/// `slug`, from `address`; `None` if there is no such tenant. The caller checks
/// [`SigninRow::tenant_id`] against the tenant whose key made the index, then opens the row.
pub(crate) async fn fetch(
    e: &mut Exec<'_>,
    slug: &Slug,
    email_index: Option<&[u8]>,
    address: Option<&str>,
) -> Result<Option<SigninRow>, StoreError> {
    const SQL: &str = "SELECT t.id, t.slug, t.display_name, t.time_zone, t.contract_start, t.contract_end, \
        t.created_at, t.status, ts.revision AS ts_revision, ts.policy AS ts_policy, \
        u.id AS u_id, u.email AS u_email, u.display_name AS u_display_name, u.role_id AS u_role_id, \
        u.status AS u_status, u.created_at AS u_created_at, u.updated_at AS u_updated_at, u.lang AS u_lang, \
        u.password_hash AS u_password_hash, u.must_change_password AS u_must_change_password, \
        u.password_changed_at AS u_password_changed_at, u.failed_logins AS u_failed_logins, \
        u.locked_at AS u_locked_at, u.locked_until AS u_locked_until, \
        r.id AS r_id, r.role_key AS r_role_key, r.label AS r_label, r.permissions AS r_permissions, \
        r.builtin AS r_builtin, th.window_start AS th_window_start, th.failures AS th_failures \
        FROM tenants t \
        LEFT JOIN tenant_security ts ON ts.tenant_id = t.id \
        LEFT JOIN users u ON u.tenant_id = t.id AND u.email_index = $2 \
        LEFT JOIN roles r ON r.tenant_id = t.id AND r.id = u.role_id \
        LEFT JOIN signin_throttle th ON th.scope_id = t.id AND th.address = $3 \
        WHERE t.slug = $1";
    Ok(run!(e, |c| sqlx::query_as(SQL).bind(slug.as_str()).bind(email_index).bind(address).fetch_optional(c).await)?)
}

impl SigninRow {
    pub(crate) fn tenant_id(&self) -> TenantId {
        TenantId::from_uuid(self.tenant.id)
    }

    /// The context, the account's email and name opened by the tenant's `sealer`.
    pub(crate) fn into_context(self, sealer: &Sealer) -> Result<SigninContext, StoreError> {
        let tenant_id = self.tenant.id;
        let tenant = Tenant::try_from(self.tenant)?;
        let policy = match (self.ts_revision, self.ts_policy) {
            (Some(revision), Some(text)) => Some((revision, security::parse(&text)?)),
            _ => None,
        };
        let throttle = match (self.th_window_start, self.th_failures) {
            (Some(start), Some(n)) => {
                Some(Throttle { window_start: timestamp(start)?, failures: u32::try_from(n).unwrap_or(u32::MAX) })
            }
            _ => None,
        };
        let account = match self.u_id {
            None => None,
            Some(id) => {
                let missing = || corrupt("sign-in", "an account row is incomplete");
                let user = UserRow {
                    tenant_id,
                    id,
                    email: self.u_email.ok_or_else(missing)?,
                    display_name: self.u_display_name.ok_or_else(missing)?,
                    role_id: self.u_role_id.ok_or_else(missing)?,
                    status: self.u_status.ok_or_else(missing)?,
                    created_at: self.u_created_at.ok_or_else(missing)?,
                    updated_at: self.u_updated_at.ok_or_else(missing)?,
                    lang: self.u_lang.ok_or_else(missing)?,
                    has_password: self.u_password_hash.is_some(),
                    must_change_password: self.u_must_change_password.ok_or_else(missing)?,
                    password_changed_at: self.u_password_changed_at,
                    failed_logins: self.u_failed_logins.ok_or_else(missing)?,
                    locked_at: self.u_locked_at,
                    locked_until: self.u_locked_until,
                };
                let role = RoleRow {
                    tenant_id,
                    id: self.r_id.ok_or_else(missing)?,
                    role_key: self.r_role_key.ok_or_else(missing)?,
                    label: self.r_label.ok_or_else(missing)?,
                    permissions: self.r_permissions.ok_or_else(missing)?,
                    builtin: self.r_builtin.ok_or_else(missing)?,
                };
                Some(SigninAccount {
                    user: user.open(sealer)?,
                    password_hash: self.u_password_hash,
                    role: role.open(sealer)?,
                })
            }
        };
        Ok(SigninContext { tenant, policy, account, throttle })
    }
}
