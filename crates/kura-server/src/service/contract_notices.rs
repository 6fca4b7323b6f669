//! Reminders of the contract's end (TEN-4): the tenant's administrators are mailed 30, 14 and 1
//! days before its last day (in the tenant's time zone), each in their language. Run by every
//! node's mail sender task with the other notices; the claim on the tenant's row, in the same
//! write that queues the mail, makes sure each reminder is sent once, across nodes and restarts.

use crate::error::AppResult;
use crate::mail::templates::Notice;
use crate::state::AppState;
use kura_domain::{Actor, AuditRecord, AuditScope, Operation, Tenant};

/// The reminders, in days before the end, farthest first.
pub const STAGES: [u32; 3] = [30, 14, 1];

/// Mails every reminder now due; returns how many mails were queued. A tenant's value that
/// does not open (an administrator's email) ends that tenant's part of the scan, is recorded in
/// its log once ([`crate::refused_opens`]: the scan runs every few minutes and would meet it
/// every time), and the scan goes on with the other tenants.
pub async fn send_due(state: &AppState) -> AppResult<usize> {
    let now = state.clock.now();
    let mut queued = 0;
    let mut scan = crate::refused_opens::Scan::start(state, "contract end notices", actor()).await?;
    for tenant in state.store.tenants().await? {
        let sent = remind(state, &tenant, now).await;
        queued += scan.tenant(state, tenant.id, sent).await?;
    }
    scan.finish(state).await;
    Ok(queued)
}

/// The actor of the reminders' entries.
fn actor() -> Actor {
    Actor::cli("contract end")
}

/// The reminder due to `tenant`'s administrators, if any; returns how many mails were queued.
async fn remind(state: &AppState, tenant: &Tenant, now: jiff::Timestamp) -> AppResult<usize> {
    let Some(end) = tenant.contract_end else { return Ok(0) };
    let today = tenant.today(now);
    if today > end {
        return Ok(0);
    }
    let days = i64::from((end - today).get_days());
    // The nearest reminder due: a tenant already inside 14 days gets that one only.
    let Some(stage) = STAGES.iter().rev().copied().find(|s| days <= i64::from(*s)) else { return Ok(0) };
    let mut w = state.store.begin(AuditScope::Tenant(tenant.id), actor()).await?;
    if !w.claim_contract_end_notice(tenant.id, end, stage).await? {
        return Ok(0);
    }
    let admins = crate::erasure::administrators(state, tenant).await?;
    let deletion = crate::erasure::due_date(end, state.settings.contract.grace_days).to_string();
    let url = format!("{}/console", state.settings.base_url());
    for admin in &admins {
        let notice = Notice::ContractEnding {
            tenant: tenant.display_name.as_str(),
            name: admin.display_name.as_str(),
            end: &end.to_string(),
            days,
            deletion: &deletion,
            url: &url,
        };
        super::links::queue(&mut w, admin, &notice).await?;
    }
    let detail = format!("{stage}-day reminder; ends {end}; mailed to {} administrator(s)", admins.len());
    w.commit(AuditRecord::success(Operation::ContractEndNotice, format!("tenant:{}", tenant.slug)).with_detail(detail))
        .await?;
    Ok(admins.len())
}
