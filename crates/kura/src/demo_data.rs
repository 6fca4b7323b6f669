//! Deterministic Japanese sample customers for `kura demo`.
//!
//! Pure: no IO and no OS randomness. A SplitMix64 generator seeded with a constant makes the same
//! `n` give the same customers every time, and `sample_customers(n)` is a prefix of
//! `sample_customers(m)` for `n <= m`. Every email address uses a reserved example domain and ends
//! with the customer's number, so all of them are distinct.

use serde_json::{Map, Value};

/// One generated customer record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleCustomer {
    pub name: String,
    pub kana: String,
    pub email: String,
    pub phone: String,
    pub prefecture: String,
    pub plan: &'static str,
    pub points: i64,
    /// `YYYY-MM-DD`
    pub joined: String,
    pub newsletter: bool,
    pub note: String,
}

/// (kanji, katakana reading, romaji)
type Name = (&'static str, &'static str, &'static str);

const FAMILY_NAMES: &[Name] = &[
    ("佐藤", "サトウ", "sato"),
    ("鈴木", "スズキ", "suzuki"),
    ("高橋", "タカハシ", "takahashi"),
    ("田中", "タナカ", "tanaka"),
    ("伊藤", "イトウ", "ito"),
    ("渡辺", "ワタナベ", "watanabe"),
    ("山本", "ヤマモト", "yamamoto"),
    ("中村", "ナカムラ", "nakamura"),
    ("小林", "コバヤシ", "kobayashi"),
    ("加藤", "カトウ", "kato"),
    ("吉田", "ヨシダ", "yoshida"),
    ("山田", "ヤマダ", "yamada"),
    ("佐々木", "ササキ", "sasaki"),
    ("山口", "ヤマグチ", "yamaguchi"),
    ("松本", "マツモト", "matsumoto"),
    ("井上", "イノウエ", "inoue"),
    ("木村", "キムラ", "kimura"),
    ("林", "ハヤシ", "hayashi"),
    ("斎藤", "サイトウ", "saito"),
    ("清水", "シミズ", "shimizu"),
    ("山崎", "ヤマザキ", "yamazaki"),
    ("森", "モリ", "mori"),
    ("池田", "イケダ", "ikeda"),
    ("橋本", "ハシモト", "hashimoto"),
    ("阿部", "アベ", "abe"),
    ("石川", "イシカワ", "ishikawa"),
    ("山下", "ヤマシタ", "yamashita"),
    ("中島", "ナカジマ", "nakajima"),
    ("石井", "イシイ", "ishii"),
    ("小川", "オガワ", "ogawa"),
    ("前田", "マエダ", "maeda"),
    ("岡田", "オカダ", "okada"),
    ("長谷川", "ハセガワ", "hasegawa"),
    ("藤田", "フジタ", "fujita"),
    ("後藤", "ゴトウ", "goto"),
    ("近藤", "コンドウ", "kondo"),
    ("村上", "ムラカミ", "murakami"),
    ("遠藤", "エンドウ", "endo"),
    ("青木", "アオキ", "aoki"),
    ("坂本", "サカモト", "sakamoto"),
];

const GIVEN_NAMES: &[Name] = &[
    ("花子", "ハナコ", "hanako"),
    ("太郎", "タロウ", "taro"),
    ("陽菜", "ヒナ", "hina"),
    ("結衣", "ユイ", "yui"),
    ("美咲", "ミサキ", "misaki"),
    ("さくら", "サクラ", "sakura"),
    ("葵", "アオイ", "aoi"),
    ("凛", "リン", "rin"),
    ("芽衣", "メイ", "mei"),
    ("真由美", "マユミ", "mayumi"),
    ("恵子", "ケイコ", "keiko"),
    ("由美子", "ユミコ", "yumiko"),
    ("直美", "ナオミ", "naomi"),
    ("智子", "トモコ", "tomoko"),
    ("裕子", "ユウコ", "yuko"),
    ("明美", "アケミ", "akemi"),
    ("美穂", "ミホ", "miho"),
    ("綾", "アヤ", "aya"),
    ("千尋", "チヒロ", "chihiro"),
    ("優奈", "ユウナ", "yuna"),
    ("翔太", "ショウタ", "shota"),
    ("大輔", "ダイスケ", "daisuke"),
    ("健太", "ケンタ", "kenta"),
    ("拓也", "タクヤ", "takuya"),
    ("蓮", "レン", "ren"),
    ("湊", "ミナト", "minato"),
    ("悠真", "ユウマ", "yuma"),
    ("陽翔", "ハルト", "haruto"),
    ("大翔", "ヒロト", "hiroto"),
    ("誠", "マコト", "makoto"),
    ("浩", "ヒロシ", "hiroshi"),
    ("隆", "タカシ", "takashi"),
    ("健一", "ケンイチ", "kenichi"),
    ("和也", "カズヤ", "kazuya"),
    ("直樹", "ナオキ", "naoki"),
    ("亮", "リョウ", "ryo"),
    ("健二", "ケンジ", "kenji"),
    ("修", "オサム", "osamu"),
    ("雄一", "ユウイチ", "yuichi"),
    ("翼", "ツバサ", "tsubasa"),
];

/// (prefecture, area code of its capital's landlines, rough population in 100,000s as a weight)
const PREFECTURES: &[(&str, &str, u64)] = &[
    ("北海道", "011", 51),
    ("青森県", "017", 12),
    ("岩手県", "019", 12),
    ("宮城県", "022", 23),
    ("秋田県", "018", 9),
    ("山形県", "023", 10),
    ("福島県", "024", 18),
    ("茨城県", "029", 28),
    ("栃木県", "028", 19),
    ("群馬県", "027", 19),
    ("埼玉県", "048", 73),
    ("千葉県", "043", 63),
    ("東京都", "03", 140),
    ("神奈川県", "045", 92),
    ("新潟県", "025", 21),
    ("富山県", "076", 10),
    ("石川県", "076", 11),
    ("福井県", "0776", 7),
    ("山梨県", "055", 8),
    ("長野県", "026", 20),
    ("岐阜県", "058", 19),
    ("静岡県", "054", 36),
    ("愛知県", "052", 75),
    ("三重県", "059", 17),
    ("滋賀県", "077", 14),
    ("京都府", "075", 25),
    ("大阪府", "06", 88),
    ("兵庫県", "078", 54),
    ("奈良県", "0742", 13),
    ("和歌山県", "073", 9),
    ("鳥取県", "0857", 5),
    ("島根県", "0852", 6),
    ("岡山県", "086", 19),
    ("広島県", "082", 27),
    ("山口県", "083", 13),
    ("徳島県", "088", 7),
    ("香川県", "087", 9),
    ("愛媛県", "089", 13),
    ("高知県", "088", 7),
    ("福岡県", "092", 51),
    ("佐賀県", "0952", 8),
    ("長崎県", "095", 13),
    ("熊本県", "096", 17),
    ("大分県", "097", 11),
    ("宮崎県", "0985", 10),
    ("鹿児島県", "099", 16),
    ("沖縄県", "098", 15),
];

/// (plan, weight out of 100, most points a customer on it has)
const PLANS: &[(&str, u64, u64)] = &[("free", 60, 1_500), ("standard", 30, 3_500), ("premium", 10, 5_000)];

const EMAIL_DOMAINS: &[&str] = &["example.jp", "example.jp", "example.com", "example.co.jp"];

const NOTES: &[&str] = &[
    "電話連絡は平日午後を希望",
    "請求書は郵送",
    "紹介キャンペーン経由",
    "メールでの連絡を希望",
    "法人契約の担当者",
    "年末に住所変更予定",
    "ポイント失効について問い合わせあり",
    "店頭イベントで登録",
    "領収書の宛名は会社名で",
    "土日は連絡がつきにくい",
    "プレミアムへの切り替えを検討中",
    "配送は午前中指定",
];

/// SplitMix64: tiny, fast and good enough for sample data.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// An item chosen with probability proportional to `weight(item)`.
    fn weighted<'a, T>(&mut self, items: &'a [T], weight: impl Fn(&T) -> u64) -> &'a T {
        let total: u64 = items.iter().map(&weight).sum();
        let mut roll = self.below(total);
        for item in items {
            let w = weight(item);
            if roll < w {
                return item;
            }
            roll -= w;
        }
        &items[items.len() - 1]
    }
}

