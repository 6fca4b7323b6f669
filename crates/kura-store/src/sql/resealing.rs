//! Every sealed column of a tenant's rows, for the job that re-encrypts them under the newest
//! key version (DAT-2, key rotation): each column read in batches in the order of its key after
//! a cursor, and each value written back only while it is still as it was read, so a write that
//! changed it in between (sealing under the newest version itself) is never undone.
//!
//! Audit entries are not here: the hash chain, the Merkle tree and signed checkpoints commit to
//! their stored bytes, so they keep opening under the version that sealed them. Only the index
//! of their target is kept up to date ([`Shape::AuditIndex`]), which no hash covers.

use crate::conn::{Exec, run};
use crate::error::StoreError;
use kura_domain::TenantId;
use uuid::Uuid;

/// How a column's rows are keyed, and so how its cursor and seal context are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Keyed by the UUID `id`; the seal's row is its 16 bytes.
    Id,
    /// `records`: keyed by `(collection_id, id)`, sealed as a record (bytes, not text).
    Record,
    /// Keyed by the digest `token_hash`, which is also the seal's row.
    Digest,
    /// `audit_log`: keyed by `seq`; only the target's index is recomputed, nothing is sealed.
    AuditIndex,
}

/// One sealed column. `select` reads the next batch after the cursor, `update` writes one value
/// back if it is unchanged, `count` counts the rows to go through.
#[derive(Debug)]
pub(crate) struct Column {
    pub table: &'static str,
    pub field: &'static str,
    pub shape: Shape,
    select: &'static str,
    update: &'static str,
    count: &'static str,
}

macro_rules! by_id {
    ($table:literal, $scope:literal, $field:literal) => {
        Column {
            table: $table,
            field: $field,
            shape: Shape::Id,
            select: concat!(
                "SELECT id, ",
                $field,
                " FROM ",
                $table,
                " WHERE ",
                $scope,
                " = $1 AND id > $2 AND ",
                $field,
                " IS NOT NULL ORDER BY id LIMIT $3"
            ),
            update: concat!(
                "UPDATE ",
                $table,
                " SET ",
                $field,
                " = $3 WHERE ",
                $scope,
                " = $1 AND id = $2 AND ",
                $field,
                " = $4"
            ),
            count: concat!("SELECT COUNT(*) FROM ", $table, " WHERE ", $scope, " = $1 AND ", $field, " IS NOT NULL"),
        }
    };
}

macro_rules! by_digest {
    ($table:literal, $field:literal) => {
        Column {
            table: $table,
            field: $field,
            shape: Shape::Digest,
            select: concat!(
                "SELECT token_hash, ",
                $field,
                " FROM ",
                $table,
                " WHERE scope_id = $1 AND token_hash > $2 AND ",
                $field,
                " IS NOT NULL ORDER BY token_hash LIMIT $3"
            ),
            update: concat!(
                "UPDATE ",
                $table,
                " SET ",
                $field,
                " = $3 WHERE scope_id = $1 AND token_hash = $2 AND ",
                $field,
                " = $4"
            ),
            count: concat!("SELECT COUNT(*) FROM ", $table, " WHERE scope_id = $1 AND ", $field, " IS NOT NULL"),
        }
    };
}

/// The user's email: written back with its blind index, which changes when a tenant without
/// keys gets its first ones (the keyless index becomes the keyed one).
const USER_EMAIL: Column = Column {
    table: "users",
    field: "email",
    shape: Shape::Id,
    select: "SELECT id, email FROM users WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3",
    update: "UPDATE users SET email = $3, email_index = $5 WHERE tenant_id = $1 AND id = $2 AND email = $4",
    count: "SELECT COUNT(*) FROM users WHERE tenant_id = $1",
};

const RECORD_DATA: Column = Column {
    table: "records",
    field: "data",
    shape: Shape::Record,
    select: "SELECT collection_id, id, data FROM records WHERE tenant_id = $1 AND (collection_id, id) > ($2, $3) \
             ORDER BY collection_id, id LIMIT $4",
    update: "UPDATE records SET data = $4 WHERE tenant_id = $1 AND collection_id = $2 AND id = $3 AND data = $5",
    count: "SELECT COUNT(*) FROM records WHERE tenant_id = $1",
};

