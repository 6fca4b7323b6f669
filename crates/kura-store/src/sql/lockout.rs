//! Counting failed sign-ins (IAM-5): per account in `users`, per source address in
//! `signin_throttle`. Each count is one atomic statement, so that sign-ins through several nodes
//! on one database never lose a failure: N parallel wrong passwords lock an account at exactly N.

use super::micros;
use crate::conn::{Exec, run};
use crate::error::StoreError;
use jiff::Timestamp;
use kura_domain::{TenantId, UserId};
use uuid::Uuid;

/// What counting one failure did to an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureCount {
    /// Counted; `failures` so far, the account still open.
    Counted { failures: u32 },
    /// Counted, and this failure locked the account.
    Locked { failures: u32 },
    /// Not counted: the account was already locked (by a failure elsewhere, perhaps at the
    /// same moment).
    AlreadyLocked,
}

#[derive(sqlx::FromRow)]
struct Counted {
    failed_logins: i64,
    locked_at: Option<i64>,
}

/// Counts a failed sign-in unless the account is locked at `now`. A lock whose time has passed
/// starts the count again at one. Reaching `threshold` locks the account until `until` (`None`:
/// until an administrator unlocks it).
pub(crate) async fn count_failure(
    e: &mut Exec<'_>,
    tenant: TenantId,
    user: UserId,
    threshold: u32,
    now: Timestamp,
    until: Option<Timestamp>,
) -> Result<FailureCount, StoreError> {
    // Column references on the right of SET are the row's values before this update, on both
    // engines; the row is locked for the statement, so concurrent failures queue on it.
    const SQL: &str = "UPDATE users SET \
        failed_logins = CASE WHEN locked_at IS NULL THEN failed_logins + 1 ELSE 1 END, \
        locked_at = CASE WHEN (CASE WHEN locked_at IS NULL THEN failed_logins + 1 ELSE 1 END) >= $3 \
            THEN $4 ELSE NULL END, \
        locked_until = CASE WHEN (CASE WHEN locked_at IS NULL THEN failed_logins + 1 ELSE 1 END) >= $3 \
            THEN $5 ELSE NULL END \
        WHERE tenant_id = $1 AND id = $2 \
        AND (locked_at IS NULL OR (locked_until IS NOT NULL AND locked_until <= $4)) \
        RETURNING failed_logins, locked_at";
    let row: Option<Counted> = run!(e, |c| sqlx::query_as(SQL)
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .bind(i64::from(threshold))
        .bind(micros(now))
        .bind(until.map(micros))
        .fetch_optional(c)
        .await)?;
    Ok(match row {
        None => FailureCount::AlreadyLocked,
        Some(r) => {
            let failures = u32::try_from(r.failed_logins).unwrap_or(u32::MAX);
            if r.locked_at.is_some() { FailureCount::Locked { failures } } else { FailureCount::Counted { failures } }
        }
    })
}

/// Starts the count again after a successful sign-in (only called when it is not zero).
pub(crate) async fn reset(e: &mut Exec<'_>, tenant: TenantId, user: UserId) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE users SET failed_logins = 0 WHERE tenant_id = $1 AND id = $2 AND locked_at IS NULL";
    run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Unlocks an account (an administrator's decision); returns whether it was locked.
pub(crate) async fn unlock(e: &mut Exec<'_>, tenant: TenantId, user: UserId) -> Result<bool, StoreError> {
    const SQL: &str = "UPDATE users SET failed_logins = 0, locked_at = NULL, locked_until = NULL \
                       WHERE tenant_id = $1 AND id = $2 AND locked_at IS NOT NULL";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(user.as_uuid())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

/// A source address's failures in its current window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Throttle {
    pub window_start: Timestamp,
    pub failures: u32,
}

#[derive(sqlx::FromRow)]
struct ThrottleRow {
    window_start: i64,
    failures: i64,
}

/// Counts a failed sign-in from `address` in `scope`: in the current window if it began after
/// `window_floor`, else in a new window starting `now`. Returns the window as it now stands.
pub(crate) async fn count_address(
    e: &mut Exec<'_>,
    scope: Uuid,
    address: &str,
    now: Timestamp,
    window_floor: Timestamp,
) -> Result<Throttle, StoreError> {
    const SQL: &str = "INSERT INTO signin_throttle (scope_id, address, window_start, failures) VALUES ($1, $2, $3, 1) \
        ON CONFLICT (scope_id, address) DO UPDATE SET \
        failures = CASE WHEN signin_throttle.window_start > $4 THEN signin_throttle.failures + 1 ELSE 1 END, \
        window_start = CASE WHEN signin_throttle.window_start > $4 THEN signin_throttle.window_start ELSE $3 END \
        RETURNING window_start, failures";
    let row: ThrottleRow = run!(e, |c| sqlx::query_as(SQL)
        .bind(scope)
        .bind(address)
        .bind(micros(now))
        .bind(micros(window_floor))
        .fetch_one(c)
        .await)?;
    Ok(Throttle {
        window_start: super::timestamp(row.window_start)?,
        failures: u32::try_from(row.failures).unwrap_or(u32::MAX),
    })
}
