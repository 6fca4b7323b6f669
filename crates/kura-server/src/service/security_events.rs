//! Security events per day (LOG-1): the operations of the log that tell of attacks or of
//! changes to how people prove who they are, counted for each of the last days in the log's
//! time zone, for the chart on the log pages.

use crate::error::AppResult;
use crate::state::AppState;
use jiff::civil::Date;
use jiff::{ToSpan as _, tz::TimeZone};
use kura_domain::{AuditScope, Operation};

/// How many days the chart shows, today included.
pub const DAYS: usize = 30;

/// The kinds of security event, each a series of the chart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A wrong password or second factor.
    SignInFailed,
    /// An account locked, or sign-ins slowed down, after repeated failures.
    Lockout,
    /// A request refused: no permission, a forged form, a refused address or certificate, a
    /// sealed value that did not open.
    Refused,
    /// A second factor added, removed or reset, or a recovery code used.
    SecondFactor,
    /// An operator's emergency access to the tenant asked for, started or used.
    BreakGlass,
}

impl Kind {
    pub const ALL: [Kind; 5] = [Self::SignInFailed, Self::Lockout, Self::Refused, Self::SecondFactor, Self::BreakGlass];

    /// The operations of this kind.
    pub const fn operations(self) -> &'static [Operation] {
        match self {
            Self::SignInFailed => {
                &[Operation::UserLoginFailed, Operation::OperatorLoginFailed, Operation::SecondFactorFailed]
            }
            Self::Lockout => &[Operation::UserLock, Operation::LoginThrottled],
            Self::Refused => &[
                Operation::AccessDenied,
                Operation::CsrfRefused,
                Operation::AddressRefused,
                Operation::ClientCertRefused,
                Operation::CryptoOpenRefused,
            ],
            Self::SecondFactor => &[
                Operation::SecondFactorEnrol,
                Operation::SecondFactorRemove,
                Operation::SecondFactorReset,
                Operation::RecoveryCodeUse,
            ],
            Self::BreakGlass => {
                &[Operation::BreakGlassRequest, Operation::BreakGlassStart, Operation::BreakGlassAccess]
            }
        }
    }

    pub fn of(op: Operation) -> Option<Kind> {
        Self::ALL.into_iter().find(|k| k.operations().contains(&op))
    }

    /// A stable name (CSS class, table column).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SignInFailed => "signin-failed",
            Self::Lockout => "lockout",
            Self::Refused => "refused",
            Self::SecondFactor => "second-factor",
            Self::BreakGlass => "break-glass",
        }
    }
}

/// One day's counts, by kind in the order of [`Kind::ALL`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Day {
    pub date: Date,
    pub counts: [u64; Kind::ALL.len()],
}

impl Day {
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// The security events of `scope`'s log for the [`DAYS`] days up to today in `zone`, oldest
/// first. The caller has checked that its principal may read the log.
pub async fn per_day(state: &AppState, scope: AuditScope, zone: &TimeZone) -> AppResult<Vec<Day>> {
    let today = state.clock.now().to_zoned(zone.clone()).date();
    let first = today.checked_sub(((DAYS - 1) as i64).days()).map_err(crate::error::AppError::internal)?;
    let start = first.to_zoned(zone.clone()).map_err(crate::error::AppError::internal)?.timestamp();
    let end = today.tomorrow().and_then(|d| d.to_zoned(zone.clone())).map_err(crate::error::AppError::internal)?;
    let operations: Vec<Operation> = Kind::ALL.iter().flat_map(|k| k.operations()).copied().collect();
    let counts = state.store.audit_quarter_counts(scope, &operations, start, end.timestamp()).await?;
    let mut days: Vec<Day> = (0..DAYS)
        .filter_map(|i| first.checked_add((i as i64).days()).ok())
        .map(|date| Day { date, counts: [0; Kind::ALL.len()] })
        .collect();
    for c in counts {
        let date = c.start.to_zoned(zone.clone()).date();
        let (Some(kind), Ok(i)) = (Kind::of(c.operation), usize::try_from((date - first).get_days())) else {
            continue;
        };
        if let (Some(day), Some(k)) = (days.get_mut(i), Kind::ALL.iter().position(|x| *x == kind)) {
            day.counts[k] += c.count;
        }
    }
    Ok(days)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_1_each_security_operation_is_of_one_kind_and_a_tenant_or_platform_log_can_hold_it() {
        let mut seen = std::collections::HashSet::new();
        for k in Kind::ALL {
            for op in k.operations() {
                assert!(seen.insert(*op), "{op:?} is of two kinds");
                assert_eq!(Kind::of(*op), Some(k));
            }
        }
        assert_eq!(Kind::of(Operation::RecordCreate), None);
        assert_eq!(Kind::of(Operation::UserLogin), None);
    }
}
