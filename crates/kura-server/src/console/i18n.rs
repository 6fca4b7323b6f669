//! The reader's language: the `kura_lang` cookie when set, else the first language of
//! `Accept-Language`; and the switch that sets the cookie.

use super::cookies;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

pub const LANG_COOKIE: &str = "kura_lang";

/// A language the consoles are written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Ja,
    En,
}

impl Lang {
    pub const fn code(self) -> &'static str {
        match self {
            Self::Ja => "ja",
            Self::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ja" => Some(Self::Ja),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// What goes between two sentences of running text: a space in English, nothing in Japanese
    /// (a sentence ends with 。).
    pub const fn sentence_gap(self) -> &'static str {
        match self {
            Self::Ja => "",
            Self::En => " ",
        }
    }

    /// The other language, offered by the switch in the header.
    pub const fn other(self) -> Self {
        match self {
            Self::Ja => Self::En,
            Self::En => Self::Ja,
        }
    }

    /// The language's own name, shown on the switch.
    pub const fn native_name(self) -> &'static str {
        match self {
            Self::Ja => "日本語",
            Self::En => "English",
        }
    }

    /// The cookie if it names a language, else Japanese when the browser lists Japanese first,
    /// else English.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        if let Some(lang) = cookies::get(headers, LANG_COOKIE).and_then(Self::parse) {
            return lang;
        }
        let first = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|tag| tag.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
            .unwrap_or_default();
        if first == "ja" || first.starts_with("ja-") { Self::Ja } else { Self::En }
    }
}

#[derive(Debug, Deserialize)]
pub struct SwitchParams {
    to: Option<String>,
    back: Option<String>,
}

/// `GET /console/lang?to=ja&back=/console/...`: remembers the language and returns to the page.
/// Without a language it changes nothing and returns all the same.
pub async fn switch(State(state): State<AppState>, Query(params): Query<SwitchParams>) -> Response {
    let back = params.back.filter(|b| is_local_path(b)).unwrap_or_else(|| "/console".to_owned());
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, back)]).into_response();
    if let Some(lang) = params.to.as_deref().and_then(Lang::parse)
        && let Some(value) =
            cookies::set_cookie(&state, LANG_COOKIE, lang.code(), 365 * 24 * 3600, cookie::SameSite::Lax, false)
    {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// Whether `s` is a path on this site: it must not lead the browser anywhere else (`//host`,
/// `/\host`, `https://…`), nor smuggle in header-breaking characters.
pub fn is_local_path(s: &str) -> bool {
    s.starts_with('/')
        && !s.starts_with("//")
        && !s.starts_with("/\\")
        && s.len() <= 2000
        && !s.chars().any(|c| c.is_control() || c == '\\')
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn language_comes_from_cookie_then_accept_language() {
        assert_eq!(Lang::from_headers(&headers(&[("accept-language", "ja,en-US;q=0.8")])), Lang::Ja);
        assert_eq!(Lang::from_headers(&headers(&[("accept-language", "ja-JP")])), Lang::Ja);
        assert_eq!(Lang::from_headers(&headers(&[("accept-language", "en-US,ja;q=0.9")])), Lang::En);
        assert_eq!(Lang::from_headers(&headers(&[])), Lang::En);
        let h = headers(&[("accept-language", "en"), ("cookie", "a=b; kura_lang=ja")]);
        assert_eq!(Lang::from_headers(&h), Lang::Ja);
    }

    #[test]
    fn only_local_paths_are_followed() {
        assert!(is_local_path("/console/users?done=saved"));
        for bad in ["//evil.example", "/\\evil.example", "https://evil.example", "", "console", "/a\r\nb"] {
            assert!(!is_local_path(bad), "{bad}");
        }
    }
}
