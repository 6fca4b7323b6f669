//! An audit entry's detail as readable lines. Entries state what changed in a compact text
//! (`changed=name,email`, `role=editor`, `status: active → suspended`, parts joined by `; `);
//! here each part becomes a line with its name in the reader's language, field names become
//! their labels, permission and role keys their names, and a change reads `before → after`.
//! A refusal's detail (outcome denied) is one reason, in the reader's language, with the count
//! of an entry that sums up a minute of repeated refusals.

use crate::console::explain::explain;
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
            // A role update names the permissions before the change as `previous`.
            let previous = kv.iter().find(|(k, _)| *k == "previous").map(|(_, v)| *v);
            for (k, v) in kv {
                let line = match (k, previous) {
                    ("previous", Some(_)) if part.contains("permissions=") => continue,
                    ("permissions", Some(before)) => {
                        Line::Change { name: k.to_owned(), before: before.to_owned(), after: v.to_owned() }
                    }
                    _ => Line::Value { name: k.to_owned(), value: v.to_owned() },
                };
                lines.push((k.to_owned(), line));
            }
        } else {
            lines.push((String::new(), Line::Note(part.to_owned())));
        }
    }
    lines
}

/// What a refusal's detail says: why it was refused, and for the entry that sums up a minute
/// (`repeated=N in the 60 s after …; last: why`), how many more there were. The reason is one
/// sentence that may itself contain `; `, so it is not split into parts.
pub fn parse_refusal(detail: &str) -> Vec<(String, Line)> {
    let (repeated, reason) = match detail.strip_prefix("repeated=").and_then(|rest| rest.split_once("; last: ")) {
        Some((count, reason)) => (count.split(' ').next(), reason),
        None => (None, detail),
    };
    let mut lines = Vec::new();
    if let Some(n) = repeated {
        lines.push(("repeated".to_owned(), Line::Value { name: "repeated".to_owned(), value: n.to_owned() }));
    }
    lines.push(("reason".to_owned(), Line::Value { name: "reason".to_owned(), value: reason.to_owned() }));
    lines
}

/// A refusal's reason in the reader's words: a missing permission by its name, the services'
/// explanations as the consoles word them.
fn reason_label(reason: &str, lang: Lang) -> String {
    if let Some(p) = reason.strip_prefix("missing permission ") {
        let name = Permission::parse(p).map_or_else(|_| p.to_owned(), |p| permission_label(p, lang).to_owned());
        return match lang {
            Lang::En => format!("The “{name}” permission is needed."),
            Lang::Ja => format!("「{name}」の権限がありません。"),
        };
    }
    explain(reason, lang).unwrap_or_else(|| reason.to_owned())
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
        "pii_marked" => pick(lang, "Made personal information", "個人情報に指定した項目"),
        "pii_unmarked" => pick(lang, "No longer personal information", "個人情報の指定を外した項目"),
        "pii_removed" => pick(lang, "Personal-information fields removed", "削除した個人情報の項目"),
        "pii_revived" => pick(lang, "Added where earlier values remain", "以前の値が残る名前で追加した項目"),
        "api_keys_revoked" => pick(lang, "API keys revoked", "失効させたAPIキー"),
        "previous" => pick(lang, "Permissions before", "変更前の権限"),
        "repeated" => pick(lang, "Refused again within the minute", "その後1分間の繰り返し"),
        "reason" => pick(lang, "Reason", "理由"),
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
        "changed" | "fields" | "columns" | "pii_marked" | "pii_unmarked" | "pii_removed" | "pii_revived" => {
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
        "permissions" | "previous" if value.is_empty() => pick(lang, "none", "なし").to_owned(),
        "permissions" | "previous" => {
            list(&|p| Permission::parse(p).map_or_else(|_| p.to_owned(), |p| permission_label(p, lang).to_owned()))
        }
        "api_keys_revoked" => match lang {
            Lang::En => value.to_owned(),
            Lang::Ja => format!("{value}件"),
        },
        "repeated" => match lang {
            Lang::En => format!("{value} more times"),
            Lang::Ja => format!("さらに{value}回"),
        },
        "reason" => reason_label(value, lang),
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
        other => explain(other, lang).unwrap_or_else(|| other.to_owned()),
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
        assert_eq!(
            parse("permissions=records.read previous=records.read,records.write"),
            [(
                "permissions".into(),
                Line::Change {
                    name: "permissions".into(),
                    before: "records.read,records.write".into(),
                    after: "records.read".into()
                }
            )]
        );
        assert_eq!(
            parse("fields=name,kana pii_marked=kana"),
            [
                ("fields".into(), Line::Value { name: "fields".into(), value: "name,kana".into() }),
                ("pii_marked".into(), Line::Value { name: "pii_marked".into(), value: "kana".into() }),
            ]
        );
    }

    #[test]
    fn log_1_refusals_read_as_a_reason_and_a_count() {
        let summary = "repeated=4 in the 60 s after 2026-11-22T00:00:00Z; last: missing permission records.write";
        let lines = parse_refusal(summary);
        assert_eq!(
            lines,
            [
                ("repeated".into(), Line::Value { name: "repeated".into(), value: "4".into() }),
                (
                    "reason".into(),
                    Line::Value { name: "reason".into(), value: "missing permission records.write".into() }
                ),
            ]
        );
        assert_eq!(value_label("repeated", "4", None, Lang::Ja), "さらに4回");
        assert_eq!(
            value_label("reason", "missing permission records.write", None, Lang::Ja),
            "「レコードの作成・編集」の権限がありません。"
        );
        // A reason with "; " in it stays one line, in the reader's words.
        let long = "listing more than 20 records a minute requires the records.export permission; wait a minute or ask an administrator for it";
        let lines = parse_refusal(long);
        assert_eq!(lines.len(), 1);
        assert!(value_label("reason", long, None, Lang::Ja).contains("1分間に20件まで"));
        assert_eq!(
            value_label("reason", "the form's origin or token did not match", None, Lang::En),
            "The form was not accepted: it did not come from this console's page, or the page had expired."
        );
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
