//! The `collections` table: tenant-defined record types; field definitions are stored as JSON.
//! A collection's label, memo and field definitions (the fields' labels, memos, choices and
//! rules) are sealed under the tenant's key (`vault/`, DAT-2); its name, an identifier in URLs,
//! is not.

use super::{constraint, corrupt, found, micros, timestamp};
use crate::conn::{Exec, run};
use crate::error::StoreError;
use crate::rows::CollectionHead;
use crate::vault::Sealer;
use jiff::Timestamp;
use kura_domain::{Collection, CollectionId, CollectionSpec, DisplayName, FieldDef, Key, TenantId};
use uuid::Uuid;

macro_rules! cols {
    () => {
        "tenant_id, id, name, label, memo, fields, created_at, updated_at"
    };
}

#[derive(sqlx::FromRow)]
struct CollectionRow {
    tenant_id: Uuid,
    id: Uuid,
    name: String,
    label: String,
    memo: String,
    fields: String,
    created_at: i64,
    updated_at: i64,
}

/// The table and fields bound into the seals; the row is the collection's id.
const COLLECTIONS: &str = "collections";
const LABEL: &str = "label";
const MEMO: &str = "memo";
const FIELDS: &str = "fields";

/// A collection's label, memo and field definitions as stored.
struct SealedSpec {
    label: String,
    memo: String,
    fields: String,
}

fn seal_spec(sealer: &Sealer, id: CollectionId, spec: &CollectionSpec) -> Result<SealedSpec, StoreError> {
    let row = *id.as_uuid().as_bytes();
    let fields = fields_json(spec)?;
    Ok(SealedSpec {
        label: sealer.seal_text(COLLECTIONS, &row, LABEL, spec.label.as_str()),
        memo: sealer.seal_text(COLLECTIONS, &row, MEMO, &spec.memo),
        fields: sealer.seal_text(COLLECTIONS, &row, FIELDS, &fields),
    })
}

impl CollectionRow {
    /// The collection, its label, memo and fields opened by the tenant's `sealer`.
    fn open(mut self, sealer: &Sealer) -> Result<Collection, StoreError> {
        let row = *self.id.as_bytes();
        self.label = sealer.open_text(COLLECTIONS, &row, LABEL, std::mem::take(&mut self.label))?;
        self.memo = sealer.open_text(COLLECTIONS, &row, MEMO, std::mem::take(&mut self.memo))?;
        self.fields = sealer.open_text(COLLECTIONS, &row, FIELDS, std::mem::take(&mut self.fields))?;
        let r = self;
        Ok(Collection {
            id: CollectionId::from_uuid(r.id),
            tenant_id: TenantId::from_uuid(r.tenant_id),
            name: Key::parse(&r.name).map_err(|e| corrupt("collection name", e))?,
            label: DisplayName::parse(&r.label).map_err(|e| corrupt("collection label", e))?,
            memo: r.memo,
            fields: serde_json::from_str::<Vec<FieldDef>>(&r.fields).map_err(|e| corrupt("collection fields", e))?,
            created_at: timestamp(r.created_at)?,
            updated_at: timestamp(r.updated_at)?,
        })
    }
}

fn fields_json(spec: &CollectionSpec) -> Result<String, StoreError> {
    serde_json::to_string(&spec.fields).map_err(|e| corrupt("collection fields", e))
}

pub(crate) async fn all(e: &mut Exec<'_>, tenant: TenantId, sealer: &Sealer) -> Result<Vec<Collection>, StoreError> {
    const SQL: &str = concat!("SELECT ", cols!(), " FROM collections WHERE tenant_id = $1 ORDER BY name");
    let rows: Vec<CollectionRow> = run!(e, |c| sqlx::query_as(SQL).bind(tenant.as_uuid()).fetch_all(c).await)?;
    rows.into_iter().map(|r| r.open(sealer)).collect()
}

pub(crate) async fn by_id(
    e: &mut Exec<'_>,
    tenant: TenantId,
    id: CollectionId,
    sealer: &Sealer,
) -> Result<Option<Collection>, StoreError> {
    const SQL: &str = concat!("SELECT ", cols!(), " FROM collections WHERE tenant_id = $1 AND id = $2");
    let row: Option<CollectionRow> =
        run!(e, |c| sqlx::query_as(SQL).bind(tenant.as_uuid()).bind(id.as_uuid()).fetch_optional(c).await)?;
    row.map(|r| r.open(sealer)).transpose()
}

