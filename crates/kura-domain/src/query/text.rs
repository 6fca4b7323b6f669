//! A filter written back as filter text, which [`Filter::parse`] reads as the same filter: the
//! console's filter builder composes conditions as values and hands the text to the advanced
//! box, the URL and the API alike.

use super::{CompareOp, Filter, Literal};
use std::fmt;

impl CompareOp {
    pub const ALL: [CompareOp; 8] =
        [Self::Eq, Self::Ne, Self::Gt, Self::Ge, Self::Lt, Self::Le, Self::Contains, Self::NotContains];

    /// The operator as written in filter text.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "!=",
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Contains => "~",
            Self::NotContains => "!~",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.as_str() == s)
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Null => f.write_str("null"),
            Self::Bool(b) => write!(f, "{b}"),
            // `f64`'s `Display` never uses an exponent, which the filter syntax does not have.
            Self::Number(n) => write!(f, "{n}"),
            Self::Text(t) => {
                f.write_str("'")?;
                for c in t.chars() {
                    if c == '\'' || c == '\\' {
                        f.write_str("\\")?;
                    }
                    write!(f, "{c}")?;
                }
                f.write_str("'")
            }
        }
    }
}

/// Parentheses where the parser would otherwise read another tree: an `||` inside an `&&`
/// (`&&` binds tighter), and a right-hand side of the same operator (both are read from the left).
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let wrapped = |x: &Filter, wrap: bool, f: &mut fmt::Formatter<'_>| {
            if wrap { write!(f, "({x})") } else { write!(f, "{x}") }
        };
        match self {
            Self::Compare { field, op, value } => write!(f, "{field} {} {value}", op.as_str()),
            Self::Or(a, b) => {
                wrapped(a, false, f)?;
                f.write_str(" || ")?;
                wrapped(b, matches!(**b, Self::Or(..)), f)
            }
            Self::And(a, b) => {
                wrapped(a, matches!(**a, Self::Or(..)), f)?;
                f.write_str(" && ")?;
                wrapped(b, !matches!(**b, Self::Compare { .. }), f)
            }
        }
    }
}

/// One comparison of a filter that is a plain list of conditions joined by `&&`.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    pub field: String,
    pub op: CompareOp,
    pub value: Literal,
}

impl Condition {
    pub fn to_filter(&self) -> Filter {
        Filter::Compare { field: self.field.clone(), op: self.op, value: self.value.clone() }
    }
}

impl Filter {
    /// The conditions of a filter made only of comparisons joined by `&&`, in order; `None` when
    /// it has an `||` (the builder then leaves it to the advanced box).
    pub fn conditions(&self) -> Option<Vec<Condition>> {
        match self {
            Self::Compare { field, op, value } => {
                Some(vec![Condition { field: field.clone(), op: *op, value: value.clone() }])
            }
            Self::And(a, b) => {
                let mut all = a.conditions()?;
                all.extend(b.conditions()?);
                Some(all)
            }
            Self::Or(..) => None,
        }
    }

    /// The conditions joined by `&&`; `None` when there are none.
    pub fn all_of(conditions: &[Condition]) -> Option<Filter> {
        conditions.iter().map(Condition::to_filter).reduce(|a, b| Filter::And(Box::new(a), Box::new(b)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collection::tests::field;
    use crate::collection::{Collection, FieldType};
    use crate::ids::{CollectionId, TenantId};
    use crate::{DisplayName, Key};
    use jiff::Timestamp;
    use uuid::Uuid;

    fn collection() -> Collection {
        Collection {
            id: CollectionId::from_uuid(Uuid::nil()),
            tenant_id: TenantId::from_uuid(Uuid::nil()),
            name: Key::parse("c").unwrap(),
            label: DisplayName::parse("C").unwrap(),
            memo: String::new(),
            fields: vec![
                field("name", FieldType::Text),
                field("points", FieldType::Number),
                field("joined", FieldType::Date),
                field("vip", FieldType::Boolean),
            ],
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn filters_written_back_parse_to_the_same_filter() {
        let c = collection();
        for text in [
            "points > 100",
            "points >= -2.5 && name ~ 'O\\'Brien \\\\ 山田'",
            "(name = 'a' || name = 'b') && vip = true",
            "name != null || points < 0 && joined <= '2026-04-01'",
            "name !~ \"x\" && (vip = false || (points = 1 || points = 2))",
        ] {
            let f = Filter::parse(text, &c, true).unwrap();
            let again = Filter::parse(&f.to_string(), &c, true).unwrap();
            assert_eq!(again, f, "{text} → {f}");
        }
        let f = Filter::parse("(name = 'a' || name = 'b') && vip = true", &c, true).unwrap();
        assert_eq!(f.to_string(), "(name = 'a' || name = 'b') && vip = true");
    }

    #[test]
    fn a_conjunction_lists_its_conditions_and_is_rebuilt_from_them() {
        let c = collection();
        let f = Filter::parse("points >= 100 && name ~ '山' && joined < '2026-01-01'", &c, true).unwrap();
        let list = f.conditions().unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!((list[1].field.as_str(), list[1].op), ("name", CompareOp::Contains));
        assert_eq!(Filter::all_of(&list).unwrap(), f);
        assert_eq!(Filter::all_of(&list[..1]).unwrap().to_string(), "points >= 100");
        assert!(Filter::all_of(&[]).is_none());
        assert!(Filter::parse("vip = true || points > 1", &c, true).unwrap().conditions().is_none());
        for op in CompareOp::ALL {
            assert_eq!(CompareOp::parse(op.as_str()), Some(op));
        }
    }
}
