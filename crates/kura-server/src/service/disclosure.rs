//! Disclosing a tenant's operation log on a lawful or reasonable request (LOG-5): the operator
//! produces a package of a period of the log (the export of `audit_export`, JSON, with the
//! disclosure's id, reason and time in its signed manifest) that anyone can verify offline with
//! `kura audit verify --export`. The disclosure is recorded in the tenant's log, where the
//! tenant's administrators see it, and in the platform's; when it is withheld for a legal
//! reason, in the platform's log only.

use crate::audit_export::{Disclosure, ExportFormat};
use crate::error::{AppError, AppResult};
use crate::service::audit_export;
use crate::state::AppState;
use jiff::Timestamp;
use kura_domain::{Actor, AuditRecord, AuditScope, Operation, Slug};

/// The reason's length in characters: enough to name the request, short enough for one line.
pub const REASON_CHARS: std::ops::RangeInclusive<usize> = 10..=500;

/// A disclosure made: the package's bytes and what it records.
#[derive(Debug)]
pub struct Disclosed {
    pub bytes: Vec<u8>,
    pub disclosure: Disclosure,
    pub entries: usize,
}

/// The reason, checked: one line of 10–500 characters without control characters.
pub fn check_reason(reason: &str) -> AppResult<String> {
    let reason = reason.trim();
    if reason.chars().any(char::is_control) {
        return Err(AppError::BadRequest("the reason must be one line, without control characters".into()));
    }
    if !REASON_CHARS.contains(&reason.chars().count()) {
        return Err(AppError::BadRequest(format!(
            "the reason must be {} to {} characters long",
            REASON_CHARS.start(),
            REASON_CHARS.end()
        )));
    }
    Ok(reason.to_owned())
}

/// Where a disclosure entry's detail turns to its reason.
const REASON: &str = "; reason:";

/// The tenant-log entry's detail: the disclosure's id, size and period, then its reason, which
/// [`reason_of`] reads back.
fn detail(d: &Disclosure, entries: usize, from: &str, to: &str) -> String {
    format!(
        "id={} entries={entries} from={from} to={to} withheld={}{REASON} {}",
        d.id,
        if d.withheld { "yes" } else { "no" },
        d.reason
    )
}

/// The reason recorded in a disclosure entry's detail.
pub fn reason_of(detail: &str) -> Option<&str> {
    detail.split_once(REASON).map(|(_, r)| r.trim_start())
}

/// A value of a disclosure entry's detail (`id`, `entries`, `from`, `to`).
pub fn field_of<'a>(detail: &'a str, key: &str) -> Option<&'a str> {
    let head = detail.split_once(REASON).map_or(detail, |(h, _)| h);
    head.split(' ').find_map(|kv| kv.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}

/// Discloses `[from, to)` of the log of the tenant `slug` for `reason`, as `actor` (the
/// operator's command line), and records it.
pub async fn disclose(
    state: &AppState,
    actor: Actor,
    slug: &str,
    from: Timestamp,
    to: Timestamp,
    reason: &str,
    withheld: bool,
) -> AppResult<Disclosed> {
    let reason = check_reason(reason)?;
    let slug = Slug::parse(slug).map_err(|_| AppError::NotFound("tenant"))?;
    let tenant = state.store.tenant_by_slug(&slug).await?.ok_or(AppError::NotFound("tenant"))?;
    let disclosure = Disclosure {
        id: uuid::Builder::from_random_bytes(kura_crypto::random_bytes()).into_uuid().to_string(),
        reason,
        withheld,
        disclosed_at: crate::audit_export::local_time(state.clock.now(), &tenant.time_zone),
    };
    let built =
        audit_export::build_file(state, &tenant, from, to, ExportFormat::Json, Some(disclosure.clone())).await?;
    let detail = detail(&disclosure, built.entries, &built.doc.from, &built.doc.to);
    let target = format!("disclosure:{}", disclosure.id);
    let platform = AuditRecord::success(Operation::LogDisclose, format!("tenant:{}", tenant.slug))
        .with_detail(format!("tenant={} {detail}", tenant.slug));
    if withheld {
        // Withheld for a legal reason: the operator's own log only; the tenant sees nothing.
        state.store.audit_only(AuditScope::Platform, actor, platform).await?;
    } else {
        let mut w = state.store.begin(AuditScope::Tenant(tenant.id), actor).await?;
        w.also_in_platform(platform)?;
        w.commit(AuditRecord::success(Operation::LogDisclose, target).with_detail(detail)).await?;
    }
    Ok(Disclosed { bytes: built.bytes, disclosure, entries: built.entries })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_5_reasons_are_one_line_of_ten_to_five_hundred_characters() {
        assert!(check_reason("  裁判所の文書提出命令（令和8年(ワ)第123号）  ").is_ok());
        assert!(check_reason("short").is_err());
        assert!(check_reason(&"x".repeat(501)).is_err());
        assert!(check_reason("two\nlines of a reason").is_err());
        let reason = String::from("a court order; no 12");
        let d = Disclosure { id: "abc".into(), reason, withheld: false, disclosed_at: String::new() };
        let text = detail(&d, 3, "2026-11-01T00:00:00+09:00", "2026-12-01T00:00:00+09:00");
        assert_eq!(reason_of(&text), Some("a court order; no 12"));
        assert_eq!(field_of(&text, "entries"), Some("3"));
        assert_eq!(field_of(&text, "from"), Some("2026-11-01T00:00:00+09:00"));
    }
}
