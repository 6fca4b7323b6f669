//! Records and the validation of their values against a collection (PUB-2), and masking of
//! personal information (IAM-3).

use crate::collection::{Collection, FieldDef, FieldType, MAX_TEXT_CHARS, compile_pattern};
use crate::error::{DomainError, FieldError, FieldErrorKind};
use crate::ids::{CollectionId, RecordId, TenantId};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A validated value of one field. Stored as the plain JSON value (`true`, `12.5`, `"text"`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum FieldValue {
    Bool(bool),
    Number(f64),
    /// Text, long text, email, phone, choice and dates (as `YYYY-MM-DD`, which sorts correctly).
    Text(String),
}

impl FieldValue {
    pub fn to_json(&self) -> Value {
        match self {
            Self::Bool(b) => Value::Bool(*b),
            Self::Number(n) => serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number),
            Self::Text(s) => Value::String(s.clone()),
        }
    }
    /// The value as a person reads it.
    pub fn display(&self) -> String {
        match self {
            Self::Bool(b) => b.to_string(),
            Self::Number(n) => format_number(*n),
            Self::Text(s) => s.clone(),
        }
    }
}

/// Decodes the plain JSON value by its kind. (A derived `untagged` decoder would try each variant
/// in turn and format an error message for every miss: most of the cost of decoding a record.)
impl<'de> Deserialize<'de> for FieldValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = FieldValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a field value: true or false, a number, or text")
            }
            fn visit_bool<E>(self, b: bool) -> Result<FieldValue, E> {
                Ok(FieldValue::Bool(b))
            }
            #[allow(clippy::cast_precision_loss, reason = "numbers are f64, as when they were validated")]
            fn visit_i64<E>(self, n: i64) -> Result<FieldValue, E> {
                Ok(FieldValue::Number(n as f64))
            }
            #[allow(clippy::cast_precision_loss, reason = "numbers are f64, as when they were validated")]
            fn visit_u64<E>(self, n: u64) -> Result<FieldValue, E> {
                Ok(FieldValue::Number(n as f64))
            }
            fn visit_f64<E>(self, n: f64) -> Result<FieldValue, E> {
                Ok(FieldValue::Number(n))
            }
            fn visit_str<E>(self, s: &str) -> Result<FieldValue, E> {
                Ok(FieldValue::Text(s.to_owned()))
            }
            fn visit_string<E>(self, s: String) -> Result<FieldValue, E> {
                Ok(FieldValue::Text(s))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 { format!("{}", n as i64) } else { n.to_string() }
}

/// A record's values by field name, in name order. Absent fields have no value.
///
/// A sorted vector rather than a `BTreeMap`: every record of a collection's snapshot in memory
/// (`kura-store`'s cache) holds one, and a map's node reserves room for eleven entries, where a
/// record has a handful. For the five fields of the benchmark's records that is 280 bytes
/// against 640 (docs/PERFORMANCE.md). Lookups search the few names in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecordData(Vec<(String, FieldValue)>);

impl RecordData {
    pub fn new() -> Self {
        Self::default()
    }
    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(name))
    }
    pub fn get(&self, name: &str) -> Option<&FieldValue> {
        self.find(name).ok().map(|i| &self.0[i].1)
    }
    pub fn get_mut(&mut self, name: &str) -> Option<&mut FieldValue> {
        self.find(name).ok().map(|i| &mut self.0[i].1)
    }
    pub fn contains_key(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }
    /// Sets `name` to `value`; returns the value it replaced.
    pub fn insert(&mut self, name: String, value: FieldValue) -> Option<FieldValue> {
        match self.find(&name) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (name, value));
                None
            }
        }
    }
    pub fn remove(&mut self, name: &str) -> Option<FieldValue> {
        self.find(name).ok().map(|i| self.0.remove(i).1)
    }
    /// The values in name order.
    pub fn iter(&self) -> <&Self as IntoIterator>::IntoIter {
        self.into_iter()
    }
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &String> {
        self.0.iter().map(|(k, _)| k)
    }
    /// Gives back spare capacity, for data that is kept (the records of a snapshot).
    pub fn shrink_to_fit(&mut self) {
        self.0.shrink_to_fit();
    }
}

