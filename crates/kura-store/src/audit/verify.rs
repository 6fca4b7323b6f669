//! Verifying a chain (LOG-3): every entry's link and Merkle leaf recomputed from its stored
//! bytes, the head and the stored subtrees compared, signed checkpoints checked against the tree,
//! and the first break named with its kind.

use super::{ChainBreak, ChainVerification, TamperKind, VerifyReport, forensics, tree};
use crate::conn::{Exec, Scope};
use crate::dialect;
use crate::error::StoreError;
use crate::sql;
use crate::sql::audit::AuditRow;
use crate::store::Store;
use kura_crypto::merkle::{Checkpoint, CompactRange, Hash, Node, leaf_hash};
use kura_domain::{AuditEntry, AuditScope};
use std::collections::HashMap;

/// Entries verification reads as one value (about 1 MB), so memory stays flat however long
/// the chain; the stored subtrees a page's entries complete are checked after it.
const VERIFY_PAGE: i64 = 1000;

impl Store {
    /// Every scope that has a chain: the platform and each tenant, including deleted ones.
    pub async fn audit_scopes(&self) -> Result<Vec<AuditScope>, StoreError> {
        let mut ids = sql::audit::scopes(&mut self.db.read(Scope::Platform).await?.exec()).await?;
        // The platform (nil UUID) first, then tenants in a stable order.
        ids.sort();
        ids.dedup();
        Ok(ids.into_iter().map(AuditScope::from_storage_id).collect())
    }

    /// Verifies every chain that must exist and every chain that does: the platform's, that of
    /// each tenant in the tenants table, and those left by tenants no longer there. A chain that
    /// must exist but has neither entries nor a head is reported broken at entry 1: every tenant
    /// is opened with an entry in its own chain, and every tenant's opening is an entry in the
    /// platform's. Scopes come in order: the platform, then tenants by id.
    pub async fn verify_all(&self) -> Result<Vec<ChainVerification>, StoreError> {
        self.verify_all_against(&HashMap::new()).await
    }

    /// [`Store::verify_all`], also checking each chain's Merkle tree against the checkpoints
    /// given for its scope (already opened: their signatures checked by the caller), and
    /// covering scopes that have checkpoints but nothing in the database.
    ///
    /// What this proves, and what it does not: each entry matches its hash and follows the one
    /// before, none is missing between the first and the head, no chain is missing or cut short
    /// of its head, and the log as stored contains every checkpointed tree unchanged. Someone
    /// able to write the database can still rewrite entries written after the last checkpoint.
    pub async fn verify_all_against(
        &self,
        checkpoints: &HashMap<AuditScope, Vec<Checkpoint>>,
    ) -> Result<Vec<ChainVerification>, StoreError> {
        let tenants = self.tenants().await?;
        let mut scopes = self.audit_scopes().await?;
        let mut expected: Vec<AuditScope> = tenants.iter().map(|t| AuditScope::Tenant(t.id)).collect();
        if !tenants.is_empty() || self.operator_count().await? > 0 {
            expected.push(AuditScope::Platform);
        }
        scopes.extend(expected.iter().copied());
        scopes.extend(checkpoints.keys().copied());
        scopes.sort_by_key(|s| s.storage_id());
        scopes.dedup();
        let mut out = Vec::with_capacity(scopes.len());
        for scope in scopes {
            let known = checkpoints.get(&scope).map(Vec::as_slice).unwrap_or_default();
            let result = match self.verify_audit_against(scope, known).await? {
                Ok(report) if report.head_seq == 0 && expected.contains(&scope) => Err(ChainBreak {
                    scope,
                    seq: 1,
                    kind: TamperKind::TruncatedTail,
                    reason: "the chain is missing: no entries and no head, where at least one entry must be".into(),
                }),
                other => other,
            };
            out.push(ChainVerification { scope, result });
        }
        Ok(out)
    }

    /// Re-computes every hash of a chain and its Merkle tree, and checks sequence continuity
    /// and the stored head. `Ok(Err(_))` names the first break and its kind.
    pub async fn verify_audit(&self, scope: AuditScope) -> Result<Result<VerifyReport, ChainBreak>, StoreError> {
        self.verify_audit_against(scope, &[]).await
    }

