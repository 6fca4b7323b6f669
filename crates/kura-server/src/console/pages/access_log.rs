//! The access log (LOG-2) in the consoles: the tenant's requests for its administrators
//! (`/console/access-log`, `audit.read`), and the platform's for operators
//! (`/operator/access-log`). Filters by time (local date-times of the zone shown), status class,
//! route and address; times in the tenant's zone (LOG-4).

use super::audit::local_to_instant;
use crate::console::extract::{Ctx, OpCtx};
use crate::console::i18n::Lang;
use crate::console::labels;
use crate::console::layout::{Head, Nav, op_page, page};
use crate::console::msg::Msg;
use crate::console::widgets::{Input, empty_state, query, select};
use crate::error::AppResult;
use crate::service::access_log as service;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use kura_domain::{ActorKind, AuditScope, TimeZoneName, format_in_zone};
use kura_store::{AccessEntry, AccessFilter};
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::HashMap;
use uuid::Uuid;

const PAGE: u32 = 50;
const CLASSES: [(&str, Msg); 4] = [
    ("2xx", Msg::StatusSuccess),
    ("3xx", Msg::StatusRedirect),
    ("4xx", Msg::StatusClientError),
    ("5xx", Msg::StatusServerError),
];

#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    from: Option<String>,
    to: Option<String>,
    status: Option<String>,
    route: Option<String>,
    ip: Option<String>,
    before: Option<String>,
}

/// The filter the form describes; what cannot be read is left out and named in `Problems`.
struct Read {
    filter: AccessFilter,
    from_bad: bool,
    to_bad: bool,
    reversed: bool,
}

fn read(f: &Filters, zone: &TimeZoneName) -> Read {
    let from = local_to_instant(f.from.as_deref(), zone);
    let to = local_to_instant(f.to.as_deref(), zone);
    let reversed = matches!((from, to), (Ok(Some(a)), Ok(Some(b))) if a >= b);
    let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let filter = AccessFilter {
        from: from.ok().flatten().filter(|_| !reversed),
        to: to.ok().flatten().filter(|_| !reversed),
        status: text(&f.status).as_deref().and_then(service::parse_status),
        route: text(&f.route),
        source_ip: text(&f.ip),
        before: text(&f.before).as_deref().and_then(parse_before),
        limit: PAGE,
    };
    Read { filter, from_bad: from.is_err(), to_bad: to.is_err(), reversed }
}

fn parse_before(s: &str) -> Option<(jiff::Timestamp, uuid::Uuid)> {
    let (at, id) = s.split_once('.')?;
    Some((jiff::Timestamp::from_microsecond(at.parse().ok()?).ok()?, id.parse().ok()?))
}

/// The tenant's access log.
pub async fn list(State(state): State<AppState>, ctx: Ctx, Query(f): Query<Filters>) -> AppResult<Response> {
    let zone = ctx.p.tenant().time_zone.clone();
    let r = read(&f, &zone);
    let entries = service::list(&state, &ctx.p, &r.filter).await?;
    let total = service::count(&state, &ctx.p, &r.filter).await?;
    let policy = crate::service::security::policy_of(&state, ctx.p.tenant().id).await?;
    let days = crate::service::security::access_log_days(&state, &policy);
    let names = tenant_names(&state, ctx.p.tenant().id, &entries).await?;
    let view = View { lang: ctx.lang, zone: &zone, base: "/console/access-log", filters: &f, read: &r, names: &names };
    let intro = html! {
        p.lead { (ctx.t(Msg::AccessLogIntro)) }
        p.muted {
            (ctx.t(Msg::AccessLogRetention).replace("{days}", &days.to_string())) " "
            @if ctx.p.can(kura_domain::Permission::SettingsManage) {
                a href="/console/settings/security#access-log" { (ctx.t(Msg::AccessLogRetentionChange)) }
            }
        }
    };
    let body = html! { (intro) (view.render(&entries, total)) };
    Ok(page(&ctx, Head::new(Nav::AccessLog, ctx.t(Msg::NavAccessLog)), body).into_response())
}

