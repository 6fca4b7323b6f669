//! Properties over many tree sizes: exhaustive for small trees, random for larger ones. Every
//! honest proof verifies; any flipped bit, wrong index, wrong size or wrong head is refused.

use super::super::{
    CompactRange, CompactRangeError, Hash, MissingNode, ProofError, VerifyError, consistency_proof, inclusion_proof,
    leaf_hash, tree_head, verify_consistency, verify_inclusion,
};
use super::{Rng, flip, reference_mth, store_of};

const EXHAUSTIVE: u64 = 40;

#[test]
fn log_3_the_appender_agrees_with_the_recursive_definition_at_every_size() {
    let mut leaves = Vec::new();
    let mut range = CompactRange::new();
    for i in 0..300u64 {
        assert_eq!(range.root(), reference_mth(&leaves), "size {i}");
        assert_eq!(range.nodes().count(), i.count_ones() as usize);
        let leaf = leaf_hash(&i.to_le_bytes());
        leaves.push(leaf);
        range.append(leaf, |_, _| {});
    }
}

#[test]
fn log_3_the_appender_state_round_trips_through_bytes_and_refuses_damaged_bytes() {
    let store = store_of(300);
    let mut range = CompactRange::new();
    for i in 0..300u64 {
        let bytes = range.to_bytes();
        assert_eq!(bytes.len(), 8 + 32 * i.count_ones() as usize);
        let back = CompactRange::from_bytes(&bytes).expect("well formed");
        assert_eq!(back, range);
        assert_eq!(back.root(), tree_head(&store, i).expect("in memory"));
        // Cut short, padded, or a size that does not match the number of roots.
        assert!(CompactRange::from_bytes(&bytes[..bytes.len().saturating_sub(1)]).is_err() || bytes.len() == 8);
        assert!(CompactRange::from_bytes(&[bytes.clone(), vec![0]].concat()).is_err());
        let mut wrong_size = bytes.clone();
        wrong_size[..8].copy_from_slice(&(i ^ (1 << 40)).to_be_bytes());
        assert!(matches!(CompactRange::from_bytes(&wrong_size), Err(CompactRangeError::RootCount { .. })));
        range.append(leaf_hash(&i.to_be_bytes()), |_, _| {});
    }
    assert!(CompactRange::from_bytes(&[0; 7]).is_err());
}

#[test]
fn log_3_an_append_costs_at_most_log_n_node_hashes() {
    let mut range = CompactRange::new();
    for i in 0..4096u64 {
        let mut completed = 0u32;
        range.append(leaf_hash(&i.to_be_bytes()), |_, _| completed += 1);
        // The leaf itself, then one node hash per carry: the trailing ones of the old size.
        assert_eq!(completed, 1 + i.trailing_ones());
        assert!(completed - 1 <= 64 - (i + 1).leading_zeros());
    }
}

fn check_inclusion(store: &super::super::MemoryStore, index: u64, size: u64, flip_all: bool) {
    let root = tree_head(store, size).expect("in memory");
    let leaf = leaf_hash(&index.to_be_bytes());
    let proof = inclusion_proof(store, index, size).expect("in range");
    assert_eq!(verify_inclusion(index, size, &leaf, &proof, &root), Ok(()), "leaf {index} of {size}");
    // A flipped bit anywhere: in the proof, the leaf or the head.
    let bits: Vec<usize> = if flip_all { (0..256).collect() } else { vec![0, 7, 100, 255] };
    for &bit in &bits {
        for i in 0..proof.len() {
            let mut bad = proof.clone();
            bad[i] = flip(&bad[i], bit);
            assert!(verify_inclusion(index, size, &leaf, &bad, &root).is_err());
        }
        assert!(verify_inclusion(index, size, &flip(&leaf, bit), &proof, &root).is_err());
        assert!(verify_inclusion(index, size, &leaf, &proof, &flip(&root, bit)).is_err());
    }
    // The same proof does not place the leaf anywhere else, or in another tree.
    for other in [index ^ 1, index + 1, index.wrapping_sub(1)] {
        if other < size && other != index {
            assert!(verify_inclusion(other, size, &leaf, &proof, &root).is_err(), "moved to {other}");
        }
    }
    // A tree twice the size is one level taller. (A tree one larger may share the path: the size
    // is bound by the signed checkpoint, not by the proof.)
    assert!(verify_inclusion(index, size * 2, &leaf, &proof, &root).is_err());
}

fn check_consistency(store: &super::super::MemoryStore, first: u64, second: u64, flip_all: bool) {
    let r1 = tree_head(store, first).expect("in memory");
    let r2 = tree_head(store, second).expect("in memory");
    let proof = consistency_proof(store, first, second).expect("in order");
    assert_eq!(verify_consistency(first, second, &r1, &r2, &proof), Ok(()), "{first} to {second}");
    if first == 0 {
        return;
    }
    let bits: Vec<usize> = if flip_all { (0..256).collect() } else { vec![0, 9, 128, 255] };
    for &bit in &bits {
        for i in 0..proof.len() {
            let mut bad = proof.clone();
            bad[i] = flip(&bad[i], bit);
            assert!(verify_consistency(first, second, &r1, &r2, &bad).is_err(), "{first} to {second}, hash {i}");
        }
        assert!(verify_consistency(first, second, &flip(&r1, bit), &r2, &proof).is_err());
        assert!(verify_consistency(first, second, &r1, &flip(&r2, bit), &proof).is_err());
    }
    // A rolled-back or rewritten log: the old head of another size does not fit.
    if first > 1 {
        let older = tree_head(store, first - 1).expect("in memory");
        assert!(verify_consistency(first, second, &older, &r2, &proof).is_err());
    }
    if !proof.is_empty() {
        assert!(verify_consistency(first, second, &r1, &r2, &proof[1..]).is_err());
        assert!(verify_consistency(first, second, &r1, &r2, &[proof.clone(), vec![Hash::default()]].concat()).is_err());
    }
}

