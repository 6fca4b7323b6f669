//! One record, read-only: titled with its display field (a customer's name), its values, and
//! its change history from the operation log (who, when, which fields; values are never in the
//! log). Edit and Delete lead on for those who may.

use super::values::{display_field, record_title, show_value};
use crate::console::extract::{Ctx, Done};
use crate::console::labels;
use crate::console::layout::{Head, Nav, page};
use crate::console::msg::Msg;
use crate::service::collections;
use crate::service::history::{self, HISTORY_LIMIT};
use crate::service::records::{self, RecordView};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use kura_domain::{AuditEntry, Collection, Operation, Permission, RecordId};
use maud::{Markup, html};

pub fn parse_id(id: &str) -> crate::error::AppResult<RecordId> {
    id.parse().map_err(|_| crate::error::AppError::NotFound("record"))
}

/// A record's name in sentences: its title in quotes, or "this record" when it has none the
/// reader may see.
pub fn named(ctx: &Ctx, c: &Collection, r: &RecordView) -> String {
    record_title(c, r, ctx.lang).unwrap_or_else(|| ctx.t(Msg::ThisRecord).to_owned())
}

pub async fn show(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((name, id)): Path<(String, String)>,
) -> crate::error::AppResult<Response> {
    let at = collections::at(&state, &ctx.p, &name).await?;
    let c = &*at.collection;
    let id = parse_id(&id)?;
    let r = records::get_in(&state, &ctx.p, &at, id).await?;
    let (entries, total) = history::of_record(&state, &ctx.p, &at, id).await?;
    let t = |m: Msg| ctx.t(m);
    let base = format!("/console/collections/{}", c.name);
    let here = format!("{base}/records/{}", r.id);
    let title = record_title(c, &r, ctx.lang).unwrap_or_else(|| t(Msg::RecordDetail).to_owned());
    let title_field = display_field(c).map(|f| f.name.as_str());
    let body = html! {
        div.record-layout {
            section.card.record-values aria-labelledby="values-heading" {
                h2 #values-heading.visually-hidden { (t(Msg::Values)) }
                dl.record-view {
                    @for f in &c.fields {
                        div.row.is-title[Some(f.name.as_str()) == title_field] {
                            dt { (f.label.as_str()) @if f.pii { " " span.badge.badge-pii { (t(Msg::PiiShort)) } } }
                            dd.multiline[f.field_type == kura_domain::FieldType::LongText] {
                                @let v = r.data.get(f.name.as_str());
                                @if v.is_none() { span.muted { (t(Msg::NotEntered)) } } @else { (show_value(f, v, ctx.lang)) }
                            }
                        }
                    }
                }
            }
            aside.record-side {
                dl.meta {
                    dt { (t(Msg::CreatedAt)) } dd { (ctx.time(r.created_at)) }
                    dt { (t(Msg::UpdatedAt)) } dd { (ctx.time(r.updated_at)) }
                    dt { (t(Msg::Version)) } dd { (r.version) }
                    dt { "ID" } dd.mono.small { (r.id) }
                }
            }
        }
        (history_section(&ctx, c, &entries, total))
        p { a.btn.btn-ghost href=(base) { "← " (t(Msg::BackToList)) } }
    };
    let mut actions = html! {};
    if ctx.p.can(Permission::RecordsDelete) {
        actions = html! { (actions) a.btn.btn-danger-outline href={ (here) "/delete" } { (t(Msg::Delete)) } };
    }
    if ctx.p.can(Permission::RecordsWrite) {
        actions = html! { (actions) a.btn.btn-primary href={ (here) "/edit" } { (t(Msg::Edit)) } };
    }
    let done = ctx.done.map(|d| {
        let who = named(&ctx, c, &r);
        let text = match d {
            Done::Created => t(Msg::RecordCreatedNamed),
            _ => t(Msg::RecordSavedNamed),
        };
        text.replace("{name}", &who)
    });
    let head = Head::new(Nav::Collections, &title)
        .crumb(t(Msg::NavCollections), "/console/collections")
        .crumb(c.label.as_str(), base.clone())
        .actions(actions)
        .done(done);
    Ok(page(&ctx, head, body).into_response())
}

/// The fields an entry names (`changed=a,b` or `fields=a,b`), by their labels.
fn fields_of(c: &Collection, e: &AuditEntry) -> Vec<String> {
    let Some(detail) = e.detail.as_deref() else { return Vec::new() };
    let list = detail
        .split("; ")
        .find_map(|part| part.strip_prefix("changed=").or_else(|| part.strip_prefix("fields=")))
        .unwrap_or("");
    list.split(',')
        .filter(|n| !n.is_empty())
        .map(|n| c.field(n).map_or_else(|| n.to_owned(), |f| f.label.to_string()))
        .collect()
}

fn history_section(ctx: &Ctx, c: &Collection, entries: &[AuditEntry], total: u64) -> Markup {
    let t = |m: Msg| ctx.t(m);
    let list_sep = if ctx.lang == crate::console::i18n::Lang::Ja { "、" } else { ", " };
    html! {
        section.section.history aria-labelledby="history-heading" {
            div.section-head {
                h2 #history-heading { (t(Msg::ChangeHistory)) }
                @if total > u64::from(HISTORY_LIMIT) {
                    span.muted { (t(Msg::HistoryNewest).replace("{n}", &HISTORY_LIMIT.to_string()).replace("{total}", &total.to_string())) }
                }
            }
            @if entries.is_empty() {
                p.muted { (t(Msg::NoHistory)) }
            } @else {
                ol.timeline {
                    @for e in entries {
                        li {
                            time datetime=(e.at.to_string()) { (ctx.time(e.at)) }
                            span.what {
                                strong { (labels::operation_label(e.operation, ctx.lang)) }
                                @let fields = fields_of(c, e);
                                @if !fields.is_empty() && e.operation == Operation::RecordUpdate {
                                    " " span.fields { (t(Msg::ChangedFields)) ": " (fields.join(list_sep)) }
                                }
                            }
                            span.who { (e.actor.label) }
                        }
                    }
                }
            }
        }
    }
}
