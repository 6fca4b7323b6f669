//! The `audit_log`, `audit_heads` and `audit_tree_nodes` tables (LOG-1, LOG-3): one hash chain
//! per scope, which is also the leaf sequence of the scope's Merkle log; its head with the tree's
//! compact range; and the hashes of the tree's completed subtrees, for proofs.

use super::records::{self, Insert};
use super::{CHUNK, corrupt, hash32, micros, timestamp};
use crate::conn::Engine;
use crate::conn::{Exec, run};
use crate::dialect;
use crate::error::StoreError;
use jiff::Timestamp;
use kura_crypto::merkle::{CompactRange, Hash, Node};
use kura_domain::{Actor, ActorKind, AuditEntry, AuditScope, Operation, Outcome};
use std::sync::OnceLock;
use uuid::Uuid;

macro_rules! cols {
    () => {
        "scope_id, seq, at, actor_kind, actor_id, actor_label, actor_role, source_ip, operation, target, \
         outcome, detail, prev_hash, hash, user_agent"
    };
}

/// The columns a listing reads ([`AuditRow`]'s).
pub(crate) const COLUMNS: &str = cols!();

/// The columns an append writes: [`cols`] and the target's index.
macro_rules! insert_cols {
    () => {
        concat!(cols!(), ", target_index")
    };
}

/// An entry to append, as it is stored (a tenant's values sealed) and hashed, with the index of
/// its target (`None` in the platform's chain).
#[derive(Debug)]
pub(crate) struct NewEntry {
    pub entry: AuditEntry,
    pub target_index: Option<Vec<u8>>,
}

/// An entry as stored; verification looks at `seq` before trusting the rest.
#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    scope_id: Uuid,
    pub(crate) seq: i64,
    at: i64,
    actor_kind: String,
    actor_id: Option<Uuid>,
    actor_label: String,
    actor_role: Option<String>,
    source_ip: Option<String>,
    operation: String,
    target: Option<String>,
    outcome: String,
    detail: Option<String>,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
    user_agent: Option<String>,
}

impl AuditRow {
    /// The entry's canonical bytes from its stored columns, unparsed: the Merkle leaf's data.
    pub(crate) fn stored_bytes(&self) -> Vec<u8> {
        self.stored_bytes_as(self.seq)
    }
    /// [`AuditRow::stored_bytes`] as if the entry were numbered `seq` (to tell where a moved
    /// entry came from).
    pub(crate) fn stored_bytes_as(&self, seq: i64) -> Vec<u8> {
        AuditEntry::stored_bytes(&kura_domain::StoredFields {
            scope_id: self.scope_id,
            seq,
            at_micros: self.at,
            actor_kind: &self.actor_kind,
            actor_id: self.actor_id,
            actor_label: &self.actor_label,
            actor_role: self.actor_role.as_deref(),
            source_ip: self.source_ip.as_deref(),
            operation: &self.operation,
            target: self.target.as_deref(),
            outcome: &self.outcome,
            detail: self.detail.as_deref(),
            user_agent: self.user_agent.as_deref(),
        })
    }
    /// The previous hash and hash columns as stored (any length).
    pub(crate) fn hashes(&self) -> (&[u8], &[u8]) {
        (&self.prev_hash, &self.hash)
    }
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = StoreError;
    fn try_from(r: AuditRow) -> Result<Self, StoreError> {
        Ok(AuditEntry {
            scope: AuditScope::from_storage_id(r.scope_id),
            seq: r.seq,
            at: timestamp(r.at)?,
            actor: Actor {
                kind: ActorKind::parse(&r.actor_kind).ok_or_else(|| corrupt("actor kind", &r.actor_kind))?,
                id: r.actor_id,
                label: r.actor_label,
                role: r.actor_role,
                source_ip: r.source_ip,
                user_agent: r.user_agent,
            },
            operation: Operation::parse(&r.operation).ok_or_else(|| corrupt("operation", &r.operation))?,
            target: r.target,
            outcome: Outcome::parse(&r.outcome).ok_or_else(|| corrupt("outcome", &r.outcome))?,
            detail: r.detail,
            prev_hash: hash32("previous hash", &r.prev_hash)?,
            hash: hash32("hash", &r.hash)?,
        })
    }
}