pub(crate) async fn by_name(
    e: &mut Exec<'_>,
    tenant: TenantId,
    name: &Key,
    sealer: &Sealer,
) -> Result<Option<Collection>, StoreError> {
    const SQL: &str = concat!("SELECT ", cols!(), " FROM collections WHERE tenant_id = $1 AND name = $2");
    let row: Option<CollectionRow> =
        run!(e, |c| sqlx::query_as(SQL).bind(tenant.as_uuid()).bind(name.as_str()).fetch_optional(c).await)?;
    row.map(|r| r.open(sealer)).transpose()
}

pub(crate) async fn insert(
    e: &mut Exec<'_>,
    tenant: TenantId,
    id: CollectionId,
    spec: &CollectionSpec,
    now: Timestamp,
    sealer: &Sealer,
) -> Result<(), StoreError> {
    const SQL: &str = concat!("INSERT INTO collections (", cols!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7, $7)");
    let sealed = seal_spec(sealer, id, spec)?;
    run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(id.as_uuid())
        .bind(spec.name.as_str())
        .bind(&sealed.label)
        .bind(&sealed.memo)
        .bind(&sealed.fields)
        .bind(micros(now))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))
    .map_err(constraint("a collection with this name already exists"))?;
    Ok(())
}

/// Replaces label, memo and fields; the name stays. `None` if there is no such collection.
pub(crate) async fn update(
    e: &mut Exec<'_>,
    tenant: TenantId,
    id: CollectionId,
    spec: &CollectionSpec,
    now: Timestamp,
    sealer: &Sealer,
) -> Result<Option<Collection>, StoreError> {
    const SQL: &str = concat!(
        "UPDATE collections SET label = $3, memo = $4, fields = $5, updated_at = $6, revision = revision + 1 ",
        "WHERE tenant_id = $1 AND id = $2 RETURNING ",
        cols!()
    );
    let sealed = seal_spec(sealer, id, spec)?;
    let row: Option<CollectionRow> = run!(e, |c| sqlx::query_as(SQL)
        .bind(tenant.as_uuid())
        .bind(id.as_uuid())
        .bind(&sealed.label)
        .bind(&sealed.memo)
        .bind(&sealed.fields)
        .bind(micros(now))
        .fetch_optional(c)
        .await)?;
    row.map(|r| r.open(sealer)).transpose()
}

pub(crate) async fn delete(e: &mut Exec<'_>, tenant: TenantId, id: CollectionId) -> Result<(), StoreError> {
    const SQL: &str = "DELETE FROM collections WHERE tenant_id = $1 AND id = $2";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(tenant.as_uuid())
        .bind(id.as_uuid())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    found(n)
}

/// [`next_change`]'s statement for a write that deletes nothing: `$1` tenant, `$2` collection.
pub(crate) const NEXT_CHANGE: &str = "UPDATE collections SET change_seq = change_seq + 1 \
     WHERE tenant_id = $1 AND id = $2 RETURNING change_seq, delete_seq";

/// Takes the collection's next change sequence number for a record write (and, for a delete,
/// records it as the latest delete); returns the new change and delete numbers. A missing
/// collection is [`StoreError::NotFound`].
pub(crate) async fn next_change(
    e: &mut Exec<'_>,
    tenant: TenantId,
    collection: CollectionId,
    deleting: bool,
) -> Result<(i64, i64), StoreError> {
    // On both engines the right-hand sides see the row as it was, so delete_seq becomes the new
    // change_seq.
    const CHANGE: &str = NEXT_CHANGE;
    const DELETE: &str = "UPDATE collections SET change_seq = change_seq + 1, delete_seq = change_seq + 1 \
         WHERE tenant_id = $1 AND id = $2 RETURNING change_seq, delete_seq";
    let sql = if deleting { DELETE } else { CHANGE };
    let seqs: Option<(i64, i64)> =
        run!(e, |c| sqlx::query_as(sql).bind(tenant.as_uuid()).bind(collection.as_uuid()).fetch_optional(c).await)?;
    seqs.ok_or(StoreError::NotFound)
}

/// [`set_seqs`]'s statement: `$1` tenant, `$2` collection, `$3` change and `$4` delete number.
pub(crate) const SET_SEQS: &str =
    "UPDATE collections SET change_seq = $3, delete_seq = $4 WHERE tenant_id = $1 AND id = $2";

