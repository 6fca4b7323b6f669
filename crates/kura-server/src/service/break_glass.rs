//! Break-glass access (IAM-13): the one, logged, tenant-visible way for an operator to see a
//! tenant's data. The operator states a reason and a duration (at most 4 hours); the tenant's
//! administrators are mailed at once; the start, every request made under it and its end are
//! entries of the tenant's own log (start and end in the platform's too); it ends by itself at
//! its end time (by the injected clock). A tenant may require an administrator's approval first:
//! the request then waits, and lapses after [`APPROVAL_HOURS`].
//!
//! What the operator gets is a support session of its own ([`open_support`]): a token bound to
//! one access, acting in the tenant with the fixed, read-only [`support_permissions`] (records
//! with personal information masked, and the audit log), refused every method but `GET`, and
//! good only while the access lasts. Its every request is an entry of the tenant's log under the
//! operator's name (`auth/resolve.rs`).

use crate::auth::{OperatorPrincipal, TenantPrincipal};
use crate::error::{AppError, AppResult};
use crate::mail::templates::Notice;
use crate::state::AppState;
use kura_crypto::SecretToken;
use kura_domain::{
    APPROVAL_HOURS, Actor, ActorKind, AuditRecord, AuditScope, BreakGlass, BreakGlassRequest, BreakGlassStatus,
    FieldError, FieldErrorKind, Operation, Permission, Tenant, TenantId, format_in_zone, support_permissions,
};
use kura_store::Write;
use serde::Serialize;
use uuid::Uuid;

/// Who ends an access whose time ran out, in the logs.
const EXPIRY: &str = "expiry";

/// A break-glass access as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "id": "01938a6e-8f3c-7d2e-9b1a-5c4d3e2f1a0b",
    "operator": "ops@kura.example.jp",
    "reason": "Customer reports records missing from the list (ticket 1234)",
    "minutes": 60,
    "status": "active",
    "approval_required": true,
    "requested_at": "2026-12-07T01:00:00Z",
    "decided_by": "admin@acme.example.jp",
    "decided_at": "2026-12-07T01:05:00Z",
    "starts_at": "2026-12-07T01:05:00Z",
    "ends_at": "2026-12-07T02:05:00Z",
    "ended_at": null,
    "ended_by": null
}))]
pub struct BreakGlassView {
    #[schema(value_type = String, format = Uuid)]
    pub id: Uuid,
    /// The operator's email address.
    pub operator: String,
    pub reason: String,
    /// How long the access lasts once it starts.
    pub minutes: u32,
    /// `pending`, `active`, `refused`, `ended` or `expired` (a request not approved in time).
    pub status: String,
    /// Whether the tenant's policy asked for an administrator's approval.
    pub approval_required: bool,
    #[schema(value_type = String, format = DateTime)]
    pub requested_at: jiff::Timestamp,
    /// The administrator who approved or refused, and when.
    pub decided_by: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub decided_at: Option<jiff::Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub starts_at: Option<jiff::Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ends_at: Option<jiff::Timestamp>,
    /// When it ended or lapsed, and who ended it (`expiry`: its time ran out).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ended_at: Option<jiff::Timestamp>,
    pub ended_by: Option<String>,
}

impl From<BreakGlass> for BreakGlassView {
    fn from(g: BreakGlass) -> Self {
        Self {
            id: g.id,
            operator: g.operator,
            reason: g.reason,
            minutes: g.minutes,
            status: g.status.as_str().to_owned(),
            approval_required: g.approval_required,
            requested_at: g.requested_at,
            decided_by: g.decided_by,
            decided_at: g.decided_at,
            starts_at: g.starts_at,
            ends_at: g.ends_at,
            ended_at: g.ended_at,
            ended_by: g.ended_by,
        }
    }
}

fn now(state: &AppState) -> jiff::Timestamp {
    let now = state.clock.now();
    jiff::Timestamp::from_microsecond(now.as_microsecond()).unwrap_or(now)
}

fn target(g: &BreakGlass) -> String {
    format!("break_glass:{}", g.id)
}

fn platform_target(tenant: &Tenant) -> String {
    format!("tenant:{}", tenant.slug)
}

async fn tenant_of(state: &AppState, id: TenantId) -> AppResult<Tenant> {
    state.store.tenant(id).await?.ok_or(AppError::NotFound("tenant"))
}

