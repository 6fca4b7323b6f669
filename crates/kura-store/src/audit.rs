//! Reading and verifying the audit chain (LOG-1). Appending happens in `Write::commit`.

use jiff::Timestamp;
use kura_crypto::merkle::Hash;
use kura_domain::{AuditScope, Operation, Outcome};

mod counts;
mod export;
mod forensics;
mod list;
pub(crate) mod tree;
mod verify;
pub use counts::QuarterCount;
pub use export::{ExportSlice, ExportedEntry};
pub use tree::TreeHead;

/// Which entries to list, newest first.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// Case-insensitive substring of the actor's label (email or key name).
    pub actor: Option<String>,
    pub operation: Option<Operation>,
    pub outcome: Option<Outcome>,
    /// The source address, exactly as recorded.
    pub source_ip: Option<String>,
    /// The target, exactly (`record:customers/…` lists one record's history).
    pub target: Option<String>,
    /// Only entries with a sequence number below this (for paging backwards).
    pub before_seq: Option<i64>,
    pub limit: u32,
}

/// The ways a log can have been tampered with, as verification names them (LOG-3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TamperKind {
    /// An entry's content differs from what was sealed.
    EditedEntry,
    /// An entry is gone (a gap, or later entries renumbered to close it).
    DeletedEntry,
    /// An entry was added that was never written by Kura.
    InsertedEntry,
    /// Two entries exchanged places.
    SwappedEntries,
    /// Entries at the end are gone while the head still counts them.
    TruncatedTail,
    /// A checkpoint in the sink does not carry a valid signature by the log's key.
    ForgedCheckpoint,
    /// The database is behind, or other than, a checkpoint signed earlier: restored from an
    /// older copy (perhaps written again since), or rewritten with fresh hashes.
    RolledBack,
    /// A stored subtree hash, which proofs are built from, is missing or differs from the
    /// entries: proofs served from it would not verify.
    AlteredTree,
}

impl TamperKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::EditedEntry => "edited entry",
            Self::DeletedEntry => "deleted entry",
            Self::InsertedEntry => "inserted entry",
            Self::SwappedEntries => "swapped entries",
            Self::TruncatedTail => "truncated tail",
            Self::ForgedCheckpoint => "forged checkpoint",
            Self::RolledBack => "database rolled back",
            Self::AlteredTree => "altered tree node",
        }
    }
}

/// Where and why a chain failed verification.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("audit chain {scope:?} broken at entry {seq} ({}): {reason}", kind.as_str())]
pub struct ChainBreak {
    pub scope: AuditScope,
    pub seq: i64,
    pub kind: TamperKind,
    pub reason: String,
}

/// The result of verifying one chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    pub scope: AuditScope,
    pub entries: u64,
    pub head_seq: i64,
    /// The Merkle tree head over every entry.
    pub root: Hash,
    /// How many checkpoints the tree was checked against.
    pub checkpoints: usize,
    /// The bytes of log hashed (the entries' canonical bytes).
    pub bytes: u64,
}

/// One chain's outcome in [`Store::verify_all`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainVerification {
    pub scope: AuditScope,
    pub result: Result<VerifyReport, ChainBreak>,
}
