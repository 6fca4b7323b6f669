//! Cross-cutting HTTP layers: security headers on every response (DAT-1), request metrics, and
//! one error format for answers that axum gives by itself.

use crate::error::{AppError, ErrorMarker};
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Instant;

/// Strict content security policy: no inline scripts or styles, nothing from other origins.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    let mut set = |name: HeaderName, value: &'static str| {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    };
    set(header::CONTENT_SECURITY_POLICY, CSP);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::REFERRER_POLICY, "no-referrer");
    set(header::STRICT_TRANSPORT_SECURITY, "max-age=31536000; includeSubDomains");
    set(HeaderName::from_static("cross-origin-opener-policy"), "same-origin");
    set(HeaderName::from_static("permissions-policy"), "camera=(), microphone=(), geolocation=()");
    set(header::CACHE_CONTROL, "no-store");
    response
}

pub async fn record_metrics(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let response = next.run(request).await;
    state.metrics.observe(response.status().as_u16(), start.elapsed());
    response
}

/// The longest request URI accepted. Past it the answer is 414 in Kura's format; URIs longer than
/// the HTTP library's own limit (64 KiB) are refused by it, in its own words, before Kura sees
/// them.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Answers that axum's routing and extractors give in plain text (405 with its `Allow` header,
/// a malformed query or path, …) are given in Kura's error format instead: problem+json on the
/// API, a localized page in the consoles. Over-long URIs are refused here too.
pub async fn uniform_errors(request: Request, next: Next) -> Response {
    let uri = request.uri();
    let uri_len = uri.path().len() + uri.query().map_or(0, |q| q.len() + 1);
    let path = uri.path().to_owned();
    // What the language of an error page depends on, kept (reference-counted) until it is known
    // whether there is one to show.
    let lang_headers = [header::COOKIE, header::ACCEPT_LANGUAGE]
        .map(|name| request.headers().get(&name).cloned().map(|value| (name, value)));
    let lang = || {
        let mut headers = HeaderMap::new();
        for (name, value) in lang_headers.iter().flatten() {
            headers.insert(name.clone(), value.clone());
        }
        crate::console::i18n::Lang::from_headers(&headers)
    };
    if uri_len > MAX_URI_BYTES {
        return render(AppError::UriTooLong(MAX_URI_BYTES), lang(), &path);
    }
    let response = next.run(request).await;
    let status = response.status();
    let foreign = (status.is_client_error() || status.is_server_error())
        && response.extensions().get::<ErrorMarker>().is_none()
        && response.headers().get(header::CONTENT_TYPE).is_none_or(|t| t.as_bytes().starts_with(b"text/plain"));
    if !foreign {
        return response;
    }
    let allow = response.headers().get(header::ALLOW).cloned();
    let detail = match axum::body::to_bytes(response.into_body(), 4096).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().chars().take(300).collect(),
        Err(_) => String::new(),
    };
    let mut answer = render(crate::error::from_status(status, detail), lang(), &path);
    if let Some(allow) = allow {
        answer.headers_mut().insert(header::ALLOW, allow);
    }
    answer
}

fn render(error: AppError, lang: crate::console::i18n::Lang, path: &str) -> Response {
    if path == "/console" || path.starts_with("/console/") || path == "/operator" || path.starts_with("/operator/") {
        crate::console::errors::page_for(std::sync::Arc::new(error), lang, path)
    } else {
        error.into_response()
    }
}
