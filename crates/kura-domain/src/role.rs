//! Roles: named permission groups inside a tenant (IAM-2). Three are built in; tenants add their
//! own.

use crate::ids::{RoleId, TenantId};
use crate::names::{DisplayName, Key};
use crate::permission::{Permission, PermissionSet};
use serde::{Deserialize, Serialize};

/// The roles every tenant starts with. Their permissions are fixed so that documentation and
/// tests can rely on them; custom roles cover everything else.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BuiltinRole {
    TenantAdmin,
    Editor,
    Viewer,
}

impl BuiltinRole {
    pub const ALL: [BuiltinRole; 3] = [Self::TenantAdmin, Self::Editor, Self::Viewer];

    pub const fn key(self) -> &'static str {
        match self {
            Self::TenantAdmin => "tenant_admin",
            Self::Editor => "editor",
            Self::Viewer => "viewer",
        }
    }

    /// English and Japanese labels.
    pub const fn labels(self) -> (&'static str, &'static str) {
        match self {
            Self::TenantAdmin => ("Tenant administrator", "テナント管理者"),
            Self::Editor => ("Editor", "編集者"),
            Self::Viewer => ("Viewer", "閲覧者"),
        }
    }

    pub fn permissions(self) -> PermissionSet {
        use Permission::*;
        match self {
            Self::TenantAdmin => PermissionSet::all(),
            Self::Editor => [RecordsRead, RecordsWrite, RecordsDelete, RecordsExport, PiiRead].into_iter().collect(),
            Self::Viewer => [RecordsRead].into_iter().collect(),
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.key() == key)
    }
}

/// A role as stored for a tenant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Role {
    pub id: RoleId,
    pub tenant_id: TenantId,
    pub key: Key,
    pub label: DisplayName,
    pub permissions: PermissionSet,
    pub builtin: bool,
}

impl Role {
    pub fn allows(&self, p: Permission) -> bool {
        self.permissions.contains(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_2_builtin_roles_are_ordered_by_power() {
        let admin = BuiltinRole::TenantAdmin.permissions();
        let editor = BuiltinRole::Editor.permissions();
        let viewer = BuiltinRole::Viewer.permissions();
        assert_eq!(admin, PermissionSet::all());
        assert!(viewer.iter().all(|p| editor.contains(p)));
        assert!(!editor.contains(Permission::UsersManage));
        assert!(!viewer.contains(Permission::RecordsWrite));
        assert!(!viewer.contains(Permission::PiiRead));
    }
}
