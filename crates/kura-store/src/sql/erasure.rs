//! Deleting every row of a tenant at its contract's end (TEN-4), and the platform's record of
//! each deletion (`tenant_deletions`).
//!
//! [`CATEGORIES`] lists every table that holds a tenant's rows, in an order that deletes rows
//! before the rows they refer to. A table added to the schema with tenant rows must be added
//! here: the store test `ten_4_every_tenant_table_is_erased_and_no_other_tenant_is_touched` fails otherwise.

use super::{count, micros, timestamp};
use crate::conn::{Exec, run};
use crate::error::StoreError;
use jiff::Timestamp;
use kura_domain::TenantId;
use uuid::Uuid;

/// A kind of the tenant's data: its name (as the deletion certificate gives it), and the
/// statements that count and delete its rows (`$1` the tenant's id).
pub(crate) struct Category {
    pub(crate) name: &'static str,
    count: &'static str,
    delete: &'static str,
}

macro_rules! category {
    ($name:literal, $table:literal, $column:literal) => {
        Category {
            name: $name,
            count: concat!("SELECT COUNT(*) FROM ", $table, " WHERE ", $column, " = $1"),
            delete: concat!("DELETE FROM ", $table, " WHERE ", $column, " = $1"),
        }
    };
}

/// Every table with rows of a tenant, children before parents. Names are the certificate's.
pub(crate) const CATEGORIES: &[Category] = &[
    category!("saved-views", "user_views", "tenant_id"),
    category!("records", "records", "tenant_id"),
    category!("collections", "collections", "tenant_id"),
    category!("sessions", "sessions", "scope_id"),
    category!("sign-in-challenges", "signin_challenges", "scope_id"),
    category!("sign-in-throttles", "signin_throttle", "scope_id"),
    category!("second-factors", "second_factors", "scope_id"),
    category!("recovery-codes", "recovery_codes", "scope_id"),
    category!("passkey-registrations", "passkey_registrations", "scope_id"),
    category!("password-history", "password_history", "tenant_id"),
    category!("account-links", "user_tokens", "tenant_id"),
    category!("api-keys", "api_keys", "tenant_id"),
    category!("client-certificates", "client_certificates", "tenant_id"),
    category!("break-glass-accesses", "break_glass", "tenant_id"),
    category!("users", "users", "tenant_id"),
    category!("departed-principals", "departed_principals", "tenant_id"),
    category!("roles", "roles", "tenant_id"),
    category!("security-policy", "tenant_security", "tenant_id"),
    category!("mail", "mail_outbox", "scope_id"),
    category!("export-jobs", "export_jobs", "tenant_id"),
    category!("key-rotations", "key_rotations", "tenant_id"),
    category!("refused-decryptions", "refused_opens", "tenant_id"),
    category!("access-log", "access_log", "scope_id"),
    category!("audit-log-entries", "audit_log", "scope_id"),
    category!("audit-log-tree", "audit_tree_nodes", "scope_id"),
    category!("audit-log-head", "audit_heads", "scope_id"),
    category!("tenant", "tenants", "id"),
];

/// How many rows of each category `tenant` has, in [`CATEGORIES`]' order.
pub(crate) async fn counts(e: &mut Exec<'_>, tenant: TenantId) -> Result<Vec<(&'static str, u64)>, StoreError> {
    let mut out = Vec::with_capacity(CATEGORIES.len());
    for c in CATEGORIES {
        let n: i64 = run!(e, |conn| sqlx::query_scalar(c.count).bind(tenant.as_uuid()).fetch_one(conn).await)?;
        out.push((c.name, count(n)));
    }
    Ok(out)
}

/// Deletes every row of `tenant`; returns how many of each category were deleted.
pub(crate) async fn delete_all(e: &mut Exec<'_>, tenant: TenantId) -> Result<Vec<(&'static str, u64)>, StoreError> {
    let mut out = Vec::with_capacity(CATEGORIES.len());
    for c in CATEGORIES {
        let n = run!(e, |conn| sqlx::query(c.delete)
            .bind(tenant.as_uuid())
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
        out.push((c.name, n));
    }
    Ok(out)
}

/// Claims the reminder `stage` (days before the end) of `tenant`'s contract ending on `end`:
/// `true` when this call took it (no nearer one was sent for this end date, and the end date is
/// still `end`), `false` when it was already sent, by this node or another.
pub(crate) async fn claim_end_notice(
    e: &mut Exec<'_>,
    tenant: TenantId,
    end: jiff::civil::Date,
    stage: u32,
) -> Result<bool, StoreError> {
    const SQL: &str = "UPDATE tenants SET end_notice = $3, end_notice_for = $2 WHERE id = $1 AND contract_end = $2 \
                       AND (end_notice_for IS NULL OR end_notice_for <> $2 OR end_notice > $3)";
    let end = end.to_string();
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(&end)
        .bind(i64::from(stage))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// A deleted tenant as the platform keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantDeletion {
    pub tenant_id: TenantId,
    pub slug: String,
    pub display_name: String,
    pub contract_end: String,
    pub keys_destroyed_at: Timestamp,
    pub deleted_at: Timestamp,
    /// The signed deletion certificate (a signed note).
    pub certificate: String,
}

#[derive(sqlx::FromRow)]
struct Row {
    tenant_id: Uuid,
    slug: String,
    display_name: String,
    contract_end: String,
    keys_destroyed_at: i64,
    deleted_at: i64,
    certificate: String,
}

impl TryFrom<Row> for TenantDeletion {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Self, StoreError> {
        Ok(Self {
            tenant_id: TenantId::from_uuid(r.tenant_id),
            slug: r.slug,
            display_name: r.display_name,
            contract_end: r.contract_end,
            keys_destroyed_at: timestamp(r.keys_destroyed_at)?,
            deleted_at: timestamp(r.deleted_at)?,
            certificate: r.certificate,
        })
    }
}

pub(crate) async fn insert(e: &mut Exec<'_>, d: &TenantDeletion) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO tenant_deletions (tenant_id, slug, display_name, contract_end, keys_destroyed_at, \
                       deleted_at, certificate) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    run!(e, |c| sqlx::query(SQL)
        .bind(d.tenant_id.as_uuid())
        .bind(&d.slug)
        .bind(&d.display_name)
        .bind(&d.contract_end)
        .bind(micros(d.keys_destroyed_at))
        .bind(micros(d.deleted_at))
        .bind(&d.certificate)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
    .map_err(super::constraint("this tenant was already deleted"))?;
    Ok(())
}

/// Every deletion, newest first.
pub(crate) async fn all(e: &mut Exec<'_>) -> Result<Vec<TenantDeletion>, StoreError> {
    const SQL: &str = "SELECT tenant_id, slug, display_name, contract_end, keys_destroyed_at, deleted_at, \
                       certificate FROM tenant_deletions ORDER BY deleted_at DESC";
    let rows: Vec<Row> = run!(e, |c| sqlx::query_as(SQL).fetch_all(c).await)?;
    rows.into_iter().map(TenantDeletion::try_from).collect()
}
