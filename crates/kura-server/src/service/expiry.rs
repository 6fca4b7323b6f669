//! Expiry warnings. Passwords (IAM-4): where a tenant's policy makes passwords expire, each user
//! is mailed 14 and 3 days before (in their language), once per password. API keys (IAM-12): the
//! user who created a key that expires is mailed 14 and 3 days before, once per key. Run by every
//! node's sender task; the claim on the user's or the key's row makes sure only one node mails
//! each warning. The contract's end reminders (TEN-4, `contract_notices.rs`) run with them.

use super::security;
use crate::error::AppResult;
use crate::mail::templates::Notice;
use crate::refused_opens::Scan;
use crate::state::AppState;
use jiff::{SignedDuration, Timestamp};
use kura_domain::{
    Actor, ActorKind, AuditRecord, AuditScope, Operation, SecurityPolicy, Tenant, UserStatus, format_in_zone,
};

/// The warnings, in days before expiry, farthest first.
const STAGES: [u32; 2] = [14, 3];

/// Mails every warning now due; returns how many were queued. A tenant's value that does not
/// open ends that tenant's part of the scan, is recorded in its log once (`crypto.open_refused`,
/// [`crate::refused_opens`]: the scan runs every few minutes and would meet it every time), and
/// the scan goes on with the other tenants.
pub async fn send_due_notices(state: &AppState) -> AppResult<usize> {
    let now = state.clock.now();
    let mut queued = 0;
    let mut scan = Scan::start(state, PASSWORD_NOTICES, job(PASSWORD_EXPIRY)).await?;
    for (tenant_id, policy) in state.store.security_policies().await? {
        let Some(days) = policy.password.expiry_days else { continue };
        let Some(tenant) = state.store.tenant(tenant_id).await? else { continue };
        let policy = security::effective(state, Some(policy));
        let sent = password_notices(state, &tenant, &policy, days, now).await;
        queued += scan.tenant(state, tenant_id, sent).await?;
    }
    scan.finish(state).await;
    queued += send_key_notices(state).await?;
    queued += super::contract_notices::send_due(state).await?;
    // Break-glass accesses whose time is up get their end in the logs even if nobody looks.
    super::break_glass::close_all_due(state).await?;
    if queued > 0 {
        state.mail.kick();
    }
    Ok(queued)
}

/// The actor of a scheduled job's entries.
fn job(label: &str) -> Actor {
    Actor { kind: ActorKind::Cli, id: None, label: label.into(), role: None, source_ip: None, user_agent: None }
}

const PASSWORD_EXPIRY: &str = "password expiry";

/// The work of the password warnings, as their refusals' entries name it.
const PASSWORD_NOTICES: &str = "password expiry notices";

/// The password expiry warnings due in `tenant`, whose passwords expire after `days`.
async fn password_notices(
    state: &AppState,
    tenant: &Tenant,
    policy: &SecurityPolicy,
    days: u32,
    now: Timestamp,
) -> AppResult<usize> {
    let mut queued = 0;
    // Nearest first: a user already inside three days gets that warning only.
    for stage in STAGES.iter().rev().copied() {
        let age = SignedDuration::from_hours(24 * i64::from(days.saturating_sub(stage)));
        let Ok(changed_before) = now.checked_sub(age) else { continue };
        for user in state.store.users_with_expiring_passwords(tenant.id, changed_before, stage).await? {
            let (Some(changed_at), Some(expires)) =
                (user.password_changed_at, user.password_expires_at(&policy.password))
            else {
                continue;
            };
            if expires <= now {
                continue;
            }
            let mut w = state.store.begin(AuditScope::Tenant(tenant.id), job(PASSWORD_EXPIRY)).await?;
            if !w.claim_expiry_notice(tenant.id, user.id, changed_at, stage).await? {
                continue;
            }
            let left = days_left(now, expires);
            let expires_text = format_in_zone(expires, &tenant.time_zone);
            let url = format!("{}/console/account/password", state.settings.base_url());
            let notice = Notice::PasswordExpiry {
                tenant: tenant.display_name.as_str(),
                name: user.display_name.as_str(),
                days: left,
                expires: &expires_text,
                url: &url,
            };
            super::links::queue(&mut w, &user, &notice).await?;
            w.commit(
                AuditRecord::success(Operation::PasswordExpiryNotice, format!("user:{}", user.email))
                    .with_detail(format!("{stage}-day warning; expires {expires_text}")),
            )
            .await?;
            queued += 1;
        }
    }
    Ok(queued)
}

