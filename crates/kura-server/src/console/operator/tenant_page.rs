//! One tenant, for the operator (TEN-1): its sign-in address, its settings (name, time zone,
//! contract dates) to edit, and suspending or resuming it. A suspended tenant, or one outside
//! its contract, cannot sign in and is told why.

use super::break_glass::Typed;
use crate::console::extract::{OpCtx, OpPosted};
use crate::console::forms::Errors;
use crate::console::labels::{self, time_zone_label};
use crate::console::layout::{Head, Nav, op_page};
use crate::console::msg::Msg;
use crate::console::widgets::{Input, csrf, notice_warn, post_button};
use crate::error::{AppError, AppResult};
use crate::service::tenant_admin::{self, TenantChange};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use kura_domain::{DisplayName, FieldErrorKind, Tenant, TenantId, TenantStatus, format_in_zone};
use maud::{Markup, html};

fn parse_id(id: &str) -> AppResult<TenantId> {
    id.parse().map_err(|_| AppError::NotFound("tenant"))
}

async fn tenant(state: &AppState, id: &str) -> AppResult<Tenant> {
    state.store.tenant(parse_id(id)?).await?.ok_or(AppError::NotFound("tenant"))
}

/// The address where the tenant's people sign in: from the configured public URL, else from the
/// address this request came to (which a proxy in front may have changed): its `Host`, or this
/// node's listening address where there is none (HTTP/2), over HTTPS when Kura serves TLS.
pub fn console_url(state: &AppState, headers: &HeaderMap, t: &Tenant) -> (String, bool) {
    let path = format!("/console/login?tenant={}", t.slug);
    match state.settings.public_url.as_deref() {
        Some(base) => (format!("{}{path}", base.trim_end_matches('/')), true),
        None => {
            let scheme = if state.tls.is_some() { "https" } else { "http" };
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .map_or_else(|| state.settings.listen.to_string(), str::to_owned);
            (format!("{scheme}://{host}{path}"), false)
        }
    }
}

/// The time-zone picker: the named zones, and the current one if it is not among them.
pub fn time_zone_select(current: &str, error: Option<&str>, ctx: &OpCtx) -> Markup {
    let t = |m: Msg| ctx.t(m);
    let known = labels::TIME_ZONES.iter().any(|(z, _, _)| *z == current);
    html! {
        div.field.has-error[error.is_some()] {
            label for="f-time_zone" { (t(Msg::TimeZone)) }
            select #f-time_zone name="time_zone" aria-describedby="f-time_zone-help" {
                @if !known && !current.is_empty() { option value=(current) selected { (current) } }
                @for (zone, _, _) in labels::TIME_ZONES {
                    option value=(zone) selected[*zone == current] { (time_zone_label(zone, ctx.lang)) }
                }
            }
            p.help #f-time_zone-help { (t(Msg::TimeZoneHelp)) }
            @if let Some(e) = error { p.field-error { (e) } }
        }
    }
}

pub fn status_label(s: TenantStatus, ctx: &OpCtx) -> Markup {
    match s {
        TenantStatus::Active => html! { span.badge.status-active { (ctx.t(Msg::TenantActive)) } },
        TenantStatus::Suspended => html! { span.badge.status-suspended { (ctx.t(Msg::TenantSuspended)) } },
    }
}

