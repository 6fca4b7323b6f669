//! Importing a file into a collection (DAT-6), for the API, the console and the CLI alike.
//!
//! The file is read whole (up to `limits.import_max_bytes`), decoded (UTF-8 with or without a
//! byte order mark, or Shift_JIS, detected or chosen), its columns mapped to fields — by key,
//! then by label, corrected by the caller's mapping — and every row checked against the
//! collection's rules before anything is written. A preview returns the first rows as they
//! will be stored and every row's problems. The import itself writes every row in one
//! transaction through the store's writer with one audit entry holding the counts and the
//! file's SHA-256, or writes nothing: a file with a bad row is refused unless the caller asked
//! to import only the valid rows.
//!
//! In upsert mode a row whose key field matches a record's updates that record (the columns in
//! the file replace those fields; an empty cell clears one; fields without a column keep their
//! values); other rows are inserted. CSV text cells undo the export's formula rule
//! ([`super::format::restore`]), so an exported file imports to the same values.

use super::format::{DecodeError, Encoding, decode, restore};
use crate::auth::TenantPrincipal;
use crate::error::{AppError, AppResult};
use crate::service::collections::find_at;
use crate::state::AppState;
use kura_domain::{
    AuditRecord, Collection, FieldError, FieldErrorKind, FieldType, Operation, Permission, Record, RecordData,
    WriteMode,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};

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

/// A checked row, ready to write.
struct Ready {
    line: u64,
    data: RecordData,
    /// The record it updates (upsert), as read.
    current: Option<Record>,
}

/// Checks the file and reports what an import would do; writes nothing.
pub async fn preview(
    state: &AppState,
    p: &TenantPrincipal,
    collection: &str,
    options: &RecordImportOptions,
) -> AppResult<RecordImportReport> {
    let (report, _) = check(state, p, collection, options).await?;
    Ok(report)
}

