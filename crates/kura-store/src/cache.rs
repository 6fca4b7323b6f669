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
        let positions: HashMap<RecordId, usize> = records.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
        let mut appended = false;
        for r in changed {
            match positions.get(&r.id) {
                Some(&i) => records[i] = Arc::new(r),
                None => {
                    records.push(Arc::new(r));
                    appended = true;
                }
            }
        }
        if appended {
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

/// How many refresh locks collections share (see [`RecordCache::refreshing`]).
const REFRESH_STRIPES: usize = 64;

#[derive(Debug)]
pub(crate) struct RecordCache {
    entries: Mutex<HashMap<(TenantId, CollectionId), Entry>>,
    max_records: usize,
    tick: AtomicU64,
    /// Held while a collection's snapshot is brought up to date, striped by collection.
    refresh: Vec<tokio::sync::Mutex<()>>,
}

impl RecordCache {
    pub(crate) fn new(max_records: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            max_records,
            tick: AtomicU64::new(0),
            refresh: (0..REFRESH_STRIPES).map(|_| tokio::sync::Mutex::new(())).collect(),
        }
    }

    /// One refresh of a collection's snapshot at a time: readers that find it stale together
    /// wait for the first one's refresh and then use its result (they look again once they hold
    /// this), instead of each fetching and merging the same changes. Collections share
    /// [`REFRESH_STRIPES`] locks, so two may occasionally wait for each other.
    pub(crate) async fn refreshing(&self, key: (TenantId, CollectionId)) -> tokio::sync::MutexGuard<'_, ()> {
        use std::hash::{BuildHasher, RandomState};
        static STRIPES: std::sync::OnceLock<RandomState> = std::sync::OnceLock::new();
        let stripe = STRIPES.get_or_init(RandomState::new).hash_one(key) as usize % self.refresh.len();
        self.refresh[stripe].lock().await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(TenantId, CollectionId), Entry>> {
        // A panic while holding the lock cannot leave an entry half-written (entries are replaced
        // whole), so a poisoned map is still consistent.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn lookup(&self, key: (TenantId, CollectionId), change_seq: i64, delete_seq: i64) -> Freshness {
        let tick = self.tick.fetch_add(1, Ordering::Relaxed);
        let mut entries = self.lock();
        let Some(entry) = entries.get_mut(&key) else { return Freshness::Missing };
        entry.last_used = tick;
        if entry.change_seq >= change_seq {
            // At least as fresh as the numbers just read (another reader may have refreshed it).
            Freshness::Fresh(entry.snapshot.clone())
        } else if entry.change_seq >= delete_seq {
            Freshness::Stale { base: entry.snapshot.clone(), since: entry.change_seq }
        } else {
            Freshness::Missing
        }
    }

    /// Keeps `snapshot` as the state at `change_seq`, unless a newer one is already kept.
    pub(crate) fn store(&self, key: (TenantId, CollectionId), change_seq: i64, snapshot: Arc<RecordSnapshot>) {
        if self.max_records == 0 || snapshot.len() > self.max_records {
            return;
        }
        let tick = self.tick.fetch_add(1, Ordering::Relaxed);
        let mut entries = self.lock();
        if entries.get(&key).is_some_and(|e| e.change_seq > change_seq) {
            return;
        }
        entries.insert(key, Entry { change_seq, snapshot, last_used: tick });
        let mut total: usize = entries.values().map(|e| e.snapshot.len()).sum();
        while total > self.max_records {
            let Some((&oldest, _)) = entries.iter().filter(|(k, _)| **k != key).min_by_key(|(_, e)| e.last_used) else {
                break;
            };
            if let Some(e) = entries.remove(&oldest) {
                total -= e.snapshot.len();
            }
        }
    }

    /// Forgets a collection (deleted, or its tenant gone).
    pub(crate) fn forget(&self, key: (TenantId, CollectionId)) {
        self.lock().remove(&key);
    }
}
