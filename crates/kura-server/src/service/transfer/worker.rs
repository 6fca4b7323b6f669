//! The export worker (DAT-5): on every node, a task that claims queued export jobs and builds
//! their files, like the mail sender (`mail/sender.rs`). A job is claimed for a lease, renewed
//! with its progress every second while the build goes on, so two nodes never build the same
//! job, and a node that stops half-way leaves it to another once the lease ends; a job that
//! has been started `exports.max_attempts` times without finishing is recorded as failed.
//!
//! A file is written as `<job id>.<ext>.part` (created owner-only, 0600, in an owner-only
//! directory) and renamed to its final name only once complete and flushed to disk, in the same
//! step as the job is recorded ready: a failed build deletes its part file and records the
//! failure, so a partial file is never offered. Each pass also expires links whose time has
//! come (deleting their files) and deletes files this node no longer needs: part files of jobs
//! not being built, and finished files of jobs that are no longer offered.

use super::archive::{self, Progress};
use super::export::{self, ExportParams};
use super::format::{Format, HeaderNames};
use super::jobs::{self, describe, extension, file_path, remove, target};
use crate::auth::TenantPrincipal;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use jiff::SignedDuration;
use kura_domain::{ActorKind, ApiKeyId, AuditRecord, AuditScope, Operation, Outcome, UserId, UserStatus};
use kura_store::{ExportJob, ExportKind, ExportStatus, FinishedExport, StoreError};
use std::collections::HashSet;
use std::future::Future;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;
use uuid::Uuid;

/// How often a build's progress is recorded and its lease renewed.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// Expired links handled per pass.
const EXPIRE_BATCH: u32 = 100;

/// The worker's state on this node: its bell, and the jobs it is building.
#[derive(Debug, Default)]
pub struct ExportWorker {
    bell: tokio::sync::Notify,
    building: Mutex<HashSet<Uuid>>,
}

impl ExportWorker {
    /// Wakes this node's worker (a job was just queued here).
    pub fn wake(&self) {
        self.bell.notify_one();
    }

    fn building(&self) -> std::sync::MutexGuard<'_, HashSet<Uuid>> {
        self.building.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Runs the worker until `shutdown` completes. A build cut off by the shutdown leaves its job to
/// be taken again once its lease ends, and its part file to the next pass's clean-up.
pub fn spawn(state: AppState, shutdown: impl Future<Output = ()> + Send + 'static) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let poll = Duration::from_secs(u64::from(state.settings.exports.poll_seconds));
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                done = run_pass(&state) => {
                    if let Err(e) = done {
                        tracing::warn!(error = %e, "export worker pass failed; trying again later");
                    }
                }
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = state.export_worker.bell.notified() => {}
                () = tokio::time::sleep(poll) => {}
            }
        }
    })
}

/// One pass of the worker: expires due links, cleans the directory (and the console's kept
/// import files whose time is up), then builds queued jobs until none waits. Returns how many
/// jobs it built (successfully or not).
pub async fn run_pass(state: &AppState) -> AppResult<usize> {
    for (tenant, id) in state.store.expired_export_jobs(EXPIRE_BATCH).await? {
        jobs::expire(state, tenant, id).await?;
    }
    clean_directory(state).await?;
    super::staged::sweep(state);
    let lease = lease(state);
    let mut built = 0;
    loop {
        let claim = Uuid::now_v7();
        let Some(job) = state.store.claim_export_job(claim, lease).await? else { break };
        build_one(state, job, claim).await?;
        built += 1;
    }
    Ok(built)
}

fn lease(state: &AppState) -> SignedDuration {
    SignedDuration::from_secs(i64::from(state.settings.exports.lease_seconds))
}

/// The export directory, created owner-only if missing.
fn export_dir(state: &AppState) -> std::io::Result<PathBuf> {
    let dir = state.settings.export_dir();
    if !dir.exists() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&dir)?;
    }
    Ok(dir)
}

/// Why a build did not produce a file.
enum Stopped {
    /// The export cannot be made: recorded as the job's failure.
    Failed(AppError),
    /// The claim was lost (the lease ended and another worker took the job): nothing recorded.
    Lost,
}

impl From<AppError> for Stopped {
    fn from(e: AppError) -> Self {
        Self::Failed(e)
    }
}

