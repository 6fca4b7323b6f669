//! One's own second factors (IAM-6): the authenticator apps and passkeys enrolled, adding an
//! app (a secret and its QR code, confirmed by its first code) or a passkey (`passkeys.rs`),
//! removing one, new recovery codes; and an
//! administrator's reset of a user's factors, confirmed first.

use crate::console::extract::{Ctx, Posted};
use crate::console::forms::{Confirm, confirm_page};
use crate::console::layout::{Head, Nav, page};
use crate::console::msg::Msg;
use crate::console::second_step::{enrolment_block, recovery_codes_block};
use crate::console::widgets::{Input, csrf, notice_error, post_button};
use crate::error::{AppError, AppResult};
use crate::service::second_factor::{self, Enrolment};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

pub async fn list(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let t = |m: Msg| ctx.t(m);
    let (factors, left) = second_factor::own(&state, &ctx.p).await?;
    let body = html! {
        p.muted { (t(Msg::FactorsIntro)) " " a href="/console/help/security" { (t(Msg::GuideLink)) } }
        @if factors.is_empty() {
            p.empty { (t(Msg::FactorsNone)) }
        } @else {
            ul.stack #second-factors { @for f in &factors { li.card {
                strong { (f.label) } " "
                span.badge { (t(if f.kind == crate::service::passkeys::KIND { Msg::FactorKindPasskey } else { Msg::FactorKindTotp })) } " "
                span.muted { (t(Msg::FactorAdded).replace("{time}", &ctx.time(f.created_at))) }
                @if let Some(used) = f.last_used_at {
                    ", " span.muted { (t(Msg::FactorLastUsed).replace("{time}", &ctx.time(used))) }
                }
                " " a.btn.btn-danger-outline.btn-small href={ "/console/account/second-factors/" (f.id) "/remove" } { (t(Msg::Remove)) }
            } } }
            p { (t(Msg::RecoveryCodesLeft).replace("{n}", &left.to_string())) }
            p.help { (t(Msg::RecoveryCodesRenewHelp)) }
            p { (post_button("/console/account/recovery-codes", ctx.csrf(), t(Msg::RecoveryCodesRenew), "btn btn-ghost")) }
        }
        p { (post_button("/console/account/second-factors", ctx.csrf(), t(Msg::FactorAdd), "btn btn-primary")) }
        (super::passkeys::add_form(&state, &ctx, "", None))
        p { a href="/console/account/sessions" { (t(Msg::AccountSessions)) } }
    };
    let head = Head::new(Nav::Account, t(Msg::FactorsTitle));
    Ok(page(&ctx, head, body).into_response())
}

fn enrol_page(ctx: &Ctx, e: &Enrolment, error: Option<&str>, status: StatusCode) -> Response {
    let t = |m: Msg| ctx.t(m);
    let body = html! {
        @if let Some(e) = error { (notice_error(e)) }
        (enrolment_block(ctx.lang, e))
        form.card.stack method="post" action="/console/account/second-factors/confirm" {
            (csrf(ctx.csrf()))
            (Input { name: "code", label: t(Msg::SecondFactorCode), kind: "text", value: "", required: true,
                help: Some(t(Msg::EnrolCodeHelp)), autocomplete: Some("one-time-code"), inputmode: Some("numeric"),
                maxlength: Some(8), ..Input::default() }.render(ctx.lang))
            div.actions {
                button.btn.btn-primary type="submit" { (t(Msg::Verify)) }
                a.btn.btn-ghost href="/console/account/second-factors" { (t(Msg::Cancel)) }
            }
        }
    };
    let head =
        Head::new(Nav::Account, t(Msg::EnrolTitle)).crumb(t(Msg::FactorsTitle), "/console/account/second-factors");
    (status, page(ctx, head, body)).into_response()
}

/// Offers a new secret (a POST: it stores the pending enrolment).
pub async fn start(State(state): State<AppState>, Posted { ctx, .. }: Posted) -> AppResult<Response> {
    let e = second_factor::start(&state, &ctx.p).await?;
    Ok(enrol_page(&ctx, &e, None, StatusCode::OK))
}

pub async fn confirm(State(state): State<AppState>, Posted { ctx, form }: Posted) -> AppResult<Response> {
    match second_factor::confirm(&state, &ctx.p, form.get("code")).await {
        Ok(codes) if codes.is_empty() => Ok(Redirect::to("/console/account/second-factors").into_response()),
        Ok(codes) => Ok(codes_page(&ctx, &codes)),
        Err(AppError::Validation(_)) => {
            // The same pending secret is shown again, read back from the store.
            match pending(&state, &ctx).await? {
                Some(e) => {
                    Ok(enrol_page(&ctx, &e, Some(ctx.t(Msg::SecondFactorWrong)), StatusCode::UNPROCESSABLE_ENTITY))
                }
                None => Ok(Redirect::to("/console/account/second-factors").into_response()),
            }
        }
        Err(e) => Err(e),
    }
}

