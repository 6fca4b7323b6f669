//! The contract's end (TEN-4): after a tenant's contract end date and the grace period
//! (`contract.grace_days`), its keys are destroyed in the keystore, every row it has is deleted,
//! and Kura issues a signed deletion certificate (`certificate.rs`), kept in the platform's
//! `tenant_deletions` table and mailed to the tenant's administrators before their accounts go.
//!
//! The keys go first: from that moment every copy of the tenant's sealed values, in the database
//! and in every backup generation, can no longer be opened by anyone; the rows are then deleted
//! in one audited platform write. If that write fails, the next run deletes the rows (the keys
//! are already gone) and the certificate gives the later time, which only moves the dates it
//! promises later.
//!
//! `kura serve` runs [`run_schedule`]; `kura tenant delete` runs [`delete_tenant`] for one
//! tenant, refused until its grace period is over.

pub mod certificate;

use crate::checkpoints::CheckpointError;
use crate::mail::templates::Notice;
use crate::state::AppState;
use certificate::{Certificate, CertificateError};
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use kura_domain::{Actor, AuditRecord, AuditScope, BuiltinRole, Key, Operation, Slug, Tenant, format_in_zone};
use kura_store::{NewMail, StoreError, TenantDeletion};

#[derive(Debug, thiserror::Error)]
pub enum ErasureError {
    #[error("there is no tenant {0}")]
    NoTenant(String),
    #[error("tenant {0}'s contract has no end date: the operator records one first")]
    NoEnd(String),
    #[error(
        "tenant {slug}'s contract ends on {end}; with the {grace}-day grace period its data may be deleted \
         from {due}, not before (it is {today} in the tenant's time zone)"
    )]
    NotDue { slug: String, end: Date, grace: u32, due: Date, today: Date },
    #[error("there is no deletion certificate for tenant {0}")]
    NoCertificate(String),
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A tenant deleted now.
#[derive(Debug)]
pub struct Deleted {
    pub certificate: Certificate,
    /// The signed note.
    pub signed: String,
}

/// The first day on which a tenant whose contract ended on `end` may be deleted.
pub fn due_date(end: Date, grace_days: u32) -> Date {
    end.checked_add(jiff::Span::new().days(i64::from(grace_days) + 1)).unwrap_or(end)
}

/// Whether `tenant`'s grace period is over at `now`; `Err` says why not.
pub fn check_due(tenant: &Tenant, grace_days: u32, now: Timestamp) -> Result<(), ErasureError> {
    let slug = tenant.slug.to_string();
    let end = tenant.contract_end.ok_or_else(|| ErasureError::NoEnd(slug.clone()))?;
    let due = due_date(end, grace_days);
    let today = tenant.today(now);
    if today < due {
        return Err(ErasureError::NotDue { slug, end, grace: grace_days, due, today });
    }
    Ok(())
}

/// The actor of the scheduled job's entries.
pub fn job_actor() -> Actor {
    Actor::cli("contract end")
}

