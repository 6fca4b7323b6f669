//! Tenant-defined collections and their typed fields (DAT-4 labels and memos, PUB-2 validation
//! rules, IAM-3 personal-information flags).

use crate::error::{DomainError, FieldError, FieldErrorKind};
use crate::ids::{CollectionId, TenantId};
use crate::names::{DisplayName, Key};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Most fields a collection may have; keeps forms and exports reasonable.
pub const MAX_FIELDS: usize = 100;
/// Longest text any field may hold, whatever its own rules say.
pub const MAX_TEXT_CHARS: u32 = 10_000;
/// Longest memo on a field or collection.
pub const MAX_MEMO_CHARS: usize = 2_000;

/// The type of a field's values.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    LongText,
    Number,
    Date,
    Boolean,
    Email,
    Phone,
    Choice,
}

impl FieldType {
    pub const ALL: [FieldType; 8] =
        [Self::Text, Self::LongText, Self::Number, Self::Date, Self::Boolean, Self::Email, Self::Phone, Self::Choice];
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::LongText => "long_text",
            Self::Number => "number",
            Self::Date => "date",
            Self::Boolean => "boolean",
            Self::Email => "email",
            Self::Phone => "phone",
            Self::Choice => "choice",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
    /// Whether values of this type are strings subject to length and character rules.
    pub const fn is_textual(self) -> bool {
        matches!(self, Self::Text | Self::LongText | Self::Email | Self::Phone)
    }
}

/// Character classes a text field may be restricted to (PUB-2). The Japanese classes matter for
/// forms that ask for a name reading in katakana or a number in half-width digits.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Charset {
    /// Half-width digits 0-9.
    Digits,
    /// Half-width ASCII letters and digits.
    Alphanumeric,
    /// Printable ASCII.
    Ascii,
    /// Full-width katakana, the long-vowel mark and spaces.
    Katakana,
    /// Hiragana, the long-vowel mark and spaces.
    Hiragana,
}

impl Charset {
    pub const ALL: [Charset; 5] = [Self::Digits, Self::Alphanumeric, Self::Ascii, Self::Katakana, Self::Hiragana];
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Digits => "digits",
            Self::Alphanumeric => "alphanumeric",
            Self::Ascii => "ascii",
            Self::Katakana => "katakana",
            Self::Hiragana => "hiragana",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
    pub fn allows(self, c: char) -> bool {
        let space = c == ' ' || c == '\u{3000}';
        match self {
            Self::Digits => c.is_ascii_digit(),
            Self::Alphanumeric => c.is_ascii_alphanumeric(),
            Self::Ascii => c.is_ascii_graphic() || c == ' ',
            Self::Katakana => ('\u{30A1}'..='\u{30FA}').contains(&c) || c == 'ー' || c == '・' || space,
            Self::Hiragana => ('\u{3041}'..='\u{3096}').contains(&c) || c == 'ー' || space,
        }
    }
}

/// Validation rules of one field. Which rules apply depends on the field type; [`FieldDef::check`]
/// refuses rules that make no sense for the type.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"max_length": 50, "charset": "katakana"})))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charset: Option<Charset>,
    /// A regular expression the whole value must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// One field of a collection.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"name": "kana", "label": "フリガナ", "type": "text", "required": false, "pii": true, "memo": "氏名の読み", "rules": {"charset": "katakana", "max_length": 50}})))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    pub name: Key,
    pub label: DisplayName,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    #[serde(default)]
    pub required: bool,
    /// Personal information: masked for users without `pii.read` (IAM-3).
    #[serde(default)]
    pub pii: bool,
    /// An administrator's note on what the field is for (DAT-4).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub memo: String,
    #[serde(default)]
    pub rules: Rules,
    /// The allowed values of a choice field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    /// What people read for a choice, by its stored value (`premium` → 「プレミアム」). A choice
    /// without one is shown as its value. Stored values stay stable for the API and filters while
    /// the words shown can change.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub choice_labels: BTreeMap<String, String>,
    /// Values of this field are expected to be unique (an email address, a member number): the
    /// console warns before saving a record whose value another record already has. A warning,
    /// not a rule: two family members may share an address.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub warn_duplicates: bool,
}

