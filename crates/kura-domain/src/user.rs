//! Tenant users and operator accounts. They live in separate tables and never mix: an operator is
//! not a member of any tenant (IAM-13).

use crate::ids::{OperatorId, RoleId, TenantId, UserId};
use crate::language::Language;
use crate::names::{DisplayName, Email};
use crate::security::PasswordPolicy;
use jiff::{SignedDuration, Timestamp};
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
    /// The language of the user's mail.
    pub language: Language,
    /// Whether a password is set: an invited user has none until they follow the setup link.
    pub has_password: bool,
    /// The user must choose a new password before anything else: an issued one-time password,
    /// a password set by an administrator (when the policy says so), or an expired one.
    pub must_change_password: bool,
    /// When the password was last set (expiry counts from here).
    pub password_changed_at: Option<Timestamp>,
    /// Consecutive failed sign-ins since the last success (IAM-5).
    pub failed_logins: u32,
    /// When the account was locked, if it is.
    pub locked_at: Option<Timestamp>,
    /// When a lock ends by itself; with `locked_at` set and this `None`, only an administrator
    /// unlocks the account.
    pub locked_until: Option<Timestamp>,
}

impl User {
    /// Whether sign-ins are refused because of failed attempts at `now`.
    pub fn is_locked(&self, now: Timestamp) -> bool {
        self.locked_at.is_some() && self.locked_until.is_none_or(|until| until > now)
    }

    /// When the password expires under `policy`, if it does.
    pub fn password_expires_at(&self, policy: &PasswordPolicy) -> Option<Timestamp> {
        let days = policy.expiry_days?;
        let set = self.password_changed_at?;
        set.checked_add(SignedDuration::from_hours(24 * i64::from(days))).ok()
    }
}

/// An account of the company running Kura.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Operator {
    pub id: OperatorId,
    pub email: Email,
    pub display_name: DisplayName,
    pub created_at: Timestamp,
    /// The operator must choose a new password before anything else (a one-time password).
    pub must_change_password: bool,
}
