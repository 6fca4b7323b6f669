//! The Merkle log of each audit scope (LOG-3), read side and upkeep: tree heads, inclusion and
//! consistency proofs built from the stored subtrees, and building the tree of chains written
//! before the Merkle log existed. The write path keeps the tree (see `writer/numbering.rs`).

use crate::conn::{Exec, Scope, WriterConn};
use crate::dialect;
use crate::error::StoreError;
use crate::sql;
use crate::store::Store;
use kura_crypto::merkle::{
    CompactRange, EMPTY_ROOT, Hash, HashStore, MissingNode, Node, ProofError, consistency_proof, inclusion_proof,
    leaf_hash, node_hash,
};
use kura_domain::AuditScope;
use std::cell::RefCell;
use std::collections::HashMap;
use std::convert::Infallible;

/// A scope's tree head: its size (entries) and root hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeHead {
    pub size: u64,
    pub root: Hash,
}

/// Entries read per round trip while building a tree.
const BUILD_PAGE: i64 = 1000;

/// Builds the tree of every chain whose head has none (chains written before the Merkle log),
/// from its entries as stored, each in a transaction of its own. Runs when the store opens,
/// before the writer starts. A chain whose entries are not numbered 1, 2, 3… without gaps is
/// left without a tree and logged: its tree cannot be built honestly, writes to it are refused
/// and `kura audit verify` names the break.
pub(crate) async fn build_missing(conn: &mut WriterConn) -> Result<(), StoreError> {
    let scopes = sql::audit::heads_without_tree(&mut conn.exec()).await?;
    for id in scopes {
        let scope = AuditScope::from_storage_id(id);
        let begin = dialect::begin_writer(conn.exec().engine());
        conn.run(begin).await?;
        match build_one(&mut conn.exec(), scope).await {
            Ok(true) => conn.run("COMMIT").await?,
            Ok(false) => conn.run("ROLLBACK").await?,
            Err(e) => {
                let _ = conn.run("ROLLBACK").await;
                return Err(e);
            }
        }
    }
    Ok(())
}

/// Builds one scope's tree; `false` if there is nothing to do or it cannot be built.
async fn build_one(e: &mut Exec<'_>, scope: AuditScope) -> Result<bool, StoreError> {
    let Some(head_seq) = sql::audit::lock_head_without_tree(e, scope).await? else { return Ok(false) };
    let mut tree = CompactRange::new();
    let mut nodes = Vec::new();
    let mut after = 0;
    loop {
        let rows = sql::audit::page(e, scope, after, BUILD_PAGE).await?;
        let full = rows.len() as i64 == BUILD_PAGE;
        for row in rows {
            if row.seq != after + 1 {
                tracing::error!(?scope, missing = after + 1, "audit chain has a gap; its Merkle tree was not built");
                return Ok(false);
            }
            after = row.seq;
            tree.append(leaf_hash(&row.stored_bytes()), |node, hash| {
                if is_stored(node) {
                    nodes.push((scope, node, *hash));
                }
            });
        }
        if nodes.len() >= BUILD_PAGE as usize {
            sql::audit::insert_nodes(e, &nodes).await?;
            nodes.clear();
        }
        if !full {
            break;
        }
    }
    if after != head_seq {
        tracing::error!(
            ?scope,
            head_seq,
            entries = after,
            "audit chain and head disagree; its Merkle tree was not built"
        );
        return Ok(false);
    }
    sql::audit::insert_nodes(e, &nodes).await?;
    sql::audit::set_tree(e, scope, &tree).await?;
    tracing::info!(?scope, size = tree.size(), "audit Merkle tree built from the existing chain");
    Ok(true)
}

/// A [`HashStore`] that answers anything and notes what was asked: the nodes a proof needs
/// depend only on the sizes and index, so one dry run lists them for one round of reads.
#[derive(Default)]
struct Recorder(RefCell<Vec<Node>>);

impl HashStore for Recorder {
    type Error = Infallible;
    fn node(&self, node: Node) -> Result<Hash, Infallible> {
        self.0.borrow_mut().push(node);
        Ok(EMPTY_ROOT)
    }
}

/// The nodes a proof needs, read from the database.
struct Fetched(HashMap<Node, Hash>);

impl HashStore for Fetched {
    type Error = MissingNode;
    fn node(&self, node: Node) -> Result<Hash, MissingNode> {
        self.0.get(&node).copied().ok_or(MissingNode(node))
    }
}