async fn build_one(state: &AppState, job: ExportJob, claim: Uuid) -> AppResult<()> {
    let max = state.settings.exports.max_attempts;
    if job.attempts > max {
        let why = format!("gave up after {max} attempts: no build finished (did a node stop while building it?)");
        return fail(state, &job, claim, &why).await;
    }
    state.export_worker.building().insert(job.id);
    let dir = export_dir(state).map_err(|e| AppError::Internal(Box::new(e)))?;
    let part = dir.join(format!("{}.{}.part", job.id, extension(&job.kind)));
    let result = build_with_lease(state, &job, claim, &part).await;
    state.export_worker.building().remove(&job.id);
    let built = match result {
        Ok(built) => built,
        Err(Stopped::Lost) => {
            remove(&part);
            tracing::warn!(job = %job.id, "an export job's lease ended while building; another worker took it");
            return Ok(());
        }
        Err(Stopped::Failed(e)) => {
            remove(&part);
            if let AppError::Undecryptable(cause) = &e {
                // A value of the tenant did not open: recorded like a refused request's, then
                // the job fails as any other would.
                let scope = AuditScope::Tenant(job.tenant);
                crate::denials::record_refused_open(state, scope, job.actor.clone(), target(job.id), cause).await;
            }
            let why = match &e {
                AppError::Internal(_) => {
                    tracing::error!(job = %job.id, error = %e, "an export job failed");
                    "an internal error occurred; it has been logged for the operator".to_owned()
                }
                // The problem's detail: a refusal's reason, every field problem of a refused
                // Shift_JIS export.
                other => other.problem().detail,
            };
            return fail(state, &job, claim, &why).await;
        }
    };
    let path = file_path(state, &job);
    if let Err(e) = std::fs::rename(&part, &path) {
        remove(&part);
        tracing::error!(job = %job.id, error = %e, "a finished export could not be put in place");
        return fail(state, &job, claim, "the finished file could not be stored; it has been logged").await;
    }
    let hours = i64::from(state.settings.exports.link_hours);
    let now = state.clock.now();
    let expires_at = now.checked_add(SignedDuration::from_hours(hours)).unwrap_or(now);
    let finished =
        FinishedExport { claim, rows: built.rows, file_name: &built.file_name, bytes: built.bytes, expires_at };
    let tenant = job.tenant;
    let recorded = async {
        let mut w = state.store.begin(AuditScope::Tenant(tenant), job.actor.clone()).await?;
        w.finish_export_job(tenant, job.id, &finished).await?;
        let entry = AuditRecord::success(Operation::ExportJobFinish, target(job.id)).with_detail(format!(
            "{} rows={} bytes={} link_hours={hours}",
            describe(&job.kind),
            built.rows,
            built.bytes
        ));
        w.commit(entry).await
    };
    match recorded.await {
        Ok(_) => {
            tracing::info!(job = %job.id, rows = built.rows, bytes = built.bytes, "export ready");
            Ok(())
        }
        Err(e) => {
            // Not offered, so not kept: a job that lost its claim is another worker's now.
            remove(&path);
            match e {
                StoreError::NotFound => Ok(()),
                other => Err(other.into()),
            }
        }
    }
}

/// Records `job`'s failure (the claim's, if it still holds).
async fn fail(state: &AppState, job: &ExportJob, claim: Uuid, why: &str) -> AppResult<()> {
    let tenant = job.tenant;
    let mut w = state.store.begin(AuditScope::Tenant(tenant), job.actor.clone()).await?;
    match w.fail_export_job(tenant, job.id, Some(claim), why).await {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    let entry = AuditRecord::success(Operation::ExportJobFail, target(job.id))
        .with_outcome(Outcome::Failure)
        .with_detail(format!("{} attempts={} error={why}", describe(&job.kind), job.attempts));
    w.commit(entry).await?;
    Ok(())
}

/// A complete file.
struct Built {
    rows: u64,
    bytes: u64,
    file_name: String,
}

/// Builds `job`'s file at `part`, recording progress and renewing the lease every second.
async fn build_with_lease(state: &AppState, job: &ExportJob, claim: Uuid, part: &Path) -> Result<Built, Stopped> {
    let progress = Progress::new();
    // A part file left by an earlier attempt on this node is replaced.
    remove(part);
    let file = create_private(part).map_err(|e| Stopped::Failed(AppError::Internal(Box::new(e))))?;
    let build = build_file(state, job, file, &progress);
    tokio::pin!(build);
    let mut tick = tokio::time::interval(PROGRESS_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            built = &mut build => return built.map_err(Stopped::Failed),
            _ = tick.tick() => {
                let (done, total) = progress.get();
                match state.store.export_job_progress(job.id, claim, done, total, lease(state)).await {
                    Ok(()) => {}
                    Err(StoreError::NotFound) => return Err(Stopped::Lost),
                    Err(e) => tracing::warn!(job = %job.id, error = %e, "an export's progress could not be recorded"),
                }
            }
        }
    }
}

