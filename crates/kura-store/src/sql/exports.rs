//! The `export_jobs` table (DAT-5): exports built in the background, claimed by a worker on any
//! node for a lease, and offered once through a token kept only as its digest.

use super::{corrupt, count, found, micros, opt_timestamp, signed, timestamp};
use crate::conn::{Exec, run};
use crate::error::StoreError;
use crate::vault::Sealer;
use jiff::Timestamp;
use kura_domain::{Actor, ActorKind, RoleId, TenantId};
use uuid::Uuid;

/// Where a job stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportStatus {
    /// Waiting for a worker.
    Queued,
    /// A worker is building the file (or held it until its lease ends).
    Running,
    /// The file is complete and can be downloaded once, until the job expires.
    Ready,
    /// The build failed; no file is kept.
    Failed,
    /// The file was downloaded and deleted.
    Downloaded,
    /// The link expired unused, and the file was deleted.
    Expired,
}

impl ExportStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Ready => "ready",
            Self::Failed => "failed",
            Self::Downloaded => "downloaded",
            Self::Expired => "expired",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Queued, Self::Running, Self::Ready, Self::Failed, Self::Downloaded, Self::Expired]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
    /// Whether nothing more will happen to the job.
    pub const fn is_final(self) -> bool {
        matches!(self, Self::Failed | Self::Downloaded | Self::Expired)
    }
}

/// What a job exports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExportKind {
    /// The whole tenant as one ZIP archive.
    Archive,
    /// One collection's records in `format` (`csv`, `csv-utf8`, `csv-sjis`, `jsonl`), the
    /// header row naming columns by `header` (`label` or `key`).
    Collection { collection: String, format: String, header: String },
}

/// One export job.
#[derive(Clone, Debug)]
pub struct ExportJob {
    pub id: Uuid,
    pub tenant: TenantId,
    pub kind: ExportKind,
    /// Who asked for it (its label opened).
    pub actor: Actor,
    /// The role it was asked with.
    pub role_id: RoleId,
    pub status: ExportStatus,
    /// Builds started, this one included.
    pub attempts: u32,
    pub rows_done: u64,
    /// Known once the build has read what it will write.
    pub rows_total: Option<u64>,
    pub claim: Option<Uuid>,
    pub claimed_until: Option<Timestamp>,
    pub file_name: Option<String>,
    pub bytes: Option<u64>,
    /// SHA-256 of the download token, lowercase hex, until the file is downloaded or expires.
    pub token_hash: Option<String>,
    pub expires_at: Option<Timestamp>,
    pub error: Option<String>,
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

/// A job as it is asked for.
#[derive(Clone, Debug)]
pub struct NewExportJob {
    pub id: Uuid,
    pub kind: ExportKind,
    pub role_id: RoleId,
    /// SHA-256 of the download token handed to the requester, lowercase hex.
    pub token_hash: String,
}

/// The table a sealed label names, and the field.
const TABLE: &str = "export_jobs";
const LABEL: &str = "actor_label";

#[derive(sqlx::FromRow)]
pub(crate) struct Row {
    tenant_id: Uuid,
    id: Uuid,
    kind: String,
    collection: Option<String>,
    format: Option<String>,
    header: Option<String>,
    actor_kind: String,
    actor_id: Option<Uuid>,
    actor_label: String,
    actor_role: Option<String>,
    source_ip: Option<String>,
    role_id: Uuid,
    status: String,
    attempts: i64,
    rows_done: i64,
    rows_total: Option<i64>,
    claim_id: Option<Uuid>,
    claimed_until: Option<i64>,
    file_name: Option<String>,
    bytes: Option<i64>,
    token_hash: Option<String>,
    expires_at: Option<i64>,
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