/// Every how many levels a completed subtree is stored: levels 4, 8, 12… are kept in
/// `audit_tree_nodes`, about one row per 15 entries; the levels between are hashed up from the
/// stored level below (or the entries) when a proof asks for them, at most 8 hashes each.
/// Storing every level cost a row per entry, which cost creates about a fifth of their rate.
pub(crate) const STORED_EVERY: u8 = 4;

/// Whether the write path stores `node` (see [`STORED_EVERY`]).
pub(crate) fn is_stored(node: Node) -> bool {
    node.level > 0 && node.level.is_multiple_of(STORED_EVERY)
}

/// Reads `nodes` of `scope`'s tree: each from the stored level at or below it, hashing up what
/// lies between; level 0 are the leaves, hashed from the entries as stored.
async fn fetch(e: &mut Exec<'_>, scope: AuditScope, nodes: Vec<Node>) -> Result<Fetched, StoreError> {
    let mut out = HashMap::with_capacity(nodes.len());
    for node in nodes {
        let base = node.level - node.level % STORED_EVERY;
        let span = node.level - base;
        let count = 1u64 << span;
        let lacks = || StoreError::Corrupt(format!("the audit tree of {scope:?} lacks {node:?}"));
        let first = node.index.checked_mul(count).ok_or_else(lacks)?;
        let mut hashes: Vec<Hash> = if base == 0 {
            let after = i64::try_from(first).map_err(|_| lacks())?;
            let rows = sql::audit::page(e, scope, after, count as i64).await?;
            let numbered = rows.iter().zip(after + 1..).all(|(row, seq)| row.seq == seq);
            if !numbered {
                return Err(lacks());
            }
            rows.iter().map(|row| leaf_hash(&row.stored_bytes())).collect()
        } else {
            sql::audit::nodes(e, scope, base, first, count).await?.into_iter().map(|(_, hash)| hash).collect()
        };
        if hashes.len() as u64 != count {
            return Err(lacks());
        }
        while hashes.len() > 1 {
            hashes = hashes.chunks_exact(2).map(|pair| node_hash(&pair[0], &pair[1])).collect();
        }
        out.insert(node, hashes[0]);
    }
    Ok(Fetched(out))
}

/// The first of `expected` (subtrees recomputed from the entries, in the order they were
/// completed) that the stored tree lacks or holds with another hash, with the reason.
pub(crate) async fn first_stored_mismatch(
    e: &mut Exec<'_>,
    scope: AuditScope,
    expected: &[(Node, Hash)],
) -> Result<Option<(Node, String)>, StoreError> {
    let mut levels: Vec<u8> = expected.iter().map(|(node, _)| node.level).collect();
    levels.sort_unstable();
    levels.dedup();
    let mut first: Option<(Node, String)> = None;
    for level in levels {
        let wanted: Vec<_> = expected.iter().filter(|(node, _)| node.level == level).collect();
        let Some(((start, _), (end, _))) = wanted.first().zip(wanted.last()) else { continue };
        let stored = sql::audit::nodes(e, scope, level, start.index, end.index - start.index + 1).await?;
        let stored: HashMap<u64, Hash> = stored.into_iter().collect();
        let mismatch = wanted.iter().find_map(|(node, hash)| match stored.get(&node.index) {
            None => Some((*node, "is missing".to_owned())),
            Some(s) if !s.ct_eq(hash) => Some((*node, "does not match the entries below it".to_owned())),
            Some(_) => None,
        });
        if let Some((node, what)) = mismatch {
            let (from, to) = (node.index << node.level, (node.index + 1) << node.level);
            let reason = format!(
                "the stored Merkle subtree over entries {}–{to} (level {}, index {}) {what}: proofs built from it \
                 would not verify",
                from + 1,
                node.level,
                node.index
            );
            // Report the subtree that ends first.
            if first.as_ref().is_none_or(|(f, _)| (f.index + 1) << f.level > to) {
                first = Some((node, reason));
            }
        }
    }
    Ok(first)
}

fn proof_error<E: std::error::Error>(e: ProofError<E>) -> StoreError {
    match e {
        ProofError::LeafOutOfRange { .. } | ProofError::SizesOutOfOrder { .. } => StoreError::NotFound,
        ProofError::Store(e) => StoreError::Corrupt(e.to_string()),
    }
}

