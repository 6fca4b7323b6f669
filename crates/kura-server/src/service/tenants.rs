//! Operator-side administration: operators and tenants (TEN-1 basics). Used by the operator
//! console and by the CLI.

use super::check_password;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use kura_domain::{
    Actor, AuditRecord, AuditScope, BuiltinRole, DisplayName, Email, Key, Operation, Operator, Slug, Tenant,
    TenantSpec, TimeZoneName, User,
};
use serde::Deserialize;

/// What the operator supplies to open a tenant.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    pub slug: String,
    pub display_name: String,
    /// IANA zone; default `Asia/Tokyo`.
    pub time_zone: Option<String>,
    /// `YYYY-MM-DD`.
    pub contract_start: Option<String>,
    pub contract_end: Option<String>,
    pub admin_email: String,
    pub admin_name: String,
    /// The language of the administrator's mail; default Japanese.
    pub admin_language: Option<kura_domain::Language>,
}

pub(crate) fn parse_date(name: &str, s: Option<&str>) -> AppResult<Option<jiff::civil::Date>> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => {
            s.parse().map(Some).map_err(|_| AppError::BadRequest(format!("{name} must be a date such as 2026-04-01")))
        }
    }
}

/// How the first administrator of a new tenant gets in.
#[derive(Debug)]
pub enum AdminAccess {
    /// A single-use setup link, mailed to them (TEN-1): nobody else ever knows their password.
    SetupLink,
    /// A generated one-time password, returned to be handed over once; it must be changed at the
    /// first sign-in (`kura demo`, and machines without mail).
    OneTimePassword,
    /// A password chosen by whoever creates the tenant (automated provisioning).
    Password(String),
}

/// Creates a tenant and its first administrator, with the given password, or, if none is given,
/// a generated one-time password returned here (see [`create_tenant_with`]).
pub async fn create_tenant(
    state: &AppState,
    actor: Actor,
    input: NewTenant,
    admin_password: Option<String>,
) -> AppResult<(Tenant, User, Option<String>)> {
    let access = admin_password.map_or(AdminAccess::OneTimePassword, AdminAccess::Password);
    create_tenant_with(state, actor, input, access).await
}

/// Creates a tenant and its first administrator, who gets in as `access` says; a generated
/// one-time password is returned, to be handed over once.
pub async fn create_tenant_with(
    state: &AppState,
    actor: Actor,
    input: NewTenant,
    access: AdminAccess,
) -> AppResult<(Tenant, User, Option<String>)> {
    // Validate everything before the first write, so that the two writes below can only fail on
    // a database error.
    let spec = TenantSpec {
        slug: Slug::parse(&input.slug)?,
        display_name: DisplayName::parse(&input.display_name)?,
        time_zone: match input.time_zone.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(z) => TimeZoneName::parse(z)?,
            None => TimeZoneName::tokyo(),
        },
        contract_start: parse_date("contract_start", input.contract_start.as_deref())?,
        contract_end: parse_date("contract_end", input.contract_end.as_deref())?,
    };
    spec.check()?;
    let email = Email::parse(&input.admin_email)?;
    let name = DisplayName::parse(&input.admin_name)?;
    let (password, generated) = match access {
        AdminAccess::Password(pw) => (Some(pw), None),
        AdminAccess::OneTimePassword => {
            let pw = generate_password();
            (Some(pw.clone()), Some(pw))
        }
        AdminAccess::SetupLink => (None, None),
    };
    let hash = match password {
        Some(pw) => {
            check_password(state, "admin_password", &pw)?;
            Some(state.hashing.hash(pw).await.map_err(AppError::internal)?)
        }
        None => None,
    };

    // One write: the tenant, its built-in roles, its first administrator and their setup link
    // are committed together or not at all; the platform's chain records the opening, the
    // tenant's own chain its administrator.
    let mut w = state.store.begin(AuditScope::Platform, actor).await?;
    let tenant = w.insert_tenant(&spec).await?;
    let admin_key = Key::parse(BuiltinRole::TenantAdmin.key())?;
    let role = w.role_by_key(tenant.id, &admin_key).await?.ok_or(AppError::NotFound("role"))?;
    let account = kura_store::NewAccount {
        email: &email,
        display_name: &name,
        role: role.id,
        password_hash: hash.as_deref(),
        language: input.admin_language.unwrap_or_default(),
        must_change_password: generated.is_some(),
    };
    let user = w.insert_account(tenant.id, account).await?;
    let mut detail = "role=tenant_admin; tenant opened".to_owned();
    if hash.is_none() {
        super::links::queue_setup_link(state, &mut w, &tenant, &user).await?;
        detail.push_str("; setup link sent");
    }
    w.audit_opened(
        tenant.id,
        AuditRecord::success(Operation::UserCreate, format!("user:{email}")).with_detail(detail),
    )?;
    // Key creation is audited with the opening it belongs to (the keys went into the keystore
    // first, in `insert_tenant`).
    let mut opening = AuditRecord::success(Operation::TenantCreate, format!("tenant:{}", spec.slug));
    if let Some(keys) = w.created_keys(tenant.id) {
        opening = opening.with_detail(keys.to_string());
    }
    w.commit(opening).await?;
    if hash.is_none() {
        state.mail.kick();
    }
    Ok((tenant, user, generated))
}

