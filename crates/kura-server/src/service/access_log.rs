//! The tenant's access log (LOG-2) as its administrators read it: filtered by time, status,
//! route and address, with times in the tenant's zone (LOG-4). Requires `audit.read`, like the
//! operation log.

use crate::auth::TenantPrincipal;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use kura_domain::{AuditScope, Permission, TimeZoneName};
use kura_store::{AccessEntry, AccessFilter};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AccessParams {
    /// Requests at or after this instant (RFC 3339, e.g. `2026-11-01T00:00:00+09:00`).
    #[param(format = DateTime, example = "2026-11-01T00:00:00+09:00")]
    pub from: Option<String>,
    /// Requests before this instant (RFC 3339).
    #[param(format = DateTime, example = "2026-12-01T00:00:00+09:00")]
    pub to: Option<String>,
    /// A status (`404`) or a class of statuses (`4xx`).
    #[param(pattern = "^[1-5]([0-9]{2}|xx)$", example = "4xx")]
    pub status: Option<String>,
    /// The route template, exactly, as the entries give it.
    #[param(example = "/api/v1/collections/{name}/records")]
    pub route: Option<String>,
    /// The client's address, exactly.
    #[param(example = "203.0.113.7")]
    pub ip: Option<String>,
    /// The `cursor` of the last entry of the page before (paging backwards).
    #[param(example = "1795311000000000.0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a02")]
    pub before: Option<String>,
    /// At most this many entries (1–1000, default 100).
    #[param(minimum = 1, maximum = 1000, example = 100)]
    pub limit: Option<u32>,
}

/// A logged request as clients see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"at": "2026-11-22T01:30:00Z", "at_local": "2026-11-22 10:30:00 JST",
    "method": "GET", "route": "/api/v1/collections/{name}/records/{id}", "status": 200, "latency_ms": 3.2,
    "actor_kind": "api_key", "actor_id": "0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a01", "source_ip": "203.0.113.7",
    "user_agent": "curl/8.5.0", "cursor": "1795311000000000.0190a4c2-e5b8-7d3f-9a1c-2b3d4e5f6a02"}))]
pub struct AccessEntryView {
    /// UTC instant the request arrived.
    #[schema(format = DateTime)]
    pub at: String,
    /// The same instant in the tenant's time zone.
    pub at_local: String,
    pub method: String,
    /// The route template the request matched; never the path with its identifiers.
    pub route: String,
    pub status: u16,
    /// Milliseconds until the answer's head was ready.
    pub latency_ms: f64,
    /// `user`, `api_key` or `operator`; absent when the request did not authenticate.
    pub actor_kind: Option<String>,
    /// The user's, key's or operator's id.
    pub actor_id: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    /// Pass as `before` to read the entries older than this one.
    pub cursor: String,
}

pub fn view(e: &AccessEntry, zone: &TimeZoneName) -> AccessEntryView {
    AccessEntryView {
        at: e.at.to_string(),
        at_local: kura_domain::format_in_zone(e.at, zone),
        method: e.method.clone(),
        route: e.route.clone(),
        status: e.status,
        latency_ms: e.latency_us as f64 / 1000.0,
        actor_kind: e.actor_kind.map(|k| k.as_str().to_owned()),
        actor_id: e.actor_id.map(|id| id.to_string()),
        source_ip: e.source_ip.clone(),
        user_agent: e.user_agent.clone(),
        cursor: cursor(e),
    }
}

/// Where the next page starts: the entry's time in microseconds and its id.
pub fn cursor(e: &AccessEntry) -> String {
    format!("{}.{}", e.at.as_microsecond(), e.id)
}

fn parse_cursor(s: &str) -> Option<(jiff::Timestamp, uuid::Uuid)> {
    let (at, id) = s.trim().split_once('.')?;
    Some((jiff::Timestamp::from_microsecond(at.parse().ok()?).ok()?, id.parse().ok()?))
}

/// `404` → 404–404, `4xx` → 400–499.
pub fn parse_status(s: &str) -> Option<(u16, u16)> {
    let s = s.trim().to_ascii_lowercase();
    if let Some(class) = s.strip_suffix("xx") {
        let c: u16 = class.parse().ok().filter(|c| (1..=5).contains(c))?;
        return Some((c * 100, c * 100 + 99));
    }
    let n: u16 = s.parse().ok().filter(|n| (100..=599).contains(n))?;
    Some((n, n))
}

pub fn to_filter(params: &AccessParams) -> AppResult<AccessFilter> {
    let nonempty = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let limit = params.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(AppError::BadRequest("limit must be between 1 and 1000".into()));
    }
    let instant = |name: &str, v: &Option<String>| {
        nonempty(v).map(|s| crate::service::audit::parse_instant(name, &s)).transpose()
    };
    let status = match nonempty(&params.status) {
        None => None,
        Some(s) => Some(parse_status(&s).ok_or_else(|| {
            AppError::BadRequest(format!("status {s:?} must be a status such as 404 or a class such as 4xx"))
        })?),
    };
    let ip = nonempty(&params.ip);
    if let Some(ip) = &ip
        && ip.parse::<std::net::IpAddr>().is_err()
    {
        return Err(AppError::BadRequest(format!("ip {ip:?} is not an IP address")));
    }
    let before = match nonempty(&params.before) {
        None => None,
        Some(s) => {
            Some(parse_cursor(&s).ok_or_else(|| AppError::BadRequest("before must be an entry's cursor".into()))?)
        }
    };
    Ok(AccessFilter {
        from: instant("from", &params.from)?,
        to: instant("to", &params.to)?,
        status,
        route: nonempty(&params.route),
        source_ip: ip,
        before,
        limit,
    })
}

/// The tenant's requests newest first.
pub async fn list(state: &AppState, p: &TenantPrincipal, filter: &AccessFilter) -> AppResult<Vec<AccessEntry>> {
    let g = p.require(Permission::AuditRead)?;
    Ok(state.store.access_log(AuditScope::Tenant(g.tenant_id()), filter).await?)
}

/// How many of the tenant's requests match `filter` (its paging aside).
pub async fn count(state: &AppState, p: &TenantPrincipal, filter: &AccessFilter) -> AppResult<u64> {
    let g = p.require(Permission::AuditRead)?;
    Ok(state.store.access_log_count(AuditScope::Tenant(g.tenant_id()), filter).await?)
}