    /// [`Store::verify_audit`], also checking that the tree at each checkpoint's size has the
    /// checkpoint's root, and that the log reaches every checkpoint's size.
    pub async fn verify_audit_against(
        &self,
        scope: AuditScope,
        checkpoints: &[Checkpoint],
    ) -> Result<Result<VerifyReport, ChainBreak>, StoreError> {
        // One snapshot for entries and head, so that appends during verification are not
        // mistaken for a broken tail.
        let mut tx = self.db.snapshot(Scope::audit(scope)).await?;
        let mut e = tx.exec();
        let brk = |seq: i64, kind: TamperKind, reason: String| Ok(Err(ChainBreak { scope, seq, kind, reason }));

        let mut pending: Vec<&Checkpoint> = checkpoints.iter().collect();
        pending.sort_by_key(|c| std::cmp::Reverse(c.size()));
        let mut walk = Walk {
            expected: 1,
            prev: [0u8; 32],
            bytes: 0,
            tree: CompactRange::new(),
            completed: Vec::new(),
            pending,
            differs: None,
        };
        check(&walk.tree, &mut walk.pending, &mut walk.differs);
        // Start below any sequence number so that stray entries at 0 or below are seen too.
        let mut after = i64::MIN;
        // The canonical bytes of the entry being checked: one buffer for all of them.
        let mut canonical = Vec::new();
        // The entries left in this page (the stored subtrees they complete are checked at its
        // end), and the next of them, read.
        let mut left = VERIFY_PAGE;
        // Where the engine reads columns faster than texts, every page is "unread" and read
        // as columns below.
        let texts = dialect::reads_audit_texts(e.engine());
        let mut page = read_page(&mut e, texts, scope, after, left).await?;
        loop {
            // Each entry is taken if it reads and is sealed in place; a full page is taken while
            // the database reads the next one. From the first entry that is not taken, the rest
            // of the page is read again as columns and judged as it always was, which names a
            // break. (Should every text fail to read, verification is as slow as reading
            // columns, not wrong.)
            let full = page.count == left;
            let (taken, next) = if full && texts {
                let last = page.last.unwrap_or(after);
                let (next, taken) = tokio::join!(
                    biased;
                    sql::audit_page::stored_page(&mut e, scope, last, VERIFY_PAGE),
                    async { walk.take_texts(scope, &page.text, &mut canonical) },
                );
                (taken, Some(next))
            } else {
                (walk.take_texts(scope, &page.text, &mut canonical), None)
            };
            if taken > 0 {
                after = walk.expected - 1;
                left -= taken;
            }
            let odd = taken < page.count;
            // Whether the chain ends in this page.
            let end = if odd {
                let rows = sql::audit::page(&mut e, scope, after, left).await?;
                let end = (rows.len() as i64) < left;
                for row in rows {
                    after = row.seq;
                    left -= 1;
                    if let Some((seq, kind, reason)) = walk.take_row(&mut e, scope, &row).await? {
                        return brk(seq, kind, reason);
                    }
                }
                end
            } else {
                !full
            };
            if left == 0 || end {
                if let Some((node, reason)) = tree::first_stored_mismatch(&mut e, scope, &walk.completed).await? {
                    let seq = i64::try_from((node.index + 1) << node.level).unwrap_or(i64::MAX);
                    return brk(seq, TamperKind::AlteredTree, reason);
                }
                walk.completed.clear();
                left = VERIFY_PAGE;
            }
            if end {
                break;
            }
            page = match next {
                // Read after this page, which was taken whole.
                Some(next) if !odd => next?,
                _ => read_page(&mut e, texts, scope, after, left).await?,
            };
        }

        let Walk { expected, prev, bytes, tree, pending, differs, .. } = walk;
        let last = expected - 1;
        let entries = u64::try_from(last).unwrap_or(0);
        let report = || VerifyReport {
            scope,
            entries,
            head_seq: last,
            root: tree.root(),
            checkpoints: checkpoints.len(),
            bytes,
        };
        match sql::audit::head(&mut e, scope).await? {
            None if last == 0 => {}
            None => {
                return brk(
                    last,
                    TamperKind::EditedEntry,
                    format!("the chain head is missing but {last} entries are present"),
                );
            }
            Some(head) if head.seq > last => {
                return brk(
                    last + 1,
                    TamperKind::TruncatedTail,
                    format!("the chain head says {} entries but only {last} are present", head.seq),
                );
            }
            Some(head) if head.seq < last => {
                return brk(
                    head.seq + 1,
                    TamperKind::InsertedEntry,
                    format!("entry {} is beyond the chain head ({})", head.seq + 1, head.seq),
                );
            }
            Some(head) if head.hash != prev => {
                return brk(last, TamperKind::EditedEntry, format!("the chain head does not match entry {last}"));
            }
            Some(head) => match head.tree {
                Some(stored) if stored == tree => {}
                Some(_) => {
                    return brk(
                        last,
                        TamperKind::EditedEntry,
                        "the Merkle tree kept beside the head does not match the entries".into(),
                    );
                }
                None => {
                    return brk(last, TamperKind::EditedEntry, "the Merkle tree of this chain was never built".into());
                }
            },
        }
        if let Some(c) = pending.first().filter(|c| c.size() > entries) {
            return brk(
                last + 1,
                TamperKind::RolledBack,
                format!(
                    "a signed checkpoint covers {} entries but the database holds {entries}: it was rolled back \
                     to an older copy or its tail was cut with its head",
                    c.size()
                ),
            );
        }
        if let Some(c) = differs {
            let size = i64::try_from(c.size()).unwrap_or(i64::MAX);
            return brk(
                size,
                TamperKind::RolledBack,
                format!(
                    "the first {} entries differ from the signed checkpoint of that size: the database was \
                     rolled back to an older copy and written again, or rewritten",
                    c.size()
                ),
            );
        }
        Ok(Ok(report()))
    }
}

