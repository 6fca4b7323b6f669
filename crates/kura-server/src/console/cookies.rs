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

/// The cookie that carries a one-time secret from the POST that made it to the one page that
/// shows it (post-redirect-get, item 9 of the identity issue): scoped to that page's path,
/// script-proof, same-site only, and gone after five minutes or one reading. The secret is the
/// reader's own (their new API key, the password they are to hand over); the server keeps no
/// copy, so the page can be read once on whichever node serves it.
pub const ONCE_COOKIE: &str = "kura_once";

/// Sets the one-time secret `value` (cookie-safe text) for the page at `path`.
pub fn once(state: &AppState, path: &str, value: &str) -> Option<HeaderValue> {
    let secure = if state.settings.cookie_secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{ONCE_COOKIE}={value}; Path={path}; Max-Age=300; HttpOnly; SameSite=Strict{secure}"
    ))
    .ok()
}

/// Forgets the one-time secret of the page at `path` (it has been shown).
pub fn clear_once(state: &AppState, path: &str) -> Option<HeaderValue> {
    let secure = if state.settings.cookie_secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{ONCE_COOKIE}=; Path={path}; Max-Age=0; HttpOnly; SameSite=Strict{secure}")).ok()
}
