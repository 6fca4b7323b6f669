//! Listing records: a small filter language, multi-key sorts and pagination, evaluated in the
//! domain rather than in SQL. Record values will be encrypted at rest, so the database cannot
//! filter or sort them; this module is the one place that does, over decrypted values.
//! [`ListQuery::apply`] is the definition; [`ListQuery::apply_indexed`] gives the same pages from
//! indexes kept with an immutable snapshot of the records (`index.rs`).
//!
//! Filter grammar (PocketBase-like, so that integrators feel at home):
//! ```text
//! expr := and ("||" and)*          and  := atom ("&&" atom)*
//! atom := "(" expr ")" | name op literal
//! op   := "=" | "!=" | ">" | ">=" | "<" | "<=" | "~" (contains) | "!~"
//! literal := 'text' | "text" | number | true | false | null
//! ```

mod error;
mod index;
mod parse;
mod text;

pub use error::{Found, QueryError};
pub use index::RecordIndex;
pub use text::Condition;

use crate::collection::{Collection, FieldType};
use crate::error::DomainError;
use crate::ids::RecordId;
use crate::record::{FieldValue, Record};
use kura_crypto::vault::{is_normalised, normalise};
use serde::Serialize;
use std::borrow::Borrow;
use std::cmp::Ordering;

/// Largest page a client may ask for.
pub const MAX_PER_PAGE: u32 = 500;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CompareOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Contains,
    NotContains,
}

#[derive(Clone, PartialEq, Debug)]
pub enum Literal {
    Null,
    Bool(bool),
    Number(f64),
    Text(String),
}

/// A parsed filter expression.
#[derive(Clone, PartialEq, Debug)]
pub enum Filter {
    Compare { field: String, op: CompareOp, value: Literal },
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
}

/// One key of a sort: a field or `created_at`/`updated_at`, ascending unless `desc`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SortKey {
    pub field: String,
    pub desc: bool,
}

/// A request for one page of records.
#[derive(Clone, Debug, PartialEq)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    /// Free text matched against every visible field, both sides in the form of
    /// `kura_crypto::vault::normalise` (NFKC and lower case: `ﾔﾏﾀﾞ` finds `ヤマダ`, `ＡＢＣ１２３`
    /// finds `abc123`); held normalised.
    pub search: Option<String>,
    pub sort: Vec<SortKey>,
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}

/// One page of results.
#[derive(Clone, Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub per_page: u32,
    pub total: u64,
}

fn invalid(e: QueryError) -> DomainError {
    DomainError::Query(e)
}

const META_FIELDS: [&str; 3] = ["id", "created_at", "updated_at"];

/// Checks that a name refers to a field the caller may filter or sort on. Personal-information
/// fields are refused when `pii_visible` is false: filtering on them would reveal masked values.
fn check_name(c: &Collection, name: &str, pii_visible: bool) -> Result<(), DomainError> {
    if META_FIELDS.contains(&name) {
        return Ok(());
    }
    match c.field(name) {
        None => Err(invalid(QueryError::UnknownField(name.to_owned()))),
        Some(f) if f.pii && !pii_visible => Err(invalid(QueryError::PiiField(name.to_owned()))),
        Some(_) => Ok(()),
    }
}

