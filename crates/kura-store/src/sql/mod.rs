//! Every SQL statement Kura runs, each written once as a `&'static str` and executed on either
//! engine through [`Exec`](crate::conn::Exec). Grouped by table; the read methods of
//! [`Store`](crate::Store) and the methods of [`Write`](crate::Write) call the same functions.
//!
//! Rows decode into private `FromRow` structs of portable types (UUID, i64, String, bool,
//! `Vec<u8>`) and convert to domain types here; anything that does not parse is
//! [`StoreError::Corrupt`].

pub(crate) mod access_log;
pub(crate) mod account;
pub(crate) mod api_keys;
pub(crate) mod audit;
pub(crate) mod audit_list;
pub(crate) mod audit_page;
pub(crate) mod backups;
pub(crate) mod break_glass;
pub(crate) mod client_certs;
pub(crate) mod collections;
pub(crate) mod departed;
pub(crate) mod erasure;
pub(crate) mod exports;
pub(crate) mod factors;
pub(crate) mod key_rotations;
pub(crate) mod lockout;
pub(crate) mod mail;
pub(crate) mod operators;
pub(crate) mod passkeys;
pub(crate) mod principals;
pub(crate) mod records;
pub(crate) mod refused_opens;
pub(crate) mod resealing;
pub(crate) mod roles;
pub(crate) mod security;
pub(crate) mod sessions;
pub(crate) mod signin;
pub(crate) mod tenants;
pub(crate) mod tokens;
pub(crate) mod users;
pub(crate) mod views;

use crate::error::StoreError;
use jiff::Timestamp;

use std::fmt::Display;

/// The most rows one of the writer's multi-row statements carries (`audit::insert_many`), and
/// the most updates one of its calls carries (`records::update_at_versions`).
pub(crate) const CHUNK: usize = 64;

/// Chunk sizes below this are used as they are; above it, only its multiples are.
const CHUNK_STEP: usize = 8;

/// How a batch of `n` rows is cut for the writer's multi-row calls: chunks of [`CHUNK`], then
/// at most two, a multiple of [`CHUNK_STEP`] and a remainder smaller than it. Each size is a
/// statement SQLite compiles and the connection keeps, so a size per `n` up to `CHUNK` would
/// keep about 2,000 compiled `UPDATE`s (megabytes) and overflow the connection's statement
/// cache; these cuts need at most 15 sizes, for one call more at most.
pub(crate) fn chunk_sizes(n: usize) -> impl Iterator<Item = usize> {
    let (full, rest) = (n / CHUNK, n % CHUNK);
    let (stepped, small) = (rest - rest % CHUNK_STEP, rest % CHUNK_STEP);
    std::iter::repeat_n(CHUNK, full).chain([stepped, small].into_iter().filter(|&k| k > 0))
}

/// `items` cut as [`chunk_sizes`] says.
pub(crate) fn chunks<T>(mut items: &[T]) -> impl Iterator<Item = &[T]> {
    chunk_sizes(items.len()).map(move |k| {
        let (chunk, rest) = items.split_at(k);
        items = rest;
        chunk
    })
}

/// Instants are stored as microseconds since the Unix epoch (portable, and sortable as integers).
pub(crate) fn micros(ts: Timestamp) -> i64 {
    ts.as_microsecond()
}

pub(crate) fn timestamp(us: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_microsecond(us).map_err(|e| corrupt("timestamp", e))
}

pub(crate) fn opt_timestamp(us: Option<i64>) -> Result<Option<Timestamp>, StoreError> {
    us.map(timestamp).transpose()
}

pub(crate) fn corrupt(what: &str, e: impl Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

/// A stored 32-byte hash or digest.
pub(crate) fn hash32(what: &str, bytes: &[u8]) -> Result<[u8; 32], StoreError> {
    <[u8; 32]>::try_from(bytes).map_err(|_| corrupt(what, format!("expected 32 bytes, found {}", bytes.len())))
}

/// Maps constraint violations of an insert or update: a unique violation is a
/// [`StoreError::Conflict`] with `unique` as its message; a foreign-key violation means a
/// referenced row (tenant, role, collection) does not exist, hence [`StoreError::NotFound`].
pub(crate) fn constraint(unique: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |err| match &err {
        sqlx::Error::Database(e) if e.is_unique_violation() => StoreError::Conflict(unique.to_owned()),
        sqlx::Error::Database(e) if e.is_foreign_key_violation() => StoreError::NotFound,
        _ => StoreError::Database(err),
    }
}

/// `Ok(())` if a statement touched a row, else [`StoreError::NotFound`].
pub(crate) fn found(rows_affected: u64) -> Result<(), StoreError> {
    if rows_affected == 0 { Err(StoreError::NotFound) } else { Ok(()) }
}

/// A `COUNT(*)` (BIGINT on both engines) as an unsigned number.
pub(crate) fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// A count as stored (the inverse of [`count`]), saturating.
pub(crate) fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The cheapest statement that proves the database answers.
pub(crate) async fn ping(e: &mut crate::conn::Exec<'_>) -> Result<(), StoreError> {
    const SQL: &str = "SELECT 1";
    crate::conn::run!(e, |c| sqlx::query(SQL).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{CHUNK, chunk_sizes, chunks};
    use std::collections::BTreeSet;

    #[test]
    fn batches_are_cut_into_few_sizes() {
        let mut sizes = BTreeSet::new();
        for n in 0..=3 * CHUNK + 5 {
            let cut: Vec<usize> = chunk_sizes(n).collect();
            assert_eq!(cut.iter().sum::<usize>(), n, "{n}: {cut:?}");
            assert!(cut.iter().all(|&k| (1..=CHUNK).contains(&k)), "{n}: {cut:?}");
            assert!(cut.iter().filter(|&&k| k < CHUNK).count() <= 2, "{n}: {cut:?}");
            sizes.extend(cut);
        }
        assert_eq!(sizes.len(), 15, "{sizes:?}");
        let items: Vec<usize> = (0..77).collect();
        let parts: Vec<&[usize]> = chunks(&items).collect();
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [64, 8, 5]);
        assert_eq!(parts.concat(), items);
    }
}
