//! The signed-in user's own account: changing the password (the rules are stated before the
//! user types, each broken rule named after; other sessions end), and the devices where they are
//! signed in, each of which they can end (IAM-4, IAM-9).

use crate::console::extract::{Ctx, Posted};
use crate::console::forms::Errors;
use crate::console::labels;
use crate::console::layout::{Head, Nav, page};
use crate::console::msg::Msg;
use crate::console::widgets::{Input, csrf, notice_warn, post_button};
use crate::error::{AppError, AppResult};
use crate::service::passwords::{self, PasswordChange};
use crate::service::{account, security};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use kura_domain::FieldErrorKind;
use maud::html;

/// The password form, with the tenant's rules listed above the inputs.
async fn password_page(state: &AppState, ctx: &Ctx, errors: &Errors) -> AppResult<Response> {
    let t = |m: Msg| ctx.t(m);
    let lang = ctx.lang;
    let policy = security::policy_of(state, ctx.p.tenant().id).await?;
    let rules = policy.password.rules();
    let forced = ctx.p.password_change_required();
    let body = html! {
        @if forced { (notice_warn(t(Msg::MustChangePassword))) }
        (errors.summary(lang))
        form.card.stack method="post" action="/console/account/password" {
            (csrf(ctx.csrf()))
            (Input { name: "current_password", label: t(Msg::CurrentPassword), kind: "password", value: "",
                required: true, error: errors.get("current_password"), autocomplete: Some("current-password"),
                ..Input::default() }.render(lang))
            div.rules #password-rules {
                p { (t(Msg::PasswordRulesIntro)) }
                ul { @for r in &rules { li { (labels::password_rule(*r, lang)) } } }
            }
            (Input { name: "new_password", label: t(Msg::NewPassword), kind: "password", value: "", required: true,
                maxlength: Some(policy.password.max_length), error: errors.get("new_password"),
                autocomplete: Some("new-password"), ..Input::default() }.render(lang))
            (Input { name: "confirm_password", label: t(Msg::ConfirmPassword), kind: "password", value: "",
                required: true, error: errors.get("confirm_password"), autocomplete: Some("new-password"),
                ..Input::default() }.render(lang))
            p.help { (t(Msg::PasswordChangeNote)) }
            div.actions {
                button.btn.btn-primary type="submit" { (t(Msg::ChangePasswordButton)) }
                @if !forced { a.btn.btn-ghost href="/console/account/sessions" { (t(Msg::Cancel)) } }
            }
        }
    };
    let title = if forced { t(Msg::MustChangePasswordTitle) } else { t(Msg::AccountPassword) };
    let head = Head::new(Nav::Account, title);
    Ok((errors.status(), page(ctx, head, body)).into_response())
}

pub async fn password_form(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    password_page(&state, &ctx, &Errors::default()).await
}

pub async fn change_password(State(state): State<AppState>, Posted { ctx, form }: Posted) -> AppResult<Response> {
    let mut errors = Errors::default();
    if form.get("new_password") != form.get("confirm_password") {
        errors.add("confirm_password", ctx.t(Msg::PasswordsDiffer));
    }
    if errors.is_empty() {
        let change = PasswordChange {
            current_password: form.get("current_password").to_owned(),
            new_password: form.get("new_password").to_owned(),
        };
        match passwords::change_own(&state, &ctx.p, change).await {
            Ok(_) => return Ok(Redirect::to("/console/account/sessions?done=password").into_response()),
            Err(AppError::Validation(list)) => {
                for e in list {
                    let text = match (&e.kind, e.field.as_str()) {
                        (FieldErrorKind::Invalid { .. }, "current_password") => {
                            ctx.t(Msg::CurrentPasswordWrong).to_owned()
                        }
                        (kind, _) => labels::field_error(kind, ctx.lang),
                    };
                    // Every broken rule is named, one per line under the input.
                    let joined = match errors.get(&e.field) {
                        Some(before) => format!("{before} {text}"),
                        None => text,
                    };
                    errors.replace(&e.field, joined);
                }
            }
            Err(e) => errors.absorb(e, ctx.lang, None)?,
        }
    }
    password_page(&state, &ctx, &errors).await
}

pub async fn sessions(State(state): State<AppState>, ctx: Ctx) -> AppResult<Response> {
    let t = |m: Msg| ctx.t(m);
    let list = account::own_sessions(&state, &ctx.p).await?;
    let others = list.iter().filter(|s| !s.current).count();
    let body = html! {
        p.muted { (t(Msg::SessionsIntro)) }
        div.table-wrap { table.data {
            caption.visually-hidden { (t(Msg::AccountSessions)) }
            thead { tr {
                th scope="col" { (t(Msg::Device)) } th scope="col" { (t(Msg::IpAddress)) }
                th scope="col" { (t(Msg::StartedAt)) } th scope="col" { (t(Msg::LastActive)) }
                th scope="col" { span.visually-hidden { (t(Msg::Actions)) } }
            } }
            tbody { @for s in &list { tr {
                th scope="row" {
                    (s.session.user_agent.as_deref().unwrap_or(t(Msg::UnknownDevice)))
                    @if s.current { " " span.badge.status-active { (t(Msg::ThisSession)) } }
                }
                td.mono { (s.session.source_ip.as_deref().unwrap_or("—")) }
                td.nowrap { (ctx.time(s.session.created_at)) }
                td.nowrap { (ctx.time(s.session.last_seen_at)) }
                td { (post_button(&format!("/console/account/sessions/{}/end", s.handle), ctx.csrf(),
                    t(Msg::EndSession), "btn btn-danger-outline btn-small")) }
            } } }
        } }
        @if others > 0 {
            p { (post_button("/console/account/sessions/end-others", ctx.csrf(), t(Msg::EndOtherSessions), "btn btn-danger-outline")) }
        }
        p { a href="/console/account/password" { (t(Msg::AccountPassword)) } " · "
            a href="/console/account/second-factors" { (t(Msg::FactorsTitle)) } }
    };
    let head = Head::new(Nav::Account, t(Msg::AccountSessions));
    Ok(page(&ctx, head, body).into_response())
}

pub async fn end_session(
    State(state): State<AppState>,
    Path(handle): Path<String>,
    Posted { ctx, .. }: Posted,
) -> AppResult<Response> {
    account::end_own_session(&state, &ctx.p, &handle).await?;
    Ok(Redirect::to("/console/account/sessions?done=ended").into_response())
}

pub async fn end_other_sessions(State(state): State<AppState>, Posted { ctx, .. }: Posted) -> AppResult<Response> {
    account::end_other_own_sessions(&state, &ctx.p).await?;
    Ok(Redirect::to("/console/account/sessions?done=others").into_response())
}
