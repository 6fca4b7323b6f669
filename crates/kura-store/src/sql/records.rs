//! The `records` table. `data` is opaque bytes to the database: sealed by the tenant's
//! [`Sealer`] (`vault/`) before it is bound, opened by it when read back, which is why filtering
//! and sorting happen in the domain.

use super::{constraint, count, found, micros, timestamp};
use crate::conn::{Exec, run};
use crate::dialect;
use crate::error::StoreError;
use crate::vault::Sealer;
use jiff::Timestamp;
use kura_domain::{CollectionId, Record, RecordData, RecordId, TenantId};
use uuid::Uuid;

macro_rules! cols {
    () => {
        "tenant_id, collection_id, id, version, data, created_at, updated_at"
    };
}

#[derive(sqlx::FromRow)]
struct RecordRow {
    tenant_id: Uuid,
    collection_id: Uuid,
    id: Uuid,
    version: i64,
    data: Vec<u8>,
    created_at: i64,
    updated_at: i64,
}

impl RecordRow {
    /// The record, its data opened by `sealer` (the sealer of the tenant the query named).
    fn open(self, sealer: &Sealer) -> Result<Record, StoreError> {
        let (id, collection) = (RecordId::from_uuid(self.id), CollectionId::from_uuid(self.collection_id));
        Ok(Record {
            id,
            tenant_id: TenantId::from_uuid(self.tenant_id),
            collection_id: collection,
            version: self.version,
            data: sealer.open_record(collection, id, &self.data)?,
            created_at: timestamp(self.created_at)?,
            updated_at: timestamp(self.updated_at)?,
        })
    }
}

pub(crate) async fn all(
    e: &mut Exec<'_>,
    tenant: TenantId,
    collection: CollectionId,
    sealer: &Sealer,
) -> Result<Vec<Record>, StoreError> {
    // UUIDv7 ids sort by creation time on both engines (bytewise).
    const SQL: &str =
        concat!("SELECT ", cols!(), " FROM records WHERE tenant_id = $1 AND collection_id = $2 ORDER BY id");
    let rows: Vec<RecordRow> =
        run!(e, |c| sqlx::query_as(SQL).bind(tenant.as_uuid()).bind(collection.as_uuid()).fetch_all(c).await)?;
    rows.into_iter().map(|r| r.open(sealer)).collect()
}

/// Records written after change sequence number `after` (inserts and updates; deletes are
/// signalled by the collection's `delete_seq`).
pub(crate) async fn changed_since(
    e: &mut Exec<'_>,
    tenant: TenantId,
    collection: CollectionId,
    after: i64,
    sealer: &Sealer,
) -> Result<Vec<Record>, StoreError> {
    const SQL: &str = concat!(
        "SELECT ",
        cols!(),
        " FROM records WHERE tenant_id = $1 AND collection_id = $2 AND change_seq > $3 ORDER BY id"
    );
    let rows: Vec<RecordRow> = run!(e, |c| sqlx::query_as(SQL)
        .bind(tenant.as_uuid())
        .bind(collection.as_uuid())
        .bind(after)
        .fetch_all(c)
        .await)?;
    rows.into_iter().map(|r| r.open(sealer)).collect()
}

pub(crate) async fn by_id(
    e: &mut Exec<'_>,
    tenant: TenantId,
    collection: CollectionId,
    id: RecordId,
    sealer: &Sealer,
) -> Result<Option<Record>, StoreError> {
    const SQL: &str =
        concat!("SELECT ", cols!(), " FROM records WHERE tenant_id = $1 AND collection_id = $2 AND id = $3");
    let row: Option<RecordRow> = run!(e, |c| sqlx::query_as(SQL)
        .bind(tenant.as_uuid())
        .bind(collection.as_uuid())
        .bind(id.as_uuid())
        .fetch_optional(c)
        .await)?;
    row.map(|r| r.open(sealer)).transpose()
}

