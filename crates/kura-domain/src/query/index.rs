//! Indexes that let [`ListQuery::apply_indexed`] answer a list request without looking up and
//! comparing map values for every record on every request.
//!
//! A collection's records are held as an immutable snapshot, so anything derived from it stays
//! true for as long as the snapshot lives. For each field a query filters or sorts on, the index
//! ranks the distinct values once ("column"); afterwards a filter is evaluated once per distinct
//! value and spread over the records through their ranks, and a sort walks records in precomputed
//! order and stops as soon as the requested page is full.
//!
//! Results are exactly those of [`ListQuery::apply`]: filters still go through the same `compare`
//! function, only once per distinct value instead of once per record, and values are ranked by a
//! sort key that orders them as `compare_values` does (the tests check both against the original
//! over random records and queries). Search depends on the collection's definition and the
//! caller's permission, so it is still evaluated record by record, on the filter's matches.
//!
//! Columns are built from the values themselves, never from the collection's definition, so a
//! field whose type changed while the snapshot lived (old values stay in records) cannot make a
//! column wrong. A field holding values of several kinds is not indexed at all: the comparator
//! is not a total order over them, so only the original algorithm defines the result.

use super::{CompareOp, Filter, ListQuery, Literal, Page, Val, compare, search_matches, value_of};
use crate::collection::Collection;
use crate::record::{FieldValue, Record};
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{self, AtomicUsize};
use std::sync::{Arc, Mutex, OnceLock};

/// Most columns one index keeps. Queries parsed by [`ListQuery::parse`] only name fields of the
/// collection (at most 100) and three metadata names, so this bound is only reached by
/// hand-built queries naming arbitrary fields; their columns are then built, used and dropped.
const MAX_COLUMNS: usize = 128;

/// Lazily built filter and sort indexes over one immutable slice of records.
///
/// Keep one beside the slice it indexes and pass both to [`ListQuery::apply_indexed`]; a new
/// slice (records added, changed or removed) needs a new index. Building a column costs about one
/// sort of the records by that field (somewhat more than one unindexed query), paid by the first
/// indexed query that needs it; concurrent queries share the result. Memory is about 8 bytes per
/// record for each field queried (plus a little per distinct value), for a bounded number of
/// fields.
///
/// The first query of an index is answered without it and builds nothing: a snapshot listed only
/// once before the next write replaces it would pay for columns it never uses again.
#[derive(Default)]
pub struct RecordIndex {
    /// How many queries have used the index.
    queries: AtomicUsize,
    /// Every record position by id descending, the tiebreak of every sort (just the positions
    /// reversed when the records are in id order, as a snapshot's are). Its length is also a
    /// guard against being handed another slice, which makes queries use [`ListQuery::apply`].
    id_desc: OnceLock<Vec<u32>>,
    /// Columns by field name. Each slot is initialised once, outside the map's lock, so building
    /// one column blocks only the queries that need that column.
    columns: Mutex<HashMap<String, Arc<OnceLock<Column>>>>,
}

impl fmt::Debug for RecordIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The columns hold a few numbers per record: too much to print, so only their names.
        let columns = self.columns.lock().unwrap_or_else(|p| p.into_inner());
        let mut names: Vec<&str> = columns.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("RecordIndex").field("len", &self.id_desc.get().map(Vec::len)).field("columns", &names).finish()
    }
}

impl RecordIndex {
    /// An index past its first query, so that tests exercise the indexed path from the start.
    #[cfg(test)]
    pub(crate) fn warm() -> Self {
        Self { queries: AtomicUsize::new(1), ..Self::default() }
    }

    /// Record positions by id descending; see `id_desc`. `records` has at most `u32::MAX` records.
    fn id_desc<R: Borrow<Record>>(&self, records: &[R]) -> &[u32] {
        self.id_desc.get_or_init(|| {
            let mut order: Vec<u32> = (0..records.len() as u32).rev().collect();
            if !records.windows(2).all(|w| w[0].borrow().id < w[1].borrow().id) {
                order.sort_by(|&a, &b| records[b as usize].borrow().id.cmp(&records[a as usize].borrow().id));
            }
            order
        })
    }

