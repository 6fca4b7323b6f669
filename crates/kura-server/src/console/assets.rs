//! Static files compiled into the binary: the stylesheet, the icon and the passkey script. They change only with a
//! release, so browsers may cache them for a day (the security layer adds `no-store` only where
//! a response sets no `Cache-Control` of its own).

use crate::state::AppState;
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

const CSS: &str = include_str!("../../assets/kura.css");
const FAVICON: &str = include_str!("../../assets/favicon.svg");
/// The one script of the consoles: it hands a page's passkey options to the browser's WebAuthn
/// API and posts the answer (IAM-6). Served from here so that the CSP can forbid inline script.
const PASSKEYS_JS: &str = include_str!("../../assets/passkeys.js");
const CACHE: &str = "public, max-age=86400";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/assets/kura.css", get(|| async { serve("text/css; charset=utf-8", CSS) }))
        .route("/assets/favicon.svg", get(|| async { serve("image/svg+xml", FAVICON) }))
        .route("/assets/passkeys.js", get(|| async { serve("text/javascript; charset=utf-8", PASSKEYS_JS) }))
}

fn serve(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, CACHE)], body)
}
