//! The second step of signing in to either console (IAM-6): after a right password, a page
//! asks for the authenticator app's code (or a recovery code), or, for whoever must have a
//! second factor and has none, shows a secret and its QR code to enrol first. An account with
//! passkeys is offered a passkey button beside the code (the options travel in the page, the
//! script `/assets/passkeys.js` posts the browser's answer as `passkey`). The challenge's
//! token travels in a cookie of its own; the challenge itself is in the database, so any node
//! can finish it.

use crate::auth::{OPERATOR_COOKIE, SESSION_COOKIE};
use crate::console::cookies;
use crate::console::extract::{LoginPost, PageLang};
use crate::console::i18n::Lang;
use crate::console::layout::bare;
use crate::console::msg::Msg;
use crate::console::widgets::{Input, notice_error};
use crate::error::{AppError, AppResult};
use crate::service::passkeys;
use crate::service::second_factor::{self, Account, Answer, Completed, Enrolment, Pending};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use cookie::SameSite;
use kura_domain::Surface;
use kura_store::SessionOwner;
use maud::{Markup, PreEscaped, html};

/// Which console a second step belongs to.
#[derive(Clone, Copy)]
struct Door {
    /// The page and form of the second step.
    path: &'static str,
    login: &'static str,
    challenge_cookie: &'static str,
    session_cookie: &'static str,
    home: &'static str,
    password_page: &'static str,
    subtitle: Msg,
}

const TENANT: Door = Door {
    path: "/console/login/second-factor",
    login: "/console/login",
    challenge_cookie: "kura_challenge",
    session_cookie: SESSION_COOKIE,
    home: "/console",
    password_page: "/console/account/password",
    subtitle: Msg::TenantConsole,
};

const OPERATOR: Door = Door {
    path: "/operator/login/second-factor",
    login: "/operator/login",
    challenge_cookie: "kura_op_challenge",
    session_cookie: OPERATOR_COOKIE,
    home: "/operator",
    password_page: "/operator/account/password",
    subtitle: Msg::OperatorConsole,
};

/// The answer to a right password: the challenge's cookie, and on to the second step.
fn to_second_step(state: &AppState, door: Door, pending: &Pending) -> Response {
    let mut response = Redirect::to(door.path).into_response();
    let max_age = (second_factor::ENROL_CHALLENGE_MINUTES * 60).max(60);
    if let Some(c) =
        cookies::set_cookie(state, door.challenge_cookie, &pending.challenge, max_age, SameSite::Strict, true)
    {
        response.headers_mut().insert(header::SET_COOKIE, c);
    }
    response
}

pub fn tenant_pending(state: &AppState, pending: &Pending) -> Response {
    to_second_step(state, TENANT, pending)
}

pub fn operator_pending(state: &AppState, pending: &Pending) -> Response {
    to_second_step(state, OPERATOR, pending)
}

/// The QR code of an `otpauth://` URI as inline SVG, drawn here (no outside service sees the
/// secret). Inline SVG needs no script or style, so the strict CSP holds.
pub fn qr_svg(uri: &str) -> Markup {
    let Ok(code) = qrcode::QrCode::new(uri.as_bytes()) else { return html! {} };
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build();
    // The renderer starts with an XML declaration, which has no place inside HTML.
    let svg = svg.find("<svg").map_or(svg.as_str(), |at| &svg[at..]).to_owned();
    html! { div.qr role="img" aria-label="QR code" { (PreEscaped(svg)) } }
}

/// The secret to enrol, as a QR code and as text, with what to do.
pub fn enrolment_block(lang: Lang, e: &Enrolment) -> Markup {
    let t = |m: Msg| m.text(lang);
    html! {
        p { (t(Msg::EnrolIntro)) }
        (qr_svg(&e.uri))
        p { (t(Msg::EnrolSecretLabel)) " " code #totp-secret { (e.secret) } }
    }
}

/// The script that runs a page's passkey ceremony (a file of the binary; the CSP forbids inline
/// script).
pub fn passkey_script() -> Markup {
    html! { script src="/assets/passkeys.js" defer {} }
}

/// The passkey button of a sign-in's second step, with the ceremony's options for the script.
fn passkey_block(lang: Lang, door: Door, options: &str) -> Markup {
    let t = |m: Msg| m.text(lang);
    html! {
        section #passkey-signin {
            p { (t(Msg::PasskeySignInIntro)) }
            p.notice.notice-error #passkey-error hidden { (t(Msg::PasskeyBrowserFailed)) }
            form.stack #passkey-form method="post" action=(door.path) data-passkey="get" data-options=(options) {
                input type="hidden" name="passkey" value="";
                button.btn.btn-primary.btn-block #passkey-go type="button" { (t(Msg::PasskeySignIn)) }
            }
            noscript { p.muted { (t(Msg::PasskeyNeedsScript)) } }
            (passkey_script())
            p { (t(Msg::PasskeyOrCode)) }
        }
    }
}

