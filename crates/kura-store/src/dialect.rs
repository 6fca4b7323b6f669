//! Every statement that differs by engine, with the SQLite and the PostgreSQL text side by side.
//! Everything else the store runs is one text for both engines (`sql/`).
//!
//! Two kinds of difference remain:
//! - Transaction control: how the writer opens its outer transaction (SQLite takes its write lock
//!   up front), and how a reader opens a snapshot. These have no parameters and run as plain
//!   text, several statements in one call, which both engines support.
//! - Calls that carry several statements with parameters ([`fused`]): on SQLite the writer puts
//!   a group's records and entries, its updates, or its write-back and `COMMIT`, into one call (a
//!   hand-off to SQLite's worker thread instead of one per statement). PostgreSQL's extended
//!   protocol takes one statement per call, so there the same work is one statement (a
//!   data-modifying `WITH`) or several calls.
//!
//! And one difference of reading, not of SQL: whether verification reads a chain's entries as
//! texts that SQL builds, or as columns ([`reads_audit_texts`]).

use crate::conn::Engine;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Sqlite, SqliteConnection};

/// Opens the writer's outer transaction and its first savepoint `w` (see `writer/`), in one
/// call. `BEGIN IMMEDIATE` takes SQLite's write lock up front, so that a write that reads before
/// it writes cannot fail half-way because another process (the CLI) wrote meanwhile.
pub(crate) fn begin_writer(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => "BEGIN IMMEDIATE; SAVEPOINT w",
        Engine::Postgres => "BEGIN; SAVEPOINT w",
    }
}

/// PostgreSQL only: sets the scope row-level security checks (`migrations-postgres/`): the
/// tenant (`$1`, empty for none) and the platform route (`$2`, `on` or empty), for the current
/// transaction when `$3` is true, otherwise for the session. SQLite has no row-level security.
pub(crate) const SET_SCOPE: &str = "SELECT set_config('kura.tenant_id', $1, $3), set_config('kura.platform', $2, $3)";

/// PostgreSQL only: clears the session's scope (no tenant, no platform route: no rows).
pub(crate) const CLEAR_SCOPE: &str =
    "SELECT set_config('kura.tenant_id', '', false), set_config('kura.platform', '', false)";

/// Opens a read-only transaction that sees one consistent state. In WAL mode a SQLite read
/// transaction sees the database as of its first read.
pub(crate) fn begin_snapshot(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => "BEGIN",
        Engine::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    }
}

/// The `VALUES` list of a multi-row insert: `rows` tuples of `width` parameters. PostgreSQL
/// gets numbered parameters from `$first` on. SQLite gets anonymous `?`s, bound in the order
/// they appear (in a call of several statements, each statement's after the one before's):
/// sqlx asks SQLite for the name of every parameter it binds, and SQLite finds a numbered
/// parameter's name by a linear scan of the statement's names, so a 64-row insert of 15
/// columns numbered `$1…$960` cost half a million steps to bind (profiled: 6 % of the writer
/// thread's time on creates, most of the access log's). An anonymous parameter has no name.
pub(crate) fn values(engine: Engine, first: usize, rows: usize, width: usize) -> String {
    let mut s = String::new();
    for row in 0..rows {
        s.push_str(if row == 0 { "(" } else { ", (" });
        for col in 0..width {
            if col > 0 {
                s.push_str(", ");
            }
            match engine {
                Engine::Sqlite => s.push('?'),
                Engine::Postgres => {
                    s.push('$');
                    s.push_str(&(first + row * width + col).to_string());
                }
            }
        }
        s.push(')');
    }
    s
}

/// Releases the writer's savepoint `w` and opens it again: the same on both engines.
pub(crate) const RELEASE: &str = "RELEASE SAVEPOINT w; SAVEPOINT w";

