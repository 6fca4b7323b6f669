//! Importing a file into a collection (DAT-6), for the API, the console and the CLI alike.
//!
//! The file arrives spooled to a temporary file ([`Upload`], up to `limits.import_max_bytes`),
//! is decoded chunk by chunk (UTF-8 with or without a byte order mark, or Shift_JIS, detected or
//! chosen), its columns mapped to fields — by key, then by label, corrected by the caller's
//! mapping — and every row checked against the collection's rules before anything is written.
//! A preview returns the first rows as they will be stored and every row's problems. The
//! import itself reads the file a second time and writes every row in one transaction through
//! the store's writer with one audit entry holding the counts and the file's SHA-256, or writes
//! nothing: a file with a bad row is refused unless the caller asked to import only the valid
//! rows. No pass keeps the rows: memory holds a few chunks of the file, the row being read, the
//! report (its first rows and every problem) and, for upserts, a digest of each key value seen.
//!
//! In upsert mode a row whose key field matches a record's updates that record (the columns in
//! the file replace those fields; an empty cell clears one; fields without a column keep their
//! values); other rows are inserted. CSV text cells undo the export's formula rule
//! ([`super::format::restore`]), so an exported file imports to the same values.

use super::format::Encoding;
use super::rows::{Row, Rows, csv_mapping};
use super::upload::{TextEncoding, Upload};
use crate::auth::TenantPrincipal;
use crate::error::{AppError, AppResult};
use crate::service::collections::find_at;
use crate::state::AppState;
use kura_domain::{
    AuditRecord, FieldDef, FieldError, FieldErrorKind, Operation, Permission, RecordData, RecordId, WriteMode,
};
use kura_store::RecordSnapshot;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Rows shown as they will be stored in a preview.
pub const PREVIEW_ROWS: usize = 20;

/// The file's format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportFormat {
    #[default]
    Csv,
    Jsonl,
}

/// Insert every row, or update the record whose key field matches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportMode {
    #[default]
    Insert,
    Upsert,
}

/// How to read a file and what to do with its rows.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"file": "5rCP5ZCNLOODneOCpOODs+ODiA0K5bGx55SwIOWkqumDjiwxMjANCg==", "format": "csv",
    "encoding": "auto", "mode": "insert", "columns": {"ポイント": "points"}, "valid_only": false}))]
pub struct RecordImportOptions {
    /// The file, base64-encoded (standard alphabet).
    pub file: String,
    #[serde(default)]
    pub format: ImportFormat,
    /// A CSV file's encoding; `auto` takes UTF-8 if the file is valid UTF-8, else Shift_JIS.
    #[serde(default)]
    pub encoding: Encoding,
    #[serde(default)]
    pub mode: ImportMode,
    /// The field that identifies a record in upsert mode.
    #[serde(default)]
    pub key: Option<String>,
    /// Corrections to the column mapping: a CSV header → a field's key, or `""` to ignore the
    /// column. Columns not named here are matched to a field's key, then to its label.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// Import the valid rows and skip the others, instead of refusing the whole file.
    #[serde(default)]
    pub valid_only: bool,
}

/// What an import did, or would do.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"written": false, "encoding": "Shift_JIS", "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "mode": "insert", "rows": 2, "valid": 1, "invalid": 1, "inserted": 1, "updated": 0,
    "columns": [{"column": "氏名", "field": "name"}, {"column": "備考", "field": null}],
    "preview": [{"line": 2, "values": {"name": "山田 太郎", "points": 120}}],
    "problems": [{"line": 3, "column": "ポイント", "field": "points", "message": "points: expected a number"}]}))]
pub struct RecordImportReport {
    /// Whether the records were written (false for a preview, or when refused).
    pub written: bool,
    /// The encoding the file was read in.
    pub encoding: String,
    /// The SHA-256 of the file, hex.
    pub sha256: String,
    pub mode: ImportMode,
    /// Data rows in the file.
    pub rows: usize,
    pub valid: usize,
    pub invalid: usize,
    /// Valid rows that insert a record, and that update one.
    pub inserted: usize,
    pub updated: usize,
    /// How each column of the file maps to a field (`null`: ignored).
    pub columns: Vec<ColumnMapping>,
    /// The first valid rows as they will be stored.
    pub preview: Vec<PreviewRow>,
    /// Every problem of every row.
    pub problems: Vec<RecordImportProblem>,
}

/// One column of the file and the field it fills.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"column": "氏名", "field": "name"}))]
pub struct ColumnMapping {
    pub column: String,
    pub field: Option<String>,
}