/// The platform's access log, for operators.
pub async fn platform(State(state): State<AppState>, ctx: OpCtx, Query(f): Query<Filters>) -> AppResult<Response> {
    let zone = TimeZoneName::tokyo();
    let r = read(&f, &zone);
    let entries = state.store.access_log(AuditScope::Platform, &r.filter).await?;
    let total = state.store.access_log_count(AuditScope::Platform, &r.filter).await?;
    let days = state.settings.access_log.retention_days;
    let names = operator_names(&state, &entries).await?;
    let view = View { lang: ctx.lang, zone: &zone, base: "/operator/access-log", filters: &f, read: &r, names: &names };
    let body = html! {
        p.lead { (ctx.t(Msg::PlatformAccessLogIntro)) }
        p.muted { (ctx.t(Msg::AccessLogRetention).replace("{days}", &days.to_string())) }
        (view.render(&entries, total))
    };
    Ok(op_page(&ctx, Head::new(Nav::AccessLog, ctx.t(Msg::NavPlatformAccessLog)), body).into_response())
}

/// Names of the people and keys that made requests, by id.
type Names = HashMap<Uuid, String>;

/// The tenant's users and API keys by id, looked up only when the page shows a request of theirs.
async fn tenant_names(state: &AppState, tenant: kura_domain::TenantId, entries: &[AccessEntry]) -> AppResult<Names> {
    let mut names = Names::new();
    if entries.iter().any(|e| e.actor_kind == Some(ActorKind::User)) {
        let users = state.store.users(tenant).await?;
        names.extend(users.into_iter().map(|u| (u.id.as_uuid(), u.display_name.as_str().to_owned())));
    }
    if entries.iter().any(|e| e.actor_kind == Some(ActorKind::ApiKey)) {
        let keys = state.store.api_keys(tenant).await?;
        names.extend(keys.into_iter().map(|k| (k.id.as_uuid(), k.name)));
    }
    Ok(names)
}

/// The operators by id, looked up only when the page shows a request of theirs.
async fn operator_names(state: &AppState, entries: &[AccessEntry]) -> AppResult<Names> {
    if !entries.iter().any(|e| e.actor_kind == Some(ActorKind::Operator)) {
        return Ok(Names::new());
    }
    let operators = state.store.operators().await?;
    Ok(operators.into_iter().map(|o| (o.id.as_uuid(), o.display_name.as_str().to_owned())).collect())
}

struct View<'a> {
    lang: Lang,
    zone: &'a TimeZoneName,
    base: &'a str,
    filters: &'a Filters,
    read: &'a Read,
    names: &'a Names,
}