/// An operator asks for break-glass access to `tenant` for `minutes` (a form's text or a
/// number), stating `reason`. Without an approval policy it starts at once; with one it waits.
/// Either way the tenant's administrators are mailed in the same write, which records it in
/// the tenant's log (and, once it starts, in the platform's).
pub async fn request(
    state: &AppState,
    op: &OperatorPrincipal,
    tenant: TenantId,
    reason: &str,
    minutes: &str,
) -> AppResult<BreakGlass> {
    let tenant = tenant_of(state, tenant).await?;
    let minutes = match minutes.trim().parse::<i64>() {
        Ok(m) => m,
        Err(_) if minutes.trim().is_empty() => 0,
        Err(_) => {
            let kind = FieldErrorKind::Invalid { reason: "give the duration as a whole number of minutes".into() };
            let mut errors = vec![FieldError::new("minutes", kind)];
            if let Err(more) = BreakGlassRequest::parse(reason, 60) {
                errors.splice(0..0, more);
            }
            return Err(AppError::Validation(errors));
        }
    };
    let asked = BreakGlassRequest::parse(reason, minutes).map_err(AppError::Validation)?;
    let open = close_due(state, state.store.open_break_glass_of(tenant.id).await?).await?;
    if open.iter().any(|g| g.operator_id == op.operator.id.as_uuid()) {
        return Err(AppError::Conflict(
            "you already have a break-glass access to this tenant that is pending or active; end it first".into(),
        ));
    }
    let approval_required = super::security::policy_of(state, tenant.id).await?.break_glass_approval;
    let at = now(state);
    let mut grant = BreakGlass {
        id: Uuid::now_v7(),
        tenant_id: tenant.id,
        operator_id: op.operator.id.as_uuid(),
        operator: op.operator.email.to_string(),
        reason: asked.reason,
        minutes: asked.minutes,
        requested_at: at,
        approval_required,
        status: BreakGlassStatus::Pending,
        decided_by: None,
        decided_at: None,
        starts_at: None,
        ends_at: None,
        ended_at: None,
        ended_by: None,
    };
    if !approval_required {
        grant.status = BreakGlassStatus::Active;
        grant.starts_at = Some(at);
        grant.ends_at = Some(grant.end_from(at));
    }
    let mut w = op.begin(&state.store, AuditScope::Tenant(tenant.id)).await?;
    w.insert_break_glass(&grant).await?;
    let admins = mail_admins(state, &mut w, &tenant, &grant).await?;
    let record = if approval_required {
        let deadline = format_in_zone(grant.approval_deadline(), &tenant.time_zone);
        AuditRecord::success(Operation::BreakGlassRequest, target(&grant)).with_detail(format!(
            "{} minutes asked by {}; reason: {}; waits for an administrator's approval until {deadline}; \
             mailed to {admins} administrator(s)",
            grant.minutes, grant.operator, grant.reason
        ))
    } else {
        w.also_in_platform(started_in_platform(&tenant, &grant))?;
        AuditRecord::success(Operation::BreakGlassStart, target(&grant))
            .with_detail(format!("{}; mailed to {admins} administrator(s)", started_detail(&tenant, &grant)))
    };
    w.commit(record).await?;
    state.mail.kick();
    Ok(grant)
}

fn started_detail(tenant: &Tenant, g: &BreakGlass) -> String {
    let zone = &tenant.time_zone;
    let (from, to) = (g.starts_at.unwrap_or(g.requested_at), g.ends_at.unwrap_or(g.requested_at));
    format!(
        "operator {} for {} minutes, {} to {}; read-only ({}); reason: {}",
        g.operator,
        g.minutes,
        format_in_zone(from, zone),
        format_in_zone(to, zone),
        support_permissions().iter().map(Permission::as_str).collect::<Vec<_>>().join(", "),
        g.reason
    )
}

fn started_in_platform(tenant: &Tenant, g: &BreakGlass) -> AuditRecord {
    AuditRecord::success(Operation::BreakGlassStart, platform_target(tenant)).with_detail(format!(
        "access {}: {}",
        g.id,
        started_detail(tenant, g)
    ))
}

