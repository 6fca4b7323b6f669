//! `kura demo`: the first command a newcomer runs. Creates (or reuses) a demo tenant with a
//! customers collection of Japanese sample records, prints where to sign in with fresh one-time
//! passwords, and serves on the configured address (127.0.0.1:8080 by default): over HTTPS with a
//! self-signed certificate for `localhost` and `127.0.0.1` that it makes on first run (DAT-1),
//! unless told `--plain-http` or given a certificate in the configuration.

use crate::demo_data;
use anyhow::Context as _;
use kura_domain::{Actor, ActorKind};
use kura_domain::{AuditRecord, AuditScope, CollectionSpec, Email, Operation, Slug};
use kura_server::service::tenants::{self, NewTenant};
use kura_server::{AppState, Application, Settings, SystemClock};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

const TENANT: &str = "demo";
const ADMIN: &str = "admin@demo.example.jp";
const OPERATOR: &str = "operator@example.jp";
const SAMPLE_RECORDS: usize = 300;

/// The demo certificate is made for this long, and made again when less than a day is left.
const CERT_DAYS: u32 = 397;

pub async fn run(mut settings: Settings, plain_http: bool) -> anyhow::Result<ExitCode> {
    let data_dir = settings.data_dir.clone();
    let fingerprint = if plain_http || settings.tls.enabled() {
        None
    } else {
        let (cert, key, fingerprint) = ensure_certificate(&data_dir)?;
        settings.tls.cert_file = Some(cert);
        settings.tls.key_file = Some(key);
        Some(fingerprint)
    };
    let master_key = ensure_encryption(&mut settings)?;
    let keystore = redacted(&settings.keystore_url());
    let app = Application::build(settings, Arc::new(SystemClock)).await.context("cannot start Kura")?;
    let state = app.state().clone();
    let operator_password = ensure_operator(&state).await?;
    let admin_password = ensure_tenant(&state).await?;
    // The audit checkpoint signing key, created now if this is the first run (LOG-3).
    let public_key = state.checkpoints.public_key()?;
    let scheme = if state.settings.tls.enabled() { "https" } else { "http" };
    let base = state.settings.public_url.clone().unwrap_or_else(|| format!("{scheme}://{}", app.local_addr()));
    println!();
    println!("  Kura demo / Kura デモ");
    println!("  ─────────────────────────────────────────────");
    println!("  Console / コンソール     {base}/console/login");
    println!("    tenant / テナント      {TENANT}");
    println!("    email / メール         {ADMIN}");
    println!("    password / パスワード  {admin_password}");
    println!("  Operator / 運用者        {base}/operator/login");
    println!("    email / メール         {OPERATOR}");
    println!("    password / パスワード  {operator_password}");
    println!("  Data / データ            {}", data_dir.display());
    println!("  Encryption / 暗号化      on / 有効 (DAT-2)");
    println!("    master key / マスター鍵 {master_key}");
    println!("    keystore / 鍵ストア     {keystore}");
    println!("  Back up the master key and the keystore apart from the data: without both, the data cannot be read.");
    println!("  マスター鍵と鍵ストアはデータとは別に保管してください。両方がなければデータは読めません。");
    println!("  Audit checkpoints / 監査チェックポイント  {}", state.checkpoints.dir().display());
    println!("    signing key / 署名鍵   {}", state.checkpoints.key_file().display());
    println!("    public key / 公開鍵    {public_key}");
    if let Some(fingerprint) = &fingerprint {
        println!("  Certificate / 証明書     self-signed / 自己署名 (SHA-256)");
        println!("    {fingerprint}");
        println!("  Your browser will warn about it: compare this fingerprint before you continue.");
        println!("  ブラウザーが警告を表示します。続行する前にこのフィンガープリントを照合してください。");
    }
    println!();
    println!("  These are one-time passwords: each must be changed at its first sign-in.");
    println!("  They are shown only now; running `kura demo` again issues new ones.");
    println!("  Press Ctrl-C to stop.");
    println!();
    app.run_until_stopped().await.context("server error")?;
    Ok(ExitCode::SUCCESS)
}

/// Turns encryption at rest on: the master key from `KURA_MASTER_KEY`, or its key file beside
/// the data directory, created on first run (0600); the keystore is created with the tenant
/// keys (on PostgreSQL as its own database). Returns where the master key is, for the banner.
fn ensure_encryption(settings: &mut Settings) -> anyhow::Result<String> {
    settings.encryption.enabled = Some(true);
    settings.encryption.create_keystore = true;
    if !settings.encryption.master_key.expose().is_empty() {
        return Ok("KURA_MASTER_KEY".to_owned());
    }
    let path = settings.master_key_file();
    kura_crypto::vault::MasterKey::load_or_create_file(&path)
        .with_context(|| format!("cannot create or read the master key file {}", path.display()))?;
    Ok(path.display().to_string())
}

