//! The rows of a file to import, read one at a time from its spooled copy (DAT-6): a CSV file's
//! header mapped to fields (by key, then by label, corrected by the caller), or a JSON Lines
//! file's objects. Nothing here holds more than the row being read.

use super::format::restore;
use super::import::{ColumnMapping, ImportFormat};
use super::upload::{TextEncoding, TextReader, Upload};
use crate::error::{AppError, AppResult};
use kura_domain::{Collection, FieldType};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};

/// One data row: its line, and its values by field (or why it cannot be read).
pub(crate) struct Row {
    pub(crate) line: u64,
    pub(crate) input: Result<Map<String, Value>, String>,
}

/// A reading of the file, row after row.
pub(crate) enum Rows {
    Csv { reader: Box<csv::Reader<TextReader>>, record: csv::StringRecord, fields: Vec<Option<Target>>, index: u64 },
    Jsonl { reader: BufReader<TextReader>, line: String, number: u64 },
}

/// The field a CSV column fills, and whether its cells are text (the export's formula rule is
/// undone for those).
#[derive(Clone)]
pub(crate) struct Target {
    name: String,
    text_valued: bool,
}

impl Rows {
    /// Starts reading the file's rows; for CSV, with the header row read and mapped.
    pub(crate) fn open(
        c: &Collection,
        upload: &Upload,
        format: ImportFormat,
        encoding: TextEncoding,
        mapping: &[ColumnMapping],
    ) -> AppResult<Self> {
        let text = upload.text(encoding)?;
        match format {
            ImportFormat::Csv => {
                let mut reader = Box::new(csv::ReaderBuilder::new().flexible(true).from_reader(text));
                // The header was read and mapped by `mapping`; reading it again moves past it.
                reader.headers().map_err(|e| AppError::BadRequest(format!("the header row cannot be read: {e}")))?;
                let fields = mapping
                    .iter()
                    .map(|m| {
                        let f = m.field.as_deref().and_then(|name| c.field(name))?;
                        let text_valued =
                            !matches!(f.field_type, FieldType::Number | FieldType::Date | FieldType::Boolean);
                        Some(Target { name: f.name.to_string(), text_valued })
                    })
                    .collect();
                Ok(Self::Csv { reader, record: csv::StringRecord::new(), fields, index: 0 })
            }
            ImportFormat::Jsonl => Ok(Self::Jsonl { reader: BufReader::new(text), line: String::new(), number: 0 }),
        }
    }

    /// The next row, or `None` at the end of the file. An error means the file itself cannot
    /// be read any further.
    pub(crate) fn next_row(&mut self) -> AppResult<Option<Row>> {
        match self {
            Self::Csv { reader, record, fields, index } => {
                *index += 1;
                let fallback = *index + 1;
                match reader.read_record(record) {
                    Ok(false) => Ok(None),
                    Ok(true) => {
                        let line = record.position().map_or(fallback, |p| p.line());
                        let mut input = Map::new();
                        for (target, cell) in fields.iter().zip(record.iter()) {
                            let Some(t) = target else { continue };
                            // Exports neutralise every text-valued cell (not numbers, dates or booleans).
                            let value = if t.text_valued { restore(cell) } else { cell };
                            let value =
                                if value.trim().is_empty() { Value::Null } else { Value::String(value.to_owned()) };
                            input.insert(t.name.clone(), value);
                        }
                        Ok(Some(Row { line, input: Ok(input) }))
                    }
                    Err(e) => match e.kind() {
                        csv::ErrorKind::Io(io) => Err(unreadable(io)),
                        _ => {
                            let line = e.position().map_or(fallback, |p| p.line());
                            Ok(Some(Row { line, input: Err(format!("the row cannot be read: {e}")) }))
                        }
                    },
                }
            }
            Self::Jsonl { reader, line, number } => loop {
                line.clear();
                if reader.read_line(line).map_err(|e| unreadable(&e))? == 0 {
                    return Ok(None);
                }
                *number += 1;
                let l = line.trim_end_matches(['\n', '\r']);
                if l.trim().is_empty() {
                    continue;
                }
                return Ok(Some(Row { line: *number, input: jsonl_input(l) }));
            },
        }
    }
}

/// A line of JSON Lines: an object of field values, or a record as exported (its `data`).
fn jsonl_input(l: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str::<Value>(l) {
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
    }
}

fn unreadable(e: &std::io::Error) -> AppError {
    match e.kind() {
        std::io::ErrorKind::InvalidData => AppError::BadRequest("the file is not valid text in its encoding".into()),
        _ => AppError::Internal(Box::new(std::io::Error::new(e.kind(), e.to_string()))),
    }
}

/// How the CSV file's columns map to fields: read from its header row, checked against the
/// collection and the caller's corrections.
pub(crate) fn csv_mapping(
    c: &Collection,
    upload: &Upload,
    encoding: TextEncoding,
    corrections: &BTreeMap<String, String>,
) -> AppResult<Vec<ColumnMapping>> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(upload.text(encoding)?);
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
    Ok(mapping)
}
