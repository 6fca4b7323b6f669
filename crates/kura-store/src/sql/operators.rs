//! The `operators` table: accounts of the company running Kura (no tenant).

use super::{constraint, count, micros, timestamp};
use crate::conn::{Exec, run};
use crate::error::StoreError;
use kura_domain::{DisplayName, Email, Operator, OperatorId};
use uuid::Uuid;

macro_rules! cols {
    () => {
        "id, email, display_name, created_at, must_change_password"
    };
}

#[derive(sqlx::FromRow)]
struct OperatorRow {
    id: Uuid,
    email: String,
    display_name: String,
    created_at: i64,
    must_change_password: bool,
}

#[derive(sqlx::FromRow)]
struct CredentialsRow {
    #[sqlx(flatten)]
    operator: OperatorRow,
    password_hash: String,
}

impl TryFrom<OperatorRow> for Operator {
    type Error = StoreError;
    fn try_from(r: OperatorRow) -> Result<Self, StoreError> {
        Ok(Operator {
            id: OperatorId::from_uuid(r.id),
            email: Email::parse(&r.email).map_err(|e| super::corrupt("operator email", e))?,
            display_name: DisplayName::parse(&r.display_name).map_err(|e| super::corrupt("operator name", e))?,
            created_at: timestamp(r.created_at)?,
            must_change_password: r.must_change_password,
        })
    }
}

pub(crate) async fn count_all(e: &mut Exec<'_>) -> Result<u64, StoreError> {
    const SQL: &str = "SELECT COUNT(*) FROM operators";
    let n: i64 = run!(e, |c| sqlx::query_scalar(SQL).fetch_one(c).await)?;
    Ok(count(n))
}

pub(crate) async fn all(e: &mut Exec<'_>) -> Result<Vec<Operator>, StoreError> {
    const SQL: &str = concat!("SELECT ", cols!(), " FROM operators ORDER BY email");
    let rows: Vec<OperatorRow> = run!(e, |c| sqlx::query_as(SQL).fetch_all(c).await)?;
    rows.into_iter().map(Operator::try_from).collect()
}

pub(crate) async fn by_id(e: &mut Exec<'_>, id: OperatorId) -> Result<Option<Operator>, StoreError> {
    const SQL: &str = concat!("SELECT ", cols!(), " FROM operators WHERE id = $1");
    let row: Option<OperatorRow> = run!(e, |c| sqlx::query_as(SQL).bind(id.as_uuid()).fetch_optional(c).await)?;
    row.map(Operator::try_from).transpose()
}

pub(crate) async fn credentials(e: &mut Exec<'_>, email: &Email) -> Result<Option<(Operator, String)>, StoreError> {
    const SQL: &str = concat!("SELECT ", cols!(), ", password_hash FROM operators WHERE email = $1");
    let row: Option<CredentialsRow> = run!(e, |c| sqlx::query_as(SQL).bind(email.as_str()).fetch_optional(c).await)?;
    row.map(|r| Ok((Operator::try_from(r.operator)?, r.password_hash))).transpose()
}

pub(crate) async fn insert(e: &mut Exec<'_>, op: &Operator, password_hash: &str) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO operators (id, email, display_name, password_hash, created_at) \
                       VALUES ($1, $2, $3, $4, $5)";
    run!(e, |c| sqlx::query(SQL)
        .bind(op.id.as_uuid())
        .bind(op.email.as_str())
        .bind(op.display_name.as_str())
        .bind(password_hash)
        .bind(micros(op.created_at))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
    .map_err(constraint("an operator with this email already exists"))?;
    Ok(())
}

pub(crate) async fn set_password(e: &mut Exec<'_>, id: OperatorId, password_hash: &str) -> Result<(), StoreError> {
    // A password the operator chose: any earlier one-time requirement is met.
    const SQL: &str = "UPDATE operators SET password_hash = $2, must_change_password = FALSE WHERE id = $1";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(id.as_uuid())
        .bind(password_hash)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    super::found(n)
}

/// Requires the operator to choose a new password before anything else (a one-time password).
pub(crate) async fn require_password_change(e: &mut Exec<'_>, id: OperatorId) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE operators SET must_change_password = TRUE WHERE id = $1";
    let n = run!(e, |c| sqlx::query(SQL).bind(id.as_uuid()).execute(c).await.map(|r| r.rows_affected()))?;
    super::found(n)
}
