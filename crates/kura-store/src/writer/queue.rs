//! The queue of writes as data, and what the flusher and the writers share outside the slot's
//! mutex: the signal that wakes the flusher, the counters, and how a batch's outcome reaches
//! its waiters.

use super::numbering::Append;
use crate::error::StoreError;
use crate::sql;
use kura_domain::{AuditEntry, AuditScope, CollectionId, Record, TenantId};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use tokio::sync::{Notify, oneshot, watch};

/// The most writes one `COMMIT` carries. The writer that finds a batch this full commits it
/// before starting its own, so a constant stream of writers cannot postpone a commit forever.
pub(crate) const MAX_BATCH: u64 = 512;

/// What the flusher and the writers share outside the mutex.
#[derive(Default)]
pub(super) struct Shared {
    /// Wakes the flusher. A signal sent while it is busy is kept (one permit), never lost.
    pub(super) signal: Notify,
    /// Record inserts and updates queued as data, which the flusher writes before each `COMMIT`.
    pub(super) queue: std::sync::Mutex<Queue>,
    /// Tasks waiting for the slot (tests use it to line writers up in one batch).
    pub(super) queued: AtomicUsize,
    pub(super) writes: AtomicU64,
    pub(super) batches: AtomicU64,
    pub(super) failed_batches: AtomicU64,
}

/// How a batch ended, as its waiters see it: `None` until its `COMMIT` has completed.
pub(super) type Outcome = Option<Result<(), Arc<str>>>;

/// Waits until the batch a write joined is decided: `Ok` once its `COMMIT` has completed.
pub(super) async fn durable(mut outcome: watch::Receiver<Outcome>) -> Result<(), StoreError> {
    let decided = outcome.wait_for(Option::is_some).await;
    match decided.as_deref() {
        Ok(Some(Ok(()))) => Ok(()),
        Ok(Some(Err(cause))) => Err(StoreError::NotCommitted(cause.to_string())),
        Ok(None) | Err(_) => Err(StoreError::NotCommitted("the batch was abandoned".to_owned())),
    }
}

/// A new record and its audit entry, handed to the writer as data ([`Writer::insert`]).
pub(crate) struct NewRecord {
    pub append: Append,
    /// Numbered with the collection's change number by the writer.
    pub insert: sql::records::Insert,
    /// The record as inserted, for the collection's snapshot (see [`Slot::advance_snapshots`]).
    pub record: Record,
}

/// What a queued insert learns once the writer has put it into the open transaction: its entry
/// and the batch whose `COMMIT` will make it durable.
pub(super) type Placed = Result<(AuditEntry, watch::Receiver<Outcome>), StoreError>;

/// A write handed to the writer as data, with where to tell its writer how it went.
pub(super) struct Handed<W> {
    pub(super) write: W,
    pub(super) reply: oneshot::Sender<Placed>,
}

/// A change to a record at the version its writer read, and its audit entry, handed to the
/// writer as data ([`Writer::update`]).
pub(crate) struct RecordChange {
    pub append: Append,
    /// Numbered with the collection's change number by the writer.
    pub update: sql::records::Update,
    /// The record as it will be once changed, for the collection's snapshot.
    pub record: Record,
}

/// Writes waiting for the flusher; refused once the writer is closed.
#[derive(Default)]
pub(super) struct Queue {
    pub(super) inserts: Vec<Handed<NewRecord>>,
    pub(super) updates: Vec<Handed<RecordChange>>,
    pub(super) closed: bool,
}

impl Queue {
    /// The collection and chain of the write the flusher takes first (inserts, then updates).
    pub(super) fn first(&self) -> Option<((TenantId, CollectionId), AuditScope)> {
        let insert = self.inserts.first().map(|q| (q.write.insert.target.key(), q.write.append.scope));
        insert.or_else(|| self.updates.first().map(|q| (q.write.update.target.key(), q.write.append.scope)))
    }

    pub(super) fn is_empty(&self) -> bool {
        self.inserts.is_empty() && self.updates.is_empty()
    }
}
