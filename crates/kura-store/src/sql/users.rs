//! The `users` table: a tenant's staff. A user's email and display name are sealed under the
//! tenant's key (`vault/`, DAT-2): they are sealed here before they are bound and opened here
//! when a row is read, so that no other module handles their stored form. The email is looked
//! up, and kept unique in the tenant, by its blind index `email_index` (DAT-3).

use super::{constraint, corrupt, found, micros, opt_timestamp, timestamp};
use crate::conn::{Exec, run};
use crate::error::StoreError;
use crate::vault::{Sealer, USER_EMAIL_INDEX};
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

/// The table and field names bound into a user's seals; the row is the user's id.
const USERS: &str = "users";
const EMAIL: &str = "email";
const DISPLAY_NAME: &str = "display_name";

/// The stored forms of a user's email, its index, and the user's name.
pub(crate) struct SealedIdentity {
    pub(crate) email: String,
    pub(crate) email_index: Vec<u8>,
    pub(crate) display_name: String,
}

pub(crate) fn seal_identity(sealer: &Sealer, id: UserId, email: &Email, name: &DisplayName) -> SealedIdentity {
    let row = *id.as_uuid().as_bytes();
    let row = &row;
    SealedIdentity {
        email: sealer.seal_text(USERS, row, EMAIL, email.as_str()),
        email_index: email_index(sealer, email),
        display_name: sealer.seal_text(USERS, row, DISPLAY_NAME, name.as_str()),
    }
}

/// The blind index an email is looked up by.
pub(crate) fn email_index(sealer: &Sealer, email: &Email) -> Vec<u8> {
    sealer.index(USER_EMAIL_INDEX, email.as_str())
}