/// Destroys the keys and deletes the rows of the tenant `slug`, if its grace period is over;
/// returns its certificate.
pub async fn delete_tenant(state: &AppState, actor: Actor, slug: &str) -> Result<Deleted, ErasureError> {
    let parsed = Slug::parse(slug).map_err(|_| ErasureError::NoTenant(slug.to_owned()))?;
    let tenant = state.store.tenant_by_slug(&parsed).await?.ok_or_else(|| ErasureError::NoTenant(slug.to_owned()))?;
    let grace = state.settings.contract.grace_days;
    check_due(&tenant, grace, state.clock.now())?;
    let end = tenant.contract_end.ok_or_else(|| ErasureError::NoEnd(slug.to_owned()))?;

    // What can fail without a change comes before the keys go. An administrator's email that
    // does not open stops the deletion, recorded in the tenant's log as a refused decryption:
    // once, and once a day while it goes on, since the schedule tries again every hour.
    let admins = match administrators(state, &tenant).await {
        Err(StoreError::Unreadable(why)) => {
            let work = format!("tenant-deletion:{}", tenant.slug);
            crate::refused_opens::record(state, tenant.id, &actor, &work, &why).await;
            return Err(StoreError::Unreadable(why).into());
        }
        admins => admins?,
    };
    let signer = state.checkpoints.signer()?;
    // The keys first (crypto-shredding): every copy of the sealed values becomes unreadable.
    let keys_destroyed = match state.store.vault() {
        Some(vault) => vault.destroy_tenant_keys(tenant.id).await?,
        None => 0,
    };
    let keys_destroyed_at = now(state);
    tracing::warn!(tenant = %tenant.slug, keys = keys_destroyed, "tenant keys destroyed at the contract's end");

    let mut w = state.store.begin(AuditScope::Platform, actor).await?;
    let counts = w.tenant_row_counts(tenant.id).await?;
    let rows_deleted_at = now(state);
    let (keystore_expiry, data_expiry, basis) = backup_expiry(state, keys_destroyed_at, rows_deleted_at);
    let certificate = Certificate {
        tenant_id: tenant.id.as_uuid().to_string(),
        slug: tenant.slug.to_string(),
        name: tenant.display_name.to_string(),
        contract_end: end.to_string(),
        grace_days: grace,
        keys_destroyed_at: stamp(keys_destroyed_at),
        keys_destroyed,
        rows_deleted_at: stamp(rows_deleted_at),
        deleted: counts.iter().map(|(c, n)| ((*c).to_owned(), *n)).collect(),
        keystore_backups_expired_by: stamp(keystore_expiry),
        data_backups_expired_by: stamp(data_expiry),
        basis,
    };
    let signed = certificate.sign(&signer)?;
    // The administrators get the certificate before their accounts go: the mail is the
    // platform's (its rows of the tenant are deleted below).
    for admin in &admins {
        let notice = Notice::DeletionCertificate {
            tenant: tenant.display_name.as_str(),
            name: admin.display_name.as_str(),
            end: &end.to_string(),
            destroyed: &format_in_zone(keys_destroyed_at, &tenant.time_zone),
            expired_by: &format_in_zone(keystore_expiry.max(data_expiry), &tenant.time_zone),
            certificate: &signed,
        };
        let (subject, body) = notice.render(admin.language);
        let mail = NewMail {
            recipient: admin.email.as_str(),
            language: admin.language,
            kind: notice.kind(),
            subject: &subject,
            body: &body,
        };
        w.enqueue_mail(AuditScope::Platform, mail).await?;
    }
    let deleted = w.erase_tenant(tenant.id).await?;
    if deleted != counts {
        // Nothing else writes in the tenant inside this write: the counts can only differ if the
        // schema changed under it.
        return Err(StoreError::Conflict("the tenant's rows changed while they were deleted".into()).into());
    }
    w.record_tenant_deletion(&TenantDeletion {
        tenant_id: tenant.id,
        slug: tenant.slug.to_string(),
        display_name: tenant.display_name.to_string(),
        contract_end: end.to_string(),
        keys_destroyed_at,
        deleted_at: rows_deleted_at,
        certificate: signed.clone(),
    })
    .await?;
    let total: u64 = deleted.iter().map(|(_, n)| n).sum();
    let detail = format!(
        "contract ended {end}; {grace}-day grace period over; {keys_destroyed} keys destroyed; {total} rows deleted \
         ({}); deletion certificate issued and mailed to {} administrator(s)",
        deleted.iter().filter(|(_, n)| *n > 0).map(|(c, n)| format!("{c} {n}")).collect::<Vec<_>>().join(", "),
        admins.len()
    );
    w.commit(AuditRecord::success(Operation::TenantDelete, format!("tenant:{}", tenant.slug)).with_detail(detail))
        .await?;
    state.mail.kick();
    // Its checkpoints in the sink go with its log.
    state.checkpoints.remove(AuditScope::Tenant(tenant.id))?;
    tracing::warn!(tenant = %tenant.slug, rows = total, "tenant deleted at the contract's end; certificate issued");
    Ok(Deleted { certificate, signed })
}

/// Deletes every tenant whose grace period is over; returns the slugs deleted. A failure for
/// one tenant is logged and does not stop the others.
pub async fn delete_due(state: &AppState) -> Vec<String> {
    let tenants = match state.store.tenants().await {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "the contract-end job could not list the tenants");
            return Vec::new();
        }
    };
    let now = state.clock.now();
    let mut done = Vec::new();
    for tenant in tenants {
        if check_due(&tenant, state.settings.contract.grace_days, now).is_err() {
            continue;
        }
        match delete_tenant(state, job_actor(), tenant.slug.as_str()).await {
            Ok(_) => done.push(tenant.slug.to_string()),
            Err(e) => tracing::error!(tenant = %tenant.slug, error = %e, "the tenant could not be deleted"),
        }
    }
    done
}

