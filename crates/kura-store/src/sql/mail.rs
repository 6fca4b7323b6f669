//! The `mail_outbox` table: mail written with the change that causes it, then claimed, sent,
//! retried or given up by a sender on any node.

use super::{corrupt, micros, opt_timestamp, timestamp};
use crate::conn::{Exec, run};
use crate::error::StoreError;
use jiff::Timestamp;
use kura_domain::{AuditScope, Language};
use uuid::Uuid;

/// A mail to send, as the sender sees it.
#[derive(Clone, Debug)]
pub struct OutboxMail {
    pub id: Uuid,
    pub scope: AuditScope,
    pub recipient: String,
    pub language: Language,
    pub kind: String,
    pub subject: String,
    pub body: String,
    /// Attempts so far, this one included.
    pub attempts: u32,
    pub created_at: Timestamp,
}

/// What the operator's list shows of a mail (never its body).
#[derive(Clone, Debug)]
pub struct MailStatus {
    pub id: Uuid,
    pub scope: AuditScope,
    pub recipient: String,
    pub kind: String,
    pub subject: String,
    /// `pending`, `sent` or `failed`.
    pub status: String,
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
}

#[derive(sqlx::FromRow)]
struct MailRow {
    id: Uuid,
    scope_id: Uuid,
    recipient: String,
    lang: String,
    kind: String,
    subject: String,
    body: String,
    attempts: i64,
    created_at: i64,
}

#[derive(sqlx::FromRow)]
struct StatusRow {
    id: Uuid,
    scope_id: Uuid,
    recipient: String,
    kind: String,
    subject: String,
    status: String,
    attempts: i64,
    next_attempt_at: i64,
    last_error: Option<String>,
    created_at: i64,
    sent_at: Option<i64>,
}

fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A new mail to deliver.
#[derive(Clone, Copy, Debug)]
pub struct NewMail<'a> {
    pub recipient: &'a str,
    pub language: Language,
    pub kind: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
}

pub(crate) async fn insert(
    e: &mut Exec<'_>,
    id: Uuid,
    scope: AuditScope,
    mail: NewMail<'_>,
    now: Timestamp,
) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO mail_outbox (id, scope_id, recipient, lang, kind, subject, body, status, attempts, \
                       next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $8)";
    run!(e, |c| sqlx::query(SQL)
        .bind(id)
        .bind(scope.storage_id())
        .bind(mail.recipient)
        .bind(mail.language.code())
        .bind(mail.kind)
        .bind(mail.subject)
        .bind(mail.body)
        .bind(micros(now))
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Takes up to `limit` due mails for this sender until `lease_until`, counting the attempt. A
/// mail another sender holds is skipped; on PostgreSQL a second node waiting on the same rows
/// finds them taken once the first commits.
pub(crate) async fn claim(
    e: &mut Exec<'_>,
    now: Timestamp,
    lease_until: Timestamp,
    limit: u32,
) -> Result<Vec<OutboxMail>, StoreError> {
    const SQL: &str = "UPDATE mail_outbox SET attempts = attempts + 1, claimed_until = $2 \
        WHERE id IN (SELECT id FROM mail_outbox WHERE status = 'pending' AND next_attempt_at <= $1 \
            AND (claimed_until IS NULL OR claimed_until <= $1) ORDER BY next_attempt_at, id LIMIT $3) \
        AND status = 'pending' AND (claimed_until IS NULL OR claimed_until <= $1) \
        RETURNING id, scope_id, recipient, lang, kind, subject, body, attempts, created_at";
    let rows: Vec<MailRow> = run!(e, |c| sqlx::query_as(SQL)
        .bind(micros(now))
        .bind(micros(lease_until))
        .bind(i64::from(limit))
        .fetch_all(c)
        .await)?;
    rows.into_iter()
        .map(|r| {
            Ok(OutboxMail {
                id: r.id,
                scope: AuditScope::from_storage_id(r.scope_id),
                recipient: r.recipient,
                language: Language::parse(&r.lang).ok_or_else(|| corrupt("mail language", &r.lang))?,
                kind: r.kind,
                subject: r.subject,
                body: r.body,
                attempts: count(r.attempts),
                created_at: timestamp(r.created_at)?,
            })
        })
        .collect()
}

/// Delivered: the body (which may hold a one-time link) is erased.
pub(crate) async fn sent(e: &mut Exec<'_>, id: Uuid, now: Timestamp) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE mail_outbox SET status = 'sent', sent_at = $2, body = '', claimed_until = NULL, \
                       last_error = NULL WHERE id = $1";
    run!(e, |c| sqlx::query(SQL).bind(id).bind(micros(now)).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Not delivered this time: tried again at `next`.
pub(crate) async fn retry(e: &mut Exec<'_>, id: Uuid, next: Timestamp, error: &str) -> Result<(), StoreError> {
    const SQL: &str =
        "UPDATE mail_outbox SET next_attempt_at = $2, claimed_until = NULL, last_error = $3 WHERE id = $1";
    run!(e, |c| sqlx::query(SQL).bind(id).bind(micros(next)).bind(error).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Given up after its last attempt: kept for the operator to see, body erased.
pub(crate) async fn failed(e: &mut Exec<'_>, id: Uuid, error: &str) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE mail_outbox SET status = 'failed', body = '', claimed_until = NULL, last_error = $2 \
                       WHERE id = $1 AND status = 'pending'";
    let n = run!(e, |c| sqlx::query(SQL).bind(id).bind(error).execute(c).await.map(|r| r.rows_affected()))?;
    super::found(n)
}

/// The newest mails first, at most `limit`, without their bodies; only `status` ones if given.
pub(crate) async fn list(e: &mut Exec<'_>, status: Option<&str>, limit: u32) -> Result<Vec<MailStatus>, StoreError> {
    const SQL: &str = "SELECT id, scope_id, recipient, kind, subject, status, attempts, next_attempt_at, last_error, \
                       created_at, sent_at FROM mail_outbox WHERE ($1 IS NULL OR status = $1) \
                       ORDER BY created_at DESC, id DESC LIMIT $2";
    let rows: Vec<StatusRow> = run!(e, |c| sqlx::query_as(SQL).bind(status).bind(i64::from(limit)).fetch_all(c).await)?;
    rows.into_iter()
        .map(|r| {
            Ok(MailStatus {
                id: r.id,
                scope: AuditScope::from_storage_id(r.scope_id),
                recipient: r.recipient,
                kind: r.kind,
                subject: r.subject,
                status: r.status,
                attempts: count(r.attempts),
                next_attempt_at: timestamp(r.next_attempt_at)?,
                last_error: r.last_error,
                created_at: timestamp(r.created_at)?,
                sent_at: opt_timestamp(r.sent_at)?,
            })
        })
        .collect()
}
