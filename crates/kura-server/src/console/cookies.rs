//! Reading request cookies and writing the session cookies of both consoles.

use crate::state::AppState;
use axum::http::{HeaderMap, HeaderValue};

/// The value of cookie `name`, if the request carries it.
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    crate::auth::cookie(headers, name)
}

/// A session cookie: script-proof, same-site only, and living as long as the session itself.
pub fn session(state: &AppState, name: &str, token: &str) -> Option<HeaderValue> {
    let max_age = u64::from(state.settings.session.absolute_minutes) * 60;
    HeaderValue::from_str(&format!("{name}={token}; Max-Age={max_age}{}", flags(state))).ok()
}

/// Tells the browser to forget a session cookie.
pub fn clear(state: &AppState, name: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("{name}=; Max-Age=0{}", flags(state))).ok()
}

fn flags(state: &AppState) -> &'static str {
    if state.settings.cookie_secure {
        "; Path=/; HttpOnly; SameSite=Strict; Secure"
    } else {
        "; Path=/; HttpOnly; SameSite=Strict"
    }
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
