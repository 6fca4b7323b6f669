//! Naming a break in a chain (LOG-3): given the first entry that does not follow the one
//! before, tell an edit from an insertion, a deletion that renumbered later entries, or a swap.
//! Each entry's hash covers its sequence number and names its predecessor's hash, so an entry
//! that was moved still shows where it was sealed; these look-ups run only once a chain is
//! already known to be broken.

use crate::conn::Exec;
use crate::error::StoreError;
use crate::sql;
use crate::sql::audit::AuditRow;
use kura_domain::{AuditEntry, AuditScope};

use super::TamperKind;

/// Whether `row` was sealed as entry `seq` onto `prev`.
fn sealed_as(row: &AuditRow, seq: i64, prev: &[u8; 32]) -> bool {
    let (row_prev, row_hash) = row.hashes();
    row_prev == prev.as_slice() && row_hash == AuditEntry::link_hash(prev, &row.stored_bytes_as(seq)).as_slice()
}

/// Names the break at `row`, which does not follow `prev` (the hash of the entry before it).
pub(super) async fn name_break(
    e: &mut Exec<'_>,
    scope: AuditScope,
    row: &AuditRow,
    prev: &[u8; 32],
) -> Result<(TamperKind, String), StoreError> {
    let seq = row.seq;
    let (row_prev, _) = row.hashes();
    let row_prev = <[u8; 32]>::try_from(row_prev).ok();
    // The original of this position sits elsewhere: it still names this position's predecessor
    // and was sealed with this position's number.
    for other in sql::audit::rows_after_hash(e, scope, prev, seq).await? {
        if !sealed_as(&other, seq, prev) {
            continue;
        }
        // This entry, in turn, was sealed at the other's position: the two exchanged places.
        if row_prev.is_some_and(|p| sealed_as(row, other.seq, &p)) {
            return Ok((
                TamperKind::SwappedEntries,
                format!("entries {seq} and {} were swapped: entry {} was sealed as entry {seq}", other.seq, other.seq),
            ));
        }
        // The original follows right after: this one was put in before it.
        if other.seq == seq + 1 {
            return Ok((
                TamperKind::InsertedEntry,
                format!("entry {seq} was inserted: the entry now numbered {} was sealed as entry {seq}", seq + 1),
            ));
        }
    }
    // This entry was sealed one place later: the original of this position was removed and
    // the later entries renumbered to close the gap.
    if row_prev.is_some_and(|p| sealed_as(row, seq + 1, &p)) {
        return Ok((
            TamperKind::DeletedEntry,
            format!("entry {seq} was deleted: the entry now numbered {seq} was sealed as entry {}", seq + 1),
        ));
    }
    Ok((TamperKind::EditedEntry, format!("entry {seq} was altered")))
}
