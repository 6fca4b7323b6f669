//! The `refused_opens` table (DAT-2): the refused decryptions that work which repeats has met,
//! one row per tenant and piece of work, so that each is written to the tenant's log once, then
//! once a period while it goes on, and once more when it ends (`crate::refused_opens`).

use super::{count, micros, timestamp};
use crate::conn::{Exec, run};
use crate::error::StoreError;
use jiff::Timestamp;
use kura_domain::TenantId;

/// A refusal as its row holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusalState {
    /// When the value was first met.
    pub first_at: Timestamp,
    /// When the newest entry about it was written.
    pub recorded_at: Timestamp,
    /// When it was last met.
    pub seen_at: Timestamp,
    /// How often it was met since the newest entry.
    pub unrecorded: u64,
}

#[derive(sqlx::FromRow)]
struct Row {
    digest: Vec<u8>,
    first_at: i64,
    recorded_at: i64,
    seen_at: i64,
    unrecorded: i64,
}

impl Row {
    fn state(&self) -> Result<RefusalState, StoreError> {
        Ok(RefusalState {
            first_at: timestamp(self.first_at)?,
            recorded_at: timestamp(self.recorded_at)?,
            seen_at: timestamp(self.seen_at)?,
            unrecorded: count(self.unrecorded),
        })
    }
}

/// Counts one more meeting of the value with `digest`, if an entry about it was written after
/// `cutoff`: `true` then (nothing to write now), `false` if there is no such row.
pub(crate) async fn count_quiet(
    e: &mut Exec<'_>,
    tenant: TenantId,
    work: &str,
    digest: &[u8],
    cutoff: Timestamp,
    now: Timestamp,
) -> Result<bool, StoreError> {
    const SQL: &str = "UPDATE refused_opens SET unrecorded = unrecorded + 1, seen_at = $5 \
                       WHERE tenant_id = $1 AND work = $2 AND digest = $3 AND recorded_at > $4";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(work)
        .bind(digest)
        .bind(micros(cutoff))
        .bind(micros(now))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

/// The row of `tenant`'s `work`, with its digest.
pub(crate) async fn get(
    e: &mut Exec<'_>,
    tenant: TenantId,
    work: &str,
) -> Result<Option<(Vec<u8>, RefusalState)>, StoreError> {
    const SQL: &str = "SELECT digest, first_at, recorded_at, seen_at, unrecorded FROM refused_opens \
                       WHERE tenant_id = $1 AND work = $2";
    let row: Option<Row> = run!(e, |c| sqlx::query_as(SQL).bind(tenant.as_uuid()).bind(work).fetch_optional(c).await)?;
    match row {
        Some(r) => Ok(Some((r.digest.clone(), r.state()?))),
        None => Ok(None),
    }
}

/// Writes that an entry about the value with `digest` is written `now`, unless one about the
/// same value was written after `cutoff` meanwhile (another node): `false` then. `first_at` is
/// kept for the same value and set to `now` for a new one.
pub(crate) async fn claim_entry(
    e: &mut Exec<'_>,
    tenant: TenantId,
    work: &str,
    digest: &[u8],
    cutoff: Timestamp,
    now: Timestamp,
) -> Result<bool, StoreError> {
    const SQL: &str = "INSERT INTO refused_opens \
                           (tenant_id, work, digest, first_at, recorded_at, seen_at, unrecorded) \
                       VALUES ($1, $2, $3, $5, $5, $5, 0) \
                       ON CONFLICT (tenant_id, work) DO UPDATE SET \
                           first_at = CASE WHEN refused_opens.digest = excluded.digest \
                               THEN refused_opens.first_at ELSE excluded.first_at END, \
                           digest = excluded.digest, recorded_at = excluded.recorded_at, \
                           seen_at = excluded.seen_at, unrecorded = 0 \
                       WHERE refused_opens.digest <> excluded.digest OR refused_opens.recorded_at <= $4 \
                       RETURNING tenant_id";
    let row: Option<(uuid::Uuid,)> = run!(e, |c| sqlx::query_as(SQL)
        .bind(tenant.as_uuid())
        .bind(work)
        .bind(digest)
        .bind(micros(cutoff))
        .bind(micros(now))
        .fetch_optional(c)
        .await)?;
    Ok(row.is_some())
}

/// Deletes the row of `tenant`'s `work`; returns what it held.
pub(crate) async fn delete(e: &mut Exec<'_>, tenant: TenantId, work: &str) -> Result<Option<RefusalState>, StoreError> {
    const SQL: &str = "DELETE FROM refused_opens WHERE tenant_id = $1 AND work = $2 \
                       RETURNING digest, first_at, recorded_at, seen_at, unrecorded";
    let row: Option<Row> = run!(e, |c| sqlx::query_as(SQL).bind(tenant.as_uuid()).bind(work).fetch_optional(c).await)?;
    row.map(|r| r.state()).transpose()
}

/// The tenants with a row for `work`.
pub(crate) async fn tenants(e: &mut Exec<'_>, work: &str) -> Result<Vec<TenantId>, StoreError> {
    const SQL: &str = "SELECT tenant_id FROM refused_opens WHERE work = $1 ORDER BY tenant_id";
    let rows: Vec<(uuid::Uuid,)> = run!(e, |c| sqlx::query_as(SQL).bind(work).fetch_all(c).await)?;
    Ok(rows.into_iter().map(|(id,)| TenantId::from_uuid(id)).collect())
}
