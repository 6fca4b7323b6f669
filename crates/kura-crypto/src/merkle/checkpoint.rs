//! Checkpoints in the transparency-log ecosystem's formats, so that tenants can check them with
//! existing tools: the C2SP `tlog-checkpoint` body (origin, tree size, base64 tree head, then
//! optional extension lines) inside a C2SP `signed-note` signed with Ed25519.
//!
//! The note's key id is the first four bytes of SHA-256(name || 0x0A || 0x01 || public key),
//! as the signed-note specification recommends; keys travel in its text encodings
//! (`name+hexid+base64(0x01 || key)`, with a `PRIVATE+KEY+` prefix for the signing key).

use super::hash::Hash;
use super::proof::{VerifyError, verify_consistency};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use std::fmt;

/// The algorithm byte of Ed25519 keys in signed-note encodings.
const ALG_ED25519: u8 = 0x01;
/// The separator between a note's text and its signature lines' name: an em dash and a space.
const SIG_PREFIX: &str = "\u{2014} ";
/// More signature lines than any real note carries; refusing beyond bounds parsing work.
const MAX_SIGNATURES: usize = 100;

#[derive(thiserror::Error, Debug, PartialEq, Eq)]
pub enum CheckpointError {
    #[error("the origin line is empty or contains a newline")]
    Origin,
    #[error("an extension line is empty or contains a newline")]
    Extension,
    #[error("the checkpoint is malformed: {0}")]
    Malformed(&'static str),
}

/// The body of a checkpoint: what a log commits to at one moment.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
    extensions: Vec<String>,
}

impl Checkpoint {
    /// `origin` names the log (a schema-less URL by convention, such as
    /// `kura.example.com/audit/<tenant>`).
    pub fn new(origin: &str, size: u64, root: Hash) -> Result<Self, CheckpointError> {
        if origin.is_empty() || origin.contains('\n') {
            return Err(CheckpointError::Origin);
        }
        Ok(Self { origin: origin.to_owned(), size, root, extensions: Vec::new() })
    }

    /// Adds an extension line (such as the time the checkpoint was made).
    pub fn with_extension(mut self, line: &str) -> Result<Self, CheckpointError> {
        if line.is_empty() || line.contains('\n') {
            return Err(CheckpointError::Extension);
        }
        self.extensions.push(line.to_owned());
        Ok(self)
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }
    pub const fn size(&self) -> u64 {
        self.size
    }
    pub const fn root(&self) -> &Hash {
        &self.root
    }
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// Checks that this checkpoint's tree extends `older`'s: the same log, and a consistency
    /// proof from the older size to this one. A log rewritten or rolled back after `older` was
    /// published fails here.
    pub fn verify_extends(&self, older: &Checkpoint, proof: &[Hash]) -> Result<(), VerifyError> {
        if self.origin != older.origin {
            return Err(VerifyError::OtherLog);
        }
        verify_consistency(older.size, self.size, &older.root, &self.root, proof)
    }

    /// The note text: every line ends with a newline, the last one included.
    pub fn to_body(&self) -> String {
        let mut out = format!("{}\n{}\n{}\n", self.origin, self.size, STANDARD.encode(self.root.0));
        for e in &self.extensions {
            out.push_str(e);
            out.push('\n');
        }
        out
    }

    /// Parses a note text. Only the canonical form is accepted (decimal size without leading
    /// zeros, padded standard base64 of exactly 32 bytes), so one checkpoint has one encoding.
    pub fn parse(body: &str) -> Result<Self, CheckpointError> {
        let Some(body) = body.strip_suffix('\n') else { return Err(CheckpointError::Malformed("no final newline")) };
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        let size = lines.next().ok_or(CheckpointError::Malformed("no size line"))?;
        let root = lines.next().ok_or(CheckpointError::Malformed("no root hash line"))?;
        if size.is_empty() || !size.bytes().all(|b| b.is_ascii_digit()) || (size.len() > 1 && size.starts_with('0')) {
            return Err(CheckpointError::Malformed("the size is not a canonical decimal number"));
        }
        let size = size.parse::<u64>().map_err(|_| CheckpointError::Malformed("the size is too large"))?;
        let root = STANDARD.decode(root).map_err(|_| CheckpointError::Malformed("the root hash is not base64"))?;
        let root: [u8; 32] =
            root.try_into().map_err(|_| CheckpointError::Malformed("the root hash is not 32 bytes"))?;
        let mut cp = Self::new(origin, size, Hash(root))?;
        for e in lines {
            cp = cp.with_extension(e)?;
        }
        Ok(cp)
    }
}

