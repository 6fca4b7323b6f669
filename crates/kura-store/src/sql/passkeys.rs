//! The `passkey_registrations` table (IAM-6): a WebAuthn registration under way, between the
//! options sent to the browser and the credential it sends back. The ceremony's state and the
//! name the user chose are sealed under the tenant's key and bound to the row's id; the row is
//! bound to its owner, expires by the server's clock, and is deleted by the request that
//! finishes it, so that it serves once and on any node.

use super::{micros, timestamp};
use crate::conn::{Exec, run};
use crate::error::StoreError;
use crate::rows::SessionOwner;
use crate::sql::factors::owner_id;
use crate::sql::sessions::scope_of;
use crate::vault::Sealer;
use jiff::Timestamp;
use uuid::Uuid;

const TABLE: &str = "passkey_registrations";
const LABEL: &str = "label";
const STATE: &str = "state";

/// A registration under way, as stored. The state is not `Debug`-printed.
#[derive(Clone)]
pub struct PasskeyRegistration {
    pub id: Uuid,
    pub owner: SessionOwner,
    /// The name the user gave the passkey.
    pub label: String,
    /// The ceremony's state (JSON).
    pub state: String,
    pub expires_at: Timestamp,
}

impl std::fmt::Debug for PasskeyRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasskeyRegistration")
            .field("id", &self.id)
            .field("owner", &self.owner)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Stores a registration, replacing the owner's earlier ones (one at a time per person) and
/// dropping the scope's expired ones.
pub(crate) async fn insert(
    e: &mut Exec<'_>,
    r: &PasskeyRegistration,
    now: Timestamp,
    sealer: &Sealer,
) -> Result<(), StoreError> {
    const CLEAN: &str = "DELETE FROM passkey_registrations WHERE scope_id = $1 AND (owner_id = $2 OR expires_at < $3)";
    const SQL: &str = "INSERT INTO passkey_registrations (scope_id, id, owner_id, label, state, created_at, \
                       expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    let (scope, who) = (scope_of(r.owner), owner_id(r.owner));
    run!(e, |c| sqlx::query(CLEAN)
        .bind(scope)
        .bind(who)
        .bind(micros(now))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    let row = *r.id.as_bytes();
    run!(e, |c| sqlx::query(SQL)
        .bind(scope)
        .bind(r.id)
        .bind(who)
        .bind(sealer.seal_text(TABLE, &row, LABEL, &r.label))
        .bind(sealer.seal_text(TABLE, &row, STATE, &r.state))
        .bind(micros(now))
        .bind(micros(r.expires_at))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Row {
    label: String,
    state: String,
    expires_at: i64,
}

/// The owner's registration `id`, expired or not (the caller says which); another person's is
/// not found.
pub(crate) async fn get(
    e: &mut Exec<'_>,
    owner: SessionOwner,
    id: Uuid,
    sealer: &Sealer,
) -> Result<Option<PasskeyRegistration>, StoreError> {
    const SQL: &str = "SELECT label, state, expires_at FROM passkey_registrations \
                       WHERE scope_id = $1 AND owner_id = $2 AND id = $3";
    let row: Option<Row> =
        run!(e, |c| sqlx::query_as(SQL).bind(scope_of(owner)).bind(owner_id(owner)).bind(id).fetch_optional(c).await)?;
    let Some(r) = row else { return Ok(None) };
    let bytes = *id.as_bytes();
    Ok(Some(PasskeyRegistration {
        id,
        owner,
        label: sealer.open_text(TABLE, &bytes, LABEL, r.label)?,
        state: sealer.open_text(TABLE, &bytes, STATE, r.state)?,
        expires_at: timestamp(r.expires_at)?,
    }))
}

/// Deletes the owner's registration `id`; `true` for exactly one of two requests finishing it.
pub(crate) async fn delete(e: &mut Exec<'_>, owner: SessionOwner, id: Uuid) -> Result<bool, StoreError> {
    const SQL: &str = "DELETE FROM passkey_registrations WHERE scope_id = $1 AND owner_id = $2 AND id = $3";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(scope_of(owner))
        .bind(owner_id(owner))
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Deletes all of the owner's registrations (an administrator's reset).
pub(crate) async fn delete_all(e: &mut Exec<'_>, owner: SessionOwner) -> Result<u64, StoreError> {
    const SQL: &str = "DELETE FROM passkey_registrations WHERE scope_id = $1 AND owner_id = $2";
    Ok(run!(e, |c| sqlx::query(SQL)
        .bind(scope_of(owner))
        .bind(owner_id(owner))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?)
}
