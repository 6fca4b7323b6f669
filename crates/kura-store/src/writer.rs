//! The writer slot and group commit: how concurrent writes share durable commits.
//!
//! A store has one writer connection (SQLite: the only writer the file allows; PostgreSQL: one
//! connection of its own beside the read pool) inside a [`Slot`] behind a FIFO-fair
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
//! Writes can also come as data ([`Writer::insert`], [`Writer::update`]): queued with their
//! audit records instead of holding the slot. The flusher, once it holds the slot, takes what
//! is queued (one group of inserts, one of updates; later ones go into the next batch, which it
//! starts at once) and writes it inside `w` before committing: every write numbered in memory (its
//! collection's change number, its chain entry), then new records with their entries in
//! multi-row inserts, and updates at the version their writer read (those whose record moved on
//! are refused, without an entry), each group released once. If a statement fails, it rolls
//! back to `w` and writes them one at a time, so that only a write that fails on its own is
//! refused. On SQLite the flusher runs on a thread of its own ([`spawn_dedicated`]).
//!
//! The audit chain heads are part of this. The first append to a scope in a batch runs the
//! head upsert, which locks the head (its row on PostgreSQL; SQLite's write lock covers
//! everything) until the batch commits. Later appends to that scope
//! in the same batch take the sequence number and previous hash from the slot's memory, and the
//! flusher writes each head back once, just before `COMMIT`. An append that is rolled back
//! restores the head it advanced.
//!
//! Collections' change sequence numbers (which tell record snapshots what changed, see
//! `cache.rs`) are kept the same way: the batch's first record write to a collection advances its
//! row (and locks it), later writes in the batch count on in memory, the flusher writes the numbers
//! back before `COMMIT`, and a rolled-back write restores what it advanced.
//! After `COMMIT`, the records written as data bring their collections' snapshots from the
//! number before the batch to the number after it, when those writes took every number in
//! between ([`Slot::advance_snapshots`]).
//!
//! Transaction-control statements run in tasks of their own, so that a caller dropped half-way (a
//! client that hung up) cannot leave the slot unsure whether `BEGIN`, `SAVEPOINT` or `RELEASE`
//! ran: the task finishes, and an abandoned write is cleaned up like any dropped one.

use crate::cache::RecordCache;
use crate::conn::{Connector, Engine, Exec, WriterConn};
use crate::dialect;
use crate::error::StoreError;
use crate::sql;
use crate::time::now;
use kura_domain::{Actor, AuditEntry, AuditRecord, AuditScope, Clock, CollectionId, Record, TenantId};
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, Weak};
use tokio::sync::{Mutex, Notify, OwnedMutexGuard, oneshot, watch};

/// The most writes one `COMMIT` carries. The writer that finds a batch this full commits it
/// before starting its own, so a constant stream of writers cannot postpone a commit forever.
pub(crate) const MAX_BATCH: u64 = 512;

/// How a batch ended, as its waiters see it: `None` until its `COMMIT` has completed.
type Outcome = Option<Result<(), Arc<str>>>;

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
type Placed = Result<(AuditEntry, watch::Receiver<Outcome>), StoreError>;

