//! The operation log (LOG-1): who did what, when and from where, with times in the tenant's time
//! zone (LOG-4). Filters by time (local date-times of that zone), actor, operation (only those a
//! tenant's log can hold), outcome and address; shows how many entries match; details read as
//! lines, changes as `before → after`.

use super::audit_detail::{self, Line};
use super::security_chart;
use crate::audit_export::ExportFormat;
use crate::console::extract::Ctx;
use crate::console::i18n::Lang;
use crate::console::labels;
use crate::console::layout::{Head, Nav, page};
use crate::console::msg::Msg;
use crate::console::widgets::{Input, empty_state, query, select};
use crate::error::{AppError, AppResult};
use crate::service::{audit, audit_export, collections};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use jiff::civil::DateTime;
use kura_domain::{ActorKind, AuditEntry, BuiltinRole, Collection, Operation, Outcome, Permission, TimeZoneName};
use kura_store::AuditFilter;
use maud::{Markup, html};
use serde::Deserialize;

const PAGE: u32 = 50;
const OUTCOMES: [Outcome; 3] = [Outcome::Success, Outcome::Failure, Outcome::Denied];

#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    from: Option<String>,
    to: Option<String>,
    actor: Option<String>,
    operation: Option<String>,
    outcome: Option<String>,
    ip: Option<String>,
    target: Option<String>,
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
    // A range that ends before it starts is refused with a message, and not applied.
    let reversed = matches!((from, to), (Ok(Some(a)), Ok(Some(b))) if a >= b);
    let operation = f.operation.as_deref().and_then(Operation::parse).filter(|o| o.in_tenant_log());
    let outcome = f.outcome.as_deref().and_then(Outcome::parse);
    let ip = f.ip.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let target = f.target.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let filter = AuditFilter {
        from: from.ok().flatten().filter(|_| !reversed),
        to: to.ok().flatten().filter(|_| !reversed),
        actor: f.actor.clone().filter(|a| !a.trim().is_empty()),
        operation,
        outcome,
        source_ip: ip.map(str::to_owned),
        target: target.map(str::to_owned),
        before_seq: f.before.as_deref().and_then(|b| b.parse::<i64>().ok()),
        limit: PAGE,
    };
    let entries = audit::list(&state, &ctx.p, &filter).await?;
    // The chart heads the first page; paging back through entries leaves it out.
    let chart = match filter.before_seq {
        None => Some(audit::security_events(&state, &ctx.p).await?),
        Some(_) => None,
    };
    let total = audit::count(&state, &ctx.p, &filter).await?;
    // Field names in details are shown by their labels, for those who may read the collections.
    let known = if ctx.p.can(Permission::RecordsRead) { collections::list(&state, &ctx.p).await? } else { Vec::new() };

    let bad_time = Some(t(Msg::InvalidDateTime));
    let mut ops = vec![(String::new(), t(Msg::AllOperations).to_owned())];
    ops.extend(
        Operation::ALL
            .iter()
            .filter(|o| o.in_tenant_log())
            .map(|o| (o.as_str().to_owned(), labels::operation_label(*o, ctx.lang).to_owned())),
    );
    let mut outcomes = vec![(String::new(), t(Msg::AllOutcomes).to_owned())];
    outcomes.extend(OUTCOMES.iter().map(|o| (o.as_str().to_owned(), labels::outcome_label(*o, ctx.lang).to_owned())));
    let keep = |before: &str| {
        query(&[
            ("from", f.from.as_deref().unwrap_or("")),
            ("to", f.to.as_deref().unwrap_or("")),
            ("actor", f.actor.as_deref().unwrap_or("")),
            ("operation", operation.map_or("", Operation::as_str)),
            ("outcome", outcome.map_or("", Outcome::as_str)),
            ("ip", ip.unwrap_or("")),
            ("target", target.unwrap_or("")),
            ("before", before),
        ])
    };
    let older = (entries.len() == PAGE as usize).then(|| entries.last().map(|e| e.seq)).flatten();
    let to_error = if reversed {
        Some(t(Msg::RangeReversed))
    } else if to.is_err() {
        bad_time
    } else {
        None
    };
    let filtered = f.from.is_some()
        || f.to.is_some()
        || filter.actor.is_some()
        || operation.is_some()
        || outcome.is_some()
        || ip.is_some()
        || target.is_some();
    let zone_label = labels::time_zone_label(zone.as_str(), ctx.lang);
    let body = html! {
        @if let Some(days) = &chart { (security_chart::render(days, ctx.lang, t, &zone_label)) }
        form.filters.log-filters method="get" action="/console/audit" {
            (Input { name: "from", label: t(Msg::From), kind: "datetime-local", value: f.from.as_deref().unwrap_or(""),
                error: if from.is_err() { bad_time } else { None }, ..Input::default() }.render(ctx.lang))
            (Input { name: "to", label: t(Msg::To), kind: "datetime-local", value: f.to.as_deref().unwrap_or(""),
                error: to_error, ..Input::default() }.render(ctx.lang))
            (Input { name: "actor", label: t(Msg::Actor), kind: "search", value: f.actor.as_deref().unwrap_or(""),
                ..Input::default() }.render(ctx.lang))
            (select("operation", t(Msg::Operation), &ops, operation.map_or("", Operation::as_str), None, None, ctx.lang))
            (select("outcome", t(Msg::Outcome), &outcomes, outcome.map_or("", Outcome::as_str), None, None, ctx.lang))
            (Input { name: "ip", label: t(Msg::IpAddress), kind: "text", value: ip.unwrap_or(""),
                placeholder: Some("192.0.2.10"), ..Input::default() }.render(ctx.lang))
            (Input { name: "target", label: t(Msg::Target), kind: "search", value: target.unwrap_or(""),
                placeholder: Some("user:sato@example.jp"), help: Some(t(Msg::AuditTargetHelp)),
                ..Input::default() }.render(ctx.lang))
            div.filter-actions {
                button.btn.btn-primary type="submit" { (t(Msg::Search)) }
                @if filtered { a.btn.btn-ghost href="/console/audit" { (t(Msg::ClearFilters)) } }
            }
        }
        div.log-summary {
            p { strong { @if total > audit::COUNT_CAP {
                (t(Msg::EntriesFoundMore).replace("{n}", &grouped(audit::COUNT_CAP)))
            } @else {
                (t(Msg::EntriesFound).replace("{n}", &total.to_string()))
            } } }
            p.muted { (t(Msg::TimesShownIn)) " " (labels::time_zone_label(zone.as_str(), ctx.lang)) }
            p { a href="/console/audit/checkpoint" { (t(Msg::CheckpointLink)) } " · " a href="/console/audit/disclosures" { (t(Msg::DisclosuresLink)) } }
        }
        @if entries.is_empty() {
            (empty_state(t(Msg::NoMatchingData), None))
        } @else {
            (entries_table(&ctx, &entries, false, &known))
        }
        nav.pager aria-label=(t(Msg::Pagination)) {
            @if filter.before_seq.is_some() { a.btn.btn-ghost href={ "/console/audit" (keep("")) } { (t(Msg::Newest)) } }
            @if let Some(seq) = older {
                a.btn.btn-ghost href={ "/console/audit" (keep(&seq.to_string())) } { (t(Msg::Older)) " →" }
            }
        }
        (export_form(&ctx, f.from.as_deref(), f.to.as_deref(), &zone, state.clock.now()))
    };
    Ok(page(&ctx, Head::new(Nav::Audit, t(Msg::NavAudit)), body).into_response())
}