impl Store {
    /// The tree head of `scope`'s log as of the last commit (size 0 and the empty root if the
    /// scope has no entries).
    pub async fn audit_tree_head(&self, scope: AuditScope) -> Result<TreeHead, StoreError> {
        let head = sql::audit::head(&mut self.db.read(Scope::audit(scope)).await?.exec(), scope).await?;
        head_of(scope, head)
    }

    /// The tree head of every scope that has a chain (for checkpoints).
    pub async fn audit_tree_heads(&self) -> Result<Vec<(AuditScope, TreeHead)>, StoreError> {
        let mut out = Vec::new();
        for scope in self.audit_scopes().await? {
            out.push((scope, self.audit_tree_head(scope).await?));
        }
        Ok(out)
    }

    /// The leaf hash of entry `seq` (the leaf at index `seq - 1`), if it exists.
    pub async fn audit_leaf(&self, scope: AuditScope, seq: i64) -> Result<Option<Hash>, StoreError> {
        let row = sql::audit::row_at(&mut self.db.read(Scope::audit(scope)).await?.exec(), scope, seq).await?;
        Ok(row.map(|row| leaf_hash(&row.stored_bytes())))
    }

    /// The inclusion proof of leaf `index` in the tree of the first `size` entries.
    /// [`StoreError::NotFound`] if the leaf or the tree size is beyond the log.
    pub async fn audit_inclusion_proof(
        &self,
        scope: AuditScope,
        index: u64,
        size: u64,
    ) -> Result<Vec<Hash>, StoreError> {
        let mut tx = self.db.snapshot(Scope::audit(scope)).await?;
        let mut e = tx.exec();
        if size > head_of(scope, sql::audit::head(&mut e, scope).await?)?.size {
            return Err(StoreError::NotFound);
        }
        let recorder = Recorder::default();
        inclusion_proof(&recorder, index, size).map_err(proof_error)?;
        let fetched = fetch(&mut e, scope, recorder.0.into_inner()).await?;
        inclusion_proof(&fetched, index, size).map_err(proof_error)
    }

    /// The consistency proof from the tree of `first` entries to that of `second`.
    /// [`StoreError::NotFound`] if a size is beyond the log or `first > second`.
    pub async fn audit_consistency_proof(
        &self,
        scope: AuditScope,
        first: u64,
        second: u64,
    ) -> Result<Vec<Hash>, StoreError> {
        let mut tx = self.db.snapshot(Scope::audit(scope)).await?;
        let mut e = tx.exec();
        if second > head_of(scope, sql::audit::head(&mut e, scope).await?)?.size {
            return Err(StoreError::NotFound);
        }
        let recorder = Recorder::default();
        consistency_proof(&recorder, first, second).map_err(proof_error)?;
        let fetched = fetch(&mut e, scope, recorder.0.into_inner()).await?;
        consistency_proof(&fetched, first, second).map_err(proof_error)
    }
}

/// The compact range of `scope`'s first `size` leaves, read in `e`'s snapshot: the roots of the
/// perfect subtrees before an export's first entry, from which an offline verifier rebuilds the
/// tree over the exported entries (LOG-1, LOG-3).
pub(crate) async fn compact_range_at(
    e: &mut Exec<'_>,
    scope: AuditScope,
    size: u64,
) -> Result<CompactRange, StoreError> {
    let nodes: Vec<Node> = (0..64u8)
        .rev()
        .filter(|level| size >> level & 1 == 1)
        .map(|level| Node { level, index: (size >> level) - 1 })
        .collect();
    let fetched = fetch(e, scope, nodes.clone()).await?;
    let roots = nodes.iter().map(|n| fetched.node(*n)).collect::<Result<Vec<_>, _>>();
    let roots = roots.map_err(|m| StoreError::Corrupt(m.to_string()))?;
    CompactRange::from_parts(size, roots).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn head_of(scope: AuditScope, head: Option<sql::audit::StoredHead>) -> Result<TreeHead, StoreError> {
    match head {
        None => Ok(TreeHead { size: 0, root: EMPTY_ROOT }),
        Some(h) => {
            let tree =
                h.tree.ok_or_else(|| StoreError::Corrupt(format!("the audit tree of {scope:?} was never built")))?;
            Ok(TreeHead { size: tree.size(), root: tree.root() })
        }
    }
}