/// Runs [`delete_due`] every `contract.check_seconds` until the process ends.
pub async fn run_schedule(state: AppState) {
    let every = std::time::Duration::from_secs(u64::from(state.settings.contract.check_seconds));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        delete_due(&state).await;
    }
}

/// The signed certificate of the deleted tenant `slug` (the newest, if the slug was reused).
pub async fn certificate_of(state: &AppState, slug: &str) -> Result<String, ErasureError> {
    let deletions = state.store.tenant_deletions().await?;
    deletions
        .into_iter()
        .find(|d| d.slug == slug)
        .map(|d| d.certificate)
        .ok_or_else(|| ErasureError::NoCertificate(slug.to_owned()))
}

/// Checks a signed certificate against this installation's signing key.
pub fn verify(state: &AppState, note: &str) -> Result<Certificate, ErasureError> {
    let verifier = state.checkpoints.verifier()?.ok_or_else(|| {
        ErasureError::Certificate(CertificateError::Malformed(format!(
            "there is no signing key at {} to check it with",
            state.checkpoints.key_file().display()
        )))
    })?;
    Ok(Certificate::open(note, &verifier)?)
}

/// The tenant's active administrators (the built-in administrator role).
pub(crate) async fn administrators(state: &AppState, tenant: &Tenant) -> Result<Vec<kura_domain::User>, StoreError> {
    let key = Key::parse(BuiltinRole::TenantAdmin.key()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let Some(role) = state.store.role_by_key(tenant.id, &key).await? else { return Ok(Vec::new()) };
    let users = state.store.users(tenant.id).await?;
    Ok(users.into_iter().filter(|u| u.role_id == role.id && u.status == kura_domain::UserStatus::Active).collect())
}

fn now(state: &AppState) -> Timestamp {
    let now = state.clock.now();
    Timestamp::from_microsecond(now.as_microsecond()).unwrap_or(now)
}

fn stamp(ts: Timestamp) -> String {
    format!("{}.{:06}Z", ts.strftime("%Y-%m-%dT%H:%M:%S"), ts.subsec_microsecond())
}

/// When the last keystore backup that could hold the keys (destroyed at `keys`) and the last
/// data backup that could hold the rows (deleted at `rows`) are deleted by their retention
/// rules, and how that was derived.
///
/// A keystore backup holds the keys only if it was begun before they were destroyed, and each is
/// deleted `backup.keystore_keep_days` after it was begun, at the next check of the schedule
/// (every `backup.check_seconds`): so by `keys` + keep days + one check at the latest, whichever
/// times the backups were taken at (by the schedule, the console or cron). A data backup made
/// just before the rows were deleted is deleted when `generations` newer ones have been made, one
/// per scheduled time.
fn backup_expiry(state: &AppState, keys: Timestamp, rows: Timestamp) -> (Timestamp, Timestamp, String) {
    let b = &state.settings.backup;
    let per_day = b.times.len().max(1) as i64;
    let interval = SignedDuration::from_secs(86_400 / per_day);
    let span = interval * i32::try_from(b.generations).unwrap_or(i32::MAX);
    let keep = SignedDuration::from_hours(24 * i64::from(b.keystore_keep_days))
        + SignedDuration::from_secs(i64::from(b.check_seconds));
    let keystore_schedule = if b.keystore_times.is_empty() {
        "by cron (no time is configured)".to_owned()
    } else {
        format!("at {} {}", b.keystore_times.join(", "), b.time_zone)
    };
    let scheduled = if b.times.is_empty() { "taken daily (by cron: no time is configured)" } else { "taken" };
    let basis = format!(
        "keystore backups are taken {keystore_schedule} and each is deleted {} days after it was begun, at the \
         next check (every {} s), from the backup directory, the copy directory and the bucket; one that held \
         the keys was begun before they were destroyed; data backups are kept {} generations, {per_day} a day, \
         {scheduled}",
        b.keystore_keep_days, b.check_seconds, b.generations
    );
    (keys.saturating_add(keep).unwrap_or(keys), rows.saturating_add(span).unwrap_or(rows), basis)
}
