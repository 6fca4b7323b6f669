//! Listing and counting a chain's entries for the log viewers (LOG-1): newest first by time,
//! then by sequence number, with only the conditions asked for in the statement, so that each
//! filter is answered from its index (migration 0101) in time order, a page at a time, however
//! long the log.

use super::audit::AuditRow;
use super::micros;
use crate::conn::{Exec, run};
use crate::error::StoreError;
use jiff::Timestamp;
use kura_domain::{AuditEntry, AuditScope, Operation, Outcome};
use std::fmt::Write as _;
use uuid::Uuid;

/// Whose entries a listing keeps, by the actor's id (the label, sealed, is matched by the
/// caller on opened entries).
#[derive(Clone, Copy, Debug)]
pub(crate) enum ActorIds<'a> {
    /// Entries of these principals (users, API keys, operators).
    Any(&'a [Uuid]),
    /// Entries with no actor id: anonymous attempts, the command line, scheduled jobs.
    None,
}

/// How a listing finds a target's entries. Each way has an index in the viewer's order
/// (migration 0102), so they are two parts of a listing rather than one `OR`, which SQLite
/// answers by reading the whole log.
#[derive(Clone, Copy, Debug)]
pub(crate) enum TargetMatch<'a> {
    /// By the target's index in the scope (a tenant's entries since 0065). The caller compares
    /// the opened targets, since two targets may share a normal form.
    Index(&'a [u8]),
    /// By the plain target, for entries without an index: the platform's chain, and a tenant's
    /// entries written before targets were indexed.
    Plain(&'a str),
}

/// The optional conditions of a listing; `None` means "any".
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ListParams<'a> {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub operation: Option<Operation>,
    pub outcome: Option<Outcome>,
    /// The source address, exactly.
    pub source_ip: Option<&'a str>,
    /// The target (`record:customers/…`: one record's history), one way.
    pub target: Option<TargetMatch<'a>>,
    pub actor: Option<ActorIds<'a>>,
    /// Only entries listed after this one: (time in microseconds, sequence number).
    pub after: Option<(i64, i64)>,
    /// Only entries listed before this one (same form): the oldest entry of a page that the
    /// listing's earlier parts already filled, which nothing older can enter.
    pub floor: Option<(i64, i64)>,
    pub limit: i64,
}

/// A value bound to a listing's statement.
enum Arg<'a> {
    Uuid(Uuid),
    I64(i64),
    Text(&'a str),
    Bytes(&'a [u8]),
}

/// The `FROM … WHERE …` of a listing and the values it binds, `$1` first. A failure or refusal
/// also gets the term `outcome <> 'success'`, word for word that of the partial index of
/// outcomes other than success, which is how SQLite sees that the index holds them.
fn conditions<'a>(scope: AuditScope, p: &ListParams<'a>) -> (String, Vec<Arg<'a>>) {
    let mut sql = String::from(" FROM audit_log WHERE scope_id = $1");
    let mut args = vec![Arg::Uuid(scope.storage_id())];
    let mut bind = |arg: Arg<'a>| {
        args.push(arg);
        args.len()
    };
    if let Some(from) = p.from {
        let n = bind(Arg::I64(micros(from)));
        let _ = write!(sql, " AND at >= ${n}");
    }
    if let Some(to) = p.to {
        let n = bind(Arg::I64(micros(to)));
        let _ = write!(sql, " AND at < ${n}");
    }
    if let Some(op) = p.operation {
        let n = bind(Arg::Text(op.as_str()));
        let _ = write!(sql, " AND operation = ${n}");
    }
    if let Some(outcome) = p.outcome {
        let n = bind(Arg::Text(outcome.as_str()));
        let _ = write!(sql, " AND outcome = ${n}");
        if outcome != Outcome::Success {
            sql.push_str(" AND outcome <> 'success'");
        }
    }
    if let Some(ip) = p.source_ip {
        let n = bind(Arg::Text(ip));
        let _ = write!(sql, " AND source_ip = ${n}");
    }
    match p.target {
        None => {}
        Some(TargetMatch::Index(index)) => {
            let i = bind(Arg::Bytes(index));
            let _ = write!(sql, " AND target_index = ${i}");
        }
        Some(TargetMatch::Plain(target)) => {
            let t = bind(Arg::Text(target));
            let _ = write!(sql, " AND target_index IS NULL AND target = ${t}");
        }
    }
    match p.actor {
        None => {}
        Some(ActorIds::None) => sql.push_str(" AND actor_id IS NULL"),
        Some(ActorIds::Any(ids)) => {
            sql.push_str(" AND actor_id IN (");
            for (k, id) in ids.iter().enumerate() {
                let n = bind(Arg::Uuid(*id));
                let _ = write!(sql, "{}${n}", if k == 0 { "" } else { ", " });
            }
            if ids.is_empty() {
                sql.push_str("NULL");
            }
            sql.push(')');
        }
    }
    if let Some((at, seq)) = p.after {
        let a = bind(Arg::I64(at));
        let s = bind(Arg::I64(seq));
        let _ = write!(sql, " AND (at < ${a} OR (at = ${a} AND seq < ${s}))");
    }
    if let Some((at, seq)) = p.floor {
        let a = bind(Arg::I64(at));
        let s = bind(Arg::I64(seq));
        // The plain `at >=` bounds the index's range; the rest breaks ties by number.
        let _ = write!(sql, " AND at >= ${a} AND (at > ${a} OR seq > ${s})");
    }
    (sql, args)
}

