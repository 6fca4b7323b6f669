//! The store's time: the injected clock's reading at the precision stored.

use jiff::Timestamp;
use kura_domain::Clock;

/// `clock.now()` truncated to microseconds, the stored precision, so that what a write returns
/// equals what a later read returns.
pub(crate) fn now(clock: &dyn Clock) -> Timestamp {
    micros_precision(clock.now())
}

pub(crate) fn micros_precision(ts: Timestamp) -> Timestamp {
    Timestamp::from_microsecond(ts.as_microsecond()).unwrap_or(ts)
}
