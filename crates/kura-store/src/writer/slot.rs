//! The writer's slot: its connection, the outer transaction and the rules of savepoint `w`.
//!
//! The slot keeps an *outer* transaction open while writes accumulate, and inside it a
//! savepoint `w` that is always ready for the next write ([`Savepoint`]). A write runs inside
//! `w`; releasing it (`RELEASE SAVEPOINT w; SAVEPOINT w`) keeps the write in the outer
//! transaction and readies `w` for the next one. A write that fails or is dropped leaves `w`
//! dirty, and whoever takes the slot next rolls back to it first ([`Slot::clean_up`]), which
//! undoes exactly that write. Only the holder of the writer's mutex touches the slot.

use super::numbering::{Append, Numbers};
use super::queue::{MAX_BATCH, Outcome, Shared};
use crate::cache::RecordCache;
use crate::conn::{Connector, Scope, WriterConn};
use crate::dialect;
use crate::error::StoreError;
use crate::sql;
use kura_domain::{CollectionId, Record, TenantId};
use std::sync::Arc;
use tokio::sync::watch;

/// The state of savepoint `w` inside the outer transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Savepoint {
    /// No outer transaction is open.
    None,
    /// Open and unused: ready for the next write.
    Fresh,
    /// Handed to a write that has not released it (yet): whoever locks the slot next rolls
    /// back to it first.
    Dirty,
}

/// The writer connection and the state of its outer transaction. Only the holder of the mutex
/// touches it.
pub(super) struct Slot {
    /// `None` once closed, or after the connection was lost (the next writer reconnects).
    pub(super) conn: Option<WriterConn>,
    pub(super) connector: Connector,
    pub(super) savepoint: Savepoint,
    /// Chain heads and change numbers counted in the open outer transaction.
    pub(super) numbers: Numbers,
    /// The records written by the writes as data released into the open outer transaction, in
    /// the order they took their change numbers: what its `COMMIT` brings their collections'
    /// snapshots to.
    pub(super) written: Vec<Record>,
    /// The collections of the updates as data refused in the open outer transaction, once for
    /// each: each took a change number and changed nothing (see [`Slot::advance_snapshots`]).
    pub(super) refused: Vec<(TenantId, CollectionId)>,
    pub(super) cache: Arc<RecordCache>,
    /// Writes released into the open outer transaction, waiting for its `COMMIT`.
    pub(super) pending: u64,
    /// The current batch: its waiters subscribe, the `COMMIT` publishes.
    pub(super) batch: watch::Sender<Outcome>,
    pub(super) closed: bool,
    pub(super) shared: Arc<Shared>,
}

impl Slot {
    /// No outer transaction any more (committed or rolled back).
    pub(super) fn reset(&mut self) {
        self.savepoint = Savepoint::None;
        self.numbers.clear();
        self.written.clear();
        self.refused.clear();
    }

    /// Whether a write can start without any statement: the common case under load.
    pub(super) fn ready(&self) -> bool {
        !self.closed && self.savepoint == Savepoint::Fresh && self.pending < MAX_BATCH && self.conn.is_some()
    }

    /// Undoes a write that was dropped or failed: back to its savepoint, which stays ready for
    /// the next write; the rest of the batch is untouched.
    pub(super) async fn clean_up(&mut self) -> Result<(), sqlx::Error> {
        if self.savepoint == Savepoint::Dirty {
            self.run("ROLLBACK TO SAVEPOINT w").await?;
            self.savepoint = Savepoint::Fresh;
            self.numbers.undo_write();
        }
        Ok(())
    }

    /// Keeps the holding write in the outer transaction and joins the current batch.
    pub(super) async fn release(&mut self) -> Result<watch::Receiver<Outcome>, sqlx::Error> {
        self.run(dialect::RELEASE).await?;
        Ok(self.released())
    }

