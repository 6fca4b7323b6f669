//! The `access_log` table (LOG-2): one row per HTTP request, written in multi-row inserts by the
//! access log's flusher, listed newest first with filters, and purged by age.

use super::{CHUNK, chunks, corrupt, micros, timestamp};
use crate::conn::{Engine, Exec, run};
use crate::dialect;
use crate::error::StoreError;
use jiff::Timestamp;
use kura_domain::{ActorKind, AuditScope};
use std::sync::OnceLock;
use uuid::Uuid;

/// One logged request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessEntry {
    /// The tenant the request was made as, or the platform.
    pub scope: AuditScope,
    /// When the request arrived.
    pub at: Timestamp,
    /// Minted by the store when the entry is written (nil before).
    pub id: Uuid,
    pub method: String,
    /// The route template the request matched (`/api/v1/collections/{name}/records`), or
    /// `(unmatched)`: never the raw path.
    pub route: String,
    pub status: u16,
    /// Microseconds from the request's arrival to its answer's head.
    pub latency_us: i64,
    /// Who made it, when it authenticated: the kind and id only (labels are sealed elsewhere).
    pub actor_kind: Option<ActorKind>,
    pub actor_id: Option<Uuid>,
    pub source_ip: Option<String>,
    /// The `User-Agent` header, cut short.
    pub user_agent: Option<String>,
}

/// Columns in insert order; the parameters of one row.
const COLS: &str = "scope_id, at, id, method, route, status, latency_us, actor_kind, actor_id, source_ip, user_agent";
const WIDTH: usize = 11;

/// The insert of `rows` rows on `engine`, one text per size (see [`super::chunk_sizes`]).
fn insert_sql(engine: Engine, rows: usize) -> &'static str {
    static SQL: OnceLock<[Vec<OnceLock<String>>; 2]> = OnceLock::new();
    let sizes = SQL.get_or_init(|| std::array::from_fn(|_| (0..CHUNK).map(|_| OnceLock::new()).collect()));
    sizes[usize::from(engine == Engine::Postgres)][rows - 1]
        .get_or_init(|| format!("INSERT INTO access_log ({COLS}) VALUES {}", dialect::values(engine, 1, rows, WIDTH)))
}