/// The current version of a record, if it exists.
pub(crate) async fn version_of(
    e: &mut Exec<'_>,
    tenant: TenantId,
    collection: CollectionId,
    id: RecordId,
) -> Result<Option<i64>, StoreError> {
    const SQL: &str = "SELECT version FROM records WHERE tenant_id = $1 AND collection_id = $2 AND id = $3";
    Ok(run!(e, |c| sqlx::query_scalar(SQL)
        .bind(tenant.as_uuid())
        .bind(collection.as_uuid())
        .bind(id.as_uuid())
        .fetch_optional(c)
        .await)?)
}

pub(crate) async fn count_in(e: &mut Exec<'_>, tenant: TenantId, collection: CollectionId) -> Result<u64, StoreError> {
    const SQL: &str = "SELECT COUNT(*) FROM records WHERE tenant_id = $1 AND collection_id = $2";
    let n: i64 =
        run!(e, |c| sqlx::query_scalar(SQL).bind(tenant.as_uuid()).bind(collection.as_uuid()).fetch_one(c).await)?;
    Ok(count(n))
}

/// The number of records of each of the tenant's collections that has any, in one statement.
pub(crate) async fn counts_by_collection(
    e: &mut Exec<'_>,
    tenant: TenantId,
) -> Result<Vec<(CollectionId, u64)>, StoreError> {
    const SQL: &str = "SELECT collection_id, COUNT(*) FROM records WHERE tenant_id = $1 GROUP BY collection_id";
    let rows: Vec<(uuid::Uuid, i64)> = run!(e, |c| sqlx::query_as(SQL).bind(tenant.as_uuid()).fetch_all(c).await)?;
    Ok(rows.into_iter().map(|(id, n)| (CollectionId::from_uuid(id), count(n))).collect())
}

/// The insert of new records up to its `VALUES`, whose tuples bind as [`Insert::bind`] does.
macro_rules! insert_head_sql {
    () => {
        "INSERT INTO records (tenant_id, collection_id, id, version, data, created_at, updated_at, change_seq)"
    };
}
pub(crate) use insert_head_sql;

/// The insert of a new record, with its parameters `$1`…`$8` (see [`Insert::bind`]).
macro_rules! insert_sql {
    () => {
        concat!($crate::sql::records::insert_head_sql!(), " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
    };
}

/// Where a record write goes, and the collection's change number it takes (see `cache/`),
/// which the writer gives it when it writes as data (`writer/`).
#[derive(Debug)]
pub(crate) struct Target {
    tenant: Uuid,
    collection: Uuid,
    change_seq: i64,
}

impl Target {
    fn of(r: &Record, change_seq: i64) -> Self {
        Self { tenant: r.tenant_id.as_uuid(), collection: r.collection_id.as_uuid(), change_seq }
    }

    /// The tenant and collection of the record.
    pub(crate) fn key(&self) -> (TenantId, CollectionId) {
        (TenantId::from_uuid(self.tenant), CollectionId::from_uuid(self.collection))
    }

    pub(crate) fn set_change_seq(&mut self, seq: i64) {
        self.change_seq = seq;
    }
}

/// Version 1 of a record, encoded and numbered, ready to insert: now, or with the write's audit
/// entry (`writer/`).
#[derive(Debug)]
pub(crate) struct Insert {
    pub(crate) target: Target,
    id: Uuid,
    version: i64,
    data: Vec<u8>,
    created_at: i64,
    updated_at: i64,
}

impl Insert {
    /// `r` sealed by `sealer`, its tenant's.
    pub(crate) fn new(r: &Record, change_seq: i64, sealer: &Sealer) -> Result<Self, StoreError> {
        Ok(Self {
            target: Target::of(r, change_seq),
            id: r.id.as_uuid(),
            version: r.version,
            data: sealer.seal_record(r.collection_id, r.id, &r.data)?,
            created_at: micros(r.created_at),
            updated_at: micros(r.updated_at),
        })
    }

    /// Binds `$1`…`$8` of [`insert_sql`].
    pub(crate) fn bind<'q, DB>(
        &'q self,
        q: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>,
    ) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>
    where
        DB: sqlx::Database,
        Uuid: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        &'q [u8]: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    {
        q.bind(self.target.tenant)
            .bind(self.target.collection)
            .bind(self.id)
            .bind(self.version)
            .bind(self.data.as_slice())
            .bind(self.created_at)
            .bind(self.updated_at)
            .bind(self.target.change_seq)
    }
}

