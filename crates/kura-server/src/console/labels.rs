//! Words for the domain's own enumerations — permissions, field types, character sets,
//! operations, outcomes — and field-validation messages, in both languages. Each `match` is
//! exhaustive, so a new variant in `kura-domain` does not compile until it has its words here.

use super::explain::explain;
use super::i18n::Lang;
use super::msg::Msg;
use kura_domain::{
    BuiltinRole, Charset, Collection, FieldErrorKind, FieldType, FieldValue, Found, Operation, Outcome,
    PasswordProblem, Permission, QueryError, Role, UserStatus,
};

const fn pick(lang: Lang, en: &'static str, ja: &'static str) -> &'static str {
    match lang {
        Lang::En => en,
        Lang::Ja => ja,
    }
}

/// A role's name: built-in roles in the reader's language, custom roles as their author named them.
pub fn role_label(role: &Role, lang: Lang) -> String {
    match BuiltinRole::from_key(role.key.as_str()).filter(|_| role.builtin) {
        Some(b) => pick(lang, b.labels().0, b.labels().1).to_owned(),
        None => role.label.to_string(),
    }
}

pub fn permission_label(p: Permission, lang: Lang) -> &'static str {
    match p {
        Permission::UsersManage => pick(lang, "Manage users", "ユーザー管理"),
        Permission::RolesManage => pick(lang, "Manage roles", "ロール管理"),
        Permission::CollectionsManage => pick(lang, "Define collections", "コレクション定義"),
        Permission::RecordsRead => pick(lang, "Read records", "レコードの閲覧"),
        Permission::RecordsWrite => pick(lang, "Create and edit records", "レコードの作成・編集"),
        Permission::RecordsDelete => pick(lang, "Delete records", "レコードの削除"),
        Permission::RecordsExport => pick(lang, "Export records", "レコードのエクスポート"),
        Permission::PiiRead => pick(lang, "See personal information", "個人情報の閲覧"),
        Permission::AuditRead => pick(lang, "Read the operation log", "操作ログの閲覧"),
        Permission::SettingsManage => pick(lang, "Manage tenant settings", "テナント設定"),
        Permission::ApiKeysManage => pick(lang, "Manage API keys", "APIキー管理"),
    }
}

/// What a permission lets its holder do, shown beside its checkbox.
pub fn permission_help(p: Permission, lang: Lang) -> &'static str {
    match p {
        Permission::UsersManage => pick(
            lang,
            "Add, edit, disable and delete user accounts of this tenant.",
            "このテナントのユーザーを追加・編集・無効化・削除できます。",
        ),
        Permission::RolesManage => pick(
            lang,
            "Create and change roles. A powerful permission: grant it to administrators only.",
            "ロールを作成・変更できます。強い権限のため、管理者にのみ付与してください。",
        ),
        Permission::CollectionsManage => pick(
            lang,
            "Create, change and delete collections and their fields. Deleting a collection deletes all its records.",
            "コレクションと項目の定義を作成・変更・削除できます。コレクションを削除すると、そのレコードもすべて削除されます。",
        ),
        Permission::RecordsRead => pick(lang, "List and view records.", "レコードを一覧・閲覧できます。"),
        Permission::RecordsWrite => {
            pick(lang, "Create records and change their values.", "レコードを作成し、値を変更できます。")
        }
        Permission::RecordsDelete => pick(
            lang,
            "Delete records. Deleted records cannot be restored.",
            "レコードを削除できます。削除したレコードは元に戻せません。",
        ),
        Permission::RecordsExport => pick(
            lang,
            "Read records in bulk. Without it, listing is limited to 500 records a minute (by default).",
            "レコードを一括で読み出せます。この権限がない場合、一覧できるのは1分間に500件（初期設定）までです。",
        ),
        Permission::PiiRead => pick(
            lang,
            "Show fields marked as personal information. Without it they appear as ••••••.",
            "個人情報に指定された項目を表示します。この権限がない場合は •••••• と表示されます。",
        ),
        Permission::AuditRead => pick(lang, "View who did what and when.", "いつ・誰が・何をしたかを確認できます。"),
        Permission::SettingsManage => pick(lang, "Change tenant-wide settings.", "テナント全体の設定を変更できます。"),
        Permission::ApiKeysManage => pick(
            lang,
            "Issue and revoke API keys for external systems.",
            "外部システム連携用のAPIキーを発行・失効できます。",
        ),
    }
}

