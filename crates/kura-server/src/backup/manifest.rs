//! A backup's manifest (OPS-1): what the backup holds, the key that encrypted it, and the
//! SHA-256 digest and size of each of its files, as text lines signed as a C2SP signed note with
//! the installation's Ed25519 signing key (the one that signs audit checkpoints), so that
//! `kura audit public-key` checks backups too.
//!
//! ```text
//! kura-backup v1
//! id 20261206T201912.123456Z
//! created 2026-12-06T20:19:12.123456Z
//! engine sqlite
//! master-key 0123456789abcdef
//! backup-key 1 fedcba9876543210
//! file database.zst.kbk 48213 <sha256 hex>
//! ```
//!
//! A keystore backup says so in a `kind keystore` line after `engine`, and carries its own key,
//! wrapped by the master key and bound to the backup's id, in a `wrapped-key <hex>` line after
//! `backup-key` (the backup key itself lives in the keystore such a backup restores):
//!
//! ```text
//! kura-backup v1
//! id 20261206T180000.000000Z
//! created 2026-12-06T18:00:00Z
//! engine sqlite
//! kind keystore
//! master-key 0123456789abcdef
//! backup-key 1 0a1b2c3d4e5f6a7b
//! wrapped-key 01…
//! file keystore.zst.kbk 2210 <sha256 hex>
//! ```

use kura_crypto::merkle::{NoteSigner, NoteVerifier, SignedNoteError, open_note, sign_note};

const FIRST_LINE: &str = "kura-backup v1";

/// The file name of a backup's signed manifest.
pub const MANIFEST_FILE: &str = "manifest.note";

/// What a backup holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BackupKind {
    /// Kura's database.
    #[default]
    Data,
    /// The keystore (tenant keys and backup keys, wrapped by the master key).
    Keystore,
}

impl BackupKind {
    /// The backup's one data file.
    pub fn file(self) -> &'static str {
        match self {
            Self::Data => "database.zst.kbk",
            Self::Keystore => "keystore.zst.kbk",
        }
    }
    /// `data` or `keystore`, as messages and the platform's log name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Data => "data",
            Self::Keystore => "keystore",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    pub id: String,
    pub created: String,
    /// `sqlite` or `postgres`.
    pub engine: String,
    pub kind: BackupKind,
    pub master_key_id: String,
    pub backup_key_version: u32,
    pub backup_key_fingerprint: String,
    /// A keystore backup's own key, wrapped by the master key, in hex.
    pub wrapped_key: Option<String>,
    pub files: Vec<FileEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileEntry {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("the manifest's signature does not check: {0}; it was altered or signed by another key")]
    Signature(SignedNoteError),
    #[error("the manifest is malformed: {0}")]
    Malformed(String),
}

/// A name is safe in a manifest line and as a file name: no separators, no spaces.
fn plain(word: &str) -> bool {
    !word.is_empty() && word != "." && word != ".." && word.bytes().all(|b| b.is_ascii_graphic() && b != b'/')
}

impl Manifest {
    pub fn to_text(&self) -> String {
        let mut out = format!("{FIRST_LINE}\nid {}\ncreated {}\nengine {}\n", self.id, self.created, self.engine);
        if self.kind == BackupKind::Keystore {
            out.push_str("kind keystore\n");
        }
        out.push_str(&format!(
            "master-key {}\nbackup-key {} {}\n",
            self.master_key_id, self.backup_key_version, self.backup_key_fingerprint
        ));
        if let Some(wrapped) = &self.wrapped_key {
            out.push_str(&format!("wrapped-key {wrapped}\n"));
        }
        for f in &self.files {
            out.push_str(&format!("file {} {} {}\n", f.name, f.size, f.sha256));
        }
        out
    }

    pub fn sign(&self, signer: &NoteSigner) -> Result<String, ManifestError> {
        sign_note(&self.to_text(), signer).map_err(|e| ManifestError::Malformed(e.to_string()))
    }

    /// The manifest of a signed note, once its signature by `verifier` checks.
    pub fn open(note: &str, verifier: &NoteVerifier) -> Result<Self, ManifestError> {
        let text = open_note(note, verifier).map_err(ManifestError::Signature)?;
        Self::parse(text)
    }

    /// Reads the manifest's text without checking a signature (for listing only).
    pub fn read_unchecked(note: &str) -> Result<Self, ManifestError> {
        let text = note.split_once("\n\n").map_or(note, |(t, _)| t);
        Self::parse(&format!("{}\n", text.trim_end_matches('\n')))
    }

