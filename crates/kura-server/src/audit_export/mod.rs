//! The operation log's export that verifies offline (LOG-1, LOG-3): one file, CSV (UTF-8 with
//! or without a byte order mark) or JSON, that holds a time range of a tenant's log for people
//! (times in the tenant's zone with explicit offsets, sealed values opened) and everything
//! needed to check it with no access to the server: each entry's stored bytes (the Merkle
//! leaf's data, ciphertext where a value is sealed), the compact range of the leaves before the
//! first entry, a consistency proof from the tree after the last entry to a signed checkpoint,
//! the checkpoint (C2SP signed note), the public key, and a manifest signed with the same key
//! that lists a SHA-256 digest of every row as written.
//!
//! This module writes and reads the file and does no IO; `verify.rs` checks one. The service
//! (`service/audit_export.rs`) gathers what goes in.

mod verify;

pub use verify::{Finding, FindingKind, Verified, verify};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kura_crypto::merkle::Hash;
use sha2::{Digest as _, Sha256};

/// The first line of the manifest and the `format` value of the file.
pub const FORMAT_TAG: &str = "kura-audit-export/2";
/// The tag of files written before entries carried the user agent: still read and verified.
pub const FORMAT_TAG_V1: &str = "kura-audit-export/1";

/// The columns of the entries, in this order in both formats; the stored bytes come last.
pub const COLUMNS: [&str; 14] = [
    "seq",
    "time",
    "time_utc",
    "actor_kind",
    "actor",
    "actor_id",
    "role",
    "source_ip",
    "user_agent",
    "operation",
    "target",
    "outcome",
    "detail",
    "stored",
];

/// The columns of a [`FORMAT_TAG_V1`] file: those of today without the user agent.
pub const COLUMNS_V1: [&str; 13] = [
    "seq",
    "time",
    "time_utc",
    "actor_kind",
    "actor",
    "actor_id",
    "role",
    "source_ip",
    "operation",
    "target",
    "outcome",
    "detail",
    "stored",
];

/// The columns of a file of format `tag`.
fn columns_of(tag: &str) -> Option<&'static [&'static str]> {
    match tag {
        FORMAT_TAG => Some(&COLUMNS),
        FORMAT_TAG_V1 => Some(&COLUMNS_V1),
        _ => None,
    }
}

/// The marker in the first cell of the CSV rows after the entries that carry the proofs.
const CSV_MARK: &str = "#kura";

/// A file format of the export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// CSV in UTF-8 with a byte order mark, which Excel needs to read UTF-8 (the default).
    Csv,
    /// CSV in UTF-8 without a byte order mark.
    CsvUtf8,
    /// One JSON document.
    Json,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 3] = [Self::Csv, Self::CsvUtf8, Self::Json];
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::CsvUtf8 => "csv-utf8",
            Self::Json => "json",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }
    pub const fn content_type(self) -> &'static str {
        match self {
            Self::Csv | Self::CsvUtf8 => "text/csv; charset=utf-8",
            Self::Json => "application/json",
        }
    }
    pub const fn extension(self) -> &'static str {
        match self {
            Self::Csv | Self::CsvUtf8 => "csv",
            Self::Json => "json",
        }
    }
    const fn is_csv(self) -> bool {
        !matches!(self, Self::Json)
    }
}

/// A disclosure of the log by the operator (LOG-5): what its package's signed manifest states
/// beside the export's own lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disclosure {
    pub id: String,
    /// One line, as the operator gave it.
    pub reason: String,
    /// Withheld from the tenant for a legal reason (recorded in the platform's log only).
    pub withheld: bool,
    /// When, in the tenant's zone with its offset.
    pub disclosed_at: String,
}