impl ListQuery {
    /// Parses the query-string parts of a list request.
    pub fn parse(
        c: &Collection,
        filter: Option<&str>,
        search: Option<&str>,
        sort: Option<&str>,
        page: Option<u32>,
        per_page: Option<u32>,
        pii_visible: bool,
    ) -> Result<Self, DomainError> {
        let filter = match filter.map(str::trim).filter(|f| !f.is_empty()) {
            None => None,
            Some(f) => Some(Filter::parse(f, c, pii_visible)?),
        };
        let mut keys = Vec::new();
        for part in sort.unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (desc, name) = match part.strip_prefix('-') {
                Some(n) => (true, n),
                None => (false, part.strip_prefix('+').unwrap_or(part)),
            };
            check_name(c, name, pii_visible)?;
            keys.push(SortKey { field: name.to_owned(), desc });
        }
        if keys.len() > 5 {
            return Err(invalid(QueryError::TooManySortKeys));
        }
        let page = page.unwrap_or(1);
        let per_page = per_page.unwrap_or(50);
        if page == 0 {
            return Err(invalid(QueryError::PageZero));
        }
        if per_page == 0 || per_page > MAX_PER_PAGE {
            return Err(invalid(QueryError::PerPage));
        }
        let search = search.map(str::trim).filter(|s| !s.is_empty()).map(normalise);
        if search.as_ref().is_some_and(|s| s.chars().count() > 200) {
            return Err(invalid(QueryError::SearchTooLong));
        }
        Ok(Self { filter, search, sort: keys, page, per_page })
    }

    /// Whether `r` is one of the records this query selects (its filter and its search; the
    /// sort and the page play no part), as a bulk change chooses its records.
    pub fn matches(&self, c: &Collection, r: &Record, pii_visible: bool) -> bool {
        self.filter.as_ref().is_none_or(|f| f.matches(r))
            && self.search.as_ref().is_none_or(|s| search_matches(c, r, s, pii_visible))
    }

    /// Filters, sorts and pages records, borrowing them (the store hands out a shared snapshot).
    /// Without sort keys, newest first. Only the requested window is fully sorted: the records
    /// before it are selected in linear time, so page 1 of a large collection stays cheap.
    pub fn apply<'a>(
        &self,
        c: &Collection,
        records: impl IntoIterator<Item = &'a Record>,
        pii_visible: bool,
    ) -> Page<&'a Record> {
        let mut matched: Vec<&Record> = records.into_iter().filter(|r| self.matches(c, r, pii_visible)).collect();
        let total = matched.len() as u64;
        let order = |a: &&Record, b: &&Record| {
            for key in &self.sort {
                let ord = compare_values(value_of(a, &key.field), value_of(b, &key.field));
                let ord = if key.desc { ord.reverse() } else { ord };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            // Version-7 ids sort by creation time: a stable, newest-first default and tiebreak.
            b.id.cmp(&a.id)
        };
        let (start, end) = self.window(matched.len());
        if end < matched.len() {
            matched.select_nth_unstable_by(end, order);
        }
        matched[..end].sort_unstable_by(order);
        matched.truncate(end);
        let items = matched.split_off(start);
        Page { items, page: self.page, per_page: self.per_page, total }
    }

    /// The same page as [`ListQuery::apply`], usually much faster: `index` ranks the values of
    /// the fields filtered and sorted on once, so a filter is evaluated once per distinct value
    /// and the page is read off in sort order instead of sorting the matches.
    ///
    /// `index` must belong to `records`: build one per immutable slice (an empty
    /// `RecordIndex::default()`; columns are added by the queries that need them) and always
    /// pass it with that slice. An index met with a slice of another length is ignored. The first
    /// query of an index, and one sorting on a field that holds values of several kinds (its type
    /// changed), are answered by [`ListQuery::apply`].
    pub fn apply_indexed<'a, R: Borrow<Record>>(
        &self,
        c: &Collection,
        records: &'a [R],
        index: &RecordIndex,
        pii_visible: bool,
    ) -> Page<&'a Record> {
        index::apply(self, c, records, index, pii_visible)
    }

    /// The positions of the requested page among `matched` sorted matches: `start..end`. Page 0
    /// (which `parse` refuses) is past the end.
    fn window(&self, matched: usize) -> (usize, usize) {
        let per_page = self.per_page as usize;
        let start = (self.page as usize).checked_sub(1).map_or(matched, |p| p.saturating_mul(per_page)).min(matched);
        (start, start.saturating_add(per_page).min(matched))
    }
}

fn search_matches(c: &Collection, r: &Record, needle: &str, pii_visible: bool) -> bool {
    c.fields
        .iter()
        .filter(|f| pii_visible || !f.pii)
        .filter(|f| f.field_type != FieldType::Boolean)
        .any(|f| r.data.get(f.name.as_str()).is_some_and(|v| contains_folded(v, needle)))
}