/// Later values of the same name replace earlier ones, as in a map.
impl FromIterator<(String, FieldValue)> for RecordData {
    fn from_iter<I: IntoIterator<Item = (String, FieldValue)>>(iter: I) -> Self {
        let mut pairs: Vec<_> = iter.into_iter().collect();
        // Stable: equal names stay in input order. Of each run the first slot is kept, holding
        // the run's last value.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                std::mem::swap(&mut later.1, &mut kept.1);
            }
            same
        });
        pairs.shrink_to_fit();
        Self(pairs)
    }
}

impl<const N: usize> From<[(String, FieldValue); N]> for RecordData {
    fn from(pairs: [(String, FieldValue); N]) -> Self {
        pairs.into_iter().collect()
    }
}

impl<'a> IntoIterator for &'a RecordData {
    type Item = (&'a String, &'a FieldValue);
    type IntoIter =
        std::iter::Map<std::slice::Iter<'a, (String, FieldValue)>, fn(&'a (String, FieldValue)) -> Self::Item>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

/// A JSON object of the values, in name order.
impl Serialize for RecordData {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for RecordData {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RecordData;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of field values")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<RecordData, A::Error> {
                let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while let Some(pair) = map.next_entry::<String, FieldValue>()? {
                    pairs.push(pair);
                }
                // Collecting a vector's own iterator reuses its allocation.
                Ok(pairs.into_iter().collect())
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

/// A record as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub id: RecordId,
    pub tenant_id: TenantId,
    pub collection_id: CollectionId,
    /// Increases by one on every update; clients send it back to avoid lost updates.
    pub version: i64,
    pub data: RecordData,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Whether an input replaces a record or changes some of its fields.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum WriteMode {
    Create,
    /// Only the given fields change; `null` clears a field.
    Patch,
}

/// The text shown in place of personal information to users without `pii.read`.
pub const MASK: &str = "••••••";

impl Collection {
    /// Validates an input object against this collection and produces the record's new data.
    /// For [`WriteMode::Patch`], `existing` holds the current values. All problems are reported at
    /// once; nothing is partially applied.
    pub fn validate(
        &self,
        input: &Map<String, Value>,
        mode: WriteMode,
        existing: Option<&RecordData>,
    ) -> Result<RecordData, DomainError> {
        let mut errors = Vec::new();
        for key in input.keys() {
            if self.field(key).is_none() {
                errors.push(FieldError::new(key.as_str(), FieldErrorKind::Unknown));
            }
        }
        let mut out = match (mode, existing) {
            (WriteMode::Patch, Some(data)) => data.clone(),
            _ => RecordData::new(),
        };
        for field in &self.fields {
            let name = field.name.as_str();
            match input.get(name) {
                None => {}
                Some(v) if is_blank(v) => {
                    out.remove(name);
                }
                Some(v) => match field.parse_value(v) {
                    Ok(value) => {
                        out.insert(name.to_owned(), value);
                    }
                    Err(kind) => errors.push(FieldError::new(name, kind)),
                },
            }
            if field.required && !out.contains_key(name) && !errors.iter().any(|e| e.field == name) {
                errors.push(FieldError::new(name, FieldErrorKind::Required));
            }
        }
        if errors.is_empty() { Ok(out) } else { Err(DomainError::Fields(errors)) }
    }