/// An export's content: what the manifest signs and what the file carries beside the rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportDoc {
    /// [`FORMAT_TAG`] for files written now; [`FORMAT_TAG_V1`] for older ones read back.
    pub tag: &'static str,
    pub format: ExportFormat,
    /// The log's origin, as in its checkpoints.
    pub origin: String,
    pub tenant: String,
    pub time_zone: String,
    /// The range asked for, in the tenant's zone with offsets.
    pub from: String,
    pub to: String,
    pub exported_at: String,
    /// The first and last sequence numbers exported; `None` when the range held no entry.
    pub entries: Option<(i64, i64)>,
    /// The entries' cells as written (CSV cells already protected against formulas), one per
    /// column of the file's format.
    pub rows: Vec<Vec<String>>,
    /// The roots of the compact range of the leaves before the first entry, highest first.
    pub before: Vec<Hash>,
    /// The consistency proof from the tree ending at the last entry to the checkpoint's.
    pub consistency: Vec<Hash>,
    /// The signed checkpoint (C2SP tlog-checkpoint in a signed note), verbatim.
    pub checkpoint: String,
    /// The signed-note verifier key of the checkpoint and the manifest.
    pub public_key: String,
    /// The signed manifest.
    pub manifest: String,
    /// Set when the export is a disclosure's package.
    pub disclosure: Option<Disclosure>,
}