/// The passkey options stored with a challenge, as the page carries them.
fn passkey_options(challenge: &kura_store::Challenge) -> Option<String> {
    passkeys::sign_in_options(challenge).and_then(|o| serde_json::to_string(&o).ok())
}

/// The recovery codes, shown once, with where to go next.
pub fn recovery_codes_block(lang: Lang, codes: &[String], next: &str) -> Markup {
    let t = |m: Msg| m.text(lang);
    html! {
        div.notice.notice-warn role="status" { (t(Msg::RecoveryCodesOnce)) }
        ol #recovery-codes.codes { @for c in codes { li { code { (c) } } } }
        p { a.btn.btn-primary href=(next) { (t(Msg::Continue)) } }
    }
}

async fn account_of(state: &AppState, owner: SessionOwner) -> AppResult<Option<Account>> {
    Ok(match owner {
        SessionOwner::User { tenant_id, user_id } => {
            let tenant = state.store.tenant(tenant_id).await?;
            let user = state.store.user(tenant_id, user_id).await?;
            tenant.zip(user).map(|(t, u)| Account { issuer: format!("Kura ({})", t.slug), name: u.email.to_string() })
        }
        SessionOwner::Operator(id) => state
            .store
            .operator(id)
            .await?
            .map(|o| Account { issuer: "Kura operators".into(), name: o.email.to_string() }),
    })
}

fn back_to_login(state: &AppState, door: Door) -> Response {
    let mut response = Redirect::to(&format!("{}?again=1", door.login)).into_response();
    if let Some(c) = cookies::clear(state, door.challenge_cookie) {
        response.headers_mut().insert(header::SET_COOKIE, c);
    }
    response
}

async fn form(state: &AppState, door: Door, lang: Lang, headers: &HeaderMap) -> AppResult<Response> {
    let Some(token) = cookies::get(headers, door.challenge_cookie) else {
        return Ok(back_to_login(state, door));
    };
    let (_, _, challenge) = match second_factor::live_challenge(state, token, Surface::Console).await {
        Ok(c) => c,
        Err(AppError::ChallengeUnknown | AppError::ChallengeExpired) => return Ok(back_to_login(state, door)),
        Err(e) => return Err(e),
    };
    let enrolment = match account_of(state, challenge.owner).await? {
        Some(account) => second_factor::offered(&challenge, &account),
        None => None,
    };
    let passkey = passkey_options(&challenge);
    Ok(render(door, lang, enrolment.as_ref(), passkey.as_deref(), None, StatusCode::OK))
}

fn render(
    door: Door,
    lang: Lang,
    enrolment: Option<&Enrolment>,
    passkey: Option<&str>,
    notice: Option<Markup>,
    status: StatusCode,
) -> Response {
    let t = |m: Msg| m.text(lang);
    let body = html! {
        @if let Some(n) = notice { (n) }
        @if let Some(e) = enrolment {
            (enrolment_block(lang, e))
        } @else {
            @if let Some(options) = passkey { (passkey_block(lang, door, options)) }
            p { (t(Msg::SecondStepIntro)) }
        }
        form.stack method="post" action=(door.path) {
            (Input { name: "code", label: t(Msg::SecondFactorCode), kind: "text", value: "", required: true,
                help: Some(t(if enrolment.is_some() { Msg::EnrolCodeHelp } else { Msg::SecondFactorCodeHelp })),
                autocomplete: Some("one-time-code"), inputmode: Some(if enrolment.is_some() { "numeric" } else { "text" }),
                maxlength: Some(24), ..Input::default() }.render(lang))
            button.btn.btn-primary.btn-block type="submit" { (t(Msg::Verify)) }
        }
        p { a href=(door.login) { (t(Msg::BackToSignIn)) } }
    };
    let title = t(if enrolment.is_some() { Msg::EnrolTitle } else { Msg::SecondStepTitle });
    (status, bare(lang, door.path, Some(t(door.subtitle)), title, body)).into_response()
}