#[derive(thiserror::Error, Debug, PartialEq, Eq)]
pub enum SignedNoteError {
    #[error("the key name is empty or contains a space, a newline or a plus sign")]
    KeyName,
    #[error("the key is malformed")]
    KeyFormat,
    #[error("the note text is empty, does not end with a newline, or contains control characters")]
    Text,
    #[error("the signed note is malformed")]
    Malformed,
    #[error("the note carries no signature by the expected key")]
    NoKnownSignature,
    #[error("the note's signature by the expected key is invalid")]
    BadSignature,
}

/// The signed-note key id: the first four bytes of SHA-256(name || 0x0A || 0x01 || key).
pub fn key_id(name: &str, public_key: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ALG_ED25519]);
    h.update(public_key);
    let d: [u8; 32] = h.finalize().into();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

fn check_name(name: &str) -> Result<(), SignedNoteError> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+') {
        return Err(SignedNoteError::KeyName);
    }
    Ok(())
}

/// Splits `name+hexid+base64(0x01 || key)` into its name, id and key.
fn parse_key_text(text: &str) -> Result<(&str, u32, [u8; 32]), SignedNoteError> {
    // The key's base64 may itself contain '+'.
    let mut parts = text.splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(SignedNoteError::KeyFormat);
    };
    check_name(name)?;
    if id.len() != 8 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(SignedNoteError::KeyFormat);
    }
    let id = u32::from_str_radix(id, 16).map_err(|_| SignedNoteError::KeyFormat)?;
    let key = STANDARD.decode(key).map_err(|_| SignedNoteError::KeyFormat)?;
    let Some((&ALG_ED25519, key)) = key.split_first() else { return Err(SignedNoteError::KeyFormat) };
    let key: [u8; 32] = key.try_into().map_err(|_| SignedNoteError::KeyFormat)?;
    Ok((name, id, key))
}

/// A checkpoint signing key with its signed-note name. `Debug` shows only the name and id; the
/// key itself is wiped from memory when dropped.
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    key: SigningKey,
    id: u32,
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NoteSigner({}+{:08x})", self.name, self.id)
    }
}

impl NoteSigner {
    /// A fresh key from the operating system's generator.
    pub fn generate(name: &str) -> Result<Self, SignedNoteError> {
        Self::from_seed(name, &crate::random_bytes::<32>())
    }

    /// The key whose Ed25519 seed (RFC 8032 private key) is `seed`.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, SignedNoteError> {
        check_name(name)?;
        let key = SigningKey::from_bytes(seed);
        let id = key_id(name, key.verifying_key().as_bytes());
        Ok(Self { name: name.to_owned(), key, id })
    }

    /// Parses the signed-note private key encoding, `PRIVATE+KEY+name+hexid+base64(0x01 || seed)`.
    pub fn parse(text: &str) -> Result<Self, SignedNoteError> {
        let rest = text.trim_end().strip_prefix("PRIVATE+KEY+").ok_or(SignedNoteError::KeyFormat)?;
        let (name, id, seed) = parse_key_text(rest)?;
        let signer = Self::from_seed(name, &seed)?;
        // The id in the text must be the one the key derives.
        if id != signer.id {
            return Err(SignedNoteError::KeyFormat);
        }
        Ok(signer)
    }

    /// The private key encoding. It is the secret: store it outside the database.
    pub fn to_private_text(&self) -> String {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        format!("PRIVATE+KEY+{}+{:08x}+{}", self.name, self.id, STANDARD.encode(&raw))
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    pub const fn id(&self) -> u32 {
        self.id
    }
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier { name: self.name.clone(), key: self.key.verifying_key(), id: self.id }
    }
}

