//! Bulk changes of records (DAT-6): many records of one collection changed or deleted inside one
//! [`Write`], so that the whole operation commits with its one audit entry, or not at all.
//!
//! Each record is named with the version its caller chose it at. If any of them moved on or is
//! gone, the call is [`StoreError::Conflict`] and the caller drops the write, which rolls back
//! every change it made: a bulk change never applies to part of what its author confirmed.

use super::Write;
use crate::error::StoreError;
use crate::sql;
use kura_domain::{CollectionId, Record, RecordData, RecordId, TenantId};

/// Why a bulk change is refused when a record changed after it was chosen.
fn moved_on() -> StoreError {
    StoreError::Conflict(
        "records of the selection changed or disappeared after they were chosen; nothing was changed, review the selection again"
            .to_owned(),
    )
}

impl Write {
    /// Deletes `records` of `collection`, each `(id, version)` only at that version; returns how
    /// many were deleted (all of them, or the call fails). On [`StoreError::Conflict`] drop the
    /// write: earlier deletions of the call are in it.
    pub async fn delete_records(
        &mut self,
        tenant: TenantId,
        collection: CollectionId,
        records: &[(RecordId, i64)],
    ) -> Result<u64, StoreError> {
        self.in_scope(tenant)?;
        if records.is_empty() {
            return Ok(0);
        }
        // One delete number for the lot: readers of the collection reload it once.
        self.held.next_change(tenant, collection, true).await?;
        let mut e = self.exec().await?;
        for &(id, version) in records {
            if !sql::records::delete_at_version(&mut e, tenant, collection, id, version).await? {
                return Err(moved_on());
            }
        }
        Ok(records.len() as u64)
    }

    /// Gives each record of `changes` (as read: its id and version) the new data beside it;
    /// returns the records as changed, in the same order. All of them change, or the call fails:
    /// on [`StoreError::Conflict`] drop the write.
    pub async fn update_records(
        &mut self,
        tenant: TenantId,
        collection: CollectionId,
        changes: &[(&Record, RecordData)],
    ) -> Result<Vec<Record>, StoreError> {
        self.in_scope(tenant)?;
        if let Some((r, _)) = changes.iter().find(|(r, _)| r.tenant_id != tenant || r.collection_id != collection) {
            return Err(StoreError::OutOfScope {
                scope: self.scope,
                target: format!("record {} of another tenant or collection", r.id),
            });
        }
        let sealer = self.sealer(tenant).await?;
        let now = self.now();
        let mut changed = Vec::with_capacity(changes.len());
        let mut updates = Vec::with_capacity(changes.len());
        for (current, data) in changes {
            let next =
                Record { version: current.version + 1, data: data.clone(), updated_at: now, ..(*current).clone() };
            let mut update = sql::records::Update::new(&next, &sealer)?;
            update.target.set_change_seq(self.held.next_change(tenant, collection, false).await?);
            updates.push(update);
            changed.push(next);
        }
        let refs: Vec<&sql::records::Update> = updates.iter().collect();
        let applied = sql::records::update_at_versions(&mut self.exec().await?, &refs).await?;
        if applied.len() != changes.len() {
            return Err(moved_on());
        }
        Ok(changed)
    }
}
