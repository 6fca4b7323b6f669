//! Stored values as people read them: choices by their labels, yes/no in words, numbers with
//! digit grouping, masked personal information marked as such; and a record's title, the value
//! of its collection's display field.

use crate::console::i18n::Lang;
use crate::console::msg::Msg;
use crate::service::records::RecordView;
use kura_domain::{Collection, FieldDef, FieldType};
use maud::{Markup, html};
use serde_json::Value;

/// What the service shows in place of personal information.
pub const MASK: &str = "••••••";

/// A number with its whole part grouped by three (`1,234,567.5`), as Japanese back offices
/// write amounts; at most 15 significant digits, as stored.
pub fn group_digits(n: f64) -> String {
    let text = if n.fract() == 0.0 && n.abs() < 1e15 { format!("{}", n as i64) } else { n.to_string() };
    let (sign, rest) = text.strip_prefix('-').map_or(("", text.as_str()), |r| ("-", r));
    let (whole, fraction) = rest.split_once('.').map_or((rest, None), |(w, f)| (w, Some(f)));
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
    for (i, d) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(d);
    }
    match fraction {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// `s` with every invisible direction character written out as `[U+202E]`, so that a value
/// cannot make itself or what follows it read differently from what it holds.
pub fn escape_invisible(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if kura_domain::is_invisible_control(c) {
            out.push_str(&format!("[U+{:04X}]", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether a value is the mask shown for personal information the reader may not see.
pub fn is_masked(f: &FieldDef, v: Option<&Value>) -> bool {
    f.pii && matches!(v, Some(Value::String(s)) if s == MASK)
}

/// The text of a stored value, direction characters written out; `None` when there is none (or
/// it is masked).
pub fn value_text(f: &FieldDef, v: Option<&Value>, lang: Lang) -> Option<String> {
    if is_masked(f, v) {
        return None;
    }
    Some(match v? {
        Value::Null => return None,
        Value::Bool(b) => Msg::yes_no(*b).text(lang).to_owned(),
        Value::Number(n) => match n.as_f64() {
            Some(x) if f.field_type == FieldType::Number => group_digits(x),
            _ => n.to_string(),
        },
        Value::String(s) if f.field_type == FieldType::Choice => escape_invisible(f.choice_label(s)),
        Value::String(s) => escape_invisible(s),
        other => other.to_string(),
    })
}

/// A value for a page: its text, or the mask with its meaning for screen readers.
pub fn show_value(f: &FieldDef, v: Option<&Value>, lang: Lang) -> Markup {
    if is_masked(f, v) {
        return masked(lang);
    }
    html! { @if let Some(text) = value_text(f, v, lang) { (text) } }
}

pub fn masked(lang: Lang) -> Markup {
    html! {
        span.masked title=(Msg::MaskedHelp.text(lang)) { (MASK) span.visually-hidden { (Msg::MaskedHelp.text(lang)) } }
    }
}

/// The field that names a record: the first one-line text field (a customer's name), else the
/// first field. It titles the record's page and its link in the records table.
pub fn display_field(c: &Collection) -> Option<&FieldDef> {
    c.fields.iter().find(|f| f.field_type == FieldType::Text).or_else(|| c.fields.first())
}

/// A record's title: its display field's value, when there is one the reader may see.
pub fn record_title(c: &Collection, r: &RecordView, lang: Lang) -> Option<String> {
    let f = display_field(c)?;
    value_text(f, r.data.get(f.name.as_str()), lang).filter(|t| !t.trim().is_empty())
}

/// At most `n` characters of `text`, with an ellipsis when cut (for attributes and titles).
pub fn cut(text: &str, n: usize) -> String {
    match text.char_indices().nth(n) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_by_three() {
        assert_eq!(group_digits(0.0), "0");
        assert_eq!(group_digits(999.0), "999");
        assert_eq!(group_digits(1200.0), "1,200");
        assert_eq!(group_digits(-1234567.5), "-1,234,567.5");
        assert_eq!(group_digits(100000.0), "100,000");
    }

    #[test]
    fn pub_2_direction_characters_are_written_out() {
        assert_eq!(escape_invisible("請求書\u{202E}fdp.exe"), "請求書[U+202E]fdp.exe");
        assert_eq!(escape_invisible("東京\u{2066}"), "東京[U+2066]");
        assert_eq!(escape_invisible("plain"), "plain");
    }

    #[test]
    fn cutting_counts_characters() {
        assert_eq!(cut("東京都千代田区", 3), "東京都…");
        assert_eq!(cut("abc", 3), "abc");
    }
}
