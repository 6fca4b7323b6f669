//! Numbering inside the open outer transaction: audit chain heads and collections' change
//! numbers, counted on in memory and written back once per batch.
//!
//! The batch's first append to a scope runs the head upsert, which locks the head (its row on
//! PostgreSQL; SQLite's write lock covers everything) until the batch commits; later appends to
//! that scope take the sequence number and previous hash from memory. Collections' change
//! numbers (which tell record snapshots what changed, see `cache/`) are kept the same way. Just
//! before `COMMIT`, [`Numbers::write_back_and_commit`] stores what was counted. Every change a write makes
//! here is undone with its savepoint ([`Numbers::undo_write`]).
//!
//! The entry itself is decided by the chain's rule in the domain, [`AuditEntry::seal`]. Each
//! entry is also the next leaf of its scope's Merkle log (LOG-3): the head carries the tree's
//! compact range, an append costs O(log n) hashes, and the subtrees it completes are kept in
//! memory and written with the heads, once per batch, so that proofs can be built from them.

use crate::conn::{Exec, WriterConn};
use crate::dialect;
use crate::error::StoreError;
use crate::sql;
use crate::sql::audit::NewEntry;
use crate::time::now;
use crate::vault::Sealer;
use kura_crypto::merkle::{CompactRange, Hash, Node, leaf_hash};
use kura_domain::{Actor, AuditEntry, AuditRecord, AuditScope, Clock, CollectionId, TenantId};
use std::collections::HashMap;
use std::sync::Arc;

/// An audit entry to append, before the writer numbers it: what it records, on whose behalf,
/// in which chain, the clock that dates it, and for a tenant's chain how its values are sealed
/// (`None` for the platform's chain, which has no tenant key and stays plain).
pub(crate) struct Append {
    pub scope: AuditScope,
    pub actor: Actor,
    pub record: AuditRecord,
    pub clock: Arc<dyn Clock>,
    pub sealer: Option<Sealer>,
}

/// A chain head as advanced inside the open outer transaction, with the tree over its entries.
#[derive(Clone, Debug)]
struct Head {
    seq: i64,
    hash: [u8; 32],
    tree: CompactRange,
}

/// A collection's change numbers as advanced inside the open outer transaction.
#[derive(Clone, Copy, Debug)]
pub(super) struct Seqs {
    pub(super) change: i64,
    pub(super) delete: i64,
    /// The change number before the outer transaction.
    pub(super) before: i64,
}

impl Seqs {
    /// The numbers as they stood before the write that took `change` (what `next_change`
    /// returns with the delete number): the next write in memory takes `change`.
    fn before(change: i64, delete: i64) -> Self {
        Self { change: change - 1, delete, before: change - 1 }
    }
}

/// What a write changed in memory, restored if the write is rolled back.
#[derive(Debug)]
enum Undo {
    Head(AuditScope, Option<Head>),
    Seqs((TenantId, CollectionId), Option<Seqs>),
    /// The number of completed subtrees before the write.
    Nodes(usize),
}

/// The numbers counted in the open outer transaction.
#[derive(Default)]
pub(super) struct Numbers {
    /// The heads of the chains appended to, whose locks the transaction holds.
    heads: HashMap<AuditScope, Head>,
    /// The change numbers of the collections written to, whose locks the transaction holds.
    seqs: HashMap<(TenantId, CollectionId), Seqs>,
    /// The Merkle subtrees (level 1 and up) the batch's appends completed, to be stored.
    nodes: Vec<(AuditScope, Node, Hash)>,
    /// What the holding write changed in `heads`, `seqs` and `nodes`, in order, with the values
    /// before.
    undo: Vec<Undo>,
}

impl Numbers {
    /// The next entry of `append`'s chain, with its head advanced in memory (the batch's first
    /// append to the scope advances the stored head, which locks it).
    pub(super) async fn next_entry(&mut self, e: &mut Exec<'_>, append: &Append) -> Result<NewEntry, StoreError> {
        let Append { scope, actor, record, clock, sealer } = append;
        let scope = *scope;
        let (prev_seq, prev_hash, mut tree) = match self.heads.get(&scope) {
            Some(head) => (head.seq, head.hash, head.tree.clone()),
            None => {
                let head = sql::audit::advance_head(e, scope).await?;
                let tree = head.tree.ok_or_else(|| {
                    StoreError::Corrupt(format!("the audit tree of {scope:?} was not built before a write"))
                })?;
                (head.seq - 1, head.hash, tree)
            }
        };
        if u64::try_from(prev_seq).ok() != Some(tree.size()) {
            return Err(StoreError::Corrupt(format!(
                "the audit tree of {scope:?} holds {} leaves but its chain {prev_seq} entries",
                tree.size()
            )));
        }
        // Read the time only once the head is locked, so that times never go backwards along
        // the chain while writers queue for it.
        // A tenant's values are sealed for this entry's number before it is hashed: the chain and
        // the tree commit to the stored bytes, which verify without the tenant's key.
        let (entry, target_index) = match sealer {
            Some(sealer) => {
                let stored = sealer.seal_audit(prev_seq + 1, actor, record);
                let entry = AuditEntry::seal(scope, prev_seq, prev_hash, now(&**clock), &stored.actor, &stored.record);
                (entry, stored.target_index)
            }
            None => (AuditEntry::seal(scope, prev_seq, prev_hash, now(&**clock), actor, record), None),
        };
        // The leaf is the entry's stored bytes, so that sealing a field later never breaks it.
        let leaf = leaf_hash(&entry.own_canonical_bytes());
        self.undo.push(Undo::Nodes(self.nodes.len()));
        let nodes = &mut self.nodes;
        tree.append(leaf, |node, hash| {
            if crate::audit::tree::is_stored(node) {
                nodes.push((scope, node, *hash));
            }
        });
        let known = self.heads.insert(scope, Head { seq: entry.seq, hash: entry.hash, tree });
        self.undo.push(Undo::Head(scope, known));
        Ok(NewEntry { entry, target_index })
    }

