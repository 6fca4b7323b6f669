//! Roles (IAM-2): the built-in three plus tenant-defined permission groups.

use crate::auth::TenantPrincipal;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use kura_domain::{AuditRecord, DisplayName, Key, Operation, Permission, PermissionSet, Role, RoleId};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"key": "sales_staff", "label": "営業担当", "permissions": ["records.read", "records.write"]}))]
pub struct NewRole {
    /// Machine name, e.g. `sales_staff`.
    pub key: String,
    pub label: String,
    /// Permission names, e.g. `["records.read", "records.write"]`.
    pub permissions: Vec<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"label": "営業担当", "permissions": ["records.read"]}))]
pub struct RoleChanges {
    pub label: Option<String>,
    pub permissions: Option<Vec<String>>,
}

fn parse_permissions(p: &TenantPrincipal, names: &[String]) -> AppResult<PermissionSet> {
    let set = names.iter().map(|n| Permission::parse(n)).collect::<Result<PermissionSet, _>>()?;
    // A role may not carry permissions its author lacks.
    if let Some(missing) = set.iter().find(|perm| !p.can(*perm)) {
        return Err(AppError::ForbiddenOther(format!("you cannot grant {missing}, which you do not have")));
    }
    Ok(set)
}

/// A role manager may change or delete a role only if they hold every permission it holds:
/// otherwise `roles.manage` would let them weaken a role stronger than their own, and its
/// holders would lose what the manager could never grant.
fn ensure_holds_all(p: &TenantPrincipal, role: &Role) -> AppResult<()> {
    match role.permissions.iter().find(|perm| !p.can(*perm)) {
        None => Ok(()),
        Some(missing) => Err(AppError::ForbiddenOther(format!(
            "changing a role requires every permission it holds; the role {} holds {missing}, which you do not have",
            role.key
        ))),
    }
}

pub async fn list(state: &AppState, p: &TenantPrincipal) -> AppResult<Vec<Role>> {
    let g = p.require(Permission::RolesManage)?;
    Ok(state.store.roles(g.tenant_id()).await?)
}

pub async fn get(state: &AppState, p: &TenantPrincipal, id: RoleId) -> AppResult<Role> {
    let g = p.require(Permission::RolesManage)?;
    state.store.role(g.tenant_id(), id).await?.ok_or(AppError::NotFound("role"))
}

pub async fn create(state: &AppState, p: &TenantPrincipal, input: NewRole) -> AppResult<Role> {
    let g = p.require(Permission::RolesManage)?;
    let key = Key::parse(&input.key)?;
    let label = DisplayName::parse(&input.label)?;
    let permissions = parse_permissions(p, &input.permissions)?;
    let mut w = g.begin(&state.store).await?;
    let role = w.insert_role(g.tenant_id(), &key, &label, permissions).await?;
    w.commit(
        AuditRecord::success(Operation::RoleCreate, format!("role:{key}"))
            .with_detail(format!("permissions={}", permissions.to_list())),
    )
    .await?;
    Ok(role)
}

pub async fn update(state: &AppState, p: &TenantPrincipal, id: RoleId, changes: RoleChanges) -> AppResult<Role> {
    let g = p.require(Permission::RolesManage)?;
    let role = state.store.role(g.tenant_id(), id).await?.ok_or(AppError::NotFound("role"))?;
    if role.builtin {
        return Err(AppError::Conflict("built-in roles cannot be changed; create a custom role instead".into()));
    }
    ensure_holds_all(p, &role)?;
    let label = match &changes.label {
        Some(l) => DisplayName::parse(l)?,
        None => role.label.clone(),
    };
    let permissions = match &changes.permissions {
        Some(names) => parse_permissions(p, names)?,
        None => role.permissions,
    };
    let mut w = g.begin(&state.store).await?;
    let updated = w.update_role(g.tenant_id(), id, &label, permissions).await?;
    w.commit(AuditRecord::success(Operation::RoleUpdate, format!("role:{}", role.key)).with_detail(format!(
        "permissions={} previous={}",
        permissions.to_list(),
        role.permissions.to_list()
    )))
    .await?;
    Ok(updated)
}

pub async fn delete(state: &AppState, p: &TenantPrincipal, id: RoleId) -> AppResult<()> {
    let g = p.require(Permission::RolesManage)?;
    let role = state.store.role(g.tenant_id(), id).await?.ok_or(AppError::NotFound("role"))?;
    if role.builtin {
        return Err(AppError::Conflict("built-in roles cannot be deleted".into()));
    }
    ensure_holds_all(p, &role)?;
    let mut w = g.begin(&state.store).await?;
    w.delete_role(g.tenant_id(), id).await?;
    w.commit(AuditRecord::success(Operation::RoleDelete, format!("role:{}", role.key))).await?;
    Ok(())
}
