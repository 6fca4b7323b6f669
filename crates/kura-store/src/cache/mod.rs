//! In-memory snapshots of collections' records, so that listing a page does not read and decode
//! every record of the collection from the database on each request.
//!
//! Freshness comes from the database, not from this process: every record write takes the
//! collection's next `change_seq` (and a delete also sets `delete_seq`) in the same transaction.
//! A read first fetches the collection's two numbers (one indexed row); if the snapshot is at
//! `change_seq` it is used as is, if it is at or past `delete_seq` only the records changed since
//! are fetched and merged, otherwise the collection is reloaded. So several nodes sharing one
//! PostgreSQL never serve a page older than the last committed write, and a node's own
//! acknowledged writes are always visible to its next read.
//!
//! A read of one record uses a fresh snapshot as is. Past a stale or missing one it reads the
//! record by id, until enough such reads have gone past it to pay for bringing it up to date
//! (see [`RecordCache::lookup_one`]): then that read refreshes the snapshot, and the reads after
//! it cost no statement of their own.
//!
//! The writer keeps snapshots fresh with its own writes: after a batch's `COMMIT`, a snapshot at
//! the number before the batch is merged with the records the batch wrote, when the batch's
//! writes as data took every change number in between ([`RecordCache::advance`]). The cache
//! also remembers the last few such batches of each collection, back to back, so that a
//! snapshot a reader brought to the end of one of them (while the writer committed the next)
//! catches up with all of them at the next batch instead of staying behind.
//!
//! The cache holds decrypted values in memory only; it is bounded by a total number of records and
//! evicts the least recently used collections first.

mod recent;
mod snapshot;

pub use snapshot::RecordSnapshot;

use kura_domain::{CollectionId, Record, TenantId};
use recent::{Batch, Recent};
use snapshot::shared;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug)]
struct Entry {
    change_seq: i64,
    snapshot: Arc<RecordSnapshot>,
    last_used: u64,
    /// Single-record reads that went to the database because this snapshot was stale.
    passed: u64,
    /// Reads this snapshot answered as it was.
    served: u64,
    /// How many times a refresh's cost the reads that pass this snapshot must add up to before
    /// one of them refreshes it (see [`RecordCache::lookup_one`]).
    patience: u64,
}

/// What a reader should do to bring a collection's snapshot up to date.
pub(crate) enum Freshness {
    Fresh(Arc<RecordSnapshot>),
    /// Fetch the records changed after `since` and merge them into `base`.
    Stale {
        base: Arc<RecordSnapshot>,
        since: i64,
    },
    Missing,
}

/// What a read of one record should do (see [`RecordCache::lookup_one`]).
pub(crate) enum ForOne {
    Fresh(Arc<RecordSnapshot>),
    /// Bring the snapshot up to date, then read the record from it.
    Refresh,
    /// Read the record from the database.
    Read,
}

/// A read by id costs about as much as merging this many records' pointers into a new snapshot.
const MERGED_PER_READ: u64 = 1024;
/// A read by id costs about as much as reading and decoding this many records of a whole
/// collection.
const LOADED_PER_READ: u64 = 16;

/// The most [`Entry::patience`] grows to.
const MAX_PATIENCE: u64 = 64;

/// How many refresh locks collections share (see [`RecordCache::refreshing`]).
const REFRESH_STRIPES: usize = 64;

/// Collections without a snapshot whose single reads are counted (see `passed_absent`); past
/// this the counts start again, which only delays a load.
const ABSENT_COUNTED: usize = 4096;

/// What the cache did, for tests and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Reads (lists and single records) answered from a snapshot as it was.
    pub fresh: u64,
    /// Snapshots brought up to date by merging the records changed since.
    pub merged: u64,
    /// Snapshots read whole from the database.
    pub loaded: u64,
    /// Snapshots brought up to date by the writer with the records its batch wrote.
    pub advanced: u64,
    /// Single-record reads that went to the database past a stale or missing snapshot.
    pub passed: u64,
}

#[derive(Debug, Default)]
struct Counters {
    fresh: AtomicU64,
    merged: AtomicU64,
    loaded: AtomicU64,
    advanced: AtomicU64,
    passed: AtomicU64,
}

