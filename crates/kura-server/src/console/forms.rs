//! Form problems shown beside their inputs, and the confirmation page used before every deletion.

use super::extract::Ctx;
use super::i18n::Lang;
use super::labels;
use super::layout::{Head, page};
use super::msg::Msg;
use super::widgets::{csrf, notice_error, notice_warn};
use crate::error::AppError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

/// The problems of one submitted form: per input, plus general ones shown above the form.
#[derive(Debug, Default)]
pub struct Errors {
    fields: Vec<(String, String)>,
    general: Vec<String>,
}

impl Errors {
    pub fn add(&mut self, input: &str, message: impl Into<String>) {
        if self.get(input).is_none() {
            self.fields.push((input.to_owned(), message.into()));
        }
    }
    /// Sets the problem of `input`, replacing one already noted.
    pub fn replace(&mut self, input: &str, message: impl Into<String>) {
        self.fields.retain(|(k, _)| k != input);
        self.fields.push((input.to_owned(), message.into()));
    }
    pub fn general(&mut self, message: impl Into<String>) {
        self.general.push(message.into());
    }
    pub fn get(&self, input: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == input).map(|(_, v)| v.as_str())
    }
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.general.is_empty()
    }

    /// Takes in a service error that concerns the input: field problems go beside their inputs,
    /// conflicts and refusals above the form. Other errors (not found, internal…) are returned
    /// for the error page.
    pub fn absorb(&mut self, e: AppError, lang: Lang, conflict_input: Option<&str>) -> Result<(), AppError> {
        match e {
            AppError::Validation(list) => {
                for fe in list {
                    self.add(&fe.field, labels::field_error(&fe.kind, lang));
                }
            }
            AppError::Conflict(d) => match conflict_input {
                Some(input) => self.add(input, labels::detail(&d, lang)),
                None => self.general(labels::detail(&d, lang)),
            },
            AppError::BadRequest(d) | AppError::ForbiddenOther(d) | AppError::ReadOnly(d) => {
                self.general(labels::detail(&d, lang))
            }
            other => return Err(other),
        }
        Ok(())
    }

    /// The summary above the form: a count, and the general problems.
    pub fn summary(&self, lang: Lang) -> Markup {
        html! {
            @if !self.is_empty() {
                (notice_error(Msg::FormHasErrors.text(lang)))
                @if !self.general.is_empty() {
                    ul.form-errors { @for g in &self.general { li { (g) } } }
                }
            }
        }
    }

    /// The status a re-rendered form answers with.
    pub fn status(&self) -> StatusCode {
        if self.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY }
    }
}

/// What a confirmation page asks and where its buttons lead.
#[derive(Debug)]
pub struct Confirm<'a> {
    pub question: String,
    pub warning: Option<&'a str>,
    pub action: String,
    pub button: &'a str,
    pub cancel: String,
}

/// "Do you really want to …?" with a danger button that POSTs, and a way back.
pub fn confirm_page(ctx: &Ctx, head: Head<'_>, c: Confirm<'_>) -> Response {
    let body = html! {
        div.card.confirm {
            p.lead { (c.question) }
            @if let Some(w) = c.warning { (notice_warn(w)) }
            form.actions method="post" action=(c.action) {
                (csrf(ctx.csrf()))
                button.btn.btn-danger type="submit" { (c.button) }
                a.btn.btn-ghost href=(c.cancel) { (ctx.t(Msg::Cancel)) }
            }
        }
    };
    page(ctx, head, body).into_response()
}