/// A change to a record at a known version, encoded and ready for the writer (`writer/`):
/// applied only if the record is still at that version.
#[derive(Debug)]
pub(crate) struct Update {
    pub(crate) target: Target,
    pub(crate) id: Uuid,
    /// The version the change applies to (the one before the changed record's).
    pub(crate) version: i64,
    data: Vec<u8>,
    updated_at: i64,
}

/// [`Update`]'s statement, with its parameters numbered from `$1` (see [`Update::bind`]);
/// returns the row's id and new version if it matched.
macro_rules! update_at_version_sql {
    () => {
        "UPDATE records SET data = $4, version = version + 1, updated_at = $5, change_seq = $6 \
         WHERE tenant_id = $1 AND collection_id = $2 AND id = $3 AND version = $7 RETURNING id, version"
    };
}

/// Parameters of [`update_at_version_sql`].
pub(crate) const UPDATE_WIDTH: usize = 7;

impl Update {
    /// The change that makes `changed`, a record's next version, of the version before it.
    /// Sealed by `sealer`, the tenant's.
    pub(crate) fn new(changed: &Record, sealer: &Sealer) -> Result<Self, StoreError> {
        Ok(Self {
            target: Target::of(changed, 0),
            id: changed.id.as_uuid(),
            version: changed.version - 1,
            data: sealer.seal_record(changed.collection_id, changed.id, &changed.data)?,
            updated_at: micros(changed.updated_at),
        })
    }

    /// Binds the seven parameters of [`update_at_version_sql`], in their order.
    pub(crate) fn bind<'q, DB>(
        &'q self,
        q: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>,
    ) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>
    where
        DB: sqlx::Database,
        Uuid: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        &'q [u8]: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    {
        q.bind(self.target.tenant)
            .bind(self.target.collection)
            .bind(self.id)
            .bind(self.data.as_slice())
            .bind(self.updated_at)
            .bind(self.target.change_seq)
            .bind(self.version)
    }
}

/// Applies each update whose record is still at its version and returns `(id, new version)` of
/// those that were: where the engine fuses calls ([`dialect::fuses`]), up to `CHUNK` statements
/// per call (cut by `chunks`), otherwise one per call.
/// A failure leaves an unknown part applied: the caller rolls back to its savepoint.
pub(crate) async fn update_at_versions(e: &mut Exec<'_>, updates: &[&Update]) -> Result<Vec<(Uuid, i64)>, StoreError> {
    use sqlx::Row as _;
    use std::sync::OnceLock;
    const ONE: &str = update_at_version_sql!();
    static MANY: OnceLock<Vec<OnceLock<String>>> = OnceLock::new();
    let mut applied = Vec::new();
    let fuses = dialect::fuses(e.engine());
    match e {
        Exec::Sqlite(c, _) if fuses => {
            let many = MANY.get_or_init(|| (0..super::CHUNK).map(|_| OnceLock::new()).collect());
            for chunk in super::chunks(updates) {
                let sql = many[chunk.len() - 1].get_or_init(|| dialect::fuse(&vec![(ONE, UPDATE_WIDTH); chunk.len()]));
                let mut q = sqlx::query(sql.as_str());
                for u in chunk {
                    q = u.bind(q);
                }
                for row in dialect::fused(c, q).await? {
                    applied.push((row.try_get(0)?, row.try_get(1)?));
                }
            }
        }
        _ => {
            for u in updates {
                let row: Option<(Uuid, i64)> = run!(e, |c| match u.bind(sqlx::query(ONE)).fetch_optional(c).await {
                    Ok(Some(row)) => Ok(Some((row.try_get(0)?, row.try_get(1)?))),
                    Ok(None) => Ok(None),
                    Err(e) => Err(e),
                })?;
                applied.extend(row);
            }
        }
    }
    Ok(applied)
}

