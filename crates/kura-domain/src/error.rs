//! Errors raised by domain rules. They carry machine-readable kinds so that the HTTP layer can
//! word them in the reader's language.

use serde::Serialize;

/// Why one field (of a record, a collection definition, a form) was refused.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum FieldErrorKind {
    Required,
    Unknown,
    WrongType {
        expected: &'static str,
    },
    TooShort {
        min: u32,
    },
    TooLong {
        max: u32,
    },
    Charset {
        charset: &'static str,
    },
    Pattern,
    BelowMinimum {
        min: f64,
    },
    AboveMaximum {
        max: f64,
    },
    InvalidEmail,
    InvalidPhone,
    InvalidDate,
    NotAChoice,
    Duplicate,
    Invalid {
        reason: String,
    },
    /// A new password breaks a rule of the tenant's password policy (IAM-4).
    Password(crate::PasswordProblem),
}

/// A refusal attached to a named field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldError {
    pub field: String,
    #[serde(flatten)]
    pub kind: FieldErrorKind,
}

impl FieldError {
    pub fn new(field: impl Into<String>, kind: FieldErrorKind) -> Self {
        Self { field: field.into(), kind }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use FieldErrorKind::*;
        let field = &self.field;
        match &self.kind {
            Required => write!(f, "{field}: a value is required"),
            Unknown => write!(f, "{field}: no such field"),
            WrongType { expected } => write!(f, "{field}: expected {expected}"),
            TooShort { min } => write!(f, "{field}: at least {min} characters"),
            TooLong { max } => write!(f, "{field}: at most {max} characters"),
            Charset { charset } => write!(f, "{field}: only {charset} characters are allowed"),
            Pattern => write!(f, "{field}: does not match the required format"),
            BelowMinimum { min } => write!(f, "{field}: must be at least {min}"),
            AboveMaximum { max } => write!(f, "{field}: must be at most {max}"),
            InvalidEmail => write!(f, "{field}: not a valid email address"),
            InvalidPhone => write!(f, "{field}: not a valid phone number"),
            InvalidDate => write!(f, "{field}: not a valid date (YYYY-MM-DD)"),
            NotAChoice => write!(f, "{field}: not one of the allowed choices"),
            Duplicate => write!(f, "{field}: already used"),
            Invalid { reason } => write!(f, "{field}: {reason}"),
            Password(problem) => write!(f, "{field}: {}", password_problem(*problem)),
        }
    }
}

fn password_problem(p: crate::PasswordProblem) -> String {
    use crate::PasswordProblem as P;
    match p {
        P::TooShort { min } => format!("use at least {min} characters"),
        P::TooLong { max } => format!("use at most {max} characters"),
        P::NoLowercase => "include a lower-case letter".into(),
        P::NoUppercase => "include an upper-case letter".into(),
        P::NoDigit => "include a digit".into(),
        P::NoSymbol => "include a symbol".into(),
        P::Common => "this password is too common or too easy to guess".into(),
        P::Personal => "do not use your own or your organisation's names".into(),
        P::Reused { count } => format!("do not reuse any of your last {count} passwords"),
    }
}

/// Every way a domain rule can refuse an input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    #[error("invalid {what}: {reason}")]
    Invalid { what: &'static str, reason: String },
    #[error("{} field error(s): {}", .0.len(), join(.0))]
    Fields(Vec<FieldError>),
    /// A list request's filter, sort, search or paging (the text is `invalid query: …`, as it
    /// was when this was an [`DomainError::Invalid`]).
    #[error("invalid query: {0}")]
    Query(#[from] crate::query::QueryError),
}

fn join(errors: &[FieldError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

impl DomainError {
    pub(crate) fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid { what, reason: reason.into() }
    }
}