    /// The holding write's savepoint was released and `w` opened again: it joins the batch.
    pub(super) fn released(&mut self) -> watch::Receiver<Outcome> {
        self.joined(1);
        self.batch.subscribe()
    }

    /// `n` writes released together into the outer transaction join the batch; `w` is ready.
    pub(super) fn joined(&mut self, n: usize) {
        self.savepoint = Savepoint::Fresh;
        self.numbers.keep_write();
        self.pending += n as u64;
    }

    /// Finishes writes put into `w` together once their last call is `written` (which says
    /// whether it also released `w`): releases `w` if it did not, and they join the batch.
    pub(super) async fn release_together(
        &mut self,
        written: Result<bool, StoreError>,
        n: usize,
    ) -> Result<(), StoreError> {
        if !written? {
            self.run(dialect::RELEASE).await?;
        }
        self.joined(n);
        Ok(())
    }

    /// The writer connection, unless it was lost (the next writer reconnects).
    pub(super) fn conn(&mut self) -> Result<&mut WriterConn, StoreError> {
        self.conn.as_mut().ok_or(StoreError::Database(sqlx::Error::PoolClosed))
    }

    /// Appends `entry` (after inserting `insert`, if any) and releases the write's savepoint
    /// into the batch, in one call where the engine allows it.
    pub(super) async fn append_entry(
        &mut self,
        entry: &sql::audit::NewEntry,
        insert: Option<&sql::records::Insert>,
    ) -> Result<watch::Receiver<Outcome>, StoreError> {
        self.append_entries(std::slice::from_ref(entry), insert).await
    }

    /// [`Slot::append_entry`] for a write with entries in several chains: the new record, if
    /// any, goes with the first.
    pub(super) async fn append_entries(
        &mut self,
        entries: &[sql::audit::NewEntry],
        insert: Option<&sql::records::Insert>,
    ) -> Result<watch::Receiver<Outcome>, StoreError> {
        let mut insert = insert;
        if entries.len() > 1
            && let Some(record) = insert.take()
        {
            sql::records::insert(&mut self.conn()?.exec(), record).await?;
        }
        if sql::audit::insert_many(&mut self.conn()?.exec(), entries, insert.as_slice()).await? {
            Ok(self.released())
        } else {
            Ok(self.release().await?)
        }
    }

    /// Sets `scope` for the rest of the outer transaction, or until a rollback to the savepoint
    /// it was set in (PostgreSQL; a no-op on SQLite). Each write sets its own, so no write runs
    /// in a scope another left behind.
    pub(super) async fn set_scope(&mut self, scope: Scope) -> Result<(), StoreError> {
        Ok(crate::conn::set_scope(&mut self.conn()?.exec(), scope, true).await?)
    }

    pub(super) async fn run(&mut self, sql: &'static str) -> Result<(), sqlx::Error> {
        match self.conn.as_mut() {
            Some(conn) => conn.run(sql).await,
            None => Err(sqlx::Error::PoolClosed),
        }
    }

    /// The next entry of `append`'s chain (see [`Numbers::next_entry`]); undone with `w` if the
    /// write rolls back.
    pub(super) async fn next_entry(&mut self, append: &Append) -> Result<sql::audit::NewEntry, StoreError> {
        let Some(conn) = self.conn.as_mut() else {
            return Err(StoreError::Database(sqlx::Error::PoolClosed));
        };
        self.numbers.next_entry(&mut conn.exec(), append).await
    }

    /// A collection's next change number (see [`Numbers::next_change`]); undone with `w` if the
    /// write rolls back.
    pub(super) async fn next_change(
        &mut self,
        key: (TenantId, CollectionId),
        deleting: bool,
    ) -> Result<i64, StoreError> {
        let Some(conn) = self.conn.as_mut() else {
            return Err(StoreError::Database(sqlx::Error::PoolClosed));
        };
        self.numbers.next_change(&mut conn.exec(), key, deleting).await
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        // The last handle is gone: let the flusher find out and end.
        self.shared.signal.notify_one();
    }
}