/// The SHA-256 of a row's cells, each length-prefixed, as the manifest lists it.
pub fn row_digest(cells: &[String]) -> String {
    let mut h = Sha256::new();
    for c in cells {
        h.update((c.len() as u32).to_be_bytes());
        h.update(c.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn hashes_text(hashes: &[Hash]) -> String {
    hashes.iter().map(|h| STANDARD.encode(h.0)).collect::<Vec<_>>().join(" ")
}

fn parse_hashes(text: &str) -> Result<Vec<Hash>, String> {
    text.split_whitespace()
        .map(|w| {
            let raw = STANDARD.decode(w).map_err(|_| format!("{w:?} is not base64"))?;
            raw.try_into().map(Hash).map_err(|_| format!("{w:?} is not a 32-byte hash"))
        })
        .collect()
}

/// The manifest's text (signed as a C2SP signed note): the export's identity, the checkpoint it
/// is proven against, and one digest a row. Its second line is not a number, so the note can
/// never pass for a checkpoint signed by the same key.
pub fn manifest_text(doc: &ExportDoc, checkpoint_size: u64, checkpoint_root: &Hash) -> String {
    let mut out = format!(
        "{}\norigin {}\nformat {}\ntenant {}\nrange {} {}\nexported {}\n",
        doc.tag,
        doc.origin,
        doc.format.as_str(),
        doc.tenant,
        doc.from,
        doc.to,
        doc.exported_at
    );
    if let Some(d) = &doc.disclosure {
        out.push_str(&format!(
            "disclosure {}\ndisclosed {}\nwithheld {}\nreason {}\n",
            d.id,
            d.disclosed_at,
            if d.withheld { "yes" } else { "no" },
            d.reason
        ));
    }
    match doc.entries {
        Some((first, last)) => out.push_str(&format!("entries {first} {last}\n")),
        None => out.push_str("entries none\n"),
    }
    out.push_str(&format!("checkpoint {checkpoint_size} {}\n", STANDARD.encode(checkpoint_root.0)));
    for row in &doc.rows {
        out.push_str(&format!("row {} {}\n", row[0], row_digest(row)));
    }
    out
}

/// The key–value pairs carried beside the rows, in this order.
fn meta(doc: &ExportDoc) -> Vec<(&'static str, String)> {
    let (first, last) = match doc.entries {
        Some((f, l)) => (f.to_string(), l.to_string()),
        None => (String::new(), String::new()),
    };
    let mut out = vec![
        ("format", doc.tag.to_owned()),
        ("file_format", doc.format.as_str().to_owned()),
        ("origin", doc.origin.clone()),
        ("tenant", doc.tenant.clone()),
        ("time_zone", doc.time_zone.clone()),
        ("from", doc.from.clone()),
        ("to", doc.to.clone()),
        ("exported_at", doc.exported_at.clone()),
        ("first_seq", first),
        ("last_seq", last),
        ("proof_before", hashes_text(&doc.before)),
        ("proof_consistency", hashes_text(&doc.consistency)),
        ("checkpoint", doc.checkpoint.clone()),
        ("public_key", doc.public_key.clone()),
        ("manifest", doc.manifest.clone()),
    ];
    if let Some(d) = &doc.disclosure {
        out.extend([
            ("disclosure_id", d.id.clone()),
            ("disclosure_reason", d.reason.clone()),
            ("disclosure_withheld", if d.withheld { "yes" } else { "no" }.to_owned()),
            ("disclosed_at", d.disclosed_at.clone()),
        ]);
    }
    out
}

/// The file's bytes.
pub fn write(doc: &ExportDoc) -> Result<Vec<u8>, String> {
    if doc.format.is_csv() { write_csv(doc) } else { write_json(doc) }
}

fn write_csv(doc: &ExportDoc) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    if doc.format == ExportFormat::Csv {
        out.extend_from_slice("\u{feff}".as_bytes());
    }
    let mut w = csv::WriterBuilder::new().flexible(true).terminator(csv::Terminator::CRLF).from_writer(out);
    let err = |e: csv::Error| e.to_string();
    w.write_record(columns_of(doc.tag).unwrap_or(&COLUMNS)).map_err(err)?;
    for row in &doc.rows {
        w.write_record(row).map_err(err)?;
    }
    // A blank line, then the proofs, one key and value a row, below the table.
    w.write_record([""]).map_err(err)?;
    for (key, value) in meta(doc) {
        w.write_record([CSV_MARK, key, value.as_str()]).map_err(err)?;
    }
    w.into_inner().map_err(|e| e.to_string())
}

fn write_json(doc: &ExportDoc) -> Result<Vec<u8>, String> {
    let mut top = serde_json::Map::new();
    for (key, value) in meta(doc) {
        top.insert(key.to_owned(), serde_json::Value::String(value));
    }
    let columns = columns_of(doc.tag).unwrap_or(&COLUMNS);
    top.insert("columns".into(), serde_json::json!(columns));
    let entries: Vec<serde_json::Value> = doc
        .rows
        .iter()
        .map(|row| {
            let obj: serde_json::Map<String, serde_json::Value> =
                columns.iter().zip(row).map(|(k, v)| ((*k).to_owned(), serde_json::Value::String(v.clone()))).collect();
            serde_json::Value::Object(obj)
        })
        .collect();
    top.insert("entries".into(), serde_json::Value::Array(entries));
    let mut out = serde_json::to_vec_pretty(&serde_json::Value::Object(top)).map_err(|e| e.to_string())?;
    out.push(b'\n');
    Ok(out)
}

/// Reads an export file of either format (a byte order mark is allowed before CSV).
pub fn read(bytes: &[u8]) -> Result<ExportDoc, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "the file is not UTF-8 text".to_owned())?;
    let (bom, text) = match text.strip_prefix('\u{feff}') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if text.trim_start().starts_with('{') { read_json(text) } else { read_csv(text, bom) }
}

fn read_json(text: &str) -> Result<ExportDoc, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("the JSON does not parse: {e}"))?;
    let top = v.as_object().ok_or("the JSON is not an object")?;
    let get = |k: &str| -> Result<String, String> {
        top.get(k).and_then(|v| v.as_str()).map(str::to_owned).ok_or_else(|| format!("the JSON has no {k:?}"))
    };
    let columns = columns_of(&get("format")?).ok_or_else(|| format!("the file is not a {FORMAT_TAG} export"))?;
    let entries = top.get("entries").and_then(|e| e.as_array()).ok_or("the JSON has no \"entries\" list")?;
    let mut rows = Vec::with_capacity(entries.len());
    for (n, e) in entries.iter().enumerate() {
        let obj = e.as_object().ok_or_else(|| format!("entry {} is not an object", n + 1))?;
        let row = columns
            .iter()
            .map(|key| match obj.get(*key) {
                None | Some(serde_json::Value::Null) => String::new(),
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            })
            .collect();
        rows.push(row);
    }
    doc_from(get, rows)
}