/// Appends `entries` (their ids already minted) in chunks of at most [`CHUNK`] rows a call.
pub(crate) async fn insert_many(e: &mut Exec<'_>, entries: &[AccessEntry]) -> Result<(), StoreError> {
    for chunk in chunks(entries) {
        let sql = insert_sql(e.engine(), chunk.len());
        run!(e, |c| {
            let mut q = sqlx::query(sql);
            for a in chunk {
                q = q
                    .bind(a.scope.storage_id())
                    .bind(micros(a.at))
                    .bind(a.id)
                    .bind(a.method.as_str())
                    .bind(a.route.as_str())
                    .bind(i32::from(a.status))
                    .bind(a.latency_us)
                    .bind(a.actor_kind.map(ActorKind::as_str))
                    .bind(a.actor_id)
                    .bind(a.source_ip.as_deref())
                    .bind(a.user_agent.as_deref());
            }
            q.execute(c).await.map(drop)
        })?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Row {
    scope_id: Uuid,
    at: i64,
    id: Uuid,
    method: String,
    route: String,
    status: i32,
    latency_us: i64,
    actor_kind: Option<String>,
    actor_id: Option<Uuid>,
    source_ip: Option<String>,
    user_agent: Option<String>,
}

impl TryFrom<Row> for AccessEntry {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Self, StoreError> {
        let actor_kind = match r.actor_kind.as_deref() {
            None => None,
            Some(k) => Some(ActorKind::parse(k).ok_or_else(|| corrupt("access log actor kind", k))?),
        };
        Ok(Self {
            scope: AuditScope::from_storage_id(r.scope_id),
            at: timestamp(r.at)?,
            id: r.id,
            method: r.method,
            route: r.route,
            status: u16::try_from(r.status).map_err(|e| corrupt("access log status", e))?,
            latency_us: r.latency_us,
            actor_kind,
            actor_id: r.actor_id,
            source_ip: r.source_ip,
            user_agent: r.user_agent,
        })
    }
}

/// What a listing keeps; each condition is off when `None`.
#[derive(Debug, Default)]
pub(crate) struct ListParams<'a> {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub status_min: Option<i32>,
    pub status_max: Option<i32>,
    pub route: Option<&'a str>,
    pub source_ip: Option<&'a str>,
    /// Entries strictly older than this `(at, id)` (paging).
    pub before: Option<(Timestamp, Uuid)>,
    pub limit: i64,
}

macro_rules! conditions_sql {
    () => {
        concat!(
            " FROM access_log WHERE scope_id = $1",
            " AND ($2 IS NULL OR at >= $2)",
            " AND ($3 IS NULL OR at < $3)",
            " AND ($4 IS NULL OR status >= $4)",
            " AND ($5 IS NULL OR status <= $5)",
            " AND ($6 IS NULL OR route = $6)",
            " AND ($7 IS NULL OR source_ip = $7)"
        )
    };
}

macro_rules! bind_conditions {
    ($q:expr, $scope:expr, $p:expr) => {{
        let p: &ListParams<'_> = $p;
        $q.bind($scope.storage_id())
            .bind(p.from.map(micros))
            .bind(p.to.map(micros))
            .bind(p.status_min)
            .bind(p.status_max)
            .bind(p.route)
            .bind(p.source_ip)
    }};
}

/// Entries newest first, one static text: each condition is disabled by binding NULL.
pub(crate) async fn list(
    e: &mut Exec<'_>,
    scope: AuditScope,
    p: &ListParams<'_>,
) -> Result<Vec<AccessEntry>, StoreError> {
    const SQL: &str = concat!(
        "SELECT scope_id, at, id, method, route, status, latency_us, actor_kind, actor_id, source_ip, user_agent",
        conditions_sql!(),
        " AND ($8 IS NULL OR at < $8 OR (at = $8 AND id < $9)) ORDER BY at DESC, id DESC LIMIT $10"
    );
    let (before_at, before_id) = p.before.map_or((None, None), |(at, id)| (Some(micros(at)), Some(id)));
    let rows: Vec<Row> = run!(e, |c| bind_conditions!(sqlx::query_as(SQL), scope, p)
        .bind(before_at)
        .bind(before_id)
        .bind(p.limit)
        .fetch_all(c)
        .await)?;
    rows.into_iter().map(AccessEntry::try_from).collect()
}

/// How many entries match a listing's conditions (paging aside).
pub(crate) async fn count(e: &mut Exec<'_>, scope: AuditScope, p: &ListParams<'_>) -> Result<u64, StoreError> {
    const SQL: &str = concat!("SELECT COUNT(*)", conditions_sql!());
    let n: i64 = run!(e, |c| bind_conditions!(sqlx::query_scalar(SQL), scope, p).fetch_one(c).await)?;
    Ok(super::count(n))
}

/// Deletes the scope's entries older than `before`; returns how many.
pub(crate) async fn purge(e: &mut Exec<'_>, scope: AuditScope, before: Timestamp) -> Result<u64, StoreError> {
    const SQL: &str = "DELETE FROM access_log WHERE scope_id = $1 AND at < $2";
    let done = run!(e, |c| sqlx::query(SQL)
        .bind(scope.storage_id())
        .bind(micros(before))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(done)
}

/// Every scope with access log entries.
pub(crate) async fn scopes(e: &mut Exec<'_>) -> Result<Vec<AuditScope>, StoreError> {
    const SQL: &str = "SELECT DISTINCT scope_id FROM access_log";
    let ids: Vec<Uuid> = run!(e, |c| sqlx::query_scalar(SQL).fetch_all(c).await)?;
    Ok(ids.into_iter().map(AuditScope::from_storage_id).collect())
}

/// SQLite only: moves the rows an earlier version wrote into the data file's `access_log` into
/// the access log's own file at `access` (see `access_log.rs`), on the data's writer connection
/// before it is shared. Copies, then empties the data file's table; a copy cut off half-way is
/// finished by the next start (rows already copied are skipped). Returns how many were moved.
pub(crate) async fn move_from_data_file(
    data: &mut sqlx::SqliteConnection,
    access: &std::path::Path,
) -> Result<u64, StoreError> {
    let waiting: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM access_log)").fetch_one(&mut *data).await?;
    if !waiting {
        return Ok(0);
    }
    let path = access.to_str().ok_or_else(|| corrupt("access log file name", access.display()))?;
    sqlx::query("ATTACH DATABASE $1 AS access").bind(path).execute(&mut *data).await?;
    let moved = async {
        let mut tx = sqlx::Connection::begin(&mut *data).await?;
        let copied = sqlx::query(concat!(
            "INSERT OR IGNORE INTO access.access_log (",
            "scope_id, at, id, method, route, status, latency_us, actor_kind, actor_id, source_ip, user_agent",
            ") SELECT ",
            "scope_id, at, id, method, route, status, latency_us, actor_kind, actor_id, source_ip, user_agent",
            " FROM main.access_log"
        ))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query("DELETE FROM main.access_log").execute(&mut *tx).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(copied)
    }
    .await;
    let detached = sqlx::query("DETACH DATABASE access").execute(&mut *data).await;
    let moved = moved?;
    detached?;
    Ok(moved)
}
