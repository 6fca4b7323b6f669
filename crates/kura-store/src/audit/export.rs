//! Reading a time range of an audit log for an export that verifies offline (LOG-1, LOG-3):
//! the entries as stored (the Merkle leaves' data) and opened (for people), and the compact
//! range of the leaves before them, read in one snapshot with the tree head, so the server can
//! add a checkpoint and a consistency proof.

use super::tree;
use crate::conn::Scope;
use crate::error::StoreError;
use crate::sql;
use crate::store::Store;
use jiff::Timestamp;
use kura_crypto::merkle::CompactRange;
use kura_domain::{AuditEntry, AuditScope};

/// One exported entry: its stored bytes, as the leaf hashes them, and the entry opened.
#[derive(Clone, Debug)]
pub struct ExportedEntry {
    pub stored: Vec<u8>,
    pub entry: AuditEntry,
}

/// Every entry from the first to the last dated in the range, without gaps, with the compact
/// range of the leaves before the first. Empty when no entry is dated in the range.
#[derive(Clone, Debug)]
pub struct ExportSlice {
    pub entries: Vec<ExportedEntry>,
    /// The tree over the leaves before the first exported entry.
    pub before: CompactRange,
    /// The log's size when the slice was read.
    pub tree_size: u64,
}

/// Entries read per round trip.
const EXPORT_PAGE: i64 = 1000;

impl Store {
    /// The entries of `scope`'s log dated in `[from, to)` for an export, or `Ok(Err(n))` when
    /// the range holds `n` entries, more than `max`. Entries between the first and the last of
    /// the range are all included, so the export has no gap even if the clock stepped back.
    pub async fn audit_export_slice(
        &self,
        scope: AuditScope,
        from: Timestamp,
        to: Timestamp,
        max: u64,
    ) -> Result<Result<ExportSlice, u64>, StoreError> {
        let sealer = self.audit_sealer(scope).await?;
        let mut tx = self.db.snapshot(Scope::audit(scope)).await?;
        let mut e = tx.exec();
        let tree_size = match sql::audit::head(&mut e, scope).await? {
            Some(h) => h
                .tree
                .map(|t| t.size())
                .ok_or_else(|| StoreError::Corrupt(format!("the audit tree of {scope:?} was never built")))?,
            None => 0,
        };
        let Some((first, last)) = sql::audit::seq_bounds(&mut e, scope, from, to).await? else {
            return Ok(Ok(ExportSlice { entries: Vec::new(), before: CompactRange::new(), tree_size }));
        };
        let count = u64::try_from(last - first + 1).unwrap_or(0);
        if count > max {
            return Ok(Err(count));
        }
        let before = tree::compact_range_at(&mut e, scope, u64::try_from(first - 1).unwrap_or(0)).await?;
        let mut entries = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
        let mut after = first - 1;
        while after < last {
            let rows = sql::audit::page(&mut e, scope, after, EXPORT_PAGE.min(last - after)).await?;
            if rows.is_empty() {
                return Err(StoreError::Corrupt(format!("the audit log of {scope:?} ends before entry {last}")));
            }
            for row in rows {
                if row.seq != after + 1 {
                    return Err(StoreError::Corrupt(format!("the audit log of {scope:?} lacks entry {}", after + 1)));
                }
                after = row.seq;
                let stored = row.stored_bytes();
                let mut entry = AuditEntry::try_from(row)?;
                if let Some(sealer) = &sealer {
                    sealer.open_audit(&mut entry)?;
                }
                entries.push(ExportedEntry { stored, entry });
            }
        }
        Ok(Ok(ExportSlice { entries, before, tree_size }))
    }
}