/// Reminds the owners of API keys that expire within 14 and 3 days; returns how many were queued.
/// A key without an owner (created before owners were recorded) or whose owner is gone or
/// disabled gets no reminder.
async fn send_key_notices(state: &AppState) -> AppResult<usize> {
    let now = state.clock.now();
    let mut queued = 0;
    let mut scan = Scan::start(state, KEY_NOTICES, job(KEY_EXPIRY)).await?;
    for tenant in state.store.tenants().await? {
        let sent = key_notices(state, &tenant, now).await;
        queued += scan.tenant(state, tenant.id, sent).await?;
    }
    scan.finish(state).await;
    Ok(queued)
}

const KEY_EXPIRY: &str = "api key expiry";

/// The work of the API key reminders, as their refusals' entries name it.
const KEY_NOTICES: &str = "api key expiry notices";

/// The API key expiry reminders due in `tenant`.
async fn key_notices(state: &AppState, tenant: &Tenant, now: Timestamp) -> AppResult<usize> {
    let mut queued = 0;
    for stage in STAGES.iter().rev().copied() {
        let Ok(before) = now.checked_add(SignedDuration::from_hours(24 * i64::from(stage))) else { continue };
        for key in state.store.api_keys_expiring(tenant.id, before, stage).await? {
            let (Some(owner), Some(expires)) = (key.created_by, key.expires_at) else { continue };
            let Some(user) = state.store.user(tenant.id, owner).await? else { continue };
            if user.status != UserStatus::Active {
                continue;
            }
            let mut w = state.store.begin(AuditScope::Tenant(tenant.id), job(KEY_EXPIRY)).await?;
            if !w.claim_api_key_expiry_notice(tenant.id, key.id, stage).await? {
                continue;
            }
            let left = days_left(now, expires);
            let expires_text = format_in_zone(expires, &tenant.time_zone);
            let url = format!("{}/console/api-keys", state.settings.base_url());
            let notice = Notice::ApiKeyExpiry {
                tenant: tenant.display_name.as_str(),
                name: user.display_name.as_str(),
                key: &key.name,
                days: left,
                expires: &expires_text,
                url: &url,
            };
            super::links::queue(&mut w, &user, &notice).await?;
            w.commit(
                AuditRecord::success(Operation::ApiKeyExpiryNotice, format!("apikey:{}", key.id))
                    .with_detail(format!("{stage}-day reminder to {}; expires {expires_text}", user.email)),
            )
            .await?;
            queued += 1;
        }
    }
    Ok(queued)
}

/// The days a notice says are left before `expires`, counting the day under way: 1 with less
/// than 24 hours to go, 14 with between 13 and 14 days.
fn days_left(now: Timestamp, expires: Timestamp) -> i64 {
    expires.duration_since(now).as_hours().div_euclid(24) + 1
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn iam_4_iam_12_a_notice_counts_the_day_under_way() {
        let now: Timestamp = "2026-12-07T09:00:00Z".parse().unwrap();
        let after = |hours: i64| now.checked_add(SignedDuration::from_hours(hours)).unwrap();
        assert_eq!(days_left(now, after(1)), 1);
        assert_eq!(days_left(now, after(23)), 1);
        assert_eq!(days_left(now, after(24)), 2);
        assert_eq!(days_left(now, after(24 * 3 - 1)), 3);
        assert_eq!(days_left(now, after(24 * 14 - 1)), 14);
    }
}
