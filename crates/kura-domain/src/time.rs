//! Time is injected: code that needs "now" receives a [`Clock`]. Tests use [`ManualClock`] and
//! move time forward instead of sleeping.

use crate::error::DomainError;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Mutex;

/// The source of the current time.
pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> Timestamp;
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct ManualClock(Mutex<Timestamp>);

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        Self(Mutex::new(start))
    }
    pub fn set(&self, to: Timestamp) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = to;
    }
    pub fn advance(&self, by: jiff::SignedDuration) {
        let mut now = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *now = now.saturating_add(by).unwrap_or(*now);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// An IANA time-zone name known to the bundled database, such as `Asia/Tokyo`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZoneName(String);

impl TimeZoneName {
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let s = input.trim();
        TimeZone::get(s)
            .map(|_| Self(s.to_owned()))
            .map_err(|_| DomainError::invalid("time zone", format!("{s:?} is not a known IANA time zone")))
    }
    pub fn tokyo() -> Self {
        Self("Asia/Tokyo".to_owned())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn zone(&self) -> TimeZone {
        // Parsing proved the name is in the bundled database.
        TimeZone::get(&self.0).unwrap_or(TimeZone::UTC)
    }
}

impl Default for TimeZoneName {
    fn default() -> Self {
        Self::tokyo()
    }
}

impl TryFrom<String> for TimeZoneName {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}
impl From<TimeZoneName> for String {
    fn from(value: TimeZoneName) -> String {
        value.0
    }
}
impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TimeZoneName({})", self.0)
    }
}

/// Formats an instant in a zone as `2026-11-22 11:07:28 JST` (LOG-4: stored in UTC, shown in the
/// tenant's zone).
pub fn format_in_zone(ts: Timestamp, zone: &TimeZoneName) -> String {
    ts.to_zoned(zone.zone()).strftime("%Y-%m-%d %H:%M:%S %Z").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_4_times_are_shown_in_the_tenant_zone() {
        let ts: Timestamp = "2026-11-22T02:07:28Z".parse().unwrap();
        assert_eq!(format_in_zone(ts, &TimeZoneName::tokyo()), "2026-11-22 11:07:28 JST");
        let utc = TimeZoneName::parse("UTC").unwrap();
        assert_eq!(format_in_zone(ts, &utc), "2026-11-22 02:07:28 UTC");
    }

    #[test]
    fn unknown_zone_is_refused() {
        assert!(TimeZoneName::parse("Mars/Olympus").is_err());
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(Timestamp::UNIX_EPOCH);
        clock.advance(jiff::SignedDuration::from_hours(3));
        assert_eq!(clock.now().as_second(), 3 * 3600);
    }
}