/// A chain head as stored: the last sequence number and hash, and the Merkle tree's compact
/// range over the entries so far (`None` until the tree is built, see `audit_tree.rs`).
pub(crate) struct StoredHead {
    pub(crate) seq: i64,
    pub(crate) hash: [u8; 32],
    pub(crate) tree: Option<CompactRange>,
}

fn tree_of(bytes: Option<Vec<u8>>) -> Result<Option<CompactRange>, StoreError> {
    bytes.map(|b| CompactRange::from_bytes(&b).map_err(|e| corrupt("audit tree state", e))).transpose()
}

/// [`advance_head`]'s statement: `$1` scope, `$2` the all-zero hash, `$3` the empty tree.
const ADVANCE_HEAD: &str = "INSERT INTO audit_heads (scope_id, seq, hash, tree) VALUES ($1, 1, $2, $3) \
                            ON CONFLICT (scope_id) DO UPDATE SET seq = audit_heads.seq + 1 RETURNING seq, hash, tree";

/// Claims the next sequence number and returns it with the previous entry's hash and the tree
/// over the entries before it, creating the scope's head at the first append (its previous hash
/// is all zeros, its tree empty). On PostgreSQL the row lock this takes serialises appends to the
/// scope until the transaction commits.
pub(crate) async fn advance_head(e: &mut Exec<'_>, scope: AuditScope) -> Result<StoredHead, StoreError> {
    let empty = CompactRange::new().to_bytes();
    let (seq, hash, tree): (i64, Vec<u8>, Option<Vec<u8>>) = run!(e, |c| sqlx::query_as(ADVANCE_HEAD)
        .bind(scope.storage_id())
        .bind([0u8; 32].as_slice())
        .bind(empty.as_slice())
        .fetch_one(c)
        .await)?;
    Ok(StoredHead { seq, hash: hash32("audit head hash", &hash)?, tree: tree_of(tree)? })
}

/// [`set_head`]'s statement: `$1` scope, `$2` sequence number, `$3` hash, `$4` tree.
const SET_HEAD: &str = "UPDATE audit_heads SET seq = $2, hash = $3, tree = $4 WHERE scope_id = $1";

