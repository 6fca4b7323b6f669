//! A record's change history: the entries of the tenant's operation log that name the record
//! (LOG-1), for those who may read the record. Entries carry who, when and which fields, never
//! values, so the history shows no value its reader could not see.

use crate::auth::TenantPrincipal;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use kura_domain::{AuditEntry, AuditScope, Permission, RecordId};
use kura_store::{AuditFilter, CollectionAt};

/// The most entries a record's history shows, newest first.
pub const HISTORY_LIMIT: u32 = 50;

/// The newest entries about record `id` of the collection, and how many there are in all.
pub async fn of_record(
    state: &AppState,
    p: &TenantPrincipal,
    at: &CollectionAt,
    id: RecordId,
) -> AppResult<(Vec<AuditEntry>, u64)> {
    let g = p.require(Permission::RecordsRead)?;
    if at.collection.tenant_id != g.tenant_id() {
        return Err(AppError::NotFound("collection"));
    }
    let filter = AuditFilter {
        target: Some(format!("record:{}/{}", at.collection.name, id)),
        limit: HISTORY_LIMIT,
        ..AuditFilter::default()
    };
    let scope = AuditScope::Tenant(g.tenant_id());
    let entries = state.store.audit_entries(scope, &filter).await?;
    let total = if entries.len() < HISTORY_LIMIT as usize {
        entries.len() as u64
    } else {
        state.store.audit_count(scope, &filter).await?
    };
    Ok((entries, total))
}
