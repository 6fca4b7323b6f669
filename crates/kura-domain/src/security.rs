//! A tenant's security policy: passwords (IAM-4), lockout and throttling (IAM-5), sessions
//! (IAM-9), the addresses the console and the API accept (IAM-10) and whether they require a
//! client certificate of the tenant (IAM-11), one typed document per
//! tenant that is checked as a whole before it is stored.
//!
//! The defaults follow NIST SP 800-63B: at least 8 characters, no composition rules, no forced
//! expiry, common passwords refused. The bounds are wide enough for the seeds' values (length
//! 8–30, expiry 30–365 days, lock after 3–9 failures, 3-hour sessions without concurrent logins).

use crate::error::{DomainError, FieldError, FieldErrorKind};
use serde::{Deserialize, Serialize};
use std::ops::RangeInclusive;

/// The bounds every knob is checked against (also shown on the settings page).
pub mod bounds {
    use std::ops::RangeInclusive;
    pub const MIN_LENGTH: RangeInclusive<u32> = 8..=128;
    pub const MAX_LENGTH: RangeInclusive<u32> = 8..=128;
    pub const EXPIRY_DAYS: RangeInclusive<u32> = 30..=365;
    pub const HISTORY: RangeInclusive<u32> = 0..=24;
    pub const LOCK_THRESHOLD: RangeInclusive<u32> = 3..=100;
    pub const LOCK_MINUTES: RangeInclusive<u32> = 1..=10_080;
    pub const THROTTLE_FAILURES: RangeInclusive<u32> = 5..=1_000;
    pub const THROTTLE_WINDOW_MINUTES: RangeInclusive<u32> = 1..=1_440;
    pub const ABSOLUTE_MINUTES: RangeInclusive<u32> = 5..=10_080;
    pub const IDLE_MINUTES: RangeInclusive<u32> = 5..=10_080;
    /// Most ranges in one address list.
    pub const ADDRESS_RANGES: usize = 100;
    /// Days the access log is kept (LOG-2): a week to ten years.
    pub const ACCESS_LOG_DAYS: RangeInclusive<u32> = 7..=3_650;
}

/// Everything a tenant administrator decides about accounts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SecurityPolicy {
    pub password: PasswordPolicy,
    pub lockout: LockoutPolicy,
    pub sessions: SessionPolicy,
    /// Where requests may come from (IAM-10); absent in policies saved before it existed.
    #[serde(default)]
    pub addresses: AddressPolicy,
    /// Whether a client certificate of the tenant is required (IAM-11); absent in policies saved
    /// before it existed.
    #[serde(default)]
    pub client_certificates: CertificateRequirement,
    /// Who must sign in with a second factor (IAM-6); absent in policies saved before it existed.
    #[serde(default)]
    pub second_factor: SecondFactorRule,
    /// Whether an operator's break-glass access waits for an administrator's approval
    /// (IAM-13); absent in policies saved before it existed.
    #[serde(default)]
    pub break_glass_approval: bool,
    /// How long the tenant's access log is kept (LOG-2); absent in policies saved before it
    /// existed.
    #[serde(default)]
    pub access_log: AccessLogPolicy,
}

/// How long a tenant's access log is kept (LOG-2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"retention_days": 365})))]
#[serde(deny_unknown_fields)]
pub struct AccessLogPolicy {
    /// Days entries are kept, 7 to 3650; `null`: the operator's default (90 days unless the
    /// operator set another).
    pub retention_days: Option<u32>,
}

/// Which of a tenant's doors require a valid client certificate that Kura issued to the tenant
/// (IAM-11). The certificate is asked for in the TLS handshake, so this needs Kura to terminate
/// TLS itself: behind a proxy, or on plain HTTP, no certificate ever arrives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"console": true, "api": false})))]
#[serde(deny_unknown_fields)]
pub struct CertificateRequirement {
    /// The console (and console sign-in) requires one.
    pub console: bool,
    /// The API (sign-in, sessions and API keys) requires one.
    pub api: bool,
}

impl CertificateRequirement {
    pub fn requires(self, surface: Surface) -> bool {
        match surface {
            Surface::Console => self.console,
            Surface::Api => self.api,
        }
    }
}