    /// Replaces personal-information values with [`MASK`] (IAM-3).
    pub fn mask_pii(&self, data: &mut RecordData) {
        for f in self.fields.iter().filter(|f| f.pii) {
            if let Some(v) = data.get_mut(f.name.as_str()) {
                *v = FieldValue::Text(MASK.to_owned());
            }
        }
    }
}

fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

impl FieldDef {
    /// Parses and checks one non-blank input value.
    pub fn parse_value(&self, v: &Value) -> Result<FieldValue, FieldErrorKind> {
        use FieldErrorKind as E;
        match self.field_type {
            FieldType::Boolean => match v {
                Value::Bool(b) => Ok(FieldValue::Bool(*b)),
                Value::String(s) if s == "true" || s == "on" => Ok(FieldValue::Bool(true)),
                Value::String(s) if s == "false" || s == "off" => Ok(FieldValue::Bool(false)),
                _ => Err(E::WrongType { expected: "true or false" }),
            },
            FieldType::Number => {
                let n = match v {
                    Value::Number(n) => n.as_f64(),
                    Value::String(s) => self.normalize(s).trim().parse::<f64>().ok(),
                    _ => None,
                }
                .filter(|n| n.is_finite())
                .ok_or(E::WrongType { expected: "a number" })?;
                if let Some(min) = self.rules.min
                    && n < min
                {
                    return Err(E::BelowMinimum { min });
                }
                if let Some(max) = self.rules.max
                    && n > max
                {
                    return Err(E::AboveMaximum { max });
                }
                Ok(FieldValue::Number(n))
            }
            FieldType::Date => {
                let Value::String(s) = v else { return Err(E::WrongType { expected: "a date (YYYY-MM-DD)" }) };
                let d: Date = self.normalize(s).trim().parse().map_err(|_| E::InvalidDate)?;
                Ok(FieldValue::Text(d.to_string()))
            }
            FieldType::Choice => {
                let Value::String(s) = v else { return Err(E::WrongType { expected: "text" }) };
                let s = self.normalize(s);
                if self.choices.iter().any(|c| *c == s) {
                    Ok(FieldValue::Text(s.into_owned()))
                } else {
                    Err(E::NotAChoice)
                }
            }
            FieldType::Text | FieldType::LongText | FieldType::Email | FieldType::Phone => {
                let s = match v {
                    Value::String(s) => self.normalize(s).trim().to_owned(),
                    _ => return Err(E::WrongType { expected: "text" }),
                };
                self.check_text(&s)?;
                Ok(FieldValue::Text(s))
            }
        }
    }

