//! The `user_tokens` table: single-use links to set a password (TEN-1, IAM-7), stored as digests.

use super::{micros, timestamp};
use crate::conn::{Exec, run};
use crate::error::StoreError;
use jiff::Timestamp;
use kura_crypto::TokenDigest;
use kura_domain::{TenantId, UserId};

/// What a link is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Choosing the first password of a new account.
    Setup,
    /// Choosing a new password after "forgot password".
    Reset,
}

impl LinkPurpose {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Setup => "setup",
            Self::Reset => "reset",
        }
    }
}

/// Forgets the user's unused links of `purpose` (a new one replaces them).
pub(crate) async fn forget(
    e: &mut Exec<'_>,
    tenant: TenantId,
    user: UserId,
    purpose: LinkPurpose,
) -> Result<(), StoreError> {
    const SQL: &str =
        "DELETE FROM user_tokens WHERE tenant_id = $1 AND user_id = $2 AND purpose = $3 AND used_at IS NULL";
    run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .bind(purpose.as_str())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Forgets every link of the user (the account is deleted, or its password was set).
pub(crate) async fn forget_all(e: &mut Exec<'_>, tenant: TenantId, user: UserId) -> Result<(), StoreError> {
    const SQL: &str = "DELETE FROM user_tokens WHERE tenant_id = $1 AND user_id = $2";
    run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

pub(crate) async fn insert(
    e: &mut Exec<'_>,
    tenant: TenantId,
    digest: &TokenDigest,
    user: UserId,
    purpose: LinkPurpose,
    now: Timestamp,
    expires_at: Timestamp,
) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO user_tokens (tenant_id, token_hash, user_id, purpose, created_at, expires_at) \
                       VALUES ($1, $2, $3, $4, $5, $6)";
    run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(digest.0.as_slice())
        .bind(user.as_uuid())
        .bind(purpose.as_str())
        .bind(micros(now))
        .bind(micros(expires_at))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    user_id: uuid::Uuid,
    expires_at: i64,
}

/// The user and expiry of an unused, unexpired link of `purpose` (without burning it).
pub(crate) async fn live(
    e: &mut Exec<'_>,
    tenant: TenantId,
    digest: &TokenDigest,
    purpose: LinkPurpose,
    now: Timestamp,
) -> Result<Option<(UserId, Timestamp)>, StoreError> {
    const SQL: &str = "SELECT user_id, expires_at FROM user_tokens WHERE tenant_id = $1 AND token_hash = $2 \
                       AND purpose = $3 AND used_at IS NULL AND expires_at > $4";
    let row: Option<LinkRow> = run!(e, |c| sqlx::query_as(SQL)
        .bind(tenant.as_uuid())
        .bind(digest.0.as_slice())
        .bind(purpose.as_str())
        .bind(micros(now))
        .fetch_optional(c)
        .await)?;
    row.map(|r| Ok((UserId::from_uuid(r.user_id), timestamp(r.expires_at)?))).transpose()
}

/// Burns an unused, unexpired link in one statement and returns its user: of two requests with
/// the same link, exactly one gets it.
pub(crate) async fn burn(
    e: &mut Exec<'_>,
    tenant: TenantId,
    digest: &TokenDigest,
    purpose: LinkPurpose,
    now: Timestamp,
) -> Result<Option<UserId>, StoreError> {
    const SQL: &str = "UPDATE user_tokens SET used_at = $4 WHERE tenant_id = $1 AND token_hash = $2 \
                       AND purpose = $3 AND used_at IS NULL AND expires_at > $4 RETURNING user_id";
    let user: Option<uuid::Uuid> = run!(e, |c| sqlx::query_scalar(SQL)
        .bind(tenant.as_uuid())
        .bind(digest.0.as_slice())
        .bind(purpose.as_str())
        .bind(micros(now))
        .fetch_optional(c)
        .await)?;
    Ok(user.map(UserId::from_uuid))
}

/// When the user's last link of `purpose` was made, if they have one.
pub(crate) async fn latest(
    e: &mut Exec<'_>,
    tenant: TenantId,
    user: UserId,
    purpose: LinkPurpose,
) -> Result<Option<Timestamp>, StoreError> {
    const SQL: &str = "SELECT MAX(created_at) FROM user_tokens WHERE tenant_id = $1 AND user_id = $2 AND purpose = $3";
    let at: Option<i64> = run!(e, |c| sqlx::query_scalar(SQL)
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .bind(purpose.as_str())
        .fetch_one(c)
        .await)?;
    at.map(timestamp).transpose()
}
