//! Pages for signed-out visitors around passwords (TEN-1, IAM-7): the page a setup or reset link
//! opens (the tenant's rules stated before typing, each broken rule named after), and "forgot
//! password", which answers the same whatever address is given.

use crate::console::extract::{LoginPost, PageLang};
use crate::console::forms::Errors;
use crate::console::i18n::Lang;
use crate::console::labels;
use crate::console::layout::bare;
use crate::console::msg::Msg;
use crate::console::widgets::{Input, notice_ok};
use crate::error::{AppError, AppResult};
use crate::service::links::{self, LinkCompletion, LinkInfo};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kura_domain::format_in_zone;
use kura_store::LinkPurpose;
use maud::html;

fn here(purpose: LinkPurpose, token: &str) -> String {
    match purpose {
        LinkPurpose::Setup => format!("/console/setup/{token}"),
        LinkPurpose::Reset => format!("/console/reset/{token}"),
    }
}

fn title(purpose: LinkPurpose) -> Msg {
    match purpose {
        LinkPurpose::Setup => Msg::SetupTitle,
        LinkPurpose::Reset => Msg::ResetTitle,
    }
}

/// The form to choose a password through a link.
fn form(lang: Lang, purpose: LinkPurpose, token: &str, info: &LinkInfo, errors: &Errors) -> Response {
    let t = |m: Msg| m.text(lang);
    let action = here(purpose, token);
    let expires = format_in_zone(info.expires_at, &info.tenant.time_zone);
    let rules = info.policy.password.rules();
    let body = html! {
        (errors.summary(lang))
        dl.handover {
            dt { (t(Msg::Tenant)) } dd { (info.tenant.display_name.as_str()) }
            dt { (t(Msg::Email)) } dd.mono { (info.user.email.as_str()) }
        }
        p.help { (t(Msg::LinkValidUntil).replace("{time}", &expires)) }
        form.stack method="post" action=(action) {
            div.rules {
                p { (t(Msg::PasswordRulesIntro)) }
                ul { @for r in &rules { li { (labels::password_rule(*r, lang)) } } }
            }
            (Input { name: "new_password", label: t(Msg::NewPassword), kind: "password", value: "", required: true,
                maxlength: Some(info.policy.password.max_length), error: errors.get("new_password"),
                autocomplete: Some("new-password"), ..Input::default() }.render(lang))
            (Input { name: "confirm_password", label: t(Msg::ConfirmPassword), kind: "password", value: "",
                required: true, error: errors.get("confirm_password"), autocomplete: Some("new-password"),
                ..Input::default() }.render(lang))
            button.btn.btn-primary.btn-block type="submit" { (t(Msg::SetPasswordButton)) }
        }
    };
    (errors.status(), bare(lang, &action, Some(t(Msg::TenantConsole)), t(title(purpose)), body)).into_response()
}

/// A link that is unknown, used or expired: said plainly, with the way forward.
fn gone(lang: Lang, purpose: LinkPurpose) -> Response {
    let t = |m: Msg| m.text(lang);
    let body = html! {
        p.lead { (t(Msg::LinkInvalid)) }
        p { (t(match purpose { LinkPurpose::Setup => Msg::LinkInvalidSetup, LinkPurpose::Reset => Msg::LinkInvalidReset })) }
        p { a.btn.btn-primary href="/console/forgot" { (t(Msg::ForgotPassword)) } }
    };
    (StatusCode::NOT_FOUND, bare(lang, "/console/forgot", Some(t(Msg::TenantConsole)), t(title(purpose)), body))
        .into_response()
}

async fn show(state: &AppState, lang: Lang, purpose: LinkPurpose, token: &str) -> AppResult<Response> {
    match links::link_info(state, token, purpose).await {
        Ok(info) => Ok(form(lang, purpose, token, &info, &Errors::default())),
        Err(AppError::NotFound(_)) => Ok(gone(lang, purpose)),
        Err(e) => Err(e),
    }
}

pub async fn setup_form(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    Path(token): Path<String>,
) -> AppResult<Response> {
    show(&state, lang, LinkPurpose::Setup, &token).await
}

pub async fn reset_form(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    Path(token): Path<String>,
) -> AppResult<Response> {
    show(&state, lang, LinkPurpose::Reset, &token).await
}

async fn complete(state: &AppState, purpose: LinkPurpose, token: String, post: LoginPost) -> AppResult<Response> {
    let LoginPost { lang, client, form: data } = post;
    let info = match links::link_info(state, &token, purpose).await {
        Ok(info) => info,
        Err(AppError::NotFound(_)) => return Ok(gone(lang, purpose)),
        Err(e) => return Err(e),
    };
    let mut errors = Errors::default();
    if data.get("new_password") != data.get("confirm_password") {
        errors.add("confirm_password", Msg::PasswordsDiffer.text(lang));
        return Ok(form(lang, purpose, &token, &info, &errors));
    }
    let completion = LinkCompletion { token: token.clone(), new_password: data.get("new_password").to_owned() };
    match links::complete(state, purpose, completion, &client).await {
        Ok(tenant) => Ok(Redirect::to(&format!("/console/login?tenant={}&set=1", tenant.slug)).into_response()),
        Err(AppError::NotFound(_)) => Ok(gone(lang, purpose)),
        Err(AppError::Validation(list)) => {
            for e in list {
                let text = labels::field_error(&e.kind, lang);
                let joined = errors.get(&e.field).map_or_else(|| text.clone(), |before| format!("{before} {text}"));
                errors.replace(&e.field, joined);
            }
            Ok(form(lang, purpose, &token, &info, &errors))
        }
        Err(e) => Err(e),
    }
}

pub async fn setup(State(state): State<AppState>, Path(token): Path<String>, post: LoginPost) -> AppResult<Response> {
    complete(&state, LinkPurpose::Setup, token, post).await
}

pub async fn reset(State(state): State<AppState>, Path(token): Path<String>, post: LoginPost) -> AppResult<Response> {
    complete(&state, LinkPurpose::Reset, token, post).await
}

fn forgot_page(lang: Lang, tenant: &str, sent: bool) -> Response {
    let t = |m: Msg| m.text(lang);
    let body = html! {
        @if sent { (notice_ok(t(Msg::ResetRequested))) }
        p.muted { (t(Msg::ForgotIntro)) }
        form.stack method="post" action="/console/forgot" {
            (Input { name: "tenant", label: t(Msg::TenantId), kind: "text", value: tenant, required: true,
                help: Some(t(Msg::TenantIdHelp)), autocomplete: Some("organization"), ..Input::default() }.render(lang))
            (Input { name: "email", label: t(Msg::Email), kind: "email", value: "", required: true,
                autocomplete: Some("username"), ..Input::default() }.render(lang))
            button.btn.btn-primary.btn-block type="submit" { (t(Msg::SendResetLink)) }
        }
        p { a href="/console/login" { (t(Msg::BackToLogin)) } }
    };
    bare(lang, "/console/forgot", Some(t(Msg::TenantConsole)), t(Msg::ForgotPassword), body).into_response()
}

pub async fn forgot_form(PageLang(lang): PageLang) -> Response {
    forgot_page(lang, "", false)
}

/// Always the same answer, at once: whether the address exists is not said, nor shown by time.
pub async fn forgot(State(state): State<AppState>, post: LoginPost) -> Response {
    let LoginPost { lang, client, form } = post;
    let tenant = form.get("tenant").trim();
    links::request_reset(&state, tenant, form.get("email"), &client);
    forgot_page(lang, tenant, true)
}