    fn check_text(&self, s: &str) -> Result<(), FieldErrorKind> {
        use FieldErrorKind as E;
        let n = s.chars().count() as u32;
        let max = self.rules.max_length.unwrap_or(MAX_TEXT_CHARS).min(MAX_TEXT_CHARS);
        if n > max {
            return Err(E::TooLong { max });
        }
        if let Some(min) = self.rules.min_length
            && n < min
        {
            return Err(E::TooShort { min });
        }
        if self.field_type != FieldType::LongText && s.chars().any(char::is_control) {
            return Err(E::Invalid { reason: "control characters are not allowed".into() });
        }
        match self.field_type {
            FieldType::Email if crate::Email::parse(s).is_err() => return Err(E::InvalidEmail),
            FieldType::Phone if !is_phone(s) => return Err(E::InvalidPhone),
            _ => {}
        }
        if let Some(cs) = self.rules.charset
            && !s.chars().all(|c| cs.allows(c))
        {
            return Err(E::Charset { charset: cs.as_str() });
        }
        if let Some(p) = &self.rules.pattern {
            // The pattern was compiled when the field was defined; a failure here means it no
            // longer compiles, which we treat as a mismatch rather than accepting the value.
            let matches = compile_pattern(p).map(|re| re.is_match(s)).unwrap_or(false);
            if !matches {
                return Err(E::Pattern);
            }
        }
        Ok(())
    }
}

/// A phone number: digits with optional `+` prefix, hyphens, spaces and parentheses; 6–20 digits.
fn is_phone(s: &str) -> bool {
    let body = s.strip_prefix('+').unwrap_or(s);
    let digits = body.chars().filter(char::is_ascii_digit).count();
    body.chars().all(|c| c.is_ascii_digit() || matches!(c, '-' | ' ' | '(' | ')')) && (6..=20).contains(&digits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collection::Charset;
    use crate::collection::tests::field;
    use crate::{DisplayName, Key};
    use serde_json::json;

    #[test]
    fn field_values_decode_from_their_plain_json() {
        let data: RecordData =
            serde_json::from_str(r#"{"a":true,"b":12,"c":-3,"d":12.5,"e":"東京","f":"2024-01-31"}"#).unwrap();
        assert_eq!(data.get("a").unwrap(), &FieldValue::Bool(true));
        assert_eq!(data.get("b").unwrap(), &FieldValue::Number(12.0));
        assert_eq!(data.get("c").unwrap(), &FieldValue::Number(-3.0));
        assert_eq!(data.get("d").unwrap(), &FieldValue::Number(12.5));
        assert_eq!(data.get("e").unwrap(), &FieldValue::Text("東京".into()));
        assert_eq!(data.get("f").unwrap(), &FieldValue::Text("2024-01-31".into()));
        // What was encoded decodes to the same values.
        assert_eq!(serde_json::from_slice::<RecordData>(&serde_json::to_vec(&data).unwrap()).unwrap(), data);
        for bad in [r#"{"a":null}"#, r#"{"a":[1]}"#, r#"{"a":{"b":1}}"#] {
            let e = serde_json::from_str::<RecordData>(bad).unwrap_err().to_string();
            assert!(e.contains("a field value"), "{bad}: {e}");
        }
    }

    #[test]
    fn record_data_keeps_names_in_order_and_the_last_value_of_each() {
        let text = |s: &str| FieldValue::Text(s.to_owned());
        let data: RecordData =
            [("b", "1"), ("a", "2"), ("b", "3"), ("c", "4"), ("b", "5")].map(|(k, v)| (k.to_owned(), text(v))).into();
        assert_eq!(data.keys().map(String::as_str).collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(data.get("b"), Some(&text("5")));
        // As JSON: an object in name order, and a repeated name decodes to its last value.
        assert_eq!(serde_json::to_string(&data).unwrap(), r#"{"a":"2","b":"5","c":"4"}"#);
        let decoded: RecordData = serde_json::from_str(r#"{"z":1,"a":2,"z":3}"#).unwrap();
        assert_eq!(
            decoded.iter().collect::<Vec<_>>(),
            [(&"a".to_owned(), &FieldValue::Number(2.0)), (&"z".to_owned(), &FieldValue::Number(3.0))]
        );
        let mut edited = data.clone();
        assert_eq!(edited.insert("aa".to_owned(), text("6")), None);
        assert_eq!(edited.insert("c".to_owned(), text("7")), Some(text("4")));
        assert_eq!(edited.remove("a"), Some(text("2")));
        assert_eq!(edited.keys().map(String::as_str).collect::<Vec<_>>(), ["aa", "b", "c"]);
    }

    fn customers() -> Collection {
        let mut name = field("name", FieldType::Text);
        name.required = true;
        name.pii = true;
        name.rules.max_length = Some(10);
        let mut kana = field("kana", FieldType::Text);
        kana.rules.charset = Some(Charset::Katakana);
        let mut points = field("points", FieldType::Number);
        points.rules.min = Some(0.0);
        let mut zip = field("zip", FieldType::Text);
        zip.rules.pattern = Some(r"\d{3}-\d{4}".into());
        let mut plan = field("plan", FieldType::Choice);
        plan.choices = vec!["free".into(), "pro".into()];
        Collection {
            id: CollectionId::from_uuid(uuid::Uuid::nil()),
            tenant_id: TenantId::from_uuid(uuid::Uuid::nil()),
            name: Key::parse("customers").unwrap(),
            label: DisplayName::parse("顧客").unwrap(),
            memo: String::new(),
            fields: vec![
                name,
                kana,
                points,
                zip,
                plan,
                field("email", FieldType::Email),
                field("phone", FieldType::Phone),
                field("joined", FieldType::Date),
                field("vip", FieldType::Boolean),
            ],
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
        }
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn pub_2_valid_input_is_normalised() {
        let c = customers();
        let data = c
            .validate(
                &obj(json!({"name":" 山田太郎 ","kana":"ヤマダ タロウ","points":"12","zip":"100-0001",
                    "plan":"pro","email":"t@example.jp","phone":"03-1234-5678","joined":"2026-04-01","vip":true})),
                WriteMode::Create,
                None,
            )
            .unwrap();
        assert_eq!(data.get("name").unwrap(), &FieldValue::Text("山田太郎".into()));
        assert_eq!(data.get("points").unwrap(), &FieldValue::Number(12.0));
        assert_eq!(data.get("vip").unwrap(), &FieldValue::Bool(true));
    }

    #[test]
    fn pub_2_every_rule_reports_its_field() {
        let c = customers();
        let Err(DomainError::Fields(errors)) = c.validate(
            &obj(json!({"kana":"やまだ","points":-1,"zip":"1000001","plan":"gold","email":"x",
                "phone":"abc","joined":"2026-13-01","vip":"maybe","colour":"red","name":"あいうえおかきくけこさ"})),
            WriteMode::Create,
            None,
        ) else {
            panic!("accepted")
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        for f in ["colour", "name", "kana", "points", "zip", "plan", "email", "phone", "joined", "vip"] {
            assert!(fields.contains(&f), "{f} not reported in {fields:?}");
        }
    }

    #[test]
    fn pub_2_full_width_input_is_converted_before_validation() {
        let c = customers();
        let input = json!({"name":"山田太郎","kana":"ﾔﾏﾀﾞ ﾀﾛｳ","points":"１２００","zip":"〒１００－０００１",
            "plan":"ｐｒｏ","email":"ｔａｒｏ＠example.jp","phone":"０３－１２３４－５６７８","joined":"２０２６/4/1"});
        let data = c.validate(&obj(input), WriteMode::Create, None).unwrap();
        let text = |k: &str| data.get(k).unwrap().display();
        assert_eq!(text("kana"), "ヤマダ タロウ");
        assert_eq!(data.get("points").unwrap(), &FieldValue::Number(1200.0));
        assert_eq!(text("zip"), "100-0001");
        assert_eq!(text("plan"), "pro");
        assert_eq!(text("email"), "taro@example.jp");
        assert_eq!(text("phone"), "03-1234-5678");
        assert_eq!(text("joined"), "2026-04-01");
        // Hiragana is not katakana: the reading is refused, not silently rewritten.
        assert!(c.validate(&obj(json!({"name":"山田","kana":"やまだ"})), WriteMode::Create, None).is_err());
    }

    #[test]
    fn pub_2_required_field_missing() {
        let Err(DomainError::Fields(errors)) = customers().validate(&obj(json!({})), WriteMode::Create, None) else {
            panic!("accepted")
        };
        assert_eq!(errors, vec![FieldError::new("name", FieldErrorKind::Required)]);
    }

    #[test]
    fn patch_keeps_other_fields_and_null_clears() {
        let c = customers();
        let data = c.validate(&obj(json!({"name":"A","points":3})), WriteMode::Create, None).unwrap();
        let patched = c.validate(&obj(json!({"points":null})), WriteMode::Patch, Some(&data)).unwrap();
        assert_eq!(patched.get("name"), Some(&FieldValue::Text("A".into())));
        assert!(!patched.contains_key("points"));
        assert!(c.validate(&obj(json!({"name":null})), WriteMode::Patch, Some(&data)).is_err());
    }

    #[test]
    fn iam_3_pii_is_masked() {
        let c = customers();
        let mut data = c.validate(&obj(json!({"name":"山田","points":1})), WriteMode::Create, None).unwrap();
        c.mask_pii(&mut data);
        assert_eq!(data.get("name").unwrap(), &FieldValue::Text(MASK.into()));
        assert_eq!(data.get("points").unwrap(), &FieldValue::Number(1.0));
    }
}
