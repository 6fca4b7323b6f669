//! The filter builder of a records table, without scripts: the current conditions as chips that
//! can each be removed, a two-step form that adds one (pick a field; then an operator that fits
//! its type and a value in an input of that type), and the filter text itself in an "advanced"
//! box whose example is made from this collection's fields. All of them produce the one filter
//! language of the API (`Filter`), so a link or a bookmark holds the whole query.

use super::values::group_digits;
use crate::console::i18n::Lang;
use crate::console::msg::Msg;
use kura_domain::{Collection, CompareOp, Condition, FieldDef, FieldType, Filter, Literal};

/// A condition the builder offers: an operator of the filter language, or a test for a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuilderOp {
    Compare(CompareOp),
    Empty,
    Filled,
}

impl BuilderOp {
    /// As carried in the builder's form (`bo`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Compare(op) => op.as_str(),
            Self::Empty => "empty",
            Self::Filled => "filled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "empty" => Some(Self::Empty),
            "filled" => Some(Self::Filled),
            _ => CompareOp::parse(s).map(Self::Compare),
        }
    }

    /// The operator's name in the builder's list, for a field of type `t`.
    pub fn label(self, t: FieldType, lang: Lang) -> &'static str {
        use CompareOp as C;
        let date = t == FieldType::Date;
        let pair = match self {
            Self::Compare(C::Contains) => ("contains", "を含む"),
            Self::Compare(C::NotContains) => ("does not contain", "を含まない"),
            Self::Compare(C::Eq) if date => ("on", "の日"),
            Self::Compare(C::Eq) => ("is", "と等しい"),
            Self::Compare(C::Ne) => ("is not", "と等しくない"),
            Self::Compare(C::Ge) if date => ("on or after", "以降"),
            Self::Compare(C::Le) if date => ("on or before", "以前"),
            Self::Compare(C::Gt) if date => ("after", "より後"),
            Self::Compare(C::Lt) if date => ("before", "より前"),
            Self::Compare(C::Ge) => ("at least", "以上"),
            Self::Compare(C::Le) => ("at most", "以下"),
            Self::Compare(C::Gt) => ("more than", "より大きい"),
            Self::Compare(C::Lt) => ("less than", "より小さい"),
            Self::Empty => ("is empty", "が空欄"),
            Self::Filled => ("is not empty", "が入力済み"),
        };
        match lang {
            Lang::En => pair.0,
            Lang::Ja => pair.1,
        }
    }
}

/// The operators that make sense for a field of type `t`, most useful first.
pub fn ops_for(t: FieldType) -> Vec<BuilderOp> {
    use CompareOp as C;
    let compare: &[C] = match t {
        FieldType::Text | FieldType::LongText | FieldType::Email | FieldType::Phone => {
            &[C::Contains, C::NotContains, C::Eq, C::Ne]
        }
        FieldType::Number => &[C::Eq, C::Ne, C::Ge, C::Le, C::Gt, C::Lt],
        FieldType::Date => &[C::Eq, C::Ge, C::Le, C::Gt, C::Lt],
        FieldType::Choice => &[C::Eq, C::Ne],
        FieldType::Boolean => &[C::Eq],
    };
    let mut ops: Vec<BuilderOp> = compare.iter().copied().map(BuilderOp::Compare).collect();
    if t != FieldType::Boolean {
        ops.extend([BuilderOp::Empty, BuilderOp::Filled]);
    }
    ops
}

/// Why the builder could not add a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildError {
    NoSuchField,
    NoSuchOperator,
    NeedsValue,
    NotANumber,
    NotADate,
    NotAChoice,
}

impl BuildError {
    pub fn msg(self) -> Msg {
        match self {
            Self::NoSuchField => Msg::BuilderNoField,
            Self::NoSuchOperator => Msg::BuilderNoOperator,
            Self::NeedsValue => Msg::BuilderNeedsValue,
            Self::NotANumber => Msg::BuilderNotANumber,
            Self::NotADate => Msg::BuilderNotADate,
            Self::NotAChoice => Msg::BuilderNotAChoice,
        }
    }
}

/// The fields a reader may filter on: not personal information they cannot see.
pub fn filterable(c: &Collection, pii_visible: bool) -> impl Iterator<Item = &FieldDef> {
    c.fields.iter().filter(move |f| pii_visible || !f.pii)
}

