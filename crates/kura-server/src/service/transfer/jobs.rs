//! Exports as background jobs (DAT-5): a large export is asked for, built by a worker on any node
//! (`worker.rs`), and then downloaded once through a link that expires.
//!
//! Asking for a job needs what the export itself needs (the whole tenant's archive every
//! permission of [`archive::NEEDS`], a collection `records.export`), checked again when it is
//! built and when it is downloaded. The download token is random, handed to the requester once
//! when the job is made and kept only as its SHA-256; it is compared in constant time, works
//! once, only for the requester, and only until the link expires by the injected clock. A job is
//! seen by its requester and by the tenant's administrators (who hold every permission of the
//! archive); to anyone else, and to every other tenant, it does not exist.

use super::archive;
use super::format::{Format, HeaderNames};
use crate::auth::TenantPrincipal;
use crate::error::{AppError, AppResult};
use crate::service::collections;
use crate::state::AppState;
use kura_crypto::hex;
use kura_crypto::{SecretToken, ct_eq};
use kura_domain::{Actor, ActorKind, AuditRecord, AuditScope, Operation, Permission, TenantId};
use kura_store::{ExportJob, ExportKind, ExportStatus, NewExportJob, StoreError};
use serde::Deserialize;
use std::path::PathBuf;
use uuid::Uuid;

/// Jobs one requester may have waiting or being built at once.
const MAX_ACTIVE: usize = 3;

/// Jobs listed at most.
pub const LIST_LIMIT: u32 = 50;

/// What to export in the background.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"kind": "collection", "collection": "customers", "format": "csv", "header": "label"}))]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// `archive` (the whole tenant as one ZIP file) or `collection` (one collection's records).
    pub kind: JobKind,
    /// The collection's key, for `collection` only.
    #[schema(example = "customers")]
    pub collection: Option<String>,
    /// For `collection` only: `csv` (the default), `csv-utf8`, `csv-sjis` or `jsonl`.
    pub format: Option<Format>,
    /// For `collection` only: what the CSV header row names columns by, `label` (the default)
    /// or `key`.
    pub header: Option<HeaderNames>,
}

/// What a job exports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    Archive,
    Collection,
}

/// A job just asked for, with its download token (shown this once; only its digest is kept).
#[derive(Debug)]
pub struct Started {
    pub job: ExportJob,
    pub token: SecretToken,
}

/// The audit entries' target for job `id`.
pub(crate) fn target(id: Uuid) -> String {
    format!("export:{id}")
}

/// What a job holds, for its audit entries.
pub(crate) fn describe(kind: &ExportKind) -> String {
    match kind {
        ExportKind::Archive => "kind=archive".to_owned(),
        ExportKind::Collection { collection, format, .. } => {
            format!("kind=collection collection={collection} format={format}")
        }
    }
}

/// The actor of what no one in particular does: expiring a link.
pub(crate) fn worker_actor() -> Actor {
    Actor {
        kind: ActorKind::Cli,
        id: None,
        label: "export worker".into(),
        role: None,
        source_ip: None,
        user_agent: None,
    }
}

/// Checks that `p` may ask for (and later take) an export of `kind`.
fn require(p: &TenantPrincipal, kind: &ExportKind) -> AppResult<()> {
    match kind {
        ExportKind::Archive => {
            for needed in archive::NEEDS {
                p.require(needed)?;
            }
        }
        ExportKind::Collection { .. } => {
            p.require(Permission::RecordsExport)?;
        }
    }
    Ok(())
}

