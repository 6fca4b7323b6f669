//! Measures how many 256-byte values one core seals and opens per second with Kura's
//! AES-256-GCM sealing (DAT-2), for docs/PERFORMANCE.md. Run it optimised:
//! `cargo run --release -p kura-crypto --example seal_rate`.

#![allow(clippy::print_stdout, reason = "a measuring tool prints its result")]

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{AeadInOut as _, KeyInit as _};
use kura_crypto::vault::{DataKey, KeyVersion, SealContext, open, seal};
use std::hint::black_box;
use std::time::Instant;

const VALUE_LEN: usize = 256;
const VALUES: usize = 20_000;
const ROUNDS: usize = 30;

fn ctx(row: &[u8; 16]) -> SealContext<'_> {
    SealContext { tenant: b"0123456789abcdef", table: "records", row, field: "name" }
}

fn main() {
    let key = DataKey::generate(KeyVersion::FIRST);
    let rows: Vec<[u8; 16]> = (0..VALUES as u128).map(|i| i.to_be_bytes()).collect();
    let value = [b'x'; VALUE_LEN];

    let mut best_seal = 0f64;
    let mut best_open = 0f64;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let sealed = rows.iter().map(|row| seal(&key, &ctx(row), &value)).collect::<Vec<_>>();
        best_seal = best_seal.max(VALUES as f64 / start.elapsed().as_secs_f64());

        let start = Instant::now();
        for (row, s) in rows.iter().zip(&sealed) {
            black_box(open(&key, &ctx(row), black_box(s)).map(|v| v.len()).unwrap_or(0));
        }
        best_open = best_open.max(VALUES as f64 / start.elapsed().as_secs_f64());
    }
    // The bare cipher on the same sizes, without Kura's format and context: the ceiling.
    let cipher = Aes256Gcm::new(&[7u8; 32].into());
    let nonce = [9u8; 12];
    let aad = [1u8; 80];
    let mut buf = Vec::with_capacity(VALUE_LEN + 16);
    buf.extend_from_slice(&value);
    let Ok(tag) = cipher.encrypt_inout_detached((&nonce).into(), &aad, buf.as_mut_slice().into()) else {
        return;
    };
    let ciphertext = buf.clone();
    let mut best_raw = 0f64;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        for _ in 0..VALUES {
            buf.copy_from_slice(&ciphertext);
            let ok = cipher.decrypt_inout_detached((&nonce).into(), &aad, buf.as_mut_slice().into(), &tag).is_ok();
            black_box(ok);
        }
        best_raw = best_raw.max(VALUES as f64 / start.elapsed().as_secs_f64());
    }

    println!("AES-256-GCM, {VALUE_LEN}-byte values, one thread, best of {ROUNDS} rounds of {VALUES}:");
    println!("  seal: {:>10.0} values/s ({:.2} M/s)", best_seal, best_seal / 1e6);
    println!("  open: {:>10.0} values/s ({:.2} M/s)", best_open, best_open / 1e6);
    println!("  bare cipher open, no allocation: {:>10.0} values/s ({:.2} M/s)", best_raw, best_raw / 1e6);
}
