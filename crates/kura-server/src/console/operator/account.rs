//! The operator's own password: a one-time password from `kura demo` or `kura operator create`
//! must be replaced here before anything else opens.

use crate::console::extract::{OpCtx, OpPosted};
use crate::console::forms::Errors;
use crate::console::labels;
use crate::console::layout::{Head, Nav, op_page};
use crate::console::msg::Msg;
use crate::console::widgets::{Input, csrf, notice_warn};
use crate::error::{AppError, AppResult};
use crate::service::tenants;
use crate::state::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use kura_domain::FieldErrorKind;
use maud::html;

fn page(ctx: &OpCtx, errors: &Errors) -> Response {
    let t = |m: Msg| ctx.t(m);
    let lang = ctx.lang;
    let body = html! {
        @if ctx.p.password_change_required { (notice_warn(t(Msg::MustChangePassword))) }
        (errors.summary(lang))
        form.card.stack method="post" action="/operator/account/password" {
            (csrf(&ctx.p.csrf_token))
            (Input { name: "current_password", label: t(Msg::CurrentPassword), kind: "password", value: "",
                required: true, error: errors.get("current_password"), autocomplete: Some("current-password"),
                ..Input::default() }.render(lang))
            (Input { name: "new_password", label: t(Msg::NewPassword), kind: "password", value: "", required: true,
                error: errors.get("new_password"), autocomplete: Some("new-password"), ..Input::default() }.render(lang))
            (Input { name: "confirm_password", label: t(Msg::ConfirmPassword), kind: "password", value: "",
                required: true, error: errors.get("confirm_password"), autocomplete: Some("new-password"),
                ..Input::default() }.render(lang))
            p.help { (t(Msg::PasswordChangeNote)) }
            div.actions { button.btn.btn-primary type="submit" { (t(Msg::ChangePasswordButton)) } }
        }
    };
    let title = if ctx.p.password_change_required { t(Msg::MustChangePasswordTitle) } else { t(Msg::AccountPassword) };
    (errors.status(), op_page(ctx, Head::new(Nav::Tenants, title), body)).into_response()
}

pub async fn password_form(ctx: OpCtx) -> Response {
    page(&ctx, &Errors::default())
}

pub async fn change_password(State(state): State<AppState>, OpPosted { ctx, form }: OpPosted) -> AppResult<Response> {
    let mut errors = Errors::default();
    if form.get("new_password") != form.get("confirm_password") {
        errors.add("confirm_password", ctx.t(Msg::PasswordsDiffer));
    } else {
        match tenants::change_operator_password(&state, &ctx.p, form.get("current_password"), form.get("new_password"))
            .await
        {
            Ok(()) => return Ok(Redirect::to("/operator?done=password").into_response()),
            Err(AppError::Validation(list)) => {
                for e in list {
                    let text = match &e.kind {
                        FieldErrorKind::Invalid { .. } => ctx.t(Msg::CurrentPasswordWrong).to_owned(),
                        kind => labels::field_error(kind, ctx.lang),
                    };
                    let joined = errors.get(&e.field).map_or_else(|| text.clone(), |before| format!("{before} {text}"));
                    errors.replace(&e.field, joined);
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(page(&ctx, &errors))
}
