//! What `records.export` guards (IAM-2): reading records in bulk. Until export endpoints exist,
//! a principal without it receives at most `limits.records_per_minute_without_export` records a
//! minute from record listings (by default one page at the largest page size, 500); a listing
//! that would pass that is refused with 403 and changes nothing. Single-record reads are not
//! counted. With `records.export` there is no cap.
//!
//! The count is kept per Kura node, in memory, for one minute from a principal's first listing:
//! behind a load balancer with N nodes a principal can read up to N times the cap. That bounds
//! the copying of a whole tenant by a viewer without a store round trip per list.

use jiff::{SignedDuration, Timestamp};
use kura_domain::TenantId;
use std::collections::HashMap;
use std::sync::Mutex;
use uuid::Uuid;

/// How long a principal's count lasts.
const WINDOW: SignedDuration = SignedDuration::from_secs(60);
/// Counts kept before expired ones are swept out.
const SWEEP_AT: usize = 4096;

/// Records read per principal in the current minute.
#[derive(Debug, Default)]
pub struct ReadBudget {
    windows: Mutex<HashMap<(TenantId, Uuid), Window>>,
}

#[derive(Clone, Copy, Debug)]
struct Window {
    started: Timestamp,
    records: u64,
}

impl ReadBudget {
    /// Counts `records` against the principal's minute if that stays within `cap`; otherwise
    /// counts nothing and returns false.
    pub fn take(&self, tenant: TenantId, principal: Uuid, records: u64, cap: u64, now: Timestamp) -> bool {
        let mut windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if windows.len() >= SWEEP_AT {
            windows.retain(|_, w| now < w.started.saturating_add(WINDOW).unwrap_or(w.started));
        }
        let w = windows.entry((tenant, principal)).or_insert(Window { started: now, records: 0 });
        if now >= w.started.saturating_add(WINDOW).unwrap_or(w.started) {
            *w = Window { started: now, records: 0 };
        }
        if w.records.saturating_add(records) > cap {
            return false;
        }
        w.records += records;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_2_budget_refuses_past_the_cap_and_renews_after_a_minute() {
        let budget = ReadBudget::default();
        let t = TenantId::from_uuid(Uuid::now_v7());
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let start: Timestamp = "2026-11-22T00:00:00Z".parse().unwrap();
        assert!(budget.take(t, a, 300, 500, start));
        assert!(!budget.take(t, a, 201, 500, start), "past the cap");
        assert!(budget.take(t, a, 200, 500, start), "a refusal counts nothing");
        assert!(!budget.take(t, a, 1, 500, start + SignedDuration::from_secs(59)));
        assert!(budget.take(t, b, 500, 500, start), "each principal has its own");
        assert!(budget.take(t, a, 500, 500, start + SignedDuration::from_secs(60)), "a new minute");
    }
}
