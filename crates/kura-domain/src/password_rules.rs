//! Checking a new password against a tenant's password policy (IAM-4). Every broken rule is
//! named, so that a form can say exactly what to change; the rules themselves are stated before
//! the user types (see [`PasswordPolicy::rules`]).
//!
//! The blocklist is offline: zxcvbn's dictionaries of common passwords, names and words, its
//! keyboard patterns, sequences and repeats, and the context words a caller passes (the tenant's
//! names, the user's address). No network call is made.

use crate::security::PasswordPolicy;
use serde::Serialize;

/// A rule a new password breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum PasswordProblem {
    TooShort {
        min: u32,
    },
    TooLong {
        max: u32,
    },
    NoLowercase,
    NoUppercase,
    NoDigit,
    NoSymbol,
    /// A common password, or one easily guessed (a word, a keyboard pattern, a sequence).
    Common,
    /// Contains the tenant's name or the user's address.
    Personal,
    /// One of the user's last `count` passwords.
    Reused {
        count: u32,
    },
}

impl PasswordProblem {
    /// A stable machine-readable name.
    pub const fn code(self) -> &'static str {
        match self {
            Self::TooShort { .. } => "too_short",
            Self::TooLong { .. } => "too_long",
            Self::NoLowercase => "no_lowercase",
            Self::NoUppercase => "no_uppercase",
            Self::NoDigit => "no_digit",
            Self::NoSymbol => "no_symbol",
            Self::Common => "common",
            Self::Personal => "personal",
            Self::Reused { .. } => "reused",
        }
    }
}

/// zxcvbn's estimate below which a password counts as easily guessed: 10^6 guesses, its own
/// line for "protection from throttled online attacks" (scores 0 and 1).
const GUESSABLE_LOG10: f64 = 6.0;

/// Context words shorter than this are not looked for (a one-letter address part would refuse
/// half of all passwords).
const MIN_CONTEXT_CHARS: usize = 4;

impl PasswordPolicy {
    /// The rules a new password must follow, as problems it could have (for stating them before
    /// the user types). Reuse is stated by the caller, who knows the history.
    pub fn rules(&self) -> Vec<PasswordProblem> {
        let mut out = vec![PasswordProblem::TooShort { min: self.min_length }];
        if self.max_length < 128 {
            out.push(PasswordProblem::TooLong { max: self.max_length });
        }
        for (on, problem) in [
            (self.require_lowercase, PasswordProblem::NoLowercase),
            (self.require_uppercase, PasswordProblem::NoUppercase),
            (self.require_digit, PasswordProblem::NoDigit),
            (self.require_symbol, PasswordProblem::NoSymbol),
            (self.blocklist, PasswordProblem::Common),
            (self.blocklist, PasswordProblem::Personal),
        ] {
            if on {
                out.push(problem);
            }
        }
        if self.history > 0 {
            out.push(PasswordProblem::Reused { count: self.history });
        }
        out
    }

    /// Every rule `password` breaks, except reuse. `context` holds words the password must not
    /// contain: the tenant's slug and name, the user's address.
    pub fn problems(&self, password: &str, context: &[&str]) -> Vec<PasswordProblem> {
        let mut out = Vec::new();
        // Characters are Unicode scalar values: 8 kana are 8 characters (NIST: each code point
        // counts as one).
        let n = password.chars().count();
        if n < self.min_length as usize {
            out.push(PasswordProblem::TooShort { min: self.min_length });
        }
        if n > self.max_length as usize {
            out.push(PasswordProblem::TooLong { max: self.max_length });
        }
        let has = |f: fn(&char) -> bool| password.chars().any(|c| f(&c));
        if self.require_lowercase && !has(|c| c.is_lowercase()) {
            out.push(PasswordProblem::NoLowercase);
        }
        if self.require_uppercase && !has(|c| c.is_uppercase()) {
            out.push(PasswordProblem::NoUppercase);
        }
        if self.require_digit && !has(|c| c.is_numeric()) {
            out.push(PasswordProblem::NoDigit);
        }
        if self.require_symbol && !has(|c| !c.is_alphanumeric() && !c.is_whitespace()) {
            out.push(PasswordProblem::NoSymbol);
        }
        if self.blocklist && n > 0 {
            if contains_context(password, context) {
                out.push(PasswordProblem::Personal);
            }
            if zxcvbn::zxcvbn(password, context).guesses_log10() < GUESSABLE_LOG10 {
                out.push(PasswordProblem::Common);
            }
        }
        out
    }
}

