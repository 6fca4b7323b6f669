//! Why a list request was refused, as a value the consoles can word in the reader's language.
//! The English text (`Display`) is what the API has always answered in its problem details.

use super::MAX_PER_PAGE;
use std::fmt;

/// What the filter parser met where it expected something else.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    Name(String),
    Operator,
    Value,
    And,
    Or,
    Open,
    Close,
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name(n) => write!(f, "name {n:?}"),
            Self::Operator => f.write_str("operator"),
            Self::Value => f.write_str("value"),
            Self::And => f.write_str("&&"),
            Self::Or => f.write_str("||"),
            Self::Open => f.write_str("("),
            Self::Close => f.write_str(")"),
        }
    }
}

/// A refused filter, sort, search or page request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("{0:?} is not a field of this collection")]
    UnknownField(String),
    /// Filtering or sorting on it would reveal masked values (IAM-3).
    #[error("{0:?} holds personal information you are not allowed to see")]
    PiiField(String),
    #[error("at most 5 sort keys")]
    TooManySortKeys,
    #[error("page starts at 1")]
    PageZero,
    #[error("per_page must be between 1 and {MAX_PER_PAGE}")]
    PerPage,
    #[error("the search text is longer than 200 characters")]
    SearchTooLong,
    #[error("the filter is longer than 2000 characters")]
    FilterTooLong,
    #[error("unexpected {0} in the filter")]
    Unexpected(Found),
    #[error("a quoted value is not closed")]
    UnclosedQuote,
    #[error("{0:?} is not a number")]
    NotANumber(String),
    #[error("unexpected character {0:?} in the filter")]
    UnexpectedChar(char),
    #[error("the filter is nested too deeply")]
    TooDeep,
    #[error("a parenthesis is not closed")]
    UnclosedParen,
    #[error("expected an operator after {0:?}")]
    ExpectedOperator(String),
    #[error("expected a value after the operator on {0:?}")]
    ExpectedValue(String),
    #[error("the filter ends too early")]
    EndsEarly,
}
