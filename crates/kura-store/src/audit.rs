//! Reading and verifying the audit chain (LOG-1). Appending happens in `Write::commit`.

use crate::conn::{Engine, Exec, Scope};
use crate::dialect;
use crate::error::StoreError;
use crate::sql;
use crate::sql::audit::AuditRow;
use crate::store::Store;
use jiff::Timestamp;
use kura_crypto::merkle::{Checkpoint, CompactRange, Hash, Node, leaf_hash};
use kura_domain::{AuditEntry, AuditScope, Operation, Outcome};
use std::collections::HashMap;

mod counts;
mod export;
mod forensics;
pub(crate) mod tree;
pub use counts::QuarterCount;
pub use export::{ExportSlice, ExportedEntry};
pub use tree::TreeHead;

/// Which entries to list, newest first.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// Case-insensitive substring of the actor's label (email or key name).
    pub actor: Option<String>,
    pub operation: Option<Operation>,
    pub outcome: Option<Outcome>,
    /// The source address, exactly as recorded.
    pub source_ip: Option<String>,
    /// The target, exactly (`record:customers/…` lists one record's history).
    pub target: Option<String>,
    /// Only entries with a sequence number below this (for paging backwards).
    pub before_seq: Option<i64>,
    pub limit: u32,
}

/// The ways a log can have been tampered with, as verification names them (LOG-3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TamperKind {
    /// An entry's content differs from what was sealed.
    EditedEntry,
    /// An entry is gone (a gap, or later entries renumbered to close it).
    DeletedEntry,
    /// An entry was added that was never written by Kura.
    InsertedEntry,
    /// Two entries exchanged places.
    SwappedEntries,
    /// Entries at the end are gone while the head still counts them.
    TruncatedTail,
    /// A checkpoint in the sink does not carry a valid signature by the log's key.
    ForgedCheckpoint,
    /// The database is behind, or other than, a checkpoint signed earlier: restored from an
    /// older copy (perhaps written again since), or rewritten with fresh hashes.
    RolledBack,
    /// A stored subtree hash, which proofs are built from, is missing or differs from the
    /// entries: proofs served from it would not verify.
    AlteredTree,
}

impl TamperKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::EditedEntry => "edited entry",
            Self::DeletedEntry => "deleted entry",
            Self::InsertedEntry => "inserted entry",
            Self::SwappedEntries => "swapped entries",
            Self::TruncatedTail => "truncated tail",
            Self::ForgedCheckpoint => "forged checkpoint",
            Self::RolledBack => "database rolled back",
            Self::AlteredTree => "altered tree node",
        }
    }
}

/// Where and why a chain failed verification.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("audit chain {scope:?} broken at entry {seq} ({}): {reason}", kind.as_str())]
pub struct ChainBreak {
    pub scope: AuditScope,
    pub seq: i64,
    pub kind: TamperKind,
    pub reason: String,
}

/// The result of verifying one chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    pub scope: AuditScope,
    pub entries: u64,
    pub head_seq: i64,
    /// The Merkle tree head over every entry.
    pub root: Hash,
    /// How many checkpoints the tree was checked against.
    pub checkpoints: usize,
    /// The bytes of log hashed (the entries' canonical bytes).
    pub bytes: u64,
}

/// One chain's outcome in [`Store::verify_all`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainVerification {
    pub scope: AuditScope,
    pub result: Result<VerifyReport, ChainBreak>,
}

/// What a listing matches on opened entries, beyond what SQL can compare on stored ones: the
/// actor's label (a case-insensitive part of it) and the exact target (the index narrows the
/// rows, but two targets may share a normal form).
struct OpenedFilter {
    actor: Option<String>,
    target: Option<String>,
}

impl OpenedFilter {
    fn new(filter: &AuditFilter) -> Self {
        Self { actor: actor_text(filter), target: filter.target.clone() }
    }
    /// Whether SQL alone decides the listing (no entry needs to be opened to be matched).
    fn is_empty(&self) -> bool {
        self.actor.is_none() && self.target.is_none()
    }
    fn matches(&self, e: &AuditEntry) -> bool {
        self.actor.as_ref().is_none_or(|a| e.actor.label.to_lowercase().contains(a.as_str()))
            && self.target.as_ref().is_none_or(|t| e.target.as_ref() == Some(t))
    }
}