/// Mails every administrator of `tenant`, each in their language, about `g`: that it started,
/// or that it waits for their approval. How many were mailed.
async fn mail_admins(state: &AppState, w: &mut Write, tenant: &Tenant, g: &BreakGlass) -> AppResult<usize> {
    let admins = crate::erasure::administrators(state, tenant).await?;
    let url = format!("{}/console/settings/break-glass", state.settings.base_url());
    let zone = &tenant.time_zone;
    for admin in &admins {
        let name = admin.display_name.as_str();
        let (who, why) = (g.operator.as_str(), g.reason.as_str());
        let t = tenant.display_name.as_str();
        if g.status == BreakGlassStatus::Pending {
            let deadline = format_in_zone(g.approval_deadline(), zone);
            let notice = Notice::BreakGlassApproval {
                tenant: t,
                name,
                operator: who,
                reason: why,
                minutes: g.minutes,
                deadline: &deadline,
                url: &url,
            };
            super::links::queue(w, admin, &notice).await?;
        } else {
            let from = format_in_zone(g.starts_at.unwrap_or(g.requested_at), zone);
            let to = format_in_zone(g.ends_at.unwrap_or(g.requested_at), zone);
            let notice = Notice::BreakGlassStarted {
                tenant: t,
                name,
                operator: who,
                reason: why,
                from: &from,
                to: &to,
                url: &url,
            };
            super::links::queue(w, admin, &notice).await?;
        }
    }
    Ok(admins.len())
}

/// One access of the tenant, closed first if its time is up.
async fn one(state: &AppState, tenant: TenantId, id: Uuid) -> AppResult<BreakGlass> {
    let (g, _) = state.store.break_glass(tenant, id).await?.ok_or(AppError::NotFound("break-glass access"))?;
    Ok(close_due(state, vec![g]).await?.remove(0))
}

/// Writes the end of every access in `grants` whose time is up (an active one past its end, a
/// request past its approval window), each in the tenant's log (an end in the platform's too);
/// returns `grants` as they stand now.
pub async fn close_due(state: &AppState, grants: Vec<BreakGlass>) -> AppResult<Vec<BreakGlass>> {
    let at = now(state);
    let mut out = Vec::with_capacity(grants.len());
    for mut g in grants {
        let status = g.status_at(at);
        if status == g.status {
            out.push(g);
            continue;
        }
        let from = g.status;
        let tenant = tenant_of(state, g.tenant_id).await?;
        let actor = Actor {
            kind: ActorKind::Cli,
            id: None,
            label: "break-glass expiry".into(),
            role: None,
            source_ip: None,
            user_agent: None,
        };
        let mut w = state.store.begin(AuditScope::Tenant(g.tenant_id), actor).await?;
        g.status = status;
        g.ended_by = Some(EXPIRY.into());
        let record = if status == BreakGlassStatus::Expired {
            g.ended_at = Some(g.approval_deadline());
            AuditRecord::success(Operation::BreakGlassExpire, target(&g)).with_detail(format!(
                "the request of {} was not approved within {APPROVAL_HOURS} hours and lapsed",
                g.operator
            ))
        } else {
            g.ended_at = g.ends_at;
            let end = format_in_zone(g.ends_at.unwrap_or(at), &tenant.time_zone);
            w.also_in_platform(
                AuditRecord::success(Operation::BreakGlassEnd, platform_target(&tenant))
                    .with_detail(format!("access {} of {} ended at its end time, {end}", g.id, g.operator)),
            )?;
            AuditRecord::success(Operation::BreakGlassEnd, target(&g))
                .with_detail(format!("the access of {} ended at its end time, {end}", g.operator))
        };
        // Another node may have closed it first: then it wrote the entry.
        if w.advance_break_glass(&g, from).await? {
            w.commit(record).await?;
        }
        out.push(g);
    }
    Ok(out)
}

/// Closes every tenant's accesses whose time is up (the mail sender's periodic job, so that an
/// end is in the logs even if nobody looks); how many it closed.
pub async fn close_all_due(state: &AppState) -> AppResult<usize> {
    let open = state.store.open_break_glass().await?;
    let before: Vec<BreakGlassStatus> = open.iter().map(|g| g.status).collect();
    let after = close_due(state, open).await?;
    Ok(after.iter().zip(before).filter(|(g, s)| g.status != *s).count())
}

/// Every tenant's pending and active accesses, for the operator's overview (no tenant data:
/// who, which tenant, why, until when).
pub async fn open_everywhere(state: &AppState) -> AppResult<Vec<BreakGlass>> {
    let open = close_due(state, state.store.open_break_glass().await?).await?;
    Ok(open.into_iter().filter(|g| matches!(g.status, BreakGlassStatus::Pending | BreakGlassStatus::Active)).collect())
}