/// A write handed to the writer as data, with where to tell its writer how it went.
struct Handed<W> {
    write: W,
    reply: oneshot::Sender<Placed>,
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

/// What the writer does with a write as data beyond its group's statements.
trait AsData {
    /// The record as it will be once written, for its collection's snapshot.
    fn into_record(self) -> Record;
    /// Writes it alone in savepoint `w`, with its entry, and releases `w` into the batch.
    async fn write_alone(&mut self, slot: &mut Slot) -> Placed;
}

impl AsData for NewRecord {
    fn into_record(self) -> Record {
        self.record
    }
    async fn write_alone(&mut self, slot: &mut Slot) -> Placed {
        let entry = slot.number(self).await?;
        let batch = slot.append_entry(&entry, Some(&self.insert)).await?;
        Ok((entry, batch))
    }
}

impl AsData for RecordChange {
    fn into_record(self) -> Record {
        self.record
    }
    async fn write_alone(&mut self, slot: &mut Slot) -> Placed {
        let seq = slot.next_change(self.update.target.key(), false).await?;
        self.update.target.set_change_seq(seq);
        if sql::records::update_at_versions(&mut slot.conn()?.exec(), &[&self.update]).await?.is_empty() {
            return Err(moved_on());
        }
        let entry = slot.next_entry(&self.append).await?;
        let batch = slot.append_entry(&entry, None).await?;
        Ok((entry, batch))
    }
}

/// Writes waiting for the flusher; refused once the writer is closed.
#[derive(Default)]
struct Queue {
    inserts: Vec<Handed<NewRecord>>,
    updates: Vec<Handed<RecordChange>>,
    closed: bool,
}

impl Queue {
    fn is_empty(&self) -> bool {
        self.inserts.is_empty() && self.updates.is_empty()
    }
}

/// What the flusher and the writers share outside the mutex.
#[derive(Default)]
struct Shared {
    /// Wakes the flusher. A signal sent while it is busy is kept (one permit), never lost.
    signal: Notify,
    /// Record inserts and updates queued as data, which the flusher writes before each `COMMIT`.
    queue: std::sync::Mutex<Queue>,
    /// Tasks waiting for the slot (tests use it to line writers up in one batch).
    queued: AtomicUsize,
    writes: AtomicU64,
    batches: AtomicU64,
    failed_batches: AtomicU64,
}

/// The state of savepoint `w` inside the outer transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Savepoint {
    /// No outer transaction is open.
    None,
    /// Open and unused: ready for the next write.
    Fresh,
    /// Handed to a write that has not released it (yet): whoever locks the slot next rolls
    /// back to it first.
    Dirty,
}

/// A chain head as advanced inside the open outer transaction.
#[derive(Clone, Copy, Debug)]
struct Head {
    seq: i64,
    hash: [u8; 32],
}

impl Head {
    /// The head as it stood before the append that claimed `seq` (what `advance_head` returns
    /// with the previous entry's hash): the next append in memory takes `seq`.
    fn before(seq: i64, hash: [u8; 32]) -> Self {
        Self { seq: seq - 1, hash }
    }
}

/// A collection's change numbers as advanced inside the open outer transaction.
#[derive(Clone, Copy, Debug)]
struct Seqs {
    change: i64,
    delete: i64,
    /// The change number before the outer transaction.
    before: i64,
}

impl Seqs {
    /// The numbers as they stood before the write that took `change` (what `next_change`
    /// returns with the delete number): the next write in memory takes `change`.
    fn before(change: i64, delete: i64) -> Self {
        Self { change: change - 1, delete, before: change - 1 }
    }
}

/// What a write changed in the slot's memory, restored if the write is rolled back.
#[derive(Clone, Copy, Debug)]
enum Undo {
    Head(AuditScope, Option<Head>),
    Seqs((TenantId, CollectionId), Option<Seqs>),
}

/// The writer connection and the state of its outer transaction. Only the holder of the mutex
/// touches it.
struct Slot {
    /// `None` once closed, or after the connection was lost (the next writer reconnects).
    conn: Option<WriterConn>,
    connector: Connector,
    savepoint: Savepoint,
    /// The heads of the chains appended to in the open outer transaction, which holds their
    /// locks; written back just before `COMMIT`.
    heads: HashMap<AuditScope, Head>,
    /// The change numbers of the collections written to in the open outer transaction, which
    /// holds their locks; written back just before `COMMIT`.
    seqs: HashMap<(TenantId, CollectionId), Seqs>,
    /// What the holding write changed in `heads` and `seqs`, in order, with the values before.
    undo: Vec<Undo>,
    /// The records written by the writes as data released into the open outer transaction, in
    /// the order they took their change numbers: what its `COMMIT` brings their collections'
    /// snapshots to.
    written: Vec<Record>,
    /// The collections of the updates as data refused in the open outer transaction, once for
    /// each: each took a change number and changed nothing (see [`Slot::advance_snapshots`]).
    refused: Vec<(TenantId, CollectionId)>,
    cache: Arc<RecordCache>,
    /// Writes released into the open outer transaction, waiting for its `COMMIT`.
    pending: u64,
    /// The current batch: its waiters subscribe, the `COMMIT` publishes.
    batch: watch::Sender<Outcome>,
    closed: bool,
    shared: Arc<Shared>,
}

