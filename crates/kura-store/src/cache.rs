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
//! writes as data took every change number in between ([`RecordCache::advance`]).
//!
//! The cache holds decrypted values in memory only; it is bounded by a total number of records and
//! evicts the least recently used collections first.

use kura_domain::{Collection, CollectionId, ListQuery, Page, Record, RecordId, RecordIndex, TenantId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// An immutable view of a collection's records in creation (id) order, shared by concurrent
/// readers.
#[derive(Debug, Default)]
pub struct RecordSnapshot {
    records: Vec<Arc<Record>>,
    /// Filter and sort indexes over `records`, built by the first list that needs each field.
    /// The records never change, so the indexes never go stale; a new snapshot starts without.
    index: RecordIndex,
}

impl RecordSnapshot {
    pub fn len(&self) -> usize {
        self.records.len()
    }
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = &Record> {
        self.records.iter().map(|r| &**r)
    }
    /// The record with this id, if the snapshot holds it (the records are in id order).
    pub fn get(&self, id: RecordId) -> Option<&Record> {
        self.records.binary_search_by_key(&id, |r| r.id).ok().map(|i| &*self.records[i])
    }
    /// One page of `query` over these records, using (and extending) the snapshot's indexes:
    /// the same page as [`ListQuery::apply`], usually much faster.
    pub fn list(&self, c: &Collection, query: &ListQuery, pii_visible: bool) -> Page<&Record> {
        query.apply_indexed(c, &self.records, &self.index, pii_visible)
    }
    /// Copies the records out, in creation order.
    pub fn to_vec(&self) -> Vec<Record> {
        self.iter().cloned().collect()
    }

    pub(crate) fn from_records(records: Vec<Record>) -> Self {
        let mut records: Vec<Arc<Record>> = records.into_iter().map(Arc::new).collect();
        records.sort_by_key(|r| r.id);
        Self { records, index: RecordIndex::default() }
    }

    /// A new snapshot with `changed` records inserted or replaced. Sharing the unchanged records
    /// makes this a copy of pointers, not of data.
    pub(crate) fn merged(&self, changed: Vec<Record>) -> Self {
        let mut records = self.records.clone();
        let known = records.len();
        for mut r in changed {
            // Written records (validated, then kept here) may hold spare room; decoded ones do not.
            r.data.shrink_to_fit();
            // Only the records known before the merge are in order, so only they are searched:
            // `changed` holds each record once.
            match records[..known].binary_search_by_key(&r.id, |k| k.id) {
                Ok(i) => records[i] = Arc::new(r),
                Err(_) => records.push(Arc::new(r)),
            }
        }
        if records.len() > known {
            // New records usually come after all others (ids grow with time): a sort of two runs.
            records.sort_by_key(|r| r.id);
        }
        Self { records, index: RecordIndex::default() }
    }
}

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
    /// `writer.rs`). Done only if the merge costs less than the reads it is likely to save (see
    /// [`MERGED_PER_READ`]): one per write (its writer tends to read again), and as many as
    /// the snapshot answered since it was kept. The snapshot's patience is kept.
    pub(crate) fn advance(
        &self,
        key: (TenantId, CollectionId),
        before: i64,
        after: i64,
        changed: Vec<Record>,
        writes: usize,
    ) {
        let base = match self.lock().kept.get(&key) {
            Some(e)
                if e.change_seq == before
                    && e.snapshot.len() as u64 <= (writes as u64 + e.served) * MERGED_PER_READ =>
            {
                Arc::clone(&e.snapshot)
            }
            _ => return,
        };
        let snapshot = Arc::new(base.merged(changed));
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
            }
        }
    }

    /// Forgets a collection (deleted, or its tenant gone).
    pub(crate) fn forget(&self, key: (TenantId, CollectionId)) {
        let mut entries = self.lock();
        entries.kept.remove(&key);
        entries.passed_absent.remove(&key);
    }
}
