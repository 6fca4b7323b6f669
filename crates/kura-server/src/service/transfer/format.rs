//! File formats of exports and imports: CSV in three encodings and JSON Lines, the header row's
//! names, and the rule that keeps spreadsheet formulas out of exported CSV cells.

use encoding_rs::SHIFT_JIS;
use serde::Deserialize;
use std::borrow::Cow;

/// The file format of an export or import.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// CSV in UTF-8 with a byte order mark, which Excel needs to read UTF-8 (the default).
    #[default]
    Csv,
    /// CSV in UTF-8 without a byte order mark.
    CsvUtf8,
    /// CSV in Shift_JIS (Windows code page 932), for older tools.
    CsvSjis,
    /// JSON Lines: one record a line, as the API shows it.
    Jsonl,
}

impl Format {
    pub const ALL: [Format; 4] = [Self::Csv, Self::CsvUtf8, Self::CsvSjis, Self::Jsonl];
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::CsvUtf8 => "csv-utf8",
            Self::CsvSjis => "csv-sjis",
            Self::Jsonl => "jsonl",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }
    pub const fn is_csv(self) -> bool {
        !matches!(self, Self::Jsonl)
    }
    pub const fn content_type(self) -> &'static str {
        match self {
            Self::Csv | Self::CsvUtf8 => "text/csv; charset=utf-8",
            Self::CsvSjis => "text/csv; charset=Shift_JIS",
            Self::Jsonl => "application/jsonl",
        }
    }
    pub const fn extension(self) -> &'static str {
        if self.is_csv() { "csv" } else { "jsonl" }
    }
}

/// What the header row of a CSV file names each column by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HeaderNames {
    /// The fields' labels, as people read them (氏名, フリガナ…; the default).
    #[default]
    Label,
    /// The fields' keys, as the API names them (name, kana…).
    Key,
}

impl HeaderNames {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Label => "label",
            Self::Key => "key",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Label, Self::Key].into_iter().find(|h| h.as_str() == s)
    }
}

/// The characters that make a spreadsheet read a cell as a formula (OWASP's list).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The export rule against formula injection in CSV: a text value that starts with `=`, `+`,
/// `-`, `@`, a tab or a carriage return gets a leading apostrophe, which spreadsheets show as
/// text; so does a text value that already starts with an apostrophe, so that [`restore`] can
/// undo the rule exactly.
pub fn neutralise(value: &str) -> Cow<'_, str> {
    if value.starts_with(FORMULA_STARTS) || value.starts_with('\'') {
        Cow::Owned(format!("'{value}"))
    } else {
        Cow::Borrowed(value)
    }
}

/// The inverse of [`neutralise`], applied to the text cells of an imported CSV file: one
/// leading apostrophe is removed when what follows starts with a formula character or another
/// apostrophe.
pub fn restore(value: &str) -> &str {
    match value.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_STARTS) || rest.starts_with('\'') => rest,
        _ => value,
    }
}

/// The first character of `text` that Shift_JIS (code page 932) cannot hold.
pub fn unencodable_in_sjis(text: &str) -> Option<char> {
    if text.is_ascii() || !SHIFT_JIS.encode(text).2 {
        return None;
    }
    let mut buf = [0u8; 4];
    text.chars().find(|c| SHIFT_JIS.encode(c.encode_utf8(&mut buf)).2)
}

/// `text` in Shift_JIS; `None` if a character has no Shift_JIS form.
pub fn to_sjis(text: &str) -> Option<Vec<u8>> {
    let (bytes, _, replaced) = SHIFT_JIS.encode(text);
    (!replaced).then(|| bytes.into_owned())
}

/// The encoding of an imported CSV file (the import checks it while spooling the file:
/// [`super::upload`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// UTF-8 (with or without a byte order mark) if the file is valid UTF-8, otherwise
    /// Shift_JIS if it is valid Shift_JIS (the default).
    #[default]
    Auto,
    Utf8,
    ShiftJis,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dat_5_neutralising_is_undone_exactly_by_restoring() {
        for v in ["=cmd|' /C calc'!A0", "+1", "-2", "@SUM(A1)", "'quoted", "''", "plain", "", "'", "山田", "\ttab"] {
            assert_eq!(restore(&neutralise(v)), v, "{v:?}");
        }
        assert_eq!(neutralise("=1+2"), "'=1+2");
        assert_eq!(neutralise("山田 太郎"), "山田 太郎");
        // A file written by hand keeps a lone apostrophe that protects nothing.
        assert_eq!(restore("'abc"), "'abc");
    }

    #[test]
    fn dat_5_shift_jis_holds_half_width_kana_and_names_what_it_cannot_hold() {
        let text = "ﾔﾏﾀﾞ ﾀﾛｳ・山田　太郎、①";
        let bytes = to_sjis(text).expect("encodable");
        assert_eq!(SHIFT_JIS.decode_without_bom_handling(&bytes).0, text);
        assert_eq!(unencodable_in_sjis("山田🍣太郎"), Some('🍣'));
        assert_eq!(unencodable_in_sjis("abc"), None);
        assert_eq!(to_sjis("한국어"), None);
    }
}
