//! Checking an export of the operation log offline (LOG-1, LOG-3), with nothing but the file
//! (and, if the reader has it from elsewhere, the log's public key): the checkpoint's and the
//! manifest's signatures, every row against the manifest's digest, no row removed or added,
//! and the rows' stored bytes rebuilding the signed tree through the proofs. Each failure is
//! named with the entry it concerns.

use super::{ExportDoc, manifest_text, read, row_digest, stored_of};
use kura_crypto::merkle::{Checkpoint, CompactRange, NoteVerifier, leaf_hash, open_note, verify_consistency};
use std::collections::{BTreeMap, BTreeSet};

/// What kind of failure a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FindingKind {
    /// The file is not an export, or a part of it does not parse.
    Malformed,
    /// The key given by the reader is not the key in the file.
    OtherKey,
    /// The checkpoint does not carry a valid signature by the key, or is of another log.
    CheckpointSignature,
    /// The manifest does not carry a valid signature by the key.
    ManifestSignature,
    /// The file's range, entries or checkpoint differ from what the manifest signs.
    ManifestMismatch,
    /// A row the manifest lists is not in the file.
    RemovedEntry,
    /// A row is in the file that the manifest does not list.
    AddedEntry,
    /// A row differs from the one the manifest lists.
    EditedEntry,
    /// The rows' stored bytes do not rebuild the signed checkpoint's tree.
    NotInLog,
}

impl FindingKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed export",
            Self::OtherKey => "other key",
            Self::CheckpointSignature => "wrong checkpoint signature",
            Self::ManifestSignature => "wrong manifest signature",
            Self::ManifestMismatch => "export differs from its manifest",
            Self::RemovedEntry => "removed row",
            Self::AddedEntry => "added row",
            Self::EditedEntry => "edited row",
            Self::NotInLog => "entries not in the signed log",
        }
    }
}

/// One thing wrong with an export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub kind: FindingKind,
    /// The entry concerned, if one is.
    pub seq: Option<i64>,
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.seq {
            Some(seq) => write!(f, "entry {seq}: {} ({})", self.message, self.kind.as_str()),
            None => write!(f, "{} ({})", self.message, self.kind.as_str()),
        }
    }
}

/// What a passing export was checked to hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub origin: String,
    pub from: String,
    pub to: String,
    pub time_zone: String,
    pub entries: Option<(i64, i64)>,
    pub rows: usize,
    pub checkpoint_size: u64,
    /// The signed-note key that checked it.
    pub public_key: String,
    /// Whether that key came from the reader rather than from the file.
    pub pinned: bool,
    /// The disclosure, when the file is a disclosure's package (LOG-5), as its manifest signs it.
    pub disclosure: Option<super::Disclosure>,
}

fn finding(kind: FindingKind, seq: Option<i64>, message: impl Into<String>) -> Finding {
    Finding { kind, seq, message: message.into() }
}

/// Verifies an export file. `key` is the log's public key as the reader got it elsewhere (the
/// console, the API, an earlier export); without it the key in the file is used, which proves
/// the file is whole and signed by whoever holds that key, not that the key is Kura's.
pub fn verify(bytes: &[u8], key: Option<&str>) -> Result<Verified, Vec<Finding>> {
    let doc = read(bytes).map_err(|m| vec![finding(FindingKind::Malformed, None, m)])?;
    let mut found = Vec::new();
    let key_text = match key.map(str::trim) {
        Some(k) if k != doc.public_key.trim() => {
            found.push(finding(
                FindingKind::OtherKey,
                None,
                "the file names another public key than the one given; checking with the one given",
            ));
            k.to_owned()
        }
        Some(k) => k.to_owned(),
        None => doc.public_key.trim().to_owned(),
    };
    let verifier = NoteVerifier::parse(&key_text)
        .map_err(|e| vec![finding(FindingKind::Malformed, None, format!("the public key does not parse: {e}"))])?;

    let checkpoint = match open_note(&doc.checkpoint, &verifier) {
        Err(e) => {
            found.push(finding(
                FindingKind::CheckpointSignature,
                None,
                format!("the checkpoint is forged or altered: {e}"),
            ));
            None
        }
        Ok(body) => match Checkpoint::parse(body) {
            Err(e) => {
                found.push(finding(
                    FindingKind::CheckpointSignature,
                    None,
                    format!("the checkpoint is malformed: {e}"),
                ));
                None
            }
            Ok(c) if c.origin() != doc.origin => {
                found.push(finding(
                    FindingKind::CheckpointSignature,
                    None,
                    format!("the checkpoint is of another log ({})", c.origin()),
                ));
                None
            }
            Ok(c) => Some(c),
        },
    };

    let listed = match open_note(&doc.manifest, &verifier) {
        Err(e) => {
            found.push(finding(
                FindingKind::ManifestSignature,
                None,
                format!("the manifest is forged or altered: {e}"),
            ));
            None
        }
        Ok(text) => Some(check_manifest(&doc, text, checkpoint.as_ref(), &mut found)),
    };

    if let Some(listed) = &listed {
        check_rows(&doc, listed, &mut found);
    }
    if let Some(c) = &checkpoint
        && !found.iter().any(|f| matches!(f.kind, FindingKind::RemovedEntry | FindingKind::AddedEntry))
    {
        check_tree(&doc, c, &mut found);
    }
    if !found.is_empty() {
        return Err(found);
    }
    Ok(Verified {
        origin: doc.origin,
        from: doc.from,
        to: doc.to,
        time_zone: doc.time_zone,
        entries: doc.entries,
        rows: doc.rows.len(),
        checkpoint_size: checkpoint.map_or(0, |c| c.size()),
        public_key: key_text,
        pinned: key.is_some(),
        disclosure: doc.disclosure,
    })
}

