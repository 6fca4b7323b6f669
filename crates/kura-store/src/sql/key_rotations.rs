//! The `key_rotations` table (DAT-2): a tenant's data-key rotation jobs, claimed by a worker on
//! any node for a lease, with their durable position.

use super::{corrupt, count, found, micros, opt_timestamp, signed, timestamp};
use crate::conn::{Exec, run};
use crate::error::StoreError;
use crate::vault::Sealer;
use jiff::Timestamp;
use kura_domain::{Actor, ActorKind, TenantId};
use uuid::Uuid;

/// What a job does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RotationKind {
    /// A new version of the tenant's data key; the values under older versions are re-sealed.
    Rotate,
    /// The tenant's first keys: its plain values (stored before encryption at rest was switched
    /// on) are sealed.
    Seal,
}

impl RotationKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Rotate => "rotate",
            Self::Seal => "seal",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Rotate, Self::Seal].into_iter().find(|k| k.as_str() == s)
    }
}

/// Where a job stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RotationStatus {
    Running,
    Done,
    Failed,
}

impl RotationStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Running, Self::Done, Self::Failed].into_iter().find(|k| k.as_str() == s)
    }
}

/// One rotation job.
#[derive(Clone, Debug)]
pub struct KeyRotation {
    pub id: Uuid,
    pub tenant: TenantId,
    pub kind: RotationKind,
    /// The data-key version every value is under once the job is done.
    pub target_version: u32,
    pub status: RotationStatus,
    /// 1 while re-sealing; later passes check that nothing is left.
    pub pass: u32,
    /// The sealed column the pass is in, and the key of the last row done there.
    pub column_no: usize,
    pub cursor: Option<Vec<u8>>,
    /// Rows gone through in this pass, of `rows_total`.
    pub rows_done: u64,
    pub rows_total: Option<u64>,
    /// Values re-sealed in all passes, and in this pass.
    pub resealed: u64,
    pub pass_resealed: u64,
    /// Who asked for it (its label opened).
    pub actor: Actor,
    pub claim: Option<Uuid>,
    pub claimed_until: Option<Timestamp>,
    pub error: Option<String>,
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

/// The table and field of the sealed label.
const TABLE: &str = "key_rotations";
const LABEL: &str = "actor_label";

macro_rules! columns {
    () => {
        "tenant_id, id, kind, target_version, status, pass, column_no, cursor, rows_done, rows_total, resealed, \
         pass_resealed, actor_kind, actor_id, actor_label, actor_role, source_ip, claim_id, claimed_until, error, \
         created_at, finished_at"
    };
}

#[derive(sqlx::FromRow)]
pub(crate) struct Row {
    tenant_id: Uuid,
    id: Uuid,
    kind: String,
    target_version: i64,
    status: String,
    pass: i64,
    column_no: i64,
    cursor: Option<Vec<u8>>,
    rows_done: i64,
    rows_total: Option<i64>,
    resealed: i64,
    pass_resealed: i64,
    actor_kind: String,
    actor_id: Option<Uuid>,
    actor_label: String,
    actor_role: Option<String>,
    source_ip: Option<String>,
    claim_id: Option<Uuid>,
    claimed_until: Option<i64>,
    error: Option<String>,
    created_at: i64,
    finished_at: Option<i64>,
}

impl Row {
    pub(crate) fn tenant(&self) -> TenantId {
        TenantId::from_uuid(self.tenant_id)
    }

    pub(crate) fn id(&self) -> Uuid {
        self.id
    }

    pub(crate) fn is_running(&self) -> bool {
        self.status == RotationStatus::Running.as_str()
    }

