//! The writer's last batches into one collection, remembered so that a snapshot a reader kept
//! at the start of any of them catches up with all of them at the next batch.

use kura_domain::{Record, RecordId};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// The most batches, and records in them, the cache remembers per collection (see [`Recent`]).
pub(super) const RECENT_BATCHES: usize = 16;
pub(super) const RECENT_RECORDS: usize = 4096;

/// The writer's last batches into one collection, back to back: batch `i` took every change
/// number from `batches[i].before` (exclusive) to `batches[i].after`, and wrote `records`.
#[derive(Debug, Default)]
pub(super) struct Recent {
    pub(super) batches: VecDeque<Batch>,
    pub(super) records: usize,
}

#[derive(Debug)]
pub(super) struct Batch {
    pub(super) before: i64,
    pub(super) after: i64,
    pub(super) records: Vec<Arc<Record>>,
}

impl Recent {
    /// Appends a batch; one that does not start where the last ended means numbers this
    /// process did not see (another node, a write through the slot, a delete) went in between,
    /// so the earlier batches no longer lead up to it and are dropped.
    pub(super) fn push(&mut self, batch: Batch) {
        if self.batches.back().is_some_and(|b| b.after != batch.before) {
            self.batches.clear();
            self.records = 0;
        }
        self.records += batch.records.len();
        self.batches.push_back(batch);
        while self.batches.len() > RECENT_BATCHES || (self.records > RECENT_RECORDS && self.batches.len() > 1) {
            if let Some(dropped) = self.batches.pop_front() {
                self.records -= dropped.records.len();
            }
        }
    }

    /// What changed after `since`, if `since` is where one of the batches starts: each record
    /// once, as the last batch that wrote it left it.
    pub(super) fn since(&self, since: i64) -> Option<Vec<Arc<Record>>> {
        let first = self.batches.iter().position(|b| b.before == since)?;
        let mut batches = self.batches.range(first..);
        if self.batches.len() - first == 1 {
            return batches.next().map(|b| b.records.clone());
        }
        let mut changed: Vec<Arc<Record>> = Vec::new();
        let mut at: HashMap<RecordId, usize> = HashMap::new();
        for r in batches.flat_map(|b| &b.records) {
            match at.get(&r.id) {
                Some(&i) => changed[i] = Arc::clone(r),
                None => {
                    at.insert(r.id, changed.len());
                    changed.push(Arc::clone(r));
                }
            }
        }
        Some(changed)
    }
}