/// Inserts new records and their audit entries in one call: `records` and `entries` are each
/// one `INSERT`, with the entries' parameters numbered after the records'.
pub(crate) fn records_and_entries(engine: Engine, records: &str, entries: &str) -> String {
    match engine {
        // Two statements in one call, through [`fused`].
        Engine::Sqlite => format!("{records}; {entries}"),
        // One statement: the records' insert as a data-modifying `WITH`.
        Engine::Postgres => format!("WITH inserted AS ({records}) {entries}"),
    }
}

/// Whether the engine runs several statements with parameters in one call ([`fused`]): then the
/// writer appends the release of `w` to a group's insert, sends several updates at once, and
/// writes a batch's numbers back in the call that commits it. Otherwise each is a call of its
/// own.
pub(crate) fn fuses(engine: Engine) -> bool {
    match engine {
        Engine::Sqlite => true,
        Engine::Postgres => false,
    }
}

/// `statements` (each with the number of parameters it takes, numbered from `$1`) as the text of
/// one [`fused`] call: joined, each one's parameters renumbered to follow the previous ones'.
pub(crate) fn fuse(statements: &[(&str, usize)]) -> String {
    let mut out = String::new();
    let mut first = 0;
    for (sql, width) in statements {
        if !out.is_empty() {
            out.push_str("; ");
        }
        out.push_str(&renumber(sql, first));
        first += width;
    }
    out
}

/// `sql` with every parameter `$n` renumbered to `$(n + by)`.
fn renumber(sql: &str, by: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let n: usize = rest[..digits].parse().unwrap_or(0);
        out.push_str(&(n + by).to_string());
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

/// SQLite: runs a call of one or several statements with numbered parameters, and returns the
/// rows of all of them in order. The one place the store relies on it.
///
/// sqlx runs several statements of one prepared query on SQLite but calls it deprecated
/// behaviour (launchbadge/sqlx issue 3108). `Cargo.lock` pins the version checked, and the test
/// `fused_call_runs_every_statement_with_its_parameters` below fails the day a version stops
/// running the later statements, binds their parameters differently, or refuses the call; the
/// writer's PostgreSQL form (see [`fuses`]) is the way back.
pub(crate) async fn fused<'q>(
    c: &mut SqliteConnection,
    query: sqlx::query::Query<'q, Sqlite, SqliteArguments>,
) -> Result<Vec<SqliteRow>, sqlx::Error> {
    query.fetch_all(c).await
}

/// Whether verification reads a chain's entries as page texts (`sql/audit_page.rs`) or as
/// columns. On SQLite a page as one value spares sqlx's copy of every column of every row and
/// the hand-off of each row from SQLite's thread: `log_3_measure` went from about 0.1 to about
/// 0.3 GB/s. On PostgreSQL, which sends columns cheaply in binary form, the server's building
/// of the texts cost more than it saved (0.055–0.072 GB/s as columns, 0.048–0.060 as texts, on
/// a busy machine), so there it reads columns as before (docs/PERFORMANCE.md, verification
/// speed). The texts are read as SQLite builds them, a binary column as its bytes
/// (`StoredText::parse`); PostgreSQL renders `bytea` and `uuid` in their output forms, which
/// that reading does not take (it would read every entry as columns: slower, not wrong).
pub(crate) fn reads_audit_texts(engine: Engine) -> bool {
    match engine {
        Engine::Sqlite => true,
        Engine::Postgres => false,
    }
}