/// The actor filter's text, trimmed and lower-cased; `None` when blank.
fn actor_text(filter: &AuditFilter) -> Option<String> {
    filter.actor.as_deref().map(str::trim).filter(|a| !a.is_empty()).map(str::to_lowercase)
}

/// Listing limits: 0 means the default.
const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 1000;
/// Entries read per round trip while matching opened entries (listing or counting by actor).
const SCAN_PAGE: usize = 500;
/// Entries verification reads as one value (about 1 MB), so memory stays flat however long
/// the chain; the stored subtrees a page's entries complete are checked after it.
const VERIFY_PAGE: i64 = 1000;
/// The most principals an actor filter looks up by id; a text that names more is matched on
/// every opened entry instead (it is then common enough to fill a page quickly).
const MAX_ACTOR_IDS: usize = 200;

/// How one part of a listing is read: the SQL conditions and what is matched on opened entries.
struct Part<'a> {
    params: sql::audit_list::ListParams<'a>,
    opened: OpenedFilter,
}

impl Store {
    /// The entries of `scope`'s chain that match `filter`, newest first (by time, then number),
    /// opened: a tenant's sealed actor labels, user agents, targets and details are opened with
    /// its key. Time, operation, outcome, address and target (by its index) are matched in SQL,
    /// each from an index. The actor is matched by the principals (users, API keys, operators)
    /// whose name or address contains the text, by their ids, plus the entries without an actor
    /// id (anonymous attempts, the command line, jobs) whose recorded label contains it; a text
    /// that names no principal is compared with every entry's recorded label.
    pub async fn audit_entries(&self, scope: AuditScope, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let limit = if filter.limit == 0 { DEFAULT_LIMIT } else { filter.limit.clamp(1, MAX_LIMIT) } as usize;
        let sealer = self.audit_sealer(scope).await?;
        let index = self.target_index(sealer.as_ref(), filter);
        let Some(after) = self.listing_position(scope, filter).await? else { return Ok(Vec::new()) };
        let ids = self.actor_ids(scope, filter).await?;
        let mut out: Vec<AuditEntry> = Vec::new();
        for mut part in parts(filter, &index, after, ids.as_deref()) {
            // Once the page is full, a later part only reads what is newer than its oldest
            // entry: an actor's entries by id bound the scan of the entries without one.
            if out.len() == limit {
                part.params.floor = out.last().map(|e| (e.at.as_microsecond(), e.seq));
            }
            out.extend(self.collect(scope, sealer.as_ref(), part, limit, None).await?.0);
            out.sort_by_key(|e| std::cmp::Reverse((e.at, e.seq)));
            out.truncate(limit);
        }
        Ok(out)
    }

    /// How many entries match `filter`, whatever its paging and limit.
    pub async fn audit_count(&self, scope: AuditScope, filter: &AuditFilter) -> Result<u64, StoreError> {
        self.audit_count_up_to(scope, filter, None).await
    }

    /// [`Store::audit_count`], counting at most `cap` entries (`None`: all), so that a viewer
    /// over millions of entries can say "more than …" at the cost of `cap` index entries.
    pub async fn audit_count_up_to(
        &self,
        scope: AuditScope,
        filter: &AuditFilter,
        cap: Option<u64>,
    ) -> Result<u64, StoreError> {
        let sealer = self.audit_sealer(scope).await?;
        let index = self.target_index(sealer.as_ref(), filter);
        let ids = self.actor_ids(scope, filter).await?;
        let mut n = 0u64;
        for part in parts(filter, &index, None, ids.as_deref()) {
            let left = cap.map(|c| c.saturating_sub(n));
            if left == Some(0) {
                break;
            }
            n += if part.opened.is_empty() {
                sql::audit_list::count(&mut self.db.read(Scope::audit(scope)).await?.exec(), scope, &part.params, left)
                    .await?
            } else {
                self.collect(scope, sealer.as_ref(), part, 0, left).await?.1
            };
        }
        Ok(cap.map_or(n, |c| n.min(c)))
    }

