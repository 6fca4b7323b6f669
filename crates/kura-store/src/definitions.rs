//! Parsed collection definitions kept in memory, so that a request on a collection does not
//! read and parse its field definitions every time.
//!
//! Like the record snapshots (`cache/`), freshness comes from the database: a reader first
//! reads the collection's head (id, definition revision, change numbers) in one statement, and
//! uses a kept definition only if it was read at that same revision. Every change of a
//! definition increments the revision in the same transaction, so no node uses a definition older
//! than the last committed change it has seen the head of.

use kura_domain::{Collection, CollectionId, TenantId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// More definitions than any sensible deployment has; past it, the map is emptied rather than
/// grown (they are cheap to read again).
const MAX_DEFINITIONS: usize = 10_000;

/// Each collection's definition with the revision it was read at.
type Kept = HashMap<(TenantId, CollectionId), (i64, Arc<Collection>)>;

#[derive(Debug, Default)]
pub(crate) struct Definitions {
    kept: Mutex<Kept>,
}

impl Definitions {
    fn lock(&self) -> MutexGuard<'_, Kept> {
        // Entries are replaced whole, so a map poisoned by a panic elsewhere is still consistent.
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The definition kept for exactly this revision.
    pub(crate) fn get(&self, key: (TenantId, CollectionId), revision: i64) -> Option<Arc<Collection>> {
        self.lock().get(&key).filter(|(r, _)| *r == revision).map(|(_, c)| Arc::clone(c))
    }

    /// Keeps `collection` as read at `revision`, unless a later revision is already kept.
    pub(crate) fn put(&self, key: (TenantId, CollectionId), revision: i64, collection: Arc<Collection>) {
        let mut kept = self.lock();
        if kept.get(&key).is_some_and(|(r, _)| *r > revision) {
            return;
        }
        if kept.len() >= MAX_DEFINITIONS && !kept.contains_key(&key) {
            kept.clear();
        }
        kept.insert(key, (revision, collection));
    }
}
