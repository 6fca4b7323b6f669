//! The start page: the tenant, what the user may see at a glance, and recent activity.

use super::audit::entries_table;
use crate::console::extract::Ctx;
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

pub async fn show(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let p = &ctx.p;
    let t = |m: Msg| ctx.t(m);
    let mut cards: Vec<Markup> = Vec::new();
    if p.can(Permission::RecordsRead) {
        let list = collections::list(&state, p).await?;
        // Counting reads tenant data, so it goes through the permission it needs (a Granted).
        let g = p.require(Permission::RecordsRead)?;
        let mut records = 0;
        for c in &list {
            records += state.store.record_count(g.tenant_id(), c.id).await?;
        }
        cards.push(card(Icon::Table, t(Msg::NavCollections), list.len() as u64, "/console/collections"));
        cards.push(card(Icon::Table, t(Msg::RecordsTotal), records, "/console/collections"));
    }
    if p.can(Permission::UsersManage) {
        let n = users::list(&state, p).await?.len() as u64;
        cards.push(card(Icon::Users, t(Msg::NavUsers), n, "/console/users"));
    }
    let recent = if p.can(Permission::AuditRead) {
        let filter = audit::to_filter(&AuditParams { limit: Some(10), ..AuditParams::default() })?;
        Some(audit::list(&state, p, &filter).await?)
    } else {
        None
    };
    let body = html! {
        p.lead { (p.tenant().display_name.as_str()) }
        p.muted {
            (t(Msg::TimeZone)) ": " (p.tenant().time_zone.as_str())
        }
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
                (entries_table(&ctx, &entries, true))
            }
        }
    };
    Ok(page(&ctx, Head::new(Nav::Dashboard, t(Msg::NavDashboard)), body).into_response())
}

fn card(which: Icon, label: &str, n: u64, href: &str) -> Markup {
    html! {
        a.stat href=(href) {
            span.stat-label { (icon(which)) " " (label) }
            span.stat-value { (n) }
        }
    }
}