    /// Takes a collection's next change sequence number for a record write (for a delete, also
    /// its delete number). The batch's first record write to the collection advances the stored
    /// numbers, which locks the row until the batch commits; later ones count on in memory. A
    /// missing collection is [`StoreError::NotFound`].
    pub(super) async fn next_change(
        &mut self,
        e: &mut Exec<'_>,
        key: (TenantId, CollectionId),
        deleting: bool,
    ) -> Result<i64, StoreError> {
        let s = match self.seqs.get(&key).copied() {
            Some(s) => s,
            None => {
                let (change, delete) = sql::collections::next_change(e, key.0, key.1, deleting).await?;
                Seqs::before(change, delete)
            }
        };
        let change = s.change + 1;
        let known =
            self.seqs.insert(key, Seqs { change, delete: if deleting { change } else { s.delete }, before: s.before });
        self.undo.push(Undo::Seqs(key, known));
        Ok(change)
    }

    /// Counts on from the numbers a batch's first call took for its first write
    /// (`sql::audit::begin_and_advance`): as if the stored numbers stood one short, so that the
    /// first write takes exactly these, with the undo of `w`, so that they are given back with
    /// it. A head without its tree is refused, as [`Numbers::next_entry`] refuses it.
    pub(super) fn begin_with(
        &mut self,
        key: (TenantId, CollectionId),
        seqs: Option<(i64, i64)>,
        scope: AuditScope,
        head: sql::audit::StoredHead,
    ) -> Result<(), StoreError> {
        let tree = head
            .tree
            .ok_or_else(|| StoreError::Corrupt(format!("the audit tree of {scope:?} was not built before a write")))?;
        if let Some((change, delete)) = seqs {
            let known = self.seqs.insert(key, Seqs::before(change, delete));
            self.undo.push(Undo::Seqs(key, known));
        }
        let known = self.heads.insert(scope, Head { seq: head.seq - 1, hash: head.hash, tree });
        self.undo.push(Undo::Head(scope, known));
        Ok(())
    }

    /// Stops counting a collection's numbers in memory (it is being deleted), so that a later
    /// write in the batch finds out from the database that it is gone.
    pub(super) fn forget_seqs(&mut self, key: (TenantId, CollectionId)) {
        let known = self.seqs.remove(&key);
        if known.is_some() {
            self.undo.push(Undo::Seqs(key, known));
        }
    }

    /// The holding write was rolled back to its savepoint: restores what it advanced.
    pub(super) fn undo_write(&mut self) {
        while let Some(undo) = self.undo.pop() {
            match undo {
                Undo::Head(scope, Some(head)) => drop(self.heads.insert(scope, head)),
                Undo::Head(scope, None) => drop(self.heads.remove(&scope)),
                Undo::Seqs(key, Some(seqs)) => drop(self.seqs.insert(key, seqs)),
                Undo::Seqs(key, None) => drop(self.seqs.remove(&key)),
                Undo::Nodes(len) => self.nodes.truncate(len),
            }
        }
    }

    /// The holding write was released into the batch: what it advanced stays.
    pub(super) fn keep_write(&mut self) {
        self.undo.clear();
    }

    /// No outer transaction any more (committed or rolled back).
    pub(super) fn clear(&mut self) {
        self.heads.clear();
        self.seqs.clear();
        self.nodes.clear();
        self.undo.clear();
    }

    /// Writes the completed subtrees, the advanced heads and change numbers back and commits;
    /// returns the change numbers committed. The subtrees go in multi-row inserts (about one row
    /// per entry); the usual batch (one tenant's writes, into at most one collection) writes the
    /// rest in one call where the engine fuses calls.
    pub(super) async fn write_back_and_commit(
        &mut self,
        conn: &mut WriterConn,
    ) -> Result<Vec<((TenantId, CollectionId), Seqs)>, StoreError> {
        let heads: Vec<_> = self.heads.drain().collect();
        let seqs: Vec<_> = self.seqs.drain().collect();
        // The batch's own bookkeeping, for every tenant it holds at once: the platform route,
        // for the rest of this transaction only.
        crate::conn::set_scope(&mut conn.exec(), crate::conn::Scope::Platform, true).await?;
        if !self.nodes.is_empty() {
            sql::audit::insert_nodes(&mut conn.exec(), &self.nodes).await?;
            self.nodes.clear();
        }
        if let (WriterConn::Sqlite(c), [(scope, head)], [] | [_]) = (&mut *conn, heads.as_slice(), seqs.as_slice())
            && dialect::fuses(crate::conn::Engine::Sqlite)
        {
            let collection = seqs.first().map(|((tenant, id), s)| (*tenant, *id, s.change, s.delete));
            sql::audit::set_head_and_commit(c, *scope, (head.seq, &head.hash, &head.tree), collection).await?;
            return Ok(seqs);
        }
        for (scope, head) in heads {
            sql::audit::set_head(&mut conn.exec(), scope, head.seq, &head.hash, &head.tree).await?;
        }
        for &((tenant, collection), s) in &seqs {
            sql::collections::set_seqs(&mut conn.exec(), tenant, collection, s.change, s.delete).await?;
        }
        conn.run("COMMIT").await?;
        Ok(seqs)
    }
}