    /// The job, its requester's label opened with `sealer` (the tenant's).
    pub(crate) fn open(self, sealer: &Sealer) -> Result<ExportJob, StoreError> {
        let kind = match (self.kind.as_str(), self.collection, self.format, self.header) {
            ("archive", _, _, _) => ExportKind::Archive,
            ("collection", Some(collection), Some(format), Some(header)) => {
                ExportKind::Collection { collection, format, header }
            }
            (other, ..) => return Err(corrupt("export job kind", other)),
        };
        let label = sealer.open_text(TABLE, self.id.as_bytes(), LABEL, self.actor_label)?;
        Ok(ExportJob {
            id: self.id,
            tenant: TenantId::from_uuid(self.tenant_id),
            kind,
            actor: Actor {
                kind: ActorKind::parse(&self.actor_kind).ok_or_else(|| corrupt("actor kind", &self.actor_kind))?,
                id: self.actor_id,
                label,
                role: self.actor_role,
                source_ip: self.source_ip,
                user_agent: None,
            },
            role_id: RoleId::from_uuid(self.role_id),
            status: ExportStatus::parse(&self.status).ok_or_else(|| corrupt("export status", &self.status))?,
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            rows_done: count(self.rows_done),
            rows_total: self.rows_total.map(count),
            claim: self.claim_id,
            claimed_until: opt_timestamp(self.claimed_until)?,
            file_name: self.file_name,
            bytes: self.bytes.map(count),
            token_hash: self.token_hash,
            expires_at: opt_timestamp(self.expires_at)?,
            error: self.error,
            created_at: timestamp(self.created_at)?,
            finished_at: opt_timestamp(self.finished_at)?,
        })
    }
}

pub(crate) async fn insert(
    e: &mut Exec<'_>,
    tenant: TenantId,
    job: &NewExportJob,
    actor: &Actor,
    sealer: &Sealer,
    now: Timestamp,
) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO export_jobs (tenant_id, id, kind, collection, format, header, actor_kind, \
        actor_id, actor_label, actor_role, source_ip, role_id, status, attempts, rows_done, token_hash, created_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'queued', 0, 0, $13, $14)";
    let (kind, collection, format, header) = match &job.kind {
        ExportKind::Archive => ("archive", None, None, None),
        ExportKind::Collection { collection, format, header } => {
            ("collection", Some(collection.as_str()), Some(format.as_str()), Some(header.as_str()))
        }
    };
    let label = sealer.seal_text(TABLE, job.id.as_bytes(), LABEL, &actor.label);
    run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(job.id)
        .bind(kind)
        .bind(collection)
        .bind(format)
        .bind(header)
        .bind(actor.kind.as_str())
        .bind(actor.id)
        .bind(&label)
        .bind(actor.role.as_deref())
        .bind(actor.source_ip.as_deref())
        .bind(job.role_id.as_uuid())
        .bind(&job.token_hash)
        .bind(micros(now))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// One job of `tenant`.
pub(crate) async fn by_id(e: &mut Exec<'_>, tenant: TenantId, id: Uuid) -> Result<Option<Row>, StoreError> {
    const SQL: &str = "SELECT tenant_id, id, kind, collection, format, header, actor_kind, actor_id, actor_label, \
        actor_role, source_ip, role_id, status, attempts, rows_done, rows_total, claim_id, claimed_until, file_name, \
        bytes, token_hash, expires_at, error, created_at, finished_at FROM export_jobs WHERE tenant_id = $1 AND id = $2";
    Ok(run!(e, |c| sqlx::query_as(SQL).bind(tenant.as_uuid()).bind(id).fetch_optional(c).await)?)
}

/// The newest `limit` jobs of `tenant`, newest first.
pub(crate) async fn recent(e: &mut Exec<'_>, tenant: TenantId, limit: u32) -> Result<Vec<Row>, StoreError> {
    const SQL: &str = "SELECT tenant_id, id, kind, collection, format, header, actor_kind, actor_id, actor_label, \
        actor_role, source_ip, role_id, status, attempts, rows_done, rows_total, claim_id, claimed_until, file_name, \
        bytes, token_hash, expires_at, error, created_at, finished_at FROM export_jobs WHERE tenant_id = $1 \
        ORDER BY created_at DESC, id DESC LIMIT $2";
    Ok(run!(e, |c| sqlx::query_as(SQL).bind(tenant.as_uuid()).bind(i64::from(limit)).fetch_all(c).await)?)
}

/// The status of job `id`, whatever its tenant (for the worker's clean-up of its directory).
pub(crate) async fn status_of(e: &mut Exec<'_>, id: Uuid) -> Result<Option<String>, StoreError> {
    const SQL: &str = "SELECT status FROM export_jobs WHERE id = $1";
    Ok(run!(e, |c| sqlx::query_scalar(SQL).bind(id).fetch_optional(c).await)?)
}

/// Ready jobs whose link has expired, at most `limit`, all tenants.
pub(crate) async fn expired(e: &mut Exec<'_>, now: Timestamp, limit: u32) -> Result<Vec<(Uuid, Uuid)>, StoreError> {
    const SQL: &str = "SELECT tenant_id, id FROM export_jobs WHERE status = 'ready' AND expires_at <= $1 \
        ORDER BY expires_at LIMIT $2";
    Ok(run!(e, |c| sqlx::query_as(SQL).bind(micros(now)).bind(i64::from(limit)).fetch_all(c).await)?)
}

/// Takes the oldest job that is queued, or running under a lease that has ended, for `claim`
/// until `lease_until`, counting the attempt. The condition is repeated outside the subquery:
/// on PostgreSQL a second node waiting on the same row checks it again once the first commits.
pub(crate) async fn claim(
    e: &mut Exec<'_>,
    now: Timestamp,
    lease_until: Timestamp,
    claim: Uuid,
) -> Result<Option<Row>, StoreError> {
    const SQL: &str = "UPDATE export_jobs SET status = 'running', attempts = attempts + 1, claim_id = $3, \
        claimed_until = $2, rows_done = 0 \
        WHERE id IN (SELECT id FROM export_jobs WHERE status = 'queued' \
            OR (status = 'running' AND claimed_until <= $1) ORDER BY created_at, id LIMIT 1) \
        AND (status = 'queued' OR (status = 'running' AND claimed_until <= $1)) \
        RETURNING tenant_id, id, kind, collection, format, header, actor_kind, actor_id, actor_label, actor_role, \
        source_ip, role_id, status, attempts, rows_done, rows_total, claim_id, claimed_until, file_name, bytes, \
        token_hash, expires_at, error, created_at, finished_at";
    Ok(run!(e, |c| sqlx::query_as(SQL)
        .bind(micros(now))
        .bind(micros(lease_until))
        .bind(claim)
        .fetch_optional(c)
        .await)?)
}

/// Records progress under `claim` and extends its lease; [`StoreError::NotFound`] if the claim
/// is no longer this worker's.
pub(crate) async fn progress(
    e: &mut Exec<'_>,
    id: Uuid,
    claim: Uuid,
    rows_done: u64,
    rows_total: Option<u64>,
    lease_until: Timestamp,
) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE export_jobs SET rows_done = $3, rows_total = $4, claimed_until = $5 \
        WHERE id = $1 AND claim_id = $2 AND status = 'running'";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(id)
        .bind(claim)
        .bind(signed(rows_done))
        .bind(rows_total.map(signed))
        .bind(micros(lease_until))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    found(n)
}

