//! The `second_factors`, `recovery_codes` and `signin_challenges` tables (IAM-6). Every statement
//! names the scope (the tenant, or the nil UUID for operators) and the owner. A tenant user's
//! TOTP secret and factor label, and a secret offered for enrolment, are sealed under the
//! tenant's key (`vault/`, DAT-2); an operator's, the platform's, are not (no tenant key
//! covers them).

use super::{corrupt, micros, timestamp};
use crate::conn::{Exec, run};
use crate::error::StoreError;
use crate::rows::SessionOwner;
use crate::sql::sessions::scope_of;
use crate::vault::Sealer;
use jiff::Timestamp;
use kura_crypto::TokenDigest;
use kura_domain::{OperatorId, TenantId, UserId};
use uuid::Uuid;

/// A second factor as stored. The secret is not `Debug`-printed.
#[derive(Clone)]
pub struct SecondFactor {
    pub id: Uuid,
    pub owner: SessionOwner,
    /// `totp` or `passkey`.
    pub kind: String,
    pub label: String,
    /// The TOTP secret in base32, or a passkey's credential as JSON.
    pub secret: String,
    pub last_step: i64,
    pub created_at: Timestamp,
    /// `None` while the enrolment waits for its first valid code.
    pub confirmed_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
}

impl std::fmt::Debug for SecondFactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecondFactor")
            .field("id", &self.id)
            .field("owner", &self.owner)
            .field("kind", &self.kind)
            .field("confirmed_at", &self.confirmed_at)
            .finish_non_exhaustive()
    }
}

/// A sign-in waiting for its second factor.
#[derive(Clone)]
pub struct Challenge {
    pub owner: SessionOwner,
    /// `console` or `api`.
    pub surface: String,
    /// The secret offered for enrolment, when the owner must enrol first.
    pub pending_secret: Option<String>,
    /// The state of the passkey ceremony offered with it (JSON), when the owner has passkeys.
    pub passkey_state: Option<String>,
    pub attempts: i64,
    pub expires_at: Timestamp,
}

impl std::fmt::Debug for Challenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Challenge")
            .field("owner", &self.owner)
            .field("surface", &self.surface)
            .field("enrolment", &self.pending_secret.is_some())
            .field("passkey", &self.passkey_state.is_some())
            .field("attempts", &self.attempts)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

pub(crate) fn owner_id(owner: SessionOwner) -> Uuid {
    match owner {
        SessionOwner::User { user_id, .. } => user_id.as_uuid(),
        SessionOwner::Operator(op) => op.as_uuid(),
    }
}

fn owner_of(scope: Uuid, owner: Uuid) -> SessionOwner {
    if scope.is_nil() {
        SessionOwner::Operator(OperatorId::from_uuid(owner))
    } else {
        SessionOwner::User { tenant_id: TenantId::from_uuid(scope), user_id: UserId::from_uuid(owner) }
    }
}

#[derive(sqlx::FromRow)]
struct FactorRow {
    scope_id: Uuid,
    id: Uuid,
    owner_id: Uuid,
    kind: String,
    label: String,
    secret: String,
    last_step: i64,
    created_at: i64,
    confirmed_at: Option<i64>,
    last_used_at: Option<i64>,
}

/// The tables and fields bound into the seals: a factor's row is its id, a challenge's the
/// digest of its token.
const FACTORS: &str = "second_factors";
const SECRET: &str = "secret";
const LABEL: &str = "label";
const CHALLENGES: &str = "signin_challenges";
const PENDING_SECRET: &str = "pending_secret";
const PASSKEY_STATE: &str = "passkey_state";