/// Who must sign in with a second factor (IAM-6). Whoever must and has none is led through
/// enrolling one at their next sign-in, before anything else.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SecondFactorRule {
    /// Each user decides; whoever has a factor is asked for it.
    #[default]
    Optional,
    /// Required of administrators: users whose role may manage users, roles, security
    /// settings or API keys.
    Administrators,
    /// Required of every user.
    Everyone,
}

impl SecondFactorRule {
    pub const ALL: [Self; 3] = [Self::Optional, Self::Administrators, Self::Everyone];
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Optional => "optional",
            Self::Administrators => "administrators",
            Self::Everyone => "everyone",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
    /// Whether a user whose role holds `permissions` must have a second factor.
    pub fn requires(self, permissions: &crate::PermissionSet) -> bool {
        use crate::Permission::{ApiKeysManage, RolesManage, SettingsManage, UsersManage};
        match self {
            Self::Optional => false,
            Self::Administrators => {
                [UsersManage, RolesManage, SettingsManage, ApiKeysManage].into_iter().any(|p| permissions.contains(p))
            }
            Self::Everyone => true,
        }
    }
}

/// The address ranges a tenant's console and API accept requests from (IAM-10). An empty list
/// accepts every address.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"console": ["203.0.113.0/24", "2001:db8::/32"], "api": []})))]
#[serde(deny_unknown_fields)]
pub struct AddressPolicy {
    /// IPv4 and IPv6 ranges in CIDR notation (`203.0.113.0/24`, `2001:db8::/32`; a single
    /// address is `/32` or `/128`) the console accepts, at most 100; empty: any address.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>, example = json!(["203.0.113.0/24"])))]
    pub console: Vec<ipnet::IpNet>,
    /// The ranges the API accepts (sign-in, sessions and API keys), at most 100; empty: any.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>, example = json!([])))]
    pub api: Vec<ipnet::IpNet>,
}

/// Which of a tenant's doors a request comes through (each has its own address list).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Surface {
    Console,
    Api,
}

impl Surface {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Console => "console",
            Self::Api => "API",
        }
    }
}

impl AddressPolicy {
    /// The list of `surface`.
    pub fn list(&self, surface: Surface) -> &[ipnet::IpNet] {
        match surface {
            Surface::Console => &self.console,
            Surface::Api => &self.api,
        }
    }

    /// Whether `surface` accepts a request from `ip` (an IPv4-mapped IPv6 address counts as the
    /// IPv4 address it carries).
    pub fn allows(&self, surface: Surface, ip: std::net::IpAddr) -> bool {
        allows(self.list(surface), ip)
    }
}

/// Whether `ip` is in one of `nets`; an empty list allows every address.
pub fn allows(nets: &[ipnet::IpNet], ip: std::net::IpAddr) -> bool {
    let ip = ip.to_canonical();
    nets.is_empty() || nets.iter().any(|n| n.contains(&ip))
}

/// Checks one address list: at most [`bounds::ADDRESS_RANGES`] ranges, no repeats, and IPv4
/// ranges written as IPv4 (an IPv4-mapped IPv6 range would never match: clients' addresses are
/// compared in their IPv4 form).
pub fn check_ranges(errors: &mut Vec<FieldError>, path: &str, nets: &[ipnet::IpNet]) {
    if nets.len() > bounds::ADDRESS_RANGES {
        errors.push(FieldError::new(path, FieldErrorKind::TooLong { max: bounds::ADDRESS_RANGES as u32 }));
    }
    for (i, net) in nets.iter().enumerate() {
        let at = format!("{path}[{i}]");
        if let ipnet::IpNet::V6(v6) = net
            && v6.addr().to_ipv4_mapped().is_some()
        {
            errors.push(FieldError::new(
                at,
                FieldErrorKind::Invalid { reason: "write IPv4 ranges in IPv4 form, such as 192.0.2.0/24".into() },
            ));
        } else if nets[..i].contains(net) {
            errors.push(FieldError::new(at, FieldErrorKind::Duplicate));
        }
    }
}

/// Parses a range as an administrator types it: CIDR notation, or a single address (as `/32` or
/// `/128`).
pub fn parse_range(text: &str) -> Option<ipnet::IpNet> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>().ok().or_else(|| text.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
}

/// What a new password must be (IAM-4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"min_length": 8, "max_length": 128, "require_lowercase": false,
    "require_uppercase": false, "require_digit": false, "require_symbol": false, "expiry_days": null, "history": 0,
    "blocklist": true, "change_after_admin_set": false})))]
