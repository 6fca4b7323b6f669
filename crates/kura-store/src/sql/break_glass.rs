//! The `break_glass` table (IAM-13): operators' accesses to a tenant, their approval and their
//! end. The support session's token is kept as a digest only.

use super::{found, hash32, micros, opt_timestamp, timestamp};
use crate::conn::{Exec, run};
use crate::error::StoreError;
use kura_crypto::TokenDigest;
use kura_domain::{BreakGlass, BreakGlassStatus, TenantId};
use uuid::Uuid;

macro_rules! cols {
    () => {
        "tenant_id, id, operator_id, operator_email, reason, minutes, requested_at, approval_required, status, \
         decided_by, decided_at, starts_at, ends_at, ended_at, ended_by"
    };
}

#[derive(sqlx::FromRow)]
struct Row {
    tenant_id: Uuid,
    id: Uuid,
    operator_id: Uuid,
    operator_email: String,
    reason: String,
    minutes: i64,
    requested_at: i64,
    approval_required: bool,
    status: String,
    decided_by: Option<String>,
    decided_at: Option<i64>,
    starts_at: Option<i64>,
    ends_at: Option<i64>,
    ended_at: Option<i64>,
    ended_by: Option<String>,
}

impl TryFrom<Row> for BreakGlass {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Self, StoreError> {
        Ok(BreakGlass {
            id: r.id,
            tenant_id: TenantId::from_uuid(r.tenant_id),
            operator_id: r.operator_id,
            operator: r.operator_email,
            reason: r.reason,
            minutes: u32::try_from(r.minutes).map_err(|e| super::corrupt("break-glass minutes", e))?,
            requested_at: timestamp(r.requested_at)?,
            approval_required: r.approval_required,
            status: BreakGlassStatus::parse(&r.status)
                .ok_or_else(|| super::corrupt("break-glass status", &r.status))?,
            decided_by: r.decided_by,
            decided_at: opt_timestamp(r.decided_at)?,
            starts_at: opt_timestamp(r.starts_at)?,
            ends_at: opt_timestamp(r.ends_at)?,
            ended_at: opt_timestamp(r.ended_at)?,
            ended_by: r.ended_by,
        })
    }
}

pub(crate) async fn insert(e: &mut Exec<'_>, g: &BreakGlass) -> Result<(), StoreError> {
    const SQL: &str = concat!(
        "INSERT INTO break_glass (",
        cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    );
    run!(e, |c| sqlx::query(SQL)
        .bind(g.tenant_id.as_uuid())
        .bind(g.id)
        .bind(g.operator_id)
        .bind(g.operator.as_str())
        .bind(g.reason.as_str())
        .bind(i64::from(g.minutes))
        .bind(micros(g.requested_at))
        .bind(g.approval_required)
        .bind(g.status.as_str())
        .bind(g.decided_by.as_deref())
        .bind(g.decided_at.map(micros))
        .bind(g.starts_at.map(micros))
        .bind(g.ends_at.map(micros))
        .bind(g.ended_at.map(micros))
        .bind(g.ended_by.as_deref())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
    .map_err(super::constraint("this break-glass access exists already"))?;
    Ok(())
}

/// Writes `g`'s status, decision and times if the stored status is still `from`: one
/// conditional statement, so that of two nodes closing or deciding the same access at once only
/// one does (and writes the entry). Whether it did.
pub(crate) async fn advance(e: &mut Exec<'_>, g: &BreakGlass, from: BreakGlassStatus) -> Result<bool, StoreError> {
    const SQL: &str = "UPDATE break_glass SET status = $3, decided_by = $4, decided_at = $5, starts_at = $6, \
                       ends_at = $7, ended_at = $8, ended_by = $9, \
                       token_hash = CASE WHEN $3 = 'active' THEN token_hash ELSE NULL END \
                       WHERE tenant_id = $1 AND id = $2 AND status = $10";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(g.tenant_id.as_uuid())
        .bind(g.id)
        .bind(g.status.as_str())
        .bind(g.decided_by.as_deref())
        .bind(g.decided_at.map(micros))
        .bind(g.starts_at.map(micros))
        .bind(g.ends_at.map(micros))
        .bind(g.ended_at.map(micros))
        .bind(g.ended_by.as_deref())
        .bind(from.as_str())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Keeps the digest of a new support-session token for an active access (replacing the last).
pub(crate) async fn set_token(
    e: &mut Exec<'_>,
    tenant: TenantId,
    id: Uuid,
    digest: &TokenDigest,
) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE break_glass SET token_hash = $3 WHERE tenant_id = $1 AND id = $2 AND status = 'active'";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(id)
        .bind(digest.0.as_slice())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    found(n)
}

#[derive(sqlx::FromRow)]
struct WithToken {
    #[sqlx(flatten)]
    row: Row,
    token_hash: Option<Vec<u8>>,
}

/// One access of the tenant, with the digest of its support-session token if one is open.
pub(crate) async fn get(
    e: &mut Exec<'_>,
    tenant: TenantId,
    id: Uuid,
) -> Result<Option<(BreakGlass, Option<[u8; 32]>)>, StoreError> {
    const SQL: &str = concat!("SELECT ", cols!(), ", token_hash FROM break_glass WHERE tenant_id = $1 AND id = $2");
    let row: Option<WithToken> =
        run!(e, |c| sqlx::query_as(SQL).bind(tenant.as_uuid()).bind(id).fetch_optional(c).await)?;
    let Some(WithToken { row, token_hash }) = row else { return Ok(None) };
    let digest = token_hash.map(|h| hash32("break-glass token", &h)).transpose()?;
    Ok(Some((row.try_into()?, digest)))
}

/// The tenant's accesses, newest first (at most 500).
pub(crate) async fn of_tenant(e: &mut Exec<'_>, tenant: TenantId) -> Result<Vec<BreakGlass>, StoreError> {
    const SQL: &str = concat!(
        "SELECT ",
        cols!(),
        " FROM break_glass WHERE tenant_id = $1 ORDER BY requested_at DESC, id DESC LIMIT 500"
    );
    let rows: Vec<Row> = run!(e, |c| sqlx::query_as(SQL).bind(tenant.as_uuid()).fetch_all(c).await)?;
    rows.into_iter().map(BreakGlass::try_from).collect()
}

/// The accesses still pending or active, of every tenant (the platform's overview and the job
/// that closes them), oldest first.
pub(crate) async fn open(e: &mut Exec<'_>) -> Result<Vec<BreakGlass>, StoreError> {
    const SQL: &str = concat!(
        "SELECT ",
        cols!(),
        " FROM break_glass WHERE status IN ('pending', 'active') ORDER BY requested_at, id LIMIT 1000"
    );
    let rows: Vec<Row> = run!(e, |c| sqlx::query_as(SQL).fetch_all(c).await)?;
    rows.into_iter().map(BreakGlass::try_from).collect()
}

/// The tenant's accesses still pending or active (the console's banner), oldest first.
pub(crate) async fn open_of_tenant(e: &mut Exec<'_>, tenant: TenantId) -> Result<Vec<BreakGlass>, StoreError> {
    const SQL: &str = concat!(
        "SELECT ",
        cols!(),
        " FROM break_glass WHERE status IN ('pending', 'active') AND tenant_id = $1 ORDER BY requested_at, id"
    );
    let rows: Vec<Row> = run!(e, |c| sqlx::query_as(SQL).bind(tenant.as_uuid()).fetch_all(c).await)?;
    rows.into_iter().map(BreakGlass::try_from).collect()
}
