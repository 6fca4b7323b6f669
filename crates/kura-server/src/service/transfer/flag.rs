//! Repeated large exports flagged (DAT-5, for MON-1): after each export, the records one
//! principal exported in the last 24 hours are added up from the tenant's own log — so every
//! node sees the same total — and an export that takes the total past
//! `limits.export_flag_records` is followed by an `export.flagged` entry naming the total and the
//! number of exports. The export itself is not refused: the flag is for the monitoring detectors
//! and for the administrators reading the log.

use crate::auth::TenantPrincipal;
use crate::error::AppResult;
use crate::state::AppState;
use jiff::SignedDuration;
use kura_domain::{AuditEntry, AuditRecord, AuditScope, Operation};
use kura_store::AuditFilter;

/// How far back exports are added up.
const WINDOW: SignedDuration = SignedDuration::from_hours(24);

/// Export entries read per operation; a principal with more in a day is past any threshold.
const MAX_ENTRIES: u32 = 1000;

/// Adds up `p`'s exports of the last 24 hours (the one just audited included) and flags them
/// when they pass the threshold.
pub async fn check(state: &AppState, p: &TenantPrincipal) -> AppResult<()> {
    let tenant = p.tenant().id;
    let now = state.clock.now();
    let actor = p.actor();
    let mut exports = 0u64;
    let mut records = 0u64;
    for operation in [Operation::RecordExport, Operation::TenantExport] {
        let filter = AuditFilter {
            from: Some(now - WINDOW),
            operation: Some(operation),
            limit: MAX_ENTRIES,
            ..AuditFilter::default()
        };
        let entries = state.store.audit_entries(AuditScope::Tenant(tenant), &filter).await?;
        for e in entries.iter().filter(|e| same_actor(e, actor)) {
            exports += 1;
            records += exported_records(e);
        }
    }
    let threshold = state.settings.limits.export_flag_records;
    if records <= threshold {
        return Ok(());
    }
    let entry = AuditRecord::success(Operation::ExportFlagged, format!("{}:{}", actor.kind.as_str(), actor.label))
        .with_detail(format!("records_24h={records} exports_24h={exports} threshold={threshold}"));
    state.store.audit_only(AuditScope::Tenant(tenant), actor.clone(), entry).await?;
    tracing::warn!(tenant = %p.tenant().slug, actor = %actor.label, records, exports, "repeated large exports flagged");
    Ok(())
}

fn same_actor(e: &AuditEntry, actor: &kura_domain::Actor) -> bool {
    e.actor.kind == actor.kind && e.actor.id == actor.id && e.actor.label == actor.label
}

/// The records an export entry says it wrote: `rows=` of a collection's export, `records=` of
/// the whole tenant's.
fn exported_records(e: &AuditEntry) -> u64 {
    let detail = e.detail.as_deref().unwrap_or_default();
    detail
        .split(' ')
        .find_map(|part| part.strip_prefix("rows=").or_else(|| part.strip_prefix("records=")))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dat_5_exported_records_are_read_from_both_kinds_of_export_entry() {
        let entry = |detail: &str| AuditEntry {
            scope: AuditScope::Platform,
            seq: 1,
            at: jiff::Timestamp::UNIX_EPOCH,
            actor: kura_domain::Actor {
                kind: kura_domain::ActorKind::Cli,
                id: None,
                label: "cli".into(),
                role: None,
                source_ip: None,
                user_agent: None,
            },
            operation: Operation::RecordExport,
            target: None,
            outcome: kura_domain::Outcome::Success,
            detail: Some(detail.into()),
            prev_hash: [0; 32],
            hash: [0; 32],
        };
        assert_eq!(exported_records(&entry("format=csv rows=1200 pii=shown")), 1200);
        assert_eq!(exported_records(&entry("format=zip collections=2 records=35 users=1")), 35);
        assert_eq!(exported_records(&entry("nothing here")), 0);
    }
}
