//! Writing what is queued as data: record creates and optimistic updates queued with their
//! audit records instead of holding the slot ([`super::Writer::insert`],
//! [`super::Writer::update`]).
//!
//! The flusher, once it holds the slot, takes what is queued (one group of inserts, one of
//! updates; later ones go into the next batch, which it starts at once) and writes it inside
//! `w` before committing: every write numbered in memory (its collection's change number, its
//! chain entry), then new records with their entries in multi-row inserts, and updates at the
//! version their writer read (those whose record moved on are refused, without an entry), each
//! group released once. If a statement fails, it rolls back to `w` and writes them one at a
//! time, so that only a write that fails on its own is refused.

use super::numbering::Append;
use super::queue::{Handed, MAX_BATCH, NewRecord, Placed, Queue, RecordChange};
use super::slot::{Savepoint, Slot};
use crate::conn::Scope;
use crate::conn::{Engine, WriterConn};
use crate::dialect;
use crate::error::StoreError;
use crate::sql;
use kura_domain::{Record, TenantId};
use std::sync::PoisonError;

/// What the writer does with a write as data beyond its group's statements.
trait AsData {
    /// The record as it will be once written, for its collection's snapshot.
    fn into_record(self) -> Record;
    /// The scope it is written in: its tenant's, or the platform route should its entry go
    /// to another chain than its tenant's (not a case today; then it is still written right).
    fn scope(&self) -> Scope;
    /// Writes it alone in savepoint `w`, with its entry, and releases `w` into the batch.
    async fn write_alone(&mut self, slot: &mut Slot) -> Placed;
}

impl AsData for NewRecord {
    fn into_record(self) -> Record {
        self.record
    }
    fn scope(&self) -> Scope {
        scope_of(self.insert.target.key().0, &self.append)
    }
    async fn write_alone(&mut self, slot: &mut Slot) -> Placed {
        slot.set_scope(self.scope()).await?;
        let entry = slot.number(self).await?;
        let batch = slot.append_entry(&entry, Some(&self.insert)).await?;
        Ok((entry.entry, batch))
    }
}

impl AsData for RecordChange {
    fn into_record(self) -> Record {
        self.record
    }
    fn scope(&self) -> Scope {
        scope_of(self.update.target.key().0, &self.append)
    }
    async fn write_alone(&mut self, slot: &mut Slot) -> Placed {
        slot.set_scope(self.scope()).await?;
        let seq = slot.next_change(self.update.target.key(), false).await?;
        self.update.target.set_change_seq(seq);
        if sql::records::update_at_versions(&mut slot.conn()?.exec(), &[&self.update]).await?.is_empty() {
            return Err(moved_on());
        }
        let entry = slot.next_entry(&self.append).await?;
        let batch = slot.append_entry(&entry, None).await?;
        Ok((entry.entry, batch))
    }
}