/// The accesses to one tenant, for the operator's page of that tenant.
pub async fn of_tenant(state: &AppState, tenant: TenantId) -> AppResult<Vec<BreakGlass>> {
    close_due(state, state.store.break_glass_of(tenant).await?).await
}

/// The operator ends their access early.
pub async fn end_by_operator(state: &AppState, op: &OperatorPrincipal, tenant: TenantId, id: Uuid) -> AppResult<()> {
    let tenant = tenant_of(state, tenant).await?;
    let g = one(state, tenant.id, id).await?;
    let w = op.begin(&state.store, AuditScope::Tenant(tenant.id)).await?;
    end(state, w, &tenant, g, op.operator.email.as_str()).await
}

/// An administrator of the tenant ends an access early (or withdraws a pending request's
/// chance by refusing it: see [`refuse`]).
pub async fn end_by_tenant(state: &AppState, p: &TenantPrincipal, id: Uuid) -> AppResult<()> {
    let g = p.require(Permission::SettingsManage)?;
    let grant = one(state, g.tenant_id(), id).await?;
    let w = g.begin(&state.store).await?;
    end(state, w, g.tenant(), grant, &p.actor().label).await
}

async fn end(state: &AppState, mut w: Write, tenant: &Tenant, mut g: BreakGlass, by: &str) -> AppResult<()> {
    if g.status != BreakGlassStatus::Active {
        return Err(AppError::Conflict(format!("this break-glass access is not active (it is {})", g.status.as_str())));
    }
    let at = now(state);
    g.status = BreakGlassStatus::Ended;
    g.ended_at = Some(at);
    g.ended_by = Some(by.to_owned());
    if !w.advance_break_glass(&g, BreakGlassStatus::Active).await? {
        return Err(AppError::Conflict("this break-glass access changed meanwhile; reload and try again".into()));
    }
    let when = format_in_zone(at, &tenant.time_zone);
    w.also_in_platform(
        AuditRecord::success(Operation::BreakGlassEnd, platform_target(tenant))
            .with_detail(format!("access {} of {} ended early by {by} at {when}", g.id, g.operator)),
    )?;
    w.commit(
        AuditRecord::success(Operation::BreakGlassEnd, target(&g))
            .with_detail(format!("the access of {} ended early by {by} at {when}", g.operator)),
    )
    .await?;
    Ok(())
}

/// The tenant's accesses, newest first, for its administrators.
pub async fn list(state: &AppState, p: &TenantPrincipal) -> AppResult<Vec<BreakGlass>> {
    let g = p.require(Permission::SettingsManage)?;
    close_due(state, state.store.break_glass_of(g.tenant_id()).await?).await
}

/// An administrator approves a pending request: the access starts now, for its duration; the
/// tenant's administrators are mailed that it started.
pub async fn approve(state: &AppState, p: &TenantPrincipal, id: Uuid) -> AppResult<BreakGlass> {
    let g = p.require(Permission::SettingsManage)?;
    let mut grant = pending(state, g.tenant_id(), id).await?;
    let at = now(state);
    grant.status = BreakGlassStatus::Active;
    grant.decided_by = Some(p.actor().label.clone());
    grant.decided_at = Some(at);
    grant.starts_at = Some(at);
    grant.ends_at = Some(grant.end_from(at));
    let mut w = g.begin(&state.store).await?;
    if !w.advance_break_glass(&grant, BreakGlassStatus::Pending).await? {
        return Err(AppError::Conflict("this break-glass access changed meanwhile; reload and try again".into()));
    }
    let admins = mail_admins(state, &mut w, g.tenant(), &grant).await?;
    w.also_in_platform(started_in_platform(g.tenant(), &grant))?;
    w.commit(AuditRecord::success(Operation::BreakGlassApprove, target(&grant)).with_detail(format!(
        "approved; the access starts: {}; mailed to {admins} administrator(s)",
        started_detail(g.tenant(), &grant)
    )))
    .await?;
    state.mail.kick();
    Ok(grant)
}