pub fn field_type_label(t: FieldType, lang: Lang) -> &'static str {
    match t {
        FieldType::Text => pick(lang, "Text (one line)", "テキスト（1行）"),
        FieldType::LongText => pick(lang, "Text (several lines)", "テキスト（複数行）"),
        FieldType::Number => pick(lang, "Number", "数値"),
        FieldType::Date => pick(lang, "Date", "日付"),
        FieldType::Boolean => pick(lang, "Yes / No", "はい／いいえ"),
        FieldType::Email => pick(lang, "Email address", "メールアドレス"),
        FieldType::Phone => pick(lang, "Phone number", "電話番号"),
        FieldType::Choice => pick(lang, "Choice", "選択肢"),
    }
}

pub fn charset_label(c: Charset, lang: Lang) -> &'static str {
    match c {
        Charset::Digits => pick(lang, "Half-width digits", "半角数字"),
        Charset::Alphanumeric => pick(lang, "Half-width letters and digits", "半角英数字"),
        Charset::Ascii => pick(lang, "Half-width letters, digits and symbols", "半角英数字・記号"),
        Charset::Katakana => pick(lang, "Full-width katakana", "全角カタカナ"),
        Charset::Hiragana => pick(lang, "Hiragana", "ひらがな"),
    }
}

pub fn operation_label(op: Operation, lang: Lang) -> &'static str {
    use Operation as O;
    match op {
        O::OperatorCreate => pick(lang, "Operator created", "運用者の作成"),
        O::OperatorUpdate => pick(lang, "Operator changed", "運用者の変更"),
        O::OperatorLogin => pick(lang, "Operator signed in", "運用者ログイン"),
        O::OperatorLoginFailed => pick(lang, "Operator sign-in failed", "運用者ログイン失敗"),
        O::OperatorLogout => pick(lang, "Operator signed out", "運用者ログアウト"),
        O::TenantCreate => pick(lang, "Tenant created", "テナント作成"),
        O::TenantUpdate => pick(lang, "Tenant changed", "テナント変更"),
        O::ContractEndNotice => pick(lang, "Contract end reminder mailed", "契約終了のお知らせを送信"),
        O::TenantDelete => pick(lang, "Tenant deleted (contract ended)", "テナント削除（契約終了）"),
        O::BackupCreate => pick(lang, "Backup taken", "バックアップ取得"),
        O::BackupVerify => pick(lang, "Backup verified", "バックアップ検証"),
        O::BackupDrill => pick(lang, "Restore drill", "復元訓練"),
        O::BackupKeyRotate => pick(lang, "Backup key rotated", "バックアップ鍵の更新"),
        O::BackupKeyRemove => pick(lang, "Old backup key removed", "古いバックアップ鍵の削除"),
        O::UserLogin => pick(lang, "Signed in", "ログイン"),
        O::UserLoginFailed => pick(lang, "Sign-in failed", "ログイン失敗"),
        O::UserLogout => pick(lang, "Signed out", "ログアウト"),
        O::UserCreate => pick(lang, "User created", "ユーザー作成"),
        O::UserUpdate => pick(lang, "User changed", "ユーザー変更"),
        O::UserDelete => pick(lang, "User deleted", "ユーザー削除"),
        O::RoleCreate => pick(lang, "Role created", "ロール作成"),
        O::RoleUpdate => pick(lang, "Role changed", "ロール変更"),
        O::RoleDelete => pick(lang, "Role deleted", "ロール削除"),
        O::CollectionCreate => pick(lang, "Collection created", "コレクション作成"),
        O::CollectionUpdate => pick(lang, "Collection changed", "コレクション変更"),
        O::CollectionDelete => pick(lang, "Collection deleted", "コレクション削除"),
        O::RecordCreate => pick(lang, "Record created", "レコード作成"),
        O::RecordUpdate => pick(lang, "Record changed", "レコード変更"),
        O::RecordDelete => pick(lang, "Record deleted", "レコード削除"),
        O::ApiKeyCreate => pick(lang, "API key issued", "APIキー発行"),
        O::ApiKeyRevoke => pick(lang, "API key revoked", "APIキー失効"),
        O::SecurityPolicyUpdate => pick(lang, "Security settings changed", "セキュリティ設定の変更"),
        O::UserLock => pick(lang, "Account locked", "アカウントのロック"),
        O::UserUnlock => pick(lang, "Account unlocked", "アカウントのロック解除"),
        O::LoginThrottled => pick(lang, "Sign-ins from an address limited", "IPアドレスからのログイン制限"),
        O::PasswordChange => pick(lang, "Password changed", "パスワード変更"),
        O::PasswordReset => pick(lang, "Password set", "パスワード再設定"),
        O::PasswordRehash => pick(lang, "Password hash upgraded", "パスワードハッシュの更新"),
        O::PasswordResetRequest => pick(lang, "Password reset requested", "パスワード再設定の申請"),
        O::SessionEnd => pick(lang, "Session ended", "セッションの終了"),
        O::SessionsRevoke => pick(lang, "Signed out everywhere", "強制ログアウト"),
        O::UserImport => pick(lang, "Users imported", "ユーザーの一括登録"),
        O::RecordExport => pick(lang, "Records exported", "レコードのエクスポート"),
        O::TenantExport => pick(lang, "All data exported", "全データのエクスポート"),
        O::ExportFlagged => pick(lang, "Large exports flagged", "大量エクスポートの検知"),
        O::ExportJobStart => pick(lang, "Export started", "エクスポートの開始"),
        O::ExportJobFinish => pick(lang, "Export ready", "エクスポートの完成"),
        O::ExportJobFail => pick(lang, "Export failed", "エクスポートの失敗"),
        O::ExportDownload => pick(lang, "Export downloaded", "エクスポートのダウンロード"),
        O::ExportExpire => pick(lang, "Export link expired", "ダウンロードリンクの期限切れ"),
        O::RecordImport => pick(lang, "Records imported", "レコードのインポート"),
        O::RecordBulkUpdate => pick(lang, "Records changed in bulk", "レコードの一括変更"),
        O::RecordBulkDelete => pick(lang, "Records deleted in bulk", "レコードの一括削除"),
        O::MailFailed => pick(lang, "Mail could not be delivered", "メール送信の失敗"),
        O::PasswordExpiryNotice => pick(lang, "Password expiry notice sent", "パスワード期限の通知"),
        O::ViewUpdate => pick(lang, "View settings changed", "表示設定の変更"),
        O::AccessDenied => pick(lang, "Access denied", "アクセス拒否"),
        O::CsrfRefused => pick(lang, "Form refused (CSRF)", "フォーム拒否（CSRF）"),
        O::AddressRefused => pick(lang, "Address refused", "接続元アドレスによる拒否"),
        O::ApiKeyExpiryNotice => pick(lang, "API key expiry reminder", "APIキー期限の通知"),
        O::ClientCertIssue => pick(lang, "Client certificate issued", "クライアント証明書の発行"),
        O::ClientCertRevoke => pick(lang, "Client certificate revoked", "クライアント証明書の失効"),
        O::ClientCertRefused => pick(lang, "Refused: client certificate", "拒否: クライアント証明書"),
        O::CryptoOpenRefused => pick(lang, "Stored data could not be decrypted", "保存データの復号を拒否"),
        O::SecondFactorChallenge => pick(lang, "Sign-in awaiting second factor", "二段階目の確認待ち"),
        O::SecondFactorEnrol => pick(lang, "Second factor enrolled", "二要素認証の登録"),
        O::SecondFactorRemove => pick(lang, "Second factor removed", "二要素認証の削除"),
        O::SecondFactorReset => pick(lang, "Second factors reset", "二要素認証のリセット"),
        O::RecoveryCodeUse => pick(lang, "Recovery code used", "リカバリーコードの使用"),
        O::SecondFactorFailed => pick(lang, "Second factor failed", "二段階目の確認に失敗"),
        O::BreakGlassRequest => pick(lang, "Break-glass access requested", "緊急アクセスの申請"),
        O::BreakGlassStart => pick(lang, "Break-glass access started", "緊急アクセスの開始"),
        O::BreakGlassApprove => pick(lang, "Break-glass request approved", "緊急アクセスの承認"),
        O::BreakGlassRefuse => pick(lang, "Break-glass request refused", "緊急アクセスの却下"),
        O::BreakGlassEnd => pick(lang, "Break-glass access ended", "緊急アクセスの終了"),
        O::BreakGlassExpire => pick(lang, "Break-glass request lapsed", "緊急アクセス申請の期限切れ"),
        O::BreakGlassAccess => pick(lang, "Request under break-glass access", "緊急アクセスによる操作"),
        O::TimeZoneUpdate => pick(lang, "Time zone changed", "タイムゾーンの変更"),
        O::AuditExport => pick(lang, "Operation log exported", "操作ログのエクスポート"),
        O::LogDisclose => pick(lang, "Operation log disclosed", "操作ログの開示"),
        O::AccessLogPurge => pick(lang, "Expired access log entries deleted", "保存期間を過ぎたアクセスログの削除"),
        O::ApiKeyRotate => pick(lang, "API key rotated", "APIキーの更新"),
        O::AddressListsReset => pick(lang, "Address lists reset by the operator", "運用者による許可アドレスの解除"),
        O::KeyRotateStart => pick(lang, "Key rotation started", "暗号鍵の更新開始"),
        O::KeyRotateFinish => pick(lang, "Key rotation finished", "暗号鍵の更新完了"),
        O::MasterKeyRotate => pick(lang, "Master key rotated", "マスター鍵の更新"),
    }
}

