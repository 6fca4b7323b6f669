//! The operation log (LOG-1): who did what, when and from where, with times in the tenant's time
//! zone (LOG-4). Filter times are entered as local date-times of that zone.

use crate::console::extract::Ctx;
use crate::console::labels;
use crate::console::layout::{Head, Nav, page};
use crate::console::msg::Msg;
use crate::console::widgets::{Input, empty_state, query, select};
use crate::error::AppResult;
use crate::service::audit::{self, AuditParams};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use jiff::civil::DateTime;
use kura_domain::{ActorKind, AuditEntry, BuiltinRole, Operation, TimeZoneName};
use maud::{Markup, html};
use serde::Deserialize;

const PAGE: u32 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    from: Option<String>,
    to: Option<String>,
    actor: Option<String>,
    operation: Option<String>,
    before: Option<String>,
}

/// A `datetime-local` value (`2026-11-22T09:00`) read in `zone`; `None` when blank, `Err` when
/// not a date-time.
pub fn local_to_instant(s: Option<&str>, zone: &TimeZoneName) -> Result<Option<Timestamp>, ()> {
    let Some(s) = s.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(None) };
    let dt: DateTime = s.parse().map_err(|_| ())?;
    dt.to_zoned(zone.zone()).map(|z| Some(z.timestamp())).map_err(|_| ())
}

pub async fn list(State(state): State<AppState>, ctx: Ctx, Query(f): Query<Filters>) -> AppResult<Response> {
    let t = |m: Msg| ctx.t(m);
    let zone = ctx.p.tenant().time_zone.clone();
    let from = local_to_instant(f.from.as_deref(), &zone);
    let to = local_to_instant(f.to.as_deref(), &zone);
    let operation = f.operation.as_deref().and_then(Operation::parse);
    let before = f.before.as_deref().and_then(|b| b.parse::<i64>().ok());
    let params = AuditParams {
        from: from.ok().flatten().map(|ts| ts.to_string()),
        to: to.ok().flatten().map(|ts| ts.to_string()),
        actor: f.actor.clone().filter(|a| !a.trim().is_empty()),
        operation: operation.map(|o| o.as_str().to_owned()),
        before,
        limit: Some(PAGE),
    };
    let entries = audit::list(&state, &ctx.p, &audit::to_filter(&params)?).await?;
    let bad_time = Some(t(Msg::InvalidDateTime));
    let mut ops = vec![(String::new(), t(Msg::AllOperations).to_owned())];
    ops.extend(
        Operation::ALL
            .iter()
            .map(|o| (o.as_str().to_owned(), format!("{} ({})", labels::operation_label(*o, ctx.lang), o.as_str()))),
    );
    let keep = |before: &str| {
        query(&[
            ("from", f.from.as_deref().unwrap_or("")),
            ("to", f.to.as_deref().unwrap_or("")),
            ("actor", f.actor.as_deref().unwrap_or("")),
            ("operation", operation.map_or("", Operation::as_str)),
            ("before", before),
        ])
    };
    let older = (entries.len() == PAGE as usize).then(|| entries.last().map(|e| e.seq)).flatten();
    let body = html! {
        form.filters method="get" action="/console/audit" {
            (Input { name: "from", label: t(Msg::From), kind: "datetime-local", value: f.from.as_deref().unwrap_or(""),
                error: if from.is_err() { bad_time } else { None }, ..Input::default() }.render(ctx.lang))
            (Input { name: "to", label: t(Msg::To), kind: "datetime-local", value: f.to.as_deref().unwrap_or(""),
                error: if to.is_err() { bad_time } else { None }, ..Input::default() }.render(ctx.lang))
            (Input { name: "actor", label: t(Msg::Actor), kind: "search", value: f.actor.as_deref().unwrap_or(""),
                ..Input::default() }.render(ctx.lang))
            (select("operation", t(Msg::Operation), &ops, operation.map_or("", Operation::as_str), None, None, ctx.lang))
            div.filter-actions {
                button.btn.btn-primary type="submit" { (t(Msg::Search)) }
                a.btn.btn-ghost href="/console/audit" { (t(Msg::ClearFilters)) }
            }
        }
        p.muted { (t(Msg::TimesShownIn)) " " (zone.as_str()) }
        @if entries.is_empty() {
            (empty_state(t(Msg::NoMatchingData), None))
        } @else {
            (entries_table(&ctx, &entries, false))
        }
        nav.pager aria-label=(t(Msg::Pagination)) {
            @if before.is_some() { a.btn.btn-ghost href={ "/console/audit" (keep("")) } { (t(Msg::Newest)) } }
            @if let Some(seq) = older {
                a.btn.btn-ghost href={ "/console/audit" (keep(&seq.to_string())) } { (t(Msg::Older)) " →" }
            }
        }
    };
    Ok(page(&ctx, Head::new(Nav::Audit, t(Msg::NavAudit)), body).into_response())
}