    /// Reads one part of a listing page after page, opening the entries, until `limit` match
    /// (0: no list is kept) or `count_cap` have been counted, or the chain is read. Returns the
    /// matches kept and how many matched.
    async fn collect(
        &self,
        scope: AuditScope,
        sealer: Option<&crate::vault::Sealer>,
        mut part: Part<'_>,
        limit: usize,
        count_cap: Option<u64>,
    ) -> Result<(Vec<AuditEntry>, u64), StoreError> {
        let page = if part.opened.is_empty() && limit > 0 { limit } else { limit.max(SCAN_PAGE) };
        part.params.limit = page as i64;
        let mut out = Vec::new();
        let mut n = 0u64;
        loop {
            let rows = sql::audit_list::list(&mut self.db.read(Scope::audit(scope)).await?.exec(), scope, &part.params)
                .await?;
            let full = rows.len() == page;
            for mut entry in rows {
                part.params.after = Some((entry.at.as_microsecond(), entry.seq));
                if let Some(sealer) = sealer {
                    sealer.open_audit(&mut entry)?;
                }
                if part.opened.matches(&entry) {
                    n += 1;
                    if limit > 0 {
                        out.push(entry);
                        if out.len() == limit {
                            return Ok((out, n));
                        }
                    }
                    if count_cap == Some(n) {
                        return Ok((out, n));
                    }
                }
            }
            if !full || (part.opened.is_empty() && limit > 0) {
                return Ok((out, n));
            }
        }
    }

    /// Where a listing continues: after the entry `filter.before_seq` names (its time and
    /// number); `Some(None)` from the newest; `None` when nothing can follow (a number below 2).
    async fn listing_position(
        &self,
        scope: AuditScope,
        filter: &AuditFilter,
    ) -> Result<Option<Option<(i64, i64)>>, StoreError> {
        let Some(seq) = filter.before_seq else { return Ok(Some(None)) };
        if seq < 2 {
            return Ok(None);
        }
        let at = sql::audit_list::position(&mut self.db.read(Scope::audit(scope)).await?.exec(), scope, seq).await?;
        // Beyond the head: every entry comes before it.
        Ok(Some(Some((at.unwrap_or(i64::MAX), seq))))
    }

    /// The ids of the principals an actor filter names: the users and API keys of the tenant,
    /// and the operators, whose address or name contains the text (case-insensitively). `None`
    /// when there is no actor filter, or when the text names none (a deleted user, an address
    /// typed at a failed sign-in: every entry's label is then compared) or more than
    /// [`MAX_ACTOR_IDS`] (common enough to fill a page quickly that way).
    async fn actor_ids(&self, scope: AuditScope, filter: &AuditFilter) -> Result<Option<Vec<uuid::Uuid>>, StoreError> {
        let Some(text) = actor_text(filter) else { return Ok(None) };
        let has = |s: &str| s.to_lowercase().contains(text.as_str());
        let mut ids: Vec<uuid::Uuid> =
            self.operators().await?.iter().filter(|o| has(o.email.as_str())).map(|o| o.id.as_uuid()).collect();
        if let AuditScope::Tenant(tenant) = scope {
            for u in self.users(tenant).await? {
                if has(u.email.as_str()) || has(u.display_name.as_str()) {
                    ids.push(u.id.as_uuid());
                }
            }
            for k in self.api_keys(tenant).await? {
                if has(k.name.as_str()) {
                    ids.push(k.id.as_uuid());
                }
            }
        }
        Ok((!ids.is_empty() && ids.len() <= MAX_ACTOR_IDS).then_some(ids))
    }