/// Whether the password contains one of the context words, or the words they are made of
/// (`acme-trading`, `taro.yamada@example.jp`), ignoring case.
fn contains_context(password: &str, context: &[&str]) -> bool {
    let lower = password.to_lowercase();
    context
        .iter()
        .flat_map(|w| {
            let w = w.to_lowercase();
            let parts: Vec<String> =
                w.split(|c: char| !c.is_alphanumeric()).filter(|p| !p.is_empty()).map(str::to_owned).collect();
            std::iter::once(w).chain(parts)
        })
        .filter(|w| w.chars().count() >= MIN_CONTEXT_CHARS)
        .any(|w| lower.contains(&w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict() -> PasswordPolicy {
        PasswordPolicy {
            min_length: 10,
            max_length: 30,
            require_lowercase: true,
            require_uppercase: true,
            require_digit: true,
            require_symbol: true,
            ..PasswordPolicy::default()
        }
    }

    #[test]
    fn iam_4_each_broken_rule_is_named() {
        let p = strict();
        use PasswordProblem::*;
        assert_eq!(p.problems("abc", &[]), [TooShort { min: 10 }, NoUppercase, NoDigit, NoSymbol, Common]);
        assert_eq!(p.problems("Quiet-Harbor-7-Lantern-Orchid-Velvet", &[]), [TooLong { max: 30 }]);
        assert!(p.problems("Kura-Tokyo-2026-vault", &[]).is_empty());
    }

    #[test]
    fn iam_4_blocklist_refuses_common_and_guessable_passwords_offline() {
        let p = PasswordPolicy::default();
        for common in ["password", "12345678", "qwertyuiop", "iloveyou", "aaaaaaaaaa", "P@ssw0rd", "abcdefgh"] {
            assert!(p.problems(common, &[]).contains(&PasswordProblem::Common), "{common}");
        }
        for fine in ["correct-horse-battery", "桜の下で待ち合わせ", "k7#Qm2!vRx9p"] {
            assert!(p.problems(fine, &[]).is_empty(), "{fine}: {:?}", p.problems(fine, &[]));
        }
        let off = PasswordPolicy { blocklist: false, ..PasswordPolicy::default() };
        assert!(off.problems("password", &[]).is_empty());
    }

    #[test]
    fn iam_4_blocklist_refuses_the_tenants_and_users_own_words() {
        let p = PasswordPolicy::default();
        let context = ["acme", "Acme Trading 株式会社", "hanako.sato@acme.example.jp"];
        for personal in ["ACME-winter-harbour", "my-hanako-river-stone", "sato-trading-2026-x"] {
            assert!(p.problems(personal, &context).contains(&PasswordProblem::Personal), "{personal}");
        }
        assert!(p.problems("lantern-orchid-velvet", &context).is_empty());
    }

    #[test]
    fn iam_4_length_counts_characters_not_bytes() {
        let p = PasswordPolicy { blocklist: false, ..PasswordPolicy::default() };
        assert!(p.problems("あいうえおかきく", &[]).is_empty(), "8 kana are 8 characters");
        assert_eq!(p.problems("あいうえおかき", &[]), [PasswordProblem::TooShort { min: 8 }]);
    }

    #[test]
    fn iam_4_rules_are_stated_before_typing() {
        let rules: Vec<&str> = strict().rules().iter().map(|r| r.code()).collect();
        assert_eq!(
            rules,
            ["too_short", "too_long", "no_lowercase", "no_uppercase", "no_digit", "no_symbol", "common", "personal"]
        );
    }
}