#[serde(deny_unknown_fields)]
pub struct PasswordPolicy {
    /// Fewest characters (8–128). NIST SP 800-63B: at least 8; 15 where the password is the
    /// only factor.
    #[cfg_attr(feature = "openapi", schema(minimum = 8, maximum = 128, example = 8))]
    pub min_length: u32,
    /// Most characters (the minimum to 128). NIST advises allowing at least 64.
    #[cfg_attr(feature = "openapi", schema(minimum = 8, maximum = 128, example = 128))]
    pub max_length: u32,
    /// Require a lower-case letter (a composition rule; NIST advises against them).
    pub require_lowercase: bool,
    /// Require an upper-case letter.
    pub require_uppercase: bool,
    /// Require a digit.
    pub require_digit: bool,
    /// Require a symbol (anything that is neither a letter, a digit nor a space).
    pub require_symbol: bool,
    /// Days after which a password must be changed (30–365); `null`: never (NIST's advice).
    /// Users are warned by mail 14 and 3 days before.
    #[cfg_attr(feature = "openapi", schema(minimum = 30, maximum = 365, example = json!(null)))]
    pub expiry_days: Option<u32>,
    /// How many previous passwords cannot be used again (0–24; 0: no history).
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 24, example = 0))]
    pub history: u32,
    /// Refuse common and easily guessed passwords, and passwords that contain the tenant's or
    /// the user's own names.
    pub blocklist: bool,
    /// A password set by an administrator (initial or reset) must be changed at the next sign-in.
    pub change_after_admin_set: bool,
}

/// When repeated failures lock an account or slow an address down (IAM-5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"enabled": true, "threshold": 10, "lock_minutes": 30,
    "throttle_failures": 30, "throttle_window_minutes": 15})))]
#[serde(deny_unknown_fields)]
pub struct LockoutPolicy {
    /// Lock accounts after `threshold` consecutive failed sign-ins.
    pub enabled: bool,
    /// Consecutive failures that lock an account (3–100).
    #[cfg_attr(feature = "openapi", schema(minimum = 3, maximum = 100, example = 10))]
    pub threshold: u32,
    /// Minutes an account stays locked (1–10080); `null`: until an administrator unlocks it.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 10080, example = 30))]
    pub lock_minutes: Option<u32>,
    /// Failed sign-ins from one address, across all accounts, after which that address is
    /// refused for the rest of the window (5–1000): a defence against password spraying.
    #[cfg_attr(feature = "openapi", schema(minimum = 5, maximum = 1000, example = 30))]
    pub throttle_failures: u32,
    /// The throttling window in minutes (1–1440).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1440, example = 15))]
    pub throttle_window_minutes: u32,
}

/// Whether one account may be signed in more than once at a time (IAM-9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConcurrentLogins {
    /// Any number of sessions.
    Allow,
    /// A new sign-in ends the account's other sessions.
    Replace,
    /// A sign-in is refused while the account has a live session elsewhere.
    Refuse,
}

impl ConcurrentLogins {
    pub const ALL: [Self; 3] = [Self::Allow, Self::Replace, Self::Refuse];
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Replace => "replace",
            Self::Refuse => "refuse",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// How long sessions live (IAM-9).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"absolute_minutes": 180, "idle_minutes": 60,
    "concurrent": "allow"})))]
#[serde(deny_unknown_fields)]
pub struct SessionPolicy {
    /// A session ends this many minutes after sign-in, however active (5–10080; 180 = 3 hours).
    #[cfg_attr(feature = "openapi", schema(minimum = 5, maximum = 10080, example = 180))]
    pub absolute_minutes: u32,
    /// A session ends after this many minutes without a request (5 to the absolute timeout).
    #[cfg_attr(feature = "openapi", schema(minimum = 5, maximum = 10080, example = 60))]
    pub idle_minutes: u32,
    /// `allow`, `replace` (a new sign-in ends the others) or `refuse` (no second sign-in).
    pub concurrent: ConcurrentLogins,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 8,
            max_length: 128,
            require_lowercase: false,
            require_uppercase: false,
            require_digit: false,
            require_symbol: false,
            expiry_days: None,
            history: 0,
            blocklist: true,
            change_after_admin_set: false,
        }
    }
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            enabled: true,
            threshold: 10,
            lock_minutes: Some(30),
            throttle_failures: 30,
            throttle_window_minutes: 15,
        }
    }
}