/// How an owner's values are sealed: with the tenant's `sealer` for a tenant's user, plain for
/// an operator.
pub(crate) fn owner_sealer(owner: SessionOwner, tenant_sealer: Option<Sealer>) -> Sealer {
    match (owner, tenant_sealer) {
        (SessionOwner::User { .. }, Some(sealer)) => sealer,
        (SessionOwner::User { tenant_id, .. }, None) => Sealer::plain(tenant_id),
        (SessionOwner::Operator(_), _) => Sealer::plain(TenantId::from_uuid(Uuid::nil())),
    }
}

impl FactorRow {
    fn open(mut self, sealer: &Sealer) -> Result<SecondFactor, StoreError> {
        let row = *self.id.as_bytes();
        self.secret = sealer.open_text(FACTORS, &row, SECRET, std::mem::take(&mut self.secret))?;
        self.label = sealer.open_text(FACTORS, &row, LABEL, std::mem::take(&mut self.label))?;
        let r = self;
        Ok(SecondFactor {
            id: r.id,
            owner: owner_of(r.scope_id, r.owner_id),
            kind: r.kind,
            label: r.label,
            secret: r.secret,
            last_step: r.last_step,
            created_at: timestamp(r.created_at)?,
            confirmed_at: r.confirmed_at.map(timestamp).transpose()?,
            last_used_at: r.last_used_at.map(timestamp).transpose()?,
        })
    }
}

/// The owner's factors, confirmed and pending, oldest first.
pub(crate) async fn of_owner(
    e: &mut Exec<'_>,
    owner: SessionOwner,
    sealer: &Sealer,
) -> Result<Vec<SecondFactor>, StoreError> {
    const SQL: &str = "SELECT scope_id, id, owner_id, kind, label, secret, last_step, created_at, confirmed_at, \
                       last_used_at FROM second_factors WHERE scope_id = $1 AND owner_id = $2 ORDER BY created_at, id";
    let rows: Vec<FactorRow> =
        run!(e, |c| sqlx::query_as(SQL).bind(scope_of(owner)).bind(owner_id(owner)).fetch_all(c).await)?;
    rows.into_iter().map(|r| r.open(sealer)).collect()
}