impl FieldDef {
    /// Checks that the rules fit the type and are coherent.
    pub fn check(&self) -> Result<(), FieldError> {
        let name = self.name.as_str();
        let bad = |reason: &str| FieldError::new(name, FieldErrorKind::Invalid { reason: reason.into() });
        let r = &self.rules;
        let textual = self.field_type.is_textual();
        if !textual && (r.min_length.is_some() || r.max_length.is_some() || r.charset.is_some() || r.pattern.is_some())
        {
            return Err(bad("length, character and pattern rules apply only to text fields"));
        }
        if self.field_type != FieldType::Number && (r.min.is_some() || r.max.is_some()) {
            return Err(bad("minimum and maximum apply only to number fields"));
        }
        if let (Some(a), Some(b)) = (r.min_length, r.max_length)
            && a > b
        {
            return Err(bad("the minimum length is above the maximum length"));
        }
        if r.max_length.is_some_and(|m| m == 0 || m > MAX_TEXT_CHARS) {
            return Err(bad("the maximum length must be between 1 and 10000"));
        }
        if let (Some(a), Some(b)) = (r.min, r.max)
            && a > b
        {
            return Err(bad("the minimum is above the maximum"));
        }
        if r.min.is_some_and(|v| !v.is_finite()) || r.max.is_some_and(|v| !v.is_finite()) {
            return Err(bad("the minimum and maximum must be finite numbers"));
        }
        if let Some(p) = &r.pattern {
            compile_pattern(p).map_err(|e| bad(&e))?;
        }
        if self.memo.chars().count() > MAX_MEMO_CHARS {
            return Err(bad("the memo is longer than 2000 characters"));
        }
        match self.field_type {
            FieldType::Choice => {
                if self.choices.is_empty() || self.choices.len() > 200 {
                    return Err(bad("a choice field needs between 1 and 200 choices"));
                }
                let mut seen = BTreeSet::new();
                for c in &self.choices {
                    if c.trim().is_empty() || c.chars().count() > 200 || !seen.insert(c.as_str()) {
                        return Err(bad("choices must be distinct, non-empty and at most 200 characters"));
                    }
                }
            }
            _ if !self.choices.is_empty() => return Err(bad("only choice fields have choices")),
            _ => {}
        }
        for (value, label) in &self.choice_labels {
            if !self.choices.contains(value) {
                return Err(bad("a choice label names a value that is not a choice"));
            }
            if label.trim().is_empty() || label.chars().count() > 200 || label.chars().any(char::is_control) {
                return Err(bad("choice labels must be non-empty and at most 200 characters"));
            }
        }
        if self.warn_duplicates && !matches!(self.field_type, FieldType::Text | FieldType::Email | FieldType::Phone) {
            return Err(bad("duplicate warnings apply only to one-line text, email and phone fields"));
        }
        Ok(())
    }

    /// What people read for a stored choice: its label, else the value itself.
    pub fn choice_label<'a>(&'a self, value: &'a str) -> &'a str {
        self.choice_labels.get(value).map_or(value, String::as_str)
    }
}

/// Compiles a field pattern anchored to the whole value, with a size limit so that a tenant
/// cannot submit a pattern that exhausts memory.
pub(crate) fn compile_pattern(p: &str) -> Result<regex::Regex, String> {
    if p.len() > 500 {
        return Err("the pattern is longer than 500 characters".into());
    }
    regex::RegexBuilder::new(&format!("^(?:{p})$"))
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("the pattern is not a valid regular expression: {e}"))
}

/// What a tenant supplies to define or redefine a collection.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"name": "customers", "label": "顧客", "memo": "会員名簿", "fields": [{"name": "name", "label": "氏名", "type": "text", "required": true, "pii": true, "rules": {"max_length": 50}}, {"name": "points", "label": "ポイント", "type": "number", "rules": {"min": 0}}, {"name": "plan", "label": "プラン", "type": "choice", "choices": ["free", "standard", "premium"]}]})))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionSpec {
    pub name: Key,
    pub label: DisplayName,
    #[serde(default)]
    pub memo: String,
    #[serde(default)]
    pub fields: Vec<FieldDef>,
}

