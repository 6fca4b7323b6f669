//! The field editor's form: its values as submitted, and their parsing into a [`FieldDef`] with
//! a message in the reader's language beside each input that is wrong. The domain checks the
//! result again (`CollectionSpec::check`); parsing here only makes the messages precise.

use crate::console::extract::FormData;
use crate::console::forms::Errors;
use crate::console::i18n::Lang;
use crate::console::labels;
use crate::console::msg::Msg;
use kura_domain::{Charset, DisplayName, FieldDef, FieldErrorKind, FieldType, FieldValue, Key, Rules};
use std::collections::BTreeMap;

const RESERVED: [&str; 4] = ["id", "created_at", "updated_at", "version"];

/// The inputs of the field form, as text.
#[derive(Debug, Default)]
pub struct FieldForm {
    pub name: String,
    pub label: String,
    pub field_type: String,
    pub required: bool,
    pub pii: bool,
    pub warn_duplicates: bool,
    pub memo: String,
    pub min_length: String,
    pub max_length: String,
    pub charset: String,
    pub pattern: String,
    pub min: String,
    pub max: String,
    pub choices: String,
}

fn num(n: Option<f64>) -> String {
    n.map(|n| FieldValue::Number(n).display()).unwrap_or_default()
}

impl FieldForm {
    pub fn from_def(f: &FieldDef) -> Self {
        let r = &f.rules;
        Self {
            name: f.name.to_string(),
            label: f.label.to_string(),
            field_type: f.field_type.as_str().to_owned(),
            required: f.required,
            pii: f.pii,
            warn_duplicates: f.warn_duplicates,
            memo: f.memo.clone(),
            min_length: r.min_length.map(|n| n.to_string()).unwrap_or_default(),
            max_length: r.max_length.map(|n| n.to_string()).unwrap_or_default(),
            charset: r.charset.map(|c| c.as_str().to_owned()).unwrap_or_default(),
            pattern: r.pattern.clone().unwrap_or_default(),
            min: num(r.min),
            max: num(r.max),
            choices: f
                .choices
                .iter()
                .map(|c| match f.choice_labels.get(c) {
                    Some(label) => format!("{c}={label}"),
                    None => c.clone(),
                })
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    /// The submitted values; an existing field keeps its name and type (they cannot change), and
    /// its personal-information flag unless `pii_editable` (the reader holds `pii.read`).
    pub fn from_form(form: &FormData, existing: Option<&FieldDef>, pii_editable: bool) -> Self {
        let s = |n: &str| form.get(n).trim().to_owned();
        Self {
            name: existing.map_or_else(|| s("name"), |f| f.name.to_string()),
            label: s("label"),
            field_type: existing.map_or_else(|| s("type"), |f| f.field_type.as_str().to_owned()),
            required: form.has("required"),
            pii: match existing {
                Some(f) if !pii_editable => f.pii,
                _ => form.has("pii"),
            },
            warn_duplicates: form.has("warn_duplicates"),
            memo: s("memo"),
            min_length: s("min_length"),
            max_length: s("max_length"),
            charset: s("charset"),
            pattern: form.get("pattern").to_owned(),
            min: s("min"),
            max: s("max"),
            choices: form.get("choices").to_owned(),
        }
    }

    /// Parses the form; `taken` are the names of the collection's other fields.
    pub fn parse(&self, lang: Lang, taken: &[&str], errors: &mut Errors) -> Option<FieldDef> {
        let t = |m: Msg| m.text(lang);
        let name = Key::parse(&self.name).map_err(|_| errors.add("name", t(Msg::KeyRule))).ok();
        if RESERVED.contains(&self.name.as_str()) {
            errors.add("name", t(Msg::ReservedName));
        } else if taken.contains(&self.name.as_str()) {
            errors.add("name", labels::field_error(&FieldErrorKind::Duplicate, lang));
        }
        let label = DisplayName::parse(&self.label).map_err(|_| errors.add("label", t(Msg::NameRule))).ok();
        let field_type = FieldType::parse(&self.field_type);
        if field_type.is_none() {
            errors.add("type", labels::field_error(&FieldErrorKind::NotAChoice, lang));
        }
        let ty = field_type.unwrap_or(FieldType::Text);
        let mut fits = |input: &str, applies: bool| {
            if !applies {
                errors.add(input, t(Msg::RuleNotForType));
            }
            applies
        };
        let textual = ty.is_textual();
        let min_length = fits("min_length", self.min_length.is_empty() || textual);
        let max_length = fits("max_length", self.max_length.is_empty() || textual);
        let charset_ok = fits("charset", self.charset.is_empty() || textual);
        let pattern_ok = fits("pattern", self.pattern.trim().is_empty() || textual);
        let min_ok = fits("min", self.min.is_empty() || ty == FieldType::Number);
        let max_ok = fits("max", self.max.is_empty() || ty == FieldType::Number);
        let choices_ok = fits("choices", self.choices.trim().is_empty() || ty == FieldType::Choice);
        let dedupe_ok = fits(
            "warn_duplicates",
            !self.warn_duplicates || matches!(ty, FieldType::Text | FieldType::Email | FieldType::Phone),
        );
        let rules = Rules {
            min_length: min_length.then(|| whole(&self.min_length, 0, "min_length", lang, errors)).flatten(),
            max_length: max_length.then(|| whole(&self.max_length, 1, "max_length", lang, errors)).flatten(),
            charset: charset_ok.then(|| Charset::parse(&self.charset)).flatten(),
            pattern: Some(self.pattern.trim().to_owned()).filter(|p| pattern_ok && !p.is_empty()),
            min: min_ok.then(|| decimal(&self.min, "min", lang, errors)).flatten(),
            max: max_ok.then(|| decimal(&self.max, "max", lang, errors)).flatten(),
        };
        if let (Some(a), Some(b)) = (rules.min_length, rules.max_length)
            && a > b
        {
            errors.add("min_length", t(Msg::MinAboveMax));
        }
        if let (Some(a), Some(b)) = (rules.min, rules.max)
            && a > b
        {
            errors.add("min", t(Msg::MinAboveMax));
        }
        if rules.pattern.as_ref().is_some_and(|p| p.len() > 500) {
            errors.add("pattern", labels::field_error(&FieldErrorKind::TooLong { max: 500 }, lang));
        }
        let (choices, choice_labels) = parse_choices(&self.choices);
        if choices_ok && ty == FieldType::Choice {
            let distinct = choices.iter().enumerate().all(|(i, c)| !choices[..i].contains(c));
            let long = |s: &String| s.chars().count() > 200;
            if choices.is_empty()
                || choices.len() > 200
                || !distinct
                || choices.iter().any(long)
                || choice_labels.values().any(long)
            {
                errors.add("choices", t(Msg::ChoicesRule));
            }
        }
        if self.memo.chars().count() > 2000 {
            errors.add("memo", labels::field_error(&FieldErrorKind::TooLong { max: 2000 }, lang));
        }
        if !errors.is_empty() {
            return None;
        }
        Some(FieldDef {
            name: name?,
            label: label?,
            field_type: field_type?,
            required: self.required,
            pii: self.pii,
            memo: self.memo.clone(),
            rules,
            choices: if ty == FieldType::Choice { choices } else { Vec::new() },
            choice_labels: if ty == FieldType::Choice { choice_labels } else { BTreeMap::new() },
            warn_duplicates: self.warn_duplicates && dedupe_ok,
        })
    }
}

/// The choices box: one per line, `value` or `value=label` (the value is stored, the label is
/// what people read). Blank lines are skipped; a label equal to its value is no label.
fn parse_choices(text: &str) -> (Vec<String>, BTreeMap<String, String>) {
    let mut choices = Vec::new();
    let mut labels = BTreeMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (value, label) = match line.split_once('=') {
            Some((v, l)) => (v.trim(), l.trim()),
            None => (line, ""),
        };
        if value.is_empty() {
            continue;
        }
        if !label.is_empty() && label != value {
            labels.insert(value.to_owned(), label.to_owned());
        }
        choices.push(value.to_owned());
    }
    (choices, labels)
}

/// A whole number of at least `least`, or `None` when blank (an error when not a number).
fn whole(s: &str, least: u32, input: &str, lang: Lang, errors: &mut Errors) -> Option<u32> {
    if s.is_empty() {
        return None;
    }
    match s.parse::<u32>() {
        Ok(n) if n >= least && n <= 10_000 => Some(n),
        _ => {
            let msg = Msg::WholeNumberRange.text(lang).replace("{min}", &least.to_string());
            errors.add(input, msg);
            None
        }
    }
}

fn decimal(s: &str, input: &str, lang: Lang, errors: &mut Errors) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    match s.parse::<f64>() {
        Ok(n) if n.is_finite() => Some(n),
        _ => {
            errors.add(input, labels::field_error(&FieldErrorKind::WrongType { expected: "a number" }, lang));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pub_2_rules_that_do_not_fit_the_type_are_refused_beside_their_input() {
        let form = FieldForm {
            name: "age".into(),
            label: "年齢".into(),
            field_type: "number".into(),
            max_length: "3".into(),
            min: "0".into(),
            ..FieldForm::default()
        };
        let mut errors = Errors::default();
        assert!(form.parse(Lang::Ja, &[], &mut errors).is_none());
        assert!(errors.get("max_length").is_some());
        assert!(errors.get("min").is_none());
    }

    #[test]
    fn a_choice_field_parses() {
        let form = FieldForm {
            name: "plan".into(),
            label: "プラン".into(),
            field_type: "choice".into(),
            choices: "free\r\n pro \n\npremium = プレミアム\n".into(),
            pii: true,
            ..FieldForm::default()
        };
        let mut errors = Errors::default();
        let f = form.parse(Lang::En, &["name"], &mut errors).expect("parses");
        assert_eq!(f.choices, vec!["free", "pro", "premium"]);
        assert_eq!(f.choice_label("premium"), "プレミアム");
        assert!(f.pii && f.check().is_ok());
        assert_eq!(FieldForm::from_def(&f).choices, "free\npro\npremium=プレミアム");
    }
}