/// Writes a head advanced in memory back (the transaction already holds its lock).
pub(crate) async fn set_head(
    e: &mut Exec<'_>,
    scope: AuditScope,
    seq: i64,
    hash: &[u8; 32],
    tree: &CompactRange,
) -> Result<(), StoreError> {
    let tree = tree.to_bytes();
    let n = run!(e, |c| sqlx::query(SET_HEAD)
        .bind(scope.storage_id())
        .bind(seq)
        .bind(hash.as_slice())
        .bind(tree.as_slice())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    super::found(n)
}

/// Where an engine that fuses calls ([`dialect::fuses`]) can write a batch's numbers back in
/// the call that commits it: one chain head and at most one collection's change numbers, both
/// advanced in memory (see `writer/numbering.rs`), with `COMMIT`, as one [`dialect::fused`] call
/// (a hand-off to SQLite's worker thread instead of three). The rows exist and are locked: the
/// batch's first append and record write made them so under SQLite's write lock, which the
/// batch still holds.
pub(crate) async fn set_head_and_commit(
    c: &mut sqlx::SqliteConnection,
    scope: AuditScope,
    head: (i64, &[u8; 32], &CompactRange),
    collection: Option<(kura_domain::TenantId, kura_domain::CollectionId, i64, i64)>,
) -> Result<(), StoreError> {
    static HEAD: OnceLock<String> = OnceLock::new();
    static HEAD_SEQS: OnceLock<String> = OnceLock::new();
    let sql = match collection {
        None => HEAD.get_or_init(|| dialect::fuse(&[(SET_HEAD, 4), ("COMMIT", 0)])),
        Some(_) => {
            HEAD_SEQS.get_or_init(|| dialect::fuse(&[(SET_HEAD, 4), (super::collections::SET_SEQS, 4), ("COMMIT", 0)]))
        }
    };
    let tree = head.2.to_bytes();
    let q = sqlx::query(sql.as_str()).bind(scope.storage_id()).bind(head.0).bind(head.1.as_slice()).bind(tree);
    let q = match collection {
        Some((tenant, id, change, delete)) => q.bind(tenant.as_uuid()).bind(id.as_uuid()).bind(change).bind(delete),
        None => q,
    };
    dialect::fused(c, q).await?;
    Ok(())
}

/// Where the engine fuses calls ([`dialect::fuses`]), when no outer transaction is open: opens
/// it and the writer's savepoint `w`, and inside `w` takes `collection`'s next change number
/// and `scope`'s head as [`advance_head`] does, in one call instead of three. Returns the
/// collection's numbers as [`super::collections::next_change`] does (`None` if the collection
/// is gone) and the head. A failure leaves an unknown part done: the caller rolls back.
pub(crate) async fn begin_and_advance(
    c: &mut sqlx::SqliteConnection,
    collection: (kura_domain::TenantId, kura_domain::CollectionId),
    scope: AuditScope,
) -> Result<(Option<(i64, i64)>, StoredHead), StoreError> {
    use sqlx::Row as _;
    static SQL: OnceLock<String> = OnceLock::new();
    let sql = SQL.get_or_init(|| {
        dialect::fuse(&[
            (dialect::begin_writer(Engine::Sqlite), 0),
            (super::collections::NEXT_CHANGE, 2),
            (ADVANCE_HEAD, 3),
        ])
    });
    let empty = CompactRange::new().to_bytes();
    let q = sqlx::query(sql.as_str())
        .bind(collection.0.as_uuid())
        .bind(collection.1.as_uuid())
        .bind(scope.storage_id())
        .bind([0u8; 32].as_slice())
        .bind(empty.as_slice());
    let (mut seqs, mut head) = (None, None);
    for row in dialect::fused(c, q).await? {
        if row.try_column("change_seq").is_ok() {
            seqs = Some((row.try_get("change_seq")?, row.try_get("delete_seq")?));
        } else {
            let hash: Vec<u8> = row.try_get("hash")?;
            let tree: Option<Vec<u8>> = row.try_get("tree")?;
            head = Some(StoredHead {
                seq: row.try_get("seq")?,
                hash: hash32("audit head hash", &hash)?,
                tree: tree_of(tree)?,
            });
        }
    }
    let head = head.ok_or_else(|| corrupt("audit head", "the upsert returned no row"))?;
    Ok((seqs, head))
}

/// The head's sequence number, hash and tree, as stored (not checked).
pub(crate) async fn head(e: &mut Exec<'_>, scope: AuditScope) -> Result<Option<StoredHead>, StoreError> {
    const SQL: &str = "SELECT seq, hash, tree FROM audit_heads WHERE scope_id = $1";
    let row: Option<(i64, Vec<u8>, Option<Vec<u8>>)> =
        run!(e, |c| sqlx::query_as(SQL).bind(scope.storage_id()).fetch_optional(c).await)?;
    row.map(|(seq, hash, tree)| Ok(StoredHead { seq, hash: hash32("audit head hash", &hash)?, tree: tree_of(tree)? }))
        .transpose()
}

/// The scopes whose head has no tree yet: chains written before the Merkle log existed.
pub(crate) async fn heads_without_tree(e: &mut Exec<'_>) -> Result<Vec<Uuid>, StoreError> {
    const SQL: &str = "SELECT scope_id FROM audit_heads WHERE tree IS NULL ORDER BY scope_id";
    Ok(run!(e, |c| sqlx::query_scalar(SQL).fetch_all(c).await)?)
}

/// Locks a head that still has no tree (PostgreSQL: its row, until the transaction ends) and
/// returns its sequence number; `None` if another node built the tree meanwhile.
pub(crate) async fn lock_head_without_tree(e: &mut Exec<'_>, scope: AuditScope) -> Result<Option<i64>, StoreError> {
    const SQL: &str = "UPDATE audit_heads SET tree = NULL WHERE scope_id = $1 AND tree IS NULL RETURNING seq";
    Ok(run!(e, |c| sqlx::query_scalar(SQL).bind(scope.storage_id()).fetch_optional(c).await)?)
}

/// Stores a tree built from a chain's entries beside its head.
pub(crate) async fn set_tree(e: &mut Exec<'_>, scope: AuditScope, tree: &CompactRange) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE audit_heads SET tree = $2 WHERE scope_id = $1";
    let tree = tree.to_bytes();
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(scope.storage_id())
        .bind(tree.as_slice())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    super::found(n)
}

/// The stored subtrees of one level with an index from `first` to `first + count`, as
/// (index, hash) in index order; those missing are not there.
pub(crate) async fn nodes(
    e: &mut Exec<'_>,
    scope: AuditScope,
    level: u8,
    first: u64,
    count: u64,
) -> Result<Vec<(u64, Hash)>, StoreError> {
    const SQL: &str = "SELECT idx, hash FROM audit_tree_nodes WHERE scope_id = $1 AND level = $2 AND idx >= $3 \
                       AND idx < $4 ORDER BY idx";
    let range = |i: u64| i64::try_from(i).map_err(|_| corrupt("audit tree node", "index out of range"));
    let (from, to) = (range(first)?, range(first.saturating_add(count))?);
    let rows: Vec<(i64, Vec<u8>)> = run!(e, |c| sqlx::query_as(SQL)
        .bind(scope.storage_id())
        .bind(i32::from(level))
        .bind(from)
        .bind(to)
        .fetch_all(c)
        .await)?;
    rows.iter()
        .map(|(idx, h)| {
            let idx = u64::try_from(*idx).map_err(|_| corrupt("audit tree node", "negative index"))?;
            Ok((idx, Hash(hash32("audit tree node", h)?)))
        })
        .collect()
}

/// Inserts completed subtrees, up to [`CHUNK`] per call.
pub(crate) async fn insert_nodes(e: &mut Exec<'_>, nodes: &[(AuditScope, Node, Hash)]) -> Result<(), StoreError> {
    const WIDTH: usize = 4;
    static SQL: OnceLock<[Vec<String>; 2]> = OnceLock::new();
    let shapes = SQL.get_or_init(|| {
        [Engine::Sqlite, Engine::Postgres].map(|engine| {
            (1..=CHUNK)
                .map(|rows| {
                    let values = dialect::values(engine, 1, rows, WIDTH);
                    format!("INSERT INTO audit_tree_nodes (scope_id, level, idx, hash) VALUES {values}")
                })
                .collect()
        })
    });
    let shapes = &shapes[usize::from(e.engine() == Engine::Postgres)];
    for chunk in super::chunks(nodes) {
        let sql = shapes[chunk.len() - 1].as_str();
        run!(e, |c| {
            let mut q = sqlx::query(sql);
            for (scope, node, hash) in chunk {
                q = q
                    .bind(scope.storage_id())
                    .bind(i32::from(node.level))
                    .bind(i64::try_from(node.index).unwrap_or(i64::MAX))
                    .bind(hash.0.as_slice());
            }
            q.execute(c).await.map(drop)
        })?;
    }
    Ok(())
}

/// The entry at `seq`, raw, if there is one (for naming what a break is).
pub(crate) async fn row_at(e: &mut Exec<'_>, scope: AuditScope, seq: i64) -> Result<Option<AuditRow>, StoreError> {
    const SQL: &str = concat!("SELECT ", cols!(), " FROM audit_log WHERE scope_id = $1 AND seq = $2");
    Ok(run!(e, |c| sqlx::query_as(SQL).bind(scope.storage_id()).bind(seq).fetch_optional(c).await)?)
}

/// The entries other than `seq` that name `prev_hash` as their previous hash (for naming what
/// a break is: an entry moved elsewhere still names its original predecessor).
pub(crate) async fn rows_after_hash(
    e: &mut Exec<'_>,
    scope: AuditScope,
    prev_hash: &[u8; 32],
    seq: i64,
) -> Result<Vec<AuditRow>, StoreError> {
    const SQL: &str = concat!(
        "SELECT ",
        cols!(),
        " FROM audit_log WHERE scope_id = $1 AND prev_hash = $2 AND seq <> $3 ORDER BY seq LIMIT 10"
    );
    Ok(run!(e, |c| sqlx::query_as(SQL)
        .bind(scope.storage_id())
        .bind(prev_hash.as_slice())
        .bind(seq)
        .fetch_all(c)
        .await)?)
}

/// Binds an entry's sixteen columns, in the order of [`insert_cols`], onto query `$q`.
macro_rules! bind_entry {
    ($q:expr, $n:expr) => {{
        let n: &NewEntry = $n;
        let a = &n.entry;
        $q.bind(a.scope.storage_id())
            .bind(a.seq)
            .bind(micros(a.at))
            .bind(a.actor.kind.as_str())
            .bind(a.actor.id)
            .bind(a.actor.label.as_str())
            .bind(a.actor.role.as_deref())
            .bind(a.actor.source_ip.as_deref())
            .bind(a.operation.as_str())
            .bind(a.target.as_deref())
            .bind(a.outcome.as_str())
            .bind(a.detail.as_deref())
            .bind(a.prev_hash.as_slice())
            .bind(a.hash.as_slice())
            .bind(a.actor.user_agent.as_deref())
            .bind(n.target_index.as_deref())
    }};
}

/// Up to `limit` raw entries after `after_seq`, in sequence order, as columns (verification
/// reads an entry so when it is not taken from its page's text, `audit_page.rs`).
pub(crate) async fn page(
    e: &mut Exec<'_>,
    scope: AuditScope,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<AuditRow>, StoreError> {
    const SQL: &str =
        concat!("SELECT ", cols!(), " FROM audit_log WHERE scope_id = $1 AND seq > $2 ORDER BY seq LIMIT $3");
    Ok(run!(e, |c| sqlx::query_as(SQL).bind(scope.storage_id()).bind(after_seq).bind(limit).fetch_all(c).await)?)
}

/// Every scope with a head or an entry (a head without entries, or entries without a head, are
/// both worth verifying).
pub(crate) async fn scopes(e: &mut Exec<'_>) -> Result<Vec<Uuid>, StoreError> {
    const SQL: &str = "SELECT scope_id FROM audit_heads UNION SELECT DISTINCT scope_id FROM audit_log";
    Ok(run!(e, |c| sqlx::query_scalar(SQL).fetch_all(c).await)?)
}

/// Columns of a record row and of an entry row: the parameters each takes.
const RECORD_WIDTH: usize = 8;
const ENTRY_WIDTH: usize = 16;

/// The statement that inserts `rows` records (parameters from `$1`; none if `with_records` is
/// false) and their entries (after the records' parameters), made once per shape and kept, in
/// the engine's form ([`dialect::records_and_entries`]). With `release` (only where the engine
/// fuses calls) it also releases and re-opens the writer's savepoint `w`.
fn many_sql(engine: Engine, rows: usize, with_records: bool, release: bool) -> &'static str {
    type Shapes = [[[OnceLock<String>; 2]; 2]; 2];
    static SQL: OnceLock<Vec<Shapes>> = OnceLock::new();
    let shapes = SQL.get_or_init(|| (0..CHUNK).map(|_| Shapes::default()).collect());
    let shape = &shapes[rows - 1][usize::from(engine == Engine::Postgres)][usize::from(with_records)];
    shape[usize::from(release)].get_or_init(|| {
        let record_params = if with_records { rows * RECORD_WIDTH } else { 0 };
        let records =
            format!("{} VALUES {}", records::insert_head_sql!(), dialect::values(engine, 1, rows, RECORD_WIDTH));
        let entries = format!(
            "INSERT INTO audit_log ({}) VALUES {}",
            insert_cols!(),
            dialect::values(engine, 1 + record_params, rows, ENTRY_WIDTH)
        );
        let statement = if with_records { dialect::records_and_entries(engine, &records, &entries) } else { entries };
        if release { format!("{statement}; {}", dialect::RELEASE) } else { statement }
    })
}

/// Appends entries, after inserting the new records they go with (`records[i]` with
/// `entries[i]`; no records: only the entries), up to [`CHUNK`] of each per call, cut by
/// [`super::chunks`]. Where the engine fuses calls ([`dialect::fuses`]), the last call also
/// releases and re-opens the writer's savepoint `w` (see `writer/`), which saves a hand-off to
/// SQLite's worker thread. Returns whether `w` was released. A failure leaves an unknown part
/// inserted: the caller rolls back to its savepoint.
pub(crate) async fn insert_many(
    e: &mut Exec<'_>,
    entries: &[NewEntry],
    records: &[&Insert],
) -> Result<bool, StoreError> {
    debug_assert!(records.is_empty() || entries.len() == records.len());
    let fuses = dialect::fuses(e.engine());
    let mut released = false;
    let (mut cuts, mut at) = (super::chunk_sizes(entries.len()).peekable(), 0);
    while let Some(k) = cuts.next() {
        let (entries, records) = (&entries[at..at + k], records.get(at..at + k).unwrap_or_default());
        at += k;
        released = fuses && cuts.peek().is_none();
        let sql = many_sql(e.engine(), entries.len(), !records.is_empty(), released);
        let result = match e {
            Exec::Sqlite(c, _) => {
                let mut q = sqlx::query(sql);
                for r in records {
                    q = r.bind(q);
                }
                for a in entries {
                    q = bind_entry!(q, a);
                }
                dialect::fused(c, q).await.map(drop)
            }
            Exec::Pg(..) => run!(e, |c| {
                let mut q = sqlx::query(sql);
                for r in records {
                    q = r.bind(q);
                }
                for a in entries {
                    q = bind_entry!(q, a);
                }
                q.execute(c).await.map(drop)
            }),
        };
        // A taken id or a missing collection is the record's; an entry's failure is the writer's.
        result.map_err(|e| if records.is_empty() { e.into() } else { records::insert_error(e) })?;
    }
    Ok(released)
}

/// The lowest and highest sequence numbers of `scope`'s entries dated in `[from, to)` (an
/// export's range; LOG-1), or `None` when no entry is.
pub(crate) async fn seq_bounds(
    e: &mut Exec<'_>,
    scope: AuditScope,
    from: Timestamp,
    to: Timestamp,
) -> Result<Option<(i64, i64)>, StoreError> {
    const SQL: &str = "SELECT MIN(seq), MAX(seq) FROM audit_log WHERE scope_id = $1 AND at >= $2 AND at < $3";
    let (lo, hi): (Option<i64>, Option<i64>) = run!(e, |c| sqlx::query_as(SQL)
        .bind(scope.storage_id())
        .bind(micros(from))
        .bind(micros(to))
        .fetch_one(c)
        .await)?;
    Ok(lo.zip(hi))
}
