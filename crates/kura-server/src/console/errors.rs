//! Error pages. Handlers and services fail with [`AppError`], which answers problem+json and
//! marks the response with [`ErrorMarker`]; on console routes this layer replaces such responses
//! with a localized HTML page of the same status, and sends signed-out visitors to sign in.

use super::i18n::Lang;
use super::labels;
use super::layout::bare;
use super::msg::Msg;
use super::widgets::{Icon, icon};
use crate::error::{AppError, ErrorMarker};
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

pub async fn render_errors(request: Request, next: Next) -> Response {
    let lang = Lang::from_headers(request.headers());
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let Some(ErrorMarker(error)) = response.extensions().get::<ErrorMarker>().cloned() else {
        return response;
    };
    let operator = path.starts_with("/operator");
    if matches!(*error, AppError::Unauthenticated) {
        return Redirect::to(if operator { "/operator/login" } else { "/console/login" }).into_response();
    }
    if matches!(*error, AppError::PasswordChangeRequired) {
        return Redirect::to("/console/account/password").into_response();
    }
    let status = response.status();
    let mut page = error_page(&error, status, lang, operator).into_response();
    *page.status_mut() = status;
    if let Some(allow) = response.headers().get(header::ALLOW) {
        page.headers_mut().insert(header::ALLOW, allow.clone());
    }
    // Outer layers (the audit of refusals) still need to know what the error was.
    page.extensions_mut().insert(ErrorMarker(error));
    page
}

/// The localized page for `error` on a console path (`/console…` or `/operator…`), with the
/// error's status and the error attached for outer layers.
pub fn page_for(error: std::sync::Arc<AppError>, lang: Lang, path: &str) -> Response {
    let status = error.status();
    let mut page = error_page(&error, status, lang, path.starts_with("/operator")).into_response();
    *page.status_mut() = status;
    page.extensions_mut().insert(ErrorMarker(error));
    page
}

/// The heading and explanation of an error, in the reader's language.
fn words(error: &AppError, lang: Lang) -> (&'static str, &'static str) {
    let t = |m: Msg| m.text(lang);
    match error {
        AppError::Forbidden(_) | AppError::ForbiddenOther(_) => (t(Msg::ErrForbiddenTitle), t(Msg::ErrForbiddenBody)),
        AppError::ReadOnly(_) => (t(Msg::ErrReadOnlyTitle), t(Msg::ErrReadOnlyBody)),
        AppError::NotFound(_) => (t(Msg::ErrNotFoundTitle), t(Msg::ErrNotFoundBody)),
        AppError::Conflict(_) => (t(Msg::ErrConflictTitle), t(Msg::ErrConflictBody)),
        AppError::Gone(_) => (t(Msg::ErrGoneTitle), t(Msg::ErrGoneBody)),
        AppError::Validation(_) | AppError::BadRequest(_) => (t(Msg::ErrInvalidTitle), t(Msg::ErrInvalidBody)),
        AppError::Csrf => (t(Msg::ErrCsrfTitle), t(Msg::ErrCsrfBody)),
        AppError::TooLarge(_) => (t(Msg::ErrTooLargeTitle), t(Msg::ErrTooLargeBody)),
        AppError::Unauthenticated | AppError::BadCredentials => (t(Msg::ErrSignInTitle), t(Msg::ErrSignInBody)),
        AppError::PasswordChangeRequired => (t(Msg::MustChangePasswordTitle), t(Msg::MustChangePassword)),
        AppError::AlreadySignedIn => (t(Msg::ErrSignInTitle), t(Msg::AlreadySignedIn)),
        AppError::SecondFactorRefused => (t(Msg::ErrSignInTitle), t(Msg::SecondFactorWrong)),
        AppError::PasskeyRefused => (t(Msg::ErrSignInTitle), t(Msg::PasskeyWrong)),
        AppError::PasskeyNotAccepted(_) => (t(Msg::ErrInvalidTitle), t(Msg::PasskeyNotAccepted)),
        AppError::RegistrationExpired => (t(Msg::ErrConflictTitle), t(Msg::PasskeyRegistrationEnded)),
        AppError::PasskeysUnavailable => (t(Msg::ErrConflictTitle), t(Msg::PasskeyUnavailable)),
        AppError::ChallengeUnknown | AppError::ChallengeExpired => (t(Msg::ErrSignInTitle), t(Msg::SignInAgain)),
        AppError::AddressRefused { .. } | AppError::KeyAddressRefused { .. } => {
            (t(Msg::ErrAddressTitle), t(Msg::ErrAddressBody))
        }
        AppError::CertificateRefused { .. } => (t(Msg::ErrCertTitle), t(Msg::ErrCertBody)),
        AppError::LockoutUnconfirmed(_) => (t(Msg::ErrConflictTitle), t(Msg::ErrConflictBody)),
        AppError::MethodNotAllowed => (t(Msg::ErrMethodTitle), t(Msg::ErrMethodBody)),
        AppError::UriTooLong(_) => (t(Msg::ErrUriTitle), t(Msg::ErrUriBody)),
        AppError::UnsupportedMedia(_) | AppError::Internal(_) => (t(Msg::ErrInternalTitle), t(Msg::ErrInternalBody)),
        AppError::Undecryptable(_) => (t(Msg::ErrUndecryptableTitle), t(Msg::ErrUndecryptableBody)),
    }
}

