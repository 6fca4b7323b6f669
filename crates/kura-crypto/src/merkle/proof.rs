//! Inclusion and consistency proofs: generation as RFC 9162 §2.1.3.1 and §2.1.4.1 define it
//! (PATH and SUBPROOF), verification as §2.1.3.2 and §2.1.4.2 specify, step by step.

use super::hash::{EMPTY_ROOT, Hash, node_hash};
use super::store::{HashStore, Node};

/// Why a proof could not be produced.
#[derive(thiserror::Error, Debug)]
pub enum ProofError<E: std::error::Error + 'static> {
    #[error("leaf {index} is not in a tree of {size} leaves")]
    LeafOutOfRange { index: u64, size: u64 },
    #[error("a tree of {first} leaves cannot grow into one of {second}")]
    SizesOutOfOrder { first: u64, second: u64 },
    #[error("reading the log's hashes failed")]
    Store(#[source] E),
}

/// Why a proof was refused. Every variant means the same thing to a caller: the claim is not
/// proven. The kinds exist for messages that name what was wrong.
#[derive(thiserror::Error, Debug, PartialEq, Eq)]
pub enum VerifyError {
    #[error("the proof is for a position outside the tree")]
    OutOfRange,
    #[error("the proof has the wrong number of hashes for these tree sizes")]
    WrongLength,
    #[error("the proof does not lead to the tree head")]
    RootMismatch,
    #[error("the checkpoints are of different logs")]
    OtherLog,
}

/// The largest power of two strictly smaller than `n` (n ≥ 2): RFC 9162's split point.
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// `MTH(D[lo:hi])` from stored perfect subtrees, for `lo < hi`. For the ranges proofs and tree
/// heads use (`lo` a multiple of the largest power of two not above `hi - lo`, which includes
/// every `lo = 0`), the greedy decomposition yields perfect subtrees of decreasing size, and
/// folding them from the right is exactly RFC 9162's recursive definition.
pub fn range_hash<S: HashStore>(store: &S, lo: u64, hi: u64) -> Result<Hash, S::Error> {
    debug_assert!(lo < hi);
    let mut nodes = Vec::with_capacity(64);
    let mut at = lo;
    while at < hi {
        let aligned = if at == 0 { 63 } else { at.trailing_zeros() };
        let fits = 63 - (hi - at).leading_zeros();
        let level = aligned.min(fits);
        nodes.push(Node { level: level as u8, index: at >> level });
        at += 1 << level;
    }
    let mut hashes = nodes.into_iter().rev().map(|n| store.node(n));
    let Some(last) = hashes.next() else { return Ok(EMPTY_ROOT) };
    hashes.try_fold(last?, |acc, left| Ok(node_hash(&left?, &acc)))
}

/// The tree head of the first `size` leaves, read from the store: for checking an old
/// checkpoint against the log as it is now.
pub fn tree_head<S: HashStore>(store: &S, size: u64) -> Result<Hash, S::Error> {
    if size == 0 { Ok(EMPTY_ROOT) } else { range_hash(store, 0, size) }
}

/// The audit path of leaf `index` in the tree of the first `size` leaves (RFC 9162 §2.1.3.1).
pub fn inclusion_proof<S: HashStore>(store: &S, index: u64, size: u64) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if index >= size {
        return Err(ProofError::LeafOutOfRange { index, size });
    }
    // PATH(m, D[lo:hi]), unrolled from the root down; the hashes come out root-side first, and
    // the proof lists them leaf-side first.
    let mut path = Vec::new();
    let (mut lo, mut hi) = (0, size);
    while hi - lo > 1 {
        let k = split(hi - lo);
        if index < lo + k {
            path.push(range_hash(store, lo + k, hi).map_err(ProofError::Store)?);
            hi = lo + k;
        } else {
            path.push(range_hash(store, lo, lo + k).map_err(ProofError::Store)?);
            lo += k;
        }
    }
    path.reverse();
    Ok(path)
}

/// The proof that the tree of `first` leaves is a prefix of the tree of `second` leaves
/// (RFC 9162 §2.1.4.1). Empty when `first` is 0 or equals `second`.
pub fn consistency_proof<S: HashStore>(store: &S, first: u64, second: u64) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if first > second {
        return Err(ProofError::SizesOutOfOrder { first, second });
    }
    if first == 0 || first == second {
        return Ok(Vec::new());
    }
    // SUBPROOF(m, D[lo:hi], b), unrolled the same way.
    let mut path = Vec::new();
    let (mut m, mut lo, mut hi, mut whole) = (first, 0, second, true);
    while m != hi - lo {
        let k = split(hi - lo);
        if m <= k {
            path.push(range_hash(store, lo + k, hi).map_err(ProofError::Store)?);
            hi = lo + k;
        } else {
            path.push(range_hash(store, lo, lo + k).map_err(ProofError::Store)?);
            lo += k;
            m -= k;
            whole = false;
        }
    }
    if !whole {
        path.push(range_hash(store, lo, hi).map_err(ProofError::Store)?);
    }
    path.reverse();
    Ok(path)
}

/// Checks that `leaf` is leaf `index` of the tree of `size` leaves whose head is `root`
/// (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> Result<(), VerifyError> {
    if index >= size {
        return Err(VerifyError::OutOfRange);
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(VerifyError::WrongLength);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(VerifyError::WrongLength);
    }
    if r.ct_eq(root) { Ok(()) } else { Err(VerifyError::RootMismatch) }
}

/// Checks that the tree of `first` leaves with head `first_root` is a prefix of the tree of
/// `second` leaves with head `second_root` (RFC 9162 §2.1.4.2). Any tree extends the empty
/// one, and a tree is consistent with itself exactly when the heads are equal; both take an
/// empty proof.
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> Result<(), VerifyError> {
    if first > second {
        return Err(VerifyError::OutOfRange);
    }
    if first == 0 || first == second {
        if !proof.is_empty() {
            return Err(VerifyError::WrongLength);
        }
        return if first == 0 || first_root.ct_eq(second_root) { Ok(()) } else { Err(VerifyError::RootMismatch) };
    }
    let mut path = proof.iter();
    // When the first tree is perfect its head is a node of the second tree, and the proof
    // leaves it out.
    let start = if first.is_power_of_two() { Some(first_root) } else { path.next() };
    let Some(start) = start else { return Err(VerifyError::WrongLength) };
    let (mut fn_, mut sn) = (first - 1, second - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*start, *start);
    for c in path {
        if sn == 0 {
            return Err(VerifyError::WrongLength);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(VerifyError::WrongLength);
    }
    if fr.ct_eq(first_root) && sr.ct_eq(second_root) { Ok(()) } else { Err(VerifyError::RootMismatch) }
}