/// The condition that the builder's form asks for, its value read as the field's type expects
/// (full-width digits and all, as the record forms accept them).
pub fn condition(
    c: &Collection,
    pii_visible: bool,
    field: &str,
    op: &str,
    value: &str,
) -> Result<Condition, BuildError> {
    let f = filterable(c, pii_visible).find(|f| f.name.as_str() == field).ok_or(BuildError::NoSuchField)?;
    let op = BuilderOp::parse(op).filter(|o| ops_for(f.field_type).contains(o)).ok_or(BuildError::NoSuchOperator)?;
    let field = f.name.to_string();
    let (op, value) = match op {
        BuilderOp::Empty => (CompareOp::Eq, Literal::Null),
        BuilderOp::Filled => (CompareOp::Ne, Literal::Null),
        BuilderOp::Compare(op) => (op, literal(f, value)?),
    };
    Ok(Condition { field, op, value })
}

fn literal(f: &FieldDef, value: &str) -> Result<Literal, BuildError> {
    let typed = f.normalize(value);
    let v = typed.trim();
    if v.is_empty() {
        return Err(BuildError::NeedsValue);
    }
    match f.field_type {
        FieldType::Number => {
            v.parse::<f64>().ok().filter(|n| n.is_finite()).map(Literal::Number).ok_or(BuildError::NotANumber)
        }
        FieldType::Date => {
            v.parse::<jiff::civil::Date>().map(|d| Literal::Text(d.to_string())).map_err(|_| BuildError::NotADate)
        }
        FieldType::Boolean => match v {
            "true" => Ok(Literal::Bool(true)),
            "false" => Ok(Literal::Bool(false)),
            _ => Err(BuildError::NotAChoice),
        },
        FieldType::Choice if !f.choices.iter().any(|c| c == v) => Err(BuildError::NotAChoice),
        _ => Ok(Literal::Text(v.to_owned())),
    }
}

/// `filter` with `added` as one more condition.
pub fn with_condition(filter: Option<&Filter>, added: &Condition) -> Filter {
    match filter {
        Some(f) => Filter::And(Box::new(f.clone()), Box::new(added.to_filter())),
        None => added.to_filter(),
    }
}

/// A condition in words: 「ポイント」が 100 以上, Points at least 100.
pub fn describe(c: &Collection, cond: &Condition, lang: Lang) -> String {
    let f = c.field(&cond.field);
    let label = f.map_or_else(|| cond.field.clone(), |f| f.label.to_string());
    let t = f.map_or(FieldType::Text, |f| f.field_type);
    let op = match (&cond.op, &cond.value) {
        (CompareOp::Eq, Literal::Null) => BuilderOp::Empty,
        (CompareOp::Ne, Literal::Null) => BuilderOp::Filled,
        (op, _) => BuilderOp::Compare(*op),
    };
    let value = match &cond.value {
        Literal::Null => String::new(),
        Literal::Bool(b) => Msg::yes_no(*b).text(lang).to_owned(),
        Literal::Number(n) => group_digits(*n),
        Literal::Text(s) => f.map_or(s.as_str(), |f| f.choice_label(s)).to_owned(),
    };
    let op_text = op.label(t, lang);
    match (lang, op) {
        (Lang::Ja, BuilderOp::Empty | BuilderOp::Filled) => format!("「{label}」{op_text}"),
        (Lang::Ja, BuilderOp::Compare(CompareOp::Contains | CompareOp::NotContains)) => {
            format!("「{label}」が「{value}」{op_text}")
        }
        (Lang::Ja, BuilderOp::Compare(CompareOp::Eq)) => format!("「{label}」が {value}"),
        (Lang::Ja, BuilderOp::Compare(CompareOp::Ne)) => format!("「{label}」が {value} 以外"),
        (Lang::Ja, _) => format!("「{label}」が {value} {op_text}"),
        (Lang::En, BuilderOp::Empty | BuilderOp::Filled) => format!("{label} {op_text}"),
        (Lang::En, BuilderOp::Compare(CompareOp::Contains | CompareOp::NotContains)) => {
            format!("{label} {op_text} “{value}”")
        }
        (Lang::En, _) => format!("{label} {op_text} {value}"),
    }
}

