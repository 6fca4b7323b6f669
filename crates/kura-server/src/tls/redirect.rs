//! The optional plain-HTTP listener (usually port 80) that serves nothing but a permanent
//! redirect to the same path over HTTPS.

use axum::Router;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

/// Redirects every request to HTTPS: to the configured public URL if it is an HTTPS one, else to
/// the requested host on `https_port`.
pub fn redirect_router(public_url: Option<String>, https_port: u16) -> Router {
    let base = public_url.filter(|u| u.starts_with("https://")).map(|u| u.trim_end_matches('/').to_owned());
    Router::new().fallback(move |headers: HeaderMap, uri: Uri| {
        let base = base.clone();
        async move { redirect(base, https_port, &headers, &uri) }
    })
}

fn redirect(base: Option<String>, https_port: u16, headers: &HeaderMap, uri: &Uri) -> Response {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let base = match base {
        Some(base) => base,
        None => {
            let Some(host) = request_host(headers) else {
                return (StatusCode::BAD_REQUEST, "use HTTPS").into_response();
            };
            if https_port == 443 { format!("https://{host}") } else { format!("https://{host}:{https_port}") }
        }
    };
    let location = format!("{base}{path}");
    (StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, location)]).into_response()
}

/// The host the client asked for, without its port; only a plain host name or address is taken.
fn request_host(headers: &HeaderMap) -> Option<String> {
    let authority: axum::http::uri::Authority = headers.get(header::HOST)?.to_str().ok()?.parse().ok()?;
    let host = authority.host();
    let plain = host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    (!host.is_empty() && plain).then(|| host.to_owned())
}
