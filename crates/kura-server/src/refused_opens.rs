//! Refused decryptions met by work that repeats (DAT-2): the expiry and contract-end reminder
//! scans (every few minutes, on every node), the scheduled deletion at the contract's end (every
//! hour), the key rotation worker's claims (every lease) and the start of every node or command
//! meet a value that does not open again and again, until someone repairs or removes it. Each
//! meeting is counted (`kura_decryption_refusals_total`), but the tenant's log must neither miss
//! one nor fill with copies of it, so for each tenant and piece of work:
//!
//! - the first meeting of a value is written at once, as [`crate::denials::record_refused_open`]
//!   writes a request's (`crypto.open_refused`, outcome `failure`, where and never what);
//! - while the same value is met again, nothing more is written for [`PERIOD`] (a day); the
//!   first meeting after it writes one entry saying it is still refused, how often it was met
//!   since the last entry, and since when;
//! - a different value (another row or column; the store's refusal names it) is written at once;
//! - when the work goes through the tenant without meeting it, one entry (outcome `success`)
//!   says it is no longer met and how often it was met after the last entry; a later refusal is
//!   then a new one, written at once.
//!
//! What is remembered lives in the database (`refused_opens`, kura-store), written with each
//! entry in one transaction and claimed by conditional statements, so it holds across restarts
//! and across several nodes sharing PostgreSQL: of two nodes that meet a value at once, one
//! writes the entry and the other counts the meeting. A refusal whose remembering fails is
//! written as it is: a copy too many rather than one lost.

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use jiff::SignedDuration;
use kura_domain::{Actor, AuditRecord, AuditScope, Operation, Outcome, TenantId};
use kura_store::Noted;

/// How long a value that is still refused goes without another entry.
pub const PERIOD: SignedDuration = SignedDuration::from_hours(24);

/// The work of [`record_start_up`]: sealing the users written before their emails were sealed.
pub const START_UP: &str = "start-up sealing";

/// Records that `work` met `tenant`'s value that did not open (`cause`, the store's words), as
/// the module says: counted always, written when it is new, once a period while it goes on.
/// Never fails its caller.
pub async fn record(state: &AppState, tenant: TenantId, actor: &Actor, work: &str, cause: &str) {
    state.metrics.decryption_refused();
    if let Err(e) = note(state, tenant, actor, work, cause).await {
        tracing::warn!(error = %e, %tenant, work, "a refused decryption could not be remembered; it is written as it is");
        crate::denials::write_refused_open(state, AuditScope::Tenant(tenant), actor.clone(), work.to_owned(), cause)
            .await;
    }
}

async fn note(state: &AppState, tenant: TenantId, actor: &Actor, work: &str, cause: &str) -> AppResult<()> {
    let digest = kura_crypto::sha256(cause.as_bytes());
    // Twice at most: when another node writes the entry between the count and the claim,
    // this meeting is counted instead.
    for _ in 0..2 {
        if state.store.count_refused_open(tenant, work, &digest, PERIOD).await? {
            return Ok(());
        }
        let mut w = state.store.begin(AuditScope::Tenant(tenant), actor.clone()).await?;
        if let Some(noted) = w.note_refused_open(tenant, work, &digest, PERIOD).await? {
            let detail = match noted {
                Noted::First => cause.to_owned(),
                Noted::Again(before) => format!(
                    "still refused: met {} more time(s) since the entry of {}, first met {}; {cause}",
                    before.unrecorded + 1,
                    before.recorded_at,
                    before.first_at
                ),
            };
            w.commit(entry(work, Outcome::Failure, &detail)).await?;
            return Ok(());
        }
    }
    Ok(())
}

/// `work` went through `tenant`'s values without meeting the refusal it remembers: one entry
/// says so and the refusal is forgotten (nothing is written when there was none). Never fails
/// its caller.
pub async fn cleared(state: &AppState, tenant: TenantId, actor: &Actor, work: &str) {
    if let Err(e) = clear(state, tenant, actor, work).await {
        tracing::warn!(error = %e, %tenant, work, "the end of a refused decryption could not be recorded");
    }
}

