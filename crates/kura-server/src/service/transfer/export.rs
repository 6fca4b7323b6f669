//! Exporting one collection's records (DAT-5), for the API, the console and the CLI alike.
//!
//! An export reads one snapshot of the collection (the store's in-memory snapshot at its
//! current change number, shared with the record listings) and writes it out in chunks of
//! [`CHUNK`] records: memory beyond the snapshot is one chunk's bytes, whatever the size of the
//! collection. Every record of the file comes from that one snapshot, so an export is
//! consistent even while records change.
//!
//! What can go wrong is found before the first byte goes out: a Shift_JIS export checks every
//! value it will write first, and a value that Shift_JIS cannot hold is refused naming its
//! record and field, never replaced. Personal-information fields are masked for a principal
//! without `pii.read` (IAM-3). The export is audited once, with its format and row count,
//! before the file is handed over.

use super::format::{Format, HeaderNames, neutralise, to_sjis, unencodable_in_sjis};
use crate::auth::TenantPrincipal;
use crate::error::{AppError, AppResult};
use crate::service::collections::find_at;
use crate::service::records::view;
use crate::state::AppState;
use kura_domain::{
    AuditRecord, AuditScope, Collection, FieldError, FieldErrorKind, FieldType, FieldValue, MASK, Operation,
    Permission, Record,
};
use kura_store::RecordSnapshot;
use serde::Deserialize;
use std::borrow::Cow;
use std::sync::Arc;

/// Records written per chunk.
pub const CHUNK: usize = 500;

/// What a masked value reads in a Shift_JIS file, which has no `•`.
const MASK_SJIS: &str = "●●●●●●";

/// At most this many unencodable values are named in one refusal.
const MAX_NAMED: usize = 20;

/// Query parameters of an export.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// `csv` (UTF-8 with a byte order mark, for Excel; the default), `csv-utf8` (without it),
    /// `csv-sjis` (Shift_JIS) or `jsonl` (JSON Lines).
    #[param(example = "csv")]
    pub format: Option<Format>,
    /// What the CSV header row names the columns by: `label` (the default) or `key`.
    #[param(example = "label")]
    pub header: Option<HeaderNames>,
}

/// An export under way: the snapshot it reads and how far it got.
#[derive(Debug)]
pub struct Exporter {
    collection: Arc<Collection>,
    records: Arc<RecordSnapshot>,
    format: Format,
    header: HeaderNames,
    pii_visible: bool,
    /// Records written so far; `None` before the header.
    next: Option<usize>,
}

/// Starts an export of `collection` for `p`, which needs `records.export`. Checks everything the
/// file will hold and audits the export; then [`Exporter::next_chunk`] writes it out.
pub async fn start(
    state: &AppState,
    p: &TenantPrincipal,
    collection: &str,
    params: &ExportParams,
) -> AppResult<Exporter> {
    let exporter = open(state, p, collection, params).await?;
    exporter.check_encodable()?;
    let g = p.require(Permission::RecordsExport)?;
    let entry = AuditRecord::success(Operation::RecordExport, format!("collection:{}", exporter.collection.name))
        .with_detail(exporter.describe());
    state.store.audit_only(AuditScope::Tenant(g.tenant_id()), p.actor().clone(), entry).await?;
    super::flag::check(state, p).await?;
    Ok(exporter)
}

/// An export of `collection` for `p` (which needs `records.export`), neither checked nor
/// audited: for [`start`] and for the whole-tenant archive, which audits once for all.
pub(crate) async fn open(
    state: &AppState,
    p: &TenantPrincipal,
    collection: &str,
    params: &ExportParams,
) -> AppResult<Exporter> {
    let g = p.require(Permission::RecordsExport)?;
    let at = find_at(state, &g, collection).await?;
    let records = state.store.records_at(&at).await?;
    Ok(Exporter {
        collection: at.collection.clone(),
        records,
        format: params.format.unwrap_or_default(),
        header: params.header.unwrap_or_default(),
        pii_visible: g.pii_visible(),
        next: None,
    })
}

impl Exporter {
    /// The same snapshot written again from the start in `format`.
    pub(crate) fn reformatted(&self, format: Format) -> Self {
        Self {
            collection: self.collection.clone(),
            records: self.records.clone(),
            format,
            header: self.header,
            pii_visible: self.pii_visible,
            next: None,
        }
    }

    /// What the audit entry of the export says: format, rows and whether values were masked.
    fn describe(&self) -> String {
        format!(
            "format={} rows={} pii={}",
            self.format.as_str(),
            self.rows(),
            if self.masks_pii() { "masked" } else { "shown" }
        )
    }

    /// Whether personal information in the file is masked (the reader lacks `pii.read`).
    pub(crate) fn masks_pii(&self) -> bool {
        self.collection.fields.iter().any(|f| f.pii) && !self.pii_visible
    }

    /// The collection's key.
    pub(crate) fn collection_name(&self) -> &str {
        self.collection.name.as_str()
    }