pub fn outcome_label(o: Outcome, lang: Lang) -> &'static str {
    match o {
        Outcome::Success => pick(lang, "Success", "成功"),
        Outcome::Failure => pick(lang, "Failure", "失敗"),
        Outcome::Denied => pick(lang, "Denied", "拒否"),
    }
}

pub fn status_label(s: UserStatus, lang: Lang) -> &'static str {
    match s {
        UserStatus::Active => pick(lang, "Active", "有効"),
        UserStatus::Disabled => pick(lang, "Disabled", "無効"),
    }
}

/// Time zones offered by the operator's picker, with their names in both languages. Any other
/// IANA zone (set through the CLI or the API) is shown by its code.
pub const TIME_ZONES: &[(&str, &str, &str)] = &[
    ("Asia/Tokyo", "Japan time", "日本時間"),
    ("Asia/Seoul", "Korea time", "韓国時間"),
    ("Asia/Shanghai", "China time", "中国時間"),
    ("Asia/Taipei", "Taiwan time", "台湾時間"),
    ("Asia/Hong_Kong", "Hong Kong time", "香港時間"),
    ("Asia/Manila", "Philippine time", "フィリピン時間"),
    ("Asia/Singapore", "Singapore time", "シンガポール時間"),
    ("Asia/Bangkok", "Thailand time", "タイ時間"),
    ("Asia/Ho_Chi_Minh", "Vietnam time", "ベトナム時間"),
    ("Asia/Jakarta", "Western Indonesia time", "インドネシア西部時間"),
    ("Asia/Kolkata", "India time", "インド時間"),
    ("Asia/Dubai", "Gulf time", "湾岸諸国時間"),
    ("Australia/Sydney", "Eastern Australia time", "オーストラリア東部時間"),
    ("Pacific/Auckland", "New Zealand time", "ニュージーランド時間"),
    ("Pacific/Honolulu", "Hawaii time", "ハワイ時間"),
    ("America/Los_Angeles", "US Pacific time", "米国太平洋時間"),
    ("America/Denver", "US Mountain time", "米国山岳部時間"),
    ("America/Chicago", "US Central time", "米国中部時間"),
    ("America/New_York", "US Eastern time", "米国東部時間"),
    ("America/Sao_Paulo", "Brasília time", "ブラジリア時間"),
    ("Europe/London", "UK time", "英国時間"),
    ("Europe/Paris", "Central European time (Paris)", "中央ヨーロッパ時間（パリ）"),
    ("Europe/Berlin", "Central European time (Berlin)", "中央ヨーロッパ時間（ベルリン）"),
    ("Europe/Moscow", "Moscow time", "モスクワ時間"),
    ("UTC", "Coordinated Universal Time", "協定世界時"),
];

