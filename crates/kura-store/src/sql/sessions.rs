//! The `sessions` table. Keyed by (scope, token digest): the scope is the tenant id for user
//! sessions and the nil UUID for operator sessions, so a token only works in its own scope.

use super::{corrupt, found, micros, timestamp};
use crate::conn::{Exec, run};
use crate::error::StoreError;
use crate::rows::{Session, SessionOwner};
use jiff::Timestamp;
use kura_crypto::TokenDigest;
use kura_domain::{OperatorId, TenantId, UserId};
use uuid::Uuid;

macro_rules! cols {
    () => {
        "scope_id, user_id, operator_id, csrf_token, created_at, last_seen_at, expires_at, source_ip, user_agent"
    };
}

#[derive(sqlx::FromRow)]
pub(super) struct SessionRow {
    pub(super) scope_id: Uuid,
    pub(super) user_id: Option<Uuid>,
    pub(super) operator_id: Option<Uuid>,
    pub(super) csrf_token: String,
    pub(super) created_at: i64,
    pub(super) last_seen_at: i64,
    pub(super) expires_at: i64,
    pub(super) source_ip: Option<String>,
    pub(super) user_agent: Option<String>,
}

impl TryFrom<SessionRow> for Session {
    type Error = StoreError;
    fn try_from(r: SessionRow) -> Result<Self, StoreError> {
        let owner = match (r.user_id, r.operator_id) {
            (Some(user), None) if !r.scope_id.is_nil() => {
                SessionOwner::User { tenant_id: TenantId::from_uuid(r.scope_id), user_id: UserId::from_uuid(user) }
            }
            (None, Some(op)) if r.scope_id.is_nil() => SessionOwner::Operator(OperatorId::from_uuid(op)),
            _ => return Err(corrupt("session", "owner does not match its scope")),
        };
        Ok(Session {
            owner,
            csrf_token: r.csrf_token,
            created_at: timestamp(r.created_at)?,
            last_seen_at: timestamp(r.last_seen_at)?,
            expires_at: timestamp(r.expires_at)?,
            source_ip: r.source_ip,
            user_agent: r.user_agent,
        })
    }
}

/// The scope a session of `owner` lives in.
pub(crate) fn scope_of(owner: SessionOwner) -> Uuid {
    match owner {
        SessionOwner::User { tenant_id, .. } => tenant_id.as_uuid(),
        SessionOwner::Operator(_) => Uuid::nil(),
    }
}

pub(crate) async fn insert(e: &mut Exec<'_>, digest: &TokenDigest, s: &Session) -> Result<(), StoreError> {
    const SQL: &str =
        concat!("INSERT INTO sessions (token_hash, ", cols!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)");
    let (user, operator) = match s.owner {
        SessionOwner::User { user_id, .. } => (Some(user_id.as_uuid()), None),
        SessionOwner::Operator(op) => (None, Some(op.as_uuid())),
    };
    run!(e, |c| sqlx::query(SQL)
        .bind(digest.0.as_slice())
        .bind(scope_of(s.owner))
        .bind(user)
        .bind(operator)
        .bind(s.csrf_token.as_str())
        .bind(micros(s.created_at))
        .bind(micros(s.last_seen_at))
        .bind(micros(s.expires_at))
        .bind(s.source_ip.as_deref())
        .bind(s.user_agent.as_deref())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The session if it exists and has not expired at `now`.
pub(crate) async fn live(
    e: &mut Exec<'_>,
    scope: Uuid,
    digest: &TokenDigest,
    now: Timestamp,
) -> Result<Option<Session>, StoreError> {
    const SQL: &str =
        concat!("SELECT ", cols!(), " FROM sessions WHERE scope_id = $1 AND token_hash = $2 AND expires_at > $3");
    let row: Option<SessionRow> = run!(e, |c| sqlx::query_as(SQL)
        .bind(scope)
        .bind(digest.0.as_slice())
        .bind(micros(now))
        .fetch_optional(c)
        .await)?;
    row.map(Session::try_from).transpose()
}

/// Records activity. A session that no longer exists is not an error: there is nothing to record.
pub(crate) async fn touch(
    e: &mut Exec<'_>,
    scope: Uuid,
    digest: &TokenDigest,
    now: Timestamp,
) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE sessions SET last_seen_at = $3 WHERE scope_id = $1 AND token_hash = $2";
    run!(e, |c| sqlx::query(SQL)
        .bind(scope)
        .bind(digest.0.as_slice())
        .bind(micros(now))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

pub(crate) async fn delete(e: &mut Exec<'_>, scope: Uuid, digest: &TokenDigest) -> Result<(), StoreError> {
    const SQL: &str = "DELETE FROM sessions WHERE scope_id = $1 AND token_hash = $2";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(scope)
        .bind(digest.0.as_slice())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    found(n)
}

/// Signs a user out everywhere; returns how many sessions ended.
pub(crate) async fn delete_for_user(e: &mut Exec<'_>, tenant: TenantId, user: UserId) -> Result<u64, StoreError> {
    const SQL: &str = "DELETE FROM sessions WHERE scope_id = $1 AND user_id = $2";
    Ok(run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?)
}
