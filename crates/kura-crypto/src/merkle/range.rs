//! The incremental appender: a "compact range" (also called the frontier) over leaves
//! `0..size`, one perfect-subtree root per set bit of `size`, largest first. Appending a leaf
//! merges equal-sized roots as a binary counter carries, so it costs at most log2(n) node hashes
//! (one on average), and the tree head folds the roots in at most log2(n) more. The state is a
//! few hundred bytes at most and serialises so the store can keep it beside the chain head.

use super::hash::{EMPTY_ROOT, Hash, node_hash};
use super::store::Node;

/// The compact range of a log's leaves `0..size`.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct CompactRange {
    size: u64,
    /// One root per set bit of `size`, from the highest bit down.
    roots: Vec<Hash>,
}

#[derive(thiserror::Error, Debug, PartialEq, Eq)]
pub enum CompactRangeError {
    #[error("a compact range of {size} leaves has {expected} roots, not {found}")]
    RootCount { size: u64, expected: u32, found: usize },
    #[error("a stored compact range is {0} bytes, which is not 8 plus a multiple of 32")]
    Length(usize),
    #[error("the log is full")]
    Full,
    #[error("a subtree of 2^{level} leaves cannot start at leaf {size}")]
    Misaligned { size: u64, level: u8 },
}

impl CompactRange {
    /// The range of the empty log.
    pub const fn new() -> Self {
        Self { size: 0, roots: Vec::new() }
    }

    /// Rebuilds a range from its size and roots (highest first), checking that they fit.
    pub fn from_parts(size: u64, roots: Vec<Hash>) -> Result<Self, CompactRangeError> {
        if roots.len() != size.count_ones() as usize {
            return Err(CompactRangeError::RootCount { size, expected: size.count_ones(), found: roots.len() });
        }
        Ok(Self { size, roots })
    }

    pub const fn size(&self) -> u64 {
        self.size
    }

    /// The roots with the perfect subtrees they stand for, highest first.
    pub fn nodes(&self) -> impl Iterator<Item = (Node, &Hash)> {
        let size = self.size;
        (0..64u8)
            .rev()
            .filter(move |b| size >> b & 1 == 1)
            .map(move |level| Node { level, index: (size >> level) - 1 })
            .zip(&self.roots)
    }

    /// Appends the leaf hash of the next entry. `completed` sees every perfect subtree the
    /// append completes, the leaf itself first, so a store can persist them for proofs.
    pub fn append(&mut self, leaf: Hash, completed: impl FnMut(Node, &Hash)) {
        self.push(Node { level: 0, index: self.size }, leaf, completed);
    }

    /// Like [`CompactRange::append`], refusing instead of wrapping when the log holds 2^64 - 1 leaves.
    pub fn try_append(&mut self, leaf: Hash, completed: impl FnMut(Node, &Hash)) -> Result<(), CompactRangeError> {
        self.append_subtree(0, leaf, completed)
    }

    /// Appends `2^level` leaves at once, given the hash of the perfect subtree they form (worked
    /// out elsewhere: on another thread, or read from a store). The log's size must be a
    /// multiple of `2^level`. `completed` sees the subtree and every larger one it completes.
    pub fn append_subtree(
        &mut self,
        level: u8,
        hash: Hash,
        completed: impl FnMut(Node, &Hash),
    ) -> Result<(), CompactRangeError> {
        let width = 1u64.checked_shl(u32::from(level)).ok_or(CompactRangeError::Full)?;
        if !self.size.is_multiple_of(width) {
            return Err(CompactRangeError::Misaligned { size: self.size, level });
        }
        if self.size.checked_add(width).is_none() {
            return Err(CompactRangeError::Full);
        }
        self.push(Node { level, index: self.size >> level }, hash, completed);
        Ok(())
    }

    /// Adds a perfect subtree that starts at `size`, merging equal-sized roots as a binary
    /// counter carries. The roots at the end of the list are the lowest levels; since `size`
    /// is a multiple of the subtree's width, none is below its level.
    fn push(&mut self, mut node: Node, mut hash: Hash, mut completed: impl FnMut(Node, &Hash)) {
        completed(node, &hash);
        let width = node.width();
        while node.index & 1 == 1 {
            // An odd index means a sibling of the same level waits on the left: carry.
            let Some(left) = self.roots.pop() else { break };
            hash = node_hash(&left, &hash);
            node = Node { level: node.level + 1, index: node.index >> 1 };
            completed(node, &hash);
        }
        self.roots.push(hash);
        self.size += width;
    }

    /// The tree head of leaves `0..size` (RFC 9162 §2.1.1).
    pub fn root(&self) -> Hash {
        let mut roots = self.roots.iter().rev();
        let Some(last) = roots.next() else { return EMPTY_ROOT };
        roots.fold(*last, |acc, left| node_hash(left, &acc))
    }

    /// `size` as 8 bytes big-endian, then the roots, highest first.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + 32 * self.roots.len());
        out.extend_from_slice(&self.size.to_be_bytes());
        for r in &self.roots {
            out.extend_from_slice(&r.0);
        }
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CompactRangeError> {
        let (Some(size), rest) = (bytes.first_chunk::<8>(), bytes.get(8..).unwrap_or_default()) else {
            return Err(CompactRangeError::Length(bytes.len()));
        };
        if rest.len() % 32 != 0 {
            return Err(CompactRangeError::Length(bytes.len()));
        }
        let roots = rest.chunks_exact(32).map(|c| Hash(c.try_into().unwrap_or_default())).collect();
        Self::from_parts(u64::from_be_bytes(*size), roots)
    }
}