fn error_page(error: &AppError, status: StatusCode, lang: Lang, operator: bool) -> impl IntoResponse {
    let (title, body) = words(error, lang);
    // The client-certificate page names the tenant whose certificate is needed (IAM-11).
    let body = match error {
        AppError::CertificateRefused { tenant, .. } => body.replace("{tenant}", tenant),
        _ => body.to_owned(),
    };
    // Details the reader can act on; internal causes are never shown.
    let detail = match error {
        AppError::ForbiddenOther(d)
        | AppError::ReadOnly(d)
        | AppError::Conflict(d)
        | AppError::Gone(d)
        | AppError::BadRequest(d) => Some(labels::detail(d, lang)),
        AppError::AddressRefused { ip, .. } | AppError::KeyAddressRefused { ip } => {
            Some(Msg::YourAddress.text(lang).replace("{ip}", ip))
        }
        AppError::CertificateRefused { refusal, tenant, .. } => Some(cert_refusal(*refusal, tenant, lang)),
        _ => None,
    };
    let field_errors: Vec<String> = match error {
        AppError::Validation(errors) => {
            errors.iter().map(|e| format!("{}: {}", e.field, labels::field_error(&e.kind, lang))).collect()
        }
        _ => Vec::new(),
    };
    let (home, home_label) =
        if operator { ("/operator", Msg::BackToOperator) } else { ("/console", Msg::BackToDashboard) };
    let here = if operator { "/operator" } else { "/console" };
    let markup = html! {
        div.error-page {
            p.error-code { (icon(Icon::Alert)) " " (status.as_u16()) }
            p.lead { (body) }
            @if let Some(d) = detail { p.detail { (d) } }
            @if !field_errors.is_empty() { ul.detail { @for e in &field_errors { li { (e) } } } }
            p { a.btn.btn-primary href=(home) { (home_label.text(lang)) } }
        }
    };
    bare(lang, here, None, title, markup)
}

/// Why the presented client certificate was not accepted, for the refusal page and the sign-in
/// form (IAM-11).
pub fn cert_refusal(refusal: crate::service::client_certs::CertRefusal, tenant: &str, lang: Lang) -> String {
    use crate::service::client_certs::CertRefusal as R;
    let msg = match refusal {
        R::Missing => Msg::CertMissing,
        R::OtherTenant => Msg::CertOtherTenant,
        R::Unknown => Msg::CertUnknown,
        R::Expired => Msg::CertExpired,
        R::NotYetValid => Msg::CertNotYetValid,
        R::Revoked => Msg::CertRevoked,
    };
    msg.text(lang).replace("{tenant}", tenant)
}
