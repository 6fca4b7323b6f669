//! The sender task: delivers due mail from the outbox, on every node. A mail queued on this node
//! goes out at once (the node rings its own bell); mail queued elsewhere (another node, the CLI)
//! is found by polling. Each mail is claimed for a lease first, so two nodes never send it
//! twice, and a node that stops half-way leaves it to the others.

use crate::state::AppState;
use jiff::SignedDuration;
use kura_domain::{Actor, ActorKind, AuditRecord, Operation, Outcome};
use kura_store::OutboxMail;
use std::future::Future;
use std::time::Duration;

/// Mails claimed at once.
const BATCH: u32 = 20;
/// How long a claim holds: longer than a delivery may take (the SMTP timeout).
const LEASE: SignedDuration = SignedDuration::from_secs(120);
/// The longest wait between two attempts.
const MAX_BACKOFF: SignedDuration = SignedDuration::from_secs(3600);

/// How often a node looks for password expiry warnings to send.
const EXPIRY_SCAN: Duration = Duration::from_secs(600);

/// Runs the sender until `shutdown` completes.
pub fn spawn(state: AppState, shutdown: impl Future<Output = ()> + Send + 'static) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let poll = Duration::from_secs(u64::from(state.settings.mail.poll_seconds));
        tokio::pin!(shutdown);
        // The first tick is at once.
        let mut scan = tokio::time::interval(EXPIRY_SCAN);
        scan.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut deliver = true;
        loop {
            if deliver && let Err(e) = deliver_due(&state).await {
                tracing::warn!(error = %e, "mail delivery pass failed; trying again later");
            }
            deliver = true;
            tokio::select! {
                () = &mut shutdown => break,
                () = state.mail.wake_wait() => {}
                () = tokio::time::sleep(poll) => {}
                _ = scan.tick() => {
                    match crate::service::expiry::send_due_notices(&state).await {
                        // A scan that queued nothing leaves nothing new to deliver.
                        Ok(0) => deliver = false,
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "expiry warnings could not be sent; trying again later"),
                    }
                }
            }
        }
    })
}

/// Delivers every mail due now; returns how many were delivered.
pub async fn deliver_due(state: &AppState) -> Result<usize, kura_store::StoreError> {
    let mut delivered = 0;
    loop {
        let claimed = state.store.claim_mail(BATCH, LEASE).await?;
        if claimed.mails.is_empty() && claimed.unopened.is_empty() {
            return Ok(delivered);
        }
        // Given up by the store already: recorded as refused decryptions in their tenants' logs.
        for (tenant, id, e) in claimed.unopened {
            if let kura_store::StoreError::Unreadable(why) = e {
                let scope = kura_domain::AuditScope::Tenant(tenant);
                crate::denials::record_refused_open(state, scope, sender(), format!("mail:{id}"), &why).await;
            }
        }
        for mail in claimed.mails {
            if deliver_one(state, &mail).await? {
                delivered += 1;
            }
        }
    }
}

async fn deliver_one(state: &AppState, mail: &OutboxMail) -> Result<bool, kura_store::StoreError> {
    let error = match state.mail.transport().deliver(mail).await {
        Ok(()) => {
            state.store.mail_sent(mail.id).await?;
            tracing::info!(mail = %mail.id, kind = mail.kind, "mail delivered");
            return Ok(true);
        }
        Err(e) => e.chars().take(500).collect::<String>(),
    };
    let settings = &state.settings.mail;
    if mail.attempts >= settings.max_attempts {
        // Given up, visibly: the operator's list shows it, and the tenant's log records it.
        tracing::error!(mail = %mail.id, kind = mail.kind, error = %error, "mail given up");
        let mut w = state.store.begin(mail.scope, sender()).await?;
        w.give_up_mail(mail.id, &error).await?;
        let record = AuditRecord::success(Operation::MailFailed, format!("mail:{}", mail.id))
            .with_outcome(Outcome::Failure)
            .with_detail(format!("{} to {} after {} attempts: {error}", mail.kind, mail.recipient, mail.attempts));
        w.commit(record).await?;
    } else {
        let base = SignedDuration::from_secs(i64::from(settings.retry_seconds));
        let factor = 1_i32.checked_shl(mail.attempts.saturating_sub(1).min(16)).unwrap_or(i32::MAX);
        let delay = base.checked_mul(factor).unwrap_or(MAX_BACKOFF).min(MAX_BACKOFF);
        let now = state.clock.now();
        let next = now.checked_add(delay).unwrap_or(now);
        tracing::warn!(mail = %mail.id, attempt = mail.attempts, error = %error, "mail not delivered; will retry");
        state.store.mail_retry(mail.scope, mail.id, next, &error).await?;
    }
    Ok(false)
}

/// The actor of the sender's own entries.
fn sender() -> Actor {
    Actor { kind: ActorKind::Cli, id: None, label: "mail sender".into(), role: None, source_ip: None, user_agent: None }
}
