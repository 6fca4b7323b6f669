//! A write holding the slot: its statements run inside savepoint `w`; committing appends its
//! audit entry, releases `w` into the batch and waits for the batch's `COMMIT`.

use super::numbering::Append;
use super::queue::{Shared, durable};
use super::slot::Slot;
use crate::conn::{Exec, Scope};
use crate::error::StoreError;
use crate::sql;
use kura_domain::{AuditEntry, CollectionId, TenantId};
use std::fmt;
use std::sync::Arc;
use tokio::sync::OwnedMutexGuard;

/// The slot, held for one write: its statements run inside savepoint `w` of the outer
/// transaction. Dropping it without [`Held::commit`] rolls the write back (lazily: the next
/// holder of the slot cleans up).
pub(crate) struct Held {
    pub(super) guard: Option<OwnedMutexGuard<Slot>>,
    pub(super) shared: Arc<Shared>,
    /// The scope set for this write (row-level security on PostgreSQL).
    pub(super) scope: Scope,
}

impl fmt::Debug for Held {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Held").finish_non_exhaustive()
    }
}

impl Held {
    /// The writer connection. Fails only if the connection was lost while this write held it.
    pub(crate) fn exec(&mut self) -> Result<Exec<'_>, StoreError> {
        match self.guard.as_mut().and_then(|slot| slot.conn.as_mut()) {
            Some(conn) => Ok(conn.exec()),
            None => Err(StoreError::Database(sqlx::Error::PoolClosed)),
        }
    }

    /// The collection's next change sequence number (see [`super::numbering::Numbers::next_change`]). A missing
    /// collection is [`StoreError::NotFound`].
    pub(crate) async fn next_change(
        &mut self,
        tenant: TenantId,
        collection: CollectionId,
        deleting: bool,
    ) -> Result<i64, StoreError> {
        match self.guard.as_mut() {
            Some(slot) => slot.next_change((tenant, collection), deleting).await,
            None => Err(StoreError::Database(sqlx::Error::PoolClosed)),
        }
    }

    /// See [`super::numbering::Numbers::forget_seqs`].
    pub(crate) fn forget_seqs(&mut self, tenant: TenantId, collection: CollectionId) {
        if let Some(slot) = self.guard.as_mut() {
            slot.numbers.forget_seqs((tenant, collection));
        }
    }

    /// Appends the audit entries, one per chain in `appends` (after `insert`, a new record the
    /// write deferred, in the same call), keeps the write in the outer transaction, lets go of the slot, and waits until the
    /// transaction has committed. `Ok` means durable; an error means the write is not in the
    /// database (or, if the connection died during `COMMIT`, that its fate is unknown — it was
    /// not acknowledged either way). Returns the first entry.
    pub(crate) async fn commit(
        self,
        appends: Vec<Append>,
        insert: Option<sql::records::Insert>,
    ) -> Result<AuditEntry, StoreError> {
        let entry = self.finish(Some((appends, insert))).await?;
        entry.ok_or_else(|| StoreError::Corrupt("no audit entry was appended".to_owned()))
    }

    /// [`Held::commit`] for bookkeeping, which appends no entry.
    pub(crate) async fn commit_unaudited(self) -> Result<(), StoreError> {
        self.finish(None).await.map(drop)
    }

    async fn finish(
        mut self,
        append: Option<(Vec<Append>, Option<sql::records::Insert>)>,
    ) -> Result<Option<AuditEntry>, StoreError> {
        let Some(mut slot) = self.guard.take() else {
            return Err(StoreError::Database(sqlx::Error::PoolClosed));
        };
        let shared = Arc::clone(&self.shared);
        // A write that appends to another chain too (a tenant's write that the platform's
        // chain records as well, a platform write that opened a tenant) reads and advances
        // every chain's head: the platform route, for its appends only.
        let other_chain =
            append.as_ref().is_some_and(|(appends, _)| appends.iter().any(|a| Scope::audit(a.scope) != self.scope));
        // In a task of its own: once started, the append and `RELEASE` are seen through.
        let (entry, outcome, _alive) = tokio::spawn(async move {
            let released = async {
                let (entry, outcome) = match append {
                    Some((appends, insert)) => {
                        if other_chain {
                            slot.set_scope(Scope::Platform).await?;
                        }
                        let mut entries = Vec::with_capacity(appends.len());
                        for append in &appends {
                            entries.push(slot.next_entry(append).await?);
                        }
                        let outcome = slot.append_entries(&entries, insert.as_ref()).await?;
                        (entries.into_iter().next().map(|n| n.entry), outcome)
                    }
                    None => (None, slot.release().await?),
                };
                Ok::<_, StoreError>((entry, outcome))
            }
            .await;
            // Keep the slot alive (not locked) until the batch is decided.
            let alive = Arc::clone(OwnedMutexGuard::mutex(&slot));
            drop(slot);
            // Either way the flusher has work: a batch to commit or a failed write to undo.
            shared.signal.notify_one();
            released.map(|(entry, outcome)| (entry, outcome, alive))
        })
        .await
        .map_err(task_failed)??;
        durable(outcome).await?;
        Ok(entry)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        // A dropped write leaves its savepoint dirty and the outer transaction open; the flusher
        // cleans up promptly, so that SQLite's write lock is not kept from other processes.
        if self.guard.is_some() {
            self.shared.signal.notify_one();
        }
    }
}

pub(super) fn task_failed(e: tokio::task::JoinError) -> StoreError {
    StoreError::NotCommitted(format!("the writer task failed: {e}"))
}
