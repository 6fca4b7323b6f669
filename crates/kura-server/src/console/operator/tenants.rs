//! Tenants (TEN-1): the list, and opening a tenant with its first administrator, who is mailed a
//! single-use link to choose a password: the operator never sees or hands over a password.

use super::tenant_page::{console_url, status_label, time_zone_select};
use crate::console::extract::{OpCtx, OpPosted};
use crate::console::forms::Errors;
use crate::console::labels;
use crate::console::layout::{Head, Nav, op_page};
use crate::console::msg::Msg;
use crate::console::widgets::{Input, csrf, empty_state, new_button, notice_ok, notice_warn};
use crate::error::AppResult;
use crate::service::tenants::{self, AdminAccess, NewTenant};
use crate::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use kura_domain::{DisplayName, Email, FieldErrorKind, Language, Slug, Tenant, TimeZoneName, format_in_zone};
use maud::html;

pub async fn list(State(state): State<AppState>, ctx: OpCtx) -> AppResult<Response> {
    let t = |m: Msg| ctx.t(m);
    let list = state.store.tenants().await?;
    let deletions = state.store.tenant_deletions().await?;
    let date = |d: Option<jiff::civil::Date>| d.map(|d| d.to_string()).unwrap_or_else(|| "—".to_owned());
    let body = html! {
        @if let Some(warning) = clock_warning(crate::clock_sync::read(), ctx.lang) { (notice_warn(warning)) }
        @if let Some(warning) = certificate_warning(&state, &ctx) { (notice_warn(&warning)) }
        @if let Some(warning) = super::isolation::warning(&ctx, state.store.row_security()) { (warning) }
        @if list.is_empty() {
            (empty_state(t(Msg::NoTenantsYet), Some(("/operator/tenants/new", t(Msg::NewTenant)))))
        } @else {
            div.table-wrap { table.data {
                caption.visually-hidden { (t(Msg::NavTenants)) }
                thead { tr {
                    th scope="col" { (t(Msg::TenantName)) } th scope="col" { (t(Msg::TenantId)) }
                    th scope="col" { (t(Msg::Status)) }
                    th scope="col" { (t(Msg::TimeZone)) } th scope="col" { (t(Msg::ContractStart)) }
                    th scope="col" { (t(Msg::ContractEnd)) } th scope="col" { (t(Msg::CreatedAt)) }
                } }
                tbody { @for tn in &list { tr {
                    th scope="row" { a href={ "/operator/tenants/" (tn.id) } { (tn.display_name.as_str()) } }
                    td.mono { (tn.slug.as_str()) }
                    td { (status_label(tn.status, &ctx)) }
                    td.nowrap { (labels::time_zone_label(tn.time_zone.as_str(), ctx.lang)) }
                    td.nowrap { (date(tn.contract_start)) }
                    td.nowrap { (date(tn.contract_end)) }
                    td.nowrap { (format_in_zone(tn.created_at, &tn.time_zone)) }
                } } }
            } }
        }
        (super::deletions::section(&ctx, &deletions))
        (super::isolation::section(&ctx, state.store.row_security()))
    };
    let head =
        Head::new(Nav::Tenants, t(Msg::NavTenants)).actions(new_button("/operator/tenants/new", t(Msg::NewTenant)));
    Ok(op_page(&ctx, head, body).into_response())
}

/// Days before a certificate's expiry from which the operators are warned (DAT-1).
const CERTIFICATE_WARNING_DAYS: i64 = 30;

/// A warning when the served TLS certificate expires within 30 days, or has expired.
fn certificate_warning(state: &AppState, ctx: &OpCtx) -> Option<String> {
    let certs = state.tls.as_ref()?;
    let days = certs.days_left(state.clock.now());
    if days > CERTIFICATE_WARNING_DAYS {
        return None;
    }
    let date = certs.current().not_after.strftime("%Y-%m-%d %H:%M UTC").to_string();
    let msg = if days < 0 { Msg::CertificateExpired } else { Msg::CertificateExpiresSoon };
    Some(ctx.t(msg).replace("{days}", &days.to_string()).replace("{date}", &date))
}

fn form_page(ctx: &OpCtx, v: &NewTenant, errors: &Errors) -> Response {
    let t = |m: Msg| ctx.t(m);
    let lang = ctx.lang;
    let e = |n: &str| errors.get(n);
    let body = html! {
        (errors.summary(lang))
        form.card.stack method="post" action="/operator/tenants/new" {
            (csrf(&ctx.p.csrf_token))
            fieldset {
                legend { (t(Msg::Tenant)) }
                (Input { name: "display_name", label: t(Msg::TenantName), kind: "text", value: &v.display_name, required: true,
                    maxlength: Some(200), error: e("display_name"), ..Input::default() }.render(lang))
                (Input { name: "slug", label: t(Msg::TenantId), kind: "text", value: &v.slug, required: true, maxlength: Some(40),
                    help: Some(t(Msg::SlugHelp)), error: e("slug"), ..Input::default() }.render(lang))
                (time_zone_select(v.time_zone.as_deref().unwrap_or("Asia/Tokyo"), e("time_zone"), ctx))
                div.grid-2 {
                    (Input { name: "contract_start", label: t(Msg::ContractStart), kind: "date",
                        value: v.contract_start.as_deref().unwrap_or(""), error: e("contract_start"), ..Input::default() }.render(lang))
                    (Input { name: "contract_end", label: t(Msg::ContractEnd), kind: "date",
                        value: v.contract_end.as_deref().unwrap_or(""), error: e("contract_end"), ..Input::default() }.render(lang))
                }
            }
            fieldset {
                legend { (t(Msg::FirstAdmin)) }
                (Input { name: "admin_name", label: t(Msg::DisplayName), kind: "text", value: &v.admin_name, required: true,
                    maxlength: Some(200), error: e("admin_name"), ..Input::default() }.render(lang))
                (Input { name: "admin_email", label: t(Msg::Email), kind: "email", value: &v.admin_email, required: true,
                    help: Some(t(Msg::AdminPasswordHelp)), error: e("admin_email"), ..Input::default() }.render(lang))
                (crate::console::widgets::select("admin_language", t(Msg::MailLanguage), &languages(),
                    v.admin_language.unwrap_or_default().code(), None, None, lang))
            }
            div.actions {
                button.btn.btn-primary type="submit" { (t(Msg::CreateTenant)) }
                a.btn.btn-ghost href="/operator" { (t(Msg::Cancel)) }
            }
        }
    };
    let head = Head::new(Nav::Tenants, t(Msg::NewTenant)).crumb(t(Msg::NavTenants), "/operator");
    (errors.status(), op_page(ctx, head, body)).into_response()
}