/// A time zone as people read it: 「日本時間 (Asia/Tokyo)」; a zone without a name, its code.
pub fn time_zone_label(zone: &str, lang: Lang) -> String {
    match TIME_ZONES.iter().find(|(z, _, _)| *z == zone) {
        Some((z, en, ja)) => format!("{} ({z})", pick(lang, en, ja)),
        None => zone.to_owned(),
    }
}

fn number(n: f64) -> String {
    FieldValue::Number(n).display()
}

/// Why a value was refused, in the reader's language (PUB-2: clear messages).
pub fn field_error(kind: &FieldErrorKind, lang: Lang) -> String {
    use FieldErrorKind as K;
    match kind {
        K::Required => pick(lang, "Please enter a value.", "入力してください。").to_owned(),
        K::Unknown => pick(lang, "This field does not exist.", "この項目は存在しません。").to_owned(),
        K::WrongType { .. } => {
            pick(lang, "Enter a value of the right kind.", "正しい形式で入力してください。").to_owned()
        }
        K::TooShort { min } => match lang {
            Lang::En => format!("Enter at least {min} characters."),
            Lang::Ja => format!("{min}文字以上で入力してください。"),
        },
        K::TooLong { max } => match lang {
            Lang::En => format!("Enter at most {max} characters."),
            Lang::Ja => format!("{max}文字以内で入力してください。"),
        },
        K::Charset { charset } => charset_error(charset, lang).to_owned(),
        K::Pattern => pick(lang, "The value is not in the required format.", "入力形式が正しくありません。").to_owned(),
        K::BelowMinimum { min } => match lang {
            Lang::En => format!("Enter a number of at least {}.", number(*min)),
            Lang::Ja => format!("{}以上の数値を入力してください。", number(*min)),
        },
        K::AboveMaximum { max } => match lang {
            Lang::En => format!("Enter a number of at most {}.", number(*max)),
            Lang::Ja => format!("{}以下の数値を入力してください。", number(*max)),
        },
        K::InvalidEmail => pick(
            lang,
            "Enter an email address such as taro@example.jp.",
            "メールアドレスの形式が正しくありません（例：taro@example.jp）。",
        )
        .to_owned(),
        K::InvalidPhone => pick(
            lang,
            "Enter a phone number such as 03-1234-5678.",
            "電話番号の形式が正しくありません（例：03-1234-5678）。",
        )
        .to_owned(),
        K::InvalidDate => {
            pick(lang, "Enter a date such as 2026-04-01.", "日付の形式が正しくありません（例：2026-04-01）。")
                .to_owned()
        }
        K::NotAChoice => pick(lang, "Choose one of the options.", "選択肢から選んでください。").to_owned(),
        K::Duplicate => pick(lang, "This value is already used.", "この値はすでに使われています。").to_owned(),
        K::Invalid { reason } => detail(reason, lang),
        K::Password(problem) => password_problem(*problem, lang),
    }
}

