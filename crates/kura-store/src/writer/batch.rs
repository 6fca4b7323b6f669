//! Batching: readying the slot for the next write, and committing or giving up a batch of
//! released writes.
//!
//! The flusher task (`mod.rs`), woken by a signal, locks the slot. Because the mutex is FIFO, it queues
//! behind the writers already waiting, and they join the batch before it commits. It writes what
//! is queued as data (`apply.rs`), writes the numbers back and commits ([`Slot::settle`]), and
//! publishes the outcome to the batch's waiters: nothing is acknowledged before it is durable.
//! If the clean-up or `COMMIT` fails, the outer transaction is rolled back and every waiter of
//! the batch gets [`StoreError::NotCommitted`]; if even the rollback fails, the connection is
//! dropped and the next writer reconnects. After `COMMIT`, the records written as data bring
//! their collections' snapshots up to date (`advance_snapshots`).

use super::numbering::Seqs;
use super::queue::MAX_BATCH;
use super::slot::{Savepoint, Slot};
use crate::dialect;
use crate::error::StoreError;
use kura_domain::{CollectionId, TenantId};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::watch;

impl Slot {
    /// Makes the slot ready for a new write: cleans up, commits a full batch, (re)connects and
    /// opens the outer transaction. Errors are this caller's; failures of the batch go to the
    /// batch's waiters.
    pub(super) async fn prepare(&mut self) -> Result<(), StoreError> {
        if self.closed {
            return Err(StoreError::Database(sqlx::Error::PoolClosed));
        }
        if self.pending >= MAX_BATCH {
            self.settle().await;
        } else if let Err(e) = self.clean_up().await {
            self.abort(&e).await;
        }
        if self.conn.is_none() {
            self.conn = Some(self.connector.connect().await?);
        }
        if self.savepoint == Savepoint::None {
            let begin = dialect::begin_writer(self.connector.engine());
            match self.run(begin).await {
                Ok(()) => {}
                // A connection that died while idle (a database restart) is replaced once.
                Err(e) if crate::conn::connection_lost(self.connector.engine(), &e) => {
                    tracing::warn!(error = %e, "writer connection lost; reconnecting");
                    self.conn = Some(self.connector.connect().await?);
                    self.run(begin).await?;
                }
                Err(e) => {
                    // Refused (SQLite: another process held the write lock past the busy
                    // timeout). Undo whatever half of it ran; "no transaction" is fine too.
                    let _ = self.run("ROLLBACK").await;
                    return Err(e.into());
                }
            }
            self.savepoint = Savepoint::Fresh;
        }
        Ok(())
    }

    /// The flusher's work: makes the released writes durable, or closes an outer transaction
    /// that holds none (every write in it was dropped).
    pub(super) async fn settle(&mut self) {
        if let Err(e) = self.clean_up().await {
            return self.abort(&e).await;
        }
        if self.savepoint == Savepoint::None {
            return;
        }
        if self.pending == 0 {
            if self.run("ROLLBACK").await.is_err() {
                self.conn = None;
            }
            self.reset();
            return;
        }
        match self.commit().await {
            Ok(seqs) => {
                self.advance_snapshots(&seqs);
                self.reset();
                self.shared.writes.fetch_add(self.pending, Ordering::Relaxed);
                self.shared.batches.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(writes = self.pending, "batch committed");
                self.finish(Ok(()));
            }
            Err(e) => self.abort(&e).await,
        }
    }

    /// Writes the advanced chain heads and change numbers back and commits; returns the change
    /// numbers committed.
    async fn commit(&mut self) -> Result<Vec<((TenantId, CollectionId), Seqs)>, StoreError> {
        let Some(conn) = self.conn.as_mut() else {
            return Err(StoreError::Database(sqlx::Error::PoolClosed));
        };
        self.numbers.write_back_and_commit(conn).await
    }

    /// Gives up the outer transaction: rolls it back, refuses every write of the batch, and
    /// drops the connection if it cannot even roll back.
    pub(super) async fn abort(&mut self, cause: &(dyn fmt::Display + Sync)) {
        tracing::error!(error = %cause, writes = self.pending, "batch not committed; rolling back");
        if self.savepoint != Savepoint::None && self.run("ROLLBACK").await.is_err() {
            self.conn = None;
        }
        self.reset();
        if self.pending > 0 {
            self.shared.failed_batches.fetch_add(1, Ordering::Relaxed);
        }
        self.finish(Err(cause.to_string().into()));
    }

    /// After `COMMIT`: brings each snapshot the batch changed from the change number before the
    /// batch to the one after, with the records it wrote, when the writes as data took every
    /// number in between, or an update as data that was refused took it and changed nothing
    /// (no other write or delete did). So a node's own writes do not make its snapshots stale.
    /// The cache decides whether the merge is worth its cost.
    fn advance_snapshots(&mut self, seqs: &[((TenantId, CollectionId), Seqs)]) {
        let mut written = std::mem::take(&mut self.written);
        // Latest first, then grouped by collection and record (the sort is stable), so that the
        // first of each record's group is its last change.
        written.reverse();
        written.sort_by_key(|r| (r.tenant_id, r.collection_id, r.id));
        while let Some(last) = written.last() {
            let key = (last.tenant_id, last.collection_id);
            let start = written.iter().rposition(|r| (r.tenant_id, r.collection_id) != key).map_or(0, |i| i + 1);
            let mut records = written.split_off(start);
            let writes = records.len();
            let Some(&(_, s)) = seqs.iter().find(|(k, _)| *k == key) else { continue };
            let refused = self.refused.iter().filter(|&&k| k == key).count();
            if s.delete > s.before || i64::try_from(writes + refused).ok() != Some(s.change - s.before) {
                continue;
            }
            records.dedup_by_key(|r| r.id);
            self.cache.advance(key, s.before, s.change, records, writes);
        }
    }

    /// Publishes the batch's outcome and starts the next batch.
    pub(super) fn finish(&mut self, outcome: Result<(), Arc<str>>) {
        self.pending = 0;
        let (next, _) = watch::channel(None);
        std::mem::replace(&mut self.batch, next).send_replace(Some(outcome));
    }
}