const AUDIT_TARGETS: Column = Column {
    table: "audit_log",
    field: "target",
    shape: Shape::AuditIndex,
    select: "SELECT seq, target, target_index FROM audit_log WHERE scope_id = $1 AND seq > $2 \
             AND target IS NOT NULL AND target_index IS NOT NULL ORDER BY seq LIMIT $3",
    update: "UPDATE audit_log SET target_index = $3 WHERE scope_id = $1 AND seq = $2 AND target_index = $4",
    count: "SELECT COUNT(*) FROM audit_log WHERE scope_id = $1 AND target IS NOT NULL AND target_index IS NOT NULL",
};

/// Every sealed column, in the order a job goes through them: users first, so that sign-in by
/// email works again as soon as possible when a tenant gets its first keys.
pub(crate) static COLUMNS: &[Column] = &[
    USER_EMAIL,
    by_id!("users", "tenant_id", "display_name"),
    by_id!("roles", "tenant_id", "label"),
    by_id!("api_keys", "tenant_id", "name"),
    by_id!("departed_principals", "tenant_id", "label"),
    by_id!("departed_principals", "tenant_id", "display_name"),
    by_id!("collections", "tenant_id", "label"),
    by_id!("collections", "tenant_id", "memo"),
    by_id!("collections", "tenant_id", "fields"),
    RECORD_DATA,
    by_id!("second_factors", "scope_id", "label"),
    by_id!("second_factors", "scope_id", "secret"),
    by_digest!("signin_challenges", "pending_secret"),
    by_digest!("signin_challenges", "passkey_state"),
    by_id!("passkey_registrations", "scope_id", "label"),
    by_id!("passkey_registrations", "scope_id", "state"),
    by_id!("mail_outbox", "scope_id", "recipient"),
    by_id!("mail_outbox", "scope_id", "subject"),
    by_id!("mail_outbox", "scope_id", "body"),
    by_id!("mail_outbox", "scope_id", "last_error"),
    by_id!("export_jobs", "tenant_id", "actor_label"),
    by_id!("key_rotations", "tenant_id", "actor_label"),
    AUDIT_TARGETS,
];

/// A row's key: what the cursor holds (as bytes) and the seal's row is made from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RowKey {
    Id(Uuid),
    Record(Uuid, Uuid),
    Digest(Vec<u8>),
    Seq(i64),
}

impl RowKey {
    /// The cursor's stored form.
    pub(crate) fn to_cursor(&self) -> Vec<u8> {
        match self {
            Self::Id(id) => id.as_bytes().to_vec(),
            Self::Record(c, id) => [c.as_bytes().as_slice(), id.as_bytes()].concat(),
            Self::Digest(d) => d.clone(),
            Self::Seq(seq) => seq.to_be_bytes().to_vec(),
        }
    }

    /// The seal's row: the id's bytes, collection and id for a record, the digest, the number.
    pub(crate) fn seal_row(&self) -> Vec<u8> {
        self.to_cursor()
    }
}

/// A stored value as read.
#[derive(Clone, Debug)]
pub(crate) enum Stored {
    Text(String),
    Bytes(Vec<u8>),
    /// An audit entry's target and its index.
    AuditTarget(String, Vec<u8>),
}

/// The value to write back: the new stored form, and for a user's email its index.
#[derive(Debug)]
pub(crate) enum Resealed {
    Text(String),
    Bytes(Vec<u8>),
    Email(String, Vec<u8>),
    AuditIndex(Vec<u8>),
}

fn bad_cursor() -> StoreError {
    StoreError::Corrupt("a key rotation's cursor does not fit its column".into())
}

fn uuid_at(bytes: &[u8], at: usize) -> Result<Uuid, StoreError> {
    bytes.get(at..at + 16).and_then(|b| Uuid::from_slice(b).ok()).ok_or_else(bad_cursor)
}