/// A row as it will be stored.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"line": 2, "values": {"name": "山田 太郎", "points": 120}}))]
pub struct PreviewRow {
    pub line: u64,
    #[schema(value_type = Object)]
    pub values: Map<String, Value>,
}

/// A problem of one row.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"line": 3, "column": "ポイント", "field": "points", "message": "points: expected a number"}))]
pub struct RecordImportProblem {
    /// The row's line in the file (the CSV header is line 1).
    pub line: u64,
    /// The file's column, when the problem is one cell's.
    pub column: Option<String>,
    pub field: Option<String>,
    pub message: String,
    #[serde(skip)]
    pub kind: Option<FieldErrorKind>,
}

/// How to read a file and what to do with its rows: [`RecordImportOptions`] without the file,
/// which travels apart (spooled, see [`Upload`]).
#[derive(Clone, Debug, Default)]
pub struct ImportChoices {
    pub format: ImportFormat,
    pub encoding: Encoding,
    pub mode: ImportMode,
    pub key: Option<String>,
    pub columns: BTreeMap<String, String>,
    pub valid_only: bool,
}

impl RecordImportOptions {
    /// The file (base64) and the choices.
    pub fn into_parts(self) -> (String, ImportChoices) {
        let choices = ImportChoices {
            format: self.format,
            encoding: self.encoding,
            mode: self.mode,
            key: self.key,
            columns: self.columns,
            valid_only: self.valid_only,
        };
        (self.file, choices)
    }
}

/// Checks the file and reports what an import would do; writes nothing.
pub async fn preview(
    state: &AppState,
    p: &TenantPrincipal,
    collection: &str,
    choices: &ImportChoices,
    upload: &Upload,
) -> AppResult<RecordImportReport> {
    let plan = Plan::new(state, p, collection, choices, upload).await?;
    plan.check(upload).await
}

/// Imports the file: every row in one transaction with one audit entry, or nothing. The file
/// is read twice: once to check every row (nothing is written if one is bad, unless only the
/// valid rows were asked for), then again to write.
pub async fn import(
    state: &AppState,
    p: &TenantPrincipal,
    collection: &str,
    choices: &ImportChoices,
    upload: &Upload,
) -> AppResult<RecordImportReport> {
    let plan = Plan::new(state, p, collection, choices, upload).await?;
    let mut report = plan.check(upload).await?;
    if report.invalid > 0 && !choices.valid_only {
        let errors = report
            .problems
            .iter()
            .map(|pr| {
                let place = format!("line {}: {}", pr.line, pr.column.as_deref().unwrap_or("row"));
                FieldError::new(place, FieldErrorKind::Invalid { reason: pr.message.clone() })
            })
            .collect();
        return Err(AppError::Validation(errors));
    }
    if report.valid == 0 {
        return Err(AppError::BadRequest("the file has no valid rows to import".into()));
    }
    let g = p.require(Permission::RecordsWrite)?;
    let c = &*plan.at.collection;
    let mut w = g.begin(&state.store).await?;
    let mut rows = plan.rows(upload)?;
    let mut seen = Seen::default();
    let (mut inserted, mut updated) = (0_usize, 0_usize);
    while let Some(row) = rows.next_row()? {
        let line = row.line;
        let Verdict::Ready { data, current } = plan.judge(row, &mut seen) else { continue };
        match current {
            None => {
                w.insert_record(g.tenant_id(), c.id, &data).await?;
                inserted += 1;
            }
            Some(id) => {
                let current = plan.snapshot.get(id).ok_or_else(|| changed(line))?;
                w.update_record(g.tenant_id(), c.id, id, Some(current.version), &data).await.map_err(|e| match e {
                    kura_store::StoreError::Conflict(_) | kura_store::StoreError::NotFound => changed(line),
                    other => other.into(),
                })?;
                updated += 1;
            }
        }
        if (inserted + updated).is_multiple_of(YIELD_ROWS) {
            tokio::task::yield_now().await;
        }
    }
    if (inserted, updated) != (report.inserted, report.updated) {
        // The same file, checked by the same rules against the same snapshot: cannot differ.
        // Dropping the write undoes it.
        return Err(AppError::Conflict("the file read differently the second time; import it again".into()));
    }
    let detail = format!(
        "format={} encoding={} mode={} inserted={} updated={} skipped={} sha256={}",
        match choices.format {
            ImportFormat::Csv => "csv",
            ImportFormat::Jsonl => "jsonl",
        },
        report.encoding,
        match choices.mode {
            ImportMode::Insert => "insert".to_owned(),
            ImportMode::Upsert => format!("upsert:{}", choices.key.as_deref().unwrap_or("")),
        },
        report.inserted,
        report.updated,
        report.invalid,
        report.sha256
    );
    w.commit(AuditRecord::success(Operation::RecordImport, format!("collection:{}", c.name)).with_detail(detail))
        .await?;
    report.written = true;
    Ok(report)
}