impl SecurityPolicy {
    /// The NIST-aligned defaults, with the given session timeouts (the process settings).
    pub fn defaults(absolute_minutes: u32, idle_minutes: u32) -> Self {
        Self {
            password: PasswordPolicy::default(),
            lockout: LockoutPolicy::default(),
            sessions: SessionPolicy { absolute_minutes, idle_minutes, concurrent: ConcurrentLogins::Allow },
            addresses: AddressPolicy::default(),
            client_certificates: CertificateRequirement::default(),
            second_factor: SecondFactorRule::Optional,
            break_glass_approval: false,
            access_log: AccessLogPolicy::default(),
        }
    }

    /// Checks every knob against its bounds and the knobs against each other; all problems at
    /// once, each named by its path (`password.min_length`).
    pub fn check(&self) -> Result<(), DomainError> {
        let mut errors = Vec::new();
        let p = &self.password;
        within(&mut errors, "password.min_length", p.min_length, bounds::MIN_LENGTH);
        within(&mut errors, "password.max_length", p.max_length, bounds::MAX_LENGTH);
        if p.max_length < p.min_length {
            errors.push(FieldError::new(
                "password.max_length",
                FieldErrorKind::BelowMinimum { min: f64::from(p.min_length) },
            ));
        }
        if let Some(days) = p.expiry_days {
            within(&mut errors, "password.expiry_days", days, bounds::EXPIRY_DAYS);
        }
        within(&mut errors, "password.history", p.history, bounds::HISTORY);
        let l = &self.lockout;
        within(&mut errors, "lockout.threshold", l.threshold, bounds::LOCK_THRESHOLD);
        if let Some(minutes) = l.lock_minutes {
            within(&mut errors, "lockout.lock_minutes", minutes, bounds::LOCK_MINUTES);
        }
        within(&mut errors, "lockout.throttle_failures", l.throttle_failures, bounds::THROTTLE_FAILURES);
        within(
            &mut errors,
            "lockout.throttle_window_minutes",
            l.throttle_window_minutes,
            bounds::THROTTLE_WINDOW_MINUTES,
        );
        let s = &self.sessions;
        within(&mut errors, "sessions.absolute_minutes", s.absolute_minutes, bounds::ABSOLUTE_MINUTES);
        within(&mut errors, "sessions.idle_minutes", s.idle_minutes, bounds::IDLE_MINUTES);
        if s.idle_minutes > s.absolute_minutes {
            errors.push(FieldError::new(
                "sessions.idle_minutes",
                FieldErrorKind::AboveMaximum { max: f64::from(s.absolute_minutes) },
            ));
        }
        check_ranges(&mut errors, "addresses.console", &self.addresses.console);
        check_ranges(&mut errors, "addresses.api", &self.addresses.api);
        if let Some(days) = self.access_log.retention_days {
            within(&mut errors, "access_log.retention_days", days, bounds::ACCESS_LOG_DAYS);
        }
        if errors.is_empty() { Ok(()) } else { Err(DomainError::Fields(errors)) }
    }

    /// What changed from `old` to `self`, as `path: old → new` lines for the audit entry (the
    /// policy holds no secrets).
    pub fn changes_from(&self, old: &SecurityPolicy) -> Vec<String> {
        let flat_old = old.flatten();
        self.flatten()
            .into_iter()
            .zip(flat_old)
            .filter(|((_, new), (_, was))| new != was)
            .map(|((path, new), (_, was))| format!("{path}: {was} → {new}"))
            .collect()
    }