/// Queues an export for `p`; the worker on this node is woken at once.
pub async fn start(state: &AppState, p: &TenantPrincipal, request: &ExportRequest) -> AppResult<Started> {
    // The permission first: a refusal must not depend on what was sent.
    p.require(Permission::RecordsExport)?;
    if p.is_break_glass() {
        return Err(AppError::ForbiddenOther("support access is read-only; it cannot start an export".into()));
    }
    let kind = match request.kind {
        JobKind::Archive => {
            if request.collection.is_some() || request.format.is_some() || request.header.is_some() {
                return Err(AppError::BadRequest(
                    "an archive holds the whole tenant: collection, format and header apply to a collection's \
                     export only"
                        .into(),
                ));
            }
            ExportKind::Archive
        }
        JobKind::Collection => {
            let Some(name) = request.collection.as_deref() else {
                return Err(AppError::BadRequest("name the collection to export in `collection`".into()));
            };
            let c = collections::find(state, p.tenant().id, name).await?;
            ExportKind::Collection {
                collection: c.name.to_string(),
                format: request.format.unwrap_or_default().as_str().to_owned(),
                header: request.header.unwrap_or_default().as_str().to_owned(),
            }
        }
    };
    require(p, &kind)?;
    let tenant = p.tenant().id;
    let active = state
        .store
        .export_jobs(tenant, LIST_LIMIT)
        .await?
        .iter()
        .filter(|j| is_requester(j, p) && matches!(j.status, ExportStatus::Queued | ExportStatus::Running))
        .count();
    if active >= MAX_ACTIVE {
        return Err(AppError::Conflict(format!(
            "{active} of your exports are still being built; wait for one to finish before starting another"
        )));
    }
    let token = SecretToken::generate();
    let id = Uuid::now_v7();
    let job = NewExportJob { id, kind, role_id: p.role().id, token_hash: hex(&token.digest().0) };
    let mut w = state.store.begin(AuditScope::Tenant(tenant), p.actor().clone()).await?;
    w.insert_export_job(tenant, &job).await?;
    let entry = AuditRecord::success(Operation::ExportJobStart, target(id)).with_detail(describe(&job.kind));
    w.commit(entry).await?;
    state.export_worker.wake();
    let job = state.store.export_job(tenant, id).await?.ok_or(AppError::NotFound("export"))?;
    Ok(Started { job, token })
}

/// Whether `p` asked for `job`.
pub fn is_requester(job: &ExportJob, p: &TenantPrincipal) -> bool {
    let me = p.actor();
    job.actor.id.is_some() && job.actor.kind == me.kind && job.actor.id == me.id
}

/// Whether `p` may see `job`: its requester, or an administrator of the tenant.
fn may_see(job: &ExportJob, p: &TenantPrincipal) -> bool {
    is_requester(job, p) || archive::NEEDS.iter().all(|&n| p.can(n))
}

/// Job `id` of `p`'s tenant, if `p` may see it; a job whose link has expired is expired first.
pub async fn get(state: &AppState, p: &TenantPrincipal, id: Uuid) -> AppResult<ExportJob> {
    p.require(Permission::RecordsExport)?;
    let tenant = p.tenant().id;
    let job =
        state.store.export_job(tenant, id).await?.filter(|j| may_see(j, p)).ok_or(AppError::NotFound("export"))?;
    if is_overdue(state, &job) {
        expire(state, tenant, id).await?;
        return state.store.export_job(tenant, id).await?.ok_or(AppError::NotFound("export"));
    }
    Ok(job)
}

/// The newest jobs of `p`'s tenant that `p` may see.
pub async fn list(state: &AppState, p: &TenantPrincipal) -> AppResult<Vec<ExportJob>> {
    p.require(Permission::RecordsExport)?;
    let jobs = state.store.export_jobs(p.tenant().id, LIST_LIMIT).await?;
    Ok(jobs.into_iter().filter(|j| may_see(j, p)).collect())
}

fn is_overdue(state: &AppState, job: &ExportJob) -> bool {
    job.status == ExportStatus::Ready && job.expires_at.is_some_and(|at| at <= state.clock.now())
}

/// A file handed over: open, already deleted from the directory (the open handle keeps it
/// readable until the response ends).
#[derive(Debug)]
pub struct Download {
    pub file: std::fs::File,
    pub file_name: String,
    pub bytes: u64,
    pub content_type: &'static str,
}