/// A database URL without its password, for printing.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => format!("{}://…{}", &url[..scheme_end], &url[at..]),
        _ => url.to_owned(),
    }
}

/// The demo's self-signed certificate in `data_dir/tls`: made on first run (or when it is about
/// to expire), reused after. Returns the certificate and key files and the fingerprint.
fn ensure_certificate(data_dir: &Path) -> anyhow::Result<(PathBuf, PathBuf, String)> {
    use kura_domain::Clock as _;
    let dir = data_dir.join("tls");
    let (cert_file, key_file) = (dir.join("demo-cert.pem"), dir.join("demo-key.pem"));
    let now = SystemClock.now().as_second();
    let existing = std::fs::read_to_string(&cert_file).ok().and_then(|pem| {
        let der = pem_der(&pem)?;
        let info = kura_crypto::x509::inspect(&der).ok()?;
        (info.not_after - now > 86_400 && key_file.exists()).then(|| kura_crypto::x509::fingerprint_sha256(&der))
    });
    if let Some(fingerprint) = existing {
        return Ok((cert_file, key_file, fingerprint));
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let pair = kura_crypto::x509::self_signed_server(&["localhost", "127.0.0.1", "::1"], now - 300, CERT_DAYS)?;
    write_private(&key_file, &pair.key_pem)?;
    std::fs::write(&cert_file, &pair.cert_pem).with_context(|| format!("cannot write {}", cert_file.display()))?;
    Ok((cert_file, key_file, kura_crypto::x509::fingerprint_sha256(&pair.cert_der)))
}

/// The DER bytes of the first certificate in a PEM text.
fn pem_der(pem: &str) -> Option<Vec<u8>> {
    use kura_server::tls::pem_certificates;
    pem_certificates(pem.as_bytes()).ok()?.into_iter().next()
}

/// Writes a private key readable by its owner only.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

/// Creates the demo operator on first run, or issues it a new one-time password (audited) on
/// later runs; returns the password, which must be changed at the first sign-in.
async fn ensure_operator(state: &AppState) -> anyhow::Result<String> {
    let email = Email::parse(OPERATOR)?;
    match state.store.operator_credentials(&email).await? {
        None => Ok(tenants::create_operator_one_time(state, demo_actor(), OPERATOR, "デモ運用者").await?.1),
        Some((operator, _)) => {
            let password = tenants::generate_password();
            let hash = state.hashing.hash(password.clone()).await?;
            let mut w = state.store.begin(AuditScope::Platform, demo_actor()).await?;
            w.set_operator_password(operator.id, &hash).await?;
            w.require_operator_password_change(operator.id).await?;
            w.commit(
                AuditRecord::success(Operation::OperatorUpdate, format!("operator:{OPERATOR}"))
                    .with_detail("one-time password issued; kura demo"),
            )
            .await?;
            Ok(password)
        }
    }
}

/// Creates the demo tenant, its collection and sample records on first run; on later runs issues
/// a new password for the demo administrator (audited). Returns the administrator's password.
async fn ensure_tenant(state: &AppState) -> anyhow::Result<String> {
    let slug = Slug::parse(TENANT)?;
    if let Some(tenant) = state.store.tenant_by_slug(&slug).await? {
        let email = Email::parse(ADMIN)?;
        let (user, _) = state
            .store
            .user_credentials(tenant.id, &email)
            .await?
            .context("the demo tenant exists but its administrator was removed; use a new --data-dir")?;
        let password = tenants::generate_password();
        let hash = state.hashing.hash(password.clone()).await?;
        // A one-time password: the administrator must choose their own at the first sign-in.
        let mut w = state.store.begin(AuditScope::Tenant(tenant.id), demo_actor()).await?;
        w.change_user_password(tenant.id, user.id, &hash, true, 0).await?;
        w.commit(
            AuditRecord::success(Operation::PasswordReset, format!("user:{ADMIN}"))
                .with_detail("one-time password issued; kura demo"),
        )
        .await?;
        return Ok(password);
    }
    let input = NewTenant {
        slug: TENANT.into(),
        display_name: "デモ商事株式会社".into(),
        time_zone: Some("Asia/Tokyo".into()),
        contract_start: Some("2026-04-01".into()),
        contract_end: None,
        admin_email: ADMIN.into(),
        admin_name: "デモ管理者".into(),
        admin_language: None,
    };
    let (tenant, _, password) = tenants::create_tenant(state, demo_actor(), input, None).await?;
    let spec: CollectionSpec = serde_json::from_value(customers_spec())?;
    spec.check()?;
    let mut w = state.store.begin(AuditScope::Tenant(tenant.id), demo_actor()).await?;
    let collection = w.insert_collection(tenant.id, &spec).await?;
    w.commit(
        AuditRecord::success(Operation::CollectionCreate, "collection:customers").with_detail(format!(
            "fields={}",
            spec.fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(",")
        )),
    )
    .await?;
    // Sample records are loaded as one bulk operation with one audit entry stating the count.
    let mut w = state.store.begin(AuditScope::Tenant(tenant.id), demo_actor()).await?;
    for customer in demo_data::sample_customers(SAMPLE_RECORDS) {
        let data = collection.validate(&demo_data::to_json(&customer), kura_domain::WriteMode::Create, None)?;
        w.insert_record(tenant.id, collection.id, &data).await?;
    }
    w.commit(
        AuditRecord::success(Operation::RecordCreate, "collection:customers")
            .with_detail(format!("sample_records={SAMPLE_RECORDS}")),
    )
    .await?;
    Ok(password.unwrap_or_default())
}

/// Who the demo's own set-up is credited to in the operation log: the `kura demo` command, not
/// whichever local account happened to run it.
fn demo_actor() -> Actor {
    Actor { kind: ActorKind::Cli, id: None, label: "kura demo".into(), role: None, source_ip: None, user_agent: None }
}

/// The demo's customers. The reading (フリガナ) is personal information like the name it spells:
/// it identifies the person as well.
pub(crate) fn customers_spec() -> serde_json::Value {
    let prefectures: Vec<&str> = demo_data::prefectures().collect();
    serde_json::json!({
        "name": "customers",
        "label": "顧客",
        "memo": "デモ用の顧客名簿です。氏名・フリガナ・メールアドレス・電話番号は個人情報として扱います。",
        "fields": [
            {"name": "name", "label": "氏名", "type": "text", "required": true, "pii": true,
             "memo": "姓と名の間に全角または半角スペース", "rules": {"max_length": 50}},
            {"name": "kana", "label": "フリガナ", "type": "text", "pii": true,
             "memo": "全角カタカナ（半角カナで入力しても全角に変換されます）", "rules": {"charset": "katakana", "max_length": 100}},
            {"name": "email", "label": "メールアドレス", "type": "email", "pii": true, "warn_duplicates": true},
            {"name": "phone", "label": "電話番号", "type": "phone", "pii": true},
            {"name": "prefecture", "label": "都道府県", "type": "choice", "choices": prefectures},
            {"name": "plan", "label": "プラン", "type": "choice", "choices": ["free", "standard", "premium"],
             "choice_labels": {"free": "フリー", "standard": "スタンダード", "premium": "プレミアム"}},
            {"name": "points", "label": "ポイント", "type": "number", "rules": {"min": 0}},
            {"name": "joined", "label": "入会日", "type": "date"},
            {"name": "newsletter", "label": "メルマガ購読", "type": "boolean"},
            {"name": "note", "label": "備考", "type": "long_text", "memo": "対応履歴や連絡の希望など", "rules": {"max_length": 1000}}
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_3_the_demo_reading_is_personal_information_and_prefectures_are_a_choice() {
        let spec: CollectionSpec = serde_json::from_value(customers_spec()).unwrap();
        spec.check().unwrap();
        let field = |n: &str| spec.fields.iter().find(|f| f.name.as_str() == n).unwrap();
        assert!(field("name").pii && field("kana").pii, "the reading identifies the person as the name does");
        let prefecture = field("prefecture");
        assert_eq!(prefecture.field_type, kura_domain::FieldType::Choice);
        assert_eq!(prefecture.choices.len(), 47);
        assert_eq!((prefecture.choices[0].as_str(), prefecture.choices[46].as_str()), ("北海道", "沖縄県"));
        assert_eq!(field("plan").choice_label("premium"), "プレミアム");
        // Every sample customer fits the collection.
        // Ids do not matter to validation; the kura crate does not depend on uuid for them.
        let nil = "00000000-0000-0000-0000-000000000000";
        let c = kura_domain::Collection {
            id: nil.parse().unwrap(),
            tenant_id: nil.parse().unwrap(),
            name: spec.name.clone(),
            label: spec.label.clone(),
            memo: spec.memo.clone(),
            fields: spec.fields.clone(),
            created_at: jiff::Timestamp::UNIX_EPOCH,
            updated_at: jiff::Timestamp::UNIX_EPOCH,
        };
        for customer in demo_data::sample_customers(300) {
            c.validate(&demo_data::to_json(&customer), kura_domain::WriteMode::Create, None).unwrap();
        }
    }
}
