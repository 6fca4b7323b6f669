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
