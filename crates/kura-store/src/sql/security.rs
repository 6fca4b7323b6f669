//! The `tenant_security` table: each tenant's security policy (IAM-4, IAM-5, IAM-9) as JSON,
//! with a revision that counts saves.

use super::{corrupt, micros};
use crate::conn::{Exec, run};
use crate::error::StoreError;
use jiff::Timestamp;
use kura_domain::{SecurityPolicy, TenantId};

#[derive(sqlx::FromRow)]
struct PolicyRow {
    revision: i64,
    policy: String,
}

/// Parses a stored policy.
pub(crate) fn parse(text: &str) -> Result<SecurityPolicy, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt("security policy", e))
}

/// The tenant's stored policy and its revision; `None` while it uses the defaults.
pub(crate) async fn get(e: &mut Exec<'_>, tenant: TenantId) -> Result<Option<(i64, SecurityPolicy)>, StoreError> {
    const SQL: &str = "SELECT revision, policy FROM tenant_security WHERE tenant_id = $1";
    let row: Option<PolicyRow> = run!(e, |c| sqlx::query_as(SQL).bind(tenant.as_uuid()).fetch_optional(c).await)?;
    row.map(|r| Ok((r.revision, parse(&r.policy)?))).transpose()
}

/// Stores `policy` if the stored revision is still `expected` (0: none stored yet); returns the
/// new revision, or `None` when someone saved in between. One statement, so that two nodes
/// saving at once cannot both succeed.
pub(crate) async fn put(
    e: &mut Exec<'_>,
    tenant: TenantId,
    expected: i64,
    policy: &SecurityPolicy,
    now: Timestamp,
) -> Result<Option<i64>, StoreError> {
    const SQL: &str = "INSERT INTO tenant_security (tenant_id, revision, policy, updated_at) VALUES ($1, 1, $2, $3) \
                       ON CONFLICT (tenant_id) DO UPDATE SET revision = tenant_security.revision + 1, \
                       policy = excluded.policy, updated_at = excluded.updated_at \
                       WHERE tenant_security.revision = $4 RETURNING revision";
    let text = serde_json::to_string(policy).map_err(|e| corrupt("security policy", e))?;
    let revision: Option<i64> = run!(e, |c| sqlx::query_scalar(SQL)
        .bind(tenant.as_uuid())
        .bind(text.as_str())
        .bind(micros(now))
        .bind(expected)
        .fetch_optional(c)
        .await)?;
    // A first save (expected 0) that met a row saved meanwhile updates nothing either; a first
    // insert (revision 1) answers only a save from revision 0. No overflow on a hostile
    // `expected` such as i64::MAX.
    Ok(revision.filter(|&r| expected.checked_add(1) == Some(r)))
}

#[derive(sqlx::FromRow)]
struct TenantPolicyRow {
    tenant_id: uuid::Uuid,
    policy: String,
}

/// Every stored policy, by tenant (the expiry notices look for the tenants whose passwords
/// expire).
pub(crate) async fn all(e: &mut Exec<'_>) -> Result<Vec<(TenantId, SecurityPolicy)>, StoreError> {
    const SQL: &str = "SELECT tenant_id, policy FROM tenant_security ORDER BY tenant_id";
    let rows: Vec<TenantPolicyRow> = run!(e, |c| sqlx::query_as(SQL).fetch_all(c).await)?;
    rows.into_iter().map(|r| Ok((TenantId::from_uuid(r.tenant_id), parse(&r.policy)?))).collect()
}
