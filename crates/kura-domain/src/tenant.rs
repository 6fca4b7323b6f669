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
    pub created_at: Timestamp,
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