/// Test support: statements that leave a constraint violation which each engine checks only at
/// `COMMIT` (a foreign key on SQLite, a unique key on PostgreSQL, both on temporary tables).
#[cfg(feature = "testing")]
pub(crate) fn poison(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => {
            "CREATE TEMP TABLE IF NOT EXISTS kura_poison_parent (id INTEGER PRIMARY KEY); \
             CREATE TEMP TABLE IF NOT EXISTS kura_poison (parent INTEGER \
                 REFERENCES kura_poison_parent (id) DEFERRABLE INITIALLY DEFERRED); \
             INSERT INTO kura_poison (parent) VALUES (1)"
        }
        Engine::Postgres => {
            "CREATE TEMP TABLE IF NOT EXISTS kura_poison (x INT UNIQUE DEFERRABLE INITIALLY DEFERRED); \
             INSERT INTO kura_poison (x) VALUES (1), (1)"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{fuse, fused, renumber, values};
    use crate::conn::Engine;
    use sqlx::{Connection as _, Row as _, SqliteConnection};

    #[test]
    fn renumber_shifts_every_parameter() {
        assert_eq!(renumber("a = $1 AND b = $12, $3", 7), "a = $8 AND b = $19, $10");
        assert_eq!(renumber("no parameters", 7), "no parameters");
        assert_eq!(fuse(&[("A $1 $2", 2), ("COMMIT", 0), ("B $1", 1)]), "A $1 $2; COMMIT; B $3");
    }

    /// Fails loudly the day sqlx stops running every statement of a fused call with its own
    /// parameters (see [`fused`]).
    #[tokio::test]
    async fn fused_call_runs_every_statement_with_its_parameters() {
        let mut c = SqliteConnection::connect("sqlite::memory:").await.expect("in-memory SQLite");
        sqlx::raw_sql("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)").execute(&mut c).await.expect("table");
        let text = fuse(&[
            ("INSERT INTO t (k, v) VALUES ($1, $2) RETURNING k, v", 2),
            ("INSERT INTO t (k, v) VALUES ($1, $2) RETURNING k, v", 2),
            ("UPDATE t SET v = v || $1 WHERE k = $2 RETURNING k, v", 2),
        ]);
        let query = sqlx::query(sqlx::AssertSqlSafe(text)).bind(1).bind("a").bind(2).bind("b").bind("!").bind(1);
        let rows = fused(&mut c, query).await.expect("a fused call");
        let returned: Vec<(i64, String)> =
            rows.iter().map(|r| (r.get::<i64, _>("k"), r.get::<String, _>("v"))).collect();
        assert_eq!(returned, [(1, "a".to_owned()), (2, "b".to_owned()), (1, "a!".to_owned())]);
        let stored: Vec<(i64, String)> =
            sqlx::query_as("SELECT k, v FROM t ORDER BY k").fetch_all(&mut c).await.expect("rows");
        assert_eq!(stored, [(1, "a!".to_owned()), (2, "b".to_owned())]);
    }

    #[test]
    fn values_are_numbered_on_postgresql_and_anonymous_on_sqlite() {
        assert_eq!(values(Engine::Postgres, 3, 2, 2), "($3, $4), ($5, $6)");
        assert_eq!(values(Engine::Sqlite, 3, 2, 2), "(?, ?), (?, ?)");
    }

    /// Anonymous parameters of a fused call are bound in order, each statement's after the
    /// previous one's: what the writer's multi-row inserts rely on (see [`values`]).
    #[tokio::test]
    async fn fused_call_binds_anonymous_parameters_in_order_across_statements() {
        let mut c = SqliteConnection::connect("sqlite::memory:").await.expect("in-memory SQLite");
        sqlx::raw_sql("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)").execute(&mut c).await.expect("table");
        let text = format!(
            "INSERT INTO t (k, v) VALUES {}; INSERT INTO t (k, v) VALUES {}; RELEASE SAVEPOINT w; SAVEPOINT w",
            values(Engine::Sqlite, 1, 2, 2),
            values(Engine::Sqlite, 5, 1, 2)
        );
        sqlx::raw_sql("SAVEPOINT w").execute(&mut c).await.expect("savepoint");
        let query = sqlx::query(sqlx::AssertSqlSafe(text)).bind(1).bind("a").bind(2).bind("b").bind(3).bind("c");
        fused(&mut c, query).await.expect("a fused call");
        let stored: Vec<(i64, String)> =
            sqlx::query_as("SELECT k, v FROM t ORDER BY k").fetch_all(&mut c).await.expect("rows");
        assert_eq!(stored, [(1, "a".to_owned()), (2, "b".to_owned()), (3, "c".to_owned())]);
    }
}
