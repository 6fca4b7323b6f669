//! The tenant's break-glass page (IAM-13): whether an operator's access waits for an
//! administrator's approval, the requests waiting for it (approve or refuse), the access in
//! force (end it now), and the history: who, why, from and to, and who approved. The table is
//! shared with the operator console, which shows the same facts of its own accesses.

use crate::console::extract::{Ctx, Posted};
use crate::console::i18n::Lang;
use crate::console::layout::{Head, Nav, page};
use crate::console::msg::Msg;
use crate::console::widgets::{checkbox, csrf, empty_state, post_button};
use crate::error::{AppError, AppResult};
use crate::service::{break_glass, security};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use kura_domain::{BreakGlass, BreakGlassStatus};
use maud::{Markup, html};
use uuid::Uuid;

const HERE: &str = "/console/settings/break-glass";

/// The status of an access in words, with its badge's class.
pub fn status_label(g: &BreakGlass, lang: Lang) -> (&'static str, &'static str) {
    match g.status {
        BreakGlassStatus::Pending => (Msg::BreakGlassPending.text(lang), "status-suspended"),
        BreakGlassStatus::Active => (Msg::BreakGlassActive.text(lang), "status-active"),
        BreakGlassStatus::Refused => (Msg::BreakGlassRefused.text(lang), "status-disabled"),
        BreakGlassStatus::Ended => (Msg::BreakGlassEnded.text(lang), "status-disabled"),
        BreakGlassStatus::Expired => (Msg::BreakGlassExpired.text(lang), "status-disabled"),
    }
}

/// Who approved or refused, or that no approval was needed.
pub fn approval_text(g: &BreakGlass, lang: Lang) -> String {
    match (&g.decided_by, g.status) {
        (Some(who), BreakGlassStatus::Refused) => Msg::BreakGlassRefusedBy.text(lang).replace("{who}", who),
        (Some(who), _) => Msg::BreakGlassApprovedBy.text(lang).replace("{who}", who),
        (None, _) if !g.approval_required => Msg::BreakGlassNotNeeded.text(lang).to_owned(),
        (None, _) => "—".to_owned(),
    }
}

/// "from – to", and how it ended, with times by `time` (the tenant's zone).
pub fn period_text(g: &BreakGlass, lang: Lang, time: &dyn Fn(jiff::Timestamp) -> String) -> String {
    let Some(from) = g.starts_at else { return "—".to_owned() };
    let to = g.ended_at.filter(|_| g.status == BreakGlassStatus::Ended).or(g.ends_at).map(time).unwrap_or_default();
    let mut text = format!("{} – {to}", time(from));
    if g.status == BreakGlassStatus::Ended {
        let how = match g.ended_by.as_deref() {
            Some("expiry") | None => Msg::BreakGlassEndedByExpiry.text(lang).to_owned(),
            Some(who) => Msg::BreakGlassEndedBy.text(lang).replace("{who}", who),
        };
        text.push_str(&format!(" ({how})"));
    }
    text
}

/// A table of accesses; `actions` draws the last cell of each row.
pub fn table(
    grants: &[BreakGlass],
    lang: Lang,
    time: &dyn Fn(jiff::Timestamp) -> String,
    id: &str,
    actions: &dyn Fn(&BreakGlass) -> Markup,
) -> Markup {
    let t = |m: Msg| m.text(lang);
    html! {
        div.table-wrap { table.data id=(id) {
            thead { tr {
                th scope="col" { (t(Msg::BreakGlassRequested)) }
                th scope="col" { (t(Msg::BreakGlassOperator)) }
                th scope="col" { (t(Msg::BreakGlassReason)) }
                th scope="col" { (t(Msg::BreakGlassStatusCol)) }
                th scope="col" { (t(Msg::BreakGlassFromTo)) }
                th scope="col" { (t(Msg::BreakGlassApproval)) }
                th scope="col" { span.visually-hidden { (t(Msg::Actions)) } }
            } }
            tbody { @for g in grants {
                @let (status, class) = status_label(g, lang);
                tr {
                    td.nowrap { (time(g.requested_at)) }
                    td { (g.operator) }
                    td { (g.reason) }
                    td { span class={ "badge " (class) } { (status) } }
                    td { (period_text(g, lang, time)) }
                    td { (approval_text(g, lang)) }
                    td { (actions(g)) }
                }
            } }
        } }
    }
}

