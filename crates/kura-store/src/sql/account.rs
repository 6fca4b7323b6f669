//! A user's own sessions (IAM-9) and password history (IAM-4): the statements behind "my
//! sessions", forced logout, the concurrent-login policy and the reuse rule.

use super::micros;
use super::sessions::SessionRow;
use crate::conn::{Exec, run};
use crate::error::StoreError;
use crate::rows::Session;
use jiff::Timestamp;
use kura_crypto::TokenDigest;
use kura_domain::{TenantId, UserId};
use uuid::Uuid;

/// A session as listed to its owner: a handle to end it by (not the token, nor its digest), and
/// the session.
#[derive(Clone, Debug)]
pub struct OwnSession {
    /// 32 hex characters derived from the token's digest; naming it does not let anyone sign in.
    pub handle: String,
    pub session: Session,
    /// The session the listing request came with.
    pub current: bool,
}

/// The handle of the session whose token has `digest`.
pub fn session_handle(digest: &TokenDigest) -> String {
    kura_crypto::sha256(&digest.0)[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(sqlx::FromRow)]
struct DigestedRow {
    token_hash: Vec<u8>,
    #[sqlx(flatten)]
    session: SessionRow,
}

/// The user's unexpired sessions (at `now`), most recently used first, with their digests.
pub(crate) async fn sessions_of(
    e: &mut Exec<'_>,
    tenant: TenantId,
    user: UserId,
    now: Timestamp,
) -> Result<Vec<(TokenDigest, Session)>, StoreError> {
    const SQL: &str = "SELECT token_hash, scope_id, user_id, operator_id, csrf_token, created_at, last_seen_at, \
                       expires_at, source_ip, user_agent FROM sessions \
                       WHERE scope_id = $1 AND user_id = $2 AND expires_at > $3 \
                       ORDER BY last_seen_at DESC, created_at DESC";
    let rows: Vec<DigestedRow> = run!(e, |c| sqlx::query_as(SQL)
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .bind(micros(now))
        .fetch_all(c)
        .await)?;
    rows.into_iter()
        .map(|r| Ok((TokenDigest(super::hash32("session digest", &r.token_hash)?), Session::try_from(r.session)?)))
        .collect()
}

/// Takes the user's row lock for the rest of the write's transaction (PostgreSQL: the row; SQLite:
/// the file's write lock is already held). Two nodes deciding on the same account's sessions then
/// decide one after the other, and the second sees what the first committed (IAM-9). Returns
/// whether the user exists.
pub(crate) async fn lock_user(e: &mut Exec<'_>, tenant: TenantId, user: UserId) -> Result<bool, StoreError> {
    const SQL: &str = "UPDATE users SET status = status WHERE tenant_id = $1 AND id = $2";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// How many of the user's sessions are live at `now`: unexpired and used after `active_since`
/// (the refuse policy counts them; an idled-out session does not count).
pub(crate) async fn live_sessions(
    e: &mut Exec<'_>,
    tenant: TenantId,
    user: UserId,
    now: Timestamp,
    active_since: Timestamp,
) -> Result<i64, StoreError> {
    const SQL: &str = "SELECT COUNT(*) FROM sessions WHERE scope_id = $1 AND user_id = $2 AND expires_at > $3 \
                       AND last_seen_at > $4";
    Ok(run!(e, |c| sqlx::query_scalar(SQL)
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .bind(micros(now))
        .bind(micros(active_since))
        .fetch_one(c)
        .await)?)
}

/// Ends the user's sessions except the one with `keep`; returns how many ended.
pub(crate) async fn delete_sessions_except(
    e: &mut Exec<'_>,
    tenant: TenantId,
    user: UserId,
    keep: Option<&TokenDigest>,
) -> Result<u64, StoreError> {
    const SQL: &str = "DELETE FROM sessions WHERE scope_id = $1 AND user_id = $2 AND token_hash <> $3";
    // No session has an empty digest, so `None` keeps nothing.
    let keep: &[u8] = keep.map_or(&[], |d| d.0.as_slice());
    Ok(run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .bind(keep)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?)
}

/// Inserts a new user session only if its user is active and not locked at `now`, in the same
/// statement: a lock or a disabling committed by another node after the sign-in read its account
/// still stops it. Returns whether the session was created.
pub(crate) async fn insert_session_if_open(
    e: &mut Exec<'_>,
    digest: &TokenDigest,
    s: &Session,
    tenant: TenantId,
    user: UserId,
) -> Result<bool, StoreError> {
    const SQL: &str = "INSERT INTO sessions (token_hash, scope_id, user_id, csrf_token, created_at, \
        last_seen_at, expires_at, source_ip, user_agent) \
        SELECT $1, $2, $3, $4, $5, $5, $6, $7, $8 FROM users \
        WHERE tenant_id = $2 AND id = $3 AND status = 'active' \
        AND (locked_at IS NULL OR (locked_until IS NOT NULL AND locked_until <= $5))";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(digest.0.as_slice())
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .bind(s.csrf_token.as_str())
        .bind(micros(s.created_at))
        .bind(micros(s.expires_at))
        .bind(s.source_ip.as_deref())
        .bind(s.user_agent.as_deref())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Remembers a replaced password hash.
pub(crate) async fn remember_password(
    e: &mut Exec<'_>,
    tenant: TenantId,
    user: UserId,
    changed_at: Timestamp,
    password_hash: &str,
) -> Result<(), StoreError> {
    const SQL: &str =
        "INSERT INTO password_history (tenant_id, user_id, id, changed_at, password_hash) VALUES ($1, $2, $3, $4, $5)";
    run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .bind(Uuid::now_v7())
        .bind(micros(changed_at))
        .bind(password_hash)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The user's last `n` remembered hashes, newest first.
pub(crate) async fn recent_passwords(
    e: &mut Exec<'_>,
    tenant: TenantId,
    user: UserId,
    n: u32,
) -> Result<Vec<String>, StoreError> {
    const SQL: &str = "SELECT password_hash FROM password_history WHERE tenant_id = $1 AND user_id = $2 \
                       ORDER BY id DESC LIMIT $3";
    Ok(run!(e, |c| sqlx::query_scalar(SQL)
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .bind(i64::from(n))
        .fetch_all(c)
        .await)?)
}

/// Forgets all but the user's last `keep` hashes (all of them with 0).
pub(crate) async fn forget_passwords(
    e: &mut Exec<'_>,
    tenant: TenantId,
    user: UserId,
    keep: u32,
) -> Result<(), StoreError> {
    const SQL: &str = "DELETE FROM password_history WHERE tenant_id = $1 AND user_id = $2 AND id NOT IN \
                       (SELECT id FROM password_history WHERE tenant_id = $1 AND user_id = $2 ORDER BY id DESC LIMIT $3)";
    run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .bind(i64::from(keep))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The user's password hash (`Some(None)` while none is set; `None` if there is no such user).
pub(crate) async fn password_hash_of(
    e: &mut Exec<'_>,
    tenant: TenantId,
    user: UserId,
) -> Result<Option<Option<String>>, StoreError> {
    const SQL: &str = "SELECT password_hash FROM users WHERE tenant_id = $1 AND id = $2";
    Ok(run!(e, |c| sqlx::query_scalar(SQL).bind(tenant.as_uuid()).bind(user.as_uuid()).fetch_optional(c).await)?)
}

/// Replaces a hash by a stronger one of the same password (IAM-8), unless the password changed
/// meanwhile (the stored hash is no longer `old`); returns whether it was replaced.
pub(crate) async fn rehash(
    e: &mut Exec<'_>,
    tenant: TenantId,
    user: UserId,
    old: &str,
    new: &str,
) -> Result<bool, StoreError> {
    const SQL: &str = "UPDATE users SET password_hash = $4 WHERE tenant_id = $1 AND id = $2 AND password_hash = $3";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .bind(old)
        .bind(new)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Requires (or no longer requires) a new password at the next sign-in.
pub(crate) async fn require_password_change(
    e: &mut Exec<'_>,
    tenant: TenantId,
    user: UserId,
    required: bool,
) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE users SET must_change_password = $3 WHERE tenant_id = $1 AND id = $2";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .bind(required)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    super::found(n)
}

/// Ends the operator's sessions except the one with `keep`; returns how many ended.
pub(crate) async fn delete_operator_sessions_except(
    e: &mut Exec<'_>,
    operator: kura_domain::OperatorId,
    keep: &TokenDigest,
) -> Result<u64, StoreError> {
    const SQL: &str = "DELETE FROM sessions WHERE scope_id = $1 AND operator_id = $2 AND token_hash <> $3";
    Ok(run!(e, |c| sqlx::query(SQL)
        .bind(Uuid::nil())
        .bind(operator.as_uuid())
        .bind(keep.0.as_slice())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?)
}

/// Active users of the tenant with a password set at or before `changed_before`, whose last
/// expiry warning is not yet `stage` or nearer (the candidates for a warning).
pub(crate) async fn expiring(
    e: &mut Exec<'_>,
    tenant: TenantId,
    changed_before: Timestamp,
    stage: u32,
    sealer: &crate::vault::Sealer,
) -> Result<Vec<kura_domain::User>, StoreError> {
    const SQL: &str = concat!(
        "SELECT ",
        super::users::cols!(),
        " FROM users WHERE tenant_id = $1 AND status = 'active' AND password_hash IS NOT NULL ",
        "AND must_change_password = FALSE AND password_changed_at <= $2 ",
        "AND (expiry_notice = 0 OR expiry_notice > $3) ORDER BY id"
    );
    let rows: Vec<super::users::UserRow> = run!(e, |c| sqlx::query_as(SQL)
        .bind(tenant.as_uuid())
        .bind(micros(changed_before))
        .bind(i64::from(stage))
        .fetch_all(c)
        .await)?;
    rows.into_iter().map(|r| r.open(sealer)).collect()
}

/// Records that the `stage`-days warning goes out for the user's current password, unless it
/// (or a nearer one) already did, or the password changed since `changed_at`; returns whether
/// this write is the one to send it (of two nodes, one is).
pub(crate) async fn claim_expiry_notice(
    e: &mut Exec<'_>,
    tenant: TenantId,
    user: UserId,
    changed_at: Timestamp,
    stage: u32,
) -> Result<bool, StoreError> {
    const SQL: &str = "UPDATE users SET expiry_notice = $4 WHERE tenant_id = $1 AND id = $2 \
                       AND password_changed_at = $3 AND (expiry_notice = 0 OR expiry_notice > $4)";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .bind(micros(changed_at))
        .bind(i64::from(stage))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}