async fn submit(state: &AppState, door: Door, post: LoginPost, headers: &HeaderMap) -> AppResult<Response> {
    let LoginPost { lang, client, form } = post;
    let Some(token) = cookies::get(headers, door.challenge_cookie).map(str::to_owned) else {
        return Ok(back_to_login(state, door));
    };
    let code = form.get("code");
    // A passkey's answer arrives as JSON from the page's script; anything unreadable is treated
    // as a refused passkey (shape only: nothing is counted).
    let passkey = match form.get("passkey") {
        "" => None,
        text => Some(serde_json::from_str::<serde_json::Value>(text).unwrap_or(serde_json::Value::Null)),
    };
    let result = if door.path == OPERATOR.path {
        second_factor::complete_operator(state, &token, code, &client).await
    } else {
        let answer = passkey.as_ref().map_or(Answer::Code(code), Answer::Passkey);
        second_factor::complete_user(state, &token, answer, &client, Surface::Console).await
    };
    let was_passkey = passkey.is_some();
    let again = |notice: Msg, status: StatusCode| async move {
        let (enrolment, options) = match second_factor::live_challenge(state, &token, Surface::Console).await {
            Ok((_, _, c)) => {
                let enrolment = match account_of(state, c.owner).await? {
                    Some(account) => second_factor::offered(&c, &account),
                    None => None,
                };
                (enrolment, passkey_options(&c))
            }
            Err(_) => (None, None),
        };
        let notice = Some(notice_error(notice.text(lang)));
        AppResult::Ok(render(door, lang, enrolment.as_ref(), options.as_deref(), notice, status))
    };
    match result {
        Ok(Completed { session, recovery_codes }) => {
            let next = if session.password_change_required { door.password_page } else { door.home };
            let mut response = if recovery_codes.is_empty() {
                Redirect::to(next).into_response()
            } else {
                let body = recovery_codes_block(lang, &recovery_codes, next);
                let t = |m: Msg| m.text(lang);
                (StatusCode::OK, bare(lang, door.path, Some(t(door.subtitle)), t(Msg::RecoveryCodesTitle), body))
                    .into_response()
            };
            if let Some(c) = cookies::session(state, door.session_cookie, &session.token) {
                response.headers_mut().append(header::SET_COOKIE, c);
            }
            if let Some(c) = cookies::clear(state, door.challenge_cookie) {
                response.headers_mut().append(header::SET_COOKIE, c);
            }
            Ok(response)
        }
        Err(AppError::Validation(_)) if was_passkey => again(Msg::PasskeyWrong, StatusCode::UNPROCESSABLE_ENTITY).await,
        Err(AppError::Validation(_)) => again(Msg::SecondFactorCodeShape, StatusCode::UNPROCESSABLE_ENTITY).await,
        Err(AppError::SecondFactorRefused) => again(Msg::SecondFactorWrong, StatusCode::UNAUTHORIZED).await,
        Err(AppError::PasskeyRefused) => again(Msg::PasskeyWrong, StatusCode::UNAUTHORIZED).await,
        Err(AppError::ChallengeUnknown | AppError::ChallengeExpired | AppError::BadCredentials) => {
            Ok(back_to_login(state, door))
        }
        Err(AppError::AlreadySignedIn) => again(Msg::AlreadySignedIn, StatusCode::CONFLICT).await,
        Err(e) => Err(e),
    }
}

pub async fn tenant_form(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    headers: HeaderMap,
) -> AppResult<Response> {
    form(&state, TENANT, lang, &headers).await
}

pub async fn tenant_submit(State(state): State<AppState>, headers: HeaderMap, post: LoginPost) -> AppResult<Response> {
    submit(&state, TENANT, post, &headers).await
}

pub async fn operator_form(
    State(state): State<AppState>,
    PageLang(lang): PageLang,
    headers: HeaderMap,
) -> AppResult<Response> {
    form(&state, OPERATOR, lang, &headers).await
}

pub async fn operator_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    post: LoginPost,
) -> AppResult<Response> {
    submit(&state, OPERATOR, post, &headers).await
}