async fn clear(state: &AppState, tenant: TenantId, actor: &Actor, work: &str) -> AppResult<()> {
    let mut w = state.store.begin(AuditScope::Tenant(tenant), actor.clone()).await?;
    // None: nothing to forget; dropping the write leaves everything as it was.
    let Some(before) = w.clear_refused_open(tenant, work).await? else { return Ok(()) };
    let detail = format!(
        "no longer met: met {} more time(s) after the entry of {}, last at {}; first met {}",
        before.unrecorded, before.recorded_at, before.seen_at, before.first_at
    );
    w.commit(entry(work, Outcome::Success, &detail)).await?;
    Ok(())
}

fn entry(work: &str, outcome: Outcome, detail: &str) -> AuditRecord {
    AuditRecord {
        operation: Operation::CryptoOpenRefused,
        target: Some(work.chars().take(300).collect()),
        outcome,
        detail: Some(detail.chars().take(400).collect()),
    }
}

/// One pass of work that repeats over the tenants, such as a reminder scan.
#[derive(Debug)]
pub struct Scan {
    work: &'static str,
    actor: Actor,
    /// The tenants for which the work remembered a refusal when the pass began.
    remembered: Vec<TenantId>,
    /// The tenants in which this pass met one.
    refused: Vec<TenantId>,
}

impl Scan {
    /// Begins a pass of `work`, whose entries name `actor`.
    pub async fn start(state: &AppState, work: &'static str, actor: Actor) -> AppResult<Self> {
        let remembered = state.store.refused_open_tenants(work).await?;
        Ok(Self { work, actor, remembered, refused: Vec::new() })
    }

    /// The result of the work in `tenant`: a value that did not open is recorded ([`record`])
    /// and the pass goes on with the next tenant, as if nothing were due in this one (one
    /// tenant's damaged value must not hold back the others' reminders); any other error is
    /// handed back.
    pub async fn tenant<T: Default>(
        &mut self,
        state: &AppState,
        tenant: TenantId,
        result: AppResult<T>,
    ) -> AppResult<T> {
        match result {
            Err(AppError::Undecryptable(cause)) => {
                self.refused(state, tenant, &cause).await;
                Ok(T::default())
            }
            other => other,
        }
    }

    /// Records a value of `tenant` that did not open in this pass.
    pub async fn refused(&mut self, state: &AppState, tenant: TenantId, cause: &str) {
        self.refused.push(tenant);
        record(state, tenant, &self.actor, self.work, cause).await;
    }

    /// Ends a pass that went through every tenant it had to: the refusals remembered for the
    /// tenants in which it met none are over ([`cleared`]).
    pub async fn finish(self, state: &AppState) {
        for tenant in self.remembered.iter().filter(|t| !self.refused.contains(*t)) {
            cleared(state, *tenant, &self.actor, self.work).await;
        }
    }
}

/// Records the values that the store's start-up sealing could not open
/// (`Store::refused_at_open`), in their tenants' logs, which did not exist for it yet: run once
/// the application's state is built. Every start meets them again, so they go through a
/// [`Scan`] like a reminder's.
pub async fn record_start_up(state: &AppState) {
    let actor = Actor::cli(START_UP);
    let mut scan = match Scan::start(state, START_UP, actor.clone()).await {
        Ok(scan) => scan,
        Err(e) => {
            tracing::warn!(error = %e, "the refusals remembered from earlier starts could not be read");
            Scan { work: START_UP, actor, remembered: Vec::new(), refused: Vec::new() }
        }
    };
    for (tenant, cause) in state.store.refused_at_open() {
        scan.refused(state, *tenant, cause).await;
    }
    scan.finish(state).await;
}
