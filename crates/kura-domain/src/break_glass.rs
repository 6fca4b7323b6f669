//! Break-glass access (IAM-13): the one way an operator reaches a tenant's data. An operator
//! states a reason and a duration; the access is tenant-visible, bounded in time, and, where the
//! tenant's policy asks for it, waits for an administrator's approval. What the operator may do
//! under it is a fixed, read-only permission set ([`support_permissions`]).

use crate::error::{FieldError, FieldErrorKind};
use crate::names::is_invisible_control;
use crate::{Permission, PermissionSet, TenantId};
use jiff::{SignedDuration, Timestamp};
use uuid::Uuid;

/// The longest break-glass access, in minutes (4 hours).
pub const MAX_MINUTES: u32 = 240;
/// The shortest, in minutes.
pub const MIN_MINUTES: u32 = 5;
/// How long a request that needs approval waits before it lapses, in hours.
pub const APPROVAL_HOURS: i64 = 24;
/// The bounds of the stated reason, in characters.
pub const REASON_MIN: usize = 10;
pub const REASON_MAX: usize = 500;

/// What the operator may do under break-glass access: read records (personal-information
/// fields stay masked, since `pii.read` is not in it) and read the tenant's audit log. Nothing
/// that changes anything, and no users, roles, keys or settings.
pub fn support_permissions() -> PermissionSet {
    [Permission::RecordsRead, Permission::AuditRead].into_iter().collect()
}

/// The role key the support session acts under, as it appears in audit entries.
pub const SUPPORT_ROLE: &str = "break_glass";

/// Where a break-glass access stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakGlassStatus {
    /// Waiting for an administrator's approval.
    Pending,
    /// In force until its end.
    Active,
    /// An administrator refused it.
    Refused,
    /// It ended: at its end time, or early.
    Ended,
    /// It waited for approval longer than [`APPROVAL_HOURS`] and lapsed.
    Expired,
}

impl BreakGlassStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Refused => "refused",
            Self::Ended => "ended",
            Self::Expired => "expired",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Active, Self::Refused, Self::Ended, Self::Expired].into_iter().find(|k| k.as_str() == s)
    }
}

/// One break-glass access, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreakGlass {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub operator_id: Uuid,
    /// The operator's email at the time.
    pub operator: String,
    pub reason: String,
    pub minutes: u32,
    pub requested_at: Timestamp,
    /// Whether the tenant's policy asked for an administrator's approval.
    pub approval_required: bool,
    /// The status as last written; [`BreakGlass::status_at`] applies the clock to it.
    pub status: BreakGlassStatus,
    /// Who approved or refused, and when.
    pub decided_by: Option<String>,
    pub decided_at: Option<Timestamp>,
    pub starts_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
    /// When it ended or lapsed, and who ended it (`expiry` when its time ran out).
    pub ended_at: Option<Timestamp>,
    pub ended_by: Option<String>,
}

impl BreakGlass {
    /// The status at `now`: an active access past its end has ended, a request past its
    /// approval window has lapsed, whether or not that was written yet.
    pub fn status_at(&self, now: Timestamp) -> BreakGlassStatus {
        match self.status {
            BreakGlassStatus::Active if self.ends_at.is_none_or(|end| now >= end) => BreakGlassStatus::Ended,
            BreakGlassStatus::Pending if now >= self.approval_deadline() => BreakGlassStatus::Expired,
            s => s,
        }
    }
    /// Until when a request may be approved.
    pub fn approval_deadline(&self) -> Timestamp {
        self.requested_at.saturating_add(SignedDuration::from_hours(APPROVAL_HOURS)).unwrap_or(self.requested_at)
    }
    /// When an access that starts at `start` ends.
    pub fn end_from(&self, start: Timestamp) -> Timestamp {
        start.saturating_add(SignedDuration::from_mins(i64::from(self.minutes))).unwrap_or(start)
    }
}

/// What an operator asks for, checked: a reason and a duration within bounds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreakGlassRequest {
    pub reason: String,
    pub minutes: u32,
}

