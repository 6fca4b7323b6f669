//! Signing in to and out of the tenant console. A failed sign-in says only that the details did
//! not match — never which of tenant, email or password was wrong.

use crate::auth::SESSION_COOKIE;
use crate::console::cookies;
use crate::console::extract::{LoginPost, PageLang, Posted};
use crate::console::i18n::Lang;
use crate::console::labels;
use crate::console::layout::bare;
use crate::console::msg::Msg;
use crate::console::widgets::{Input, notice_error, notice_ok};
use crate::error::{AppError, AppResult};
use crate::service::sessions;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
pub struct LoginParams {
    tenant: Option<String>,
    out: Option<String>,
    /// Arrived from a setup or reset link, whose password is now set.
    set: Option<String>,
    /// Back from a second step that expired or ended.
    again: Option<String>,
}

pub async fn login_form(PageLang(lang): PageLang, Query(params): Query<LoginParams>) -> Response {
    let tenant = params.tenant.unwrap_or_default();
    let notice = if params.again.is_some() {
        Some(notice_error(Msg::SignInAgain.text(lang)))
    } else if params.set.is_some() {
        Some(notice_ok(Msg::PasswordSetSignIn.text(lang)))
    } else {
        params.out.is_some().then(|| notice_ok(Msg::SignedOut.text(lang)))
    };
    render(lang, &tenant, "", notice, StatusCode::OK)
}

pub async fn login(State(state): State<AppState>, post: LoginPost) -> AppResult<Response> {
    let LoginPost { lang, client, form } = post;
    let (tenant, email) = (form.get("tenant").trim(), form.get("email").trim());
    match sessions::login_user(&state, tenant, email, form.get("password"), &client, kura_domain::Surface::Console)
        .await
    {
        Ok(sessions::SignIn::Pending(pending)) => Ok(crate::console::second_step::tenant_pending(&state, &pending)),
        Ok(sessions::SignIn::Done(session)) => {
            let next = if session.password_change_required { "/console/account/password" } else { "/console" };
            let mut response = Redirect::to(next).into_response();
            if let Some(cookie) = cookies::session(&state, SESSION_COOKIE, &session.token) {
                response.headers_mut().insert(header::SET_COOKIE, cookie);
            }
            Ok(response)
        }
        Err(AppError::BadCredentials) => {
            let notice = notice_error(Msg::LoginFailed.text(lang));
            Ok(render(lang, tenant, email, Some(notice), StatusCode::UNAUTHORIZED))
        }
        Err(AppError::AddressRefused { ip, .. }) => {
            let notice = notice_error(&Msg::AddressRefusedSignIn.text(lang).replace("{ip}", &ip));
            Ok(render(lang, tenant, email, Some(notice), StatusCode::FORBIDDEN))
        }
        Err(AppError::CertificateRefused { refusal, tenant: name, .. }) => {
            let text = format!(
                "{} {}",
                crate::console::errors::cert_refusal(refusal, &name, lang),
                Msg::ErrCertBody.text(lang).replace("{tenant}", &name)
            );
            Ok(render(lang, tenant, email, Some(notice_error(&text)), StatusCode::FORBIDDEN))
        }
        Err(AppError::AlreadySignedIn) => {
            let notice = notice_error(Msg::AlreadySignedIn.text(lang));
            Ok(render(lang, tenant, email, Some(notice), StatusCode::CONFLICT))
        }
        // The tenant is suspended or outside its contract: the page says why (TEN-1).
        Err(AppError::ForbiddenOther(why)) => {
            let notice = notice_error(&labels::detail(&why, lang));
            Ok(render(lang, tenant, email, Some(notice), StatusCode::FORBIDDEN))
        }
        Err(e) => Err(e),
    }
}

fn render(lang: Lang, tenant: &str, email: &str, notice: Option<Markup>, status: StatusCode) -> Response {
    let t = |m: Msg| m.text(lang);
    let body = html! {
        @if let Some(n) = notice { (n) }
        form.stack method="post" action="/console/login" {
            (Input { name: "tenant", label: t(Msg::TenantId), kind: "text", value: tenant, required: true,
                help: Some(t(Msg::TenantIdHelp)), autocomplete: Some("organization"), ..Input::default() }.render(lang))
            (Input { name: "email", label: t(Msg::Email), kind: "email", value: email, required: true,
                autocomplete: Some("username"), ..Input::default() }.render(lang))
            (Input { name: "password", label: t(Msg::Password), kind: "password", value: "", required: true,
                autocomplete: Some("current-password"), ..Input::default() }.render(lang))
            button.btn.btn-primary.btn-block type="submit" { (t(Msg::Login)) }
        }
        p { a href="/console/forgot" { (t(Msg::ForgotPassword)) } }
    };
    (status, bare(lang, "/console/login", Some(t(Msg::TenantConsole)), t(Msg::LoginTitle), body)).into_response()
}

/// Ends the session and forgets the cookie.
pub async fn logout(State(state): State<AppState>, Posted { ctx, .. }: Posted) -> AppResult<Response> {
    sessions::logout_user(&state, &ctx.p).await?;
    let mut response = Redirect::to("/console/login?out=1").into_response();
    if let Some(cookie) = cookies::clear(&state, SESSION_COOKIE) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}