macro_rules! bind_args {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                Arg::Uuid(v) => q.bind(*v),
                Arg::I64(v) => q.bind(*v),
                Arg::Text(v) => q.bind(*v),
                Arg::Bytes(v) => q.bind(*v),
            };
        }
        q
    }};
}

/// Entries newest first (by time, then sequence number), at most `p.limit`.
pub(crate) async fn list(
    e: &mut Exec<'_>,
    scope: AuditScope,
    p: &ListParams<'_>,
) -> Result<Vec<AuditEntry>, StoreError> {
    let (conditions, mut args) = conditions(scope, p);
    args.push(Arg::I64(p.limit.max(1)));
    let sql = format!("SELECT {}{conditions} ORDER BY at DESC, seq DESC LIMIT ${}", super::audit::COLUMNS, args.len());
    let rows: Vec<AuditRow> =
        run!(e, |c| bind_args!(sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())), &args).fetch_all(c).await)?;
    rows.into_iter().map(AuditEntry::try_from).collect()
}

/// How many entries match a listing's conditions (its paging and limit aside), counting at
/// most `cap` (`None`: all).
pub(crate) async fn count(
    e: &mut Exec<'_>,
    scope: AuditScope,
    p: &ListParams<'_>,
    cap: Option<u64>,
) -> Result<u64, StoreError> {
    let (conditions, mut args) = conditions(scope, &ListParams { after: None, floor: None, ..*p });
    let sql = match cap {
        None => format!("SELECT COUNT(*){conditions}"),
        Some(cap) => {
            args.push(Arg::I64(i64::try_from(cap).unwrap_or(i64::MAX)));
            format!("SELECT COUNT(*) FROM (SELECT 1 AS one{conditions} LIMIT ${}) AS capped", args.len())
        }
    };
    let n: i64 =
        run!(e, |c| bind_args!(sqlx::query_scalar(sqlx::AssertSqlSafe(sql.as_str())), &args).fetch_one(c).await)?;
    Ok(super::count(n))
}

/// The time of entry `seq`, the position a listing continues after.
pub(crate) async fn position(e: &mut Exec<'_>, scope: AuditScope, seq: i64) -> Result<Option<i64>, StoreError> {
    const SQL: &str = "SELECT at FROM audit_log WHERE scope_id = $1 AND seq = $2";
    Ok(run!(e, |c| sqlx::query_scalar(SQL).bind(scope.storage_id()).bind(seq).fetch_optional(c).await)?)
}

/// A quarter of an hour in microseconds: the unit [`quarter_counts`] counts by.
pub(crate) const QUARTER_MICROS: i64 = 15 * 60 * 1_000_000;

/// The entries of `operations` dated in `[from, to)`, counted by operation and quarter of an
/// hour (its number since the epoch), from the operations' index.
pub(crate) async fn quarter_counts(
    e: &mut Exec<'_>,
    scope: AuditScope,
    operations: &[Operation],
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<(String, i64, i64)>, StoreError> {
    let mut args = vec![Arg::Uuid(scope.storage_id()), Arg::I64(micros(from)), Arg::I64(micros(to))];
    let mut list = String::new();
    for op in operations {
        args.push(Arg::Text(op.as_str()));
        let _ = write!(list, "{}${}", if list.is_empty() { "" } else { ", " }, args.len());
    }
    let sql = format!(
        "SELECT operation, at / {QUARTER_MICROS} AS quarter, COUNT(*) AS n FROM audit_log WHERE scope_id = $1 \
         AND operation IN ({list}) AND at >= $2 AND at < $3 GROUP BY operation, at / {QUARTER_MICROS}"
    );
    Ok(run!(e, |c| bind_args!(sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())), &args).fetch_all(c).await)?)
}