/// The scope a write as data into `tenant` with `append` is written in.
fn scope_of(tenant: TenantId, append: &Append) -> Scope {
    let own = Scope::tenant(tenant);
    if Scope::audit(append.scope) == own { own } else { Scope::Platform }
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

impl Slot {
    /// Writes what is queued as data into the open transaction, one group of each kind (at most
    /// [`MAX_BATCH`] writes in the batch, committing a full one first), and tells each write
    /// where it stands. Writes queued meanwhile wait for the next batch: taking them too would
    /// keep the first writers of this one waiting while it grows, and in a closed loop gather
    /// every client into one batch that alternates with their requests instead of overlapping
    /// them. The next batch is as large as the writes queued while this one commits.
    pub(super) async fn drain(&mut self) {
        self.begin_numbered().await;
        for kind in [Kind::Inserts, Kind::Updates] {
            // The writes of this kind queued now, taken one run of one scope at a time.
            let mut left = {
                let queue = self.shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
                match kind {
                    Kind::Inserts => queue.inserts.len(),
                    Kind::Updates => queue.updates.len(),
                }
            };
            while left > 0 {
                match self.drain_run(kind, left).await {
                    0 => break,
                    n => left = left.saturating_sub(n),
                }
            }
        }
    }

    /// Writes the next run of queued writes of `kind` that share a scope (at most `at_most`),
    /// with that scope set in savepoint `w` (row-level security, TEN-2); returns how many it
    /// took (0 when there are none, or they were all refused for want of a transaction).
    async fn drain_run(&mut self, kind: Kind, at_most: usize) -> usize {
        if self.shared.queue.lock().unwrap_or_else(PoisonError::into_inner).is_empty() {
            return 0;
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
            return 0;
        }
        let room = usize::try_from(MAX_BATCH.saturating_sub(self.pending)).unwrap_or(usize::MAX);
        match self.take_queued(kind, room.min(at_most)) {
            Taken::Inserts(inserts) if !inserts.is_empty() => {
                let n = inserts.len();
                self.insert_queued(inserts).await;
                n
            }
            Taken::Updates(updates) if !updates.is_empty() => {
                let n = updates.len();
                self.update_queued(updates).await;
                n
            }
            Taken::Inserts(_) | Taken::Updates(_) => 0,
        }
    }

    /// Where the engine fuses calls, when no outer transaction is open: opens it and `w`, and
    /// takes the change number and chain head of the write [`Slot::drain`] writes first, in one
    /// call instead of three (the usual batch writes into one collection of one tenant; measured
    /// at +8 % creates and +12 % updates, docs/PERFORMANCE.md "Fast paths"). The head and the
    /// collection's row are locked from here on, as when the first write advances them. If the
    /// call fails, it rolls back and the batch begins the usual way, which reports what is wrong.
    async fn begin_numbered(&mut self) {
        if self.closed || self.savepoint != Savepoint::None || self.pending != 0 || !dialect::fuses(Engine::Sqlite) {
            return;
        }
        let Some(WriterConn::Sqlite(c)) = self.conn.as_mut() else { return };
        let first = self.shared.queue.lock().unwrap_or_else(PoisonError::into_inner).first();
        let Some((key, scope)) = first else { return };
        let begun = match sql::audit::begin_and_advance(c, key, scope).await {
            Ok((seqs, head)) => self.numbers.begin_with(key, seqs, scope, head),
            Err(e) => Err(e),
        };
        match begun {
            Ok(()) => self.savepoint = Savepoint::Fresh,
            Err(e) => {
                tracing::debug!(error = %e, "beginning a batch with its numbers failed; beginning it the usual way");
                self.numbers.clear();
                // Fails with "no transaction" if BEGIN did not run; anything worse shows at the
                // next begin, which reconnects if the connection is lost.
                let _ = self.run("ROLLBACK").await;
            }
        }
    }

    /// Up to `at_most` queued writes of one kind, the first and those after it that share its
    /// scope (the usual batch is one tenant's: all of them).
    fn take_queued(&self, kind: Kind, at_most: usize) -> Taken {
        let mut queue = self.shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
        fn run<W: AsData>(queued: &[Handed<W>], at_most: usize) -> usize {
            let Some(first) = queued.first() else { return 0 };
            let scope = first.write.scope();
            queued.iter().take(at_most).take_while(|q| q.write.scope() == scope).count()
        }
        match kind {
            Kind::Inserts => {
                let n = run(&queue.inserts, at_most);
                Taken::Inserts(queue.inserts.drain(..n).collect())
            }
            Kind::Updates => {
                let n = run(&queue.updates, at_most);
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
        if let Some(first) = queued.first()
            && self.set_scope(first.write.scope()).await.is_err()
        {
            return self.one_by_one(queued).await;
        }
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
                    self.place(q, Ok((entry.entry, batch)));
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
        if let Some(first) = queued.first()
            && self.set_scope(first.write.scope()).await.is_err()
        {
            return self.one_by_one(queued).await;
        }
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
                    self.place(q, Ok((entry.entry, batch)));
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
    async fn number(&mut self, new: &mut NewRecord) -> Result<sql::audit::NewEntry, StoreError> {
        let seq = self.next_change(new.insert.target.key(), false).await?;
        new.insert.target.set_change_seq(seq);
        self.next_entry(&new.append).await
    }
}
