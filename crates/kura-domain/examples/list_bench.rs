//! A hand-run micro-benchmark of listing a page of records in memory: the benchmark harness's
//! list workload (`points>100`, sorted by `-joined`, 50 per page) over records shaped like the
//! harness's, with [`ListQuery::apply`] and with [`ListQuery::apply_indexed`].
//!
//! ```text
//! cargo run --release -p kura-domain --example list_bench -- 10000 2000
//! ```
//!
//! Arguments: the number of records (10,000), of timed queries per case (2,000), and optionally
//! a text that selects the cases whose label contains it.
//!
//! Columns: "apply" is the original algorithm; "build" the second query on a new index (the first
//! one is answered by `apply`), which builds the columns the query needs: the cost a snapshot
//! pays once after a write replaced it; "indexed" every later query.
//! Not a test: the numbers depend on the machine and its load.
#![allow(clippy::unwrap_used, clippy::print_stdout, reason = "a hand-run benchmark")]

use jiff::Timestamp;
use kura_domain::{
    Collection, CollectionId, DisplayName, FieldDef, FieldType, FieldValue, Key, ListQuery, Page, Record, RecordData,
    RecordId, RecordIndex, Rules, TenantId,
};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// SplitMix64: deterministic and good enough to spread values.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

fn field(name: &str, field_type: FieldType, pii: bool) -> FieldDef {
    FieldDef {
        name: Key::parse(name).unwrap(),
        label: DisplayName::parse(name).unwrap(),
        field_type,
        required: false,
        pii,
        memo: String::new(),
        rules: Rules::default(),
        choices: vec![],
        choice_labels: Default::default(),
        warn_duplicates: false,
    }
}

fn collection() -> Collection {
    Collection {
        id: CollectionId::from_uuid(Uuid::nil()),
        tenant_id: TenantId::from_uuid(Uuid::nil()),
        name: Key::parse("bench").unwrap(),
        label: DisplayName::parse("Bench").unwrap(),
        memo: String::new(),
        fields: vec![
            field("name", FieldType::Text, true),
            field("kana", FieldType::Text, false),
            field("email", FieldType::Email, true),
            field("points", FieldType::Number, false),
            field("joined", FieldType::Date, false),
        ],
        created_at: Timestamp::UNIX_EPOCH,
        updated_at: Timestamp::UNIX_EPOCH,
    }
}

fn records(n: usize) -> Vec<Arc<Record>> {
    const SURNAMES: [&str; 10] = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤"];
    const KANA: [&str; 10] =
        ["サトウ", "スズキ", "タカハシ", "タナカ", "イトウ", "ワタナベ", "ヤマモト", "ナカムラ", "コバヤシ", "カトウ"];
    const GIVEN: [&str; 10] = ["太郎", "花子", "一郎", "美咲", "健太", "陽子", "翔", "愛", "大輔", "由美"];
    let mut rng = Rng(42);
    (0..n)
        .map(|i| {
            let s = rng.below(10) as usize;
            let mut data = RecordData::new();
            data.insert("name".into(), FieldValue::Text(format!("{} {}", SURNAMES[s], GIVEN[rng.below(10) as usize])));
            data.insert("kana".into(), FieldValue::Text(KANA[s].into()));
            data.insert("email".into(), FieldValue::Text(format!("customer{i}@example.jp")));
            data.insert("points".into(), FieldValue::Number(rng.below(1000) as f64));
            let (y, m, d) = (2015 + rng.below(11), 1 + rng.below(12), 1 + rng.below(28));
            data.insert("joined".into(), FieldValue::Text(format!("{y:04}-{m:02}-{d:02}")));
            Arc::new(Record {
                // Increasing ids, as version-7 ids minted one after the other are.
                id: RecordId::from_uuid(Uuid::from_u128(((i as u128 + 1) << 64) | 0x7000)),
                tenant_id: TenantId::from_uuid(Uuid::nil()),
                collection_id: CollectionId::from_uuid(Uuid::nil()),
                version: 1,
                data,
                created_at: Timestamp::UNIX_EPOCH,
                updated_at: Timestamp::UNIX_EPOCH,
            })
        })
        .collect()
}

/// Runs `f` `runs` times (after a few untimed runs) and returns microseconds per run.
fn time(runs: usize, mut f: impl FnMut() -> u64) -> f64 {
    for _ in 0..runs.div_ceil(20) {
        black_box(f());
    }
    let started = Instant::now();
    for _ in 0..runs {
        black_box(f());
    }
    started.elapsed().as_secs_f64() * 1e6 / runs as f64
}

fn ids(page: &Page<&Record>) -> Vec<RecordId> {
    page.items.iter().map(|r| r.id).collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).map_or(10_000, |a| a.parse().unwrap());
    let runs: usize = args.get(2).map_or(2_000, |a| a.parse().unwrap());
    let c = collection();
    let records = records(n);
    let query = |filter, search, sort, page| ListQuery::parse(&c, filter, search, sort, Some(page), Some(50), true);
    let cases = [
        ("points>100, -joined (harness)", query(Some("points>100"), None, Some("-joined"), 1)),
        ("the same, page 150 of 180", query(Some("points>100"), None, Some("-joined"), 150)),
        ("no filter, default order", query(None, None, None, 1)),
        ("kana = 'サトウ', name,-points", query(Some("kana = 'サトウ'"), None, Some("name,-points"), 1)),
        ("search '田中', -points", query(None, Some("田中"), Some("-points"), 1)),
    ];
    println!("{n} records, {runs} queries per case, µs per query");
    println!("{:<34} {:>10} {:>10} {:>10} {:>8}", "query", "apply", "build", "indexed", "speed-up");
    let only = args.get(3).map_or("", String::as_str);
    let pii = true;
    for (label, q) in cases.into_iter().filter(|case| case.0.contains(only)) {
        let q = q.unwrap();
        let before = time(runs, || q.apply(&c, records.iter().map(|r| &**r), pii).total);
        let builds = runs.div_ceil(10);
        let mut building = Duration::ZERO;
        for _ in 0..builds {
            let index = RecordIndex::default();
            black_box(q.apply_indexed(&c, &records, &index, pii).total);
            let started = Instant::now();
            black_box(q.apply_indexed(&c, &records, &index, pii).total);
            building += started.elapsed();
        }
        let build = building.as_secs_f64() * 1e6 / builds as f64;
        let index = RecordIndex::default();
        let old = q.apply(&c, records.iter().map(|r| &**r), pii);
        let new = (0..2).map(|_| q.apply_indexed(&c, &records, &index, pii)).last().unwrap();
        assert_eq!((ids(&old), old.total), (ids(&new), new.total), "{label}: the two paths differ");
        let after = time(runs, || q.apply_indexed(&c, &records, &index, pii).total);
        println!("{label:<34} {before:>10.1} {build:>10.1} {after:>10.1} {:>7.0}×", before / after);
    }
}