/// What a finished build records.
#[derive(Clone, Debug)]
pub struct FinishedExport<'a> {
    pub claim: Uuid,
    pub rows: u64,
    pub file_name: &'a str,
    pub bytes: u64,
    pub expires_at: Timestamp,
}

/// The file of job `id` is complete: offered until `expires_at`. [`StoreError::NotFound`] if
/// the claim is no longer this worker's.
pub(crate) async fn finish(
    e: &mut Exec<'_>,
    tenant: TenantId,
    id: Uuid,
    f: &FinishedExport<'_>,
    now: Timestamp,
) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE export_jobs SET status = 'ready', rows_done = $4, rows_total = $4, file_name = $5, \
        bytes = $6, expires_at = $7, finished_at = $8, claim_id = NULL, claimed_until = NULL \
        WHERE tenant_id = $1 AND id = $2 AND claim_id = $3 AND status = 'running'";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(id)
        .bind(f.claim)
        .bind(signed(f.rows))
        .bind(f.file_name)
        .bind(signed(f.bytes))
        .bind(micros(f.expires_at))
        .bind(micros(now))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    found(n)
}

/// The build of job `id` failed (`claim` is the failing worker's, if a worker had it).
pub(crate) async fn fail(
    e: &mut Exec<'_>,
    tenant: TenantId,
    id: Uuid,
    claim: Option<Uuid>,
    error: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE export_jobs SET status = 'failed', error = $4, finished_at = $5, claim_id = NULL, token_hash = NULL, \
        claimed_until = NULL WHERE tenant_id = $1 AND id = $2 AND status IN ('queued', 'running') \
        AND ($3 IS NULL OR claim_id = $3)";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(id)
        .bind(claim)
        .bind(error)
        .bind(micros(now))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    found(n)
}

/// The one download of job `id`, if it is still offered at `now`: the token is erased, so no
/// second request can take it.
pub(crate) async fn take(e: &mut Exec<'_>, tenant: TenantId, id: Uuid, now: Timestamp) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE export_jobs SET status = 'downloaded', token_hash = NULL \
        WHERE tenant_id = $1 AND id = $2 AND status = 'ready' AND expires_at > $3";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(id)
        .bind(micros(now))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    found(n)
}

/// Job `id`'s link expired unused at `now`.
pub(crate) async fn expire(e: &mut Exec<'_>, tenant: TenantId, id: Uuid, now: Timestamp) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE export_jobs SET status = 'expired', token_hash = NULL \
        WHERE tenant_id = $1 AND id = $2 AND status = 'ready' AND expires_at <= $3";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(id)
        .bind(micros(now))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    found(n)
}
