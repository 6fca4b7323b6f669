//! Verification throughput: how fast the log can be re-hashed compared with raw SHA-256 on this
//! machine. Ignored by default (it measures, it does not assert); run it in release:
//! `cargo test --release -p kura-crypto log_3_measure -- --ignored --nocapture`.

use super::super::{CompactRange, leaf_hash};
use sha2::{Digest, Sha256};
use std::hint::black_box;
use std::time::Instant;

#[allow(clippy::print_stdout, reason = "the measurement is the output")]
#[test]
#[ignore = "a measurement, not a check; run in release with --ignored --nocapture"]
fn log_3_measure_leaf_hashing_against_raw_sha256() {
    // Entries of a realistic size: the stored bytes of an audit entry are a few hundred bytes.
    for entry_len in [256usize, 512, 1024, 4096] {
        let total: usize = 512 << 20;
        let count = total / entry_len;
        let data: Vec<u8> = (0..entry_len).map(|i| i as u8).collect();

        let start = Instant::now();
        let mut h = Sha256::new();
        for _ in 0..count {
            h.update(&data);
        }
        black_box(h.finalize());
        let raw = total as f64 / start.elapsed().as_secs_f64() / 1e9;

        // The same, one digest per entry: the fair bound for hashing entries one by one.
        let start = Instant::now();
        let mut acc = [0u8; 32];
        for _ in 0..count {
            acc[0] ^= Sha256::digest(black_box(&data))[0];
        }
        black_box(acc);
        let per_entry = total as f64 / start.elapsed().as_secs_f64() / 1e9;

        let start = Instant::now();
        let mut acc = [0u8; 32];
        for _ in 0..count {
            acc[0] ^= leaf_hash(black_box(&data)).0[0];
        }
        black_box(acc);
        let leaves = total as f64 / start.elapsed().as_secs_f64() / 1e9;

        // What a full verification does: hash every leaf and rebuild the tree head.
        let start = Instant::now();
        let mut range = CompactRange::new();
        for _ in 0..count {
            range.append(leaf_hash(black_box(&data)), |_, _| {});
        }
        black_box(range.root());
        let tree = total as f64 / start.elapsed().as_secs_f64() / 1e9;

        // The same on every core: whole subtrees of 4096 entries hashed on their own threads,
        // then joined with `append_subtree`.
        const LEVEL: u8 = 12;
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let chunks = count >> LEVEL;
        let start = Instant::now();
        let roots: Vec<(usize, crate::merkle::Hash)> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|t| {
                    let data = &data;
                    scope.spawn(move || {
                        (t..chunks)
                            .step_by(threads)
                            .map(|c| {
                                let mut sub = CompactRange::new();
                                for _ in 0..1usize << LEVEL {
                                    sub.append(leaf_hash(black_box(data)), |_, _| {});
                                }
                                (c, sub.root())
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            let mut all: Vec<_> = workers.into_iter().flat_map(|w| w.join().expect("worker")).collect();
            all.sort_by_key(|(c, _)| *c);
            all
        });
        let mut joined = CompactRange::new();
        for (_, root) in roots {
            joined.append_subtree(LEVEL, root, |_, _| {}).expect("aligned");
        }
        for _ in (chunks << LEVEL)..count {
            joined.append(leaf_hash(black_box(&data)), |_, _| {});
        }
        let parallel = total as f64 / start.elapsed().as_secs_f64() / 1e9;
        assert_eq!(joined.root(), range.root(), "the parallel tree is the same tree");

        println!(
            "entries of {entry_len} B: raw SHA-256 {raw:.2} GB/s, SHA-256 per entry {per_entry:.2} GB/s, leaf hashes {leaves:.2} GB/s, leaves + tree head {tree:.2} GB/s, on {threads} threads {parallel:.2} GB/s ({count} entries)"
        );
    }
}
