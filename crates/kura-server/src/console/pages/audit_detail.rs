//! An audit entry's detail as readable lines. Entries state what changed in a compact text
//! (`changed=name,email`, `role=editor`, `status: active → suspended`, parts joined by `; `);
//! here each part becomes a line with its name in the reader's language, field names become
//! their labels, permission and role keys their names, and a change reads `before → after`.

use crate::console::i18n::Lang;
use crate::console::labels::{self, permission_label};
use kura_domain::{BuiltinRole, Collection, Permission};

/// One line of a detail.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// `name: value`
    Value { name: String, value: String },
    /// `name: before → after`
    Change { name: String, before: String, after: String },
    /// Text without a name.
    Note(String),
}

/// The parts of `part` written as `key=value` pairs (`name=CRM連携 role=viewer`), where a key is
/// lower-case letters and underscores; `None` when it does not start with one.
fn pairs(part: &str) -> Option<Vec<(&str, &str)>> {
    let is_key = |k: &str| !k.is_empty() && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    // Where each key starts: the start, or after a space, and followed by `=`.
    let mut starts: Vec<(usize, usize)> = Vec::new();
    for (eq, _) in part.match_indices('=') {
        let before = &part[..eq];
        let key_start = before.rfind(' ').map_or(0, |i| i + 1);
        if is_key(&before[key_start..]) {
            starts.push((key_start, eq));
        }
    }
    if starts.first().is_none_or(|(s, _)| *s != 0) {
        return None;
    }
    let mut out = Vec::new();
    for (i, (key_start, eq)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(part.len(), |(next, _)| *next);
        out.push((&part[*key_start..*eq], part[eq + 1..end].trim()));
    }
    Some(out)
}

/// What a detail says, part by part.
pub fn parse(detail: &str) -> Vec<(String, Line)> {
    let mut lines = Vec::new();
    for part in detail.split("; ").map(str::trim).filter(|p| !p.is_empty()) {
        if let Some((key, rest)) = part.split_once(": ")
            && let Some((before, after)) = rest.split_once(" → ")
            && !key.contains(' ')
        {
            let line = Line::Change { name: key.to_owned(), before: before.to_owned(), after: after.to_owned() };
            lines.push((key.to_owned(), line));
        } else if let Some(kv) = pairs(part) {
            for (k, v) in kv {
                lines.push((k.to_owned(), Line::Value { name: k.to_owned(), value: v.to_owned() }));
            }
        } else {
            lines.push((String::new(), Line::Note(part.to_owned())));
        }
    }
    lines
}

fn pick(lang: Lang, en: &'static str, ja: &'static str) -> &'static str {
    match lang {
        Lang::En => en,
        Lang::Ja => ja,
    }
}

/// The name of a detail's key in the reader's language; `None` for one not known here.
pub fn key_label(key: &str, lang: Lang) -> Option<&'static str> {
    Some(match key {
        "changed" => pick(lang, "Changed", "変更した項目"),
        "fields" => pick(lang, "Fields", "項目"),
        "columns" => pick(lang, "Columns", "表示する列"),
        "role" => pick(lang, "Role", "ロール"),
        "permissions" => pick(lang, "Permissions", "権限"),
        "name" => pick(lang, "Name", "名前"),
        "records_deleted" => pick(lang, "Records deleted", "削除したレコード数"),
        "sample_records" => pick(lang, "Sample records", "サンプルレコード数"),
        "status" => pick(lang, "Status", "状態"),
        "display_name" => pick(lang, "Name", "名称"),
        "time_zone" => pick(lang, "Time zone", "タイムゾーン"),
        "contract_start" => pick(lang, "Contract start", "契約開始日"),
        "contract_end" => pick(lang, "Contract end", "契約終了日"),
        _ => return None,
    })
}

/// Names of a user's own attributes, as a user update lists them.
fn user_attribute(name: &str, lang: Lang) -> Option<&'static str> {
    Some(match name {
        "email" => pick(lang, "email address", "メールアドレス"),
        "display_name" => pick(lang, "name", "氏名"),
        "role" => pick(lang, "role", "ロール"),
        "status" => pick(lang, "status", "状態"),
        "password" => pick(lang, "password", "パスワード"),
        _ => return None,
    })
}

