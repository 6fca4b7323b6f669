//! Forgiving input (PUB-2): what people type through a Japanese input method, made into what a
//! field's type expects, before the value is validated.
//!
//! A Japanese keyboard in kana mode types full-width letters, digits and symbols (`０３－１２３４`,
//! `ｔａｒｏ＠example.jp`, `１２００`), and older systems hand over half-width katakana (`ﾔﾏﾀﾞ`).
//! Where a field's type calls for half-width (numbers, dates, email addresses, phone numbers, and
//! text restricted to half-width characters or to a pattern), full-width ASCII becomes half-width;
//! where it calls for katakana, half-width katakana becomes full-width. Other text is kept as
//! typed: a name written `ＡＢＣ商事` is the customer's own spelling.

use crate::collection::{Charset, FieldDef, FieldType, compile_pattern};
use std::borrow::Cow;

/// Dashes that people type where a hyphen-minus is meant: the katakana prolonged sound mark (the
/// key next to `0` in kana mode), its half-width form, the hyphen, non-breaking hyphen, figure
/// dash, en and em dashes, horizontal bar and minus sign. The full-width hyphen-minus `－` is
/// covered by the full-width ASCII range.
const DASHES: [char; 9] = ['ー', 'ｰ', '‐', '‑', '‒', '–', '—', '―', '−'];

/// Full-width ASCII (`！`–`～`) and the ideographic space as their half-width forms; other
/// characters unchanged.
pub fn to_half_width(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| matches!(c, '\u{FF01}'..='\u{FF5E}' | '\u{3000}')) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.chars().map(half_width_char).collect())
}

