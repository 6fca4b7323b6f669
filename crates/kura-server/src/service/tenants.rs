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
}

pub(crate) fn parse_date(name: &str, s: Option<&str>) -> AppResult<Option<jiff::civil::Date>> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => {
            s.parse().map(Some).map_err(|_| AppError::BadRequest(format!("{name} must be a date such as 2026-04-01")))
        }
    }
}

/// Creates a tenant and its first administrator. The administrator's password is the given one,
/// or, if none is given, a generated one returned here to be handed over once.
pub async fn create_tenant(
    state: &AppState,
    actor: Actor,
    input: NewTenant,
    admin_password: Option<String>,
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
    let (password, generated) = match admin_password {
        Some(pw) => (pw, None),
        None => {
            let pw = generate_password();
            (pw.clone(), Some(pw))
        }
    };
    check_password(state, "admin_password", &password)?;
    let hash = state.hashing.hash(password).await.map_err(AppError::internal)?;

    let mut w = state.store.begin(AuditScope::Platform, actor.clone()).await?;
    let tenant = w.insert_tenant(&spec).await?;
    w.commit(AuditRecord::success(Operation::TenantCreate, format!("tenant:{}", spec.slug))).await?;

    let admin_key = Key::parse(BuiltinRole::TenantAdmin.key())?;
    let role = state.store.role_by_key(tenant.id, &admin_key).await?.ok_or(AppError::NotFound("role"))?;
    let mut w = state.store.begin(AuditScope::Tenant(tenant.id), actor).await?;
    let user = w.insert_user(tenant.id, &email, &name, role.id, Some(&hash)).await?;
    w.commit(
        AuditRecord::success(Operation::UserCreate, format!("user:{email}"))
            .with_detail("role=tenant_admin; tenant opened"),
    )
    .await?;
    Ok((tenant, user, generated))
}

/// Creates an operator account.
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