/// Compares the manifest's head with the file's and returns the digests it lists by entry.
fn check_manifest(
    doc: &ExportDoc,
    text: &str,
    checkpoint: Option<&Checkpoint>,
    found: &mut Vec<Finding>,
) -> BTreeMap<i64, String> {
    let mut listed = BTreeMap::new();
    let mut head = Vec::new();
    for line in text.lines() {
        match line.strip_prefix("row ").and_then(|r| r.split_once(' ')) {
            Some((seq, digest)) => match seq.parse::<i64>() {
                Ok(seq) => {
                    listed.insert(seq, digest.to_owned());
                }
                Err(_) => found.push(finding(FindingKind::Malformed, None, format!("manifest line {line:?}"))),
            },
            None => head.push(line),
        }
    }
    if head.first() != Some(&doc.tag) {
        found.push(finding(FindingKind::Malformed, None, "the manifest is not one of an operation log export"));
        return listed;
    }
    // The manifest's head as the file's own values would write it; the checkpoint's size and
    // root are those the manifest names, compared with the checkpoint's below.
    let signed_cp = head.iter().find_map(|l| l.strip_prefix("checkpoint ")).unwrap_or("");
    let (size, root) = signed_cp.split_once(' ').unwrap_or(("", ""));
    let size: u64 = size.parse().unwrap_or(u64::MAX);
    let root =
        super::parse_hashes(root).ok().and_then(|h| h.first().copied()).unwrap_or(kura_crypto::merkle::EMPTY_ROOT);
    let ours = ExportDoc { rows: Vec::new(), ..doc.clone() };
    let expected = manifest_text(&ours, size, &root);
    for (want, got) in expected.lines().zip(head.iter()) {
        if want != *got {
            found.push(finding(
                FindingKind::ManifestMismatch,
                None,
                format!("the file says {want:?} where its signed manifest says {got:?}"),
            ));
        }
    }
    if expected.lines().count() != head.len() {
        found.push(finding(FindingKind::ManifestMismatch, None, "the manifest's head has other lines than the file's"));
    }
    if let Some(c) = checkpoint
        && (c.size() != size || !c.root().ct_eq(&root))
    {
        found.push(finding(
            FindingKind::ManifestMismatch,
            None,
            "the checkpoint in the file is not the one the manifest was signed with",
        ));
    }
    listed
}

/// Every row the manifest lists is in the file, unchanged, and no other row is.
fn check_rows(doc: &ExportDoc, listed: &BTreeMap<i64, String>, found: &mut Vec<Finding>) {
    let mut seen = BTreeSet::new();
    for (n, row) in doc.rows.iter().enumerate() {
        let Ok(seq) = row[0].parse::<i64>() else {
            found.push(finding(FindingKind::EditedEntry, None, format!("row {} has no sequence number", n + 1)));
            continue;
        };
        if !seen.insert(seq) {
            found.push(finding(FindingKind::AddedEntry, Some(seq), "the row appears twice"));
            continue;
        }
        match listed.get(&seq) {
            None => found.push(finding(FindingKind::AddedEntry, Some(seq), "the row is not one the export holds")),
            Some(digest) if *digest != row_digest(row) => found.push(finding(
                FindingKind::EditedEntry,
                Some(seq),
                "the row differs from the one exported (its digest does not match the manifest)",
            )),
            Some(_) => {}
        }
    }
    for seq in listed.keys().filter(|s| !seen.contains(s)) {
        found.push(finding(FindingKind::RemovedEntry, Some(*seq), "the row was removed from the file"));
    }
}

/// The rows' stored bytes, in order after the compact range before them, make the tree whose
/// head the consistency proof ties to the signed checkpoint.
fn check_tree(doc: &ExportDoc, checkpoint: &Checkpoint, found: &mut Vec<Finding>) {
    let Some((first, last)) = doc.entries else { return };
    let not_in_log = |m: String| finding(FindingKind::NotInLog, None, m);
    let (Ok(before), Ok(size)) = (u64::try_from(first - 1), u64::try_from(last)) else {
        found.push(not_in_log("the entries' numbers are out of range".into()));
        return;
    };
    let mut tree = match CompactRange::from_parts(before, doc.before.clone()) {
        Ok(t) => t,
        Err(e) => {
            found.push(not_in_log(format!("the proof of the entries before the first is malformed: {e}")));
            return;
        }
    };
    let mut rows: Vec<&Vec<String>> = doc.rows.iter().collect();
    rows.sort_by_key(|r| r[0].parse::<i64>().unwrap_or(i64::MAX));
    for row in rows {
        match stored_of(row) {
            Ok(bytes) => tree.append(leaf_hash(&bytes), |_, _| {}),
            Err(m) => {
                found.push(finding(FindingKind::EditedEntry, row[0].parse().ok(), m));
                return;
            }
        }
    }
    if tree.size() != size {
        found.push(not_in_log(format!("the rows end at entry {}, not at entry {last}", tree.size())));
        return;
    }
    if let Err(e) = verify_consistency(size, checkpoint.size(), &tree.root(), checkpoint.root(), &doc.consistency) {
        found.push(not_in_log(format!(
            "the entries' stored bytes do not rebuild the tree of the signed checkpoint of {} entries: {e}",
            checkpoint.size()
        )));
    }
}