/// An administrator refuses a pending request: it never starts.
pub async fn refuse(state: &AppState, p: &TenantPrincipal, id: Uuid) -> AppResult<BreakGlass> {
    let g = p.require(Permission::SettingsManage)?;
    let mut grant = pending(state, g.tenant_id(), id).await?;
    grant.status = BreakGlassStatus::Refused;
    grant.decided_by = Some(p.actor().label.clone());
    grant.decided_at = Some(now(state));
    let mut w = g.begin(&state.store).await?;
    if !w.advance_break_glass(&grant, BreakGlassStatus::Pending).await? {
        return Err(AppError::Conflict("this break-glass access changed meanwhile; reload and try again".into()));
    }
    w.commit(
        AuditRecord::success(Operation::BreakGlassRefuse, target(&grant))
            .with_detail(format!("refused the request of {}; reason given: {}", grant.operator, grant.reason)),
    )
    .await?;
    Ok(grant)
}

async fn pending(state: &AppState, tenant: TenantId, id: Uuid) -> AppResult<BreakGlass> {
    let grant = one(state, tenant, id).await?;
    if grant.status != BreakGlassStatus::Pending {
        return Err(AppError::Conflict(format!(
            "this break-glass request is not waiting for approval (it is {})",
            grant.status.as_str()
        )));
    }
    Ok(grant)
}

/// Sets whether break-glass access waits for an administrator's approval (the tenant's
/// security policy, audited as a change of it).
pub async fn set_approval(state: &AppState, p: &TenantPrincipal, required: bool) -> AppResult<()> {
    let g = p.require(Permission::SettingsManage)?;
    let stored = state.store.security_policy(g.tenant_id()).await?;
    let revision = stored.as_ref().map_or(0, |(r, _)| *r);
    let old = super::security::effective(state, stored.map(|(_, p)| p));
    let mut new = old.clone();
    new.break_glass_approval = required;
    if new == old {
        return Ok(());
    }
    let mut w = g.begin(&state.store).await?;
    let (new_revision, _) = w.put_security_policy(g.tenant_id(), revision, &new).await?;
    w.commit(
        AuditRecord::success(Operation::SecurityPolicyUpdate, "settings:security")
            .with_detail(format!("revision {new_revision}: {}", new.changes_from(&old).join("; "))),
    )
    .await?;
    Ok(())
}

/// What the tenant console says about break-glass access on every page: the access in force,
/// if any, and how many requests wait for approval.
#[derive(Clone, Debug, Default)]
pub struct Banner {
    pub active: Option<BreakGlass>,
    pub pending: usize,
}

/// The banner of `tenant` now: one indexed read. A failure to read it is logged and shows no
/// banner rather than no page.
pub async fn banner(state: &AppState, tenant: TenantId) -> Banner {
    let at = state.clock.now();
    match state.store.open_break_glass_of(tenant).await {
        Ok(open) => Banner {
            pending: open.iter().filter(|g| g.status_at(at) == BreakGlassStatus::Pending).count(),
            active: open.into_iter().find(|g| g.status_at(at) == BreakGlassStatus::Active),
        },
        Err(e) => {
            tracing::warn!(error = %e, "could not read the break-glass banner");
            Banner::default()
        }
    }
}

/// Opens a support session for the operator's own active access: a new token (the one opened
/// before stops working), recorded in the tenant's log. The token is shown to no one; the
/// console puts it in the operator's cookie.
pub async fn open_support(state: &AppState, op: &OperatorPrincipal, tenant: TenantId, id: Uuid) -> AppResult<String> {
    let tenant = tenant_of(state, tenant).await?;
    let g = one(state, tenant.id, id).await?;
    if g.operator_id != op.operator.id.as_uuid() {
        return Err(AppError::ForbiddenOther("this break-glass access belongs to another operator".into()));
    }
    if g.status != BreakGlassStatus::Active {
        return Err(AppError::Conflict(format!("this break-glass access is not active (it is {})", g.status.as_str())));
    }
    let secret = SecretToken::generate();
    let mut w = op.begin(&state.store, AuditScope::Tenant(tenant.id)).await?;
    w.set_break_glass_token(&g, &secret.digest()).await?;
    w.commit(AuditRecord::success(Operation::BreakGlassAccess, target(&g)).with_detail(format!(
        "{} opened a support session, good until {}",
        g.operator,
        format_in_zone(g.ends_at.unwrap_or(g.requested_at), &tenant.time_zone)
    )))
    .await?;
    Ok(crate::auth::support_token(tenant.id.as_uuid(), g.id, &secret))
}
