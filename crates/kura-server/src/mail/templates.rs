//! The words of every mail, in Japanese and English side by side: a notice cannot exist in one
//! language only. Times are in the tenant's zone; links are absolute (the configured public URL).

use kura_domain::Language;

/// A notice Kura sends to a person.
#[derive(Debug)]
pub enum Notice<'a> {
    /// A single-use link to choose a first password (TEN-1, IAM-7): a new tenant's administrator
    /// or an invited user.
    SetupLink { tenant: &'a str, name: &'a str, url: &'a str, expires: &'a str },
    /// A single-use link to choose a new password, asked for on the sign-in page (IAM-7).
    ResetLink { tenant: &'a str, name: &'a str, url: &'a str, expires: &'a str },
    /// The password expires soon (IAM-4): 14 and 3 days before.
    PasswordExpiry { tenant: &'a str, name: &'a str, days: i64, expires: &'a str, url: &'a str },
    /// An API key the recipient created expires soon (IAM-12): 14 and 3 days before.
    ApiKeyExpiry { tenant: &'a str, name: &'a str, key: &'a str, days: i64, expires: &'a str, url: &'a str },
    /// An administrator removed the recipient's second factors (IAM-6).
    SecondFactorsReset { tenant: &'a str, name: &'a str, by: &'a str, at: &'a str, url: &'a str },
    /// The contract ends soon (TEN-4): 30, 14 and 1 days before, to the tenant's administrators.
    ContractEnding { tenant: &'a str, name: &'a str, end: &'a str, days: i64, deletion: &'a str, url: &'a str },
    /// An operator's break-glass access to the tenant began (IAM-13), to its administrators.
    BreakGlassStarted {
        tenant: &'a str,
        name: &'a str,
        operator: &'a str,
        reason: &'a str,
        from: &'a str,
        to: &'a str,
        url: &'a str,
    },
    /// An operator asks for break-glass access and the tenant's policy needs an administrator's
    /// approval first (IAM-13).
    BreakGlassApproval {
        tenant: &'a str,
        name: &'a str,
        operator: &'a str,
        reason: &'a str,
        minutes: u32,
        deadline: &'a str,
        url: &'a str,
    },
    /// The tenant's data was deleted after its contract's end (TEN-4): the signed certificate,
    /// sent to its administrators before their accounts are removed.
    DeletionCertificate {
        tenant: &'a str,
        name: &'a str,
        end: &'a str,
        destroyed: &'a str,
        expired_by: &'a str,
        certificate: &'a str,
    },
}

impl Notice<'_> {
    /// The outbox's name for this kind of notice.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::SetupLink { .. } => "setup_link",
            Self::ResetLink { .. } => "reset_link",
            Self::PasswordExpiry { .. } => "password_expiry",
            Self::ApiKeyExpiry { .. } => "api_key_expiry",
            Self::SecondFactorsReset { .. } => "second_factors_reset",
            Self::DeletionCertificate { .. } => "deletion_certificate",
            Self::ContractEnding { .. } => "contract_ending",
            Self::BreakGlassStarted { .. } => "break_glass_started",
            Self::BreakGlassApproval { .. } => "break_glass_approval",
        }
    }

    /// Subject and body in `lang`.
    pub fn render(&self, lang: Language) -> (String, String) {
        match (self, lang) {
            (Self::BreakGlassStarted { tenant, name, operator, reason, from, to, url }, Language::Ja) => (
                format!("【Kura】運用者が {tenant} に緊急アクセスしています"),
                format!(
                    "{name} 様\n\n\
                     Kura の運用者（{operator}）が、{tenant} のデータへの緊急アクセス（ブレークグラス）を開始しました。\n\n\
                     理由：{reason}\n\
                     期間：{from} 〜 {to}\n\n\
                     アクセスは閲覧のみで、個人情報の項目は伏せ字で表示されます。期間が過ぎると自動的に終了します。\n\
                     運用者の操作はすべてテナントの操作ログに記録されます。管理コンソールから内容の確認と、\n\
                     アクセスの即時終了ができます。\n\n\
                     {url}\n\n\
                     お心当たりがない場合は、すぐにサービス提供元にご連絡ください。\n\
                     このメールは送信専用です。\n"
                ),
            ),
            (Self::BreakGlassStarted { tenant, name, operator, reason, from, to, url }, Language::En) => (
                format!("[Kura] An operator is accessing {tenant} under break-glass"),
                format!(
                    "Dear {name},\n\n\
                     A Kura operator ({operator}) has started break-glass access to the data of {tenant}.\n\n\
                     Reason: {reason}\n\
                     From {from} to {to}\n\n\
                     The access is read-only and shows personal-information fields masked. It ends by itself \
                     at the time above.\n\
                     Every request the operator makes is written to the tenant's audit log. In the console you \
                     can review it and end the access at once.\n\n\
                     {url}\n\n\
                     If you did not expect this, contact your service provider at once.\n\
                     Replies to this address are not read.\n"
                ),
            ),
            (Self::BreakGlassApproval { tenant, name, operator, reason, minutes, deadline, url }, Language::Ja) => (
                format!("【Kura】{tenant} への緊急アクセスの承認依頼"),
                format!(
                    "{name} 様\n\n\
                     Kura の運用者（{operator}）が、{tenant} のデータへの緊急アクセス（ブレークグラス）を申請しました。\n\
                     テナントの設定により、管理者の承認があるまでアクセスは始まりません。\n\n\
                     理由：{reason}\n\
                     期間：承認から{minutes}分間（閲覧のみ）\n\n\
                     管理コンソールの「緊急アクセス」画面で承認または却下してください。\n\
                     {deadline} までに承認されない場合、申請は失効します。\n\n\
                     {url}\n\n\
                     このメールは送信専用です。\n"
                ),
            ),
            (Self::BreakGlassApproval { tenant, name, operator, reason, minutes, deadline, url }, Language::En) => (
                format!("[Kura] Approval asked: break-glass access to {tenant}"),
                format!(
                    "Dear {name},\n\n\
                     A Kura operator ({operator}) asks for break-glass access to the data of {tenant}.\n\
                     Your tenant's policy requires an administrator's approval before it starts.\n\n\
                     Reason: {reason}\n\
                     Duration: {minutes} minutes from the approval (read-only)\n\n\
                     Approve or refuse it on the console's break-glass page.\n\
                     Unless approved by {deadline}, the request lapses.\n\n\
                     {url}\n\n\
                     Replies to this address are not read.\n"
                ),
            ),
            (Self::ContractEnding { tenant, name, end, days, deletion, url }, Language::Ja) => (
                format!("【Kura】{tenant} のご契約は{end}に終了します（あと{days}日）"),
                format!(
                    "{name} 様\n\n\
                     {tenant} の Kura のご契約は {end} に終了します（あと{days}日）。\n\
                     終了日の翌日からはデータの閲覧とエクスポートのみとなり、変更はできなくなります。\n\
                     {deletion} には暗号鍵を破棄し、バックアップを含めてすべてのデータを削除します。削除後は元に戻せません。\n\
                     保管が必要なデータは、それまでにエクスポートしてください。\n\n\
                     {url}\n\n\
                     ご契約を継続される場合は、サービス提供元にご連絡ください。\n\
                     このメールは送信専用です。\n"
                ),
            ),
            (Self::ContractEnding { tenant, name, end, days, deletion, url }, Language::En) => (
                format!("[Kura] The contract of {tenant} ends on {end} ({days} days)"),
                format!(
                    "Dear {name},\n\n\
                     The Kura contract of {tenant} ends on {end}, in {days} days.\n\
                     From the next day its data can be read and exported, but not changed.\n\
                     On {deletion} its encryption keys are destroyed and all its data is deleted, backups \
                     included; this cannot be undone.\n\
                     Export what you need to keep before then.\n\n\
                     {url}\n\n\
                     To continue the contract, contact your service provider.\n\
                     Replies to this address are not read.\n"
                ),
            ),
            (Self::DeletionCertificate { tenant, name, end, destroyed, expired_by, certificate }, Language::Ja) => (
                format!("【Kura】{tenant} のデータ削除証明書"),
                format!(
                    "{name} 様\n\n\
                     {tenant} のご契約は {end} に終了し、猶予期間が過ぎました。\n\
                     {destroyed} にテナントの暗号鍵を破棄し、記録・ユーザー・ログを含むすべてのデータを削除しました。\n\
                     鍵を含む最後のバックアップは {expired_by} までに保存期間を終えて削除され、\n\
                     それ以降はどの複製からも、運営者を含めて誰もデータを読み出せません。\n\n\
                     以下は Kura が署名したデータ削除証明書です。署名は運営者が公開する Kura の公開鍵で検証できます。\n\
                     このメールの送信後、管理者アカウントも削除されます。\n\n\
                     {certificate}\n\
                     このメールは送信専用です。\n"
                ),
            ),
            (Self::DeletionCertificate { tenant, name, end, destroyed, expired_by, certificate }, Language::En) => (
                format!("[Kura] Deletion certificate for {tenant}"),
                format!(
                    "Dear {name},\n\n\
                     The contract of {tenant} ended on {end} and its grace period is over.\n\
                     At {destroyed} the tenant's encryption keys were destroyed and all its data, records, users \
                     and logs included, was deleted.\n\
                     The last backup that held the keys is deleted by its retention by {expired_by}; from then on \
                     no copy of the data can be read by anyone, the operator included.\n\n\
                     Below is the deletion certificate signed by Kura. Its signature checks with the Kura public \
                     key your operator publishes.\n\
                     After this mail your administrator account is deleted too.\n\n\
                     {certificate}\n\
                     Replies to this address are not read.\n"
                ),
            ),
            (Self::SecondFactorsReset { tenant, name, by, at, url }, Language::Ja) => (
                "【Kura】二要素認証がリセットされました".to_owned(),
                format!(
                    "{name} 様\n\n\
                     {tenant} の Kura 管理コンソールで、{at} に管理者（{by}）があなたの二要素認証をリセットしました。\n\
                     登録済みの認証アプリ、パスキー・セキュリティキー、リカバリーコードは使用できなくなりました。\n\
                     テナントの設定で二要素認証が必須の場合は、次回のログイン時にあらためて登録していただきます。\n\n\
                     {url}\n\n\
                     お心当たりがない場合は、すぐに管理者へご連絡ください。\n\
                     このメールは送信専用です。\n"
                ),
            ),
            (Self::SecondFactorsReset { tenant, name, by, at, url }, Language::En) => (
                "[Kura] Your second factors were reset".to_owned(),
                format!(
                    "Dear {name},\n\n\
                     An administrator ({by}) reset your second factors in the Kura console of {tenant} at {at}.\n\
                     Your authenticator apps, passkeys, security keys and recovery codes no longer work.\n\
                     If your tenant requires a second factor, you will enrol one again at your next sign-in.\n\n\
                     {url}\n\n\
                     If you did not expect this, tell your administrator at once.\n\
                     Replies to this address are not read.\n"
                ),
            ),
            (Self::SetupLink { tenant, name, url, expires }, Language::Ja) => (
                format!("【Kura】{tenant} のアカウント設定のご案内"),
                format!(
                    "{name} 様\n\n\
                     {tenant} の Kura 管理コンソールにアカウントが作成されました。\n\
                     次のリンクを開き、パスワードを設定してください。\n\n\
                     {url}\n\n\
                     このリンクは {expires} まで有効で、一度だけ使用できます。\n\
                     期限が切れた場合は、管理者に再送を依頼してください。\n\n\
                     お心当たりがない場合は、このメールを破棄してください。\n\
                     このメールは送信専用です。\n"
                ),
            ),
            (Self::SetupLink { tenant, name, url, expires }, Language::En) => (
                format!("[Kura] Set up your account at {tenant}"),
                format!(
                    "Dear {name},\n\n\
                     An account has been created for you in the Kura console of {tenant}.\n\
                     Open the link below to choose your password.\n\n\
                     {url}\n\n\
                     The link works once, until {expires}.\n\
                     If it has expired, ask your administrator to send a new one.\n\n\
                     If you did not expect this mail, you can ignore it.\n\
                     Replies to this address are not read.\n"
                ),
            ),
            (Self::ResetLink { tenant, name, url, expires }, Language::Ja) => (
                "【Kura】パスワード再設定のご案内".to_owned(),
                format!(
                    "{name} 様\n\n\
                     {tenant} の Kura 管理コンソールで、パスワードの再設定が申請されました。\n\
                     次のリンクを開き、新しいパスワードを設定してください。\n\n\
                     {url}\n\n\
                     このリンクは {expires} まで有効で、一度だけ使用できます。\n\n\
                     お心当たりがない場合は、このメールを破棄してください。パスワードは変更されません。\n\
                     このメールは送信専用です。\n"
                ),
            ),
            (Self::ResetLink { tenant, name, url, expires }, Language::En) => (
                "[Kura] Reset your password".to_owned(),
                format!(
                    "Dear {name},\n\n\
                     Someone asked to reset your password for the Kura console of {tenant}.\n\
                     Open the link below to choose a new password.\n\n\
                     {url}\n\n\
                     The link works once, until {expires}.\n\n\
                     If you did not ask for this, ignore this mail: your password stays as it is.\n\
                     Replies to this address are not read.\n"
                ),
            ),
            (Self::PasswordExpiry { tenant, name, days, expires, url }, Language::Ja) => (
                format!("【Kura】パスワードの有効期限まであと{days}日です"),
                format!(
                    "{name} 様\n\n\
                     {tenant} の Kura 管理コンソールのパスワードは {expires} に有効期限を迎えます。\n\
                     期限を過ぎると、次回ログイン時に変更が必要になります。\n\
                     ログイン後、次の画面から変更できます。\n\n\
                     {url}\n\n\
                     このメールは送信専用です。\n"
                ),
            ),
            (Self::PasswordExpiry { tenant, name, days, expires, url }, Language::En) => (
                format!("[Kura] Your password expires in {days} days"),
                format!(
                    "Dear {name},\n\n\
                     Your password for the Kura console of {tenant} expires on {expires}.\n\
                     After that you will have to change it when you next sign in.\n\
                     You can change it now, once signed in, here:\n\n\
                     {url}\n\n\
                     Replies to this address are not read.\n"
                ),
            ),
            (Self::ApiKeyExpiry { tenant, name, key, days, expires, url }, Language::Ja) => (
                format!("【Kura】API キー「{key}」の有効期限まであと{days}日です"),
                format!(
                    "{name} 様\n\n\
                     {tenant} の Kura で作成された API キー「{key}」は {expires} に有効期限を迎え、\n\
                     その後は使えなくなります。\n\
                     引き続き必要な場合は、期限までに新しいキーを発行し、利用しているシステムに設定してください。\n\n\
                     {url}\n\n\
                     このメールは送信専用です。\n"
                ),
            ),
            (Self::ApiKeyExpiry { tenant, name, key, days, expires, url }, Language::En) => (
                format!("[Kura] API key “{key}” expires in {days} days"),
                format!(
                    "Dear {name},\n\n\
                     The API key “{key}” of {tenant}'s Kura expires on {expires} and stops working then.\n\
                     If it is still needed, issue a new key before then and put it into the system that uses it.\n\n\
                     {url}\n\n\
                     Replies to this address are not read.\n"
                ),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_1_every_notice_reads_in_both_languages_with_its_link() {
        let url = "https://kura.example.jp/console/setup/abc";
        let notices = [
            Notice::SetupLink { tenant: "ひまわり保育園", name: "園長", url, expires: "2026-11-25 09:00 JST" },
            Notice::ResetLink { tenant: "ひまわり保育園", name: "園長", url, expires: "2026-11-22 10:00 JST" },
            Notice::PasswordExpiry {
                tenant: "ひまわり保育園", name: "園長", days: 3, expires: "2026-12-01", url
            },
            Notice::ApiKeyExpiry {
                tenant: "ひまわり保育園",
                name: "園長",
                key: "会計連携",
                days: 14,
                expires: "2026-12-01",
                url,
            },
        ];
        for n in &notices {
            let (ja_subject, ja) = n.render(Language::Ja);
            let (en_subject, en) = n.render(Language::En);
            assert!(ja_subject.starts_with("【Kura】") && en_subject.starts_with("[Kura]"));
            assert!(ja.contains(url) && en.contains(url), "{}", n.kind());
            assert!(ja.contains("様") && en.starts_with("Dear"));
        }
    }
}