impl View<'_> {
    fn render(&self, entries: &[AccessEntry], total: u64) -> Markup {
        let t = |m: Msg| m.text(self.lang);
        let f = self.filters;
        let status = self.read.filter.status.map(|(a, _)| format!("{}xx", a / 100)).unwrap_or_default();
        let mut statuses = vec![(String::new(), t(Msg::AllStatuses).to_owned())];
        statuses.extend(CLASSES.iter().map(|(v, m)| ((*v).to_owned(), t(*m).to_owned())));
        let route = self.read.filter.route.as_deref().unwrap_or("");
        let ip = self.read.filter.source_ip.as_deref().unwrap_or("");
        let keep = |before: &str| {
            query(&[
                ("from", f.from.as_deref().unwrap_or("")),
                ("to", f.to.as_deref().unwrap_or("")),
                ("status", &status),
                ("route", route),
                ("ip", ip),
                ("before", before),
            ])
        };
        let older = (entries.len() == PAGE as usize).then(|| entries.last().map(service::cursor)).flatten();
        let bad_time = Some(t(Msg::InvalidDateTime));
        let to_error = if self.read.reversed {
            Some(t(Msg::RangeReversed))
        } else if self.read.to_bad {
            bad_time
        } else {
            None
        };
        let filtered = [&f.from, &f.to, &f.status, &f.route, &f.ip]
            .iter()
            .any(|v| v.as_deref().is_some_and(|s| !s.trim().is_empty()));
        html! {
            form.filters.log-filters method="get" action=(self.base) {
                (Input { name: "from", label: t(Msg::From), kind: "datetime-local", value: f.from.as_deref().unwrap_or(""),
                    error: if self.read.from_bad { bad_time } else { None }, ..Input::default() }.render(self.lang))
                (Input { name: "to", label: t(Msg::To), kind: "datetime-local", value: f.to.as_deref().unwrap_or(""),
                    error: to_error, ..Input::default() }.render(self.lang))
                (select("status", t(Msg::StatusCode), &statuses, &status, None, None, self.lang))
                (Input { name: "route", label: t(Msg::Route), kind: "text", value: route,
                    placeholder: Some("/api/v1/collections/{name}/records"), ..Input::default() }.render(self.lang))
                (Input { name: "ip", label: t(Msg::IpAddress), kind: "text", value: ip,
                    placeholder: Some("192.0.2.10"), ..Input::default() }.render(self.lang))
                div.filter-actions {
                    button.btn.btn-primary type="submit" { (t(Msg::Search)) }
                    @if filtered { a.btn.btn-ghost href=(self.base) { (t(Msg::ClearFilters)) } }
                }
            }
            div.log-summary {
                p { strong { (t(Msg::EntriesFound).replace("{n}", &total.to_string())) } }
                p.muted { (t(Msg::TimesShownIn)) " " (labels::time_zone_label(self.zone.as_str(), self.lang)) }
            }
            @if entries.is_empty() {
                (empty_state(t(Msg::NoMatchingData), None))
            } @else {
                div.table-wrap {
                    table.data.log {
                        caption.visually-hidden { (t(Msg::NavAccessLog)) }
                        thead { tr {
                            th scope="col" { (t(Msg::Time)) }
                            th scope="col" { (t(Msg::Method)) }
                            th scope="col" { (t(Msg::Route)) }
                            th scope="col" { (t(Msg::StatusCode)) }
                            th scope="col" { (t(Msg::Latency)) }
                            th scope="col" { (t(Msg::Principal)) }
                            th scope="col" { (t(Msg::IpAddress)) }
                            th scope="col" { (t(Msg::UserAgent)) }
                        } }
                        tbody {
                            @for e in entries {
                                tr {
                                    td.when data-label=(t(Msg::Time)) { time datetime=(e.at.to_string()) { (format_in_zone(e.at, self.zone)) } }
                                    td.mono data-label=(t(Msg::Method)) { (e.method) }
                                    td.mono.wrap data-label=(t(Msg::Route)) { (e.route) }
                                    td data-label=(t(Msg::StatusCode)) { span class={ "badge status-" (e.status / 100) "xx" } { (e.status) } }
                                    td.nowrap data-label=(t(Msg::Latency)) { (format!("{:.1} ms", e.latency_us as f64 / 1000.0)) }
                                    td data-label=(t(Msg::Principal)) { (principal(e, self.names, self.lang)) }
                                    td.mono.nowrap data-label=(t(Msg::IpAddress)) { (e.source_ip.as_deref().unwrap_or("")) }
                                    td.wrap data-label=(t(Msg::UserAgent)) { (e.user_agent.as_deref().unwrap_or("")) }
                                }
                            }
                        }
                    }
                }
            }
            nav.pager aria-label=(t(Msg::Pagination)) {
                @if self.read.filter.before.is_some() { a.btn.btn-ghost href={ (self.base) (keep("")) } { (t(Msg::Newest)) } }
                @if let Some(cursor) = older {
                    a.btn.btn-ghost href={ (self.base) (keep(&cursor)) } { (t(Msg::Older)) " →" }
                }
            }
        }
    }
}

/// Who made a request: the kind and the name, with the id in full on hover; the start of the id
/// where no name is known (a user or key deleted since).
fn principal(e: &AccessEntry, names: &Names, lang: Lang) -> Markup {
    let kind = match e.actor_kind {
        None => return html! { span.muted { (Msg::NotSignedIn.text(lang)) } },
        Some(ActorKind::User) => Msg::ActorUser.text(lang),
        Some(ActorKind::ApiKey) => Msg::ActorApiKey.text(lang),
        Some(ActorKind::Operator) => Msg::ActorOperator.text(lang),
        Some(ActorKind::Cli) => Msg::ActorCli.text(lang),
        Some(ActorKind::Anonymous) => Msg::ActorAnonymous.text(lang),
    };
    let name = e.actor_id.and_then(|id| names.get(&id));
    let id = e.actor_id.map(|id| id.to_string()).unwrap_or_default();
    html! {
        span {
            span.badge.badge-muted { (kind) } " "
            @if let Some(name) = name { span title=(id) { (name) } } @else { code title=(id) { (id.get(..8).unwrap_or(&id)) } }
        }
    }
}