/// A public key that checks notes, with its signed-note name.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NoteVerifier {
    name: String,
    key: VerifyingKey,
    id: u32,
}

impl NoteVerifier {
    /// Parses the signed-note verifier key encoding, `name+hexid+base64(0x01 || public key)`.
    pub fn parse(text: &str) -> Result<Self, SignedNoteError> {
        let (name, id, key) = parse_key_text(text.trim_end())?;
        if id != key_id(name, &key) {
            return Err(SignedNoteError::KeyFormat);
        }
        let key = VerifyingKey::from_bytes(&key).map_err(|_| SignedNoteError::KeyFormat)?;
        Ok(Self { name: name.to_owned(), key, id })
    }

    /// The text to publish: what tenants give their tools to check checkpoints.
    pub fn to_text(&self) -> String {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.id, STANDARD.encode(&raw))
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    pub const fn id(&self) -> u32 {
        self.id
    }
}

fn check_text(text: &str) -> Result<(), SignedNoteError> {
    if text.is_empty() || !text.ends_with('\n') || text.chars().any(|c| c < ' ' && c != '\n') {
        return Err(SignedNoteError::Text);
    }
    Ok(())
}

/// Signs `text` (a checkpoint body, for instance) and returns the signed note: the text, a
/// blank line, and one signature line.
pub fn sign_note(text: &str, signer: &NoteSigner) -> Result<String, SignedNoteError> {
    check_text(text)?;
    let sig = signer.key.sign(text.as_bytes());
    let mut raw = Vec::with_capacity(68);
    raw.extend_from_slice(&signer.id.to_be_bytes());
    raw.extend_from_slice(&sig.to_bytes());
    Ok(format!("{text}\n{SIG_PREFIX}{} {}\n", signer.name, STANDARD.encode(&raw)))
}

/// Checks a signed note against `verifier` and returns its text. Signatures by other keys
/// are ignored, as the specification requires (a note may carry witnesses' cosignatures);
/// a note with no valid signature by `verifier` is refused.
pub fn open_note<'a>(note: &'a str, verifier: &NoteVerifier) -> Result<&'a str, SignedNoteError> {
    // The signature block starts after the last blank line.
    let Some(split) = note.rfind("\n\n") else { return Err(SignedNoteError::Malformed) };
    let (text, sigs) = (&note[..=split], &note[split + 2..]);
    check_text(text)?;
    let Some(sigs) = sigs.strip_suffix('\n') else { return Err(SignedNoteError::Malformed) };
    let mut verified = false;
    for (n, line) in sigs.split('\n').enumerate() {
        if n >= MAX_SIGNATURES {
            return Err(SignedNoteError::Malformed);
        }
        let line = line.strip_prefix(SIG_PREFIX).ok_or(SignedNoteError::Malformed)?;
        let (name, sig) = line.split_once(' ').ok_or(SignedNoteError::Malformed)?;
        check_name(name).map_err(|_| SignedNoteError::Malformed)?;
        let sig = STANDARD.decode(sig).map_err(|_| SignedNoteError::Malformed)?;
        let Some((id, sig)) = sig.split_first_chunk::<4>() else { return Err(SignedNoteError::Malformed) };
        if name != verifier.name || u32::from_be_bytes(*id) != verifier.id {
            continue;
        }
        if verified {
            // Two signatures by one key: a note means one thing, so this one is refused.
            return Err(SignedNoteError::Malformed);
        }
        let sig: [u8; 64] = sig.try_into().map_err(|_| SignedNoteError::BadSignature)?;
        verifier
            .key
            .verify_strict(text.as_bytes(), &Signature::from_bytes(&sig))
            .map_err(|_| SignedNoteError::BadSignature)?;
        verified = true;
    }
    if verified { Ok(text) } else { Err(SignedNoteError::NoKnownSignature) }
}