fn render(
    state: &AppState,
    ctx: &OpCtx,
    headers: &HeaderMap,
    tn: &Tenant,
    v: &TenantChange,
    errors: &Errors,
    break_glass: Markup,
) -> Response {
    let t = |m: Msg| ctx.t(m);
    let lang = ctx.lang;
    let e = |n: &str| errors.get(n);
    let here = format!("/operator/tenants/{}", tn.id);
    let (url, configured) = console_url(state, headers, tn);
    let today = tn.today(state.clock.now());
    let access = tn.access_on(today).and_then(|()| tn.writable_on(today));
    let body = html! {
        (errors.summary(lang))
        section.card.stack {
            dl.handover {
                dt { (t(Msg::Status)) } dd { (status_label(tn.status, ctx)) }
                dt { (t(Msg::TenantId)) } dd.mono { (tn.slug.as_str()) }
                dt { (t(Msg::ConsoleUrl)) } dd { a.mono href=(url) { (url) }
                    @if !configured { p.help { (t(Msg::PublicUrlHelp)) } } }
                dt { (t(Msg::CreatedAt)) } dd { (format_in_zone(tn.created_at, &tn.time_zone)) }
                @if let Some(end) = tn.contract_end {
                    dt { (t(Msg::DataDeletedOn)) }
                    dd { (crate::erasure::due_date(end, state.settings.contract.grace_days).to_string()) }
                }
            }
            @if let Err(block) = access {
                (notice_warn(&labels::detail(&block.message(), lang)))
            }
        }
        section.section {
            h2 { (t(Msg::TenantSettings)) }
            form.card.stack method="post" action=(here) {
                (csrf(&ctx.p.csrf_token))
                (Input { name: "display_name", label: t(Msg::TenantName), kind: "text", value: &v.display_name, required: true,
                    maxlength: Some(200), error: e("display_name"), ..Input::default() }.render(lang))
                (time_zone_select(&v.time_zone, e("time_zone"), ctx))
                div.grid-2 {
                    (Input { name: "contract_start", label: t(Msg::ContractStart), kind: "date",
                        value: v.contract_start.as_deref().unwrap_or(""), error: e("contract_start"), ..Input::default() }.render(lang))
                    (Input { name: "contract_end", label: t(Msg::ContractEnd), kind: "date",
                        value: v.contract_end.as_deref().unwrap_or(""), error: e("contract_end"), ..Input::default() }.render(lang))
                }
                p.help { (t(Msg::ContractHelp)) }
                div.actions {
                    button.btn.btn-primary type="submit" { (t(Msg::Save)) }
                    a.btn.btn-ghost href="/operator" { (t(Msg::Cancel)) }
                }
            }
        }
        section.section {
            h2 { (t(Msg::ResetAddressesTitle)) }
            p.help { (t(Msg::ResetAddressesHelp)) }
            form.card.stack method="post" action={ (here) "/address-lists/reset" } {
                (csrf(&ctx.p.csrf_token))
                (Input { name: "reason", label: t(Msg::ResetAddressesReason), kind: "text", value: "", required: true,
                    maxlength: Some(500), error: e("reason"), ..Input::default() }.render(lang))
                div.actions { button.btn.btn-danger-outline type="submit" { (t(Msg::ResetAddressesButton)) } }
            }
        }
        (break_glass)
        section.section.danger-zone {
            @match tn.status {
                TenantStatus::Active => {
                    h2 { (t(Msg::SuspendTenant)) }
                    p.help { (t(Msg::SuspendHelp)) }
                    a.btn.btn-danger-outline href={ (here) "/suspend" } { (t(Msg::SuspendTenant)) }
                },
                TenantStatus::Suspended => {
                    h2 { (t(Msg::ResumeTenant)) }
                    p.help { (t(Msg::ResumeHelp)) }
                    (post_button(&format!("{here}/resume"), &ctx.p.csrf_token, t(Msg::ResumeTenant), "btn btn-primary"))
                },
            }
        }
    };
    let head = Head::new(Nav::Tenants, tn.display_name.as_str()).crumb(t(Msg::NavTenants), "/operator");
    (errors.status(), op_page(ctx, head, body)).into_response()
}

pub async fn show(
    State(state): State<AppState>,
    ctx: OpCtx,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let tn = tenant(&state, &id).await?;
    page_with(&state, &ctx, &headers, &tn, &Typed::default(), Errors::default()).await
}

/// The break-glass section of the page (IAM-13), with what was typed into its form.
async fn break_glass_section(
    state: &AppState,
    ctx: &OpCtx,
    tn: &Tenant,
    typed: &Typed<'_>,
    errors: &Errors,
) -> AppResult<Markup> {
    let grants = crate::service::break_glass::of_tenant(state, tn.id).await?;
    let approval = crate::service::security::policy_of(state, tn.id).await?.break_glass_approval;
    Ok(super::break_glass::section(ctx, tn, &grants, approval, typed, errors))
}

/// The page with the tenant's settings as stored, and the break-glass form as typed.
pub(super) async fn page_with(
    state: &AppState,
    ctx: &OpCtx,
    headers: &HeaderMap,
    tn: &Tenant,
    typed: &Typed<'_>,
    errors: Errors,
) -> AppResult<Response> {
    let bg = break_glass_section(state, ctx, tn, typed, &errors).await?;
    Ok(render(state, ctx, headers, tn, &TenantChange::of(tn), &errors, bg))
}

pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    OpPosted { ctx, form }: OpPosted,
) -> AppResult<Response> {
    let tn = tenant(&state, &id).await?;
    let change = TenantChange {
        display_name: form.get("display_name").trim().to_owned(),
        time_zone: form.get("time_zone").trim().to_owned(),
        contract_start: form.opt("contract_start").map(str::to_owned),
        contract_end: form.opt("contract_end").map(str::to_owned),
    };
    let mut errors = Errors::default();
    precheck(&change, &ctx, &mut errors);
    if errors.is_empty() {
        match tenant_admin::update(&state, ctx.p.actor.clone(), tn.id, change.clone()).await {
            Ok(saved) => return Ok(Redirect::to(&format!("/operator/tenants/{}?done=saved", saved.id)).into_response()),
            Err(e) => errors.absorb(e, ctx.lang, None)?,
        }
    }
    let bg = break_glass_section(&state, &ctx, &tn, &Typed::default(), &errors).await?;
    Ok(render(&state, &ctx, &headers, &tn, &change, &errors, bg))
}

/// Explains mistakes beside their inputs before the service is asked.
fn precheck(v: &TenantChange, ctx: &OpCtx, errors: &mut Errors) {
    if DisplayName::parse(&v.display_name).is_err() {
        errors.add("display_name", ctx.t(Msg::NameRule));
    }
    if kura_domain::TimeZoneName::parse(&v.time_zone).is_err() {
        errors.add("time_zone", ctx.t(Msg::TimeZoneRule));
    }
    let bad_date = labels::field_error(&FieldErrorKind::InvalidDate, ctx.lang);
    let start = v.contract_start.as_deref().map(str::parse::<jiff::civil::Date>);
    let end = v.contract_end.as_deref().map(str::parse::<jiff::civil::Date>);
    if matches!(start, Some(Err(_))) {
        errors.add("contract_start", bad_date.clone());
    }
    if matches!(end, Some(Err(_))) {
        errors.add("contract_end", bad_date);
    }
    if let (Some(Ok(s)), Some(Ok(e))) = (start, end)
        && e < s
    {
        errors.add("contract_end", ctx.t(Msg::ContractEndBeforeStart));
    }
}

pub async fn confirm_suspend(State(state): State<AppState>, ctx: OpCtx, Path(id): Path<String>) -> AppResult<Response> {
    let tn = tenant(&state, &id).await?;
    let t = |m: Msg| ctx.t(m);
    let here = format!("/operator/tenants/{}", tn.id);
    let body = html! {
        div.card.confirm {
            p.lead { (t(Msg::ConfirmSuspend).replace("{name}", tn.display_name.as_str())) }
            (notice_warn(t(Msg::SuspendHelp)))
            form.actions method="post" action={ (here) "/suspend" } {
                (csrf(&ctx.p.csrf_token))
                button.btn.btn-danger type="submit" { (t(Msg::SuspendTenant)) }
                a.btn.btn-ghost href=(here) { (t(Msg::Cancel)) }
            }
        }
    };
    let head = Head::new(Nav::Tenants, t(Msg::SuspendTenant))
        .crumb(t(Msg::NavTenants), "/operator")
        .crumb(tn.display_name.as_str(), here.clone());
    Ok(op_page(&ctx, head, body).into_response())
}

async fn set_status(state: &AppState, ctx: &OpCtx, id: &str, status: TenantStatus, done: &str) -> AppResult<Response> {
    let tn = tenant(state, id).await?;
    tenant_admin::set_status(state, ctx.p.actor.clone(), tn.id, status).await?;
    Ok(Redirect::to(&format!("/operator/tenants/{}?done={done}", tn.id)).into_response())
}

pub async fn suspend(
    State(state): State<AppState>,
    Path(id): Path<String>,
    OpPosted { ctx, .. }: OpPosted,
) -> AppResult<Response> {
    set_status(&state, &ctx, &id, TenantStatus::Suspended, "suspended").await
}

pub async fn resume(
    State(state): State<AppState>,
    Path(id): Path<String>,
    OpPosted { ctx, .. }: OpPosted,
) -> AppResult<Response> {
    set_status(&state, &ctx, &id, TenantStatus::Active, "resumed").await
}

/// Empties the tenant's address lists (IAM-10), for a tenant that locked itself out; written to
/// the tenant's own log with the operator and the reason.
pub async fn reset_address_lists(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    OpPosted { ctx, form }: OpPosted,
) -> AppResult<Response> {
    let tn = tenant(&state, &id).await?;
    match crate::service::security::reset_address_lists(&state, &ctx.p, tn.id, form.get("reason")).await {
        Ok(true) => Ok(Redirect::to(&format!("/operator/tenants/{}?done=addresses", tn.id)).into_response()),
        Ok(false) => Ok(Redirect::to(&format!("/operator/tenants/{}?done=noaddresses", tn.id)).into_response()),
        Err(e) => {
            let mut errors = Errors::default();
            errors.absorb(e, ctx.lang, None)?;
            page_with(&state, &ctx, &headers, &tn, &Typed::default(), errors).await
        }
    }
}
