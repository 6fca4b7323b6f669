//! Adding a passkey or security key to one's own account (IAM-6): a name is asked on the
//! second-factor page, the server stores the ceremony and sends its options in the page, and
//! `/assets/passkeys.js` hands them to the browser and posts the browser's answer back. The list
//! and removal of passkeys are those of every second factor (`factors.rs`).

use crate::console::extract::{Ctx, Posted};
use crate::console::layout::{Head, Nav, page};
use crate::console::msg::Msg;
use crate::console::second_step::{passkey_script, recovery_codes_block};
use crate::console::widgets::{Input, csrf, notice_error};
use crate::error::{AppError, AppResult};
use crate::service::passkeys;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

const LIST: &str = "/console/account/second-factors";
const FINISH: &str = "/console/account/passkeys/finish";

/// The form that names a new passkey, for the second-factor page; a note when this server
/// cannot offer passkeys.
pub fn add_form(state: &AppState, ctx: &Ctx, name: &str, error: Option<&str>) -> Markup {
    let t = |m: Msg| ctx.t(m);
    if !passkeys::available(&state.settings) {
        return html! { p.muted #passkeys-unavailable { (t(Msg::PasskeyUnavailable)) } };
    }
    html! {
        form.card.stack #passkey-add method="post" action="/console/account/passkeys" {
            h2 { (t(Msg::PasskeyAddTitle)) }
            (csrf(ctx.csrf()))
            (Input { name: "name", label: t(Msg::PasskeyName), kind: "text", value: name, required: true,
                help: Some(t(Msg::PasskeyNameHelp)), error, maxlength: Some(passkeys::NAME_MAX as u32),
                ..Input::default() }.render(ctx.lang))
            div.actions { button.btn.btn-primary type="submit" { (t(Msg::PasskeyAddButton)) } }
        }
    }
}

fn head(ctx: &Ctx) -> Head<'_> {
    Head::new(Nav::Account, ctx.t(Msg::PasskeyAddTitle)).crumb(ctx.t(Msg::FactorsTitle), LIST)
}

/// Stores a registration and shows the page that asks the browser for the passkey.
pub async fn start(State(state): State<AppState>, Posted { ctx, form }: Posted) -> AppResult<Response> {
    let t = |m: Msg| ctx.t(m);
    let name = form.get("name");
    let offer = match passkeys::start_registration(&state, &ctx.p, name).await {
        Ok(offer) => offer,
        Err(AppError::Validation(_)) => {
            let body = add_form(&state, &ctx, name, Some(t(Msg::PasskeyNameWrong)));
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page(&ctx, head(&ctx), body)).into_response());
        }
        Err(e) => return Err(e),
    };
    let options = serde_json::to_string(&offer.options).map_err(AppError::internal)?;
    let body = html! {
        p { (t(Msg::PasskeyRegisterIntro)) }
        p.notice.notice-error #passkey-error hidden { (t(Msg::PasskeyBrowserFailed)) }
        form.stack #passkey-form method="post" action=(FINISH) data-passkey="create" data-options=(options) {
            (csrf(ctx.csrf()))
            input type="hidden" name="registration" value=(offer.registration);
            input type="hidden" name="credential" value="";
            div.actions {
                button.btn.btn-primary #passkey-go type="button" { (t(Msg::PasskeyCreate)) }
                a.btn.btn-ghost href=(LIST) { (t(Msg::Cancel)) }
            }
        }
        noscript { p.muted { (t(Msg::PasskeyNeedsScript)) } }
        (passkey_script())
    };
    Ok(page(&ctx, head(&ctx), body).into_response())
}

/// Receives the browser's answer: the passkey is added, or the reason it was not.
pub async fn finish(State(state): State<AppState>, Posted { ctx, form }: Posted) -> AppResult<Response> {
    let t = |m: Msg| ctx.t(m);
    let refused = |msg: Msg, status: StatusCode| {
        let body = html! {
            (notice_error(t(msg)))
            (add_form(&state, &ctx, "", None))
        };
        Ok((status, page(&ctx, head(&ctx), body)).into_response())
    };
    let Ok(registration) = uuid::Uuid::try_parse(form.get("registration")) else {
        return refused(Msg::PasskeyRegistrationEnded, StatusCode::NOT_FOUND);
    };
    // Unreadable JSON is passed on as null: refused as no credential, after the registration
    // itself was found (another person's is a 404 whatever the answer).
    let answer = serde_json::from_str::<serde_json::Value>(form.get("credential")).unwrap_or(serde_json::Value::Null);
    match passkeys::finish_registration(&state, &ctx.p, registration, &answer).await {
        Ok((_, codes)) if codes.is_empty() => Ok(Redirect::to(&format!("{LIST}?done=passkeyadded")).into_response()),
        Ok((_, codes)) => {
            let body = recovery_codes_block(ctx.lang, &codes, LIST);
            let head = Head::new(Nav::Account, t(Msg::RecoveryCodesTitle)).crumb(t(Msg::FactorsTitle), LIST);
            Ok(page(&ctx, head, body).into_response())
        }
        Err(AppError::PasskeyNotAccepted(_)) => refused(Msg::PasskeyNotAccepted, StatusCode::UNPROCESSABLE_ENTITY),
        Err(AppError::Validation(_)) => refused(Msg::PasskeyBrowserFailed, StatusCode::UNPROCESSABLE_ENTITY),
        Err(AppError::RegistrationExpired) => refused(Msg::PasskeyRegistrationEnded, StatusCode::CONFLICT),
        Err(AppError::NotFound(_)) => refused(Msg::PasskeyRegistrationEnded, StatusCode::NOT_FOUND),
        Err(e) => Err(e),
    }
}