    /// The job, its requester's label opened with `sealer` (the tenant's).
    pub(crate) fn open(self, sealer: &Sealer) -> Result<KeyRotation, StoreError> {
        let label = sealer.open_text(TABLE, self.id.as_bytes(), LABEL, self.actor_label)?;
        let small = |what: &str, n: i64| u32::try_from(n).map_err(|_| corrupt(what, n));
        Ok(KeyRotation {
            id: self.id,
            tenant: TenantId::from_uuid(self.tenant_id),
            kind: RotationKind::parse(&self.kind).ok_or_else(|| corrupt("key rotation kind", &self.kind))?,
            target_version: small("key version", self.target_version)?,
            status: RotationStatus::parse(&self.status).ok_or_else(|| corrupt("key rotation status", &self.status))?,
            pass: small("key rotation pass", self.pass)?,
            column_no: usize::try_from(self.column_no).map_err(|_| corrupt("key rotation column", self.column_no))?,
            cursor: self.cursor,
            rows_done: count(self.rows_done),
            rows_total: self.rows_total.map(count),
            resealed: count(self.resealed),
            pass_resealed: count(self.pass_resealed),
            actor: Actor {
                kind: ActorKind::parse(&self.actor_kind).ok_or_else(|| corrupt("actor kind", &self.actor_kind))?,
                id: self.actor_id,
                label,
                role: self.actor_role,
                source_ip: self.source_ip,
                // The job keeps who asked, not their client: the start entry has it.
                user_agent: None,
            },
            claim: self.claim_id,
            claimed_until: opt_timestamp(self.claimed_until)?,
            error: self.error,
            created_at: timestamp(self.created_at)?,
            finished_at: opt_timestamp(self.finished_at)?,
        })
    }
}

/// A new running job. A tenant that has one already is [`StoreError::Conflict`].
pub(crate) async fn insert(
    e: &mut Exec<'_>,
    sealer: &Sealer,
    id: Uuid,
    kind: RotationKind,
    target_version: u32,
    actor: &Actor,
    now: Timestamp,
) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO key_rotations (tenant_id, id, kind, target_version, status, pass, column_no, \
        rows_done, resealed, pass_resealed, actor_kind, actor_id, actor_label, actor_role, source_ip, created_at) \
        VALUES ($1, $2, $3, $4, 'running', 1, 0, 0, 0, 0, $5, $6, $7, $8, $9, $10)";
    let label = sealer.seal_text(TABLE, id.as_bytes(), LABEL, &actor.label);
    run!(e, |c| sqlx::query(SQL)
        .bind(sealer.tenant().as_uuid())
        .bind(id)
        .bind(kind.as_str())
        .bind(i64::from(target_version))
        .bind(actor.kind.as_str())
        .bind(actor.id)
        .bind(&label)
        .bind(actor.role.as_deref())
        .bind(actor.source_ip.as_deref())
        .bind(micros(now))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
    .map_err(super::constraint("a key rotation of this tenant is running already"))?;
    Ok(())
}

/// The newest `limit` jobs of `tenant`, newest first.
pub(crate) async fn recent(e: &mut Exec<'_>, tenant: TenantId, limit: u32) -> Result<Vec<Row>, StoreError> {
    const SQL: &str = concat!(
        "SELECT ",
        columns!(),
        " FROM key_rotations WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
    );
    Ok(run!(e, |c| sqlx::query_as(SQL).bind(tenant.as_uuid()).bind(i64::from(limit)).fetch_all(c).await)?)
}

/// Every running job, all tenants, oldest first (the operator's view).
pub(crate) async fn running(e: &mut Exec<'_>) -> Result<Vec<Row>, StoreError> {
    const SQL: &str =
        concat!("SELECT ", columns!(), " FROM key_rotations WHERE status = 'running' ORDER BY created_at, id");
    Ok(run!(e, |c| sqlx::query_as(SQL).fetch_all(c).await)?)
}

/// Takes the oldest running job that no worker holds (never claimed, or its lease ended) for
/// `claim` until `lease_until`. The condition is repeated outside the subquery: on PostgreSQL a
/// second node waiting on the same row checks it again once the first commits.
pub(crate) async fn claim(
    e: &mut Exec<'_>,
    now: Timestamp,
    lease_until: Timestamp,
    claim: Uuid,
) -> Result<Option<Row>, StoreError> {
    const SQL: &str = concat!(
        "UPDATE key_rotations SET claim_id = $3, claimed_until = $2 \
         WHERE id IN (SELECT id FROM key_rotations WHERE status = 'running' \
             AND (claimed_until IS NULL OR claimed_until <= $1) ORDER BY created_at, id LIMIT 1) \
         AND status = 'running' AND (claimed_until IS NULL OR claimed_until <= $1) RETURNING ",
        columns!()
    );
    Ok(run!(e, |c| sqlx::query_as(SQL)
        .bind(micros(now))
        .bind(micros(lease_until))
        .bind(claim)
        .fetch_optional(c)
        .await)?)
}

/// A job's position after a batch, written with the batch.
#[derive(Clone, Debug)]
pub(crate) struct Position {
    pub pass: u32,
    pub column_no: usize,
    pub cursor: Option<Vec<u8>>,
    pub rows_done: u64,
    pub rows_total: Option<u64>,
    pub resealed: u64,
    pub pass_resealed: u64,
}

/// Records the position under `claim` and extends its lease; [`StoreError::NotFound`] if the
/// claim is no longer this worker's.
pub(crate) async fn advance(
    e: &mut Exec<'_>,
    tenant: TenantId,
    id: Uuid,
    claim: Uuid,
    p: &Position,
    lease_until: Timestamp,
) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE key_rotations SET pass = $4, column_no = $5, cursor = $6, rows_done = $7, \
        rows_total = $8, resealed = $9, pass_resealed = $10, claimed_until = $11 \
        WHERE tenant_id = $1 AND id = $2 AND claim_id = $3 AND status = 'running'";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(id)
        .bind(claim)
        .bind(i64::from(p.pass))
        .bind(i64::try_from(p.column_no).unwrap_or(i64::MAX))
        .bind(p.cursor.as_deref())
        .bind(signed(p.rows_done))
        .bind(p.rows_total.map(signed))
        .bind(signed(p.resealed))
        .bind(signed(p.pass_resealed))
        .bind(micros(lease_until))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    found(n)
}

/// Ends a job held by `claim` as `status` (done or failed, with `error`).
pub(crate) async fn end(
    e: &mut Exec<'_>,
    tenant: TenantId,
    id: Uuid,
    claim: Uuid,
    status: RotationStatus,
    error: Option<&str>,
    now: Timestamp,
) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE key_rotations SET status = $4, error = $5, finished_at = $6, claim_id = NULL, \
        claimed_until = NULL WHERE tenant_id = $1 AND id = $2 AND claim_id = $3 AND status = 'running'";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(id)
        .bind(claim)
        .bind(status.as_str())
        .bind(error)
        .bind(micros(now))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    found(n)
}