/// Containment after normalising (DAT-3): `needle` is already [`normalise`]d, and so is the
/// value before it is searched, so that case, full-/half-width forms and compatibility characters
/// do not matter.
fn contains_folded(v: &FieldValue, needle: &str) -> bool {
    match v {
        // ASCII normalises to itself, lower-cased, so it can hold only an ASCII needle.
        FieldValue::Text(s) if s.is_ascii() => {
            needle.is_empty()
                || (needle.is_ascii()
                    && s.as_bytes().windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle.as_bytes())))
        }
        // Text already in normal form (most Japanese: kana, kanji, digits) is searched as it
        // is, and normalised into a new string only when it has a character that changes. A
        // keyword search of 10,000 Japanese records took 33 ms at the median when every value
        // was lower-cased first (docs/PERFORMANCE.md, "Console pages").
        FieldValue::Text(s) => s.contains(needle) || (!is_normalised(s) && normalise(s).contains(needle)),
        other => normalise(&other.display()).contains(needle),
    }
}

/// A borrowed view of one value of a record, for comparisons without copying.
#[derive(Clone, Copy)]
enum Val<'a> {
    Field(&'a FieldValue),
    Micros(i64),
    Id(RecordId),
}

fn value_of<'a>(r: &'a Record, name: &str) -> Option<Val<'a>> {
    match name {
        "id" => Some(Val::Id(r.id)),
        "created_at" => Some(Val::Micros(r.created_at.as_microsecond())),
        "updated_at" => Some(Val::Micros(r.updated_at.as_microsecond())),
        _ => r.data.get(name).map(Val::Field),
    }
}

/// Orders values of one field; absent values sort last in ascending order.
fn compare_values(a: Option<Val<'_>>, b: Option<Val<'_>>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(Val::Micros(x)), Some(Val::Micros(y))) => x.cmp(&y),
        (Some(Val::Id(x)), Some(Val::Id(y))) => x.cmp(&y),
        (Some(Val::Field(x)), Some(Val::Field(y))) => match (x, y) {
            (FieldValue::Number(x), FieldValue::Number(y)) => x.total_cmp(y),
            (FieldValue::Bool(x), FieldValue::Bool(y)) => x.cmp(y),
            (FieldValue::Text(x), FieldValue::Text(y)) => x.cmp(y),
            (x, y) => x.display().cmp(&y.display()),
        },
        // Mixed kinds cannot occur for one name; order them deterministically anyway.
        (Some(x), Some(y)) => rank(x).cmp(&rank(y)),
    }
}

fn rank(v: Val<'_>) -> u8 {
    match v {
        Val::Field(_) => 0,
        Val::Micros(_) => 1,
        Val::Id(_) => 2,
    }
}

impl Filter {
    /// Parses a filter and checks every name against the collection.
    pub fn parse(input: &str, c: &Collection, pii_visible: bool) -> Result<Self, DomainError> {
        let f = parse::filter(input)?;
        f.check_names(c, pii_visible)?;
        Ok(f)
    }

    fn check_names(&self, c: &Collection, pii_visible: bool) -> Result<(), DomainError> {
        match self {
            Self::Compare { field, .. } => check_name(c, field, pii_visible),
            Self::And(a, b) | Self::Or(a, b) => {
                a.check_names(c, pii_visible)?;
                b.check_names(c, pii_visible)
            }
        }
    }

    pub fn matches(&self, r: &Record) -> bool {
        match self {
            Self::And(a, b) => a.matches(r) && b.matches(r),
            Self::Or(a, b) => a.matches(r) || b.matches(r),
            Self::Compare { field, op, value } => compare(value_of(r, field), *op, value),
        }
    }
}