    /// How a chain's entries are opened: a tenant's with its sealer, the platform's as stored.
    async fn audit_sealer(&self, scope: AuditScope) -> Result<Option<crate::vault::Sealer>, StoreError> {
        match scope {
            AuditScope::Tenant(tenant) => Ok(Some(self.sealer(tenant).await?)),
            AuditScope::Platform => Ok(None),
        }
    }

    /// The index a listing looks `filter`'s target up by: the tenant's, or for the platform's
    /// chain (no index) none (empty), so that only its plain targets are looked up.
    fn target_index(&self, sealer: Option<&crate::vault::Sealer>, filter: &AuditFilter) -> Vec<u8> {
        match (sealer, filter.target.as_deref()) {
            (Some(sealer), Some(target)) => sealer.audit_target_index(target),
            _ => Vec::new(),
        }
    }

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
        let engine = e.engine();
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
        let texts = dialect::reads_audit_texts(engine);
        let mut page = read_page(&mut e, texts, scope, after, left).await?;
        loop {
            // Each entry is taken if it reads and is sealed in place; a full page is taken while
            // the database reads the next one. From the first entry that is not taken, the rest
            // of the page is read again as columns and judged as it always was, which names a
            // break. (Should every text fail to read, say under a PostgreSQL `bytea_output` of
            // `escape`, verification is as slow as it was, not wrong.)
            let full = page.count == left;
            let (taken, next) = if full && texts {
                let last = page.last.unwrap_or(after);
                let (next, taken) = tokio::join!(
                    biased;
                    sql::audit_page::stored_page(&mut e, scope, last, VERIFY_PAGE),
                    async { walk.take_texts(engine, scope, &page.text, &mut canonical) },
                );
                (taken, Some(next))
            } else {
                (walk.take_texts(engine, scope, &page.text, &mut canonical), None)
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
    fn take_texts(&mut self, engine: Engine, scope: AuditScope, mut text: &[u8], canonical: &mut Vec<u8>) -> i64 {
        let mut taken = 0;
        while let Some((entry, rest)) = sql::audit_page::StoredText::parse(engine, scope, text) {
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

/// The parts a listing is read in, each answered from an index in the viewer's order and
/// merged by the caller; no entry is in two parts. Without an actor or target filter, one:
/// every condition in SQL. A target adds a part per way of finding it (by its index in the
/// scope, by its plain form for entries without an index). An actor filter naming principals
/// adds a part per way as well: the named principals' entries by id (their label not compared:
/// it is the name they had then), and the entries without an actor id whose label contains the
/// text; naming none or too many, the label is matched on every opened entry.
fn parts<'a>(
    filter: &'a AuditFilter,
    index: &'a [u8],
    after: Option<(i64, i64)>,
    ids: Option<&'a [uuid::Uuid]>,
) -> Vec<Part<'a>> {
    use sql::audit_list::{ActorIds, ListParams, TargetMatch};
    let params = ListParams {
        from: filter.from,
        to: filter.to,
        operation: filter.operation,
        outcome: filter.outcome,
        source_ip: filter.source_ip.as_deref().map(str::trim).filter(|s| !s.is_empty()),
        target: None,
        actor: None,
        after,
        floor: None,
        limit: 0,
    };
    let targets = match filter.target.as_deref() {
        None => vec![None],
        // The platform's chain has no index: its targets are plain.
        Some(target) if index.is_empty() => vec![Some(TargetMatch::Plain(target))],
        Some(target) => vec![Some(TargetMatch::Index(index)), Some(TargetMatch::Plain(target))],
    };
    let opened = || OpenedFilter::new(filter);
    let mut parts = Vec::new();
    for target in targets {
        let params = ListParams { target, ..params };
        match ids {
            None => parts.push(Part { params, opened: opened() }),
            Some(ids) => {
                parts.push(Part {
                    params: ListParams { actor: Some(ActorIds::Any(ids)), ..params },
                    opened: OpenedFilter { actor: None, ..opened() },
                });
                parts.push(Part { params: ListParams { actor: Some(ActorIds::None), ..params }, opened: opened() });
            }
        }
    }
    parts
}