/// A password rule, as stated before typing and as named when broken (IAM-4).
pub fn password_rule(rule: PasswordProblem, lang: Lang) -> String {
    use PasswordProblem as P;
    match rule {
        P::TooShort { min } => match lang {
            Lang::En => format!("At least {min} characters."),
            Lang::Ja => format!("{min}文字以上。"),
        },
        P::TooLong { max } => match lang {
            Lang::En => format!("At most {max} characters."),
            Lang::Ja => format!("{max}文字以内。"),
        },
        P::NoLowercase => pick(lang, "At least one lower-case letter.", "英小文字を1文字以上含める。").to_owned(),
        P::NoUppercase => pick(lang, "At least one upper-case letter.", "英大文字を1文字以上含める。").to_owned(),
        P::NoDigit => pick(lang, "At least one digit.", "数字を1文字以上含める。").to_owned(),
        P::NoSymbol => {
            pick(lang, "At least one symbol such as ! or #.", "記号（!、# など）を1文字以上含める。").to_owned()
        }
        P::Common => pick(
            lang,
            "Not a common or easily guessed password.",
            "よく使われるパスワードや推測されやすいパスワードは使えません。",
        )
        .to_owned(),
        P::Personal => pick(
            lang,
            "Not containing your email address or your organisation's name.",
            "メールアドレスや組織名を含めることはできません。",
        )
        .to_owned(),
        P::Reused { count } => match lang {
            Lang::En => format!("Not one of your last {count} passwords."),
            Lang::Ja => format!("直近{count}回に使ったパスワードは使えません。"),
        },
    }
}