const SEED: u64 = 0x4B55_5241_4445_4D4F; // "KURADEMO"

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `days` after 1970-01-01, as `YYYY-MM-DD`.
fn civil_from_days(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `digits` random decimal digits, the first never 0 or 1 (as in Japanese subscriber numbers).
fn digits(rng: &mut SplitMix64, digits: usize) -> String {
    let mut s = rng.between(2, 9).to_string();
    for _ in 1..digits {
        s.push(char::from(b'0' + rng.below(10) as u8));
    }
    s
}

/// A mobile number (070/080/090) or a landline in the prefecture's capital: 10 or 11 digits.
fn phone(rng: &mut SplitMix64, area_code: &str) -> String {
    if rng.chance(70) {
        let prefix = rng.pick(&["090", "080", "070"]);
        let middle = digits(rng, 4);
        format!("{prefix}-{middle}-{:04}", rng.below(10_000))
    } else {
        // Area code and local exchange together take 6 of the 10 digits.
        let exchange = digits(rng, 6 - area_code.len());
        format!("{area_code}-{exchange}-{:04}", rng.below(10_000))
    }
}

fn email(rng: &mut SplitMix64, given: &str, family: &str, number: usize) -> String {
    let domain = rng.pick(EMAIL_DOMAINS);
    let initial = &given[..1];
    let local = match rng.below(4) {
        0 => format!("{given}.{family}"),
        1 => format!("{family}.{given}"),
        2 => format!("{given}_{family}"),
        _ => format!("{initial}{family}"),
    };
    format!("{local}.{number}@{domain}")
}

/// The first `n` sample customers, always the same ones.
/// The 47 prefectures in their official order (北海道 to 沖縄県), the choices of the demo's
/// prefecture field.
pub fn prefectures() -> impl Iterator<Item = &'static str> {
    PREFECTURES.iter().map(|p| p.0)
}

