//! The audit log's Merkle tree (LOG-3): RFC 6962 / RFC 9162 hashing, an incremental appender
//! whose state is O(log n) hashes, inclusion and consistency proofs, and checkpoints in the C2SP
//! `tlog-checkpoint` format signed as C2SP `signed-note`s with Ed25519, and inclusion proofs
//! packaged with their checkpoint in the C2SP `tlog-proof` format.
//!
//! A leaf is the stored bytes of one audit entry, whatever they are (plain or sealed under a
//! tenant key): hashing what is stored means a destroyed key never breaks verification. This
//! module does no IO; proofs read subtree hashes through the [`HashStore`] trait, which the
//! store implements over its tables and [`MemoryStore`] implements for tests.

mod checkpoint;
mod hash;
mod proof;
mod range;
mod store;
mod tlog_proof;

pub use checkpoint::{
    Checkpoint, CheckpointError, NoteSigner, NoteVerifier, SignedNoteError, key_id, open_note, sign_note,
};
pub use hash::{EMPTY_ROOT, Hash, leaf_hash, node_hash};
pub use proof::{
    ProofError, VerifyError, consistency_proof, inclusion_proof, range_hash, tree_head, verify_consistency,
    verify_inclusion,
};
pub use range::{CompactRange, CompactRangeError};
pub use store::{HashStore, MemoryStore, MissingNode, Node};
pub use tlog_proof::{TlogProof, TlogProofError};

#[cfg(test)]
mod tests;