    /// Every knob as (path, value), in a fixed order.
    fn flatten(&self) -> Vec<(&'static str, String)> {
        let opt = |v: Option<u32>| v.map_or_else(|| "none".to_owned(), |n| n.to_string());
        let p = &self.password;
        let l = &self.lockout;
        let s = &self.sessions;
        let nets = |v: &[ipnet::IpNet]| {
            if v.is_empty() {
                "any".to_owned()
            } else {
                v.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            }
        };
        vec![
            ("password.min_length", p.min_length.to_string()),
            ("password.max_length", p.max_length.to_string()),
            ("password.require_lowercase", p.require_lowercase.to_string()),
            ("password.require_uppercase", p.require_uppercase.to_string()),
            ("password.require_digit", p.require_digit.to_string()),
            ("password.require_symbol", p.require_symbol.to_string()),
            ("password.expiry_days", opt(p.expiry_days)),
            ("password.history", p.history.to_string()),
            ("password.blocklist", p.blocklist.to_string()),
            ("password.change_after_admin_set", p.change_after_admin_set.to_string()),
            ("lockout.enabled", l.enabled.to_string()),
            ("lockout.threshold", l.threshold.to_string()),
            ("lockout.lock_minutes", opt(l.lock_minutes)),
            ("lockout.throttle_failures", l.throttle_failures.to_string()),
            ("lockout.throttle_window_minutes", l.throttle_window_minutes.to_string()),
            ("sessions.absolute_minutes", s.absolute_minutes.to_string()),
            ("sessions.idle_minutes", s.idle_minutes.to_string()),
            ("sessions.concurrent", s.concurrent.as_str().to_owned()),
            ("addresses.console", nets(&self.addresses.console)),
            ("addresses.api", nets(&self.addresses.api)),
            ("client_certificates.console", self.client_certificates.console.to_string()),
            ("client_certificates.api", self.client_certificates.api.to_string()),
            ("second_factor", self.second_factor.as_str().to_owned()),
            ("break_glass_approval", self.break_glass_approval.to_string()),
            (
                "access_log.retention_days",
                self.access_log.retention_days.map_or_else(|| "default".to_owned(), |d| d.to_string()),
            ),
        ]
    }

    /// The knobs set against NIST SP 800-63B's advice, by path (the settings page warns beside
    /// each).
    pub fn against_nist(&self) -> Vec<&'static str> {
        let p = &self.password;
        let mut out = Vec::new();
        if p.max_length < 64 {
            out.push("password.max_length");
        }
        if p.require_lowercase || p.require_uppercase || p.require_digit || p.require_symbol {
            out.push("password.composition");
        }
        if p.expiry_days.is_some() {
            out.push("password.expiry_days");
        }
        if !p.blocklist {
            out.push("password.blocklist");
        }
        if !self.lockout.enabled {
            out.push("lockout.enabled");
        }
        out
    }
}