/// Why a new password was refused, naming the broken rule.
pub fn password_problem(problem: PasswordProblem, lang: Lang) -> String {
    use PasswordProblem as P;
    match problem {
        P::TooShort { min } => match lang {
            Lang::En => format!("Too short: use at least {min} characters."),
            Lang::Ja => format!("短すぎます。{min}文字以上にしてください。"),
        },
        P::TooLong { max } => match lang {
            Lang::En => format!("Too long: use at most {max} characters."),
            Lang::Ja => format!("長すぎます。{max}文字以内にしてください。"),
        },
        P::NoLowercase => pick(lang, "Add a lower-case letter.", "英小文字を含めてください。").to_owned(),
        P::NoUppercase => pick(lang, "Add an upper-case letter.", "英大文字を含めてください。").to_owned(),
        P::NoDigit => pick(lang, "Add a digit.", "数字を含めてください。").to_owned(),
        P::NoSymbol => pick(lang, "Add a symbol such as ! or #.", "記号（!、# など）を含めてください。").to_owned(),
        P::Common => pick(
            lang,
            "This password is too common or too easy to guess. Try a longer phrase of unrelated words.",
            "よく使われている、または推測されやすいパスワードです。関係のない単語を組み合わせた長めのフレーズをお試しください。",
        )
        .to_owned(),
        P::Personal => pick(
            lang,
            "Do not use your email address or your organisation's name in the password.",
            "パスワードにメールアドレスや組織名を含めないでください。",
        )
        .to_owned(),
        P::Reused { count } => match lang {
            Lang::En => format!("You used this password recently. Choose one that is not among your last {count}."),
            Lang::Ja => format!("最近使ったパスワードです。直近{count}回とは異なるパスワードにしてください。"),
        },
    }
}

fn charset_error(charset: &str, lang: Lang) -> &'static str {
    match Charset::parse(charset) {
        Some(Charset::Digits) => pick(lang, "Use half-width digits only.", "半角数字で入力してください。"),
        Some(Charset::Alphanumeric) => {
            pick(lang, "Use half-width letters and digits only.", "半角英数字で入力してください。")
        }
        Some(Charset::Ascii) => {
            pick(lang, "Use half-width letters, digits and symbols only.", "半角英数字・記号で入力してください。")
        }
        Some(Charset::Katakana) => pick(lang, "Use full-width katakana only.", "全角カナで入力してください。"),
        Some(Charset::Hiragana) => pick(lang, "Use hiragana only.", "ひらがなで入力してください。"),
        None => pick(lang, "The value contains characters that are not allowed.", "使用できない文字が含まれています。"),
    }
}

/// A service's explanation in the reader's language (`explain.rs`). One without a wording there
/// is not shown in English: the reader gets a general sentence, and the log names the message so
/// that it can be added (a test keeps the sources and the catalogue in step).
pub fn detail(text: &str, lang: Lang) -> String {
    explain(text, lang).unwrap_or_else(|| {
        tracing::warn!(message = text, "a console message has no wording in the reader's language");
        Msg::UnexplainedRefusal.text(lang).to_owned()
    })
}

