//! Fine-grained permissions (IAM-2). Every endpoint requires exactly one of these; roles are sets
//! of them.

use crate::error::DomainError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// One capability inside a tenant.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Permission {
    UsersManage,
    RolesManage,
    CollectionsManage,
    RecordsRead,
    RecordsWrite,
    RecordsDelete,
    RecordsExport,
    PiiRead,
    AuditRead,
    SettingsManage,
    ApiKeysManage,
}

impl Permission {
    pub const ALL: [Permission; 11] = [
        Self::UsersManage,
        Self::RolesManage,
        Self::CollectionsManage,
        Self::RecordsRead,
        Self::RecordsWrite,
        Self::RecordsDelete,
        Self::RecordsExport,
        Self::PiiRead,
        Self::AuditRead,
        Self::SettingsManage,
        Self::ApiKeysManage,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::UsersManage => "users.manage",
            Self::RolesManage => "roles.manage",
            Self::CollectionsManage => "collections.manage",
            Self::RecordsRead => "records.read",
            Self::RecordsWrite => "records.write",
            Self::RecordsDelete => "records.delete",
            Self::RecordsExport => "records.export",
            Self::PiiRead => "pii.read",
            Self::AuditRead => "audit.read",
            Self::SettingsManage => "settings.manage",
            Self::ApiKeysManage => "apikeys.manage",
        }
    }

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| DomainError::invalid("permission", format!("{s:?} is not a permission")))
    }

    const fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
impl TryFrom<String> for Permission {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}
impl From<Permission> for String {
    fn from(value: Permission) -> String {
        value.as_str().to_owned()
    }
}

/// A set of permissions, stored compactly and serialised as a sorted list of names.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "Vec<Permission>", into = "Vec<Permission>")]
pub struct PermissionSet(u32);

impl PermissionSet {
    pub const fn empty() -> Self {
        Self(0)
    }
    pub fn all() -> Self {
        Permission::ALL.into_iter().collect()
    }
    pub fn contains(self, p: Permission) -> bool {
        self.0 & p.bit() != 0
    }
    pub fn insert(&mut self, p: Permission) {
        self.0 |= p.bit();
    }
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL.into_iter().filter(move |p| self.contains(*p))
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// Parses a comma-separated list such as `records.read,records.write`.
    pub fn parse_list(s: &str) -> Result<Self, DomainError> {
        s.split(',').map(str::trim).filter(|p| !p.is_empty()).map(Permission::parse).collect()
    }
    /// The comma-separated form used in storage.
    pub fn to_list(self) -> String {
        self.iter().map(Permission::as_str).collect::<Vec<_>>().join(",")
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        let mut set = Self::empty();
        for p in iter {
            set.insert(p);
        }
        set
    }
}

impl TryFrom<Vec<Permission>> for PermissionSet {
    type Error = DomainError;
    fn try_from(value: Vec<Permission>) -> Result<Self, Self::Error> {
        Ok(value.into_iter().collect())
    }
}
impl From<PermissionSet> for Vec<Permission> {
    fn from(value: PermissionSet) -> Self {
        value.iter().collect()
    }
}
impl fmt::Debug for PermissionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_2_permission_names_round_trip() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()).unwrap(), p);
        }
        assert!(Permission::parse("records.everything").is_err());
    }

    #[test]
    fn iam_2_permission_set_list_form() {
        let set = PermissionSet::parse_list("records.write, records.read").unwrap();
        assert!(set.contains(Permission::RecordsRead));
        assert!(!set.contains(Permission::UsersManage));
        assert_eq!(set.to_list(), "records.read,records.write");
        assert_eq!(PermissionSet::parse_list(&PermissionSet::all().to_list()).unwrap(), PermissionSet::all());
    }
}
