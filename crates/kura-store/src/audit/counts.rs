//! Counting a chain's entries of some operations over time, for charts (LOG-1: the security
//! events of each day). Counted in SQL from the operations' index, by quarter of an hour, so
//! that the caller can place them in the days of any time zone (every zone's offset is a whole
//! number of quarters).

use crate::conn::Scope;
use crate::error::StoreError;
use crate::sql;
use crate::store::Store;
use jiff::Timestamp;
use kura_domain::{AuditScope, Operation};

/// How many entries of one operation a quarter of an hour holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuarterCount {
    pub operation: Operation,
    /// The quarter's start.
    pub start: Timestamp,
    pub count: u64,
}

impl Store {
    /// The entries of `scope`'s chain of `operations` dated in `[from, to)`, counted by
    /// operation and quarter of an hour (quarters without one are left out).
    pub async fn audit_quarter_counts(
        &self,
        scope: AuditScope,
        operations: &[Operation],
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<QuarterCount>, StoreError> {
        if operations.is_empty() || from >= to {
            return Ok(Vec::new());
        }
        let rows = sql::audit_list::quarter_counts(
            &mut self.db.read(Scope::audit(scope)).await?.exec(),
            scope,
            operations,
            from,
            to,
        )
        .await?;
        rows.into_iter()
            .filter_map(|(op, quarter, n)| Operation::parse(&op).map(|o| (o, quarter, n)))
            .map(|(operation, quarter, n)| {
                let start = sql::timestamp(quarter.saturating_mul(sql::audit_list::QUARTER_MICROS))?;
                Ok(QuarterCount { operation, start, count: sql::count(n) })
            })
            .collect()
    }
}