fn within(errors: &mut Vec<FieldError>, path: &str, value: u32, range: RangeInclusive<u32>) {
    if value < *range.start() {
        errors.push(FieldError::new(path, FieldErrorKind::BelowMinimum { min: f64::from(*range.start()) }));
    } else if value > *range.end() {
        errors.push(FieldError::new(path, FieldErrorKind::AboveMaximum { max: f64::from(*range.end()) }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> SecurityPolicy {
        SecurityPolicy::defaults(180, 60)
    }

    fn paths(p: &SecurityPolicy) -> Vec<String> {
        match p.check() {
            Ok(()) => Vec::new(),
            Err(DomainError::Fields(errors)) => errors.into_iter().map(|e| e.field).collect(),
            Err(other) => panic!("{other}"),
        }
    }

    #[test]
    fn iam_4_defaults_follow_nist() {
        let p = policy();
        assert!(p.check().is_ok());
        assert_eq!(p.password.min_length, 8);
        assert!(p.password.blocklist && p.password.expiry_days.is_none());
        assert!(p.against_nist().is_empty());
    }

    #[test]
    fn iam_4_iam_5_iam_9_every_knob_accepted_at_its_bounds_and_refused_outside() {
        type Set = fn(&mut SecurityPolicy, u32);
        let knobs: [(&str, RangeInclusive<u32>, Set); 9] = [
            ("password.min_length", bounds::MIN_LENGTH, |p, v| {
                p.password.min_length = v;
                p.password.max_length = 128;
            }),
            ("password.max_length", bounds::MAX_LENGTH, |p, v| p.password.max_length = v),
            ("password.expiry_days", bounds::EXPIRY_DAYS, |p, v| p.password.expiry_days = Some(v)),
            ("password.history", bounds::HISTORY, |p, v| p.password.history = v),
            ("lockout.threshold", bounds::LOCK_THRESHOLD, |p, v| p.lockout.threshold = v),
            ("lockout.lock_minutes", bounds::LOCK_MINUTES, |p, v| p.lockout.lock_minutes = Some(v)),
            ("lockout.throttle_failures", bounds::THROTTLE_FAILURES, |p, v| p.lockout.throttle_failures = v),
            ("lockout.throttle_window_minutes", bounds::THROTTLE_WINDOW_MINUTES, |p, v| {
                p.lockout.throttle_window_minutes = v;
            }),
            ("sessions.absolute_minutes", bounds::ABSOLUTE_MINUTES, |p, v| {
                p.sessions.absolute_minutes = v;
                p.sessions.idle_minutes = 5;
            }),
        ];
        for (path, range, set) in knobs {
            for ok in [*range.start(), *range.end()] {
                let mut p = policy();
                set(&mut p, ok);
                if path == "password.max_length" {
                    p.password.min_length = ok;
                }
                assert!(paths(&p).is_empty(), "{path} = {ok}: {:?}", paths(&p));
            }
            for bad in [range.start().checked_sub(1), range.end().checked_add(1)].into_iter().flatten() {
                let mut p = policy();
                set(&mut p, bad);
                assert!(paths(&p).contains(&path.to_owned()), "{path} = {bad} accepted");
            }
        }
    }

    #[test]
    fn iam_9_idle_cannot_exceed_absolute_and_max_not_below_min() {
        let mut p = policy();
        p.sessions.idle_minutes = 181;
        p.password.min_length = 20;
        p.password.max_length = 12;
        assert_eq!(paths(&p), ["password.max_length", "sessions.idle_minutes"]);
    }

    #[test]
    fn iam_4_changes_are_listed_old_to_new_and_nist_deviations_named() {
        let old = policy();
        let mut new = old.clone();
        new.password.expiry_days = Some(90);
        new.password.require_digit = true;
        new.sessions.concurrent = ConcurrentLogins::Refuse;
        assert_eq!(
            new.changes_from(&old),
            [
                "password.require_digit: false → true",
                "password.expiry_days: none → 90",
                "sessions.concurrent: allow → refuse"
            ]
        );
        assert_eq!(new.against_nist(), ["password.composition", "password.expiry_days"]);
    }

    #[test]
    fn iam_4_unknown_knobs_are_refused() {
        let mut v = serde_json::to_value(policy()).unwrap();
        v["password"]["min_lenght"] = 9.into();
        assert!(serde_json::from_value::<SecurityPolicy>(v).is_err());
    }

    #[test]
    fn iam_10_address_lists_match_ipv4_ipv6_and_mapped_addresses_and_are_checked() {
        let mut p = policy();
        let any: std::net::IpAddr = "198.51.100.7".parse().unwrap();
        assert!(p.addresses.allows(Surface::Console, any), "an empty list allows every address");
        p.addresses.console = vec!["127.0.0.2/32".parse().unwrap(), "2001:db8::/32".parse().unwrap()];
        let ok = ["127.0.0.2", "::ffff:127.0.0.2", "2001:db8::1"];
        for ip in ok {
            assert!(p.addresses.allows(Surface::Console, ip.parse().unwrap()), "{ip}");
        }
        for ip in ["127.0.0.3", "::1", "::ffff:127.0.0.3", "2001:db9::1"] {
            assert!(!p.addresses.allows(Surface::Console, ip.parse().unwrap()), "{ip}");
        }
        assert!(p.addresses.allows(Surface::Api, any), "the API's list is separate");
        assert!(p.check().is_ok());
        assert_eq!(p.changes_from(&policy()), ["addresses.console: any → 127.0.0.2/32, 2001:db8::/32"]);

        p.addresses.api = vec!["::ffff:10.0.0.0/104".parse().unwrap(), "10.0.0.0/8".parse().unwrap()];
        p.addresses.api.push("10.0.0.0/8".parse().unwrap());
        assert_eq!(paths(&p), ["addresses.api[0]", "addresses.api[2]"]);
        p.addresses.api = (0..=100u8).map(|i| format!("10.0.{i}.0/24").parse().unwrap()).collect();
        assert_eq!(paths(&p), ["addresses.api"]);

        assert_eq!(parse_range(" 192.0.2.1 "), Some("192.0.2.1/32".parse().unwrap()));
        assert_eq!(parse_range("2001:db8::/32"), Some("2001:db8::/32".parse().unwrap()));
        for bad in ["192.0.2.0/33", "192.0.2", "example.jp", ""] {
            assert_eq!(parse_range(bad), None, "{bad}");
        }
        // A policy saved before address lists existed still reads, with empty lists.
        let mut v = serde_json::to_value(policy()).unwrap();
        v.as_object_mut().unwrap().remove("addresses");
        assert_eq!(serde_json::from_value::<SecurityPolicy>(v).unwrap(), policy());
    }
}