#[derive(Debug, Default)]
struct Entries {
    kept: HashMap<(TenantId, CollectionId), Entry>,
    /// Single reads past collections that have no snapshot at all.
    passed_absent: HashMap<(TenantId, CollectionId), u64>,
    /// The writer's last batches into the collections with a snapshot.
    recent: HashMap<(TenantId, CollectionId), Recent>,
}

#[derive(Debug)]
pub(crate) struct RecordCache {
    entries: Mutex<Entries>,
    max_records: usize,
    tick: AtomicU64,
    /// Held while a collection's snapshot is brought up to date, striped by collection.
    refresh: Vec<tokio::sync::Mutex<()>>,
    counters: Counters,
}

impl RecordCache {
    pub(crate) fn new(max_records: usize) -> Self {
        Self {
            entries: Mutex::new(Entries::default()),
            max_records,
            tick: AtomicU64::new(0),
            refresh: (0..REFRESH_STRIPES).map(|_| tokio::sync::Mutex::new(())).collect(),
            counters: Counters::default(),
        }
    }

    pub(crate) fn stats(&self) -> CacheStats {
        let c = &self.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CacheStats {
            fresh: load(&c.fresh),
            merged: load(&c.merged),
            loaded: load(&c.loaded),
            advanced: load(&c.advanced),
            passed: load(&c.passed),
        }
    }

    /// Counts a snapshot brought up to date: `merged` or read whole.
    pub(crate) fn refreshed(&self, merged: bool) {
        let counter = if merged { &self.counters.merged } else { &self.counters.loaded };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a single read that went to the database.
    pub(crate) fn passed(&self) {
        self.counters.passed.fetch_add(1, Ordering::Relaxed);
    }

    /// One refresh of a collection's snapshot at a time: readers that find it stale together
    /// wait for the first one's refresh and then use its result (they look again once they hold
    /// this), instead of each fetching and merging the same changes. Collections share
    /// [`REFRESH_STRIPES`] locks, so two may occasionally wait for each other.
    pub(crate) async fn refreshing(&self, key: (TenantId, CollectionId)) -> tokio::sync::MutexGuard<'_, ()> {
        self.stripe(key).lock().await
    }