    /// The column of `field` over `records`, building it if this is its first use.
    fn column<R: Borrow<Record>>(&self, records: &[R], field: &str) -> Arc<OnceLock<Column>> {
        let slot = {
            // A panic while holding the lock cannot leave the map inconsistent (slots are inserted
            // whole), so a poisoned lock is still usable.
            let mut columns = self.columns.lock().unwrap_or_else(|p| p.into_inner());
            match columns.get(field) {
                Some(slot) => slot.clone(),
                None if columns.len() < MAX_COLUMNS => {
                    let slot = Arc::new(OnceLock::new());
                    columns.insert(field.to_owned(), slot.clone());
                    slot
                }
                None => Arc::new(OnceLock::new()),
            }
        };
        slot.get_or_init(|| Column::build(records, self.id_desc(records), field));
        slot
    }
}

/// What the index knows about one field.
#[derive(Debug)]
enum Column {
    /// Values of more than one kind: the comparator is not a total order over them, so nothing
    /// is precomputed. Filters on the field compare record by record; queries sorting on it use
    /// the original algorithm.
    Unindexed,
    Ranked(Ranked),
}

/// The values of one field, all of one kind, ranked in the order of `compare_values`.
#[derive(Debug)]
struct Ranked {
    /// Per record position, the rank of its value among the distinct values in ascending order.
    /// Records without a value have rank `reps.len()`: after every value, as `compare_values`
    /// places absent values.
    rank: Vec<u32>,
    /// Record positions in ascending order of value, records without a value last; within a group
    /// of equal values (or of absent ones) by id descending, the tiebreak of every sort.
    order: Vec<u32>,
    /// Where each group starts in `order`, followed by `order.len()`. Group `r` holds the records
    /// of rank `r`; the group of records without a value, if any, comes last.
    starts: Vec<u32>,
    /// One record position per distinct value, to evaluate a filter once per value.
    reps: Vec<u32>,
    /// The distinct values when they are numbers, so that numeric filters need no lookups.
    numbers: Option<Vec<f64>>,
    /// Whether the values are texts, whose comparison with a text literal is monotonic in rank.
    texts: bool,
}

/// The kinds of value `compare_values` orders among themselves; any two kinds are mixed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Number,
    Text,
    Micros,
    Id,
}

impl Kind {
    fn of(v: Val<'_>) -> Self {
        match v {
            Val::Field(FieldValue::Bool(_)) => Self::Bool,
            Val::Field(FieldValue::Number(_)) => Self::Number,
            Val::Field(FieldValue::Text(_)) => Self::Text,
            Val::Micros(_) => Self::Micros,
            Val::Id(_) => Self::Id,
        }
    }
}

impl Column {
    /// Ranks the values of `field`. `id_desc` lists every record position by id descending.
    fn build<R: Borrow<Record>>(records: &[R], id_desc: &[u32], field: &str) -> Self {
        let mut kind = None;
        // Records with a value, by id descending; `keys` refers to them by index, `texts` holds
        // their values when they are texts.
        let mut positions: Vec<u32> = Vec::with_capacity(records.len());
        let mut keys: Vec<(u128, u32)> = Vec::with_capacity(records.len());
        let mut texts: Vec<&str> = Vec::new();
        let mut absent: Vec<u32> = Vec::new();
        for &p in id_desc {
            let Some(v) = value_of(records[p as usize].borrow(), field) else {
                absent.push(p);
                continue;
            };
            if *kind.get_or_insert(Kind::of(v)) != Kind::of(v) {
                return Self::Unindexed;
            }
            let (head, text) = sort_key(v);
            keys.push((head, positions.len() as u32));
            positions.push(p);
            texts.extend(text);
        }
        let is_text = kind == Some(Kind::Text);
        let same_head_order = |a: u32, b: u32| {
            if is_text { text_tiebreak(texts[a as usize], texts[b as usize]) } else { Ordering::Equal }
        };
        // Ties on the value are broken by the index, which follows the id-descending tiebreak.
        // Unique keys make an unstable sort (the fastest here) give one result.
        keys.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| same_head_order(a.1, b.1)).then(a.1.cmp(&b.1)));

        let mut rank = vec![0; records.len()];
        let mut order = Vec::with_capacity(records.len());
        let mut starts = Vec::new();
        let mut reps = Vec::new();
        let mut numbers = Vec::new();
        let mut prev: Option<(u128, u32)> = None;
        for &(head, i) in &keys {
            let p = positions[i as usize];
            if prev.is_none_or(|(h, j)| h != head || same_head_order(j, i) != Ordering::Equal) {
                starts.push(order.len() as u32);
                reps.push(p);
                if kind == Some(Kind::Number) {
                    numbers.push(number_of_key(head));
                }
                prev = Some((head, i));
            }
            rank[p as usize] = (reps.len() - 1) as u32;
            order.push(p);
        }
        if !absent.is_empty() {
            let absent_rank = reps.len() as u32;
            starts.push(order.len() as u32);
            for &p in &absent {
                rank[p as usize] = absent_rank;
                order.push(p);
            }
        }
        starts.push(order.len() as u32);
        let numbers = (kind == Some(Kind::Number)).then_some(numbers);
        Self::Ranked(Ranked { rank, order, starts, reps, numbers, texts: is_text })
    }
}