/// Stores a factor; `credential_hash` (a passkey's) is unique across all accounts, so a
/// credential registered twice is a conflict.
pub(crate) async fn insert(
    e: &mut Exec<'_>,
    f: &SecondFactor,
    credential_hash: Option<&[u8]>,
    sealer: &Sealer,
) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO second_factors (scope_id, id, owner_id, kind, label, secret, last_step, \
                       created_at, confirmed_at, last_used_at, credential_hash) \
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
    run!(e, |c| sqlx::query(SQL)
        .bind(scope_of(f.owner))
        .bind(f.id)
        .bind(owner_id(f.owner))
        .bind(&f.kind)
        .bind(sealer.seal_text(FACTORS, f.id.as_bytes(), LABEL, &f.label))
        .bind(sealer.seal_text(FACTORS, f.id.as_bytes(), SECRET, &f.secret))
        .bind(f.last_step)
        .bind(micros(f.created_at))
        .bind(f.confirmed_at.map(micros))
        .bind(f.last_used_at.map(micros))
        .bind(credential_hash)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Accepts time step `step` of a factor in one statement, only if it is later than the last
/// step accepted (and confirms a pending enrolment): of two requests with the same code, through
/// any nodes, exactly one gets `true`.
pub(crate) async fn accept_step(
    e: &mut Exec<'_>,
    owner: SessionOwner,
    id: Uuid,
    step: i64,
    now: Timestamp,
) -> Result<bool, StoreError> {
    const SQL: &str = "UPDATE second_factors SET last_step = $4, last_used_at = $5, \
                       confirmed_at = COALESCE(confirmed_at, $5) \
                       WHERE scope_id = $1 AND owner_id = $2 AND id = $3 AND last_step < $4";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(scope_of(owner))
        .bind(owner_id(owner))
        .bind(id)
        .bind(step)
        .bind(micros(now))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Replaces a passkey's stored credential after a sign-in with it (its signature counter and
/// backup state move on) and records the use.
pub(crate) async fn update_credential(
    e: &mut Exec<'_>,
    owner: SessionOwner,
    id: Uuid,
    credential: &str,
    now: Timestamp,
    sealer: &Sealer,
) -> Result<bool, StoreError> {
    const SQL: &str = "UPDATE second_factors SET secret = $4, last_used_at = $5 \
                       WHERE scope_id = $1 AND owner_id = $2 AND id = $3 AND kind = 'passkey'";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(scope_of(owner))
        .bind(owner_id(owner))
        .bind(id)
        .bind(sealer.seal_text(FACTORS, id.as_bytes(), SECRET, credential))
        .bind(micros(now))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Whether a passkey credential with this id digest is registered to anyone.
pub(crate) async fn credential_taken(e: &mut Exec<'_>, credential_hash: &[u8]) -> Result<bool, StoreError> {
    const SQL: &str = "SELECT COUNT(*) FROM second_factors WHERE credential_hash = $1";
    let n: i64 = run!(e, |c| sqlx::query_scalar(SQL).bind(credential_hash).fetch_one(c).await)?;
    Ok(n > 0)
}

/// Deletes one factor (`Some`) or all of the owner's (`None`); returns how many went.
pub(crate) async fn delete(e: &mut Exec<'_>, owner: SessionOwner, id: Option<Uuid>) -> Result<u64, StoreError> {
    const ONE: &str = "DELETE FROM second_factors WHERE scope_id = $1 AND owner_id = $2 AND id = $3";
    const ALL: &str = "DELETE FROM second_factors WHERE scope_id = $1 AND owner_id = $2";
    let (scope, who) = (scope_of(owner), owner_id(owner));
    Ok(match id {
        Some(id) => {
            run!(e, |c| sqlx::query(ONE).bind(scope).bind(who).bind(id).execute(c).await.map(|r| r.rows_affected()))?
        }
        None => run!(e, |c| sqlx::query(ALL).bind(scope).bind(who).execute(c).await.map(|r| r.rows_affected()))?,
    })
}

/// Deletes the owner's unconfirmed enrolments (a new one replaces them).
pub(crate) async fn delete_pending(e: &mut Exec<'_>, owner: SessionOwner) -> Result<u64, StoreError> {
    const SQL: &str = "DELETE FROM second_factors WHERE scope_id = $1 AND owner_id = $2 AND confirmed_at IS NULL";
    Ok(run!(e, |c| sqlx::query(SQL)
        .bind(scope_of(owner))
        .bind(owner_id(owner))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?)
}

/// Replaces the owner's recovery codes by `digests` (empty: just forgets them).
pub(crate) async fn replace_codes(
    e: &mut Exec<'_>,
    owner: SessionOwner,
    digests: &[TokenDigest],
    now: Timestamp,
) -> Result<(), StoreError> {
    const DELETE: &str = "DELETE FROM recovery_codes WHERE scope_id = $1 AND owner_id = $2";
    const INSERT: &str =
        "INSERT INTO recovery_codes (scope_id, owner_id, code_hash, created_at) VALUES ($1, $2, $3, $4)";
    let (scope, who) = (scope_of(owner), owner_id(owner));
    run!(e, |c| sqlx::query(DELETE).bind(scope).bind(who).execute(c).await.map(|r| r.rows_affected()))?;
    for d in digests {
        run!(e, |c| sqlx::query(INSERT)
            .bind(scope)
            .bind(who)
            .bind(d.0.as_slice())
            .bind(micros(now))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// Burns an unused recovery code in one statement; of two requests with the same code exactly
/// one gets `true`.
pub(crate) async fn burn_code(
    e: &mut Exec<'_>,
    owner: SessionOwner,
    digest: &TokenDigest,
    now: Timestamp,
) -> Result<bool, StoreError> {
    const SQL: &str = "UPDATE recovery_codes SET used_at = $4 WHERE scope_id = $1 AND owner_id = $2 \
                       AND code_hash = $3 AND used_at IS NULL";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(scope_of(owner))
        .bind(owner_id(owner))
        .bind(digest.0.as_slice())
        .bind(micros(now))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// How many of the owner's recovery codes are unused.
pub(crate) async fn codes_left(e: &mut Exec<'_>, owner: SessionOwner) -> Result<i64, StoreError> {
    const SQL: &str = "SELECT COUNT(*) FROM recovery_codes WHERE scope_id = $1 AND owner_id = $2 AND used_at IS NULL";
    Ok(run!(e, |c| sqlx::query_scalar(SQL).bind(scope_of(owner)).bind(owner_id(owner)).fetch_one(c).await)?)
}

pub(crate) async fn insert_challenge(
    e: &mut Exec<'_>,
    digest: &TokenDigest,
    c: &Challenge,
    now: Timestamp,
    sealer: &Sealer,
) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO signin_challenges (scope_id, token_hash, owner_id, surface, pending_secret, \
                       attempts, created_at, expires_at, passkey_state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    run!(e, |conn| sqlx::query(SQL)
        .bind(scope_of(c.owner))
        .bind(digest.0.as_slice())
        .bind(owner_id(c.owner))
        .bind(&c.surface)
        .bind(c.pending_secret.as_deref().map(|s| sealer.seal_text(CHALLENGES, &digest.0, PENDING_SECRET, s)))
        .bind(c.attempts)
        .bind(micros(now))
        .bind(micros(c.expires_at))
        .bind(c.passkey_state.as_deref().map(|s| sealer.seal_text(CHALLENGES, &digest.0, PASSKEY_STATE, s)))
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct ChallengeRow {
    owner_id: Uuid,
    surface: String,
    pending_secret: Option<String>,
    passkey_state: Option<String>,
    attempts: i64,
    expires_at: i64,
}

/// A challenge by its token, expired or not (the caller says which).
pub(crate) async fn challenge(
    e: &mut Exec<'_>,
    scope: Uuid,
    digest: &TokenDigest,
    sealer: &Sealer,
) -> Result<Option<Challenge>, StoreError> {
    const SQL: &str = "SELECT owner_id, surface, pending_secret, passkey_state, attempts, expires_at FROM signin_challenges \
                       WHERE scope_id = $1 AND token_hash = $2";
    let row: Option<ChallengeRow> =
        run!(e, |c| sqlx::query_as(SQL).bind(scope).bind(digest.0.as_slice()).fetch_optional(c).await)?;
    row.map(|r| {
        if r.attempts < 0 {
            return Err(corrupt("signin_challenges", "negative attempts"));
        }
        Ok(Challenge {
            owner: owner_of(scope, r.owner_id),
            surface: r.surface,
            pending_secret: r
                .pending_secret
                .map(|s| sealer.open_text(CHALLENGES, &digest.0, PENDING_SECRET, s))
                .transpose()?,
            passkey_state: r
                .passkey_state
                .map(|s| sealer.open_text(CHALLENGES, &digest.0, PASSKEY_STATE, s))
                .transpose()?,
            attempts: r.attempts,
            expires_at: timestamp(r.expires_at)?,
        })
    })
    .transpose()
}

/// Counts a wrong code against a challenge; returns the attempts so far (0: it is gone).
pub(crate) async fn count_attempt(e: &mut Exec<'_>, scope: Uuid, digest: &TokenDigest) -> Result<i64, StoreError> {
    const SQL: &str = "UPDATE signin_challenges SET attempts = attempts + 1 WHERE scope_id = $1 AND token_hash = $2 \
                       RETURNING attempts";
    let n: Option<i64> =
        run!(e, |c| sqlx::query_scalar(SQL).bind(scope).bind(digest.0.as_slice()).fetch_optional(c).await)?;
    Ok(n.unwrap_or(0))
}

/// Deletes a challenge (finished or given up); returns whether it was there, so that of two
/// requests finishing one challenge exactly one goes on.
pub(crate) async fn delete_challenge(e: &mut Exec<'_>, scope: Uuid, digest: &TokenDigest) -> Result<bool, StoreError> {
    const SQL: &str = "DELETE FROM signin_challenges WHERE scope_id = $1 AND token_hash = $2";
    let n = run!(e, |c| sqlx::query(SQL)
        .bind(scope)
        .bind(digest.0.as_slice())
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Deletes the owner's challenges, and any of the scope that expired before `now`.
pub(crate) async fn forget_challenges(e: &mut Exec<'_>, owner: SessionOwner, now: Timestamp) -> Result<(), StoreError> {
    const SQL: &str = "DELETE FROM signin_challenges WHERE scope_id = $1 AND (owner_id = $2 OR expires_at < $3)";
    run!(e, |c| sqlx::query(SQL)
        .bind(scope_of(owner))
        .bind(owner_id(owner))
        .bind(micros(now))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Tenant users' factors whose secret is not sealed (written before it was), as
/// `(tenant, id, label, secret)`.
pub(crate) async fn unsealed(e: &mut Exec<'_>) -> Result<Vec<(Uuid, Uuid, String, String)>, StoreError> {
    const SQL: &str = "SELECT scope_id, id, label, secret FROM second_factors WHERE scope_id <> $2 \
                       AND secret NOT LIKE $1 ORDER BY scope_id";
    Ok(run!(e, |c| sqlx::query_as(SQL).bind(crate::vault::SEALED_TEXT_PATTERN).bind(Uuid::nil()).fetch_all(c).await)?)
}

/// Seals a factor's label and secret written before they were sealed, if still as read.
pub(crate) async fn seal_unsealed(
    e: &mut Exec<'_>,
    sealer: &Sealer,
    id: Uuid,
    label: &str,
    secret: &str,
) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE second_factors SET label = $3, secret = $4 \
                       WHERE scope_id = $1 AND id = $2 AND secret = $5";
    let row = *id.as_bytes();
    let sealed_label = sealer.seal_text(FACTORS, &row, LABEL, label);
    let sealed_secret = sealer.seal_text(FACTORS, &row, SECRET, secret);
    run!(e, |c| sqlx::query(SQL)
        .bind(sealer.tenant().as_uuid())
        .bind(id)
        .bind(&sealed_label)
        .bind(&sealed_secret)
        .bind(secret)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Tenant users' sign-in challenges holding an enrolment secret that is not sealed, as
/// `(tenant, token digest, secret)`.
pub(crate) async fn unsealed_challenges(e: &mut Exec<'_>) -> Result<Vec<(Uuid, Vec<u8>, String)>, StoreError> {
    const SQL: &str = "SELECT scope_id, token_hash, pending_secret FROM signin_challenges WHERE scope_id <> $2 \
                       AND pending_secret IS NOT NULL AND pending_secret NOT LIKE $1 ORDER BY scope_id";
    Ok(run!(e, |c| sqlx::query_as(SQL).bind(crate::vault::SEALED_TEXT_PATTERN).bind(Uuid::nil()).fetch_all(c).await)?)
}

/// Seals a challenge's enrolment secret written before it was sealed, if still as read.
pub(crate) async fn seal_unsealed_challenge(
    e: &mut Exec<'_>,
    sealer: &Sealer,
    digest: &[u8],
    secret: &str,
) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE signin_challenges SET pending_secret = $3 \
                       WHERE scope_id = $1 AND token_hash = $2 AND pending_secret = $4";
    let sealed = sealer.seal_text(CHALLENGES, digest, PENDING_SECRET, secret);
    run!(e, |c| sqlx::query(SQL)
        .bind(sealer.tenant().as_uuid())
        .bind(digest)
        .bind(&sealed)
        .bind(secret)
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}
