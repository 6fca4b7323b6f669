//! Where proofs read subtree hashes from. Only hashes of *perfect* subtrees (2^level leaves
//! starting at a multiple of 2^level) are ever stored: every other subtree hash a proof needs
//! is folded from at most log2(n) of them, so a store keeps about 2n hashes for n leaves.

use super::hash::Hash;
use super::range::CompactRange;

/// A perfect subtree: the `2^level` leaves `index * 2^level ..(index + 1) * 2^level`.
/// Level 0 nodes are the leaves themselves.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Node {
    pub level: u8,
    pub index: u64,
}

impl Node {
    /// The first leaf the subtree covers.
    pub const fn first_leaf(self) -> u64 {
        self.index << self.level
    }
    /// The number of leaves it covers.
    pub const fn width(self) -> u64 {
        1 << self.level
    }
}

/// Read access to the hashes of perfect subtrees of one log.
pub trait HashStore {
    type Error: std::error::Error + 'static;
    /// The hash of `node`. Callers only ask for nodes whose leaves all exist.
    fn node(&self, node: Node) -> Result<Hash, Self::Error>;
}

/// Every perfect subtree hash of a log, in memory: the reference store for tests, filled by
/// the same [`CompactRange`] the write path uses, so the two cannot drift apart.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    /// `levels[l][i]` is the hash of `Node { level: l, index: i }`.
    levels: Vec<Vec<Hash>>,
    range: CompactRange,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
    /// Appends one leaf hash and records every subtree it completes.
    pub fn append(&mut self, leaf: Hash) {
        let levels = &mut self.levels;
        self.range.append(leaf, |node, hash| {
            let level = usize::from(node.level);
            if levels.len() <= level {
                levels.resize_with(level + 1, Vec::new);
            }
            debug_assert_eq!(levels[level].len() as u64, node.index);
            levels[level].push(*hash);
        });
    }
    pub fn size(&self) -> u64 {
        self.range.size()
    }
    pub fn root(&self) -> Hash {
        self.range.root()
    }
    pub fn range(&self) -> &CompactRange {
        &self.range
    }
}

/// A node past the end of the log: a proof was asked for a tree larger than the log.
#[derive(thiserror::Error, Debug, PartialEq, Eq)]
#[error("the log holds no hash for {0:?}")]
pub struct MissingNode(pub Node);

impl HashStore for MemoryStore {
    type Error = MissingNode;
    fn node(&self, node: Node) -> Result<Hash, MissingNode> {
        let index = usize::try_from(node.index).map_err(|_| MissingNode(node))?;
        self.levels.get(usize::from(node.level)).and_then(|l| l.get(index)).copied().ok_or(MissingNode(node))
    }
}
