//! Break-glass access from the operator's side (IAM-13): the form on a tenant's page (reason
//! and duration), that tenant's accesses with "open the console" and "end now" for one's own
//! active access, and an overview of every tenant's pending and active accesses. Opening the
//! console puts a support session of the access into the browser's tenant-console cookie: the
//! tenant console then works read-only for it until the access ends.

use crate::auth::SESSION_COOKIE;
use crate::console::cookies;
use crate::console::extract::{OpCtx, OpPosted};
use crate::console::forms::Errors;
use crate::console::layout::{Head, Nav, op_page};
use crate::console::msg::Msg;
use crate::console::pages::break_glass::table;
use crate::console::widgets::{Input, csrf, empty_state, notice_warn};
use crate::error::{AppError, AppResult};
use crate::service::break_glass;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use kura_domain::{BreakGlass, BreakGlassStatus, Tenant, TenantId, format_in_zone};
use maud::{Markup, html};
use uuid::Uuid;

/// What the operator typed into the form, kept when it is shown again with its errors.
#[derive(Debug, Default)]
pub struct Typed<'a> {
    pub reason: &'a str,
    pub minutes: &'a str,
}

/// The section of a tenant's page: the form, and the accesses to the tenant.
pub fn section(
    ctx: &OpCtx,
    tn: &Tenant,
    grants: &[BreakGlass],
    approval_required: bool,
    typed: &Typed<'_>,
    errors: &Errors,
) -> Markup {
    let t = |m: Msg| ctx.t(m);
    let lang = ctx.lang;
    let here = format!("/operator/tenants/{}/break-glass", tn.id);
    let time = |ts: jiff::Timestamp| format_in_zone(ts, &tn.time_zone);
    let me = ctx.p.operator.id.as_uuid();
    let token = ctx.p.csrf_token.clone();
    let actions = |g: &BreakGlass| {
        html! {
            @if g.status == BreakGlassStatus::Active && g.operator_id == me {
                div.actions {
                    form method="post" action={ (here) "/" (g.id) "/open" } {
                        (csrf(&token))
                        button.btn.btn-primary.btn-small type="submit" { (t(Msg::BreakGlassOpen)) }
                    }
                    form method="post" action={ (here) "/" (g.id) "/end" } {
                        (csrf(&token))
                        button.btn.btn-danger-outline.btn-small type="submit" title=(t(Msg::BreakGlassConfirmEnd)) {
                            (t(Msg::BreakGlassEndNow))
                        }
                    }
                }
            }
        }
    };
    html! {
        section.section #break-glass {
            h2 { (t(Msg::BreakGlassTitle)) }
            p.help { (t(Msg::BreakGlassOperatorHelp)) }
            @if approval_required { (notice_warn(t(Msg::BreakGlassApprovalNote))) }
            form.card.stack method="post" action=(here) {
                (csrf(&ctx.p.csrf_token))
                (Input { name: "bg_reason", label: t(Msg::BreakGlassReason), kind: "text", value: typed.reason,
                    required: true, maxlength: Some(500), help: Some(t(Msg::BreakGlassReasonHelp)),
                    error: errors.get("bg_reason"), ..Input::default() }.render(lang))
                (Input { name: "bg_minutes", label: t(Msg::BreakGlassMinutes), kind: "number",
                    value: if typed.minutes.is_empty() { "60" } else { typed.minutes }, required: true,
                    help: Some(t(Msg::BreakGlassMinutesHelp)), error: errors.get("bg_minutes"), ..Input::default() }.render(lang))
                div.actions { button.btn.btn-danger type="submit" { (t(Msg::BreakGlassStart)) } }
            }
            @if grants.is_empty() {
                (empty_state(t(Msg::BreakGlassNone), None))
            } @else {
                (table(grants, lang, &time, "break-glass-accesses", &actions))
            }
        }
    }
}

fn parse(id: &str, what: &'static str) -> AppResult<Uuid> {
    id.parse().map_err(|_| AppError::NotFound(what))
}

async fn tenant(state: &AppState, id: &str) -> AppResult<Tenant> {
    state.store.tenant(TenantId::from_uuid(parse(id, "tenant")?)).await?.ok_or(AppError::NotFound("tenant"))
}

