//! The two engines behind one type, and the only place that knows their differences.

#[derive(Clone, Debug)]
pub(crate) enum Db {}