    /// The number of records in the file.
    pub fn rows(&self) -> usize {
        self.records.len()
    }
    pub fn format(&self) -> Format {
        self.format
    }
    /// A name for the file: the collection's key and the format's extension.
    pub fn file_name(&self) -> String {
        format!("{}.{}", self.collection.name, self.format.extension())
    }
    /// Records written so far.
    pub fn written(&self) -> usize {
        self.next.unwrap_or(0)
    }

    /// The next bytes of the file, `None` once it is complete.
    pub fn next_chunk(&mut self) -> Option<Vec<u8>> {
        let from = match self.next {
            Some(n) if n >= self.records.len() => return None,
            Some(n) => n,
            None => 0,
        };
        let mut out = Vec::new();
        if self.next.is_none() && self.format == Format::Csv {
            out.extend_from_slice("\u{feff}".as_bytes());
        }
        let chunk = self.records.iter_from(from).take(CHUNK);
        let mut written = 0;
        if self.format.is_csv() {
            let mut w = csv_writer(&mut out);
            if self.next.is_none() {
                let names = self.collection.fields.iter().map(|f| match self.header {
                    HeaderNames::Label => f.label.as_str(),
                    HeaderNames::Key => f.name.as_str(),
                });
                // Writing into a vector cannot fail.
                let _ = w.write_record(names);
            }
            for r in chunk {
                let _ = w.write_record(self.cells(r).collect::<Vec<_>>().iter().map(|c| c.as_bytes()));
                written += 1;
            }
            let _ = w.flush();
        } else {
            for r in chunk {
                let line = view(&self.collection, r.clone(), self.pii_visible);
                // A record view is plain JSON, and writing into a vector cannot fail.
                let _ = serde_json::to_writer(&mut out, &line);
                out.push(b'\n');
                written += 1;
            }
        }
        self.next = Some(from + written);
        if self.format == Format::CsvSjis {
            // Every value was checked at the start (`check_encodable`).
            return Some(String::from_utf8(out).ok().and_then(|s| to_sjis(&s)).unwrap_or_default());
        }
        Some(out)
    }

    /// The CSV cells of one record, in field order: empty for no value, masked personal
    /// information without `pii.read`, text neutralised against formulas.
    fn cells<'r>(&'r self, r: &'r Record) -> impl Iterator<Item = Cow<'r, str>> + 'r {
        self.collection.fields.iter().map(move |f| match r.data.get(f.name.as_str()) {
            None => Cow::Borrowed(""),
            Some(_) if f.pii && !self.pii_visible => {
                Cow::Borrowed(if self.format == Format::CsvSjis { MASK_SJIS } else { MASK })
            }
            Some(FieldValue::Text(s)) if matches!(f.field_type, FieldType::Date) => Cow::Borrowed(s.as_str()),
            Some(FieldValue::Text(s)) => neutralise(s),
            Some(v) => Cow::Owned(v.display()),
        })
    }

    /// Refuses a Shift_JIS export that would have to replace a character, naming each record
    /// and field (up to [`MAX_NAMED`]).
    fn check_encodable(&self) -> AppResult<()> {
        if self.format != Format::CsvSjis {
            return Ok(());
        }
        let mut errors = Vec::new();
        let refuse = |errors: &mut Vec<FieldError>, place: String, c: char| {
            errors.push(FieldError::new(
                place,
                FieldErrorKind::Invalid {
                    reason: format!("cannot be written in Shift_JIS: {c} (U+{:04X})", u32::from(c)),
                },
            ));
        };
        for f in &self.collection.fields {
            let name = match self.header {
                HeaderNames::Label => f.label.as_str(),
                HeaderNames::Key => f.name.as_str(),
            };
            if let Some(c) = unencodable_in_sjis(name) {
                refuse(&mut errors, format!("header/{}", f.name), c);
            }
        }
        for r in self.records.iter() {
            for (field, cell) in self.collection.fields.iter().zip(self.cells(r)) {
                if let Some(c) = unencodable_in_sjis(&cell) {
                    refuse(&mut errors, format!("record {}/{}", r.id, field.name), c);
                }
            }
            if errors.len() >= MAX_NAMED {
                break;
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(AppError::Validation(errors)) }
    }
}

/// A CSV writer as Excel writes files (RFC 4180 with CRLF line ends): a cell with a comma,
/// quote or line break is quoted, and its quotes doubled.
fn csv_writer(out: &mut Vec<u8>) -> csv::Writer<&mut Vec<u8>> {
    csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dat_5_csv_cells_are_quoted_only_when_they_need_it() {
        let mut out = Vec::new();
        let cells = ["山田, 太郎", "say \"hi\"", "two\nlines", "", "plain"];
        let mut w = csv_writer(&mut out);
        w.write_record(cells).expect("writes");
        drop(w);
        assert_eq!(out, "\"山田, 太郎\",\"say \"\"hi\"\"\",\"two\nlines\",,plain\r\n".as_bytes());
        let back: Vec<String> = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(out.as_slice())
            .records()
            .next()
            .expect("a row")
            .expect("reads")
            .iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(back, cells);
    }
}