/// A value as a sort key that orders values of one kind exactly as `compare_values` does, with
/// no pointers to follow for most comparisons (following them is what made sorting slow):
/// numbers (in the order of `f64::total_cmp`), booleans, times and ids become integers of the
/// same order. A text becomes its first 16 bytes, zero-padded, which order like `str::cmp` does
/// unless they are equal; then [`text_tiebreak`] decides, given the text itself.
fn sort_key(v: Val<'_>) -> (u128, Option<&str>) {
    let head = match v {
        // The bit manipulation of `f64::total_cmp`, with the sign flipped to order as unsigned.
        Val::Field(FieldValue::Number(n)) => {
            let bits = n.to_bits() as i64;
            u128::from((bits ^ (((bits >> 63) as u64) >> 1) as i64) as u64 ^ SIGN)
        }
        Val::Field(FieldValue::Bool(b)) => u128::from(*b),
        Val::Field(FieldValue::Text(s)) => {
            let mut head = [0; 16];
            let n = s.len().min(16);
            head[..n].copy_from_slice(&s.as_bytes()[..n]);
            return (u128::from_be_bytes(head), Some(s));
        }
        Val::Micros(m) => u128::from(m as u64 ^ SIGN),
        // A UUID orders as its bytes do, which is the order of its big-endian integer.
        Val::Id(id) => id.as_uuid().as_u128(),
    };
    (head, None)
}

const SIGN: u64 = 1 << 63;

/// The order of two texts whose sort keys (first 16 bytes, zero-padded) are equal.
fn text_tiebreak(a: &str, b: &str) -> Ordering {
    if a.len() <= 16 && b.len() <= 16 {
        // Both texts are in their keys: the shorter one is a prefix of the other (the longer
        // has zero bytes where the shorter was padded), or they are the same.
        a.len().cmp(&b.len())
    } else {
        a.cmp(b)
    }
}

/// The number a number's sort key was made from. The xor mask of `sort_key` does not touch the
/// sign bit it is derived from, so applying it again undoes it.
fn number_of_key(head: u128) -> f64 {
    let bits = ((head as u64) ^ SIGN) as i64;
    f64::from_bits((bits ^ (((bits >> 63) as u64) >> 1) as i64) as u64)
}

/// Which records match, one bit per record position.
struct Bits {
    words: Vec<u64>,
    len: usize,
}

impl Bits {
    fn new(len: usize, set: bool) -> Self {
        let mut words = vec![if set { u64::MAX } else { 0 }; len.div_ceil(64)];
        if let Some(last) = words.last_mut()
            && set
            && !len.is_multiple_of(64)
        {
            *last = (1u64 << (len % 64)) - 1;
        }
        Self { words, len }
    }
    fn from_fn(len: usize, mut f: impl FnMut(usize) -> bool) -> Self {
        let mut bits = Self::new(len, false);
        for p in 0..len {
            if f(p) {
                bits.set(p);
            }
        }
        bits
    }
    fn get(&self, p: usize) -> bool {
        self.words[p / 64] & (1 << (p % 64)) != 0
    }
    fn set(&mut self, p: usize) {
        self.words[p / 64] |= 1 << (p % 64);
    }
    fn clear(&mut self, p: usize) {
        self.words[p / 64] &= !(1 << (p % 64));
    }
    fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }
    fn ones(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len).filter(|&p| self.get(p))
    }
}