    fn parse(text: &str) -> Result<Self, ManifestError> {
        let bad = |m: &str| ManifestError::Malformed(m.to_owned());
        let mut lines = text.lines().peekable();
        if lines.next() != Some(FIRST_LINE) {
            return Err(bad("not a Kura backup manifest of version 1"));
        }
        let mut field = |key: &str| -> Result<String, ManifestError> {
            let line = lines.next().ok_or_else(|| bad(&format!("no {key} line")))?;
            let value = line.strip_prefix(key).and_then(|r| r.strip_prefix(' ')).ok_or_else(|| bad(line))?;
            Ok(value.to_owned())
        };
        let id = field("id")?;
        let created = field("created")?;
        let engine = field("engine")?;
        let kind = match lines.next_if(|l| l.starts_with("kind ")) {
            None => BackupKind::Data,
            Some("kind keystore") => BackupKind::Keystore,
            Some(other) => return Err(bad(other)),
        };
        let mut field = |key: &str| -> Result<String, ManifestError> {
            let line = lines.next().ok_or_else(|| bad(&format!("no {key} line")))?;
            let value = line.strip_prefix(key).and_then(|r| r.strip_prefix(' ')).ok_or_else(|| bad(line))?;
            Ok(value.to_owned())
        };
        let master_key_id = field("master-key")?;
        let key = field("backup-key")?;
        let wrapped_key =
            lines.next_if(|l| l.starts_with("wrapped-key ")).map(|l| l["wrapped-key ".len()..].to_owned());
        if wrapped_key.as_ref().is_some_and(|w| w.is_empty() || !w.bytes().all(|b| b.is_ascii_hexdigit()))
            || wrapped_key.is_some() != (kind == BackupKind::Keystore)
        {
            return Err(bad("wrapped-key: a keystore backup has one, hex; a data backup none"));
        }
        let (version, fingerprint) = key.split_once(' ').ok_or_else(|| bad("backup-key"))?;
        let backup_key_version = version.parse().map_err(|_| bad("backup-key version"))?;
        if !plain(&id) || !matches!(engine.as_str(), "sqlite" | "postgres") {
            return Err(bad("id or engine"));
        }
        let mut files = Vec::new();
        for line in lines {
            let mut words = line.split(' ');
            let (Some("file"), Some(name), Some(size), Some(sha256), None) =
                (words.next(), words.next(), words.next(), words.next(), words.next())
            else {
                return Err(bad(line));
            };
            if !plain(name) || name == MANIFEST_FILE || sha256.len() != 64 {
                return Err(bad(line));
            }
            let size = size.parse().map_err(|_| bad(line))?;
            files.push(FileEntry { name: name.to_owned(), size, sha256: sha256.to_owned() });
        }
        if files.is_empty() {
            return Err(bad("no files"));
        }
        Ok(Self {
            id,
            created,
            engine,
            kind,
            master_key_id,
            backup_key_version,
            backup_key_fingerprint: fingerprint.to_owned(),
            wrapped_key,
            files,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_1_a_manifest_round_trips_signed_and_refuses_a_change() {
        let m = Manifest {
            id: "20261206T201912.123456Z".into(),
            created: "2026-12-06T20:19:12.123456Z".into(),
            engine: "sqlite".into(),
            kind: BackupKind::Data,
            master_key_id: "0123456789abcdef".into(),
            backup_key_version: 1,
            backup_key_fingerprint: "fedcba9876543210".into(),
            wrapped_key: None,
            files: vec![FileEntry { name: "database.zst.kbk".into(), size: 10, sha256: "ab".repeat(32) }],
        };
        let signer = NoteSigner::generate("kura").unwrap();
        let note = m.sign(&signer).unwrap();
        assert_eq!(Manifest::open(&note, &signer.verifier()).unwrap(), m);
        assert_eq!(Manifest::read_unchecked(&note).unwrap(), m);
        let altered = note.replace(" 10 ", " 11 ");
        assert!(matches!(Manifest::open(&altered, &signer.verifier()), Err(ManifestError::Signature(_))));
        let other = NoteSigner::generate("kura").unwrap();
        assert!(matches!(Manifest::open(&note, &other.verifier()), Err(ManifestError::Signature(_))));
    }

    #[test]
    fn ops_1_a_keystore_manifest_carries_its_kind_and_wrapped_key() {
        let m = Manifest {
            id: "20261206T180000.000000Z".into(),
            created: "2026-12-06T18:00:00Z".into(),
            engine: "postgres".into(),
            kind: BackupKind::Keystore,
            master_key_id: "0123456789abcdef".into(),
            backup_key_version: 1,
            backup_key_fingerprint: "fedcba9876543210".into(),
            wrapped_key: Some("01ab".into()),
            files: vec![FileEntry { name: "keystore.zst.kbk".into(), size: 10, sha256: "ab".repeat(32) }],
        };
        let signer = NoteSigner::generate("kura").unwrap();
        let note = m.sign(&signer).unwrap();
        assert!(note.contains("\nkind keystore\n") && note.contains("\nwrapped-key 01ab\n"));
        assert_eq!(Manifest::open(&note, &signer.verifier()).unwrap(), m);
        // A data manifest with a wrapped key, or a keystore one without, is malformed.
        let no_key = Manifest { wrapped_key: None, ..m.clone() }.to_text();
        assert!(matches!(Manifest::read_unchecked(&no_key), Err(ManifestError::Malformed(_))));
        let data_with_key = Manifest { kind: BackupKind::Data, ..m }.to_text();
        assert!(matches!(Manifest::read_unchecked(&data_with_key), Err(ManifestError::Malformed(_))));
    }
}
