//! The `roles` table: a tenant's permission groups (IAM-2). A role's label is sealed under the
//! tenant's key (`vault/`, DAT-2); its key (an identifier) and permissions are not.

use super::{constraint, corrupt, count, found, micros};
use crate::conn::{Exec, run};
use crate::error::StoreError;
use crate::vault::Sealer;
use jiff::Timestamp;
use kura_domain::{DisplayName, Key, PermissionSet, Role, RoleId, TenantId};
use uuid::Uuid;

macro_rules! cols {
    () => {
        "tenant_id, id, role_key, label, permissions, builtin"
    };
}

#[derive(sqlx::FromRow)]
pub(super) struct RoleRow {
    pub(super) tenant_id: Uuid,
    pub(super) id: Uuid,
    pub(super) role_key: String,
    pub(super) label: String,
    pub(super) permissions: String,
    pub(super) builtin: bool,
}

/// The table and field bound into a label's seal; the row is the role's id.
const ROLES: &str = "roles";
const LABEL: &str = "label";

fn seal_label(sealer: &Sealer, id: RoleId, label: &DisplayName) -> String {
    sealer.seal_text(ROLES, id.as_uuid().as_bytes(), LABEL, label.as_str())
}

impl RoleRow {
    /// The role, its label opened by the tenant's `sealer`.
    pub(super) fn open(mut self, sealer: &Sealer) -> Result<Role, StoreError> {
        self.label = sealer.open_text(ROLES, self.id.as_bytes(), LABEL, std::mem::take(&mut self.label))?;
        let r = self;
        Ok(Role {
            id: RoleId::from_uuid(r.id),
            tenant_id: TenantId::from_uuid(r.tenant_id),
            key: Key::parse(&r.role_key).map_err(|e| corrupt("role key", e))?,
            label: DisplayName::parse(&r.label).map_err(|e| corrupt("role label", e))?,
            permissions: PermissionSet::parse_list(&r.permissions).map_err(|e| corrupt("role permissions", e))?,
            builtin: r.builtin,
        })
    }
}

const UNIQUE: &str = "a role with this key already exists";

pub(crate) async fn all(e: &mut Exec<'_>, tenant: TenantId, sealer: &Sealer) -> Result<Vec<Role>, StoreError> {
    // Creation order: the built-in roles first, in the order they are defined.
    const SQL: &str = concat!("SELECT ", cols!(), " FROM roles WHERE tenant_id = $1 ORDER BY created_at, id");
    let rows: Vec<RoleRow> = run!(e, |c| sqlx::query_as(SQL).bind(tenant.as_uuid()).fetch_all(c).await)?;
    rows.into_iter().map(|r| r.open(sealer)).collect()
}

pub(crate) async fn by_id(
    e: &mut Exec<'_>,
    tenant: TenantId,
    id: RoleId,
    sealer: &Sealer,
) -> Result<Option<Role>, StoreError> {
    const SQL: &str = concat!("SELECT ", cols!(), " FROM roles WHERE tenant_id = $1 AND id = $2");
    let row: Option<RoleRow> =
        run!(e, |c| sqlx::query_as(SQL).bind(tenant.as_uuid()).bind(id.as_uuid()).fetch_optional(c).await)?;
    row.map(|r| r.open(sealer)).transpose()
}

pub(crate) async fn by_key(
    e: &mut Exec<'_>,
    tenant: TenantId,
    key: &Key,
    sealer: &Sealer,
) -> Result<Option<Role>, StoreError> {
    const SQL: &str = concat!("SELECT ", cols!(), " FROM roles WHERE tenant_id = $1 AND role_key = $2");
    let row: Option<RoleRow> =
        run!(e, |c| sqlx::query_as(SQL).bind(tenant.as_uuid()).bind(key.as_str()).fetch_optional(c).await)?;
    row.map(|r| r.open(sealer)).transpose()
}

/// Users holding the role.
pub(crate) async fn user_count(e: &mut Exec<'_>, tenant: TenantId, id: RoleId) -> Result<u64, StoreError> {
    const SQL: &str = "SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND role_id = $2";
    let n: i64 = run!(e, |c| sqlx::query_scalar(SQL).bind(tenant.as_uuid()).bind(id.as_uuid()).fetch_one(c).await)?;
    Ok(count(n))
}

/// API keys that still work (not revoked) and act with the role.
pub(crate) async fn live_api_key_count(e: &mut Exec<'_>, tenant: TenantId, id: RoleId) -> Result<u64, StoreError> {
    const SQL: &str = "SELECT COUNT(*) FROM api_keys WHERE tenant_id = $1 AND role_id = $2 AND revoked_at IS NULL";
    let n: i64 = run!(e, |c| sqlx::query_scalar(SQL).bind(tenant.as_uuid()).bind(id.as_uuid()).fetch_one(c).await)?;
    Ok(count(n))
}

pub(crate) async fn insert(e: &mut Exec<'_>, role: &Role, now: Timestamp, sealer: &Sealer) -> Result<(), StoreError> {
    const SQL: &str = concat!("INSERT INTO roles (", cols!(), ", created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)");
    run!(e, |c| sqlx::query(SQL)
        .bind(role.tenant_id.as_uuid())
        .bind(role.id.as_uuid())
        .bind(role.key.as_str())
        .bind(seal_label(sealer, role.id, &role.label))
        .bind(role.permissions.to_list())
        .bind(role.builtin)
        .bind(micros(now))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
    .map_err(constraint(UNIQUE))?;
    Ok(())
}

pub(crate) async fn update(
    e: &mut Exec<'_>,
    tenant: TenantId,
    id: RoleId,
    label: &DisplayName,
    permissions: PermissionSet,
    sealer: &Sealer,
) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE roles SET label = $3, permissions = $4 WHERE tenant_id = $1 AND id = $2";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(id.as_uuid())
        .bind(seal_label(sealer, id, label))
        .bind(permissions.to_list())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
    .map_err(constraint(UNIQUE))?;
    found(n)
}

pub(crate) async fn delete(e: &mut Exec<'_>, tenant: TenantId, id: RoleId) -> Result<(), StoreError> {
    const SQL: &str = "DELETE FROM roles WHERE tenant_id = $1 AND id = $2";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(id.as_uuid())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
    .map_err(|err| match &err {
        // A holder appeared between the check and the delete.
        sqlx::Error::Database(d) if d.is_foreign_key_violation() => {
            StoreError::Conflict("this role is still assigned to users".to_owned())
        }
        _ => StoreError::Database(err),
    })?;
    found(n)
}

/// Roles whose label is not sealed (written before they were sealed), as `(tenant, id, label)`.
pub(crate) async fn unsealed(e: &mut Exec<'_>) -> Result<Vec<(Uuid, Uuid, String)>, StoreError> {
    const SQL: &str = "SELECT tenant_id, id, label FROM roles WHERE label NOT LIKE $1 ORDER BY tenant_id";
    Ok(run!(e, |c| sqlx::query_as(SQL).bind(crate::vault::SEALED_TEXT_PATTERN).fetch_all(c).await)?)
}

/// Seals a role's label written before they were sealed, if it is still as it was read.
pub(crate) async fn seal_unsealed(e: &mut Exec<'_>, sealer: &Sealer, id: Uuid, label: &str) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE roles SET label = $3 WHERE tenant_id = $1 AND id = $2 AND label = $4";
    let sealed = sealer.seal_text(ROLES, id.as_bytes(), LABEL, label);
    run!(e, |c| sqlx::query(SQL)
        .bind(sealer.tenant().as_uuid())
        .bind(id)
        .bind(&sealed)
        .bind(label)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}