/// Creates an operator account with a generated one-time password, returned here to be handed
/// over once; the operator must replace it at the first sign-in.
pub async fn create_operator_one_time(
    state: &AppState,
    actor: Actor,
    email: &str,
    display_name: &str,
) -> AppResult<(Operator, String)> {
    let password = generate_password();
    let op = create_operator(state, actor.clone(), email, display_name, &password).await?;
    let mut w = state.store.begin(AuditScope::Platform, actor).await?;
    w.require_operator_password_change(op.id).await?;
    w.commit(
        AuditRecord::success(Operation::OperatorUpdate, format!("operator:{}", op.email))
            .with_detail("one-time password issued"),
    )
    .await?;
    Ok((Operator { must_change_password: true, ..op }, password))
}

/// Changes the signed-in operator's own password: the current one is required, the new one must
/// be at least the configured length and not a common or easily guessed one. The operator's
/// other sessions end.
pub async fn change_operator_password(
    state: &AppState,
    p: &crate::auth::OperatorPrincipal,
    current: &str,
    new: &str,
) -> AppResult<()> {
    let stored = state.store.operator_credentials(&p.operator.email).await?.map(|(_, hash)| hash);
    if !state.hashing.check(stored, current.to_owned()).await.map_err(AppError::internal)? {
        return Err(AppError::Validation(vec![kura_domain::FieldError::new(
            "current_password",
            kura_domain::FieldErrorKind::Invalid { reason: "the current password is not correct".into() },
        )]));
    }
    check_password(state, "new_password", new)?;
    let rules = kura_domain::PasswordPolicy::default();
    let problems = rules.problems(new, &[p.operator.email.as_str(), "kura"]);
    if !problems.is_empty() {
        return Err(AppError::Validation(
            problems
                .into_iter()
                .map(|x| kura_domain::FieldError::new("new_password", kura_domain::FieldErrorKind::Password(x)))
                .collect(),
        ));
    }
    let hash = state.hashing.hash(new.to_owned()).await.map_err(AppError::internal)?;
    let mut w = p.begin(&state.store, AuditScope::Platform).await?;
    w.set_operator_password(p.operator.id, &hash).await?;
    let ended = w.end_operator_sessions(p.operator.id, &p.digest).await?;
    w.commit(
        AuditRecord::success(Operation::OperatorUpdate, format!("operator:{}", p.operator.email))
            .with_detail(format!("changed=password; ended {ended} other session(s)")),
    )
    .await?;
    Ok(())
}

/// Creates an operator account with a password they chose.
pub async fn create_operator(
    state: &AppState,
    actor: Actor,
    email: &str,
    display_name: &str,
    password: &str,
) -> AppResult<Operator> {
    let email = Email::parse(email)?;
    let name = DisplayName::parse(display_name)?;
    check_password(state, "password", password)?;
    let hash = state.hashing.hash(password.to_owned()).await.map_err(AppError::internal)?;
    let mut w = state.store.begin(AuditScope::Platform, actor).await?;
    let op = w.insert_operator(&email, &name, &hash).await?;
    w.commit(AuditRecord::success(Operation::OperatorCreate, format!("operator:{email}"))).await?;
    Ok(op)
}

/// A random 20-character password from an alphabet without look-alike characters (about 116
/// bits). Bytes are drawn by rejection so that every character is equally likely.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    const LIMIT: u8 = (256 / ALPHABET.len() * ALPHABET.len()) as u8;
    let mut out = String::with_capacity(20);
    while out.len() < 20 {
        for b in kura_crypto::random_bytes::<32>() {
            if b < LIMIT && out.len() < 20 {
                out.push(ALPHABET[usize::from(b) % ALPHABET.len()] as char);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_passwords_are_long_and_distinct() {
        let a = super::generate_password();
        assert_eq!(a.chars().count(), 20);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() && !"0O1lI".contains(c)));
        assert_ne!(a, super::generate_password());
    }
}