/// A verification's way along a chain: the entry it expects next, the hash it must name, and
/// what the entries taken so far add up to.
struct Walk<'c> {
    expected: i64,
    prev: [u8; 32],
    /// The bytes of log hashed so far.
    bytes: u64,
    tree: CompactRange,
    /// The subtrees the stored tree should hold, completed by this page's entries.
    completed: Vec<(Node, Hash)>,
    /// Checkpoints not yet reached, largest first.
    pending: Vec<&'c Checkpoint>,
    /// The first checkpoint whose tree differs from the log's, reported only if the chain itself
    /// shows nothing more specific.
    differs: Option<&'c Checkpoint>,
}

impl Walk<'_> {
    /// Takes entry `seq`, of these canonical bytes and stored hashes, if it is sealed in place:
    /// numbered as expected, naming the hash of the entry before, and hashing to its own hash.
    /// Otherwise takes nothing and returns false.
    fn take(&mut self, seq: i64, canonical: &[u8], row_prev: &[u8], row_hash: &[u8]) -> bool {
        if seq != self.expected
            || row_prev != self.prev.as_slice()
            || row_hash != AuditEntry::link_hash(&self.prev, canonical).as_slice()
        {
            return false;
        }
        self.bytes += canonical.len() as u64;
        let completed = &mut self.completed;
        self.tree.append(leaf_hash(canonical), |node, hash| {
            if tree::is_stored(node) {
                completed.push((node, *hash));
            }
        });
        check(&self.tree, &mut self.pending, &mut self.differs);
        self.prev = hash32_or_zero(row_hash);
        self.expected += 1;
        true
    }

    /// Takes the entries of a page's text ([`sql::audit_page::StoredPage`]), in order, as long
    /// as each reads and is sealed in place, and returns how many it took. `canonical` is the
    /// buffer their canonical bytes are written to, one after the other.
    fn take_texts(&mut self, scope: AuditScope, mut text: &[u8], canonical: &mut Vec<u8>) -> i64 {
        let mut taken = 0;
        while let Some((entry, rest)) = sql::audit_page::StoredText::parse(scope, text) {
            canonical.clear();
            AuditEntry::put_stored_bytes(&entry.fields, canonical);
            if !self.take(entry.fields.seq, canonical, &entry.prev_hash, &entry.hash) {
                break;
            }
            taken += 1;
            text = rest;
        }
        taken
    }

    /// Takes an entry read as columns, or says where and how the chain breaks at it (by
    /// `forensics`, which reads around it).
    async fn take_row(
        &mut self,
        e: &mut Exec<'_>,
        scope: AuditScope,
        row: &AuditRow,
    ) -> Result<Option<(i64, TamperKind, String)>, StoreError> {
        let (seq, expected) = (row.seq, self.expected);
        if seq < expected {
            return Ok(Some((seq, TamperKind::InsertedEntry, format!("entry {seq} is out of sequence"))));
        }
        if seq > expected {
            return Ok(Some((expected, TamperKind::DeletedEntry, format!("entry {expected} is missing"))));
        }
        let (row_prev, row_hash) = row.hashes();
        if self.take(seq, &row.stored_bytes(), row_prev, row_hash) {
            return Ok(None);
        }
        let (kind, reason) = forensics::name_break(e, scope, row, &self.prev).await?;
        Ok(Some((seq, kind, reason)))
    }
}

/// Compares the tree with the checkpoints of its size (`pending` is sorted by size, largest
/// first), remembering the first that differs.
fn check<'a>(tree: &CompactRange, pending: &mut Vec<&'a Checkpoint>, differs: &mut Option<&'a Checkpoint>) {
    while let Some(c) = pending.last().copied().filter(|c| c.size() == tree.size()) {
        pending.pop();
        if differs.is_none() && !c.root().ct_eq(&tree.root()) {
            *differs = Some(c);
        }
    }
}

/// Up to `left` entries after `after` as a page's text where the engine reads them so
/// ([`dialect::reads_audit_texts`]), otherwise a page of `left` unread entries, which the
/// caller reads as columns.
async fn read_page(
    e: &mut Exec<'_>,
    texts: bool,
    scope: AuditScope,
    after: i64,
    left: i64,
) -> Result<sql::audit_page::StoredPage, StoreError> {
    if texts {
        sql::audit_page::stored_page(e, scope, after, left).await
    } else {
        Ok(sql::audit_page::StoredPage::unread(left))
    }
}

/// A stored hash that already matched a recomputed one is 32 bytes.
fn hash32_or_zero(bytes: &[u8]) -> [u8; 32] {
    bytes.try_into().unwrap_or_default()
}