fn actor_role(role: Option<&str>, ctx: &Ctx) -> String {
    match role {
        None => String::new(),
        Some(key) => match BuiltinRole::from_key(key) {
            Some(b) if ctx.lang == crate::console::i18n::Lang::Ja => b.labels().1.to_owned(),
            Some(b) => b.labels().0.to_owned(),
            None => key.to_owned(),
        },
    }
}

fn actor_kind(kind: ActorKind, ctx: &Ctx) -> Option<&'static str> {
    match kind {
        ActorKind::User => None,
        ActorKind::Operator => Some(ctx.t(Msg::ActorOperator)),
        ActorKind::ApiKey => Some(ctx.t(Msg::ActorApiKey)),
        ActorKind::Cli => Some(ctx.t(Msg::ActorCli)),
        ActorKind::Anonymous => Some(ctx.t(Msg::ActorAnonymous)),
    }
}

/// The table of entries, shared with the dashboard, which shows a `compact` one without the
/// role, address and detail columns.
pub fn entries_table(ctx: &Ctx, entries: &[AuditEntry], compact: bool) -> Markup {
    let t = |m: Msg| ctx.t(m);
    html! {
        div.table-wrap {
            table.data.log.compact[compact] {
                caption.visually-hidden { (t(Msg::NavAudit)) }
                thead { tr {
                    th scope="col" { (t(Msg::Time)) }
                    th scope="col" { (t(Msg::Actor)) }
                    @if !compact { th scope="col" { (t(Msg::Role)) } th scope="col" { (t(Msg::IpAddress)) } }
                    th scope="col" { (t(Msg::Operation)) }
                    th scope="col" { (t(Msg::Target)) }
                    th scope="col" { (t(Msg::Outcome)) }
                    @if !compact { th scope="col" { (t(Msg::Detail)) } }
                } }
                tbody {
                    @for e in entries {
                        tr {
                            td.when { time datetime=(e.at.to_string()) { (ctx.time(e.at)) } }
                            td.actor {
                                (e.actor.label)
                                @if let Some(k) = actor_kind(e.actor.kind, ctx) { " " span.badge.badge-muted { (k) } }
                            }
                            @if !compact {
                                td.role { (actor_role(e.actor.role.as_deref(), ctx)) }
                                td.mono { (e.actor.source_ip.as_deref().unwrap_or("")) }
                            }
                            td.nowrap {
                                (labels::operation_label(e.operation, ctx.lang))
                                br; code.op { (e.operation.as_str()) }
                            }
                            td.wrap { (e.target.as_deref().unwrap_or("")) }
                            td { span class={ "badge outcome-" (e.outcome.as_str()) } { (labels::outcome_label(e.outcome, ctx.lang)) } }
                            @if !compact { td.wrap { (e.detail.as_deref().unwrap_or("")) } }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_4_filter_times_are_read_in_the_tenant_zone() {
        let tokyo = TimeZoneName::tokyo();
        let ts = local_to_instant(Some("2026-11-22T09:00"), &tokyo).ok().flatten().expect("a local time");
        assert_eq!(ts.to_string(), "2026-11-22T00:00:00Z");
        assert_eq!(local_to_instant(Some(""), &tokyo), Ok(None));
        assert!(local_to_instant(Some("yesterday"), &tokyo).is_err());
    }
}
