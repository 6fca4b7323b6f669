//! Known answers. The leaves, node hashes, tree heads and proofs below are the RFC 6962 test
//! vectors that Certificate Transparency implementations share, as published in
//! github.com/transparency-dev/merkle: `testonly/constants.go` (LeafInputs, NodeHashes,
//! RootHashes, CompactTrees) and `proof/verify_test.go` (inclusionProofs, consistencyProofs).
//! There, leaf numbers in proof vectors count from 1; here indexes count from 0.

use super::super::{
    CompactRange, EMPTY_ROOT, Hash, MemoryStore, Node, VerifyError, consistency_proof, inclusion_proof, leaf_hash,
    tree_head, verify_consistency, verify_inclusion,
};
use super::{flip, hx};

const LEAVES: [&[u8]; 8] = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
];

/// Tree heads for sizes 0 to 8.
const ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// Perfect subtree hashes of the 8-leaf tree, by level.
const NODES: [&[&str]; 4] = [
    &[
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    &[
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    &[
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    &["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
];

/// (leaf index, tree size, proof).
const INCLUSION: [(u64, u64, &[&str]); 5] = [
    (0, 1, &[]),
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// (first size, second size, proof).
const CONSISTENCY: [(u64, u64, &[&str]); 5] = [
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

fn vector_store() -> MemoryStore {
    let mut s = MemoryStore::new();
    for l in LEAVES {
        s.append(leaf_hash(l));
    }
    s
}

fn proof(hex: &[&str]) -> Vec<Hash> {
    hex.iter().map(|h| hx(h)).collect()
}

#[test]
fn log_3_tree_heads_match_the_rfc_6962_vectors_after_every_append() {
    let mut range = CompactRange::new();
    assert_eq!(range.root(), hx(ROOTS[0]));
    assert_eq!(EMPTY_ROOT, hx(ROOTS[0]));
    for (n, leaf) in LEAVES.iter().enumerate() {
        range.append(leaf_hash(leaf), |_, _| {});
        assert_eq!(range.root(), hx(ROOTS[n + 1]), "tree head at size {}", n + 1);
    }
}

#[test]
fn log_3_completed_subtrees_and_frontiers_match_the_vectors() {
    // Every perfect subtree the appender reports is the published node hash.
    let mut range = CompactRange::new();
    let mut seen = 0;
    for (n, leaf) in LEAVES.iter().enumerate() {
        range.append(leaf_hash(leaf), |node, hash| {
            assert_eq!(*hash, hx(NODES[usize::from(node.level)][node.index as usize]), "{node:?}");
            seen += 1;
        });
        // The frontier after each append is CompactTrees()[n + 1] of the published vectors.
        for (node, hash) in range.nodes() {
            assert_eq!(*hash, hx(NODES[usize::from(node.level)][node.index as usize]), "size {}: {node:?}", n + 1);
        }
    }
    assert_eq!(seen, 8 + 4 + 2 + 1);
    let frontier: Vec<Node> = range.nodes().map(|(n, _)| n).collect();
    assert_eq!(frontier, [Node { level: 3, index: 0 }]);
}

#[test]
fn log_3_tree_heads_read_from_the_store_match_the_vectors_for_every_older_size() {
    let store = vector_store();
    for (n, root) in ROOTS.iter().enumerate() {
        assert_eq!(tree_head(&store, n as u64).expect("in memory"), hx(root), "size {n}");
    }
}

#[test]
fn log_3_inclusion_proofs_match_the_published_vectors_and_verify() {
    let store = vector_store();
    for (index, size, expected) in INCLUSION {
        let got = inclusion_proof(&store, index, size).expect("in range");
        assert_eq!(got, proof(expected), "leaf {index} of {size}");
        let leaf = leaf_hash(LEAVES[index as usize]);
        let root = hx(ROOTS[size as usize]);
        assert_eq!(verify_inclusion(index, size, &leaf, &got, &root), Ok(()));
        // The probes of the published verifier tests: each must be refused.
        let mut probes: Vec<(u64, u64, Hash, Hash, Vec<Hash>)> = vec![
            (index.wrapping_sub(1), size, leaf, root, got.clone()),
            (index + 1, size, leaf, root, got.clone()),
            (index ^ 2, size, leaf, root, got.clone()),
            (index, size * 2, leaf, root, got.clone()),
            (index, size / 2, leaf, root, got.clone()),
            (index, size, leaf_hash(b"WrongLeaf"), root, got.clone()),
            (index, size, leaf, EMPTY_ROOT, got.clone()),
            (index, size, leaf, hx("abacaba000000000000000000000000000000000000000000060061e00123456"), got.clone()),
            (index, size, leaf, root, [got.clone(), vec![root]].concat()),
            (index, size, leaf, root, [vec![root], got.clone()].concat()),
            (index, size, leaf, root, [vec![Hash::default()], got.clone()].concat()),
        ];
        if !got.is_empty() {
            probes.push((index, size, leaf, root, got[..got.len() - 1].to_vec()));
        }
        for i in 0..got.len() {
            let mut bad = got.clone();
            bad[i] = flip(&bad[i], 3);
            probes.push((index, size, leaf, root, bad));
        }
        for (n, (i, s, l, r, p)) in probes.into_iter().enumerate() {
            if (i, s, l, r, &p) == (index, size, leaf, root, &got) {
                continue;
            }
            assert!(verify_inclusion(i, s, &l, &p, &r).is_err(), "probe {n} for leaf {index} of {size} verified");
        }
    }
}

#[test]
fn log_3_consistency_proofs_match_the_published_vectors_and_verify() {
    let store = vector_store();
    for (first, second, expected) in CONSISTENCY {
        let got = consistency_proof(&store, first, second).expect("in order");
        assert_eq!(got, proof(expected), "{first} to {second}");
        let (r1, r2) = (hx(ROOTS[first as usize]), hx(ROOTS[second as usize]));
        assert_eq!(verify_consistency(first, second, &r1, &r2, &got), Ok(()));
        if got.is_empty() {
            continue;
        }
        let mut probes: Vec<(u64, u64, Hash, Hash, Vec<Hash>)> = vec![
            (first - 1, second, r1, r2, got.clone()),
            (first + 1, second, r1, r2, got.clone()),
            (first ^ 2, second, r1, r2, got.clone()),
            (first, second * 2, r1, r2, got.clone()),
            (first, second / 2, r1, r2, got.clone()),
            (first, second, leaf_hash(b"WrongRoot"), r2, got.clone()),
            (first, second, r1, leaf_hash(b"WrongRoot"), got.clone()),
            (first, second, r2, r1, got.clone()),
            (first, second, r1, r2, Vec::new()),
            (first, second, r1, r2, [got.clone(), vec![r1]].concat()),
            (first, second, r1, r2, [got.clone(), vec![r2]].concat()),
            (first, second, r1, r2, [vec![r1], got.clone()].concat()),
            (first, second, r1, r2, [vec![r2], got.clone()].concat()),
            (first, second, r1, r2, [vec![got[0]], got.clone()].concat()),
            (first, second, r1, r2, got[..got.len() - 1].to_vec()),
        ];
        for i in 0..got.len() {
            let mut bad = got.clone();
            bad[i] = flip(&bad[i], 4);
            probes.push((first, second, r1, r2, bad));
        }
        for (n, (f, s, a, b, p)) in probes.into_iter().enumerate() {
            assert!(verify_consistency(f, s, &a, &b, &p).is_err(), "probe {n} for {first} to {second} verified");
        }
    }
}

#[test]
fn log_3_trivial_consistency_cases_follow_the_published_rules() {
    let (a, b) = (leaf_hash(b"don't care 1"), leaf_hash(b"don't care 2"));
    // Any tree extends the empty tree; a tree extends itself only with the same head.
    assert_eq!(verify_consistency(0, 0, &a, &a, &[]), Ok(()));
    assert_eq!(verify_consistency(0, 1, &a, &b, &[]), Ok(()));
    assert_eq!(verify_consistency(1, 1, &b, &b, &[]), Ok(()));
    assert_eq!(verify_consistency(1, 1, &a, &b, &[]), Err(VerifyError::RootMismatch));
    // Time travel to the past.
    assert!(verify_consistency(1, 0, &a, &b, &[]).is_err());
    assert!(verify_consistency(2, 1, &a, &b, &[]).is_err());
    // A proof is needed to grow.
    assert!(verify_consistency(1, 2, &a, &b, &[]).is_err());
    // Trivial cases take no proof.
    assert!(verify_consistency(0, 0, &EMPTY_ROOT, &EMPTY_ROOT, &[EMPTY_ROOT]).is_err());
    assert!(verify_consistency(0, 1, &EMPTY_ROOT, &EMPTY_ROOT, &[EMPTY_ROOT]).is_err());
    assert!(verify_consistency(1, 1, &EMPTY_ROOT, &EMPTY_ROOT, &[EMPTY_ROOT]).is_err());
    // Leaves outside the tree have no proof.
    assert!(verify_inclusion(0, 0, &a, &[], &a).is_err());
    assert!(verify_inclusion(1, 1, &a, &[], &a).is_err());
    assert!(verify_inclusion(2, 1, &a, &[], &a).is_err());
    assert_eq!(verify_inclusion(0, 1, &a, &[], &a), Ok(()));
    assert!(verify_inclusion(0, 1, &a, &[], &b).is_err());
}

#[test]
fn log_3_the_stored_appender_state_has_a_fixed_byte_layout() {
    // The store keeps these bytes beside the chain head: their layout is a stored contract.
    // Size 3 of the vectors: the size big-endian, then NodeHashes[1][0] and NodeHashes[0][2].
    let mut range = CompactRange::new();
    for leaf in &LEAVES[..3] {
        range.append(leaf_hash(leaf), |_, _| {});
    }
    let expected: Vec<u8> = [&[0, 0, 0, 0, 0, 0, 0, 3][..], &hx(NODES[1][0]).0, &hx(NODES[0][2]).0].concat();
    assert_eq!(range.to_bytes(), expected);
    assert_eq!(CompactRange::from_bytes(&expected).map(|r| r.root()), Ok(hx(ROOTS[3])));
    assert_eq!(CompactRange::new().to_bytes(), [0; 8]);
}