fn read_csv(text: &str, bom: bool) -> Result<ExportDoc, String> {
    let mut r = csv::ReaderBuilder::new().flexible(true).has_headers(false).from_reader(text.as_bytes());
    let mut records = r.records();
    let header = records.next().ok_or("the file is empty")?.map_err(|e| e.to_string())?;
    let header: Vec<&str> = header.iter().collect();
    let Some(columns) = [&COLUMNS[..], &COLUMNS_V1[..]].into_iter().find(|c| *c == header.as_slice()) else {
        return Err("the first row does not name the columns of a Kura operation log export".into());
    };
    let mut rows = Vec::new();
    let mut meta = std::collections::HashMap::new();
    for record in records {
        let record = record.map_err(|e| format!("the CSV does not parse: {e}"))?;
        if record.get(0) == Some(CSV_MARK) {
            let (Some(k), Some(v)) = (record.get(1), record.get(2)) else {
                return Err(format!("a {CSV_MARK} row has no key and value"));
            };
            meta.insert(k.to_owned(), v.to_owned());
        } else if record.iter().all(str::is_empty) {
            continue;
        } else {
            if record.len() != columns.len() {
                return Err(format!("a row has {} cells, not {}", record.len(), columns.len()));
            }
            rows.push(record.iter().map(str::to_owned).collect());
        }
    }
    let doc = doc_from(|k| meta.get(k).cloned().ok_or_else(|| format!("the file has no {k:?} row")), rows)?;
    if columns_of(doc.tag) != Some(columns) {
        return Err("the columns of the first row are not those of the format the file names".into());
    }
    if (doc.format == ExportFormat::Csv) != bom {
        return Err("the byte order mark does not match the file format the manifest names".into());
    }
    Ok(doc)
}

fn doc_from(get: impl Fn(&str) -> Result<String, String>, rows: Vec<Vec<String>>) -> Result<ExportDoc, String> {
    let tag = match get("format")?.as_str() {
        FORMAT_TAG => FORMAT_TAG,
        FORMAT_TAG_V1 => FORMAT_TAG_V1,
        _ => return Err(format!("the file is not a {FORMAT_TAG} export")),
    };
    let format = ExportFormat::parse(&get("file_format")?).ok_or("unknown file_format")?;
    let (first, last) = (get("first_seq")?, get("last_seq")?);
    let entries = if first.is_empty() && last.is_empty() {
        None
    } else {
        let n = |s: &str| s.parse::<i64>().map_err(|_| format!("{s:?} is not a sequence number"));
        Some((n(&first)?, n(&last)?))
    };
    let disclosure = match get("disclosure_id") {
        Err(_) => None,
        Ok(id) => Some(Disclosure {
            id,
            reason: get("disclosure_reason")?,
            withheld: get("disclosure_withheld")? == "yes",
            disclosed_at: get("disclosed_at")?,
        }),
    };
    Ok(ExportDoc {
        tag,
        disclosure,
        format,
        origin: get("origin")?,
        tenant: get("tenant")?,
        time_zone: get("time_zone")?,
        from: get("from")?,
        to: get("to")?,
        exported_at: get("exported_at")?,
        entries,
        rows,
        before: parse_hashes(&get("proof_before")?)?,
        consistency: parse_hashes(&get("proof_consistency")?)?,
        checkpoint: get("checkpoint")?,
        public_key: get("public_key")?,
        manifest: get("manifest")?,
    })
}

