//! The `users` table: a tenant's staff.

use super::{constraint, corrupt, found, micros, opt_timestamp, timestamp};
use crate::conn::{Exec, run};
use crate::error::StoreError;
use jiff::Timestamp;
use kura_domain::{DisplayName, Email, Language, RoleId, TenantId, User, UserId, UserStatus};
use uuid::Uuid;

/// The columns of a [`UserRow`]; `has_password` is computed, so that the hash itself is read only
/// where it is needed.
macro_rules! cols {
    () => {
        "tenant_id, id, email, display_name, role_id, status, created_at, updated_at, lang, \
         password_hash IS NOT NULL AS has_password, must_change_password, password_changed_at, failed_logins, \
         locked_at, locked_until"
    };
}
pub(crate) use cols;

#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    pub(super) tenant_id: Uuid,
    pub(super) id: Uuid,
    pub(super) email: String,
    pub(super) display_name: String,
    pub(super) role_id: Uuid,
    pub(super) status: String,
    pub(super) created_at: i64,
    pub(super) updated_at: i64,
    pub(super) lang: String,
    pub(super) has_password: bool,
    pub(super) must_change_password: bool,
    pub(super) password_changed_at: Option<i64>,
    pub(super) failed_logins: i64,
    pub(super) locked_at: Option<i64>,
    pub(super) locked_until: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct CredentialsRow {
    #[sqlx(flatten)]
    user: UserRow,
    password_hash: Option<String>,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;
    fn try_from(r: UserRow) -> Result<Self, StoreError> {
        Ok(User {
            id: UserId::from_uuid(r.id),
            tenant_id: TenantId::from_uuid(r.tenant_id),
            email: Email::parse(&r.email).map_err(|e| corrupt("user email", e))?,
            display_name: DisplayName::parse(&r.display_name).map_err(|e| corrupt("user name", e))?,
            role_id: RoleId::from_uuid(r.role_id),
            status: UserStatus::parse(&r.status).ok_or_else(|| corrupt("user status", &r.status))?,
            created_at: timestamp(r.created_at)?,
            updated_at: timestamp(r.updated_at)?,
            language: Language::parse(&r.lang).ok_or_else(|| corrupt("user language", &r.lang))?,
            has_password: r.has_password,
            must_change_password: r.must_change_password,
            password_changed_at: opt_timestamp(r.password_changed_at)?,
            failed_logins: u32::try_from(r.failed_logins).unwrap_or(u32::MAX),
            locked_at: opt_timestamp(r.locked_at)?,
            locked_until: opt_timestamp(r.locked_until)?,
        })
    }
}

const UNIQUE: &str = "a user with this email already exists";

pub(crate) async fn all(e: &mut Exec<'_>, tenant: TenantId) -> Result<Vec<User>, StoreError> {
    const SQL: &str = concat!("SELECT ", cols!(), " FROM users WHERE tenant_id = $1 ORDER BY email");
    let rows: Vec<UserRow> = run!(e, |c| sqlx::query_as(SQL).bind(tenant.as_uuid()).fetch_all(c).await)?;
    rows.into_iter().map(User::try_from).collect()
}

pub(crate) async fn by_id(e: &mut Exec<'_>, tenant: TenantId, id: UserId) -> Result<Option<User>, StoreError> {
    const SQL: &str = concat!("SELECT ", cols!(), " FROM users WHERE tenant_id = $1 AND id = $2");
    let row: Option<UserRow> =
        run!(e, |c| sqlx::query_as(SQL).bind(tenant.as_uuid()).bind(id.as_uuid()).fetch_optional(c).await)?;
    row.map(User::try_from).transpose()
}

pub(crate) async fn credentials(
    e: &mut Exec<'_>,
    tenant: TenantId,
    email: &Email,
) -> Result<Option<(User, Option<String>)>, StoreError> {
    const SQL: &str = concat!("SELECT ", cols!(), ", password_hash FROM users WHERE tenant_id = $1 AND email = $2");
    let row: Option<CredentialsRow> =
        run!(e, |c| sqlx::query_as(SQL).bind(tenant.as_uuid()).bind(email.as_str()).fetch_optional(c).await)?;
    row.map(|r| Ok((User::try_from(r.user)?, r.password_hash))).transpose()
}

pub(crate) async fn insert(e: &mut Exec<'_>, u: &User, password_hash: Option<&str>) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO users (tenant_id, id, email, display_name, role_id, status, created_at, \
                       updated_at, password_hash, lang, must_change_password, password_changed_at) \
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
    run!(e, |c| sqlx::query(SQL)
        .bind(u.tenant_id.as_uuid())
        .bind(u.id.as_uuid())
        .bind(u.email.as_str())
        .bind(u.display_name.as_str())
        .bind(u.role_id.as_uuid())
        .bind(u.status.as_str())
        .bind(micros(u.created_at))
        .bind(micros(u.updated_at))
        .bind(password_hash)
        .bind(u.language.code())
        .bind(u.must_change_password)
        .bind(u.password_changed_at.map(micros))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
    .map_err(constraint(UNIQUE))?;
    Ok(())
}

/// Changes what an administrator may change; `None` if there is no such user.
pub(crate) async fn update(
    e: &mut Exec<'_>,
    tenant: TenantId,
    id: UserId,
    display_name: &DisplayName,
    role: RoleId,
    status: UserStatus,
    now: Timestamp,
) -> Result<Option<User>, StoreError> {
    const SQL: &str = concat!(
        "UPDATE users SET display_name = $3, role_id = $4, status = $5, updated_at = $6 ",
        "WHERE tenant_id = $1 AND id = $2 RETURNING ",
        cols!()
    );
    let row: Option<UserRow> = run!(e, |c| sqlx::query_as(SQL)
        .bind(tenant.as_uuid())
        .bind(id.as_uuid())
        .bind(display_name.as_str())
        .bind(role.as_uuid())
        .bind(status.as_str())
        .bind(micros(now))
        .fetch_optional(c)
        .await)
    .map_err(constraint(UNIQUE))?;
    row.map(User::try_from).transpose()
}

pub(crate) async fn set_language(
    e: &mut Exec<'_>,
    tenant: TenantId,
    id: UserId,
    language: Language,
) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE users SET lang = $3 WHERE tenant_id = $1 AND id = $2";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(id.as_uuid())
        .bind(language.code())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    found(n)
}

/// Sets a new password; `must_change` says whether the user must replace it at the next sign-in
/// (an issued or administrator-set password). A new password also ends a lock.
pub(crate) async fn set_password(
    e: &mut Exec<'_>,
    tenant: TenantId,
    id: UserId,
    password_hash: &str,
    must_change: bool,
    now: Timestamp,
) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE users SET password_hash = $3, updated_at = $4, password_changed_at = $4, \
                       must_change_password = $5, failed_logins = 0, locked_at = NULL, locked_until = NULL, \
                       expiry_notice = 0 WHERE tenant_id = $1 AND id = $2";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(id.as_uuid())
        .bind(password_hash)
        .bind(micros(now))
        .bind(must_change)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    found(n)
}

pub(crate) async fn delete(e: &mut Exec<'_>, tenant: TenantId, id: UserId) -> Result<(), StoreError> {
    const SQL: &str = "DELETE FROM users WHERE tenant_id = $1 AND id = $2";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(id.as_uuid())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    found(n)
}