/// Rows between two yields to the runtime, so that a long import lets other requests run.
const YIELD_ROWS: usize = 1024;

fn changed(line: u64) -> AppError {
    AppError::Conflict(format!("the record of line {line} changed while the file was imported; import it again"))
}

/// Everything an import needs besides the rows: the collection, the encoding, the column
/// mapping and, for upserts, the key field with the records by their key.
struct Plan<'a> {
    choices: &'a ImportChoices,
    at: kura_store::CollectionAt,
    encoding: TextEncoding,
    sha256: String,
    columns: Vec<ColumnMapping>,
    key: Option<FieldDef>,
    snapshot: Arc<RecordSnapshot>,
    /// Record ids by key value (upserts).
    by_key: HashMap<String, RecordId>,
}

/// The key values seen so far in the file, by a 128-bit digest, with their line: 24 bytes a
/// row, and only in upsert mode.
#[derive(Default)]
struct Seen(HashMap<u128, u64>);

/// What one row would do.
enum Verdict {
    Ready { data: RecordData, current: Option<RecordId> },
    Invalid(Vec<RecordImportProblem>),
}

impl<'a> Plan<'a> {
    async fn new(
        state: &AppState,
        p: &TenantPrincipal,
        collection: &str,
        choices: &'a ImportChoices,
        upload: &Upload,
    ) -> AppResult<Plan<'a>> {
        let g = p.require(Permission::RecordsWrite)?;
        let at = find_at(state, &g, collection).await?;
        let c = &*at.collection;
        if !g.pii_visible()
            && let Some(f) = c.fields.iter().find(|f| f.pii)
        {
            // Upserts would overwrite values the importer cannot see; inserts would write values
            // they could not read back. Either needs pii.read.
            return Err(AppError::ForbiddenOther(format!(
                "{} holds personal information; importing into this collection requires pii.read",
                f.name
            )));
        }
        if upload.is_binary() {
            return Err(AppError::BadRequest(
                "the file is not a text file (an Excel workbook or archive?); save it as CSV first".into(),
            ));
        }
        let chosen = match choices.format {
            ImportFormat::Csv => choices.encoding,
            ImportFormat::Jsonl => Encoding::Utf8,
        };
        let encoding = match chosen {
            Encoding::Utf8 => Some(TextEncoding::Utf8).filter(|e| upload.is_valid(*e)).ok_or("UTF-8"),
            Encoding::ShiftJis => Some(TextEncoding::ShiftJis).filter(|e| upload.is_valid(*e)).ok_or("Shift_JIS"),
            Encoding::Auto => [TextEncoding::Utf8, TextEncoding::ShiftJis]
                .into_iter()
                .find(|e| upload.is_valid(*e))
                .ok_or("UTF-8 or Shift_JIS"),
        }
        .map_err(|what| AppError::BadRequest(format!("the file is not valid {what} text")))?;
        let key = match (choices.mode, choices.key.as_deref()) {
            (ImportMode::Insert, _) => None,
            (ImportMode::Upsert, Some(k)) => Some(c.field(k).cloned().ok_or_else(|| {
                AppError::BadRequest(format!("the key field {k:?} is not a field of this collection"))
            })?),
            (ImportMode::Upsert, None) => return Err(AppError::BadRequest("upsert needs a key field".into())),
        };
        let columns = match choices.format {
            ImportFormat::Csv => csv_mapping(c, upload, encoding, &choices.columns)?,
            ImportFormat::Jsonl => Vec::new(),
        };
        if let Some(k) = &key
            && choices.format == ImportFormat::Csv
            && !columns.iter().any(|m| m.field.as_deref() == Some(k.name.as_str()))
        {
            return Err(AppError::BadRequest(format!("the file has no column for the key field {}", k.name)));
        }
        // The records as they are now: upserts match against these, and write only if none
        // of them changed before the write.
        let snapshot = state.store.records_at(&at).await?;
        let by_key = match &key {
            Some(k) => {
                snapshot.iter().filter_map(|r| r.data.get(k.name.as_str()).map(|v| (v.display(), r.id))).collect()
            }
            None => HashMap::new(),
        };
        let sha256 = upload.sha256_hex();
        Ok(Plan { choices, at, encoding, sha256, columns, key, snapshot, by_key })
    }

    fn rows(&self, upload: &Upload) -> AppResult<Rows> {
        Rows::open(&self.at.collection, upload, self.choices.format, self.encoding, &self.columns)
    }

    /// Reads every row and reports what importing them would do; keeps no row.
    async fn check(&self, upload: &Upload) -> AppResult<RecordImportReport> {
        let mut report = RecordImportReport {
            written: false,
            encoding: self.encoding.name().to_owned(),
            sha256: self.sha256.clone(),
            mode: self.choices.mode,
            rows: 0,
            valid: 0,
            invalid: 0,
            inserted: 0,
            updated: 0,
            columns: self.columns.clone(),
            preview: Vec::new(),
            problems: Vec::new(),
        };
        let mut rows = self.rows(upload)?;
        let mut seen = Seen::default();
        while let Some(row) = rows.next_row()? {
            report.rows += 1;
            let line = row.line;
            match self.judge(row, &mut seen) {
                Verdict::Ready { data, current } => {
                    if current.is_some() {
                        report.updated += 1;
                    } else {
                        report.inserted += 1;
                    }
                    report.valid += 1;
                    if report.preview.len() < PREVIEW_ROWS {
                        let values = data.iter().map(|(k, v)| (k.clone(), v.to_json())).collect();
                        report.preview.push(PreviewRow { line, values });
                    }
                }
                Verdict::Invalid(problems) => {
                    report.invalid += 1;
                    report.problems.extend(problems);
                }
            }
            if report.rows.is_multiple_of(YIELD_ROWS) {
                tokio::task::yield_now().await;
            }
        }
        Ok(report)
    }

    /// Checks one row against the collection's rules (and, for upserts, the key).
    fn judge(&self, row: Row, seen: &mut Seen) -> Verdict {
        let c = &*self.at.collection;
        let Row { line, input } = row;
        let input = match input {
            Ok(input) => input,
            Err(message) => {
                return Verdict::Invalid(vec![RecordImportProblem {
                    line,
                    column: None,
                    field: None,
                    message,
                    kind: None,
                }]);
            }
        };
        let column_of =
            |field: &str| self.columns.iter().find(|m| m.field.as_deref() == Some(field)).map(|m| m.column.clone());
        let problem = |field: &str, kind: FieldErrorKind| {
            let e = FieldError::new(field, kind.clone());
            RecordImportProblem {
                line,
                column: column_of(field),
                field: Some(field.to_owned()),
                message: e.to_string(),
                kind: Some(kind),
            }
        };
        let mut problems = Vec::new();
        let mut current = None;
        if let Some(k) = &self.key {
            match input.get(k.name.as_str()).and_then(|v| k.parse_value(v).ok()).map(|v| v.display()) {
                None => problems.push(problem(k.name.as_str(), FieldErrorKind::Required)),
                Some(v) => {
                    let digest =
                        u128::from_be_bytes(kura_crypto::sha256(v.as_bytes())[..16].try_into().unwrap_or([0; 16]));
                    if let Some(first) = seen.0.insert(digest, line) {
                        let reason = format!("the key value is also on line {first}");
                        problems.push(problem(k.name.as_str(), FieldErrorKind::Invalid { reason }));
                    }
                    current = self.by_key.get(&v).copied();
                }
            }
        }
        let before = current.and_then(|id| self.snapshot.get(id));
        let validated = match before {
            None => c.validate(&input, WriteMode::Create, None),
            Some(r) => c.validate(&input, WriteMode::Patch, Some(&r.data)),
        };
        match validated {
            Ok(data) if problems.is_empty() => Verdict::Ready { data, current: before.map(|r| r.id) },
            Ok(_) => Verdict::Invalid(problems),
            Err(e) => {
                let errors = match e {
                    kura_domain::DomainError::Fields(errors) => errors,
                    other => vec![FieldError::new("row", FieldErrorKind::Invalid { reason: other.to_string() })],
                };
                for fe in errors {
                    problems.push(RecordImportProblem {
                        line,
                        column: column_of(&fe.field),
                        field: Some(fe.field.clone()),
                        message: fe.to_string(),
                        kind: Some(fe.kind.clone()),
                    });
                }
                Verdict::Invalid(problems)
            }
        }
    }
}
