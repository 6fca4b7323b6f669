//! The disclosures of the tenant's operation log (LOG-5): when the operator disclosed which
//! period, how many entries, and why, read from the tenant's own log (`audit.disclose` entries),
//! newest first. A disclosure withheld for a legal reason is not in the tenant's log, so it is
//! not here; the page says so.

use crate::console::extract::Ctx;
use crate::console::layout::{Head, Nav, page};
use crate::console::msg::Msg;
use crate::console::widgets::empty_state;
use crate::error::AppResult;
use crate::service::{audit, disclosure};
use crate::state::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use kura_domain::Operation;
use kura_store::AuditFilter;
use maud::html;

pub async fn list(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let t = |m: Msg| ctx.t(m);
    let filter = AuditFilter { operation: Some(Operation::LogDisclose), limit: 1000, ..AuditFilter::default() };
    let entries = audit::list(&state, &ctx.p, &filter).await?;
    let body = html! {
        p { (t(Msg::DisclosuresIntro)) }
        p.help { (t(Msg::DisclosuresWithheld)) }
        @if entries.is_empty() {
            (empty_state(t(Msg::DisclosuresNone), None))
        } @else {
            div.table-wrap { table.data #disclosures {
                caption.visually-hidden { (t(Msg::DisclosuresTitle)) }
                thead { tr {
                    th scope="col" { (t(Msg::Time)) }
                    th scope="col" { (t(Msg::DisclosuresPeriod)) }
                    th scope="col" { (t(Msg::DisclosuresEntries)) }
                    th scope="col" { (t(Msg::DisclosuresReason)) }
                    th scope="col" { (t(Msg::Actor)) }
                } }
                tbody { @for e in &entries {
                    @let d = e.detail.as_deref().unwrap_or("");
                    tr {
                        td.when data-label=(t(Msg::Time)) { time datetime=(e.at.to_string()) { (ctx.time(e.at)) } }
                        td data-label=(t(Msg::DisclosuresPeriod)) {
                            (disclosure::field_of(d, "from").unwrap_or("")) " – " (disclosure::field_of(d, "to").unwrap_or(""))
                        }
                        td.num data-label=(t(Msg::DisclosuresEntries)) { (disclosure::field_of(d, "entries").unwrap_or("")) }
                        td.wrap data-label=(t(Msg::DisclosuresReason)) { (disclosure::reason_of(d).unwrap_or("")) }
                        td data-label=(t(Msg::Actor)) { (e.actor.label) }
                    }
                } }
            } }
        }
        p { a.btn.btn-ghost href="/console/audit" { "← " (t(Msg::NavAudit)) } }
    };
    Ok(page(&ctx, Head::new(Nav::Audit, t(Msg::DisclosuresTitle)), body).into_response())
}