fn languages() -> Vec<(String, String)> {
    vec![("ja".to_owned(), "日本語".to_owned()), ("en".to_owned(), "English".to_owned())]
}

pub async fn new_form(ctx: OpCtx) -> Response {
    form_page(&ctx, &NewTenant::default(), &Errors::default())
}

fn precheck(v: &NewTenant, ctx: &OpCtx, errors: &mut Errors) {
    let t = |m: Msg| ctx.t(m);
    if Slug::parse(&v.slug).is_err() {
        errors.add("slug", t(Msg::SlugRule));
    }
    if DisplayName::parse(&v.display_name).is_err() {
        errors.add("display_name", t(Msg::NameRule));
    }
    if v.time_zone.as_deref().is_some_and(|z| TimeZoneName::parse(z).is_err()) {
        errors.add("time_zone", t(Msg::TimeZoneRule));
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
        errors.add("contract_end", t(Msg::ContractEndBeforeStart));
    }
    if DisplayName::parse(&v.admin_name).is_err() {
        errors.add("admin_name", t(Msg::NameRule));
    }
    if Email::parse(&v.admin_email).is_err() {
        errors.add("admin_email", labels::field_error(&FieldErrorKind::InvalidEmail, ctx.lang));
    }
}

pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    OpPosted { ctx, form }: OpPosted,
) -> AppResult<Response> {
    let opt = |n: &str| form.opt(n).map(str::to_owned);
    let input = || NewTenant {
        slug: form.get("slug").trim().to_owned(),
        display_name: form.get("display_name").trim().to_owned(),
        time_zone: opt("time_zone"),
        contract_start: opt("contract_start"),
        contract_end: opt("contract_end"),
        admin_email: form.get("admin_email").trim().to_owned(),
        admin_name: form.get("admin_name").trim().to_owned(),
        admin_language: Language::parse(form.get("admin_language")),
    };
    let mut errors = Errors::default();
    precheck(&input(), &ctx, &mut errors);
    if errors.is_empty() {
        match tenants::create_tenant_with(&state, ctx.p.actor.clone(), input(), AdminAccess::SetupLink).await {
            Ok((tenant, admin, _)) => return Ok(created_page(&state, &ctx, &headers, &tenant, admin.email.as_str())),
            Err(e) => errors.absorb(e, ctx.lang, Some("slug"))?,
        }
    }
    Ok(form_page(&ctx, &input(), &errors))
}

/// What the operator tells the new tenant: where to sign in, and that the administrator has a
/// setup link in their mail.
fn created_page(state: &AppState, ctx: &OpCtx, headers: &HeaderMap, tenant: &Tenant, email: &str) -> Response {
    let t = |m: Msg| ctx.t(m);
    let (url, _) = console_url(state, headers, tenant);
    let sent = t(Msg::SetupLinkSent)
        .replace("{email}", email)
        .replace("{hours}", &state.settings.links.setup_hours.to_string());
    let body = html! {
        (notice_ok(t(Msg::TenantCreated)))
        div.card.stack {
            p { (sent) }
            dl.handover {
                dt { (t(Msg::ConsoleUrl)) } dd { a.mono href=(url) { (url) } }
                dt { (t(Msg::TenantId)) } dd.mono { (tenant.slug.as_str()) }
                dt { (t(Msg::Email)) } dd.mono { (email) }
            }
            p.help { (t(Msg::SetupLinkHelp)) }
            p { a.btn.btn-primary href="/operator" { (t(Msg::BackToOperator)) } }
        }
    };
    let head = Head::new(Nav::Tenants, tenant.display_name.as_str()).crumb(t(Msg::NavTenants), "/operator");
    op_page(ctx, head, body).into_response()
}

/// The warning the operator's first page shows while the system clock is not synchronised
/// (LOG-4): log times would drift from the truth.
pub(crate) fn clock_warning(
    sync: crate::clock_sync::ClockSync,
    lang: crate::console::i18n::Lang,
) -> Option<&'static str> {
    (sync == crate::clock_sync::ClockSync::Unsynchronised).then(|| Msg::ClockUnsynchronised.text(lang))
}

#[cfg(test)]
mod clock_tests {
    use super::clock_warning;
    use crate::clock_sync::ClockSync;
    use crate::console::i18n::Lang;

    #[test]
    fn log_4_the_operator_console_warns_only_when_the_clock_is_not_synchronised() {
        assert!(clock_warning(ClockSync::Unsynchronised, Lang::En).is_some_and(|w| w.contains("NTP")));
        assert!(clock_warning(ClockSync::Unsynchronised, Lang::Ja).is_some_and(|w| w.contains("時刻")));
        assert_eq!(clock_warning(ClockSync::Synchronised, Lang::En), None);
        assert_eq!(clock_warning(ClockSync::Unknown, Lang::En), None);
    }
}
