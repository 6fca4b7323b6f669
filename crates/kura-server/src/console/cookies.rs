//! Reading request cookies and writing the session cookies of both consoles.

use crate::state::AppState;
use axum::http::{HeaderMap, HeaderValue};
use cookie::{Cookie, SameSite};

/// The value of cookie `name`, if the request carries it.
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    crate::auth::cookie(headers, name)
}

/// A session cookie: script-proof, same-site only, and living as long as the session itself.
pub fn session(state: &AppState, name: &str, token: &str) -> Option<HeaderValue> {
    let max_age = i64::from(state.settings.session.absolute_minutes) * 60;
    set_cookie(state, name, token, max_age, SameSite::Strict, true)
}

/// Tells the browser to forget a session cookie.
pub fn clear(state: &AppState, name: &str) -> Option<HeaderValue> {
    set_cookie(state, name, "", 0, SameSite::Strict, true)
}

/// A `Set-Cookie` value for the whole site, `Secure` unless configured otherwise.
pub fn set_cookie(
    state: &AppState,
    name: &str,
    value: &str,
    max_age_secs: i64,
    same_site: SameSite,
    http_only: bool,
) -> Option<HeaderValue> {
    let cookie = Cookie::build((name, value))
        .path("/")
        .http_only(http_only)
        .same_site(same_site)
        .secure(state.settings.cookie_secure)
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .build();
    HeaderValue::from_str(&cookie.to_string()).ok()
}