/// A new file only its owner can read and write.
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

async fn build_file(state: &AppState, job: &ExportJob, file: std::fs::File, progress: &Progress) -> AppResult<Built> {
    let p = principal(state, job).await?;
    let io = |e: std::io::Error| AppError::Internal(Box::new(e));
    match &job.kind {
        ExportKind::Archive => {
            let built = archive::build_into(state, &p, file, progress).await?;
            built.file.sync_all().map_err(io)?;
            let (rows, _) = progress.get();
            Ok(Built { rows, bytes: built.bytes, file_name: built.file_name })
        }
        ExportKind::Collection { collection, format, header } => {
            let params = ExportParams { format: Format::parse(format), header: HeaderNames::parse(header) };
            let mut exporter = export::start(state, &p, collection, &params).await?;
            progress.set_total(exporter.rows() as u64);
            let mut out = std::io::BufWriter::with_capacity(64 * 1024, file);
            let mut bytes = 0u64;
            while let Some(chunk) = exporter.next_chunk() {
                out.write_all(&chunk).map_err(io)?;
                bytes += chunk.len() as u64;
                progress.set_done(exporter.written() as u64);
                // Let other tasks (requests, the progress above) run between chunks.
                tokio::task::yield_now().await;
            }
            let file = out.into_inner().map_err(|e| io(e.into_error()))?;
            file.sync_all().map_err(io)?;
            let stamp = state.clock.now().to_zoned(p.tenant().time_zone.zone()).strftime("%Y%m%d-%H%M%S");
            let file_name = format!("{collection}-{stamp}.{}", extension(&job.kind));
            Ok(Built { rows: exporter.rows() as u64, bytes, file_name })
        }
    }
}

/// The principal a job is built with: its requester as they are now. A user must still be
/// active, and is taken with their current role; an API key must be neither revoked nor
/// expired, and keeps its scopes. The build then checks the permissions it needs, as a request
/// would.
async fn principal(state: &AppState, job: &ExportJob) -> AppResult<TenantPrincipal> {
    let gone = |who: &str| AppError::ForbiddenOther(format!("{who} who started the export can no longer use Kura"));
    let tenant = state.store.tenant(job.tenant).await?.ok_or(AppError::NotFound("tenant"))?;
    let (role_id, scopes, user_id) = match (job.actor.kind, job.actor.id) {
        (ActorKind::User, Some(id)) => {
            let user = state.store.user(tenant.id, UserId::from_uuid(id)).await?.ok_or_else(|| gone("the user"))?;
            if user.status != UserStatus::Active {
                return Err(gone("the user"));
            }
            (user.role_id, None, Some(user.id))
        }
        (ActorKind::ApiKey, Some(id)) => {
            let keys = state.store.api_keys(tenant.id).await?;
            let now = state.clock.now();
            let key = keys
                .into_iter()
                .find(|k| k.id == ApiKeyId::from_uuid(id))
                .filter(|k| k.revoked_at.is_none() && k.expires_at.is_none_or(|at| at > now))
                .ok_or_else(|| gone("the API key"))?;
            (key.role_id, key.scopes, None)
        }
        _ => (job.role_id, None, None),
    };
    let mut role = state.store.role(tenant.id, role_id).await?.ok_or_else(|| gone("the role of the person"))?;
    if let Some(scopes) = scopes {
        role.permissions = role.permissions.iter().filter(|p| scopes.contains(*p)).collect();
    }
    Ok(TenantPrincipal::background(tenant, role, job.actor.clone(), user_id, job.id))
}

/// Deletes what this node's export directory no longer needs: part files of jobs no worker is
/// building, and finished files of jobs that are not offered (downloaded, expired, failed, or
/// gone with their tenant).
async fn clean_directory(state: &AppState) -> AppResult<()> {
    let dir = state.settings.export_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(()) };
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
        let Some(id) = name.split('.').next().and_then(|s| Uuid::parse_str(s).ok()) else { continue };
        if state.export_worker.building().contains(&id) {
            continue;
        }
        let status = state.store.export_job_status(id).await?;
        let keep = if name.ends_with(".part") {
            status == Some(ExportStatus::Running)
        } else {
            status == Some(ExportStatus::Ready)
        };
        if !keep {
            tracing::info!(file = name, "an export file no longer needed was deleted");
            remove(&path);
        }
    }
    Ok(())
}