impl BreakGlassRequest {
    /// Checks a reason (trimmed, 10 to 500 characters, no control characters) and a duration
    /// (5 to 240 minutes); every problem is named with its field.
    pub fn parse(reason: &str, minutes: i64) -> Result<Self, Vec<FieldError>> {
        let reason = reason.trim();
        let mut errors = Vec::new();
        let count = reason.chars().count();
        if reason.is_empty() {
            errors.push(FieldError::new("reason", FieldErrorKind::Required));
        } else if count < REASON_MIN {
            errors.push(FieldError::new("reason", FieldErrorKind::TooShort { min: REASON_MIN as u32 }));
        } else if count > REASON_MAX {
            errors.push(FieldError::new("reason", FieldErrorKind::TooLong { max: REASON_MAX as u32 }));
        } else if reason.chars().any(|c| (c.is_control() && c != '\n') || is_invisible_control(c)) {
            errors.push(FieldError::new(
                "reason",
                FieldErrorKind::Invalid { reason: "control characters are not allowed".into() },
            ));
        }
        if minutes < i64::from(MIN_MINUTES) {
            errors.push(FieldError::new("minutes", FieldErrorKind::BelowMinimum { min: f64::from(MIN_MINUTES) }));
        } else if minutes > i64::from(MAX_MINUTES) {
            errors.push(FieldError::new("minutes", FieldErrorKind::AboveMaximum { max: f64::from(MAX_MINUTES) }));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let minutes = u32::try_from(minutes).map_err(|_| Vec::new())?;
        Ok(Self { reason: reason.to_owned(), minutes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(status: BreakGlassStatus) -> BreakGlass {
        let t0: Timestamp = "2026-12-01T00:00:00Z".parse().unwrap();
        BreakGlass {
            id: Uuid::nil(),
            tenant_id: TenantId::from_uuid(Uuid::nil()),
            operator_id: Uuid::nil(),
            operator: "ops@kura.example.jp".into(),
            reason: "a customer cannot find their record".into(),
            minutes: 60,
            requested_at: t0,
            approval_required: status == BreakGlassStatus::Pending,
            status,
            decided_by: None,
            decided_at: None,
            starts_at: Some(t0),
            ends_at: Some(t0 + SignedDuration::from_mins(60)),
            ended_at: None,
            ended_by: None,
        }
    }

    #[test]
    fn iam_13_access_ends_and_requests_lapse_by_the_clock() {
        let g = grant(BreakGlassStatus::Active);
        let t0 = g.requested_at;
        assert_eq!(g.status_at(t0 + SignedDuration::from_mins(59)), BreakGlassStatus::Active);
        assert_eq!(g.status_at(t0 + SignedDuration::from_mins(60)), BreakGlassStatus::Ended);
        let p = grant(BreakGlassStatus::Pending);
        assert_eq!(p.status_at(t0 + SignedDuration::from_hours(23)), BreakGlassStatus::Pending);
        assert_eq!(p.status_at(t0 + SignedDuration::from_hours(24)), BreakGlassStatus::Expired);
    }

    #[test]
    fn iam_13_requests_need_a_reason_and_at_most_four_hours() {
        assert!(BreakGlassRequest::parse("顧客から表示不具合の問い合わせ（#1234）", 240).is_ok());
        let fields = |r: Result<BreakGlassRequest, Vec<FieldError>>| {
            r.unwrap_err().into_iter().map(|e| e.field).collect::<Vec<_>>()
        };
        assert_eq!(fields(BreakGlassRequest::parse("  ", 60)), ["reason"]);
        assert_eq!(fields(BreakGlassRequest::parse("short", 60)), ["reason"]);
        assert_eq!(fields(BreakGlassRequest::parse("a good reason here", 241)), ["minutes"]);
        assert_eq!(fields(BreakGlassRequest::parse("", 0)), ["reason", "minutes"]);
        assert_eq!(fields(BreakGlassRequest::parse("a good reason\u{202E} here", 60)), ["reason"]);
        assert!(!support_permissions().contains(Permission::PiiRead));
        assert!(!support_permissions().contains(Permission::RecordsWrite));
    }
}
