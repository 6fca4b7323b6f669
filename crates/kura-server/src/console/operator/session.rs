//! Operator sign-in and sign-out, with the same generic refusal as the tenant console.

use crate::auth::OPERATOR_COOKIE;
use crate::console::cookies;
use crate::console::extract::{LoginPost, OpPosted, PageLang};
use crate::console::i18n::Lang;
use crate::console::layout::bare;
use crate::console::msg::Msg;
use crate::console::widgets::{Input, notice_error};
use crate::error::{AppError, AppResult};
use crate::service::sessions;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

#[derive(Debug, Default, serde::Deserialize)]
pub struct LoginParams {
    /// Back from a second step that expired or ended.
    again: Option<String>,
}

pub async fn login_form(PageLang(lang): PageLang, Query(params): Query<LoginParams>) -> Response {
    let notice = params.again.is_some().then(|| notice_error(Msg::SignInAgain.text(lang)));
    render(lang, "", notice, StatusCode::OK)
}

pub async fn login(State(state): State<AppState>, post: LoginPost) -> AppResult<Response> {
    let LoginPost { lang, client, form } = post;
    let email = form.get("email").trim();
    match sessions::login_operator(&state, email, form.get("password"), &client).await {
        // Operators always have a second factor (IAM-6): on to it, or to enrolling one.
        Ok(pending) => Ok(crate::console::second_step::operator_pending(&state, &pending)),
        Err(AppError::BadCredentials) => {
            Ok(render(lang, email, Some(notice_error(Msg::OperatorLoginFailed.text(lang))), StatusCode::UNAUTHORIZED))
        }
        Err(e) => Err(e),
    }
}

fn render(lang: Lang, email: &str, notice: Option<Markup>, status: StatusCode) -> Response {
    let t = |m: Msg| m.text(lang);
    let body = html! {
        @if let Some(n) = notice { (n) }
        form.stack method="post" action="/operator/login" {
            (Input { name: "email", label: t(Msg::Email), kind: "email", value: email, required: true,
                autocomplete: Some("username"), ..Input::default() }.render(lang))
            (Input { name: "password", label: t(Msg::Password), kind: "password", value: "", required: true,
                autocomplete: Some("current-password"), ..Input::default() }.render(lang))
            button.btn.btn-primary.btn-block type="submit" { (t(Msg::Login)) }
        }
    };
    (status, bare(lang, "/operator/login", Some(t(Msg::OperatorConsole)), t(Msg::OperatorLoginTitle), body))
        .into_response()
}

pub async fn logout(State(state): State<AppState>, OpPosted { ctx, .. }: OpPosted) -> AppResult<Response> {
    sessions::logout_operator(&state, &ctx.p).await?;
    let mut response = Redirect::to("/operator/login").into_response();
    if let Some(cookie) = cookies::clear(&state, OPERATOR_COOKIE) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    Ok(response)
}