/// Why a filter, sort or search was refused, naming fields by their labels.
pub fn query_error(e: &QueryError, c: &Collection, lang: Lang) -> String {
    use QueryError as Q;
    let label = |name: &str| c.field(name).map_or_else(|| name.to_owned(), |f| f.label.to_string());
    let found = |f: &Found| match f {
        Found::Name(n) => format!("「{}」", label(n)),
        Found::Operator => pick(lang, "an operator", "演算子").to_owned(),
        Found::Value => pick(lang, "a value", "値").to_owned(),
        Found::And => "&&".to_owned(),
        Found::Or => "||".to_owned(),
        Found::Open => "(".to_owned(),
        Found::Close => ")".to_owned(),
    };
    match (e, lang) {
        (Q::UnknownField(n), Lang::En) => {
            format!("There is no field “{n}” in this collection. Use a field ID such as the ones in the example.")
        }
        (Q::UnknownField(n), Lang::Ja) => {
            format!("「{n}」という項目はありません。例にあるような項目IDを使ってください。")
        }
        (Q::PiiField(n), Lang::En) => format!(
            "“{}” holds personal information: you cannot search or sort by it without the “See personal information” permission.",
            label(n)
        ),
        (Q::PiiField(n), Lang::Ja) => {
            format!("「{}」は個人情報のため、「個人情報の閲覧」権限がないと検索・並べ替えに使えません。", label(n))
        }
        (Q::TooManySortKeys, _) => {
            pick(lang, "Sort by at most 5 columns.", "並べ替えに使える列は5つまでです。").to_owned()
        }
        (Q::PageZero | Q::PerPage, _) => {
            pick(lang, "The page does not exist.", "指定のページはありません。").to_owned()
        }
        (Q::SearchTooLong, _) => {
            pick(lang, "Enter at most 200 characters to search for.", "検索する文字は200文字以内で入力してください。")
                .to_owned()
        }
        (Q::FilterTooLong, _) => pick(
            lang,
            "The filter is too long (at most 2000 characters).",
            "絞り込み条件が長すぎます（2000文字まで）。",
        )
        .to_owned(),
        (Q::Unexpected(f), Lang::En) => format!("The filter has {} where it cannot be. Check the example.", found(f)),
        (Q::Unexpected(f), Lang::Ja) => {
            format!("絞り込み条件の{}の位置が正しくありません。例を参考にご確認ください。", found(f))
        }
        (Q::UnclosedQuote, _) => pick(
            lang,
            "A quotation mark is not closed. Write text values between two ' marks, such as 'premium'.",
            "引用符が閉じていません。文字の値は 'premium' のように ' で囲んでください。",
        )
        .to_owned(),
        (Q::NotANumber(t), Lang::En) => format!("{t} is not a number."),
        (Q::NotANumber(t), Lang::Ja) => format!("{t} は数値として読めません。"),
        (Q::UnexpectedChar(ch), Lang::En) => {
            format!("The character “{ch}” cannot be used here. Write text values between ' marks.")
        }
        (Q::UnexpectedChar(ch), Lang::Ja) => format!("「{ch}」はここでは使えません。文字の値は ' で囲んでください。"),
        (Q::TooDeep, _) => {
            pick(lang, "The filter has too many nested parentheses.", "括弧の入れ子が深すぎます。").to_owned()
        }
        (Q::UnclosedParen, _) => pick(lang, "A parenthesis is not closed.", "括弧が閉じていません。").to_owned(),
        (Q::ExpectedOperator(n), Lang::En) => format!("Write an operator such as = or > after “{}”.", label(n)),
        (Q::ExpectedOperator(n), Lang::Ja) => format!("「{}」の後に = や > などの演算子を入力してください。", label(n)),
        (Q::ExpectedValue(n), Lang::En) => {
            format!("Write the value to compare “{}” with after the operator.", label(n))
        }
        (Q::ExpectedValue(n), Lang::Ja) => format!("「{}」の演算子の後に、比べる値を入力してください。", label(n)),
        (Q::EndsEarly, _) => {
            pick(lang, "The filter ends too early: a condition is incomplete.", "絞り込み条件が途中で終わっています。")
                .to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pub_2_field_errors_are_worded_in_both_languages() {
        let kana = FieldErrorKind::Charset { charset: "katakana" };
        assert_eq!(field_error(&kana, Lang::Ja), "全角カナで入力してください。");
        assert_eq!(field_error(&FieldErrorKind::TooLong { max: 50 }, Lang::Ja), "50文字以内で入力してください。");
        assert_eq!(field_error(&FieldErrorKind::Required, Lang::Ja), "入力してください。");
        assert_eq!(field_error(&FieldErrorKind::BelowMinimum { min: 0.0 }, Lang::En), "Enter a number of at least 0.");
    }
}