fn half_width_char(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

/// [`to_half_width`], with every dash of [`DASHES`] as `-`: for phone numbers, postal codes and
/// other codes written with hyphens.
fn to_half_width_dashed(s: &str) -> String {
    s.chars().map(|c| if DASHES.contains(&c) { '-' } else { half_width_char(c) }).collect()
}

/// Half-width katakana (`ｱ`–`ﾝ`, `ｦ`, small kana, `ｰ`, `･`) as full-width, with a following voiced
/// (`ﾞ`) or semi-voiced (`ﾟ`) mark composed into one character (`ﾀﾞ` → `ダ`, `ﾊﾟ` → `パ`,
/// `ｳﾞ` → `ヴ`). A mark that cannot be composed becomes the full-width mark (`゛`, `゜`).
pub fn to_full_width_katakana(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| ('\u{FF61}'..='\u{FF9F}').contains(&c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let Some(full) = full_width_kana(c) else {
            out.push(c);
            continue;
        };
        let composed = match chars.peek() {
            Some('ﾞ') => voiced(full),
            Some('ﾟ') => semi_voiced(full),
            _ => None,
        };
        match composed {
            Some(v) => {
                out.push(v);
                chars.next();
            }
            None => out.push(full),
        }
    }
    Cow::Owned(out)
}

/// The full-width form of one half-width katakana character or mark.
fn full_width_kana(c: char) -> Option<char> {
    // U+FF61..=U+FF9F in order: ｡｢｣､･ｦｧｨｩｪｫｬｭｮｯｰｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜﾝﾞﾟ
    const FULL: [char; 63] = [
        '。', '「', '」', '、', '・', 'ヲ', 'ァ', 'ィ', 'ゥ', 'ェ', 'ォ', 'ャ', 'ュ', 'ョ', 'ッ', 'ー', 'ア', 'イ',
        'ウ', 'エ', 'オ', 'カ', 'キ', 'ク', 'ケ', 'コ', 'サ', 'シ', 'ス', 'セ', 'ソ', 'タ', 'チ', 'ツ', 'テ', 'ト',
        'ナ', 'ニ', 'ヌ', 'ネ', 'ノ', 'ハ', 'ヒ', 'フ', 'ヘ', 'ホ', 'マ', 'ミ', 'ム', 'メ', 'モ', 'ヤ', 'ユ', 'ヨ',
        'ラ', 'リ', 'ル', 'レ', 'ロ', 'ワ', 'ン', '゛', '゜',
    ];
    let i = (c as u32).checked_sub(0xFF61)? as usize;
    FULL.get(i).copied()
}

/// `カ` + `゛` → `ガ`: the voiced kana follows its base in Unicode for カ–ト and ハ–ホ; `ウ` and
/// `ワ`/`ヲ` have their own voiced forms.
fn voiced(base: char) -> Option<char> {
    match base {
        'カ' | 'キ' | 'ク' | 'ケ' | 'コ' | 'サ' | 'シ' | 'ス' | 'セ' | 'ソ' | 'タ' | 'チ' | 'ツ' | 'テ' | 'ト'
        | 'ハ' | 'ヒ' | 'フ' | 'ヘ' | 'ホ' => char::from_u32(base as u32 + 1),
        'ウ' => Some('ヴ'),
        'ワ' => Some('ヷ'),
        'ヲ' => Some('ヺ'),
        _ => None,
    }
}

/// `ハ` + `゜` → `パ`, for ハ–ホ only.
fn semi_voiced(base: char) -> Option<char> {
    match base {
        'ハ' | 'ヒ' | 'フ' | 'ヘ' | 'ホ' => char::from_u32(base as u32 + 2),
        _ => None,
    }
}

/// Katakana typed for a kana field: half-width katakana as full-width, the full-width space kept,
/// and a hyphen or dash right after a kana as the prolonged sound mark (`ス－パ－` → `スーパー`),
/// which is what a dash between katakana means.
fn katakana(s: &str) -> String {
    let full = to_full_width_katakana(s);
    let mut out = String::with_capacity(full.len());
    let mut after_kana = false;
    for c in full.chars() {
        let c = if after_kana && (c == '-' || c == '－' || DASHES.contains(&c)) { 'ー' } else { c };
        after_kana = ('\u{30A1}'..='\u{30FA}').contains(&c) || c == 'ー';
        out.push(c);
    }
    out
}

/// A date as `YYYY-MM-DD` when written with slashes, dots or 年月日 (`2026/4/1`, `2026年4月1日`),
/// with full-width digits; other text unchanged (the date parser then explains what is wrong).
fn date(s: &str) -> String {
    let half = to_half_width_dashed(s.trim());
    let parts: Vec<&str> = half.split(['-', '/', '.', '年', '月', '日']).filter(|p| !p.is_empty()).collect();
    let digits = |p: &&str| p.chars().all(|c| c.is_ascii_digit());
    match parts.as_slice() {
        [y, m, d] if y.len() == 4 && m.len() <= 2 && d.len() <= 2 && parts.iter().all(digits) => {
            format!("{y}-{m:0>2}-{d:0>2}")
        }
        _ => half,
    }
}

/// A number as Rust parses it: half-width, a leading dash as minus, and thousands separators
/// dropped when they group digits by three (`１，２００` → `1200`; `1,5` is left alone).
fn number(s: &str) -> String {
    let half = to_half_width(s.trim()).into_owned();
    let (sign, body) = match half.chars().next() {
        Some(c) if DASHES.contains(&c) => ("-", &half[c.len_utf8()..]),
        _ => ("", half.as_str()),
    };
    let grouped = {
        let int = body.split('.').next().unwrap_or("");
        let groups: Vec<&str> = int.split(',').collect();
        groups.len() > 1
            && (1..=3).contains(&groups[0].len())
            && groups[1..].iter().all(|g| g.len() == 3)
            && groups.iter().all(|g| g.chars().all(|c| c.is_ascii_digit()))
    };
    let body = if grouped { body.replace(',', "") } else { body.to_owned() };
    format!("{sign}{body}")
}

/// A code written in half-width characters: full-width forms and dashes made half-width, and a
/// leading postal mark `〒` dropped (it marks a postal code, it is not part of it).
fn code(s: &str) -> String {
    let trimmed = s.trim();
    let without_mark = trimmed.strip_prefix('〒').map_or(trimmed, str::trim_start);
    to_half_width_dashed(without_mark)
}

impl FieldDef {
    /// The text of a submitted value as this field's type expects it (see the module's
    /// documentation); validation follows. Borrowed when nothing changes.
    pub fn normalize<'a>(&self, s: &'a str) -> Cow<'a, str> {
        match self.field_type {
            FieldType::Number => Cow::Owned(number(s)),
            FieldType::Date => Cow::Owned(date(s)),
            FieldType::Email => to_half_width(s),
            FieldType::Phone => Cow::Owned(to_half_width_dashed(s)),
            FieldType::Choice => {
                if self.choices.iter().any(|c| c == s) {
                    return Cow::Borrowed(s);
                }
                // A choice typed in full-width (through the API) is still that choice.
                let half = to_half_width(s.trim());
                match self.choices.iter().find(|c| **c == half) {
                    Some(c) => Cow::Owned(c.clone()),
                    None => Cow::Borrowed(s),
                }
            }
            FieldType::Boolean => Cow::Borrowed(s),
            FieldType::Text | FieldType::LongText => self.normalize_text(s),
        }
    }

    fn normalize_text<'a>(&self, s: &'a str) -> Cow<'a, str> {
        match self.rules.charset {
            Some(Charset::Digits | Charset::Alphanumeric | Charset::Ascii) => return Cow::Owned(code(s)),
            Some(Charset::Katakana) => return Cow::Owned(katakana(s)),
            Some(Charset::Hiragana) | None => {}
        }
        // A pattern such as `\d{3}-\d{4}` calls for half-width too, but it may as well ask for
        // full-width text: the half-width form is taken only when it matches and the text as
        // typed does not.
        if let Some(re) = self.rules.pattern.as_deref().and_then(|p| compile_pattern(p).ok()) {
            let trimmed = s.trim();
            if !re.is_match(trimmed) {
                let half = code(trimmed);
                if re.is_match(&half) {
                    return Cow::Owned(half);
                }
            }
        }
        Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collection::tests::field;

    fn typed(t: FieldType) -> FieldDef {
        field("f", t)
    }

    fn with_charset(cs: Charset) -> FieldDef {
        let mut f = typed(FieldType::Text);
        f.rules.charset = Some(cs);
        f
    }

    #[test]
    fn pub_2_full_width_becomes_half_width_where_the_type_calls_for_it() {
        assert_eq!(typed(FieldType::Phone).normalize("０３－１２３４－５６７８"), "03-1234-5678");
        assert_eq!(typed(FieldType::Email).normalize("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ"), "taro@example.jp");
        assert_eq!(typed(FieldType::Number).normalize("１２００"), "1200");
        assert_eq!(typed(FieldType::Number).normalize("１，２００．５"), "1200.5");
        assert_eq!(typed(FieldType::Number).normalize("－１２"), "-12");
        assert_eq!(typed(FieldType::Number).normalize("−3"), "-3");
        assert_eq!(typed(FieldType::Date).normalize("２０２６／４／１"), "2026-04-01");
        assert_eq!(typed(FieldType::Date).normalize("2026年4月1日"), "2026-04-01");
        assert_eq!(typed(FieldType::Date).normalize("2026-04-01"), "2026-04-01");
        assert_eq!(with_charset(Charset::Digits).normalize("０１２３"), "0123");
        assert_eq!(with_charset(Charset::Alphanumeric).normalize("ＡＢＣ１２３"), "ABC123");
        // Plain text keeps the customer's own spelling.
        assert_eq!(typed(FieldType::Text).normalize("ＡＢＣ商事　本店"), "ＡＢＣ商事　本店");
        assert!(matches!(typed(FieldType::Phone).normalize("03-1234-5678"), Cow::Owned(_)));
        assert!(matches!(typed(FieldType::Text).normalize("山田"), Cow::Borrowed(_)));
    }

    #[test]
    fn pub_2_the_prolonged_sound_mark_is_a_hyphen_in_numbers_and_a_vowel_in_kana() {
        // A phone number typed in kana mode gets ー (prolonged sound mark) or － (full-width hyphen).
        assert_eq!(typed(FieldType::Phone).normalize("０９０ー１２３４ー５６７８"), "090-1234-5678");
        assert_eq!(typed(FieldType::Phone).normalize("090‐1234–5678"), "090-1234-5678");
        // In katakana, ー is the long vowel and stays; a dash after a kana becomes one.
        let kana = with_charset(Charset::Katakana);
        assert_eq!(kana.normalize("スーパー"), "スーパー");
        assert_eq!(kana.normalize("ス－パ－"), "スーパー");
        assert_eq!(kana.normalize("ｽｰﾊﾟｰ"), "スーパー");
        // A dash with no kana before it is not a vowel: it is left for validation to refuse.
        assert_eq!(kana.normalize("－ア"), "－ア");
    }

    #[test]
    fn pub_2_half_width_katakana_becomes_full_width_with_voiced_marks_composed() {
        let kana = with_charset(Charset::Katakana);
        assert_eq!(kana.normalize("ﾔﾏﾀﾞ ﾀﾛｳ"), "ヤマダ タロウ");
        assert_eq!(kana.normalize("ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ"), "パピプペポ");
        assert_eq!(kana.normalize("ｳﾞｧｲｵﾘﾝ"), "ヴァイオリン");
        assert_eq!(kana.normalize("ｶﾞｷﾞｸﾞｹﾞｺﾞｻﾞｼﾞｽﾞｾﾞｿﾞﾀﾞﾁﾞﾂﾞﾃﾞﾄﾞﾊﾞﾋﾞﾌﾞﾍﾞﾎﾞ"), "ガギグゲゴザジズゼゾダヂヅデドバビブベボ");
        assert_eq!(kana.normalize("ｯｬｭｮｧｨｩｪｫｦﾝ"), "ッャュョァィゥェォヲン");
        // A mark that belongs to no kana is kept as the full-width mark, not dropped.
        assert_eq!(kana.normalize("ｱﾞ"), "ア゛");
        assert_eq!(kana.normalize("ﾟ"), "゜");
        assert_eq!(kana.normalize("ｲﾄｳ･ｹﾝ"), "イトウ・ケン");
        // The result passes the katakana rule; the half-width form did not.
        assert!("ヤマダ タロウ".chars().all(|c| Charset::Katakana.allows(c)));
        assert!(!"ﾔﾏﾀﾞ".chars().all(|c| Charset::Katakana.allows(c)));
    }

    #[test]
    fn pub_2_the_postal_mark_is_dropped_from_postal_codes() {
        let mut zip = typed(FieldType::Text);
        zip.rules.pattern = Some(r"\d{3}-\d{4}".into());
        assert_eq!(zip.normalize("〒１００－０００１"), "100-0001");
        assert_eq!(zip.normalize("〒 100ー0001"), "100-0001");
        assert_eq!(zip.normalize("100-0001"), "100-0001");
        // What does not match either way is left as typed, for the pattern to refuse.
        assert_eq!(zip.normalize("〒東京"), "〒東京");
        // A pattern that asks for full-width characters is not converted away from them.
        let mut wide = typed(FieldType::Text);
        wide.rules.pattern = Some("[０-９]+".into());
        assert_eq!(wide.normalize("１２３"), "１２３");
        let mut ascii = with_charset(Charset::Ascii);
        ascii.rules.pattern = None;
        assert_eq!(ascii.normalize("〒１００－０００１"), "100-0001");
    }

    #[test]
    fn pub_2_choices_forgive_full_width_and_nothing_else() {
        let mut plan = typed(FieldType::Choice);
        plan.choices = vec!["free".into(), "premium".into()];
        assert_eq!(plan.normalize("premium"), "premium");
        assert_eq!(plan.normalize("ｐｒｅｍｉｕｍ"), "premium");
        assert_eq!(plan.normalize("gold"), "gold");
    }

    #[test]
    fn conversions_leave_other_characters_alone() {
        assert_eq!(to_half_width("東京都　千代田区"), "東京都 千代田区");
        assert_eq!(to_half_width("～"), "~");
        assert!(matches!(to_half_width("abc"), Cow::Borrowed(_)));
        assert!(matches!(to_full_width_katakana("アイウ"), Cow::Borrowed(_)));
        assert_eq!(typed(FieldType::Date).normalize("yesterday"), "yesterday");
        assert_eq!(typed(FieldType::Number).normalize("1,5"), "1,5");
        assert_eq!(typed(FieldType::Number).normalize("12,34,567"), "12,34,567");
    }
}