/// The export form (LOG-1): a period, prefilled with the filter's or this month's, and a format.
fn export_form(ctx: &Ctx, from: Option<&str>, to: Option<&str>, zone: &TimeZoneName, now: Timestamp) -> Markup {
    let t = |m: Msg| ctx.t(m);
    let local = now.to_zoned(zone.zone());
    let month_start = local.date().first_of_month().to_datetime(jiff::civil::Time::midnight());
    let fmt = |dt: DateTime| dt.strftime("%Y-%m-%dT%H:%M").to_string();
    let from = from.filter(|s| !s.trim().is_empty()).map_or_else(|| fmt(month_start), str::to_owned);
    // The end is exclusive: the next minute, so that what happened in this one is included.
    let next_minute = local.datetime().saturating_add(jiff::SignedDuration::from_mins(1));
    let to = to.filter(|s| !s.trim().is_empty()).map_or_else(|| fmt(next_minute), str::to_owned);
    let formats: Vec<(String, String)> = [
        (ExportFormat::Csv, t(Msg::FormatCsvBom)),
        (ExportFormat::CsvUtf8, t(Msg::FormatCsvUtf8)),
        (ExportFormat::Json, t(Msg::AuditExportFormatJson)),
    ]
    .into_iter()
    .map(|(f, label)| (f.as_str().to_owned(), label.to_owned()))
    .collect();
    html! {
        section.card.stack aria-labelledby="audit-export" {
            h2 id="audit-export" { (t(Msg::AuditExportTitle)) }
            @let (before, after) = t(Msg::AuditExportIntro).split_once("{command}").unwrap_or((t(Msg::AuditExportIntro), ""));
            p { (before) code { "kura audit verify --export FILE" } (after) }
            form.filters.log-export method="get" action="/console/audit/export" {
                (Input { name: "export_from", label: t(Msg::From), kind: "datetime-local", value: &from,
                    required: true, ..Input::default() }.render(ctx.lang))
                (Input { name: "export_to", label: t(Msg::To), kind: "datetime-local", value: &to,
                    required: true, ..Input::default() }.render(ctx.lang))
                (select("export_format", t(Msg::ExportFormat), &formats, "csv", None, None, ctx.lang))
                div.filter-actions {
                    button.btn.btn-primary type="submit" { (t(Msg::AuditExportDownload)) }
                }
            }
            p.help { (t(Msg::AuditExportLimit)) " " (t(Msg::TimesShownIn)) " " (labels::time_zone_label(zone.as_str(), ctx.lang)) }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ExportForm {
    export_from: Option<String>,
    export_to: Option<String>,
    export_format: Option<String>,
}

/// The export file (a GET: downloading changes nothing but the log, which records it).
pub async fn export_file(State(state): State<AppState>, ctx: Ctx, Query(f): Query<ExportForm>) -> AppResult<Response> {
    ctx.p.require(Permission::AuditRead)?;
    let zone = ctx.p.tenant().time_zone.clone();
    let bad = || AppError::BadRequest(ctx.t(Msg::InvalidDateTime).to_owned());
    let from = local_to_instant(f.export_from.as_deref(), &zone).map_err(|()| bad())?;
    let to = local_to_instant(f.export_to.as_deref(), &zone).map_err(|()| bad())?;
    let (Some(from), Some(to)) = (from, to) else {
        return Err(AppError::BadRequest(ctx.t(Msg::AuditExportNeedsRange).to_owned()));
    };
    if from >= to {
        return Err(AppError::BadRequest(ctx.t(Msg::RangeReversed).to_owned()));
    }
    let format = audit_export::parse_format(f.export_format.as_deref())?;
    let file = audit_export::export(&state, &ctx.p, from, to, format).await?;
    Ok(crate::api::audit_log::download(file))
}

/// A count with thousands separated by commas (as both languages write them).
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn actor_role(role: Option<&str>, lang: Lang) -> String {
    match role {
        None => String::new(),
        Some(key) => match BuiltinRole::from_key(key) {
            Some(b) if lang == Lang::Ja => b.labels().1.to_owned(),
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

/// The collection an entry is about, from its target (`record:customers/…`, `collection:customers`).
fn collection_of<'c>(e: &AuditEntry, known: &'c [Collection]) -> Option<&'c Collection> {
    let target = e.target.as_deref()?;
    let rest = target.strip_prefix("record:").or_else(|| target.strip_prefix("collection:"))?;
    let name = rest.split('/').next()?;
    known.iter().find(|c| c.name.as_str() == name)
}

/// An entry's target as people read it: a collection by its label, a record as "label / id".
fn target_text(e: &AuditEntry, known: &[Collection]) -> String {
    let target = e.target.as_deref().unwrap_or("");
    match collection_of(e, known) {
        Some(c) if target.starts_with("record:") => {
            let id = target.rsplit('/').next().unwrap_or("");
            format!("{} / {}", c.label, id.get(..8).unwrap_or(id))
        }
        Some(c) => c.label.to_string(),
        // Users, roles and keys are named by what people know them by (`user:taro@…` → the address).
        None => ["user:", "role:", "apikey:", "tenant:", "operator:"]
            .iter()
            .find_map(|p| target.strip_prefix(p))
            .unwrap_or(target)
            .to_owned(),
    }
}

/// A detail's key in the reader's words; one not known here as it is written.
fn key_name(name: &str, lang: Lang) -> Markup {
    match audit_detail::key_label(name, lang) {
        Some(label) => html! { span.k { (label) } },
        None => html! { code.k { (name) } },
    }
}

fn detail(ctx: &Ctx, e: &AuditEntry, known: &[Collection]) -> Markup {
    let Some(text) = e.detail.as_deref() else { return html! {} };
    let collection = collection_of(e, known);
    html! {
        ul.detail-lines {
            @let lines = if e.outcome == Outcome::Denied { audit_detail::parse_refusal(text) } else { audit_detail::parse(text) };
            @for (key, line) in lines {
                li { @match line {
                    Line::Value { name, value } => {
                        (key_name(&name, ctx.lang)) ": "
                        (audit_detail::value_label(&key, &value, collection, ctx.lang))
                    },
                    Line::Change { name, before, after } => {
                        (key_name(&name, ctx.lang)) ": "
                        span.before { (audit_detail::value_label(&key, &before, collection, ctx.lang)) }
                        " → "
                        span.after { (audit_detail::value_label(&key, &after, collection, ctx.lang)) }
                    },
                    Line::Note(note) => (audit_detail::note_label(&note, ctx.lang)),
                } }
            }
        }
    }
}

/// The table of entries, shared with the dashboard, which shows a `compact` one without the
/// role, address and detail columns. `known` are the collections whose fields details name.
pub fn entries_table(ctx: &Ctx, entries: &[AuditEntry], compact: bool, known: &[Collection]) -> Markup {
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
                            td.when data-label=(t(Msg::Time)) { time datetime=(e.at.to_string()) { (ctx.time(e.at)) } }
                            td.actor data-label=(t(Msg::Actor)) { span {
                                (e.actor.label)
                                @if let Some(k) = actor_kind(e.actor.kind, ctx) { " " span.badge.badge-muted { (k) } }
                            } }
                            @if !compact {
                                td.role data-label=(t(Msg::Role)) { (actor_role(e.actor.role.as_deref(), ctx.lang)) }
                                td.mono.nowrap data-label=(t(Msg::IpAddress)) {
                                    (e.actor.source_ip.as_deref().unwrap_or(""))
                                    @if let Some(agent) = e.actor.user_agent.as_deref() {
                                        br; span.visually-hidden { (t(Msg::UserAgent)) ": " } code.ua.muted { (agent) }
                                    }
                                }
                            }
                            td.nowrap data-label=(t(Msg::Operation)) { span {
                                (labels::operation_label(e.operation, ctx.lang))
                                br; code.op { (e.operation.as_str()) }
                            } }
                            td.wrap data-label=(t(Msg::Target)) { (target_text(e, known)) }
                            td data-label=(t(Msg::Outcome)) { span class={ "badge outcome-" (e.outcome.as_str()) } { (labels::outcome_label(e.outcome, ctx.lang)) } }
                @if !compact { td.wrap data-label=(t(Msg::Detail)) { (detail(ctx, e, known)) } }
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
    fn log_1_counts_are_grouped_by_thousands() {
        assert_eq!(grouped(7), "7");
        assert_eq!(grouped(10_000), "10,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }

    #[test]
    fn log_4_filter_times_are_read_in_the_tenant_zone() {
        let tokyo = TimeZoneName::tokyo();
        let ts = local_to_instant(Some("2026-11-22T09:00"), &tokyo).ok().flatten().expect("a local time");
        assert_eq!(ts.to_string(), "2026-11-22T00:00:00Z");
        assert_eq!(local_to_instant(Some(""), &tokyo), Ok(None));
        assert!(local_to_instant(Some("yesterday"), &tokyo).is_err());
    }
}