/// An example filter made of this collection's own fields, for the advanced box's help.
pub fn example(c: &Collection, pii_visible: bool) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    let mut kinds: Vec<FieldType> = Vec::new();
    for f in filterable(c, pii_visible) {
        let name = f.name.as_str();
        let part = match f.field_type {
            FieldType::Number => format!("{name} >= 100"),
            FieldType::Choice => match f.choices.first() {
                Some(choice) => format!("{name} = {}", Literal::Text(choice.clone())),
                None => continue,
            },
            FieldType::Date => format!("{name} >= '2026-04-01'"),
            FieldType::Boolean => format!("{name} = true"),
            FieldType::Text | FieldType::LongText => format!("{name} ~ '東京'"),
            FieldType::Email => format!("{name} ~ '@example.jp'"),
            FieldType::Phone => format!("{name} ~ '03-'"),
        };
        if !kinds.contains(&f.field_type) {
            kinds.push(f.field_type);
            parts.push(part);
        }
        if parts.len() == 2 {
            break;
        }
    }
    (!parts.is_empty()).then(|| parts.join(" && "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;
    use kura_domain::{CollectionId, DisplayName, Key, TenantId};

    fn collection() -> Collection {
        let json = serde_json::json!([
            {"name": "name", "label": "氏名", "type": "text", "pii": true},
            {"name": "plan", "label": "プラン", "type": "choice", "choices": ["free", "premium"],
             "choice_labels": {"premium": "プレミアム"}},
            {"name": "points", "label": "ポイント", "type": "number"},
            {"name": "joined", "label": "入会日", "type": "date"},
            {"name": "vip", "label": "VIP", "type": "boolean"}
        ]);
        Collection {
            id: CollectionId::from_uuid(uuid::Uuid::nil()),
            tenant_id: TenantId::from_uuid(uuid::Uuid::nil()),
            name: Key::parse("customers").unwrap(),
            label: DisplayName::parse("顧客").unwrap(),
            memo: String::new(),
            fields: serde_json::from_value(json).unwrap(),
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn operators_fit_each_type() {
        assert!(ops_for(FieldType::Text).contains(&BuilderOp::Compare(CompareOp::Contains)));
        assert!(!ops_for(FieldType::Number).contains(&BuilderOp::Compare(CompareOp::Contains)));
        assert!(!ops_for(FieldType::Choice).contains(&BuilderOp::Compare(CompareOp::Gt)));
        assert_eq!(ops_for(FieldType::Boolean), [BuilderOp::Compare(CompareOp::Eq)]);
        for t in FieldType::ALL {
            for op in ops_for(t) {
                assert_eq!(BuilderOp::parse(op.as_str()), Some(op));
            }
        }
    }

    #[test]
    fn the_builder_makes_filter_text_the_parser_reads_back() {
        let c = collection();
        let points = condition(&c, true, "points", ">=", "１，０００").unwrap();
        let plan = condition(&c, true, "plan", "=", "premium").unwrap();
        let joined = condition(&c, true, "joined", "<", "2026/4/1").unwrap();
        let empty = condition(&c, true, "name", "empty", "").unwrap();
        let f =
            [&points, &plan, &joined, &empty].into_iter().fold(None, |f, cond| Some(with_condition(f.as_ref(), cond)));
        let text = f.unwrap().to_string();
        assert_eq!(text, "points >= 1000 && plan = 'premium' && joined < '2026-04-01' && name = null");
        let parsed = Filter::parse(&text, &c, true).unwrap();
        assert_eq!(parsed.conditions().unwrap(), [points, plan, joined, empty]);
    }

    #[test]
    fn the_builder_refuses_what_does_not_fit() {
        let c = collection();
        assert_eq!(condition(&c, false, "name", "~", "山田"), Err(BuildError::NoSuchField), "personal information");
        assert_eq!(condition(&c, true, "nosuch", "=", "1"), Err(BuildError::NoSuchField));
        assert_eq!(condition(&c, true, "points", "~", "1"), Err(BuildError::NoSuchOperator));
        assert_eq!(condition(&c, true, "points", ">", "たくさん"), Err(BuildError::NotANumber));
        assert_eq!(condition(&c, true, "joined", ">", "昨日"), Err(BuildError::NotADate));
        assert_eq!(condition(&c, true, "plan", "=", "gold"), Err(BuildError::NotAChoice));
        assert_eq!(condition(&c, true, "points", "=", " "), Err(BuildError::NeedsValue));
    }

    #[test]
    fn conditions_read_as_sentences_with_choice_labels() {
        let c = collection();
        let plan = condition(&c, true, "plan", "=", "premium").unwrap();
        assert_eq!(describe(&c, &plan, Lang::Ja), "「プラン」が プレミアム");
        assert_eq!(describe(&c, &plan, Lang::En), "プラン is プレミアム");
        let points = condition(&c, true, "points", ">=", "1200").unwrap();
        assert_eq!(describe(&c, &points, Lang::Ja), "「ポイント」が 1,200 以上");
        let joined = condition(&c, true, "joined", ">=", "2026-04-01").unwrap();
        assert_eq!(describe(&c, &joined, Lang::En), "入会日 on or after 2026-04-01");
        let empty = condition(&c, true, "name", "empty", "").unwrap();
        assert_eq!(describe(&c, &empty, Lang::Ja), "「氏名」が空欄");
    }

    #[test]
    fn the_example_uses_this_collections_fields() {
        let c = collection();
        assert_eq!(example(&c, false).as_deref(), Some("plan = 'free' && points >= 100"));
        let ex = example(&c, true).unwrap();
        assert!(ex.starts_with("name ~ "), "{ex}");
        assert!(Filter::parse(&ex, &c, true).is_ok());
    }
}