impl Column {
    /// The next `limit` rows of `tenant` after `cursor` (from the start when `None`).
    pub(crate) async fn batch(
        &self,
        e: &mut Exec<'_>,
        tenant: TenantId,
        cursor: Option<&[u8]>,
        limit: u32,
    ) -> Result<Vec<(RowKey, Stored)>, StoreError> {
        let t = tenant.as_uuid();
        let limit = i64::from(limit);
        Ok(match self.shape {
            Shape::Id => {
                let after = match cursor {
                    Some(c) => uuid_at(c, 0)?,
                    None => Uuid::nil(),
                };
                let rows: Vec<(Uuid, String)> =
                    run!(e, |c| sqlx::query_as(self.select).bind(t).bind(after).bind(limit).fetch_all(c).await)?;
                rows.into_iter().map(|(id, v)| (RowKey::Id(id), Stored::Text(v))).collect()
            }
            Shape::Record => {
                let (after_c, after_id) = match cursor {
                    Some(c) => (uuid_at(c, 0)?, uuid_at(c, 16)?),
                    None => (Uuid::nil(), Uuid::nil()),
                };
                let rows: Vec<(Uuid, Uuid, Vec<u8>)> = run!(e, |c| sqlx::query_as(self.select)
                    .bind(t)
                    .bind(after_c)
                    .bind(after_id)
                    .bind(limit)
                    .fetch_all(c)
                    .await)?;
                rows.into_iter().map(|(c, id, v)| (RowKey::Record(c, id), Stored::Bytes(v))).collect()
            }
            Shape::Digest => {
                let after = cursor.map(<[u8]>::to_vec).unwrap_or_default();
                let rows: Vec<(Vec<u8>, String)> =
                    run!(e, |c| sqlx::query_as(self.select).bind(t).bind(after).bind(limit).fetch_all(c).await)?;
                rows.into_iter().map(|(d, v)| (RowKey::Digest(d), Stored::Text(v))).collect()
            }
            Shape::AuditIndex => {
                let after = match cursor {
                    Some(c) => i64::from_be_bytes(c.try_into().map_err(|_| bad_cursor())?),
                    None => 0,
                };
                let rows: Vec<(i64, String, Vec<u8>)> =
                    run!(e, |c| sqlx::query_as(self.select).bind(t).bind(after).bind(limit).fetch_all(c).await)?;
                rows.into_iter().map(|(seq, v, i)| (RowKey::Seq(seq), Stored::AuditTarget(v, i))).collect()
            }
        })
    }

    /// Writes `new` in place of `old` for row `key`, only if the row still holds `old`.
    /// Returns whether it did.
    pub(crate) async fn write_back(
        &self,
        e: &mut Exec<'_>,
        tenant: TenantId,
        key: &RowKey,
        old: &Stored,
        new: &Resealed,
    ) -> Result<bool, StoreError> {
        let t = tenant.as_uuid();
        let sql = self.update;
        let n = match (key, old, new) {
            (RowKey::Id(id), Stored::Text(old), Resealed::Text(new)) => run!(e, |c| sqlx::query(sql)
                .bind(t)
                .bind(id)
                .bind(new)
                .bind(old)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))?,
            (RowKey::Id(id), Stored::Text(old), Resealed::Email(new, index)) => run!(e, |c| sqlx::query(sql)
                .bind(t)
                .bind(id)
                .bind(new)
                .bind(old)
                .bind(index)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))?,
            (RowKey::Digest(d), Stored::Text(old), Resealed::Text(new)) => run!(e, |c| sqlx::query(sql)
                .bind(t)
                .bind(d)
                .bind(new)
                .bind(old)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))?,
            (RowKey::Record(coll, id), Stored::Bytes(old), Resealed::Bytes(new)) => run!(e, |c| sqlx::query(sql)
                .bind(t)
                .bind(coll)
                .bind(id)
                .bind(new)
                .bind(old)
                .execute(c)
                .await
                .map(|r| r.rows_affected()))?,
            (RowKey::Seq(seq), Stored::AuditTarget(_, old), Resealed::AuditIndex(new)) => {
                run!(e, |c| sqlx::query(sql)
                    .bind(t)
                    .bind(seq)
                    .bind(new)
                    .bind(old)
                    .execute(c)
                    .await
                    .map(|r| r.rows_affected()))?
            }
            _ => {
                return Err(StoreError::Corrupt(format!(
                    "{}.{}: a re-sealed value of another kind",
                    self.table, self.field
                )));
            }
        };
        Ok(n == 1)
    }

    /// How many rows of `tenant` the column has.
    pub(crate) async fn count(&self, e: &mut Exec<'_>, tenant: TenantId) -> Result<u64, StoreError> {
        let n: i64 = run!(e, |c| sqlx::query_scalar(self.count).bind(tenant.as_uuid()).fetch_one(c).await)?;
        Ok(super::count(n))
    }
}