/// Writes back change numbers counted on in memory (see `writer/`); the row is already locked
/// by the transaction's first `next_change`. A collection deleted meanwhile is no error.
pub(crate) async fn set_seqs(
    e: &mut Exec<'_>,
    tenant: TenantId,
    collection: CollectionId,
    change_seq: i64,
    delete_seq: i64,
) -> Result<(), StoreError> {
    run!(e, |c| sqlx::query(SET_SEQS)
        .bind(tenant.as_uuid())
        .bind(collection.as_uuid())
        .bind(change_seq)
        .bind(delete_seq)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The collection's change and delete sequence numbers, if it exists.
pub(crate) async fn change_seqs(
    e: &mut Exec<'_>,
    tenant: TenantId,
    collection: CollectionId,
) -> Result<Option<(i64, i64)>, StoreError> {
    const SQL: &str = "SELECT change_seq, delete_seq FROM collections WHERE tenant_id = $1 AND id = $2";
    Ok(run!(e, |c| sqlx::query_as(SQL).bind(tenant.as_uuid()).bind(collection.as_uuid()).fetch_optional(c).await)?)
}

/// The head of the collection named `name`, if it exists.
pub(crate) async fn head(e: &mut Exec<'_>, tenant: TenantId, name: &Key) -> Result<Option<CollectionHead>, StoreError> {
    const SQL: &str = "SELECT id, revision, change_seq, delete_seq FROM collections WHERE tenant_id = $1 AND name = $2";
    Ok(run!(e, |c| sqlx::query_as(SQL).bind(tenant.as_uuid()).bind(name.as_str()).fetch_optional(c).await)?)
}

#[derive(sqlx::FromRow)]
struct RevisedRow {
    #[sqlx(flatten)]
    row: CollectionRow,
    revision: i64,
}

/// A collection's definition with the revision it was read at.
pub(crate) async fn revised(
    e: &mut Exec<'_>,
    tenant: TenantId,
    id: CollectionId,
    sealer: &Sealer,
) -> Result<Option<(Collection, i64)>, StoreError> {
    const SQL: &str = concat!("SELECT ", cols!(), ", revision FROM collections WHERE tenant_id = $1 AND id = $2");
    let row: Option<RevisedRow> =
        run!(e, |c| sqlx::query_as(SQL).bind(tenant.as_uuid()).bind(id.as_uuid()).fetch_optional(c).await)?;
    row.map(|r| Ok((r.row.open(sealer)?, r.revision))).transpose()
}

/// Collections whose label, memo or fields are not sealed (written before they were sealed), as
/// `(tenant, id, label, memo, fields)`. The fields, JSON, always start with `[` when plain.
#[allow(clippy::type_complexity, reason = "a row of five columns, used once")]
pub(crate) async fn unsealed(e: &mut Exec<'_>) -> Result<Vec<(Uuid, Uuid, String, String, String)>, StoreError> {
    const SQL: &str = "SELECT tenant_id, id, label, memo, fields FROM collections WHERE fields NOT LIKE $1 \
                       ORDER BY tenant_id";
    Ok(run!(e, |c| sqlx::query_as(SQL).bind(crate::vault::SEALED_TEXT_PATTERN).fetch_all(c).await)?)
}

/// Seals a collection's label, memo and fields written before they were sealed, if its fields
/// are still as they were read. Not a definition change: the revision stays.
pub(crate) async fn seal_unsealed(
    e: &mut Exec<'_>,
    sealer: &Sealer,
    id: Uuid,
    label: &str,
    memo: &str,
    fields: &str,
) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE collections SET label = $3, memo = $4, fields = $5 \
                       WHERE tenant_id = $1 AND id = $2 AND fields = $6";
    let row = *id.as_bytes();
    let sealed_label = sealer.seal_text(COLLECTIONS, &row, LABEL, label);
    let sealed_memo = sealer.seal_text(COLLECTIONS, &row, MEMO, memo);
    let sealed_fields = sealer.seal_text(COLLECTIONS, &row, FIELDS, fields);
    run!(e, |c| sqlx::query(SQL)
        .bind(sealer.tenant().as_uuid())
        .bind(id)
        .bind(&sealed_label)
        .bind(&sealed_memo)
        .bind(&sealed_fields)
        .bind(fields)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}
