//! The start page: the tenant, what the user may see at a glance, the first steps of a new
//! tenant, and recent activity. Counting every collection's records is one read, however many
//! collections there are.

use super::audit::entries_table;
use crate::console::extract::Ctx;
use crate::console::labels;
use crate::console::layout::{Head, Nav, page};
use crate::console::msg::Msg;
use crate::console::widgets::{Icon, icon};
use crate::error::AppResult;
use crate::service::audit::AuditParams;
use crate::service::{audit, collections, users};
use crate::state::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use kura_domain::Permission;
use maud::{Markup, html};

/// One step of a new tenant's first run: done or not, and where to do it.
struct Step {
    text: Msg,
    help: Msg,
    href: &'static str,
    done: bool,
}

pub async fn show(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let p = &ctx.p;
    let t = |m: Msg| ctx.t(m);
    let mut cards: Vec<Markup> = Vec::new();
    let mut steps: Vec<Step> = Vec::new();
    if p.can(Permission::RecordsRead) {
        let list = collections::list(&state, p).await?;
        // Counting reads tenant data, so it goes through the permission it needs (a Granted).
        let g = p.require(Permission::RecordsRead)?;
        let records: u64 = state.store.record_counts(g.tenant_id()).await?.iter().map(|(_, n)| n).sum();
        cards.push(card(Icon::Table, t(Msg::NavCollections), list.len() as u64, "/console/collections"));
        cards.push(card(Icon::Table, t(Msg::RecordsTotal), records, "/console/collections"));
        if p.can(Permission::CollectionsManage) {
            let done = !list.is_empty();
            steps.push(Step {
                text: Msg::StepCollection,
                help: Msg::StepCollectionHelp,
                href: "/console/collections/new",
                done,
            });
        }
    }
    if p.can(Permission::UsersManage) {
        let n = users::list(&state, p).await?.len() as u64;
        cards.push(card(Icon::Users, t(Msg::NavUsers), n, "/console/users"));
        steps.push(Step { text: Msg::StepInvite, help: Msg::StepInviteHelp, href: "/console/users/new", done: n > 1 });
    }
    if p.can(Permission::SettingsManage) {
        // A policy saved once, even unchanged, means an administrator has reviewed the defaults.
        let g = p.require(Permission::SettingsManage)?;
        let reviewed = state.store.security_policy(g.tenant_id()).await?.is_some();
        steps.push(Step {
            text: Msg::StepSecurity,
            help: Msg::StepSecurityHelp,
            href: "/console/settings/security",
            done: reviewed,
        });
    }
    let recent = if p.can(Permission::AuditRead) {
        let filter = audit::to_filter(&AuditParams { limit: Some(10), ..AuditParams::default() })?;
        Some(audit::list(&state, p, &filter).await?)
    } else {
        None
    };
    let zone = labels::time_zone_label(p.tenant().time_zone.as_str(), ctx.lang);
    let body = html! {
        p.lead { (p.tenant().display_name.as_str()) }
        p.muted { (t(Msg::TimeZone)) ": " (zone) }
        @if steps.iter().any(|s| !s.done) { (checklist(&ctx, &steps)) }
        @if cards.is_empty() {
            p { (t(Msg::DashboardNothing)) }
        } @else {
            div.cards { @for c in &cards { (c) } }
        }
        @if let Some(entries) = recent {
            section.section {
                div.section-head {
                    h2 { (t(Msg::RecentActivity)) }
                    a href="/console/audit" { (t(Msg::SeeAll)) }
                }
                (entries_table(&ctx, &entries, true, &[]))
            }
        }
    };
    Ok(page(&ctx, Head::new(Nav::Dashboard, t(Msg::NavDashboard)), body).into_response())
}

/// The first steps of a new tenant, shown until all are done.
fn checklist(ctx: &Ctx, steps: &[Step]) -> Markup {
    let t = |m: Msg| ctx.t(m);
    let done = steps.iter().filter(|s| s.done).count();
    html! {
        section.card.checklist aria-labelledby="checklist-heading" {
            div.section-head {
                h2 #checklist-heading { (t(Msg::FirstSteps)) }
                span.muted { (t(Msg::StepsDone).replace("{done}", &done.to_string()).replace("{all}", &steps.len().to_string())) }
            }
            ol.steps {
                @for s in steps {
                    li.done[s.done] {
                        span.step-mark aria-hidden="true" { @if s.done { (icon(Icon::Check)) } }
                        div {
                            @if s.done {
                                span { (t(s.text)) } " " span.badge.status-active { (t(Msg::StepDone)) }
                            } @else {
                                a href=(s.href) { (t(s.text)) }
                            }
                            p.help { (t(s.help)) }
                        }
                    }
                }
            }
        }
    }
}

fn card(which: Icon, label: &str, n: u64, href: &str) -> Markup {
    html! {
        a.stat href=(href) {
            span.stat-label { (icon(which)) " " (label) }
            span.stat-value { (n) }
        }
    }
}