/// `ListQuery::apply` with the help of `index`; see [`ListQuery::apply_indexed`].
pub(super) fn apply<'a, R: Borrow<Record>>(
    query: &ListQuery,
    c: &Collection,
    records: &'a [R],
    index: &RecordIndex,
    pii_visible: bool,
) -> Page<&'a Record> {
    let fallback = || query.apply(c, records.iter().map(Borrow::borrow), pii_visible);
    if index.queries.fetch_add(1, atomic::Ordering::Relaxed) == 0
        || u32::try_from(records.len()).is_err()
        || index.id_desc(records).len() != records.len()
    {
        return fallback();
    }
    // Sorting needs every key's column ranked; without sort keys the order is by id descending,
    // which the column of `id` gives (one record per group).
    let default_key = [super::SortKey { field: "id".to_owned(), desc: true }];
    let keys = if query.sort.is_empty() { &default_key[..] } else { &query.sort[..] };
    let slots: Vec<_> = keys.iter().map(|k| index.column(records, &k.field)).collect();
    let mut columns = Vec::with_capacity(keys.len());
    for (key, slot) in keys.iter().zip(&slots) {
        match slot.get() {
            Some(Column::Ranked(r)) => columns.push((r, key.desc)),
            _ => return fallback(),
        }
    }
    let Some(((first, first_desc), rest)) = columns.split_first() else { return fallback() };

    let mut matched = match &query.filter {
        None => Bits::new(records.len(), true),
        Some(f) => eval(f, records, index),
    };
    if let Some(needle) = &query.search {
        let rejected: Vec<usize> =
            matched.ones().filter(|&p| !search_matches(c, records[p].borrow(), needle, pii_visible)).collect();
        for p in rejected {
            matched.clear(p);
        }
    }
    let total = matched.count();
    let (start, end) = query.window(total);

    // Walk the first key's groups in order; only the groups that reach into the page are sorted
    // by the remaining keys. A group is in id-descending order and the sort is stable, so ties
    // on every key stay in the order of the id tiebreak.
    let mut items = Vec::with_capacity(end - start);
    let mut seen = 0;
    let mut group: Vec<u32> = Vec::new();
    let groups = first.starts.len().saturating_sub(1);
    for g in 0..groups {
        if seen >= end || start == end {
            break;
        }
        let g = if *first_desc { groups - 1 - g } else { g };
        let members = &first.order[first.starts[g] as usize..first.starts[g + 1] as usize];
        group.clear();
        group.extend(members.iter().copied().filter(|&p| matched.get(p as usize)));
        let next = seen + group.len();
        if next > start {
            if !rest.is_empty() {
                group.sort_by(|&a, &b| compare_ranks(rest, a, b));
            }
            let from = start.saturating_sub(seen);
            let to = (end - seen).min(group.len());
            items.extend(group[from..to].iter().map(|&p| records[p as usize].borrow()));
        }
        seen = next;
    }
    Page { items, page: query.page, per_page: query.per_page, total: total as u64 }
}