fn compare(actual: Option<Val<'_>>, op: CompareOp, expected: &Literal) -> bool {
    use CompareOp::*;
    let Some(actual) = actual else {
        return match (op, expected) {
            (Eq, Literal::Null) => true,
            (Ne, Literal::Null) => false,
            (Ne | NotContains, _) => true,
            _ => false,
        };
    };
    let owned;
    let actual: &FieldValue = match actual {
        Val::Field(f) => f,
        Val::Micros(m) => {
            owned = FieldValue::Number(m as f64);
            &owned
        }
        Val::Id(id) => {
            owned = FieldValue::Text(id.to_string());
            &owned
        }
    };
    let ord = match (actual, expected) {
        (_, Literal::Null) => return op == Ne,
        (FieldValue::Number(a), Literal::Number(b)) => a.partial_cmp(b),
        (FieldValue::Bool(a), Literal::Bool(b)) => Some(a.cmp(b)),
        (FieldValue::Text(a), Literal::Text(b)) => Some(a.as_str().cmp(b.as_str())),
        (a, Literal::Text(b)) => Some(a.display().as_str().cmp(b.as_str())),
        (a, Literal::Number(b)) => a.display().parse::<f64>().ok().and_then(|x| x.partial_cmp(b)),
        (_, Literal::Bool(_)) => None,
    };
    let text_contains = || match expected {
        Literal::Text(t) => contains_folded(actual, &normalise(t)),
        Literal::Number(n) => actual.display().contains(&n.to_string()),
        _ => false,
    };
    match op {
        Contains => text_contains(),
        NotContains => !text_contains(),
        Eq => ord == Some(Ordering::Equal),
        Ne => ord != Some(Ordering::Equal),
        Gt => ord == Some(Ordering::Greater),
        Ge => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
        Lt => ord == Some(Ordering::Less),
        Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collection::tests::field;
    use crate::ids::{CollectionId, RecordId, TenantId};
    use crate::{DisplayName, Key, RecordData};
    use jiff::Timestamp;
    use std::sync::Arc;
    use uuid::Uuid;

    fn collection() -> Collection {
        let mut secret = field("secret", FieldType::Text);
        secret.pii = true;
        Collection {
            id: CollectionId::from_uuid(Uuid::nil()),
            tenant_id: TenantId::from_uuid(Uuid::nil()),
            name: Key::parse("c").unwrap(),
            label: DisplayName::parse("C").unwrap(),
            memo: String::new(),
            fields: vec![field("name", FieldType::Text), field("points", FieldType::Number), secret],
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
        }
    }

    fn rec(n: u128, name: &str, points: f64) -> Record {
        let mut data = RecordData::new();
        data.insert("name".into(), FieldValue::Text(name.into()));
        data.insert("points".into(), FieldValue::Number(points));
        data.insert("secret".into(), FieldValue::Text(format!("s{n}")));
        Record {
            id: RecordId::from_uuid(Uuid::from_u128(n)),
            tenant_id: TenantId::from_uuid(Uuid::nil()),
            collection_id: CollectionId::from_uuid(Uuid::nil()),
            version: 1,
            data,
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
        }
    }

    fn names(p: &Page<&Record>) -> Vec<String> {
        p.items.iter().map(|r| r.data.get("name").map(FieldValue::display).unwrap_or_default()).collect()
    }

    #[test]
    fn dat_3_search_finds_what_normalising_every_value_first_finds() {
        let text = |s: &str| FieldValue::Text(s.to_owned());
        // The same answers as normalising every value first, including letters whose lower
        // case depends on their place (Σ) or is not the letter itself (ǅ), and full-/half-width
        // and compatibility forms.
        for (haystack, needle) in [
            ("東京都千代田区", "千代田"),
            ("東京都千代田区", "大阪"),
            ("ÄRGER im Büro", "ärger"),
            ("ǅemal", "ǆe"),
            ("ΟΔΟΣ", "οδος"),
            ("ΟΔΟΣ", "οδοσ"),
            ("Straße", "strasse"),
            ("山田 TARO", "taro"),
            ("ⅫⅣ", "ⅻ"),
            ("ヤマダ タロウ", "ﾔﾏﾀﾞ"),
            ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ"),
            ("abc123", "ＡＢＣ１２３"),
            ("ＡＢＣ１２３", "abc"),
            ("㈱山田商事", "(株)"),
            ("やまだ", "ヤマダ"),
        ] {
            let needle = normalise(needle);
            let expected = normalise(haystack).contains(&needle);
            assert_eq!(contains_folded(&text(haystack), &needle), expected, "{haystack} / {needle}");
        }
        assert!(contains_folded(&text("ヤマダ タロウ"), &normalise("ﾔﾏﾀﾞ")));
        assert!(contains_folded(&text("ABC123"), &normalise("ＡＢＣ１２３")));
        assert!(!contains_folded(&text("やまだ"), &normalise("ヤマダ")));
        assert!(contains_folded(&text("東京都千代田区"), "千代田"));
        assert!(contains_folded(&text("山田 TARO"), "taro"));
    }

    #[test]
    fn dat_3_a_list_search_finds_half_width_kana_and_full_width_letters() {
        let c = collection();
        let rs = vec![rec(1, "ヤマダ タロウ", 1.0), rec(2, "abc123 商事", 2.0), rec(3, "やまだ", 3.0)];
        let search = |q: &str| {
            let query = ListQuery::parse(&c, None, Some(q), None, None, None, true).unwrap();
            names(&query.apply(&c, &rs, true))
        };
        assert_eq!(search("ﾔﾏﾀﾞ"), ["ヤマダ タロウ"]);
        assert_eq!(search("ＡＢＣ１２３"), ["abc123 商事"]);
        assert_eq!(search("ABC"), ["abc123 商事"]);
        // The filter's `~` normalises the same way.
        let filter = ListQuery::parse(&c, Some("name ~ \"ﾀﾛｳ\""), None, None, None, None, true).unwrap();
        assert_eq!(names(&filter.apply(&c, &rs, true)), ["ヤマダ タロウ"]);
    }

    #[test]
    fn filter_sort_and_page() {
        let c = collection();
        let rs = vec![rec(1, "佐藤", 150.0), rec(2, "鈴木", 50.0), rec(3, "高橋", 300.0), rec(4, "田中", 120.0)];
        let q = ListQuery::parse(&c, Some("points>100"), None, Some("-points"), Some(1), Some(2), true).unwrap();
        let page = q.apply(&c, &rs, true);
        assert_eq!(page.total, 3);
        assert_eq!(names(&page), ["高橋", "佐藤"]);
        let q = ListQuery::parse(&c, Some("points>100"), None, Some("-points"), Some(2), Some(2), true).unwrap();
        assert_eq!(names(&q.apply(&c, &rs, true)), ["田中"]);
        let q = ListQuery::parse(&c, None, None, Some("points"), Some(3), Some(2), true).unwrap();
        assert!(q.apply(&c, &rs, true).items.is_empty(), "past the end");
        let q =
            ListQuery::parse(&c, Some("name ~ 'SA' || name ~ '高'"), None, Some("created_at,-id"), None, None, true)
                .unwrap();
        assert_eq!(names(&q.apply(&c, &rs, true)), ["高橋"]);
        let q = ListQuery::parse(
            &c,
            Some("(name = '鈴木' || name ~ '田') && points < 200"),
            None,
            Some("name"),
            None,
            None,
            true,
        )
        .unwrap();
        assert_eq!(names(&q.apply(&c, &rs, true)), ["田中", "鈴木"]);
        let q = ListQuery::parse(&c, None, Some("高"), None, None, None, true).unwrap();
        assert_eq!(names(&q.apply(&c, &rs, true)), ["高橋"]);
    }

    #[test]
    fn malformed_filters_are_refused_with_a_reason() {
        let c = collection();
        for bad in ["points >", "points > 1 &&", "(points > 1", "nosuch = 1", "points $ 1", "'x", "name = 'a' )"] {
            let err = Filter::parse(bad, &c, true).unwrap_err();
            assert!(!err.to_string().is_empty(), "{bad}");
        }
        let deep = format!("{}points>1{}", "(".repeat(40), ")".repeat(40));
        assert!(Filter::parse(&deep, &c, true).is_err());
    }

    #[test]
    fn iam_3_pii_fields_cannot_be_filtered_sorted_or_searched_without_permission() {
        let c = collection();
        assert!(Filter::parse("secret = 's1'", &c, false).is_err());
        assert!(ListQuery::parse(&c, None, None, Some("secret"), None, None, false).is_err());
        let q = ListQuery::parse(&c, None, Some("s1"), None, None, None, false).unwrap();
        assert_eq!(q.apply(&c, &[rec(1, "a", 1.0)], false).total, 0);
        assert_eq!(q.apply(&c, &[rec(1, "a", 1.0)], true).total, 1);
    }

    #[test]
    fn paging_limits() {
        let c = collection();
        assert!(ListQuery::parse(&c, None, None, None, Some(0), None, true).is_err());
        assert!(ListQuery::parse(&c, None, None, None, None, Some(MAX_PER_PAGE + 1), true).is_err());
    }

    /// A small deterministic generator: the domain has no randomness of its own, and a failing
    /// case must be reproducible.
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ((self.0 >> 33) % n as u64) as usize
        }
        fn pick<T: Clone>(&mut self, items: &[T]) -> T {
            items[self.below(items.len())].clone()
        }
        fn chance(&mut self, percent: usize) -> bool {
            self.below(100) < percent
        }
    }

    /// Texts that stress the sort key: equal 16-byte prefixes, NUL bytes, case, non-ASCII, digits.
    const TEXTS: [&str; 22] = [
        "",
        "a",
        "A",
        "a\0",
        "ab",
        "b",
        "Sato",
        "sato",
        "佐藤",
        "佐藤 花子",
        "サトウ",
        "ÄBC",
        "äbc",
        "5",
        "10",
        "0123456789abcdef",
        "0123456789abcdef\0",
        "0123456789abcdefX",
        "0123456789abcdefY",
        "0123456789abcdeX",
        "customer1@example.jp",
        "customer12@example.jp",
    ];
    const NUMBERS: [f64; 12] = [0.0, -0.0, 1.0, 1.5, -3.0, 10.0, 100.0, 101.0, 999.0, 1e20, 5.0, f64::NAN];
    const DATES: [&str; 5] = ["2015-01-01", "2019-07-31", "2019-08-01", "2024-02-29", "2025-12-31"];
    const FIELDS: [&str; 11] =
        ["name", "points", "joined", "vip", "secret", "code", "gone", "id", "created_at", "updated_at", "nowhere"];

    /// A collection whose `code` field is a number although records hold texts and booleans in
    /// it too (its type changed), and whose records keep values of a removed field `gone`.
    fn random_collection() -> Collection {
        let mut c = collection();
        c.fields.push(field("joined", FieldType::Date));
        c.fields.push(field("vip", FieldType::Boolean));
        c.fields.push(field("code", FieldType::Number));
        c
    }

    fn random_records(rng: &mut Lcg) -> Vec<Arc<Record>> {
        let n = rng.below(60);
        let mixed_code = rng.chance(30);
        let micros = [0, 1, 2, 1_000_000, -5];
        let mut records: Vec<Arc<Record>> = (0..n)
            .map(|i| {
                let mut data = RecordData::new();
                let mut put = |rng: &mut Lcg, name: &str, value: FieldValue| {
                    if rng.chance(80) {
                        data.insert(name.into(), value);
                    }
                };
                let v = FieldValue::Text(rng.pick(&TEXTS).into());
                put(rng, "name", v);
                let v = FieldValue::Number(rng.pick(&NUMBERS));
                put(rng, "points", v);
                let v = FieldValue::Text(rng.pick(&DATES).into());
                put(rng, "joined", v);
                let v = FieldValue::Bool(rng.chance(50));
                put(rng, "vip", v);
                let v = FieldValue::Text(rng.pick(&TEXTS).into());
                put(rng, "secret", v);
                let v = FieldValue::Text(rng.pick(&TEXTS).into());
                put(rng, "gone", v);
                // Mixed kinds that still order consistently (single digits, then letters), so
                // that the original sort has a defined result to compare with.
                let v = match rng.below(if mixed_code { 3 } else { 1 }) {
                    0 => FieldValue::Number(rng.below(10) as f64),
                    1 => FieldValue::Text(rng.pick(&["a", "b", "zz"]).into()),
                    _ => FieldValue::Bool(rng.chance(50)),
                };
                put(rng, "code", v);
                let id = ((rng.below(1 << 20) as u128) << 32) | i as u128;
                let mut r = rec(id, "", 0.0);
                r.data = data;
                r.created_at = Timestamp::from_microsecond(rng.pick(&micros)).unwrap();
                r.updated_at = Timestamp::from_microsecond(rng.pick(&micros)).unwrap();
                Arc::new(r)
            })
            .collect();
        // A snapshot is in id order; an arbitrary slice need not be.
        if rng.chance(50) {
            records.sort_by_key(|r| r.id);
        }
        records
    }

    fn random_filter(rng: &mut Lcg, records: &[Arc<Record>], depth: usize) -> Filter {
        if depth > 0 && rng.chance(40) {
            let (a, b) = (random_filter(rng, records, depth - 1), random_filter(rng, records, depth - 1));
            return if rng.chance(50) {
                Filter::And(Box::new(a), Box::new(b))
            } else {
                Filter::Or(Box::new(a), Box::new(b))
            };
        }
        use CompareOp::*;
        let op = rng.pick(&[Eq, Ne, Gt, Ge, Lt, Le, Contains, NotContains]);
        let value = match rng.below(6) {
            0 => Literal::Null,
            1 => Literal::Bool(rng.chance(50)),
            2 => Literal::Number(rng.pick(&NUMBERS)),
            3 => Literal::Text(rng.pick(&DATES).into()),
            4 if !records.is_empty() => Literal::Text(rng.pick(records).id.to_string()),
            _ => Literal::Text(rng.pick(&TEXTS).into()),
        };
        Filter::Compare { field: rng.pick(&FIELDS).into(), op, value }
    }

    fn random_query(rng: &mut Lcg, records: &[Arc<Record>]) -> ListQuery {
        let filter = rng.chance(80).then(|| random_filter(rng, records, 3));
        let search = rng.chance(25).then(|| rng.pick(&["a", "sato", "佐藤", "ä", "1", "true", "cdef", "@"]).to_owned());
        let sort =
            (0..rng.below(4)).map(|_| SortKey { field: rng.pick(&FIELDS).into(), desc: rng.chance(50) }).collect();
        let page = if rng.chance(10) { 1_000 } else { 1 + rng.below(5) as u32 };
        ListQuery { filter, search, sort, page, per_page: rng.pick(&[1, 2, 3, 7, 50]) }
    }

    fn summary(p: &Page<&Record>) -> (Vec<RecordId>, u64, u32, u32) {
        (p.items.iter().map(|r| r.id).collect(), p.total, p.page, p.per_page)
    }

    #[test]
    fn indexed_listing_returns_exactly_what_apply_returns() {
        let c = random_collection();
        let mut rng = Lcg(7);
        for set in 0..400 {
            let records = random_records(&mut rng);
            // One index per record set, reused by every query, as a snapshot's is.
            let index = RecordIndex::warm();
            for _ in 0..40 {
                let q = random_query(&mut rng, &records);
                let pii = rng.chance(50);
                let old = q.apply(&c, records.iter().map(|r| &**r), pii);
                let new = q.apply_indexed(&c, &records, &index, pii);
                assert_eq!(summary(&new), summary(&old), "record set {set}, query {q:?}, pii {pii}");
            }
        }
    }

    #[test]
    fn indexed_listing_of_the_benchmark_query_matches_apply() {
        let c = random_collection();
        let mut rng = Lcg(11);
        let records: Vec<Arc<Record>> = (0..2_000)
            .map(|i| {
                let mut r = rec(i + 1, "", rng.below(1_000) as f64);
                let date = format!("{:04}-{:02}-{:02}", 2015 + rng.below(11), 1 + rng.below(12), 1 + rng.below(28));
                r.data.insert("joined".into(), FieldValue::Text(date));
                Arc::new(r)
            })
            .collect();
        let index = RecordIndex::warm();
        for page in [1, 2, 36, 37, 100] {
            let q =
                ListQuery::parse(&c, Some("points>100"), None, Some("-joined"), Some(page), Some(50), true).unwrap();
            let old = q.apply(&c, records.iter().map(|r| &**r), true);
            assert_eq!(summary(&q.apply_indexed(&c, &records, &index, true)), summary(&old), "page {page}");
        }
    }

    #[test]
    fn an_index_is_built_from_its_second_query_on() {
        let c = collection();
        let rs = vec![rec(1, "a", 1.0), rec(2, "b", 2.0), rec(3, "c", 0.0)];
        let index = RecordIndex::default();
        let q = ListQuery::parse(&c, Some("points>0"), None, Some("-name"), None, None, true).unwrap();
        assert_eq!(names(&q.apply_indexed(&c, &rs, &index, true)), ["b", "a"]);
        assert!(format!("{index:?}").contains("columns: []"), "{index:?}");
        assert_eq!(names(&q.apply_indexed(&c, &rs, &index, true)), ["b", "a"]);
        assert!(format!("{index:?}").contains(r#"columns: ["name", "points"]"#), "{index:?}");
    }

    #[test]
    fn an_index_handed_another_slice_is_not_trusted() {
        let c = collection();
        let (a, b) = (vec![rec(1, "a", 1.0), rec(2, "b", 2.0)], vec![rec(3, "c", 3.0)]);
        let index = RecordIndex::warm();
        let q = ListQuery::parse(&c, None, None, Some("points"), None, None, true).unwrap();
        assert_eq!(names(&q.apply_indexed(&c, &a, &index, true)), ["a", "b"]);
        assert_eq!(names(&q.apply_indexed(&c, &b, &index, true)), ["c"]);
    }
}