pub async fn show(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let grants = break_glass::list(&state, &ctx.p).await?;
    let required = security::get(&state, &ctx.p).await?.break_glass_approval;
    let t = |m: Msg| ctx.t(m);
    let lang = ctx.lang;
    let time = |ts: jiff::Timestamp| ctx.time(ts);
    let pending: Vec<BreakGlass> = grants.iter().filter(|g| g.status == BreakGlassStatus::Pending).cloned().collect();
    let active: Vec<BreakGlass> = grants.iter().filter(|g| g.status == BreakGlassStatus::Active).cloned().collect();
    let token = ctx.csrf().to_owned();
    let decide = |g: &BreakGlass| {
        html! {
            div.actions {
                form method="post" action={ (HERE) "/" (g.id) "/approve" } {
                    (csrf(&token))
                    button.btn.btn-primary.btn-small type="submit" title=(t(Msg::BreakGlassConfirmApprove)) {
                        (t(Msg::BreakGlassApprove))
                    }
                }
                (post_button(&format!("{HERE}/{}/refuse", g.id), &token, t(Msg::BreakGlassRefuse), "btn btn-danger-outline btn-small"))
            }
        }
    };
    let end = |g: &BreakGlass| {
        html! {
            form method="post" action={ (HERE) "/" (g.id) "/end" } {
                (csrf(&token))
                button.btn.btn-danger.btn-small type="submit" title=(t(Msg::BreakGlassConfirmEnd)) { (t(Msg::BreakGlassEndNow)) }
            }
        }
    };
    let nothing = |_: &BreakGlass| html! {};
    let body = html! {
        p.muted { (t(Msg::BreakGlassTenantHelp)) }
        section.section {
            form.card.stack method="post" action=(HERE) {
                (csrf(&token))
                (checkbox("approval", "on", t(Msg::BreakGlassPolicy), required, false, Some(t(Msg::BreakGlassPolicyHelp))))
                div.actions { button.btn.btn-primary type="submit" { (t(Msg::Save)) } }
            }
        }
        @if !pending.is_empty() {
            section.section {
                h2 { (t(Msg::BreakGlassPendingTitle)) }
                (table(&pending, lang, &time, "break-glass-pending", &decide))
            }
        }
        @if !active.is_empty() {
            section.section {
                h2 { (t(Msg::BreakGlassActiveTitle)) }
                (table(&active, lang, &time, "break-glass-active", &end))
            }
        }
        section.section {
            h2 { (t(Msg::BreakGlassHistory)) }
            @if grants.is_empty() {
                (empty_state(t(Msg::BreakGlassNone), None))
            } @else {
                (table(&grants, lang, &time, "break-glass-history", &nothing))
            }
        }
    };
    let head = Head::new(Nav::BreakGlass, t(Msg::BreakGlassTitle));
    Ok(page(&ctx, head, body).into_response())
}

pub async fn save_policy(State(state): State<AppState>, Posted { ctx, form }: Posted) -> AppResult<Response> {
    break_glass::set_approval(&state, &ctx.p, form.has("approval")).await?;
    Ok(Redirect::to(&format!("{HERE}?done=saved")).into_response())
}

fn parse_id(id: &str) -> AppResult<Uuid> {
    id.parse().map_err(|_| AppError::NotFound("break-glass access"))
}

pub async fn approve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { ctx, .. }: Posted,
) -> AppResult<Response> {
    break_glass::approve(&state, &ctx.p, parse_id(&id)?).await?;
    Ok(Redirect::to(&format!("{HERE}?done=bgapproved")).into_response())
}

pub async fn refuse(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { ctx, .. }: Posted,
) -> AppResult<Response> {
    break_glass::refuse(&state, &ctx.p, parse_id(&id)?).await?;
    Ok(Redirect::to(&format!("{HERE}?done=bgrefused")).into_response())
}

pub async fn end(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { ctx, .. }: Posted,
) -> AppResult<Response> {
    break_glass::end_by_tenant(&state, &ctx.p, parse_id(&id)?).await?;
    Ok(Redirect::to(&format!("{HERE}?done=bgended")).into_response())
}