#[test]
fn log_3_every_inclusion_proof_verifies_and_every_flipped_bit_fails_in_small_trees() {
    let store = store_of(EXHAUSTIVE);
    for size in 1..=EXHAUSTIVE {
        for index in 0..size {
            check_inclusion(&store, index, size, size <= 16);
        }
    }
}

#[test]
fn log_3_every_consistency_proof_verifies_and_every_flipped_bit_fails_in_small_trees() {
    let store = store_of(EXHAUSTIVE);
    for second in 0..=EXHAUSTIVE {
        for first in 0..=second {
            check_consistency(&store, first, second, second <= 16);
        }
    }
}

#[test]
fn log_3_proofs_verify_at_random_positions_in_larger_trees() {
    let store = store_of(20_000);
    let mut rng = Rng(0x6b75_7261_4c4f_4733);
    for _ in 0..400 {
        let size = 1 + rng.below(20_000);
        check_inclusion(&store, rng.below(size), size, false);
        let first = rng.below(size + 1);
        check_consistency(&store, first, size, false);
    }
}

#[test]
fn log_3_proof_requests_outside_the_tree_are_refused() {
    let store = store_of(10);
    assert!(inclusion_proof(&store, 10, 10).is_err());
    assert!(inclusion_proof(&store, 0, 0).is_err());
    assert!(consistency_proof(&store, 5, 4).is_err());
    let root = tree_head(&store, 10).expect("in memory");
    assert_eq!(verify_consistency(5, 4, &root, &root, &[]), Err(VerifyError::OutOfRange));
    // A tree larger than the log: the store says which hash it lacks, nothing panics.
    assert!(matches!(inclusion_proof(&store, 3, 11), Err(ProofError::Store(MissingNode(_)))));
    assert!(matches!(consistency_proof(&store, 3, 12), Err(ProofError::Store(MissingNode(_)))));
    assert!(tree_head(&store, 11).is_err());
}

#[test]
fn log_3_a_full_log_refuses_another_append() {
    let roots = vec![Hash::default(); 64];
    let mut full = CompactRange::from_parts(u64::MAX, roots).expect("64 roots for 64 set bits");
    assert_eq!(full.try_append(Hash::default(), |_, _| {}), Err(CompactRangeError::Full));
    assert_eq!(full.size(), u64::MAX);
}

#[test]
fn log_3_appending_whole_subtrees_gives_the_same_tree_as_appending_leaves() {
    let leaves: Vec<Hash> = (0..300u64).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    for level in 0..6u8 {
        let width = 1usize << level;
        for n in [0, 1, width, 2 * width + 1, 100, 300] {
            let n = n.min(leaves.len());
            let mut sequential = CompactRange::new();
            let mut seq_nodes = Vec::new();
            for l in &leaves[..n] {
                sequential.append(*l, |node, h| seq_nodes.push((node, *h)));
            }
            // Whole chunks hashed on their own (as another thread would), then the rest leaf by leaf.
            let mut chunked = CompactRange::new();
            let mut chunk_nodes = Vec::new();
            let full = n / width * width;
            for (c, chunk) in leaves[..full].chunks(width).enumerate() {
                let mut sub = CompactRange::new();
                for l in chunk {
                    sub.append(*l, |node, h| {
                        // Shift the chunk's nodes to their place in the whole tree.
                        let offset = (c as u64 * width as u64) >> node.level;
                        if node.level < level {
                            chunk_nodes
                                .push((super::super::Node { level: node.level, index: node.index + offset }, *h));
                        }
                    });
                }
                chunked.append_subtree(level, sub.root(), |node, h| chunk_nodes.push((node, *h))).expect("aligned");
            }
            for l in &leaves[full..n] {
                chunked.append(*l, |node, h| chunk_nodes.push((node, *h)));
            }
            assert_eq!(chunked, sequential, "level {level}, {n} leaves");
            seq_nodes.sort_by_key(|(n, _)| (n.level, n.index));
            chunk_nodes.sort_by_key(|(n, _)| (n.level, n.index));
            assert_eq!(chunk_nodes, seq_nodes, "the same subtrees are reported for storage");
        }
    }
}

#[test]
fn log_3_a_misaligned_subtree_is_refused() {
    let mut range = CompactRange::new();
    range.append(leaf_hash(b"0"), |_, _| {});
    let before = range.clone();
    assert_eq!(
        range.append_subtree(1, Hash::default(), |_, _| {}),
        Err(CompactRangeError::Misaligned { size: 1, level: 1 })
    );
    assert_eq!(range, before, "nothing changed");
    assert_eq!(range.append_subtree(64, Hash::default(), |_, _| {}), Err(CompactRangeError::Full));
}