/// Imports the file: every row in one transaction with one audit entry, or nothing.
pub async fn import(
    state: &AppState,
    p: &TenantPrincipal,
    collection: &str,
    options: &RecordImportOptions,
) -> AppResult<RecordImportReport> {
    let (mut report, ready) = check(state, p, collection, options).await?;
    if report.invalid > 0 && !options.valid_only {
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
    if ready.is_empty() {
        return Err(AppError::BadRequest("the file has no valid rows to import".into()));
    }
    let g = p.require(Permission::RecordsWrite)?;
    let at = find_at(state, &g, collection).await?;
    let c = &at.collection;
    let mut w = g.begin(&state.store).await?;
    for row in &ready {
        match &row.current {
            None => {
                w.insert_record(g.tenant_id(), c.id, &row.data).await?;
            }
            Some(current) => {
                w.update_record(g.tenant_id(), c.id, current.id, Some(current.version), &row.data).await.map_err(
                    |e| match e {
                        kura_store::StoreError::Conflict(_) | kura_store::StoreError::NotFound => {
                            AppError::Conflict(format!(
                                "the record of line {} changed while the file was imported; import it again",
                                row.line
                            ))
                        }
                        other => other.into(),
                    },
                )?;
            }
        }
    }
    let detail = format!(
        "format={} encoding={} mode={} inserted={} updated={} skipped={} sha256={}",
        match options.format {
            ImportFormat::Csv => "csv",
            ImportFormat::Jsonl => "jsonl",
        },
        report.encoding,
        match options.mode {
            ImportMode::Insert => "insert".to_owned(),
            ImportMode::Upsert => format!("upsert:{}", options.key.as_deref().unwrap_or("")),
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

/// Reads, maps and checks every row.
async fn check(
    state: &AppState,
    p: &TenantPrincipal,
    collection: &str,
    options: &RecordImportOptions,
) -> AppResult<(RecordImportReport, Vec<Ready>)> {
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
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, options.file.trim())
        .map_err(|_| AppError::BadRequest("file must be the file's bytes in base64".into()))?;
    let max = state.settings.limits.import_max_bytes;
    if bytes.len() > max {
        return Err(AppError::BadRequest(format!("the file is larger than the limit of {max} bytes")));
    }
    let sha256: String = kura_crypto::sha256(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    let encoding = match options.format {
        ImportFormat::Csv => options.encoding,
        ImportFormat::Jsonl => Encoding::Utf8,
    };
    let (text, encoding_name) = decode(&bytes, encoding).map_err(|e| match e {
        DecodeError::Binary => AppError::BadRequest(
            "the file is not a text file (an Excel workbook or archive?); save it as CSV first".into(),
        ),
        DecodeError::NotIn(what) => AppError::BadRequest(format!("the file is not valid {what} text")),
    })?;
    let key =
        match (options.mode, options.key.as_deref()) {
            (ImportMode::Insert, _) => None,
            (ImportMode::Upsert, Some(k)) => Some(c.field(k).ok_or_else(|| {
                AppError::BadRequest(format!("the key field {k:?} is not a field of this collection"))
            })?),
            (ImportMode::Upsert, None) => {
                return Err(AppError::BadRequest("upsert needs a key field".into()));
            }
        };
    let (columns, rows) = match options.format {
        ImportFormat::Csv => read_csv(c, &text, &options.columns)?,
        ImportFormat::Jsonl => read_jsonl(&text)?,
    };
    if let Some(k) = key
        && options.format == ImportFormat::Csv
        && !columns.iter().any(|m| m.field.as_deref() == Some(k.name.as_str()))
    {
        return Err(AppError::BadRequest(format!("the file has no column for the key field {}", k.name)));
    }
    // Records by their key value, for upserts.
    let snapshot = state.store.records_at(&at).await?;
    let by_key: HashMap<String, &Record> = match key {
        Some(k) => snapshot.iter().filter_map(|r| r.data.get(k.name.as_str()).map(|v| (v.display(), r))).collect(),
        None => HashMap::new(),
    };
    let mut report = RecordImportReport {
        written: false,
        encoding: encoding_name.to_owned(),
        sha256,
        mode: options.mode,
        rows: rows.len(),
        valid: 0,
        invalid: 0,
        inserted: 0,
        updated: 0,
        columns,
        preview: Vec::new(),
        problems: Vec::new(),
    };
    let mut ready = Vec::new();
    let mut seen_keys: HashMap<String, u64> = HashMap::new();
    // The file's column of each field (CSV), to name a cell's problem by its column.
    let column_by_field: HashMap<&str, &str> =
        report.columns.iter().filter_map(|m| m.field.as_deref().map(|f| (f, m.column.as_str()))).collect();
    let column_by_field: HashMap<String, String> =
        column_by_field.into_iter().map(|(f, c)| (f.to_owned(), c.to_owned())).collect();
    let column_of = |field: &str| column_by_field.get(field).cloned();
    for row in rows {
        let Row { line, input } = row;
        let mut problems = Vec::new();
        let input = match input {
            Ok(input) => input,
            Err(message) => {
                problems.push(RecordImportProblem { line, column: None, field: None, message, kind: None });
                report.invalid += 1;
                report.problems.extend(problems);
                continue;
            }
        };
        let current = match key {
            None => None,
            Some(k) => {
                let value = input.get(k.name.as_str()).and_then(|v| k.parse_value(v).ok()).map(|v| v.display());
                match value {
                    None => {
                        let kind = FieldErrorKind::Required;
                        let e = FieldError::new(k.name.as_str(), kind.clone());
                        problems.push(RecordImportProblem {
                            line,
                            column: column_of(k.name.as_str()),
                            field: Some(k.name.to_string()),
                            message: e.to_string(),
                            kind: Some(kind),
                        });
                        None
                    }
                    Some(v) => {
                        if let Some(first) = seen_keys.insert(v.clone(), line) {
                            let kind =
                                FieldErrorKind::Invalid { reason: format!("the key value is also on line {first}") };
                            let e = FieldError::new(k.name.as_str(), kind.clone());
                            problems.push(RecordImportProblem {
                                line,
                                column: column_of(k.name.as_str()),
                                field: Some(k.name.to_string()),
                                message: e.to_string(),
                                kind: Some(kind),
                            });
                        }
                        by_key.get(&v).map(|r| (*r).clone())
                    }
                }
            }
        };
        let validated = match &current {
            None => c.validate(&input, WriteMode::Create, None),
            Some(r) => c.validate(&input, WriteMode::Patch, Some(&r.data)),
        };
        match validated {
            Ok(data) if problems.is_empty() => {
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
                ready.push(Ready { line, data, current });
            }
            Ok(_) => {
                report.invalid += 1;
                report.problems.extend(problems);
            }
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
                report.invalid += 1;
                report.problems.extend(problems);
            }
        }
    }
    Ok((report, ready))
}

/// One data row: its line, and its values by field (or why it cannot be read).
struct Row {
    line: u64,
    input: Result<Map<String, Value>, String>,
}

/// The CSV file's column mapping and rows.
fn read_csv(
    c: &Collection,
    text: &str,
    corrections: &BTreeMap<String, String>,
) -> AppResult<(Vec<ColumnMapping>, Vec<Row>)> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| AppError::BadRequest(format!("the header row cannot be read: {e}")))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect::<Vec<_>>();
    for (column, field) in corrections {
        if !headers.contains(column) {
            return Err(AppError::BadRequest(format!("the mapping names a column the file does not have: {column}")));
        }
        if !field.is_empty() && c.field(field).is_none() {
            return Err(AppError::BadRequest(format!("the mapping names a field that does not exist: {field}")));
        }
    }
    let mapping: Vec<ColumnMapping> = headers
        .iter()
        .map(|h| {
            let field = match corrections.get(h) {
                Some(f) if f.is_empty() => None,
                Some(f) => Some(f.clone()),
                None => c.field(h).map(|f| f.name.to_string()).or_else(|| {
                    let mut by_label = c.fields.iter().filter(|f| f.label.as_str() == h);
                    match (by_label.next(), by_label.next()) {
                        (Some(f), None) => Some(f.name.to_string()),
                        _ => None,
                    }
                }),
            };
            ColumnMapping { column: h.clone(), field }
        })
        .collect();
    let mut used = HashMap::new();
    for m in &mapping {
        if let Some(f) = &m.field
            && let Some(other) = used.insert(f.clone(), m.column.clone())
        {
            return Err(AppError::BadRequest(format!(
                "two columns map to the field {f}: {other} and {}; correct the mapping",
                m.column
            )));
        }
    }
    if let Some(f) = c.fields.iter().find(|f| f.required && !used.contains_key(f.name.as_str())) {
        return Err(AppError::BadRequest(format!(
            "the file has no column for the required field {} ({})",
            f.label, f.name
        )));
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let fallback = (i as u64) + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(fallback, |p| p.line());
                rows.push(Row { line, input: Err(format!("the row cannot be read: {e}")) });
                continue;
            }
        };
        let line = record.position().map_or(fallback, |p| p.line());
        let mut input = Map::new();
        for (m, cell) in mapping.iter().zip(record.iter()) {
            let Some(name) = &m.field else { continue };
            let Some(f) = c.field(name) else { continue };
            // Exports neutralise every text-valued cell (not numbers, dates or booleans).
            let text_valued = !matches!(f.field_type, FieldType::Number | FieldType::Date | FieldType::Boolean);
            let value = if text_valued { restore(cell) } else { cell };
            let value = if value.trim().is_empty() { Value::Null } else { Value::String(value.to_owned()) };
            input.insert(name.clone(), value);
        }
        rows.push(Row { line, input: Ok(input) });
    }
    Ok((mapping, rows))
}

/// The JSON Lines file's rows: each line an object of field values, or a record as exported
/// (its `data`).
fn read_jsonl(text: &str) -> AppResult<(Vec<ColumnMapping>, Vec<Row>)> {
    let mut rows = Vec::new();
    for (i, l) in text.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        let line = (i as u64) + 1;
        let input = match serde_json::from_str::<Value>(l) {
            Ok(Value::Object(mut o)) => match o.remove("data") {
                Some(Value::Object(data)) if o.contains_key("id") => Ok(data),
                Some(other) => {
                    o.insert("data".into(), other);
                    Ok(o)
                }
                None => Ok(o),
            },
            Ok(_) => Err("the line is not a JSON object".to_owned()),
            Err(e) => Err(format!("the line is not valid JSON: {e}")),
        };
        rows.push(Row { line, input });
    }
    Ok((Vec::new(), rows))
}
