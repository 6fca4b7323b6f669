//! The filter language's text: tokens and a recursive-descent parser for the grammar in the
//! module documentation above. Names are checked against the collection by the caller.

use super::{CompareOp, Filter, Found, Literal, QueryError, invalid};
use crate::error::DomainError;

const MAX_FILTER_LEN: usize = 2_000;
const MAX_DEPTH: usize = 16;

/// Parses a whole filter, refusing text left over after the expression.
pub(super) fn filter(input: &str) -> Result<Filter, DomainError> {
    if input.len() > MAX_FILTER_LEN {
        return Err(invalid(QueryError::FilterTooLong));
    }
    let tokens = tokenize(input)?;
    let mut p = Parser { tokens, pos: 0, depth: 0 };
    let f = p.expr()?;
    if let Some(t) = p.tokens.get(p.pos) {
        return Err(invalid(QueryError::Unexpected(t.describe())));
    }
    Ok(f)
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Name(String),
    Op(CompareOp),
    Lit(Literal),
    And,
    Or,
    Open,
    Close,
}

impl Token {
    fn describe(&self) -> Found {
        match self {
            Self::Name(n) => Found::Name(n.clone()),
            Self::Op(_) => Found::Operator,
            Self::Lit(_) => Found::Value,
            Self::And => Found::And,
            Self::Or => Found::Or,
            Self::Open => Found::Open,
            Self::Close => Found::Close,
        }
    }
}

fn tokenize(s: &str) -> Result<Vec<Token>, DomainError> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            _ if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Token::Open);
                i += 1;
            }
            ')' => {
                out.push(Token::Close);
                i += 1;
            }
            '&' if next == Some('&') => {
                out.push(Token::And);
                i += 2;
            }
            '|' if next == Some('|') => {
                out.push(Token::Or);
                i += 2;
            }
            '=' => {
                out.push(Token::Op(CompareOp::Eq));
                i += if next == Some('=') { 2 } else { 1 };
            }
            '!' if next == Some('=') => {
                out.push(Token::Op(CompareOp::Ne));
                i += 2;
            }
            '!' if next == Some('~') => {
                out.push(Token::Op(CompareOp::NotContains));
                i += 2;
            }
            '~' => {
                out.push(Token::Op(CompareOp::Contains));
                i += 1;
            }
            '>' | '<' => {
                let eq = next == Some('=');
                out.push(Token::Op(match (c, eq) {
                    ('>', true) => CompareOp::Ge,
                    ('>', false) => CompareOp::Gt,
                    (_, true) => CompareOp::Le,
                    (_, false) => CompareOp::Lt,
                }));
                i += if eq { 2 } else { 1 };
            }
            '\'' | '"' => {
                let quote = c;
                let mut text = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(invalid(QueryError::UnclosedQuote)),
                        Some('\\') if chars.get(i + 1).is_some() => {
                            text.push(chars[i + 1]);
                            i += 2;
                        }
                        Some(&ch) if ch == quote => {
                            i += 1;
                            break;
                        }
                        Some(&ch) => {
                            text.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push(Token::Lit(Literal::Text(text)));
            }
            _ if c.is_ascii_digit() || (c == '-' && next.is_some_and(|n| n.is_ascii_digit())) => {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                let n = text.parse::<f64>().map_err(|_| invalid(QueryError::NotANumber(text.clone())))?;
                out.push(Token::Lit(Literal::Number(n)));
            }
            _ if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                out.push(match word.as_str() {
                    "true" => Token::Lit(Literal::Bool(true)),
                    "false" => Token::Lit(Literal::Bool(false)),
                    "null" => Token::Lit(Literal::Null),
                    _ => Token::Name(word),
                });
            }
            _ => return Err(invalid(QueryError::UnexpectedChar(c))),
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }
    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn expr(&mut self) -> Result<Filter, DomainError> {
        let mut left = self.and()?;
        while self.peek() == Some(&Token::Or) {
            self.pos += 1;
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }
    fn and(&mut self) -> Result<Filter, DomainError> {
        let mut left = self.atom()?;
        while self.peek() == Some(&Token::And) {
            self.pos += 1;
            left = Filter::And(Box::new(left), Box::new(self.atom()?));
        }
        Ok(left)
    }
    fn atom(&mut self) -> Result<Filter, DomainError> {
        match self.next() {
            Some(Token::Open) => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(invalid(QueryError::TooDeep));
                }
                let inner = self.expr()?;
                self.depth -= 1;
                match self.next() {
                    Some(Token::Close) => Ok(inner),
                    _ => Err(invalid(QueryError::UnclosedParen)),
                }
            }
            Some(Token::Name(field)) => {
                let Some(Token::Op(op)) = self.next() else {
                    return Err(invalid(QueryError::ExpectedOperator(field)));
                };
                let Some(Token::Lit(value)) = self.next() else {
                    return Err(invalid(QueryError::ExpectedValue(field)));
                };
                Ok(Filter::Compare { field, op, value })
            }
            Some(t) => Err(invalid(QueryError::Unexpected(t.describe()))),
            None => Err(invalid(QueryError::EndsEarly)),
        }
    }
}