/// What a failed record insert means: a taken id is a conflict, a missing collection (foreign
/// key) is [`StoreError::NotFound`].
pub(crate) fn insert_error(e: sqlx::Error) -> StoreError {
    constraint("a record with this id already exists")(e)
}

/// Inserts version 1 of a record with its change sequence number. A missing collection is
/// [`StoreError::NotFound`].
pub(crate) async fn insert(e: &mut Exec<'_>, r: &Insert) -> Result<(), StoreError> {
    const SQL: &str = insert_sql!();
    run!(e, |c| r.bind(sqlx::query(SQL)).execute(c).await.map(|r| r.rows_affected())).map_err(insert_error)?;
    Ok(())
}

/// Replaces the data and bumps the version, if the record exists and (with `expected_version`)
/// has not changed. `None` says neither which; the caller looks.
#[allow(clippy::too_many_arguments, reason = "one bind parameter each; a struct would only rename them")]
pub(crate) async fn update(
    e: &mut Exec<'_>,
    tenant: TenantId,
    collection: CollectionId,
    id: RecordId,
    expected_version: Option<i64>,
    data: &RecordData,
    now: Timestamp,
    change_seq: i64,
    sealer: &Sealer,
) -> Result<Option<Record>, StoreError> {
    const SQL: &str = concat!(
        "UPDATE records SET data = $4, version = version + 1, updated_at = $5, change_seq = $7 ",
        "WHERE tenant_id = $1 AND collection_id = $2 AND id = $3 AND ($6 IS NULL OR version = $6) ",
        "RETURNING ",
        cols!()
    );
    let data = sealer.seal_record(collection, id, data)?;
    let row: Option<RecordRow> = run!(e, |c| sqlx::query_as(SQL)
        .bind(tenant.as_uuid())
        .bind(collection.as_uuid())
        .bind(id.as_uuid())
        .bind(data.as_slice())
        .bind(micros(now))
        .bind(expected_version)
        .bind(change_seq)
        .fetch_optional(c)
        .await)?;
    row.map(|r| r.open(sealer)).transpose()
}

pub(crate) async fn delete(
    e: &mut Exec<'_>,
    tenant: TenantId,
    collection: CollectionId,
    id: RecordId,
) -> Result<(), StoreError> {
    const SQL: &str = "DELETE FROM records WHERE tenant_id = $1 AND collection_id = $2 AND id = $3";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(collection.as_uuid())
        .bind(id.as_uuid())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    found(n)
}

/// Deletes every record of a collection; returns how many there were.
pub(crate) async fn delete_all_in(
    e: &mut Exec<'_>,
    tenant: TenantId,
    collection: CollectionId,
) -> Result<u64, StoreError> {
    const SQL: &str = "DELETE FROM records WHERE tenant_id = $1 AND collection_id = $2";
    Ok(run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(collection.as_uuid())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?)
}

/// Deletes a record if it is still at `version`; returns whether it did (a bulk delete refuses
/// the whole operation when one record moved on or is gone).
pub(crate) async fn delete_at_version(
    e: &mut Exec<'_>,
    tenant: TenantId,
    collection: CollectionId,
    id: RecordId,
    version: i64,
) -> Result<bool, StoreError> {
    const SQL: &str = "DELETE FROM records WHERE tenant_id = $1 AND collection_id = $2 AND id = $3 AND version = $4";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(collection.as_uuid())
        .bind(id.as_uuid())
        .bind(version)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}