pub fn sample_customers(n: usize) -> Vec<SampleCustomer> {
    let mut rng = SplitMix64(SEED);
    let first_day = days_from_civil(2019, 1, 1);
    let last_day = days_from_civil(2026, 10, 31);
    (0..n)
        .map(|i| {
            let (family, family_kana, family_romaji) = *rng.pick(FAMILY_NAMES);
            let (given, given_kana, given_romaji) = *rng.pick(GIVEN_NAMES);
            let (prefecture, area_code, _) = *rng.weighted(PREFECTURES, |p| p.2);
            let (plan, _, max_points) = *rng.weighted(PLANS, |p| p.1);
            let offset = rng.below((last_day - first_day + 1) as u64) as i64;
            let note = if rng.chance(20) { *rng.pick(NOTES) } else { "" };
            SampleCustomer {
                name: format!("{family} {given}"),
                kana: format!("{family_kana} {given_kana}"),
                email: email(&mut rng, given_romaji, family_romaji, i + 1),
                phone: phone(&mut rng, area_code),
                prefecture: prefecture.to_owned(),
                plan,
                points: rng.between(0, max_points) as i64,
                joined: civil_from_days(first_day + offset),
                newsletter: rng.chance(45),
                note: note.to_owned(),
            }
        })
        .collect()
}

