//! Static files compiled into the binary: the stylesheet and the icon. They change only with a
//! release, so browsers may cache them for a day (the security layer adds `no-store` only where
//! a response sets no `Cache-Control` of its own).

use crate::state::AppState;
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

const CSS: &str = include_str!("../../assets/kura.css");
const FAVICON: &str = include_str!("../../assets/favicon.svg");
const CACHE: &str = "public, max-age=86400";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/assets/kura.css", get(|| async { serve("text/css; charset=utf-8", CSS) }))
        .route("/assets/favicon.svg", get(|| async { serve("image/svg+xml", FAVICON) }))
}

fn serve(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, CACHE)], body)
}