/// The one download of job `id` by its requester `p`, who presents `token`.
pub async fn download(state: &AppState, p: &TenantPrincipal, id: Uuid, token: &str) -> AppResult<Download> {
    let job = get(state, p, id).await?;
    if !is_requester(&job, p) {
        return Err(AppError::ForbiddenOther("only the person who started an export can download it".into()));
    }
    require(p, &job.kind)?;
    match job.status {
        ExportStatus::Ready => {}
        ExportStatus::Queued | ExportStatus::Running => {
            return Err(AppError::Conflict("the export is not ready yet; its page shows how far it got".into()));
        }
        ExportStatus::Failed => {
            return Err(AppError::Conflict("the export failed; its page says why. Start it again.".into()));
        }
        ExportStatus::Downloaded => {
            return Err(AppError::Gone("the file was downloaded already and deleted; start the export again".into()));
        }
        ExportStatus::Expired => {
            return Err(AppError::Gone(
                "the download link expired and the file was deleted; start the export again".into(),
            ));
        }
    }
    let offered = hex(&SecretToken::from_client(token).digest().0);
    let valid = job.token_hash.as_deref().is_some_and(|h| ct_eq(h.as_bytes(), offered.as_bytes()));
    if token.is_empty() || !valid {
        return Err(AppError::ForbiddenOther("the download link is not valid".into()));
    }
    let path = file_path(state, &job);
    let file = std::fs::File::open(&path).map_err(|_| {
        tracing::warn!(job = %id, path = %path.display(), "a ready export's file is missing from this node's directory");
        AppError::NotFound("export file (is the export directory shared by every node?)")
    })?;
    let bytes = file.metadata().map(|m| m.len()).map_err(|e| AppError::Internal(Box::new(e)))?;
    let tenant = p.tenant().id;
    let mut w = state.store.begin(AuditScope::Tenant(tenant), p.actor().clone()).await?;
    match w.take_export_download(tenant, id).await {
        Ok(()) => {}
        Err(StoreError::NotFound) => {
            return Err(AppError::Gone("the file was downloaded already and deleted; start the export again".into()));
        }
        Err(e) => return Err(e.into()),
    }
    let entry = AuditRecord::success(Operation::ExportDownload, target(id))
        .with_detail(format!("{} bytes={bytes} file_deleted=true", describe(&job.kind)));
    w.commit(entry).await?;
    remove(&path);
    let content_type = match &job.kind {
        ExportKind::Archive => "application/zip",
        ExportKind::Collection { format, .. } => Format::parse(format).unwrap_or_default().content_type(),
    };
    let file_name = job.file_name.clone().unwrap_or_else(|| format!("{id}.{}", extension(&job.kind)));
    Ok(Download { file, file_name, bytes, content_type })
}

/// Expires job `id` of `tenant` if its link has expired unused, deleting its file from this
/// node's directory; returns whether it did.
pub async fn expire(state: &AppState, tenant: TenantId, id: Uuid) -> AppResult<bool> {
    let Some(job) = state.store.export_job(tenant, id).await? else { return Ok(false) };
    let mut w = state.store.begin(AuditScope::Tenant(tenant), worker_actor()).await?;
    match w.expire_export_job(tenant, id).await {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    let entry = AuditRecord::success(Operation::ExportExpire, target(id))
        .with_detail(format!("{} file_deleted=true", describe(&job.kind)));
    w.commit(entry).await?;
    remove(&file_path(state, &job));
    Ok(true)
}

/// The extension of a job's file.
pub(crate) fn extension(kind: &ExportKind) -> &'static str {
    match kind {
        ExportKind::Archive => "zip",
        ExportKind::Collection { format, .. } => Format::parse(format).unwrap_or_default().extension(),
    }
}

/// Where a job's finished file is kept on this node: `<export dir>/<job id>.<extension>`.
pub(crate) fn file_path(state: &AppState, job: &ExportJob) -> PathBuf {
    state.settings.export_dir().join(format!("{}.{}", job.id, extension(&job.kind)))
}

/// Deletes a file, logging (without failing) when it cannot.
pub(crate) fn remove(path: &std::path::Path) {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::error!(path = %path.display(), error = %e, "an export file could not be deleted"),
    }
}
