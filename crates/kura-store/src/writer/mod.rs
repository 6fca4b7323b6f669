//! The writer slot and group commit: how concurrent writes share durable commits.
//!
//! A store has one writer connection (SQLite: the only writer the file allows; PostgreSQL: one
//! connection of its own beside the read pool) inside a `Slot` behind a FIFO-fair
//! `tokio::sync::Mutex`. The slot keeps an *outer* transaction open while writes accumulate, and
//! inside it a savepoint `w` that is always ready for the next write:
//!
//! - [`Writer::hold`] locks the slot. If the previous holder left its savepoint dirty (it was
//!   dropped or failed), it first runs `ROLLBACK TO SAVEPOINT w`, which undoes exactly that write
//!   and leaves `w` ready again. If no outer transaction is open, it runs `BEGIN IMMEDIATE` (SQLite)
//!   or `BEGIN` (PostgreSQL) and `SAVEPOINT w`. In the steady state it runs nothing at all.
//! - The write's statements run inside `w`. [`Held::commit`] appends the audit entry, runs
//!   `RELEASE SAVEPOINT w; SAVEPOINT w` (keeping the write, readying `w` for the next one; on
//!   SQLite in the same call as the audit insert, to save a hand-off to its worker thread), joins
//!   the current batch, lets go of the slot, signals the flusher and waits until the batch's
//!   `COMMIT` has completed. Only then does it return `Ok`: nothing is acknowledged before it is
//!   durable.
//! - The flusher task, woken by the signal, locks the slot too. Because the mutex is FIFO, it
//!   queues behind the writers already waiting, and they join the batch before it commits. It
//!   writes the chain heads back, commits, and publishes the result to the batch's waiters. A
//!   batch is also committed by the next writer once it holds [`MAX_BATCH`] writes, so latency
//!   stays bounded under constant load.
//! - If the clean-up or `COMMIT` fails, the outer transaction is rolled back and every waiter of
//!   the batch gets [`StoreError::NotCommitted`]; if even the rollback fails, the connection is
//!   dropped and the next writer reconnects.
//!
//! Writes can also come as data ([`Writer::insert`], [`Writer::update`]), queued with their
//! audit records instead of holding the slot; the flusher writes them before its `COMMIT`.
//!
//! One job per module, from the bottom up: `queue.rs` (the queue of writes as data, and what
//! the flusher and the writers share outside the mutex), `numbering.rs` (chain heads and change numbers,
//! counted in memory, written back once per batch; the entry itself is sealed by
//! `AuditEntry::seal` in the domain), `slot.rs` (the connection, the outer transaction and the
//! rules of savepoint `w`), `batch.rs` (readying the slot for a write, committing or giving up
//! a batch, advancing snapshots), `apply.rs` (writing what is queued as data), `held.rs` (a
//! write holding the slot), and this file, the handle and the flusher task that join them. On
//! SQLite the flusher runs on a thread of its own ([`spawn_dedicated`]).
//!
//! Transaction-control statements run in tasks of their own, so that a caller dropped half-way (a
//! client that hung up) cannot leave the slot unsure whether `BEGIN`, `SAVEPOINT` or `RELEASE`
//! ran: the task finishes, and an abandoned write is cleaned up like any dropped one.

mod apply;
mod batch;
mod held;
mod numbering;
mod queue;
mod slot;

pub(crate) use held::Held;
pub(crate) use numbering::Append;
pub(crate) use queue::{NewRecord, RecordChange};

use crate::cache::RecordCache;
use crate::conn::{Connector, Engine, Scope, WriterConn};
use crate::error::StoreError;
use held::task_failed;
use kura_domain::AuditEntry;
use numbering::Numbers;
use queue::{Handed, Placed, Queue, Shared, durable};
use slot::{Savepoint, Slot};
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError, Weak};
use tokio::sync::{Mutex, oneshot, watch};

/// Counters of the group commit, for tests and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Writes (audited writes and bookkeeping updates) made durable.
    pub writes: u64,
    /// Successful `COMMIT`s that made them durable.
    pub batches: u64,
    /// Batches whose `COMMIT` (or clean-up) failed; their writes were refused, not acknowledged.
    pub failed_batches: u64,
}