/// What an export is made of, gathered by the service.
#[derive(Debug)]
pub struct Source<'a> {
    pub origin: String,
    pub tenant: String,
    pub time_zone: &'a kura_domain::TimeZoneName,
    pub from: jiff::Timestamp,
    pub to: jiff::Timestamp,
    pub exported_at: jiff::Timestamp,
    pub entries: &'a [kura_store::ExportedEntry],
    /// The tree over the leaves before the first entry.
    pub before: &'a kura_crypto::merkle::CompactRange,
    /// From the tree ending at the last entry to the checkpoint's.
    pub consistency: Vec<Hash>,
    /// The signed checkpoint note the proofs lead to.
    pub checkpoint: String,
    /// Set for a disclosure's package (LOG-5).
    pub disclosure: Option<Disclosure>,
}

/// An instant in `zone` with its offset (`2026-11-22T10:30:00+09:00`).
pub fn local_time(ts: jiff::Timestamp, zone: &kura_domain::TimeZoneName) -> String {
    ts.to_zoned(zone.zone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// The cells of one entry, as people read them, with its stored bytes.
fn cells(e: &kura_store::ExportedEntry, zone: &kura_domain::TimeZoneName, csv: bool) -> Vec<String> {
    let a = &e.entry;
    let row = [
        a.seq.to_string(),
        local_time(a.at, zone),
        a.at.to_string(),
        a.actor.kind.as_str().to_owned(),
        a.actor.label.clone(),
        a.actor.id.map(|u| u.to_string()).unwrap_or_default(),
        a.actor.role.clone().unwrap_or_default(),
        a.actor.source_ip.clone().unwrap_or_default(),
        a.actor.user_agent.clone().unwrap_or_default(),
        a.operation.as_str().to_owned(),
        a.target.clone().unwrap_or_default(),
        a.outcome.as_str().to_owned(),
        a.detail.clone().unwrap_or_default(),
        STANDARD.encode(&e.stored),
    ];
    let row = if csv { row.map(|c| crate::service::transfer::format::neutralise(&c).into_owned()) } else { row };
    row.into()
}

/// The export's content, its manifest signed with `signer` (the checkpoints' key).
pub fn build(
    format: ExportFormat,
    src: &Source<'_>,
    signer: &kura_crypto::merkle::NoteSigner,
) -> Result<ExportDoc, String> {
    let verifier = signer.verifier();
    let body = kura_crypto::merkle::open_note(&src.checkpoint, &verifier).map_err(|e| e.to_string())?;
    let checkpoint = kura_crypto::merkle::Checkpoint::parse(body).map_err(|e| e.to_string())?;
    let entries = src.entries.first().zip(src.entries.last()).map(|(f, l)| (f.entry.seq, l.entry.seq));
    let mut doc = ExportDoc {
        tag: FORMAT_TAG,
        format,
        origin: src.origin.clone(),
        tenant: src.tenant.clone(),
        time_zone: src.time_zone.as_str().to_owned(),
        from: local_time(src.from, src.time_zone),
        to: local_time(src.to, src.time_zone),
        exported_at: local_time(src.exported_at, src.time_zone),
        entries,
        rows: src.entries.iter().map(|e| cells(e, src.time_zone, format.is_csv())).collect(),
        before: src.before.nodes().map(|(_, h)| *h).collect(),
        consistency: src.consistency.clone(),
        checkpoint: src.checkpoint.clone(),
        public_key: verifier.to_text(),
        manifest: String::new(),
        disclosure: src.disclosure.clone(),
    };
    let text = manifest_text(&doc, checkpoint.size(), checkpoint.root());
    doc.manifest = kura_crypto::merkle::sign_note(&text, signer).map_err(|e| e.to_string())?;
    Ok(doc)
}

/// A cell of the stored bytes column (the last), decoded.
fn stored_of(row: &[String]) -> Result<Vec<u8>, String> {
    let cell = row.last().map_or("", String::as_str);
    STANDARD
        .decode(crate::service::transfer::format::restore(cell))
        .map_err(|_| "its stored bytes are not base64".into())
}

#[cfg(test)]
mod tests;
