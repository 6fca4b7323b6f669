//! Tenant users and operator accounts. They live in separate tables and never mix: an operator is
//! not a member of any tenant (IAM-13).

use crate::ids::{OperatorId, RoleId, TenantId, UserId};
use crate::names::{DisplayName, Email};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Whether a user may sign in.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    Active,
    Disabled,
}

impl UserStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "disabled" => Some(Self::Disabled),
            _ => None,
        }
    }
}

/// A member of a tenant's staff.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub tenant_id: TenantId,
    pub email: Email,
    pub display_name: DisplayName,
    pub role_id: RoleId,
    pub status: UserStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// An account of the company running Kura.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Operator {
    pub id: OperatorId,
    pub email: Email,
    pub display_name: DisplayName,
    pub created_at: Timestamp,
}