/// The writer slot of one store: cheap to clone, shared by its clones.
#[derive(Clone)]
pub(crate) struct Writer {
    slot: Arc<Mutex<Slot>>,
    shared: Arc<Shared>,
}

impl fmt::Debug for Writer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writer").field("stats", &self.stats()).finish_non_exhaustive()
    }
}

impl Writer {
    /// Wraps the writer connection and starts its flusher on the current runtime.
    pub(crate) fn open(conn: WriterConn, connector: Connector, cache: Arc<RecordCache>) -> Self {
        let shared = Arc::new(Shared::default());
        let (batch, _) = watch::channel(None);
        let slot = Slot {
            conn: Some(conn),
            connector,
            savepoint: Savepoint::None,
            numbers: Numbers::default(),
            written: Vec::new(),
            refused: Vec::new(),
            cache,
            pending: 0,
            batch,
            closed: false,
            shared: Arc::clone(&shared),
        };
        let sqlite = matches!(slot.connector, Connector::Sqlite(_));
        let slot = Arc::new(Mutex::new(slot));
        if sqlite {
            spawn_dedicated(&slot, &shared);
        } else {
            tokio::spawn(flusher(Arc::downgrade(&slot), Arc::clone(&shared)));
        }
        Self { slot, shared }
    }

    /// Locks the slot for one write in `scope`, its savepoint ready. On PostgreSQL the write's
    /// scope is set inside its savepoint (row-level security, TEN-2): a batch holds several
    /// tenants' writes, and each sees and writes only its own tenant's rows.
    pub(crate) async fn hold(&self, scope: Scope) -> Result<Held, StoreError> {
        let mut guard = {
            let _queued = Queued::enter(&self.shared);
            Arc::clone(&self.slot).lock_owned().await
        };
        let shared = Arc::clone(&self.shared);
        let ready = guard.ready();
        if ready && guard.connector.engine() == Engine::Sqlite {
            guard.savepoint = Savepoint::Dirty;
            return Ok(Held { guard: Some(guard), shared, scope });
        }
        // Statements to run: in a task of its own (see the module documentation). If this
        // caller is gone by the time it ends, the `Held` it returns is dropped like any
        // abandoned write, which wakes the flusher to close what was opened (and rolls back
        // to `w`, which undoes the scope set in it too).
        tokio::spawn(async move {
            if !ready && let Err(e) = guard.prepare().await {
                drop(guard);
                shared.signal.notify_one();
                return Err(e);
            }
            guard.savepoint = Savepoint::Dirty;
            let mut held = Held { guard: Some(guard), shared, scope };
            // Refused: the `Held` dropped here wakes the flusher to roll back to `w`.
            if let Some(slot) = held.guard.as_mut() {
                slot.set_scope(scope).await?;
            }
            Ok(held)
        })
        .await
        .map_err(task_failed)?
    }

    /// Inserts a new record with its audit entry, handed to the flusher as data rather than by
    /// holding the slot: the flusher writes every queued insert before its next `COMMIT`,
    /// several rows per statement. Returns once the insert is durable, like [`Held::commit`].
    /// A caller that gives up waiting does not withdraw the insert.
    pub(crate) async fn insert(&self, new: NewRecord) -> Result<AuditEntry, StoreError> {
        self.enqueue(|queue, reply| queue.inserts.push(Handed { write: new, reply })).await
    }

    /// Changes a record if it is still at the version its writer read, with its audit entry,
    /// handed to the flusher as data like [`Writer::insert`]. A record that moved on or is gone
    /// is [`StoreError::Conflict`]: the caller reads it again inside a write to tell which.
    pub(crate) async fn update(&self, change: RecordChange) -> Result<AuditEntry, StoreError> {
        self.enqueue(|queue, reply| queue.updates.push(Handed { write: change, reply })).await
    }

    /// Queues a write with `push`, wakes the flusher and waits until the write is durable.
    async fn enqueue(&self, push: impl FnOnce(&mut Queue, oneshot::Sender<Placed>)) -> Result<AuditEntry, StoreError> {
        let (reply, placed) = oneshot::channel();
        {
            let mut queue = self.shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
            if queue.closed {
                return Err(StoreError::Database(sqlx::Error::PoolClosed));
            }
            push(&mut queue, reply);
        }
        self.shared.signal.notify_one();
        let placed = placed.await.map_err(|_| StoreError::NotCommitted("the writer stopped".to_owned()))?;
        let (entry, outcome) = placed?;
        durable(outcome).await?;
        Ok(entry)
    }

