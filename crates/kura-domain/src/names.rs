//! Validated names: parse, don't validate. A value of these types is always well-formed.

use crate::error::DomainError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Whether `c` is an invisible character that changes how the text around it is shown: the
/// bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) and the
/// direction marks (U+200E, U+200F, U+061C). In a name they can make `txt.exe` read as
/// `exe.txt`; names, labels and email addresses refuse them, and the console shows them escaped
/// where a record value holds one.
pub fn is_invisible_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// A tenant's URL-safe short name: 2–40 characters of `a-z`, `0-9` and `-`, starting with a
/// letter and not ending with `-`.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

impl Slug {
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let s = input.trim();
        let ok_len = (2..=40).contains(&s.len());
        let ok_chars = s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let ok_ends = s.starts_with(|c: char| c.is_ascii_lowercase()) && !s.ends_with('-');
        if ok_len && ok_chars && ok_ends && !s.contains("--") {
            Ok(Self(s.to_owned()))
        } else {
            Err(DomainError::invalid(
                "slug",
                "use 2–40 lowercase letters, digits and single hyphens, starting with a letter",
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A machine name for collections, fields and roles: 1–63 characters of `a-z`, `0-9` and `_`,
/// starting with a letter. It appears in URLs and filter expressions.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = String, pattern = "^[a-z][a-z0-9_]{0,62}$", example = "customers"))]
#[serde(try_from = "String", into = "String")]
pub struct Key(String);

impl Key {
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let ok = (1..=63).contains(&input.len())
            && input.starts_with(|c: char| c.is_ascii_lowercase())
            && input.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if ok {
            Ok(Self(input.to_owned()))
        } else {
            Err(DomainError::invalid(
                "name",
                format!("{input:?}: use 1–63 lowercase letters, digits and underscores, starting with a letter"),
            ))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An email address, checked for shape only (delivery proves the rest). The domain part is
/// lower-cased so that addresses compare equal however they were typed.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let s = input.trim();
        let err = || DomainError::invalid("email", format!("{s:?} is not an email address"));
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control() || is_invisible_control(c)) {
            return Err(err());
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(err)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        if local.is_empty() || local.len() > 64 || local.contains('@') || !domain_ok {
            return Err(err());
        }
        Ok(Self(format!("{local}@{}", domain.to_lowercase())))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A human-readable label: trimmed, 1–200 characters, no control characters.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = String, example = "顧客"))]
#[serde(try_from = "String", into = "String")]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let s = input.trim();
        let n = s.chars().count();
        if n == 0 || n > 200 || s.chars().any(|c| c.is_control() || is_invisible_control(c)) {
            return Err(DomainError::invalid("name", "use 1–200 characters without control or direction characters"));
        }
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_newtype_impls {
    ($($t:ident),*) => {$(
        impl TryFrom<String> for $t {
            type Error = DomainError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }
        impl From<$t> for String {
            fn from(value: $t) -> String {
                value.0
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($t), self.0)
            }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    )*};
}
string_newtype_impls!(Slug, Key, Email, DisplayName);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_accepts_and_refuses() {
        assert!(Slug::parse("acme-2").is_ok());
        for bad in ["a", "Acme", "-acme", "acme-", "ac--me", "2acme", "ac me", ""] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn email_normalises_domain_and_refuses_garbage() {
        assert_eq!(Email::parse(" Taro@Example.JP ").unwrap().as_str(), "Taro@example.jp");
        for bad in ["", "a", "a@b", "@x.jp", "a b@x.jp", "a@x..jp", "a@.x.jp"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn key_rules() {
        assert!(Key::parse("full_name2").is_ok());
        for bad in ["", "Name", "1a", "a-b", &"a".repeat(64)] {
            assert!(Key::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn display_name_trims_and_limits() {
        assert_eq!(DisplayName::parse("  山田 太郎 ").unwrap().as_str(), "山田 太郎");
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"あ".repeat(201)).is_err());
    }
}

#[cfg(test)]
mod invisible_tests {
    use super::*;

    #[test]
    fn pub_2_names_labels_and_emails_refuse_direction_characters() {
        for c in ['\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}', '\u{200F}', '\u{061C}'] {
            assert!(DisplayName::parse(&format!("invoice{c}fdp.exe")).is_err(), "{c:?}");
            assert!(Email::parse(&format!("a{c}b@example.jp")).is_err(), "{c:?}");
        }
        assert!(DisplayName::parse("山田 太郎").is_ok());
        // Joiners are part of ordinary text (emoji sequences, some scripts) and stay allowed.
        assert!(DisplayName::parse("👩\u{200D}💻 チーム").is_ok());
    }
}