impl UserRow {
    /// The user, with email and name opened by their tenant's `sealer`.
    pub(super) fn open(self, sealer: &Sealer) -> Result<User, StoreError> {
        let row = *self.id.as_bytes();
        let mut r = self;
        let email = sealer.open_text(USERS, &row, EMAIL, std::mem::take(&mut r.email))?;
        let display_name = sealer.open_text(USERS, &row, DISPLAY_NAME, std::mem::take(&mut r.display_name))?;
        Ok(User {
            id: UserId::from_uuid(r.id),
            tenant_id: TenantId::from_uuid(r.tenant_id),
            email: Email::parse(&email).map_err(|e| corrupt("user email", e))?,
            display_name: DisplayName::parse(&display_name).map_err(|e| corrupt("user name", e))?,
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

/// The tenant's users, ordered by email (opened: the database sees only ciphertext).
pub(crate) async fn all(e: &mut Exec<'_>, tenant: TenantId, sealer: &Sealer) -> Result<Vec<User>, StoreError> {
    const SQL: &str = concat!("SELECT ", cols!(), " FROM users WHERE tenant_id = $1");
    let rows: Vec<UserRow> = run!(e, |c| sqlx::query_as(SQL).bind(tenant.as_uuid()).fetch_all(c).await)?;
    let mut users = rows.into_iter().map(|r| r.open(sealer)).collect::<Result<Vec<_>, _>>()?;
    users.sort_by(|a, b| a.email.as_str().cmp(b.email.as_str()));
    Ok(users)
}

pub(crate) async fn by_id(
    e: &mut Exec<'_>,
    tenant: TenantId,
    id: UserId,
    sealer: &Sealer,
) -> Result<Option<User>, StoreError> {
    const SQL: &str = concat!("SELECT ", cols!(), " FROM users WHERE tenant_id = $1 AND id = $2");
    let row: Option<UserRow> =
        run!(e, |c| sqlx::query_as(SQL).bind(tenant.as_uuid()).bind(id.as_uuid()).fetch_optional(c).await)?;
    row.map(|r| r.open(sealer)).transpose()
}

/// The user whose email is `email` in its normalised form (`ＹＡＭＡＤＡ@example.jp` is
/// `yamada@example.jp`), found by its blind index: one indexed lookup.
pub(crate) async fn credentials(
    e: &mut Exec<'_>,
    tenant: TenantId,
    email: &Email,
    sealer: &Sealer,
) -> Result<Option<(User, Option<String>)>, StoreError> {
    const SQL: &str =
        concat!("SELECT ", cols!(), ", password_hash FROM users WHERE tenant_id = $1 AND email_index = $2");
    let index = email_index(sealer, email);
    let row: Option<CredentialsRow> =
        run!(e, |c| sqlx::query_as(SQL).bind(tenant.as_uuid()).bind(&index).fetch_optional(c).await)?;
    row.map(|r| Ok((r.user.open(sealer)?, r.password_hash))).transpose()
}

pub(crate) async fn insert(
    e: &mut Exec<'_>,
    u: &User,
    password_hash: Option<&str>,
    sealer: &Sealer,
) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO users (tenant_id, id, email, display_name, role_id, status, created_at, \
                       updated_at, password_hash, lang, must_change_password, password_changed_at, email_index) \
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
    let sealed = seal_identity(sealer, u.id, &u.email, &u.display_name);
    run!(e, |c| sqlx::query(SQL)
        .bind(u.tenant_id.as_uuid())
        .bind(u.id.as_uuid())
        .bind(&sealed.email)
        .bind(&sealed.display_name)
        .bind(u.role_id.as_uuid())
        .bind(u.status.as_str())
        .bind(micros(u.created_at))
        .bind(micros(u.updated_at))
        .bind(password_hash)
        .bind(u.language.code())
        .bind(u.must_change_password)
        .bind(u.password_changed_at.map(micros))
        .bind(&sealed.email_index)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
    .map_err(constraint(UNIQUE))?;
    Ok(())
}

/// Changes what an administrator may change; `None` if there is no such user.
#[allow(clippy::too_many_arguments, reason = "the columns an administrator may change, and the sealer")]
pub(crate) async fn update(
    e: &mut Exec<'_>,
    tenant: TenantId,
    id: UserId,
    display_name: &DisplayName,
    role: RoleId,
    status: UserStatus,
    now: Timestamp,
    sealer: &Sealer,
) -> Result<Option<User>, StoreError> {
    const SQL: &str = concat!(
        "UPDATE users SET display_name = $3, role_id = $4, status = $5, updated_at = $6 ",
        "WHERE tenant_id = $1 AND id = $2 RETURNING ",
        cols!()
    );
    let name = sealer.seal_text(USERS, id.as_uuid().as_bytes(), DISPLAY_NAME, display_name.as_str());
    let row: Option<UserRow> = run!(e, |c| sqlx::query_as(SQL)
        .bind(tenant.as_uuid())
        .bind(id.as_uuid())
        .bind(&name)
        .bind(role.as_uuid())
        .bind(status.as_str())
        .bind(micros(now))
        .fetch_optional(c)
        .await)
    .map_err(constraint(UNIQUE))?;
    row.map(|r| r.open(sealer)).transpose()
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

/// Deletes the user; returns them as they were (opened), so that their names can be kept
/// ([`super::departed`]), or [`StoreError::NotFound`].
pub(crate) async fn delete(
    e: &mut Exec<'_>,
    tenant: TenantId,
    id: UserId,
    sealer: &Sealer,
) -> Result<User, StoreError> {
    const SQL: &str = concat!("DELETE FROM users WHERE tenant_id = $1 AND id = $2 RETURNING ", cols!());
    let row: Option<UserRow> =
        run!(e, |c| sqlx::query_as(SQL).bind(tenant.as_uuid()).bind(id.as_uuid()).fetch_optional(c).await)?;
    row.ok_or(StoreError::NotFound)?.open(sealer)
}

// Rows written before their email and name were sealed (migration 0045) -----------------------

#[derive(sqlx::FromRow)]
pub(crate) struct UnindexedRow {
    pub(crate) tenant_id: Uuid,
    pub(crate) id: Uuid,
    email: String,
    display_name: String,
}

impl UnindexedRow {
    /// The row's email and name as they are stored: plain, or already sealed by an earlier try
    /// whose index was refused as a duplicate.
    pub(crate) fn open_either(&self, sealer: &Sealer) -> Result<(Email, DisplayName), StoreError> {
        let row = *self.id.as_bytes();
        let email = sealer.open_text_or_plain(USERS, &row, EMAIL, self.email.clone())?;
        let name = sealer.open_text_or_plain(USERS, &row, DISPLAY_NAME, self.display_name.clone())?;
        Ok((
            Email::parse(&email).map_err(|e| corrupt("user email", e))?,
            DisplayName::parse(&name).map_err(|e| corrupt("user name", e))?,
        ))
    }
}

/// Users without an email index: written before migration 0045.
pub(crate) async fn unindexed(e: &mut Exec<'_>) -> Result<Vec<UnindexedRow>, StoreError> {
    const SQL: &str = "SELECT tenant_id, id, email, display_name FROM users WHERE email_index IS NULL \
                       ORDER BY tenant_id, created_at, id";
    Ok(run!(e, |c| sqlx::query_as(SQL).fetch_all(c).await)?)
}

/// Stores a user's sealed email and name with the email's index, if the row still has none.
/// `false` if the index is already another user's (two emails equal once normalised).
pub(crate) async fn set_sealed(
    e: &mut Exec<'_>,
    tenant: TenantId,
    id: UserId,
    sealed: &SealedIdentity,
) -> Result<bool, StoreError> {
    const SQL: &str = "UPDATE users SET email = $3, display_name = $4, email_index = $5 \
                       WHERE tenant_id = $1 AND id = $2 AND email_index IS NULL";
    let index_taken = "SELECT 1 FROM users WHERE tenant_id = $1 AND email_index = $2";
    let taken: Option<i32> = run!(e, |c| sqlx::query_scalar(index_taken)
        .bind(tenant.as_uuid())
        .bind(&sealed.email_index)
        .fetch_optional(c)
        .await)?;
    if taken.is_some() {
        return Ok(false);
    }
    let updated = run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(id.as_uuid())
        .bind(&sealed.email)
        .bind(&sealed.display_name)
        .bind(&sealed.email_index)
        .execute(c)
        .await
        .map(|r| r.rows_affected()));
    match updated.map_err(constraint(UNIQUE)) {
        Ok(_) => Ok(true),
        // Another node filled in the same index meanwhile.
        Err(StoreError::Conflict(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Seals a user's email and name whose index is another user's: the row keeps no index (it
/// cannot be signed in to by email until one of the two is deleted), but nothing plain.
pub(crate) async fn seal_without_index(
    e: &mut Exec<'_>,
    tenant: TenantId,
    id: UserId,
    sealed: &SealedIdentity,
) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE users SET email = $3, display_name = $4 WHERE tenant_id = $1 AND id = $2";
    run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(id.as_uuid())
        .bind(&sealed.email)
        .bind(&sealed.display_name)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}
