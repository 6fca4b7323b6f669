//! Tests of the Merkle module: published vectors, exhaustive and random properties, checkpoints,
//! a cross-check against an independent implementation, and a throughput measurement.

mod checkpoints;
mod cross_check;
mod properties;
mod throughput;
mod tlog_proofs;
mod vectors;

use super::{Hash, MemoryStore, leaf_hash, node_hash};

/// Decodes hex written in a test; panics on a typo.
pub(super) fn hx(s: &str) -> Hash {
    let bytes: Vec<u8> = (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect();
    Hash(bytes.try_into().expect("32 bytes"))
}

/// A store over `n` leaves whose data is the leaf's index, big-endian.
pub(super) fn store_of(n: u64) -> MemoryStore {
    let mut s = MemoryStore::new();
    for i in 0..n {
        s.append(leaf_hash(&i.to_be_bytes()));
    }
    s
}

/// RFC 9162 §2.1.1's recursive definition, word for word: the reference the fast paths are
/// compared with.
pub(super) fn reference_mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => super::EMPTY_ROOT,
        1 => leaves[0],
        n => {
            // The largest power of two smaller than n.
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            node_hash(&reference_mth(&leaves[..k]), &reference_mth(&leaves[k..]))
        }
    }
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
pub(super) struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `h` with one bit flipped.
pub(super) fn flip(h: &Hash, bit: usize) -> Hash {
    let mut out = *h;
    out.0[bit / 8] ^= 1 << (bit % 8);
    out
}
