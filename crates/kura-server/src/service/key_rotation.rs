//! Rotating a tenant's data key without downtime (DAT-2): starting a rotation (from the API,
//! the tenant's console, the operator's console or the command line), its status, and the
//! worker that runs the re-encryption jobs on every node.
//!
//! A rotation puts a new key version in the keystore, which seals every write from then on; the
//! older versions keep opening while the job re-seals the stored values batch by batch, and are
//! retired once it is done. A tenant opened before encryption at rest was switched on gets its
//! first keys the same way, and the job seals its plain values. Audit entries are never
//! re-sealed (the hash chain commits to them): they open under their version until the
//! tenant's keys are destroyed. Starting and finishing are audited in the tenant's log and in
//! the platform's (`key.rotate_start`, `key.rotate_finish`).
//!
//! Like the export worker, a job is claimed for a lease renewed by every batch: two nodes never
//! run the same job, and a node that stops half-way leaves it to another once the lease ends,
//! which resumes after the last batch committed.

use crate::auth::TenantPrincipal;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use jiff::SignedDuration;
use kura_domain::{Actor, AuditRecord, AuditScope, Operation, Outcome, Permission, Tenant};
use kura_store::{BatchOutcome, Claimed, DataKeyInfo, KeyRotation, RotationKind, StoreError};
use std::future::Future;
use std::time::Duration;
use uuid::Uuid;

/// Rows one batch re-seals at most: a batch holds the writer, so it stays short (a few
/// milliseconds of AES-GCM) and writes go on between batches.
pub const BATCH_ROWS: u32 = 500;

/// How long a claim holds without a batch; every batch renews it.
const LEASE: SignedDuration = SignedDuration::from_secs(60);

/// How often the worker looks for jobs.
const POLL: Duration = Duration::from_secs(2);

/// Jobs listed at most.
const LIST_LIMIT: u32 = 20;

/// A tenant's keys and rotations, for the API and the consoles.
#[derive(Clone, Debug)]
pub struct KeyStatus {
    /// Whether encryption at rest is on for this installation.
    pub encryption_on: bool,
    /// The tenant's data-key versions, oldest first (empty: its values are not sealed yet).
    pub keys: Vec<DataKeyInfo>,
    /// The newest rotations, newest first.
    pub rotations: Vec<KeyRotation>,
}

impl KeyStatus {
    /// The rotation still running, if any.
    pub fn running(&self) -> Option<&KeyRotation> {
        self.rotations.first().filter(|r| r.status == kura_store::RotationStatus::Running)
    }
    /// The version that seals new writes.
    pub fn current_version(&self) -> Option<u32> {
        self.keys.iter().map(|k| k.version).max()
    }
}

/// The audit entries' target in the tenant's log.
const TARGET: &str = "keys";

/// The status of `tenant`'s keys.
pub async fn status(state: &AppState, tenant: &Tenant) -> AppResult<KeyStatus> {
    Ok(KeyStatus {
        encryption_on: state.store.vault().is_some(),
        keys: state.store.data_keys(tenant.id).await?,
        rotations: state.store.key_rotations(tenant.id, LIST_LIMIT).await?,
    })
}

/// The status, for a member of the tenant allowed to manage its settings.
pub async fn status_for(state: &AppState, p: &TenantPrincipal) -> AppResult<KeyStatus> {
    p.require(Permission::SettingsManage)?;
    status(state, p.tenant()).await
}

/// Starts a rotation of `p`'s tenant's data key (`settings.manage`; not under break-glass
/// access, which is read-only).
pub async fn start_for(state: &AppState, p: &TenantPrincipal) -> AppResult<KeyRotation> {
    p.require(Permission::SettingsManage)?;
    if p.is_break_glass() {
        return Err(AppError::ForbiddenOther("support access is read-only; it cannot rotate the keys".into()));
    }
    start(state, p.tenant(), p.actor().clone()).await
}

/// Starts a rotation of `tenant`'s data key on behalf of `actor` (who was checked by the
/// caller): audited in the tenant's log and the platform's, in one transaction.
pub async fn start(state: &AppState, tenant: &Tenant, actor: Actor) -> AppResult<KeyRotation> {
    if state.store.vault().is_none() {
        return Err(AppError::Conflict(
            "encryption at rest is off on this installation: there is no key to rotate (docs/operations.md)".into(),
        ));
    }
    let mut w = state.store.begin(AuditScope::Tenant(tenant.id), actor).await?;
    let (job, rotated) = w.start_key_rotation(tenant.id).await?;
    let detail = match rotated.from {
        Some(from) => format!("kind=rotate from=v{from} to=v{} job={}", rotated.to, job.id),
        None => format!("kind=seal to=v{} job={}", rotated.to, job.id),
    };
    w.also_in_platform(
        AuditRecord::success(Operation::KeyRotateStart, format!("tenant:{}", tenant.slug)).with_detail(detail.clone()),
    )?;
    w.commit(AuditRecord::success(Operation::KeyRotateStart, TARGET).with_detail(detail)).await?;
    Ok(job)
}

/// Limits of one run of the worker (tests stop it half-way to show it resumes).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Rows per batch.
    pub batch_rows: u32,
    /// Batches before the run stops (`None`: until no job is left).
    pub max_batches: Option<usize>,
}

impl Default for Limits {
    fn default() -> Self {
        Self { batch_rows: BATCH_ROWS, max_batches: None }
    }
}

/// Runs the worker until `shutdown` completes.
pub fn spawn(state: AppState, shutdown: impl Future<Output = ()> + Send + 'static) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                done = run(&state, Limits::default()) => {
                    if let Err(e) = done {
                        tracing::warn!(error = %e, "key rotation worker pass failed; trying again later");
                    }
                }
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(POLL) => {}
            }
        }
    })
}