/// A value in the reader's words: field names as labels (of `collection`, when the entry is
/// about one), permissions and built-in roles by their names, statuses in words.
pub fn value_label(key: &str, value: &str, collection: Option<&Collection>, lang: Lang) -> String {
    let sep = pick(lang, ", ", "、");
    let list =
        |f: &dyn Fn(&str) -> String| value.split(',').filter(|s| !s.is_empty()).map(f).collect::<Vec<_>>().join(sep);
    match key {
        "changed" | "fields" | "columns" => {
            let label = |name: &str| {
                if let Some(f) = collection.and_then(|c| c.field(name)) {
                    return f.label.to_string();
                }
                match name {
                    "created_at" => pick(lang, "Created", "作成日時").to_owned(),
                    "updated_at" => pick(lang, "Updated", "更新日時").to_owned(),
                    _ => user_attribute(name, lang).map_or_else(|| name.to_owned(), str::to_owned),
                }
            };
            // In the collection's own order, as its forms and tables show the fields.
            let order = |name: &&str| {
                collection.and_then(|c| c.fields.iter().position(|f| f.name.as_str() == *name)).unwrap_or(usize::MAX)
            };
            let mut names: Vec<&str> = value.split(',').filter(|s| !s.is_empty()).collect();
            names.sort_by_key(order);
            names.into_iter().map(label).collect::<Vec<_>>().join(sep)
        }
        "permissions" => {
            list(&|p| Permission::parse(p).map_or_else(|_| p.to_owned(), |p| permission_label(p, lang).to_owned()))
        }
        "role" => BuiltinRole::from_key(value)
            .map_or_else(|| value.to_owned(), |b| pick(lang, b.labels().0, b.labels().1).to_owned()),
        "status" => match value {
            "active" => pick(lang, "Active", "有効").to_owned(),
            "disabled" => pick(lang, "Disabled", "無効").to_owned(),
            "suspended" => pick(lang, "Suspended", "停止中").to_owned(),
            other => other.to_owned(),
        },
        "time_zone" => labels::time_zone_label(value, lang),
        "contract_start" | "contract_end" if value == "-" => pick(lang, "none", "なし").to_owned(),
        _ => value.to_owned(),
    }
}

/// Notes that entries write in English, in the reader's language.
pub fn note_label(note: &str, lang: Lang) -> String {
    match note {
        "tenant opened" => pick(lang, "when the tenant was opened", "テナント開設時").to_owned(),
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_split_into_named_lines() {
        assert_eq!(
            parse("changed=name,email"),
            [("changed".into(), Line::Value { name: "changed".into(), value: "name,email".into() })]
        );
        assert_eq!(
            parse("name=CRM 連携 role=viewer"),
            [
                ("name".into(), Line::Value { name: "name".into(), value: "CRM 連携".into() }),
                ("role".into(), Line::Value { name: "role".into(), value: "viewer".into() }),
            ]
        );
        assert_eq!(
            parse("status: active → suspended; time_zone: Asia/Tokyo → UTC"),
            [
                (
                    "status".into(),
                    Line::Change { name: "status".into(), before: "active".into(), after: "suspended".into() }
                ),
                (
                    "time_zone".into(),
                    Line::Change { name: "time_zone".into(), before: "Asia/Tokyo".into(), after: "UTC".into() }
                ),
            ]
        );
        assert_eq!(
            parse("role=tenant_admin; tenant opened"),
            [
                ("role".into(), Line::Value { name: "role".into(), value: "tenant_admin".into() }),
                (String::new(), Line::Note("tenant opened".into())),
            ]
        );
        assert_eq!(parse("a = b"), [(String::new(), Line::Note("a = b".into()))]);
    }

    #[test]
    fn values_read_in_the_readers_words() {
        assert_eq!(value_label("role", "tenant_admin", None, Lang::Ja), "テナント管理者");
        assert_eq!(
            value_label("permissions", "records.read,pii.read", None, Lang::Ja),
            "レコードの閲覧、個人情報の閲覧"
        );
        assert_eq!(value_label("changed", "role,password", None, Lang::Ja), "ロール、パスワード");
        assert_eq!(value_label("status", "suspended", None, Lang::En), "Suspended");
        assert_eq!(value_label("time_zone", "Asia/Tokyo", None, Lang::Ja), "日本時間 (Asia/Tokyo)");
        assert_eq!(key_label("records_deleted", Lang::Ja), Some("削除したレコード数"));
    }
}