    pub(crate) fn stats(&self) -> CommitStats {
        CommitStats {
            writes: self.shared.writes.load(Ordering::Relaxed),
            batches: self.shared.batches.load(Ordering::Relaxed),
            failed_batches: self.shared.failed_batches.load(Ordering::Relaxed),
        }
    }

    /// How many writes (inserts and updates) wait in the queue.
    #[cfg(feature = "testing")]
    pub(crate) fn queued_as_data(&self) -> usize {
        let queue = self.shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
        queue.inserts.len() + queue.updates.len()
    }

    /// How many tasks wait for the slot.
    #[cfg(feature = "testing")]
    pub(crate) fn queued(&self) -> usize {
        self.shared.queued.load(Ordering::SeqCst)
    }

    /// Commits what was released, rolls back the rest, closes the connection and stops the
    /// flusher. Later writes fail as on a closed pool.
    pub(crate) async fn close(&self) {
        let mut slot = Arc::clone(&self.slot).lock_owned().await;
        let shared = Arc::clone(&self.shared);
        let _ = tokio::spawn(async move {
            if slot.closed {
                return;
            }
            // No more writes as data: those already queued are written and committed with the rest.
            shared.queue.lock().unwrap_or_else(PoisonError::into_inner).closed = true;
            while !shared.queue.lock().unwrap_or_else(PoisonError::into_inner).is_empty() {
                slot.drain().await;
                slot.settle().await;
            }
            slot.settle().await;
            slot.closed = true;
            if let Some(conn) = slot.conn.take() {
                conn.close().await;
            }
            drop(slot);
            shared.signal.notify_one();
        })
        .await;
    }
}

/// Counts a task in [`Shared::queued`] while it waits for the slot, even if it gives up.
struct Queued<'a>(&'a Shared);

impl<'a> Queued<'a> {
    fn enter(shared: &'a Shared) -> Self {
        shared.queued.fetch_add(1, Ordering::SeqCst);
        Self(shared)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.queued.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Runs the SQLite flusher on a thread of its own (a single-threaded runtime), falling back to
/// the caller's runtime if no thread can be started.
///
/// Its batch cycle is a chain of hand-offs to the connection's worker thread, and on the shared
/// runtime each reply waited for a tokio worker busy with requests to resume the flusher, which
/// profiles showed bounding the create rate. Its own thread is woken by the reply directly. (On
/// PostgreSQL the connection's socket belongs to the runtime that opened it, so the flusher
/// stays there.)
fn spawn_dedicated(slot: &Arc<Mutex<Slot>>, shared: &Arc<Shared>) {
    let (weak, own) = (Arc::downgrade(slot), Arc::clone(shared));
    let started = tokio::runtime::Builder::new_current_thread().enable_all().build().and_then(|runtime| {
        std::thread::Builder::new().name("kura-writer".to_owned()).spawn(move || runtime.block_on(flusher(weak, own)))
    });
    if let Err(e) = started {
        tracing::warn!(error = %e, "no thread for the writer's flusher; it runs on the shared runtime");
        tokio::spawn(flusher(Arc::downgrade(slot), Arc::clone(shared)));
    }
}

/// The flusher: commits each batch once the writers already queued for the slot have joined it.
/// It holds the slot only weakly, so that a store dropped without `close` does not live on.
async fn flusher(slot: Weak<Mutex<Slot>>, shared: Arc<Shared>) {
    loop {
        // Writes queued while the last batch committed start the next one at once; otherwise
        // wait for a signal (one sent meanwhile is kept). The slot is let go in between, so
        // that writers waiting for it join the next batch in turn.
        if shared.queue.lock().unwrap_or_else(PoisonError::into_inner).is_empty() {
            shared.signal.notified().await;
        }
        let Some(slot) = slot.upgrade() else {
            return;
        };
        let mut guard = slot.lock().await;
        if guard.closed {
            return;
        }
        guard.drain().await;
        guard.settle().await;
    }
}
