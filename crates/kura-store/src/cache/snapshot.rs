//! A collection's records as one immutable snapshot, shared by concurrent readers, with the
//! index that answers lists in sort order.

use kura_domain::{Collection, ListQuery, Page, Record, RecordId, RecordIndex};
use std::sync::Arc;

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
        self.merged_shared(changed.into_iter().map(shared).collect())
    }

    /// [`RecordSnapshot::merged`] with records already shared: `changed` holds each record once.
    pub(super) fn merged_shared(&self, changed: Vec<Arc<Record>>) -> Self {
        let mut records = self.records.clone();
        let known = records.len();
        for r in changed {
            // Only the records known before the merge are in order, so only they are searched:
            // `changed` holds each record once.
            match records[..known].binary_search_by_key(&r.id, |k| k.id) {
                Ok(i) => records[i] = r,
                Err(_) => records.push(r),
            }
        }
        if records.len() > known {
            // New records usually come after all others (ids grow with time): a sort of two runs.
            records.sort_by_key(|r| r.id);
        }
        Self { records, index: RecordIndex::default() }
    }
}

/// A record as a snapshot keeps it. Written records (validated, then kept here) may hold spare
/// room; decoded ones do not.
pub(super) fn shared(mut r: Record) -> Arc<Record> {
    r.data.shrink_to_fit();
    Arc::new(r)
}