/// The customer as a JSON object with the keys name, kana, email, phone, prefecture, plan,
/// points, joined, newsletter and note.
pub fn to_json(c: &SampleCustomer) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("name".into(), c.name.clone().into());
    m.insert("kana".into(), c.kana.clone().into());
    m.insert("email".into(), c.email.clone().into());
    m.insert("phone".into(), c.phone.clone().into());
    m.insert("prefecture".into(), c.prefecture.clone().into());
    m.insert("plan".into(), c.plan.into());
    m.insert("points".into(), c.points.into());
    m.insert("joined".into(), c.joined.clone().into());
    m.insert("newsletter".into(), c.newsletter.into());
    m.insert("note".into(), c.note.clone().into());
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn deterministic_and_prefix_stable() {
        assert_eq!(sample_customers(50), sample_customers(50));
        assert_eq!(sample_customers(20)[..], sample_customers(50)[..20]);
        assert!(sample_customers(0).is_empty());
    }

    #[test]
    fn names_and_kana() {
        for c in sample_customers(300) {
            assert_eq!(c.name.split(' ').count(), 2, "{}", c.name);
            assert_eq!(c.kana.split(' ').count(), 2, "{}", c.kana);
            let katakana = |ch: char| ('\u{30A1}'..='\u{30FA}').contains(&ch) || ch == 'ー' || ch == ' ';
            assert!(c.kana.chars().all(katakana), "{}", c.kana);
        }
    }

    #[test]
    fn emails_are_ascii_example_addresses_and_unique() {
        let customers = sample_customers(300);
        let mut seen = HashSet::new();
        for c in &customers {
            assert!(c.email.is_ascii(), "{}", c.email);
            let (local, domain) = c.email.split_once('@').expect("an @");
            assert!(!local.is_empty() && !domain.contains('@'), "{}", c.email);
            assert!(["example.jp", "example.com", "example.co.jp"].contains(&domain), "{}", c.email);
            seen.insert(c.email.as_str());
        }
        assert!(seen.len() >= 250, "only {} distinct emails", seen.len());
        assert_eq!(seen.len(), customers.len());
    }

    #[test]
    fn phones_look_japanese() {
        for c in sample_customers(300) {
            let parts: Vec<&str> = c.phone.split('-').collect();
            assert_eq!(parts.len(), 3, "{}", c.phone);
            assert!(c.phone.starts_with('0'), "{}", c.phone);
            let count = c.phone.chars().filter(char::is_ascii_digit).count();
            let mobile = ["090", "080", "070"].contains(&parts[0]);
            assert_eq!(count, if mobile { 11 } else { 10 }, "{}", c.phone);
        }
    }

    #[test]
    fn dates_are_valid_and_in_range() {
        let first = jiff::civil::date(2019, 1, 1);
        let last = jiff::civil::date(2026, 10, 31);
        for c in sample_customers(300) {
            let d: jiff::civil::Date = c.joined.parse().expect("a valid YYYY-MM-DD date");
            assert_eq!(d.to_string(), c.joined);
            assert!(first <= d && d <= last, "{}", c.joined);
        }
        // The date arithmetic agrees with jiff at the edges and across leap days.
        for (y, m, d) in [(2019, 1, 1), (2020, 2, 29), (2024, 3, 1), (2026, 10, 31), (1970, 1, 1)] {
            let ours = civil_from_days(days_from_civil(y, m, d));
            assert_eq!(ours, format!("{y:04}-{m:02}-{d:02}"));
        }
    }

    #[test]
    fn fields_are_in_range_and_varied() {
        let customers = sample_customers(300);
        let prefectures: HashSet<_> = customers.iter().map(|c| c.prefecture.as_str()).collect();
        let plans: HashSet<_> = customers.iter().map(|c| c.plan).collect();
        assert!(prefectures.len() >= 30, "{prefectures:?}");
        assert_eq!(plans.len(), 3);
        assert!(customers.iter().all(|c| (0..=5000).contains(&c.points)));
        assert!(customers.iter().all(|c| PREFECTURES.iter().any(|p| p.0 == c.prefecture)));
        let with_note = customers.iter().filter(|c| !c.note.is_empty()).count();
        assert!((10..150).contains(&with_note), "{with_note} notes");
        let subscribed = customers.iter().filter(|c| c.newsletter).count();
        assert!((60..240).contains(&subscribed), "{subscribed} subscribed");
        assert_eq!(PREFECTURES.len(), 47);
    }

    #[test]
    fn json_has_all_keys() {
        let c = &sample_customers(1)[0];
        let json = to_json(c);
        let keys: Vec<&str> = json.keys().map(String::as_str).collect();
        for key in ["name", "kana", "email", "phone", "prefecture", "plan", "points", "joined", "newsletter", "note"] {
            assert!(keys.contains(&key), "missing {key}");
        }
        assert_eq!(json.len(), 10);
        assert_eq!(json["points"], Value::from(c.points));
        assert_eq!(json["newsletter"], Value::from(c.newsletter));
    }
}