impl CollectionSpec {
    /// Checks every field and the collection as a whole; reports all problems at once.
    pub fn check(&self) -> Result<(), DomainError> {
        let mut errors = Vec::new();
        if self.fields.len() > MAX_FIELDS {
            errors.push(FieldError::new(
                "fields",
                FieldErrorKind::Invalid { reason: format!("at most {MAX_FIELDS} fields") },
            ));
        }
        if self.memo.chars().count() > MAX_MEMO_CHARS {
            errors.push(FieldError::new("memo", FieldErrorKind::TooLong { max: MAX_MEMO_CHARS as u32 }));
        }
        let mut names = BTreeSet::new();
        for f in &self.fields {
            if !names.insert(f.name.as_str()) {
                errors.push(FieldError::new(f.name.as_str(), FieldErrorKind::Duplicate));
            }
            if is_reserved(f.name.as_str()) {
                errors.push(FieldError::new(
                    f.name.as_str(),
                    FieldErrorKind::Invalid { reason: "this name is reserved".into() },
                ));
            }
            if let Err(e) = f.check() {
                errors.push(e);
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(DomainError::Fields(errors)) }
    }
}

/// Names that filters and sorts use for record metadata.
fn is_reserved(name: &str) -> bool {
    matches!(name, "id" | "created_at" | "updated_at" | "version")
}

/// A collection as stored.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"id": "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a10", "tenant_id": "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a00", "name": "customers", "label": "顧客", "memo": "会員名簿", "fields": [{"name": "name", "label": "氏名", "type": "text", "required": true, "pii": true, "rules": {"max_length": 50}}], "created_at": "2026-11-22T00:00:00Z", "updated_at": "2026-11-22T00:00:00Z"})))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Collection {
    pub id: CollectionId,
    pub tenant_id: TenantId,
    pub name: Key,
    pub label: DisplayName,
    pub memo: String,
    pub fields: Vec<FieldDef>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Collection {
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name.as_str() == name)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn field(name: &str, t: FieldType) -> FieldDef {
        FieldDef {
            name: Key::parse(name).unwrap(),
            label: DisplayName::parse(name).unwrap(),
            field_type: t,
            required: false,
            pii: false,
            memo: String::new(),
            rules: Rules::default(),
            choices: vec![],
            choice_labels: BTreeMap::new(),
            warn_duplicates: false,
        }
    }

    #[test]
    fn dat_4_spec_round_trips_through_json() {
        let json = r#"{"name":"customers","label":"顧客","memo":"会員名簿","fields":[
            {"name":"name","label":"氏名","type":"text","required":true,"pii":true,"memo":"本名","rules":{"max_length":50}},
            {"name":"plan","label":"プラン","type":"choice","choices":["free","pro"]}]}"#;
        let spec: CollectionSpec = serde_json::from_str(json).unwrap();
        spec.check().unwrap();
        assert_eq!(spec.fields[0].memo, "本名");
        let back: CollectionSpec = serde_json::from_str(&serde_json::to_string(&spec).unwrap()).unwrap();
        assert_eq!(back, spec);
    }

    #[test]
    fn incoherent_rules_are_refused() {
        let mut f = field("age", FieldType::Number);
        f.rules.max_length = Some(3);
        assert!(f.check().is_err());
        let mut f = field("name", FieldType::Text);
        f.rules.min_length = Some(5);
        f.rules.max_length = Some(2);
        assert!(f.check().is_err());
        let mut f = field("code", FieldType::Text);
        f.rules.pattern = Some("(".into());
        assert!(f.check().is_err());
        let f = field("plan", FieldType::Choice);
        assert!(f.check().is_err(), "choice without choices");
    }

    #[test]
    fn choice_labels_name_choices_and_round_trip() {
        let json = r#"{"name":"plan","label":"プラン","type":"choice","choices":["free","premium"],
            "choice_labels":{"premium":"プレミアム"}}"#;
        let f: FieldDef = serde_json::from_str(json).unwrap();
        f.check().unwrap();
        assert_eq!((f.choice_label("premium"), f.choice_label("free")), ("プレミアム", "free"));
        let back: FieldDef = serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
        assert_eq!(back, f);
        // A field without labels or warnings serialises as before they existed.
        let plain = field("name", FieldType::Text);
        assert!(!serde_json::to_string(&plain).unwrap().contains("choice_labels"));
        assert!(!serde_json::to_string(&plain).unwrap().contains("warn_duplicates"));
        let mut stray = f.clone();
        stray.choice_labels.insert("gold".into(), "ゴールド".into());
        assert!(stray.check().is_err(), "a label for a value that is not a choice");
        let mut blank = f;
        blank.choice_labels.insert("free".into(), " ".into());
        assert!(blank.check().is_err());
        let mut warn = field("memo", FieldType::LongText);
        warn.warn_duplicates = true;
        assert!(warn.check().is_err());
        warn.field_type = FieldType::Email;
        assert!(warn.check().is_ok());
    }

    #[test]
    fn duplicate_and_reserved_names_are_refused() {
        let spec = CollectionSpec {
            name: Key::parse("c").unwrap(),
            label: DisplayName::parse("C").unwrap(),
            memo: String::new(),
            fields: vec![field("a", FieldType::Text), field("a", FieldType::Text), field("id", FieldType::Text)],
        };
        let Err(DomainError::Fields(errors)) = spec.check() else { panic!("accepted") };
        assert_eq!(errors.len(), 2);
    }

    #[test]
    fn unknown_keys_in_a_spec_are_refused() {
        let json = r#"{"name":"c","label":"C","fields":[],"colour":"red"}"#;
        assert!(serde_json::from_str::<CollectionSpec>(json).is_err());
    }
}
