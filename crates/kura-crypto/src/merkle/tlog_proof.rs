//! The C2SP `tlog-proof` format: one text file that proves an entry is in the log, offline. It
//! carries the entry's index, its inclusion proof (leaf side first, one base64 hash a line),
//! optional unauthenticated extra data, then the signed checkpoint verbatim.

use super::checkpoint::{Checkpoint, CheckpointError, NoteVerifier, SignedNoteError, open_note};
use super::hash::Hash;
use super::proof::{VerifyError, verify_inclusion};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

const HEADER: &str = "c2sp.org/tlog-proof@v1";

#[derive(thiserror::Error, Debug, PartialEq, Eq)]
pub enum TlogProofError {
    #[error("the proof is malformed: {0}")]
    Malformed(&'static str),
    #[error("the proof's checkpoint does not open: {0}")]
    Note(#[from] SignedNoteError),
    #[error("the proof's checkpoint is malformed: {0}")]
    Checkpoint(#[from] CheckpointError),
    #[error("the checkpoint is for another log")]
    Origin,
    #[error("the entry is not proven to be in the checkpointed tree: {0}")]
    Inclusion(#[from] VerifyError),
}

/// An offline-verifiable proof that the entry at `index` is in the log.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TlogProof {
    /// Application data; not authenticated, so never trusted on its own.
    pub extra: Option<Vec<u8>>,
    pub index: u64,
    /// The inclusion proof, from the leaf's sibling up to the root's child.
    pub hashes: Vec<Hash>,
    /// The signed checkpoint note, verbatim.
    pub checkpoint: String,
}

impl TlogProof {
    pub fn to_text(&self) -> String {
        let mut out = format!("{HEADER}\n");
        if let Some(extra) = &self.extra {
            out.push_str(&format!("extra {}\n", STANDARD.encode(extra)));
        }
        out.push_str(&format!("index {}\n", self.index));
        for h in &self.hashes {
            out.push_str(&STANDARD.encode(h.0));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    pub fn parse(text: &str) -> Result<Self, TlogProofError> {
        let (head, checkpoint) =
            text.split_once("\n\n").ok_or(TlogProofError::Malformed("no blank line before the checkpoint"))?;
        let mut lines = head.split('\n').peekable();
        if lines.next() != Some(HEADER) {
            return Err(TlogProofError::Malformed("the first line is not c2sp.org/tlog-proof@v1"));
        }
        let extra = match lines.next_if(|l| l.starts_with("extra ")) {
            Some(l) => Some(
                STANDARD.decode(&l["extra ".len()..]).map_err(|_| TlogProofError::Malformed("extra is not base64"))?,
            ),
            None => None,
        };
        let index =
            lines.next().and_then(|l| l.strip_prefix("index ")).ok_or(TlogProofError::Malformed("no index line"))?;
        if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) || (index.len() > 1 && index.starts_with('0'))
        {
            return Err(TlogProofError::Malformed("the index is not a canonical decimal number"));
        }
        let index = index.parse().map_err(|_| TlogProofError::Malformed("the index is too large"))?;
        let hashes = lines
            .map(|l| {
                let raw = STANDARD.decode(l).map_err(|_| TlogProofError::Malformed("a proof line is not base64"))?;
                raw.try_into().map(Hash).map_err(|_| TlogProofError::Malformed("a proof line is not 32 bytes"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { extra, index, hashes, checkpoint: checkpoint.to_owned() })
    }

    /// Checks the checkpoint's signature by `verifier`, that it is a checkpoint of the log
    /// named `origin`, and that `leaf` (the entry's leaf hash) is at `index` in its tree.
    /// Returns the checkpoint, whose size and extensions the caller may still want to judge.
    pub fn verify(&self, origin: &str, leaf: &Hash, verifier: &NoteVerifier) -> Result<Checkpoint, TlogProofError> {
        let checkpoint = Checkpoint::parse(open_note(&self.checkpoint, verifier)?)?;
        if checkpoint.origin() != origin {
            return Err(TlogProofError::Origin);
        }
        verify_inclusion(self.index, checkpoint.size(), leaf, &self.hashes, checkpoint.root())?;
        Ok(checkpoint)
    }
}
