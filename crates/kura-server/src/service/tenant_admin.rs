//! The operator's changes to an open tenant (TEN-1): its name, time zone and contract dates, and
//! suspending or resuming it. Each is one audited write in the platform's log, whose entry
//! states every change as `name: before → after`.

use super::tenants::parse_date;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use kura_domain::{
    Actor, AuditRecord, AuditScope, DisplayName, Operation, Tenant, TenantId, TenantSpec, TenantStatus, TimeZoneName,
};

/// A tenant's changeable settings, as the operator submits them.
#[derive(Debug, Default, Clone)]
pub struct TenantChange {
    pub display_name: String,
    pub time_zone: String,
    /// `YYYY-MM-DD`, or blank for none.
    pub contract_start: Option<String>,
    pub contract_end: Option<String>,
}

impl TenantChange {
    pub fn of(t: &Tenant) -> Self {
        Self {
            display_name: t.display_name.to_string(),
            time_zone: t.time_zone.as_str().to_owned(),
            contract_start: t.contract_start.map(|d| d.to_string()),
            contract_end: t.contract_end.map(|d| d.to_string()),
        }
    }
}

async fn find(state: &AppState, id: TenantId) -> AppResult<Tenant> {
    state.store.tenant(id).await?.ok_or(AppError::NotFound("tenant"))
}

/// `name: before → after` for each setting that differs, joined by `; `.
fn changes(before: &Tenant, after: &Tenant) -> String {
    let date = |d: Option<jiff::civil::Date>| d.map_or_else(|| "-".to_owned(), |d| d.to_string());
    let pairs = [
        ("display_name", before.display_name.to_string(), after.display_name.to_string()),
        ("time_zone", before.time_zone.as_str().to_owned(), after.time_zone.as_str().to_owned()),
        ("contract_start", date(before.contract_start), date(after.contract_start)),
        ("contract_end", date(before.contract_end), date(after.contract_end)),
        ("status", before.status.as_str().to_owned(), after.status.as_str().to_owned()),
    ];
    pairs.iter().filter(|(_, b, a)| b != a).map(|(k, b, a)| format!("{k}: {b} → {a}")).collect::<Vec<_>>().join("; ")
}

async fn save(state: &AppState, actor: Actor, before: &Tenant, after: Tenant) -> AppResult<Tenant> {
    let detail = changes(before, &after);
    if detail.is_empty() {
        return Ok(after);
    }
    let mut w = state.store.begin(AuditScope::Platform, actor).await?;
    w.update_tenant(&after).await?;
    w.commit(AuditRecord::success(Operation::TenantUpdate, format!("tenant:{}", after.slug)).with_detail(detail))
        .await?;
    Ok(after)
}

/// Changes a tenant's name, time zone and contract dates; validated as when it was opened.
pub async fn update(state: &AppState, actor: Actor, id: TenantId, change: TenantChange) -> AppResult<Tenant> {
    let before = find(state, id).await?;
    let spec = TenantSpec {
        slug: before.slug.clone(),
        display_name: DisplayName::parse(&change.display_name)?,
        time_zone: TimeZoneName::parse(&change.time_zone)?,
        contract_start: parse_date("contract_start", change.contract_start.as_deref())?,
        contract_end: parse_date("contract_end", change.contract_end.as_deref())?,
    };
    spec.check()?;
    let after = Tenant {
        display_name: spec.display_name,
        time_zone: spec.time_zone,
        contract_start: spec.contract_start,
        contract_end: spec.contract_end,
        ..before.clone()
    };
    save(state, actor, &before, after).await
}

/// Suspends or resumes a tenant. Suspended, none of its users can sign in or use a session they
/// have, and none of its API keys works, until it is resumed; its data stays as it is.
pub async fn set_status(state: &AppState, actor: Actor, id: TenantId, status: TenantStatus) -> AppResult<Tenant> {
    let before = find(state, id).await?;
    let after = Tenant { status, ..before.clone() };
    save(state, actor, &before, after).await
}

/// The tenant's time zone, as its administrator reads and sets it (LOG-4).
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"time_zone": "Asia/Tokyo"}))]
pub struct TimeZoneSetting {
    /// An IANA time zone name: times in the console, the logs and exports are shown in it.
    pub time_zone: String,
}

/// The tenant's time zone. Requires `settings.manage`.
pub fn own_time_zone(p: &crate::auth::TenantPrincipal) -> AppResult<TimeZoneSetting> {
    let g = p.require(kura_domain::Permission::SettingsManage)?;
    Ok(TimeZoneSetting { time_zone: g.tenant().time_zone.as_str().to_owned() })
}

/// Sets the tenant's time zone: stored times stay UTC, only how they are shown changes. One
/// audited write in the tenant's own log (`settings.time_zone`). Requires `settings.manage`.
pub async fn set_own_time_zone(
    state: &AppState,
    p: &crate::auth::TenantPrincipal,
    zone: &str,
) -> AppResult<TimeZoneSetting> {
    let g = p.require(kura_domain::Permission::SettingsManage)?;
    let zone = TimeZoneName::parse(zone.trim())?;
    let before = g.tenant().time_zone.clone();
    if before != zone {
        let mut w = g.begin(&state.store).await?;
        w.set_time_zone(g.tenant_id(), &zone).await?;
        w.commit(AuditRecord::success(Operation::TimeZoneUpdate, "settings:time_zone").with_detail(format!(
            "time_zone: {} → {}",
            before.as_str(),
            zone.as_str()
        )))
        .await?;
    }
    Ok(TimeZoneSetting { time_zone: zone.as_str().to_owned() })
}
