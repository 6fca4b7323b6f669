//! Tenants: the operator's contracting customers.

use crate::ids::TenantId;
use crate::names::{DisplayName, Slug};
use crate::time::TimeZoneName;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// A tenant as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: Slug,
    pub display_name: DisplayName,
    pub time_zone: TimeZoneName,
    pub contract_start: Option<Date>,
    pub contract_end: Option<Date>,
    pub status: TenantStatus,
    pub created_at: Timestamp,
}

/// Whether the operator lets a tenant use the service (TEN-1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantStatus {
    Active,
    /// Suspended by the operator: nobody of the tenant can sign in or use the API until it is
    /// resumed. Its data is kept.
    Suspended,
}

impl TenantStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Active, Self::Suspended].into_iter().find(|t| t.as_str() == s)
    }
}

/// Why a tenant's people cannot use the service on a given day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TenantBlock {
    Suspended,
    /// The contract starts on this day.
    NotStarted(Date),
    /// The contract ended on this day (its last day of use): the tenant is read-only (TEN-4).
    Ended(Date),
}

impl TenantBlock {
    /// The explanation given to the API and, in their language, to the consoles.
    pub fn message(self) -> String {
        match self {
            Self::Suspended => "this tenant is suspended".to_owned(),
            Self::NotStarted(d) => format!("this tenant's contract starts on {d}"),
            Self::Ended(d) => {
                format!("this tenant's contract ended on {d}; its data can be read and exported, not changed")
            }
        }
    }
}

impl Tenant {
    /// Whether the tenant's people may sign in and read on `today` (a date in the tenant's own
    /// time zone): it is active and its contract has started. After the contract's end they still
    /// may, to read and export their data until it is deleted (TEN-4); see
    /// [`Tenant::writable_on`].
    pub fn access_on(&self, today: Date) -> Result<(), TenantBlock> {
        if self.status == TenantStatus::Suspended {
            return Err(TenantBlock::Suspended);
        }
        match self.contract_start {
            Some(start) if today < start => Err(TenantBlock::NotStarted(start)),
            _ => Ok(()),
        }
    }

    /// Whether the tenant's data may be changed on `today`: not after its contract's last day,
    /// when it is read-only (TEN-4).
    pub fn writable_on(&self, today: Date) -> Result<(), TenantBlock> {
        match self.contract_end {
            Some(end) if today > end => Err(TenantBlock::Ended(end)),
            _ => Ok(()),
        }
    }

    /// The tenant's date at `now`, in its own time zone.
    pub fn today(&self, now: Timestamp) -> Date {
        now.to_zoned(self.time_zone.zone()).date()
    }
}

/// What the operator supplies to create a tenant.
#[derive(Clone, Debug)]
pub struct TenantSpec {
    pub slug: Slug,
    pub display_name: DisplayName,
    pub time_zone: TimeZoneName,
    pub contract_start: Option<Date>,
    pub contract_end: Option<Date>,
}

impl TenantSpec {
    /// Refuses a contract that ends before it starts.
    pub fn check(&self) -> Result<(), crate::DomainError> {
        if let (Some(start), Some(end)) = (self.contract_start, self.contract_end)
            && end < start
        {
            return Err(crate::DomainError::Invalid {
                what: "contract",
                reason: "the contract end is before its start".into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::TenantId;
    use jiff::civil::date;

    fn tenant(start: Option<Date>, end: Option<Date>, status: TenantStatus) -> Tenant {
        Tenant {
            id: TenantId::from_uuid(uuid::Uuid::nil()),
            slug: Slug::parse("acme").unwrap(),
            display_name: DisplayName::parse("Acme").unwrap(),
            time_zone: TimeZoneName::tokyo(),
            contract_start: start,
            contract_end: end,
            status,
            created_at: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn ten_1_a_tenant_is_usable_only_within_its_contract_and_while_active() {
        let t = tenant(Some(date(2026, 12, 1)), Some(date(2027, 3, 31)), TenantStatus::Active);
        assert_eq!(t.access_on(date(2026, 11, 30)), Err(TenantBlock::NotStarted(date(2026, 12, 1))));
        assert_eq!(t.access_on(date(2026, 12, 1)), Ok(()));
        assert_eq!(t.access_on(date(2027, 3, 31)), Ok(()), "the last day is included");
        assert_eq!(t.writable_on(date(2027, 3, 31)), Ok(()), "the last day is included");
        // After the end: still readable (TEN-4), no longer writable.
        assert_eq!(t.access_on(date(2027, 4, 1)), Ok(()));
        assert_eq!(t.writable_on(date(2027, 4, 1)), Err(TenantBlock::Ended(date(2027, 3, 31))));
        let open = tenant(None, None, TenantStatus::Active);
        assert_eq!(open.access_on(date(1999, 1, 1)), Ok(()));
        let suspended = tenant(None, None, TenantStatus::Suspended);
        assert_eq!(suspended.access_on(date(2026, 12, 1)), Err(TenantBlock::Suspended));
        assert_eq!(TenantBlock::NotStarted(date(2026, 12, 1)).message(), "this tenant's contract starts on 2026-12-01");
    }

    #[test]
    fn ten_1_the_day_is_the_tenants_own() {
        let t = tenant(None, None, TenantStatus::Active);
        // 15:30 UTC on 30 November is already 1 December in Tokyo.
        let now: Timestamp = "2026-11-30T15:30:00Z".parse().unwrap();
        assert_eq!(t.today(now), date(2026, 12, 1));
    }
}
