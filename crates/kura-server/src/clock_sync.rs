//! Whether the system clock is synchronised (LOG-4), as the kernel's NTP state says: the
//! `adjtimex(2)` query that `timedatectl` and `chronyc` read too, through `rtime-clock`'s safe
//! wrapper (Kura writes no `unsafe` of its own). `/readyz` reports it and the operator console
//! warns when it is not; it never makes Kura unready, since a clock drifting for a while is a
//! reason to alert, not to stop serving.

use serde::Serialize;

/// What the kernel says of the system clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockSync {
    /// An NTP (or PTP) daemon keeps the clock disciplined and its error bound is small.
    Synchronised,
    /// Nothing disciplines the clock, or its error bound has grown too large.
    Unsynchronised,
    /// The kernel could not be asked (another operating system, or the call failed).
    Unknown,
}

/// `adjtimex` returns this clock state when the clock is not synchronised.
const TIME_ERROR: i32 = 5;
/// The status bit the kernel sets while no daemon has synchronised the clock.
const STA_UNSYNC: i32 = 0x0040;
/// The largest maximum error still counted as synchronised, in microseconds: 16 s, the bound the
/// kernel itself gives up at and the one systemd's `NTPSynchronized` uses.
const MAX_ERROR_US: i64 = 16_000_000;

/// The judgement from what `adjtimex` returned: its clock state, the status bits and the
/// maximum error (microseconds).
pub fn judge(state: i32, status: i32, max_error_us: i64) -> ClockSync {
    if state == TIME_ERROR || status & STA_UNSYNC != 0 || max_error_us >= MAX_ERROR_US {
        ClockSync::Unsynchronised
    } else {
        ClockSync::Synchronised
    }
}

/// Asks the kernel now (a read-only query: the request's `modes` is zero).
#[cfg(target_os = "linux")]
#[allow(clippy::useless_conversion, reason = "the kernel's `long` is 32 bits on some targets")]
pub fn read() -> ClockSync {
    let mut tx = rtime_clock::adjtime::Timex::new();
    match rtime_clock::adjtime::adjtimex(&mut tx) {
        Ok(state) => judge(state, tx.0.status, i64::from(tx.0.maxerror)),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the kernel's clock state (adjtimex)");
            ClockSync::Unknown
        }
    }
}

/// Asks the kernel now: not on this operating system.
#[cfg(not(target_os = "linux"))]
pub fn read() -> ClockSync {
    ClockSync::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_4_the_clock_is_synchronised_only_when_the_kernel_says_so_and_the_error_is_small() {
        // TIME_OK with the PLL on and a small error bound: what a running chrony or timesyncd gives.
        assert_eq!(judge(0, 0x0001, 250_000), ClockSync::Synchronised);
        // A leap second pending (TIME_INS) is still synchronised.
        assert_eq!(judge(1, 0x0011, 250_000), ClockSync::Synchronised);
        // No daemon: the kernel's "unsynchronised" bit, or its error state.
        assert_eq!(judge(0, STA_UNSYNC, 250_000), ClockSync::Unsynchronised);
        assert_eq!(judge(TIME_ERROR, 0, 250_000), ClockSync::Unsynchronised);
        // A daemon that stopped: the error bound grew past 16 s.
        assert_eq!(judge(0, 0x0001, MAX_ERROR_US), ClockSync::Unsynchronised);
        assert_eq!(judge(0, 0x0001, MAX_ERROR_US - 1), ClockSync::Synchronised);
    }
}