/// Starts (or, where the tenant requires approval, requests) an access. Mistakes are shown
/// beside the form on the tenant's page; nothing is stored then.
pub async fn start(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    OpPosted { ctx, form }: OpPosted,
) -> AppResult<Response> {
    let tn = tenant(&state, &id).await?;
    let typed = Typed { reason: form.get("bg_reason"), minutes: form.get("bg_minutes") };
    match break_glass::request(&state, &ctx.p, tn.id, typed.reason, typed.minutes).await {
        Ok(g) => {
            let done = if g.status == BreakGlassStatus::Pending { "bgrequested" } else { "bgstarted" };
            Ok(Redirect::to(&format!("/operator/tenants/{}?done={done}#break-glass", tn.id)).into_response())
        }
        Err(AppError::Validation(list)) => {
            let renamed = list
                .into_iter()
                .map(|mut e| {
                    e.field = format!("bg_{}", e.field);
                    e
                })
                .collect();
            let mut errors = Errors::default();
            errors.absorb(AppError::Validation(renamed), ctx.lang, None)?;
            super::tenant_page::page_with(&state, &ctx, &headers, &tn, &typed, errors).await
        }
        Err(AppError::Conflict(d)) => {
            let mut errors = Errors::default();
            errors.absorb(AppError::Conflict(d), ctx.lang, None)?;
            super::tenant_page::page_with(&state, &ctx, &headers, &tn, &typed, errors).await
        }
        Err(e) => Err(e),
    }
}

/// Opens the tenant console under the operator's own active access (a new support session).
pub async fn open(
    State(state): State<AppState>,
    Path((id, access)): Path<(String, String)>,
    OpPosted { ctx, .. }: OpPosted,
) -> AppResult<Response> {
    let tn = tenant(&state, &id).await?;
    let token = break_glass::open_support(&state, &ctx.p, tn.id, parse(&access, "break-glass access")?).await?;
    let mut response = Redirect::to("/console").into_response();
    if let Some(cookie) = cookies::session(&state, SESSION_COOKIE, &token) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// Ends an access now.
pub async fn end(
    State(state): State<AppState>,
    Path((id, access)): Path<(String, String)>,
    OpPosted { ctx, .. }: OpPosted,
) -> AppResult<Response> {
    let tn = tenant(&state, &id).await?;
    break_glass::end_by_operator(&state, &ctx.p, tn.id, parse(&access, "break-glass access")?).await?;
    Ok(Redirect::to(&format!("/operator/tenants/{}?done=bgended#break-glass", tn.id)).into_response())
}

/// Every tenant's pending and active accesses.
pub async fn overview(State(state): State<AppState>, ctx: OpCtx) -> AppResult<Response> {
    let t = |m: Msg| ctx.t(m);
    let open = break_glass::open_everywhere(&state).await?;
    let tenants = state.store.tenants().await?;
    let zone = kura_domain::TimeZoneName::tokyo();
    let body = html! {
        p.help { (t(Msg::BreakGlassOperatorHelp)) }
        @if open.is_empty() {
            (empty_state(t(Msg::BreakGlassNoneOpen), None))
        } @else {
            div.table-wrap { table.data #break-glass-open {
                thead { tr {
                    th scope="col" { (t(Msg::BreakGlassTenant)) }
                    th scope="col" { (t(Msg::BreakGlassOperator)) }
                    th scope="col" { (t(Msg::BreakGlassReason)) }
                    th scope="col" { (t(Msg::BreakGlassStatusCol)) }
                    th scope="col" { (t(Msg::BreakGlassFromTo)) }
                } }
                tbody { @for g in &open {
                    @let tn = tenants.iter().find(|x| x.id == g.tenant_id);
                    @let (status, class) = crate::console::pages::break_glass::status_label(g, ctx.lang);
                    @let time = |ts: jiff::Timestamp| format_in_zone(ts, tn.map_or(&zone, |x| &x.time_zone));
                    tr {
                        td { a href={ "/operator/tenants/" (g.tenant_id) "#break-glass" } {
                            (tn.map_or_else(|| g.tenant_id.to_string(), |x| x.display_name.to_string()))
                        } }
                        td { (g.operator) }
                        td { (g.reason) }
                        td { span class={ "badge " (class) } { (status) } }
                        td { (crate::console::pages::break_glass::period_text(g, ctx.lang, &time)) }
                    }
                } }
            } }
        }
    };
    Ok(op_page(&ctx, Head::new(Nav::BreakGlass, t(Msg::BreakGlassOpenEverywhere)), body).into_response())
}