async fn pending(state: &AppState, ctx: &Ctx) -> AppResult<Option<Enrolment>> {
    let Some(user_id) = ctx.p.user_id() else { return Ok(None) };
    let owner = kura_store::SessionOwner::User { tenant_id: ctx.p.tenant().id, user_id };
    let factors = state.store.second_factors(owner).await?;
    let Some(f) = factors.into_iter().find(|f| f.kind == "totp" && f.confirmed_at.is_none()) else { return Ok(None) };
    let account =
        second_factor::Account { issuer: format!("Kura ({})", ctx.p.tenant().slug), name: ctx.p.actor().label.clone() };
    let challenge = kura_store::Challenge {
        owner,
        surface: "console".into(),
        pending_secret: Some(f.secret),
        passkey_state: None,
        attempts: 0,
        expires_at: state.clock.now(),
    };
    Ok(second_factor::offered(&challenge, &account))
}

fn codes_page(ctx: &Ctx, codes: &[String]) -> Response {
    let t = |m: Msg| ctx.t(m);
    let body = recovery_codes_block(ctx.lang, codes, "/console/account/second-factors");
    let head = Head::new(Nav::Account, t(Msg::RecoveryCodesTitle))
        .crumb(t(Msg::FactorsTitle), "/console/account/second-factors");
    page(ctx, head, body).into_response()
}

pub async fn renew_codes(State(state): State<AppState>, Posted { ctx, .. }: Posted) -> AppResult<Response> {
    let codes = second_factor::renew_codes(&state, &ctx.p).await?;
    Ok(codes_page(&ctx, &codes))
}

fn parse_uuid(id: &str) -> AppResult<uuid::Uuid> {
    uuid::Uuid::try_parse(id).map_err(|_| AppError::NotFound("second factor"))
}

pub async fn confirm_remove(State(state): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let id = parse_uuid(&id)?;
    // Only one of the user's own factors has a page; any other id is not found.
    let (factors, _) = second_factor::own(&state, &ctx.p).await?;
    if !factors.iter().any(|f| f.id == id) {
        return Err(AppError::NotFound("second factor"));
    }
    let t = |m: Msg| ctx.t(m);
    let head = Head::new(Nav::Account, t(Msg::Remove)).crumb(t(Msg::FactorsTitle), "/console/account/second-factors");
    let confirm = Confirm {
        question: t(Msg::FactorRemoveConfirm).to_owned(),
        warning: None,
        action: format!("/console/account/second-factors/{id}/remove"),
        button: t(Msg::Remove),
        cancel: "/console/account/second-factors".into(),
    };
    Ok(confirm_page(&ctx, head, confirm))
}

pub async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { ctx, .. }: Posted,
) -> AppResult<Response> {
    second_factor::remove_own(&state, &ctx.p, parse_uuid(&id)?).await?;
    Ok(Redirect::to("/console/account/second-factors?done=factorremoved").into_response())
}

fn user_id(id: &str) -> AppResult<kura_domain::UserId> {
    uuid::Uuid::try_parse(id).map(kura_domain::UserId::from_uuid).map_err(|_| AppError::NotFound("user"))
}

pub async fn confirm_reset(State(state): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let user = crate::service::users::get(&state, &ctx.p, user_id(&id)?).await?;
    let t = |m: Msg| ctx.t(m);
    let head = Head::new(Nav::Users, t(Msg::FactorsReset)).crumb(t(Msg::NavUsers), "/console/users");
    let confirm = Confirm {
        question: format!("{} ({})", t(Msg::FactorsResetConfirm), user.email),
        warning: Some(t(Msg::FactorsResetHelp)),
        action: format!("/console/users/{}/second-factors/reset", user.id),
        button: t(Msg::FactorsReset),
        cancel: format!("/console/users/{}", user.id),
    };
    Ok(confirm_page(&ctx, head, confirm))
}

pub async fn reset(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { ctx, .. }: Posted,
) -> AppResult<Response> {
    let id = user_id(&id)?;
    second_factor::reset_user(&state, &ctx.p, id).await?;
    Ok(Redirect::to(&format!("/console/users/{id}?done=factorsreset")).into_response())
}