/// Orders two record positions by the given ranked keys only (the caller keeps the id tiebreak).
fn compare_ranks(keys: &[(&Ranked, bool)], a: u32, b: u32) -> Ordering {
    for (column, desc) in keys {
        let ord = column.rank[a as usize].cmp(&column.rank[b as usize]);
        let ord = if *desc { ord.reverse() } else { ord };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

/// The records matching `filter`. `&&` and `||` combine whole bit sets: the original evaluation
/// short-circuits, but a comparison has no side effects, so the result is the same.
fn eval<R: Borrow<Record>>(filter: &Filter, records: &[R], index: &RecordIndex) -> Bits {
    match filter {
        Filter::And(a, b) => {
            let mut bits = eval(a, records, index);
            let other = eval(b, records, index);
            bits.words.iter_mut().zip(&other.words).for_each(|(x, y)| *x &= y);
            bits
        }
        Filter::Or(a, b) => {
            let mut bits = eval(a, records, index);
            let other = eval(b, records, index);
            bits.words.iter_mut().zip(&other.words).for_each(|(x, y)| *x |= y);
            bits
        }
        Filter::Compare { field, op, value } => {
            let slot = index.column(records, field);
            match slot.get() {
                Some(Column::Ranked(column)) => {
                    let hits = column.hits(records, field, *op, value);
                    spread(&column.rank, &hits)
                }
                _ => Bits::from_fn(records.len(), |p| compare(value_of(records[p].borrow(), field), *op, value)),
            }
        }
    }
}

/// Sets the bit of every record whose rank is a hit.
fn spread(rank: &[u32], hits: &[bool]) -> Bits {
    let mut bits = Bits::new(rank.len(), false);
    for (word, chunk) in bits.words.iter_mut().zip(rank.chunks(64)) {
        *word = chunk.iter().enumerate().fold(0, |w, (i, &r)| w | (u64::from(hits[r as usize]) << i));
    }
    bits
}

impl Ranked {
    /// Whether a record of each rank matches `field op literal`, the last entry standing for
    /// records without a value.
    fn hits<R: Borrow<Record>>(&self, records: &[R], field: &str, op: CompareOp, literal: &Literal) -> Vec<bool> {
        let absent = compare(None, op, literal);
        let value_at = |p: u32| value_of(records[p as usize].borrow(), field);
        let distinct = self.reps.len();
        let mut hits: Vec<bool> = match (literal, &self.numbers) {
            // A present value compared with null is decided by the operator alone.
            (Literal::Null, _) => vec![op == CompareOp::Ne; distinct],
            (_, Some(numbers)) => {
                numbers.iter().map(|&n| compare(Some(Val::Field(&FieldValue::Number(n))), op, literal)).collect()
            }
            (Literal::Text(_), None) if self.texts && !matches!(op, CompareOp::Contains | CompareOp::NotContains) => {
                // Texts compare with a text literal in the same order they are ranked, so the
                // values below and equal to the literal are two prefixes found by bisection.
                let below = self.reps.partition_point(|&p| compare(value_at(p), CompareOp::Lt, literal));
                let up_to = self.reps.partition_point(|&p| compare(value_at(p), CompareOp::Le, literal));
                (0..distinct)
                    .map(|r| {
                        let ord = if r < below {
                            Ordering::Less
                        } else if r < up_to {
                            Ordering::Equal
                        } else {
                            Ordering::Greater
                        };
                        ordering_matches(op, ord)
                    })
                    .collect()
            }
            _ => self.reps.iter().map(|&p| compare(value_at(p), op, literal)).collect(),
        };
        hits.push(absent);
        hits
    }
}

/// Whether `op` holds for a value that compares to the literal as `ord`.
fn ordering_matches(op: CompareOp, ord: Ordering) -> bool {
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Le => ord != Ordering::Greater,
        // Not reached: containment is evaluated value by value.
        CompareOp::Contains | CompareOp::NotContains => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::compare_values;
    use super::*;
    use crate::ids::RecordId;
    use uuid::Uuid;

    /// The order the index sorts by: key heads, then texts when the heads are equal.
    fn key_order(a: Val<'_>, b: Val<'_>) -> Ordering {
        let ((ha, ta), (hb, tb)) = (sort_key(a), sort_key(b));
        ha.cmp(&hb).then_with(|| match (ta, tb) {
            (Some(x), Some(y)) => text_tiebreak(x, y),
            _ => Ordering::Equal,
        })
    }

    #[test]
    fn sort_keys_order_each_kind_as_compare_values_does() {
        let numbers = [
            f64::NEG_INFINITY,
            -1e300,
            -1.0,
            -f64::MIN_POSITIVE,
            -0.0,
            0.0,
            5e-324,
            1.0,
            1.5,
            1e300,
            f64::INFINITY,
            f64::NAN,
            -f64::NAN,
        ];
        let texts = [
            "",
            "\0",
            "a",
            "a\0",
            "a\0b",
            "ab",
            "b",
            "佐藤",
            "0123456789abcdef",
            "0123456789abcdef\0",
            "0123456789abcdefg",
        ];
        let kinds: [Vec<FieldValue>; 3] = [
            numbers.iter().map(|&n| FieldValue::Number(n)).collect(),
            texts.iter().map(|&t| FieldValue::Text(t.into())).collect(),
            vec![FieldValue::Bool(false), FieldValue::Bool(true)],
        ];
        for values in &kinds {
            for a in values {
                for b in values {
                    let (a, b) = (Val::Field(a), Val::Field(b));
                    assert_eq!(
                        key_order(a, b),
                        compare_values(Some(a), Some(b)),
                        "{:?} {:?}",
                        sort_key(a),
                        sort_key(b)
                    );
                }
            }
        }
        let micros = [i64::MIN, -1, 0, 1, i64::MAX];
        let ids = [0, 1, u128::from(u64::MAX), 1 << 127, u128::MAX].map(|n| RecordId::from_uuid(Uuid::from_u128(n)));
        for (a, b) in micros.iter().flat_map(|a| micros.iter().map(move |b| (*a, *b))) {
            assert_eq!(key_order(Val::Micros(a), Val::Micros(b)), a.cmp(&b));
        }
        for (a, b) in ids.iter().flat_map(|a| ids.iter().map(move |b| (*a, *b))) {
            assert_eq!(key_order(Val::Id(a), Val::Id(b)), a.cmp(&b));
        }
        for n in numbers {
            let v = FieldValue::Number(n);
            assert_eq!(number_of_key(sort_key(Val::Field(&v)).0).to_bits(), n.to_bits());
        }
    }
}