/// Claims and runs jobs until none waits (or `limits` stops it); returns the batches run.
///
/// A value that does not open is left as it is and the job goes on; it is recorded as
/// `crypto.open_refused` in the tenant's log, once per job on this run (a later pass meets it
/// again). Keys that cannot be used at all end the job as failed, recorded the same way. A job
/// whose requester does not open is not run: it stays claimed until its lease ends and is
/// claimed again then, so its refusal goes through [`crate::refused_opens`] (written once, then
/// once a day while it goes on, and once more when the job can be claimed again).
pub async fn run(state: &AppState, limits: Limits) -> AppResult<usize> {
    let mut batches = 0;
    loop {
        if limits.max_batches.is_some_and(|max| batches >= max) {
            return Ok(batches);
        }
        let claim = Uuid::now_v7();
        let mut job = match state.store.claim_key_rotation(claim, LEASE).await? {
            None => return Ok(batches),
            Some(Claimed::Refused { tenant, job, cause }) => {
                crate::refused_opens::record(state, tenant, &claim_actor(), &claim_work(job), &cause).await;
                continue;
            }
            Some(Claimed::Job(job)) => *job,
        };
        let work = claim_work(job.id);
        if state.store.refused_open_tenants(&work).await?.contains(&job.tenant) {
            crate::refused_opens::cleared(state, job.tenant, &claim_actor(), &work).await;
        }
        let mut recorded = std::collections::HashSet::new();
        loop {
            if limits.max_batches.is_some_and(|max| batches >= max) {
                return Ok(batches);
            }
            batches += 1;
            let outcome = match state.store.key_rotation_batch(&mut job, claim, limits.batch_rows, LEASE).await {
                Ok(batch) => {
                    for why in batch.refused {
                        if recorded.insert(why.clone()) {
                            refused_open(state, &job, &why).await;
                        }
                    }
                    batch.outcome
                }
                // The lease ended and another worker has the job now.
                Err(StoreError::NotFound) => break,
                Err(StoreError::Unreadable(why)) => {
                    refused_open(state, &job, &why).await;
                    fail(state, &job, claim, &why).await?;
                    break;
                }
                Err(e) => return Err(e.into()),
            };
            if outcome == BatchOutcome::Complete {
                finish(state, &job, claim).await?;
                break;
            }
        }
    }
}

/// The work of claiming `job`, as the entries about a requester that did not open name it.
fn claim_work(job: Uuid) -> String {
    format!("key-rotation:{job}")
}

/// Who claims jobs, in the entries about a requester that did not open (the requester is
/// who could not be read).
fn claim_actor() -> Actor {
    Actor::cli("key rotation")
}

/// A value (or the keys) of `job`'s tenant that did not open: in the tenant's log as its
/// requester's, like the job's other entries.
async fn refused_open(state: &AppState, job: &KeyRotation, why: &str) {
    let target = format!("key-rotation:{}", job.id);
    crate::denials::record_refused_open(state, AuditScope::Tenant(job.tenant), job.actor.clone(), target, why).await;
}

/// Ends `job` as done: older versions retired, audited in both logs as its requester's.
async fn finish(state: &AppState, job: &KeyRotation, claim: Uuid) -> AppResult<()> {
    let tenant = state.store.tenant(job.tenant).await?.ok_or(AppError::NotFound("tenant"))?;
    let mut w = state.store.begin(AuditScope::Tenant(job.tenant), job.actor.clone()).await?;
    let retired = match w.finish_key_rotation(job, claim).await {
        Ok(n) => n,
        Err(StoreError::NotFound) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let detail = format!(
        "kind={} to=v{} resealed={} passes={} retired={retired} job={}",
        job.kind.as_str(),
        job.target_version,
        job.resealed,
        job.pass,
        job.id
    );
    w.also_in_platform(
        AuditRecord::success(Operation::KeyRotateFinish, format!("tenant:{}", tenant.slug)).with_detail(detail.clone()),
    )?;
    w.commit(AuditRecord::success(Operation::KeyRotateFinish, TARGET).with_detail(detail)).await?;
    tracing::info!(tenant = %job.tenant, version = job.target_version, resealed = job.resealed, "key rotation finished");
    Ok(())
}

/// Ends `job` as failed (its tenant's keys cannot be used): nothing is retired.
async fn fail(state: &AppState, job: &KeyRotation, claim: Uuid, why: &str) -> AppResult<()> {
    tracing::error!(tenant = %job.tenant, job = %job.id, error = why, "a key rotation failed");
    let tenant = state.store.tenant(job.tenant).await?.ok_or(AppError::NotFound("tenant"))?;
    let mut w = state.store.begin(AuditScope::Tenant(job.tenant), job.actor.clone()).await?;
    match w.fail_key_rotation(job, claim, "the tenant's keys could not be used; see the server log").await {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    let detail = format!("kind={} to=v{} job={}", job.kind.as_str(), job.target_version, job.id);
    let record = |target: String| {
        AuditRecord::success(Operation::KeyRotateFinish, target)
            .with_outcome(Outcome::Failure)
            .with_detail(detail.clone())
    };
    w.also_in_platform(record(format!("tenant:{}", tenant.slug)))?;
    w.commit(record(TARGET.to_owned())).await?;
    Ok(())
}

/// The share of a job done, 0 to 100, for a progress bar.
pub fn percent(job: &KeyRotation) -> u8 {
    match job.rows_total {
        Some(total) if total > 0 => u8::try_from((job.rows_done.min(total) * 100) / total).unwrap_or(100),
        _ => 0,
    }
}

/// A job's kind in words for the API.
pub fn kind_name(kind: RotationKind) -> &'static str {
    kind.as_str()
}