    /// [`RecordCache::refreshing`] if no refresh of the stripe is under way.
    pub(crate) fn try_refreshing(&self, key: (TenantId, CollectionId)) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        self.stripe(key).try_lock().ok()
    }

    fn stripe(&self, key: (TenantId, CollectionId)) -> &tokio::sync::Mutex<()> {
        use std::hash::{BuildHasher, RandomState};
        static STRIPES: std::sync::OnceLock<RandomState> = std::sync::OnceLock::new();
        let stripe = STRIPES.get_or_init(RandomState::new).hash_one(key) as usize % self.refresh.len();
        &self.refresh[stripe]
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // A panic while holding the lock cannot leave an entry half-written (entries are replaced
        // whole), so a poisoned map is still consistent.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn lookup(&self, key: (TenantId, CollectionId), change_seq: i64, delete_seq: i64) -> Freshness {
        let tick = self.tick.fetch_add(1, Ordering::Relaxed);
        let mut entries = self.lock();
        let Some(entry) = entries.kept.get_mut(&key) else { return Freshness::Missing };
        entry.last_used = tick;
        if entry.change_seq >= change_seq {
            // At least as fresh as the numbers just read (another reader may have refreshed it).
            self.counters.fresh.fetch_add(1, Ordering::Relaxed);
            entry.served += 1;
            Freshness::Fresh(entry.snapshot.clone())
        } else if entry.change_seq >= delete_seq {
            Freshness::Stale { base: entry.snapshot.clone(), since: entry.change_seq }
        } else {
            Freshness::Missing
        }
    }

    /// [`RecordCache::lookup`] for a read of one record, which needs no refresh to be answered:
    /// reading the record by id costs one statement, a refresh costs one statement and work in
    /// proportion to the collection's size. So a read refreshes only once the reads that went
    /// past the snapshot since it was kept add up to about the refresh's cost, which bounds the
    /// refreshes' share of the work however often the collection changes. A collection without a
    /// snapshot counts its change number as its size (it has at most that many records), and
    /// one that cannot be kept is never loaded for a single read. When a snapshot went stale
    /// before it answered a single read, the next one waits twice as long (up to
    /// [`MAX_PATIENCE`] times), so that a collection that changes between any two reads is
    /// seldom refreshed for them.
    pub(crate) fn lookup_one(&self, key: (TenantId, CollectionId), change_seq: i64, delete_seq: i64) -> ForOne {
        if self.max_records == 0 {
            return ForOne::Read;
        }
        let tick = self.tick.fetch_add(1, Ordering::Relaxed);
        let mut guard = self.lock();
        let entries = &mut *guard;
        let (passed, cost) = match entries.kept.get_mut(&key) {
            Some(entry) => {
                entry.last_used = tick;
                if entry.change_seq >= change_seq {
                    self.counters.fresh.fetch_add(1, Ordering::Relaxed);
                    entry.served += 1;
                    return ForOne::Fresh(entry.snapshot.clone());
                }
                let per_read = if entry.change_seq >= delete_seq { MERGED_PER_READ } else { LOADED_PER_READ };
                entry.passed += 1;
                (entry.passed, entry.snapshot.len() as u64 / per_read * entry.patience)
            }
            None => {
                let most = u64::try_from(change_seq).unwrap_or(0);
                if most > self.max_records as u64 {
                    return ForOne::Read;
                }
                if entries.passed_absent.len() >= ABSENT_COUNTED && !entries.passed_absent.contains_key(&key) {
                    entries.passed_absent.clear();
                }
                let passed = entries.passed_absent.entry(key).or_default();
                *passed += 1;
                (*passed, most / LOADED_PER_READ)
            }
        };
        if passed > cost { ForOne::Refresh } else { ForOne::Read }
    }

    /// Keeps `snapshot` as the state at `change_seq`, unless a newer one is already kept.
    pub(crate) fn store(&self, key: (TenantId, CollectionId), change_seq: i64, snapshot: Arc<RecordSnapshot>) {
        self.keep(key, change_seq, snapshot, |e| match e {
            Some(e) if e.served == 0 => (e.patience * 2).min(MAX_PATIENCE),
            _ => 1,
        });
    }

    /// Brings the snapshot kept at `before` to `after` by merging `changed`: the records written
    /// by the `writes` that took every change number in between, in one committed batch (see
    /// `writer/`). A snapshot kept at the start of an earlier batch remembered in [`Recent`]
    /// is brought to `after` with those batches' records too. Done only if the merge costs
    /// less than the reads it is likely to save (see [`MERGED_PER_READ`]): one per write (its
    /// writer tends to read again), and as many as the snapshot answered since it was kept.
    /// The snapshot's patience is kept.
    pub(crate) fn advance(
        &self,
        key: (TenantId, CollectionId),
        before: i64,
        after: i64,
        changed: Vec<Record>,
        writes: usize,
    ) {
        let records = changed.into_iter().map(shared).collect();
        let (base, changed) = {
            let mut guard = self.lock();
            let entries = &mut *guard;
            let Some(e) = entries.kept.get(&key) else {
                entries.recent.remove(&key);
                return;
            };
            let recent = entries.recent.entry(key).or_default();
            recent.push(Batch { before, after, records });
            if e.change_seq >= after || e.snapshot.len() as u64 > (writes as u64 + e.served) * MERGED_PER_READ {
                return;
            }
            let Some(changed) = recent.since(e.change_seq) else { return };
            (Arc::clone(&e.snapshot), changed)
        };
        let snapshot = Arc::new(base.merged_shared(changed));
        self.counters.advanced.fetch_add(1, Ordering::Relaxed);
        self.keep(key, after, snapshot, |e| e.map_or(1, |e| e.patience));
    }

    fn keep(
        &self,
        key: (TenantId, CollectionId),
        change_seq: i64,
        snapshot: Arc<RecordSnapshot>,
        patience: impl FnOnce(Option<&Entry>) -> u64,
    ) {
        if self.max_records == 0 || snapshot.len() > self.max_records {
            return;
        }
        let tick = self.tick.fetch_add(1, Ordering::Relaxed);
        let mut guard = self.lock();
        let entries = &mut *guard;
        let patience = match entries.kept.get(&key) {
            Some(e) if e.change_seq > change_seq => return,
            e => patience(e),
        };
        entries.passed_absent.remove(&key);
        let kept = &mut entries.kept;
        kept.insert(key, Entry { change_seq, snapshot, last_used: tick, passed: 0, served: 0, patience });
        let mut total: usize = kept.values().map(|e| e.snapshot.len()).sum();
        while total > self.max_records {
            let Some((&oldest, _)) = kept.iter().filter(|(k, _)| **k != key).min_by_key(|(_, e)| e.last_used) else {
                break;
            };
            if let Some(e) = kept.remove(&oldest) {
                total -= e.snapshot.len();
                entries.recent.remove(&oldest);
            }
        }
    }

    /// Forgets a collection (deleted, or its tenant gone).
    pub(crate) fn forget(&self, key: (TenantId, CollectionId)) {
        let mut entries = self.lock();
        entries.kept.remove(&key);
        entries.passed_absent.remove(&key);
        entries.recent.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::recent::RECENT_BATCHES;
    use super::*;
    use jiff::Timestamp;
    use kura_domain::RecordId;
    use kura_domain::{FieldValue, RecordData};
    use uuid::Uuid;

    const KEY: (TenantId, CollectionId) =
        (TenantId::from_uuid(Uuid::from_u128(1)), CollectionId::from_uuid(Uuid::from_u128(2)));

    fn record(n: u128, version: i64) -> Record {
        let at: Timestamp = "2026-12-01T00:00:00Z".parse().unwrap();
        Record {
            id: RecordId::from_uuid(Uuid::from_u128(n)),
            tenant_id: KEY.0,
            collection_id: KEY.1,
            version,
            data: RecordData::from([("name".to_owned(), FieldValue::Text(format!("{n}v{version}")))]),
            created_at: at,
            updated_at: at,
        }
    }

    /// The versions of the kept snapshot's records, if it is at `change_seq`.
    fn fresh_at(cache: &RecordCache, change_seq: i64) -> Option<Vec<i64>> {
        match cache.lookup(KEY, change_seq, 0) {
            Freshness::Fresh(s) => Some(s.iter().map(|r| r.version).collect()),
            Freshness::Stale { .. } | Freshness::Missing => None,
        }
    }

    #[test]
    fn a_snapshot_a_reader_kept_between_batches_catches_up_with_the_batches_after_it() {
        let cache = RecordCache::new(100);
        cache.store(KEY, 2, Arc::new(RecordSnapshot::from_records(vec![record(1, 1), record(2, 1)])));
        cache.advance(KEY, 2, 3, vec![record(1, 2)], 1);
        assert_eq!(fresh_at(&cache, 3), Some(vec![2, 1]), "the next batch advances it");

        // Numbers this process did not see (3 to 4), then two batches: the snapshot stays at 3.
        cache.advance(KEY, 4, 5, vec![record(1, 3)], 1);
        cache.advance(KEY, 5, 6, vec![record(1, 4), record(2, 2)], 2);
        assert_eq!(fresh_at(&cache, 4), None);
        // A reader refreshes it from the database to 5, as the writer commits 6 and then 7: the
        // batch to 7 brings it there with the one to 6, each record once, as last written.
        cache.store(KEY, 5, Arc::new(RecordSnapshot::from_records(vec![record(1, 3), record(2, 1)])));
        cache.advance(KEY, 6, 7, vec![record(2, 3)], 1);
        assert_eq!(fresh_at(&cache, 7), Some(vec![4, 3]));

        // A gap again: the remembered batches no longer lead up to the next one.
        cache.advance(KEY, 8, 9, vec![record(1, 5)], 1);
        assert_eq!(fresh_at(&cache, 8), None);
        cache.store(KEY, 7, Arc::new(RecordSnapshot::from_records(vec![record(1, 4), record(2, 3)])));
        cache.advance(KEY, 9, 10, vec![record(2, 4)], 1);
        assert_eq!(fresh_at(&cache, 8), None, "7 is not where a remembered batch starts");
    }

    #[test]
    fn the_cache_remembers_a_bounded_number_of_batches() {
        let cache = RecordCache::new(100);
        cache.store(KEY, 0, Arc::new(RecordSnapshot::from_records(vec![record(1, 1)])));
        for seq in 0..(RECENT_BATCHES as i64 + 4) {
            cache.advance(KEY, seq, seq + 1, vec![record(1, seq + 2)], 1);
        }
        let entries = cache.lock();
        let recent = &entries.recent[&KEY];
        assert_eq!((recent.batches.len(), recent.records), (RECENT_BATCHES, RECENT_BATCHES));
        drop(entries);
        cache.forget(KEY);
        assert!(cache.lock().recent.is_empty());
    }
}