impl Slot {
    /// Whether a write can start without any statement: the common case under load.
    fn ready(&self) -> bool {
        !self.closed && self.savepoint == Savepoint::Fresh && self.pending < MAX_BATCH && self.conn.is_some()
    }

    /// Makes the slot ready for a new write: cleans up, commits a full batch, (re)connects and
    /// opens the outer transaction. Errors are this caller's; failures of the batch go to the
    /// batch's waiters.
    async fn prepare(&mut self) -> Result<(), StoreError> {
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

    /// Undoes a write that was dropped or failed: back to its savepoint, which stays ready for
    /// the next write; the rest of the batch is untouched.
    async fn clean_up(&mut self) -> Result<(), sqlx::Error> {
        if self.savepoint == Savepoint::Dirty {
            self.run("ROLLBACK TO SAVEPOINT w").await?;
            self.savepoint = Savepoint::Fresh;
            while let Some(undo) = self.undo.pop() {
                match undo {
                    Undo::Head(scope, Some(head)) => drop(self.heads.insert(scope, head)),
                    Undo::Head(scope, None) => drop(self.heads.remove(&scope)),
                    Undo::Seqs(key, Some(seqs)) => drop(self.seqs.insert(key, seqs)),
                    Undo::Seqs(key, None) => drop(self.seqs.remove(&key)),
                }
            }
        }
        Ok(())
    }

    /// The flusher's work: makes the released writes durable, or closes an outer transaction
    /// that holds none (every write in it was dropped).
    async fn settle(&mut self) {
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
        let heads: Vec<_> = self.heads.drain().collect();
        let seqs: Vec<_> = self.seqs.drain().collect();
        let Some(conn) = self.conn.as_mut() else {
            return Err(StoreError::Database(sqlx::Error::PoolClosed));
        };
        // The usual batch (one tenant's writes, into at most one collection): one call where the
        // engine fuses calls.
        if let (WriterConn::Sqlite(c), [(scope, head)], [] | [_]) = (&mut *conn, heads.as_slice(), seqs.as_slice())
            && dialect::fuses(Engine::Sqlite)
        {
            let collection = seqs.first().map(|((tenant, id), s)| (*tenant, *id, s.change, s.delete));
            sql::audit::set_head_and_commit(c, *scope, (head.seq, &head.hash), collection).await?;
            return Ok(seqs);
        }
        for (scope, head) in heads {
            sql::audit::set_head(&mut conn.exec(), scope, head.seq, &head.hash).await?;
        }
        for &((tenant, collection), s) in &seqs {
            sql::collections::set_seqs(&mut conn.exec(), tenant, collection, s.change, s.delete).await?;
        }
        conn.run("COMMIT").await?;
        Ok(seqs)
    }

    /// Gives up the outer transaction: rolls it back, refuses every write of the batch, and
    /// drops the connection if it cannot even roll back.
    async fn abort(&mut self, cause: &(dyn fmt::Display + Sync)) {
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

    /// No outer transaction any more (committed or rolled back).
    fn reset(&mut self) {
        self.savepoint = Savepoint::None;
        self.heads.clear();
        self.seqs.clear();
        self.undo.clear();
        self.written.clear();
        self.refused.clear();
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
    fn finish(&mut self, outcome: Result<(), Arc<str>>) {
        self.pending = 0;
        let (next, _) = watch::channel(None);
        std::mem::replace(&mut self.batch, next).send_replace(Some(outcome));
    }

    /// The next entry of `scope`'s chain, with its head advanced in memory (the batch's first
    /// append to the scope advances the stored head, which locks it; see the module
    /// documentation); undone with `w` if the write rolls back.
    async fn next_entry(&mut self, append: &Append) -> Result<AuditEntry, StoreError> {
        let Append { scope, actor, record, clock } = append;
        let scope = *scope;
        let prev = match self.heads.get(&scope).copied() {
            Some(head) => head,
            None => {
                let (seq, hash) = sql::audit::advance_head(&mut self.conn()?.exec(), scope).await?;
                Head::before(seq, hash)
            }
        };
        let seq = prev.seq + 1;
        // Read the time only once the head is locked, so that times never go backwards along
        // the chain while writers queue for it.
        let at = now(&**clock);
        let canonical = AuditEntry::canonical_bytes(
            scope,
            seq,
            at,
            actor,
            record.operation,
            record.target.as_deref(),
            record.outcome,
            record.detail.as_deref(),
        );
        let hash = kura_crypto::chain_hash(&prev.hash, &canonical);
        self.keep_head(scope, Head { seq, hash });
        Ok(AuditEntry {
            scope,
            seq,
            at,
            actor: actor.clone(),
            operation: record.operation,
            target: record.target.clone(),
            outcome: record.outcome,
            detail: record.detail.clone(),
            prev_hash: prev.hash,
            hash,
        })
    }

    /// Takes a collection's next change sequence number for a record write (for a delete, also
    /// its delete number). The batch's first record write to the collection advances the stored
    /// numbers, which locks the row (PostgreSQL; SQLite's write lock covers everything) until
    /// the batch commits; later ones in the batch count on in memory, and the flusher writes
    /// the numbers back once, just before `COMMIT` (like the audit chain heads).
    async fn next_change(&mut self, key: (TenantId, CollectionId), deleting: bool) -> Result<i64, StoreError> {
        let s = match self.seqs.get(&key).copied() {
            Some(s) => s,
            None => {
                let Some(conn) = self.conn.as_mut() else {
                    return Err(StoreError::Database(sqlx::Error::PoolClosed));
                };
                let (change, delete) = sql::collections::next_change(&mut conn.exec(), key.0, key.1, deleting).await?;
                Seqs::before(change, delete)
            }
        };
        let change = s.change + 1;
        self.keep_seqs(key, Seqs { change, delete: if deleting { change } else { s.delete }, before: s.before });
        Ok(change)
    }

    /// Keeps `seqs` as a collection's numbers in memory, with the undo that restores what was
    /// kept before (nothing, or the numbers before this write).
    fn keep_seqs(&mut self, key: (TenantId, CollectionId), seqs: Seqs) {
        let known = self.seqs.insert(key, seqs);
        self.undo.push(Undo::Seqs(key, known));
    }

    /// Keeps `head` as a chain's head in memory, with the undo that restores what was kept
    /// before.
    fn keep_head(&mut self, scope: AuditScope, head: Head) {
        let known = self.heads.insert(scope, head);
        self.undo.push(Undo::Head(scope, known));
    }

    /// Stops counting a collection's numbers in memory (it is being deleted), so that a later
    /// write in the batch finds out from the database that it is gone.
    fn forget_seqs(&mut self, key: (TenantId, CollectionId)) {
        let known = self.seqs.remove(&key);
        if known.is_some() {
            self.undo.push(Undo::Seqs(key, known));
        }
    }

    /// Keeps the holding write in the outer transaction and joins the current batch.
    async fn release(&mut self) -> Result<watch::Receiver<Outcome>, sqlx::Error> {
        self.run(dialect::RELEASE).await?;
        Ok(self.released())
    }

    /// The holding write's savepoint was released and `w` opened again: it joins the batch.
    fn released(&mut self) -> watch::Receiver<Outcome> {
        self.joined(1);
        self.batch.subscribe()
    }

    /// `n` writes released together into the outer transaction join the batch; `w` is ready.
    fn joined(&mut self, n: usize) {
        self.savepoint = Savepoint::Fresh;
        self.undo.clear();
        self.pending += n as u64;
    }

    /// Finishes writes put into `w` together once their last call is `written` (which says
    /// whether it also released `w`): releases `w` if it did not, and they join the batch.
    async fn release_together(&mut self, written: Result<bool, StoreError>, n: usize) -> Result<(), StoreError> {
        if !written? {
            self.run(dialect::RELEASE).await?;
        }
        self.joined(n);
        Ok(())
    }

    /// Writes what is queued as data into the open transaction, one group of each kind (at most
    /// [`MAX_BATCH`] writes in the batch, committing a full one first), and tells each write
    /// where it stands. Writes queued meanwhile wait for the next batch: taking them too would
    /// keep the first writers of this one waiting while it grows, and in a closed loop gather
    /// every client into one batch that alternates with their requests instead of overlapping
    /// them. The next batch is as large as the writes queued while this one commits.
    async fn drain(&mut self) {
        for kind in [Kind::Inserts, Kind::Updates] {
            if self.shared.queue.lock().unwrap_or_else(PoisonError::into_inner).is_empty() {
                return;
            }
            // (Commits the batch first if it is full, so there is room below.)
            if let Err(e) = self.prepare().await {
                let cause = e.to_string();
                let mut queue = self.shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
                let Queue { inserts, updates, .. } = &mut *queue;
                let replies: Vec<_> =
                    inserts.drain(..).map(|q| q.reply).chain(updates.drain(..).map(|q| q.reply)).collect();
                drop(queue);
                for reply in replies {
                    let _ = reply.send(Err(StoreError::NotCommitted(cause.clone())));
                }
                return;
            }
            let room = usize::try_from(MAX_BATCH.saturating_sub(self.pending)).unwrap_or(usize::MAX);
            match self.take_queued(kind, room) {
                Taken::Inserts(inserts) if !inserts.is_empty() => self.insert_queued(inserts).await,
                Taken::Updates(updates) if !updates.is_empty() => self.update_queued(updates).await,
                Taken::Inserts(_) | Taken::Updates(_) => {}
            }
        }
    }

    /// Up to `at_most` queued writes of one kind.
    fn take_queued(&self, kind: Kind, at_most: usize) -> Taken {
        let mut queue = self.shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
        match kind {
            Kind::Inserts => {
                let n = queue.inserts.len().min(at_most);
                Taken::Inserts(queue.inserts.drain(..n).collect())
            }
            Kind::Updates => {
                let n = queue.updates.len().min(at_most);
                Taken::Updates(queue.updates.drain(..n).collect())
            }
        }
    }

    /// Applies `queued` updates in savepoint `w`: each only if its record is still at the
    /// version its writer read (several statements per call on SQLite), then appends the
    /// entries of those applied, several rows per statement, and releases `w` once for all.
    /// An update whose record moved on (or is gone) is refused with
    /// [`StoreError::Conflict`] and leaves no entry. If a statement fails, it rolls back to `w`
    /// and goes one by one.
    async fn update_queued(&mut self, queued: Vec<Handed<RecordChange>>) {
        self.savepoint = Savepoint::Dirty;
        let mut live = Vec::with_capacity(queued.len());
        let mut queued = queued.into_iter();
        while let Some(mut q) = queued.next() {
            match self.next_change(q.write.update.target.key(), false).await {
                Ok(seq) => {
                    q.write.update.target.set_change_seq(seq);
                    live.push(q);
                }
                Err(StoreError::NotFound) => drop(q.reply.send(Err(StoreError::NotFound))),
                Err(_) => {
                    live.push(q);
                    live.extend(queued);
                    return self.one_by_one(live).await;
                }
            }
        }
        let updates: Vec<_> = live.iter().map(|q| &q.write.update).collect();
        let applied = match self.conn() {
            Ok(conn) => sql::records::update_at_versions(&mut conn.exec(), &updates).await,
            Err(e) => Err(e),
        };
        let Ok(mut applied) = applied else {
            return self.one_by_one(live).await;
        };
        let mut done = Vec::with_capacity(live.len());
        let mut refused = Vec::new();
        for q in live {
            let u = &q.write.update;
            match applied.iter().position(|&(id, version)| id == u.id && version == u.version + 1) {
                Some(at) => {
                    applied.swap_remove(at);
                    done.push(q);
                }
                None => {
                    refused.push(u.target.key());
                    drop(q.reply.send(Err(moved_on())));
                }
            }
        }
        if done.is_empty() {
            // Nothing released: `w` stays dirty, and rolling back to it gives the numbers back.
            return;
        }
        let mut entries = Vec::with_capacity(done.len());
        for q in &done {
            match self.next_entry(&q.write.append).await {
                Ok(entry) => entries.push(entry),
                Err(_) => return self.one_by_one(done).await,
            }
        }
        let inserted = match self.conn() {
            Ok(conn) => sql::audit::insert_many(&mut conn.exec(), &entries, &[]).await,
            Err(e) => Err(e),
        };
        match self.release_together(inserted, done.len()).await {
            Ok(()) => {
                self.refused.extend(refused);
                for (q, entry) in done.into_iter().zip(entries) {
                    let batch = self.batch.subscribe();
                    self.place(q, Ok((entry, batch)));
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, updates = done.len(), "queued updates failed together; one by one");
                self.one_by_one(done).await;
            }
        }
    }

    /// The slow path of [`Slot::insert_queued`] and [`Slot::update_queued`]: back to `w`
    /// (undoing whatever was written and numbered), then each write in a savepoint of its own.
    async fn one_by_one<W: AsData>(&mut self, queued: Vec<Handed<W>>) {
        for mut q in queued {
            if let Err(e) = self.prepare().await {
                let _ = q.reply.send(Err(StoreError::NotCommitted(e.to_string())));
                continue;
            }
            self.savepoint = Savepoint::Dirty;
            let placed = q.write.write_alone(self).await;
            self.place(q, placed);
        }
    }

    /// Tells a queued write where it stands. One that joined the batch is kept for its
    /// collection's snapshot (see [`Slot::advance_snapshots`]).
    fn place<W: AsData>(&mut self, q: Handed<W>, placed: Placed) {
        if placed.is_ok() {
            self.written.push(q.write.into_record());
        }
        let _ = q.reply.send(placed);
    }

    /// Inserts `queued` (records and entries) in savepoint `w`, several rows per statement,
    /// and releases it once for all of them. If that fails, it rolls back to `w` and writes
    /// them one by one, each in its own savepoint, so that only the inserts that fail on their
    /// own are refused.
    async fn insert_queued(&mut self, queued: Vec<Handed<NewRecord>>) {
        self.savepoint = Savepoint::Dirty;
        let mut placed = Vec::with_capacity(queued.len());
        let mut entries = Vec::with_capacity(queued.len());
        let mut queued = queued.into_iter();
        while let Some(mut q) = queued.next() {
            match self.number(&mut q.write).await {
                Ok(entry) => {
                    entries.push(entry);
                    placed.push(q);
                }
                // The collection is gone: this insert alone is refused.
                Err(StoreError::NotFound) => drop(q.reply.send(Err(StoreError::NotFound))),
                Err(e) => {
                    // Anything else (a statement of the database refused): one by one instead.
                    tracing::debug!(error = %e, "numbering queued inserts failed; writing them one by one");
                    placed.push(q);
                    placed.extend(queued);
                    return self.one_by_one(placed).await;
                }
            }
        }
        if placed.is_empty() {
            return;
        }
        let records: Vec<_> = placed.iter().map(|q| &q.write.insert).collect();
        let inserted = match self.conn() {
            Ok(conn) => sql::audit::insert_many(&mut conn.exec(), &entries, &records).await,
            Err(e) => Err(e),
        };
        match self.release_together(inserted, placed.len()).await {
            Ok(()) => {
                for (q, entry) in placed.into_iter().zip(entries) {
                    let batch = self.batch.subscribe();
                    self.place(q, Ok((entry, batch)));
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, inserts = placed.len(), "queued inserts failed together; one by one");
                self.one_by_one(placed).await;
            }
        }
    }

    /// Numbers a queued insert: the collection's next change number for its record and the
    /// next entry of its scope's chain, both advanced in the slot's memory (undone with `w`).
    async fn number(&mut self, new: &mut NewRecord) -> Result<AuditEntry, StoreError> {
        let seq = self.next_change(new.insert.target.key(), false).await?;
        new.insert.target.set_change_seq(seq);
        self.next_entry(&new.append).await
    }

    /// The writer connection, unless it was lost (the next writer reconnects).
    fn conn(&mut self) -> Result<&mut WriterConn, StoreError> {
        self.conn.as_mut().ok_or(StoreError::Database(sqlx::Error::PoolClosed))
    }

    /// Appends `entry` (after inserting `insert`, if any) and releases the write's savepoint
    /// into the batch, in one call where the engine allows it.
    async fn append_entry(
        &mut self,
        entry: &AuditEntry,
        insert: Option<&sql::records::Insert>,
    ) -> Result<watch::Receiver<Outcome>, StoreError> {
        let entries = std::slice::from_ref(entry);
        if sql::audit::insert_many(&mut self.conn()?.exec(), entries, insert.as_slice()).await? {
            Ok(self.released())
        } else {
            Ok(self.release().await?)
        }
    }

    async fn run(&mut self, sql: &'static str) -> Result<(), sqlx::Error> {
        match self.conn.as_mut() {
            Some(conn) => conn.run(sql).await,
            None => Err(sqlx::Error::PoolClosed),
        }
    }
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
            heads: HashMap::new(),
            seqs: HashMap::new(),
            undo: Vec::new(),
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

    /// Locks the slot for one write, its savepoint ready.
    pub(crate) async fn hold(&self) -> Result<Held, StoreError> {
        let mut guard = {
            let _queued = Queued::enter(&self.shared);
            Arc::clone(&self.slot).lock_owned().await
        };
        let shared = Arc::clone(&self.shared);
        if guard.ready() {
            guard.savepoint = Savepoint::Dirty;
            return Ok(Held { guard: Some(guard), shared });
        }
        // Statements to run: in a task of its own (see the module documentation). If this
        // caller is gone by the time it ends, the `Held` it returns is dropped like any
        // abandoned write, which wakes the flusher to close what was opened.
        tokio::spawn(async move {
            match guard.prepare().await {
                Ok(()) => {
                    guard.savepoint = Savepoint::Dirty;
                    Ok(Held { guard: Some(guard), shared })
                }
                Err(e) => {
                    drop(guard);
                    shared.signal.notify_one();
                    Err(e)
                }
            }
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

fn task_failed(e: tokio::task::JoinError) -> StoreError {
    StoreError::NotCommitted(format!("the writer task failed: {e}"))
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

/// Waits until the batch a write joined is decided: `Ok` once its `COMMIT` has completed.
async fn durable(mut outcome: watch::Receiver<Outcome>) -> Result<(), StoreError> {
    let decided = outcome.wait_for(Option::is_some).await;
    match decided.as_deref() {
        Ok(Some(Ok(()))) => Ok(()),
        Ok(Some(Err(cause))) => Err(StoreError::NotCommitted(cause.to_string())),
        Ok(None) | Err(_) => Err(StoreError::NotCommitted("the batch was abandoned".to_owned())),
    }
}

/// The kinds of writes as data, in the order the flusher takes them.
#[derive(Clone, Copy)]
enum Kind {
    Inserts,
    Updates,
}

/// Queued writes of one kind, as the flusher takes them.
enum Taken {
    Inserts(Vec<Handed<NewRecord>>),
    Updates(Vec<Handed<RecordChange>>),
}

/// Why a queued update was refused.
fn moved_on() -> StoreError {
    StoreError::Conflict("the record was changed by someone else; reload and try again".to_owned())
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

impl Drop for Slot {
    fn drop(&mut self) {
        // The last handle is gone: let the flusher find out and end.
        self.shared.signal.notify_one();
    }
}

/// The slot, held for one write: its statements run inside savepoint `w` of the outer
/// transaction. Dropping it without [`Held::commit`] rolls the write back (lazily: the next
/// holder of the slot cleans up).
pub(crate) struct Held {
    guard: Option<OwnedMutexGuard<Slot>>,
    shared: Arc<Shared>,
}

impl fmt::Debug for Held {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Held").finish_non_exhaustive()
    }
}

/// An audit entry to append, before the writer numbers it: what it records, on whose behalf,
/// in which chain, and the clock that dates it.
pub(crate) struct Append {
    pub scope: AuditScope,
    pub actor: Actor,
    pub record: AuditRecord,
    pub clock: Arc<dyn Clock>,
}

impl Held {
    /// The writer connection. Fails only if the connection was lost while this write held it.
    pub(crate) fn exec(&mut self) -> Result<Exec<'_>, StoreError> {
        match self.guard.as_mut().and_then(|slot| slot.conn.as_mut()) {
            Some(conn) => Ok(conn.exec()),
            None => Err(StoreError::Database(sqlx::Error::PoolClosed)),
        }
    }

    /// The collection's next change sequence number (see [`Slot::next_change`]). A missing
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

    /// See [`Slot::forget_seqs`].
    pub(crate) fn forget_seqs(&mut self, tenant: TenantId, collection: CollectionId) {
        if let Some(slot) = self.guard.as_mut() {
            slot.forget_seqs((tenant, collection));
        }
    }

    /// Appends the audit entry (after `insert`, a new record the write deferred, in the same
    /// call), keeps the write in the outer transaction, lets go of the slot, and waits until the
    /// transaction has committed. `Ok` means durable; an error means the write is not in the
    /// database (or, if the connection died during `COMMIT`, that its fate is unknown — it was
    /// not acknowledged either way).
    pub(crate) async fn commit(
        self,
        append: Append,
        insert: Option<sql::records::Insert>,
    ) -> Result<AuditEntry, StoreError> {
        let entry = self.finish(Some((append, insert))).await?;
        entry.ok_or_else(|| StoreError::Corrupt("no audit entry was appended".to_owned()))
    }

    /// [`Held::commit`] for bookkeeping, which appends no entry.
    pub(crate) async fn commit_unaudited(self) -> Result<(), StoreError> {
        self.finish(None).await.map(drop)
    }

    async fn finish(
        mut self,
        append: Option<(Append, Option<sql::records::Insert>)>,
    ) -> Result<Option<AuditEntry>, StoreError> {
        let Some(mut slot) = self.guard.take() else {
            return Err(StoreError::Database(sqlx::Error::PoolClosed));
        };
        let shared = Arc::clone(&self.shared);
        // In a task of its own: once started, the append and `RELEASE` are seen through.
        let (entry, outcome, _alive) = tokio::spawn(async move {
            let released = async {
                let (entry, outcome) = match append {
                    Some((append, insert)) => {
                        let entry = slot.next_entry(&append).await?;
                        let outcome = slot.append_entry(&entry, insert.as_ref()).await?;
                        (Some(entry), outcome)
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
