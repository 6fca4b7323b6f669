//! Single-use links to set a password (TEN-1, IAM-7): a setup link for a new tenant's
//! administrator or an invited user (valid 72 hours by default), a reset link asked for on the
//! sign-in page (1 hour). Tokens are 256-bit, stored only as digests, mailed in the same
//! transaction that issues them, burned by the write that uses them, and refused once expired.
//!
//! Asking for a reset link answers the same, in the same time, whether or not the address
//! exists: the answer is given before anything about the account is looked up, and the work is
//! done afterwards.

use super::passwords::check_new_password;
use super::security;
use crate::auth::{ClientInfo, parse_session_token, session_token};
use crate::error::{AppError, AppResult};
use crate::mail::templates::Notice;
use crate::state::AppState;
use jiff::{SignedDuration, Timestamp};
use kura_domain::{
    Actor, ActorKind, AuditRecord, AuditScope, Email, Operation, Outcome, SecurityPolicy, Slug, Tenant, TenantId, User,
    UserId, format_in_zone,
};
use kura_store::{LinkPurpose, NewMail, Write};
use serde::Deserialize;

/// Reset links for one account are mailed at most once in this long (no mail bombing).
const RESET_MAIL_INTERVAL: SignedDuration = SignedDuration::from_secs(60);

/// The console path a link of `purpose` opens.
fn path(purpose: LinkPurpose) -> &'static str {
    match purpose {
        LinkPurpose::Setup => "/console/setup/",
        LinkPurpose::Reset => "/console/reset/",
    }
}

/// Issues a setup link for `user` and queues its mail, in `w` (the write that creates the
/// account, so that an account never exists without its mail, nor a mail without its account).
pub(crate) async fn queue_setup_link(state: &AppState, w: &mut Write, tenant: &Tenant, user: &User) -> AppResult<()> {
    let expires = after(state, SignedDuration::from_hours(i64::from(state.settings.links.setup_hours)));
    let secret = w.issue_link(tenant.id, user.id, LinkPurpose::Setup, expires).await?;
    let url = format!(
        "{}{}{}",
        state.settings.base_url(),
        path(LinkPurpose::Setup),
        session_token(tenant.id.as_uuid(), &secret)
    );
    let expires = format_in_zone(expires, &tenant.time_zone);
    let notice = Notice::SetupLink {
        tenant: tenant.display_name.as_str(),
        name: user.display_name.as_str(),
        url: &url,
        expires: &expires,
    };
    queue(w, user, &notice).await
}

/// Queues `notice` to `user`, in their language, in the write that records it.
pub(crate) async fn queue(w: &mut Write, user: &User, notice: &Notice<'_>) -> AppResult<()> {
    let (subject, body) = notice.render(user.language);
    let mail = NewMail {
        recipient: user.email.as_str(),
        language: user.language,
        kind: notice.kind(),
        subject: &subject,
        body: &body,
    };
    w.enqueue_mail(AuditScope::Tenant(user.tenant_id), mail).await?;
    Ok(())
}

fn after(state: &AppState, d: SignedDuration) -> Timestamp {
    let now = state.clock.now();
    now.checked_add(d).unwrap_or(now)
}

/// Sends a user who has not set a password yet a new setup link (the old ones stop working).
/// Requires `users.manage`.
pub async fn resend_setup_link(state: &AppState, p: &crate::auth::TenantPrincipal, id: UserId) -> AppResult<()> {
    let g = p.require(kura_domain::Permission::UsersManage)?;
    let user = state.store.user(g.tenant_id(), id).await?.ok_or(AppError::NotFound("user"))?;
    let role = state.store.role(g.tenant_id(), user.role_id).await?.ok_or(AppError::NotFound("role"))?;
    super::ensure_within(p.role(), &role)?;
    if user.has_password {
        return Err(AppError::Conflict("this user has already set a password".into()));
    }
    let mut w = g.begin(&state.store).await?;
    queue_setup_link(state, &mut w, p.tenant(), &user).await?;
    w.commit(
        AuditRecord::success(Operation::UserUpdate, format!("user:{}", user.email)).with_detail("setup link sent"),
    )
    .await?;
    state.mail.kick();
    Ok(())
}

/// A request for a reset link. The caller answers at once, the same for every input; the work
/// runs afterwards, on its own.
pub fn request_reset(state: &AppState, tenant_slug: &str, email: &str, client: &ClientInfo) {
    let (state, slug, email, client) =
        (state.clone(), tenant_slug.trim().to_owned(), email.trim().to_owned(), client.clone());
    tokio::spawn(async move {
        if let Err(e) = reset_now(&state, &slug, &email, &client).await {
            tracing::warn!(error = %e, "a password reset request could not be handled");
        }
    });
}

async fn reset_now(state: &AppState, slug: &str, email: &str, client: &ClientInfo) -> AppResult<()> {
    let actor = Actor {
        kind: ActorKind::Anonymous,
        id: None,
        label: email.chars().take(254).collect(),
        role: None,
        source_ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
    };
    let target = format!("tenant:{} user:{}", slug.chars().take(40).collect::<String>(), actor.label);
    let tenant = match Slug::parse(slug) {
        Ok(s) => state.store.tenant_by_slug(&s).await?,
        Err(_) => None,
    };
    let Some(tenant) = tenant else {
        let record = AuditRecord::success(Operation::PasswordResetRequest, target)
            .with_outcome(Outcome::Failure)
            .with_detail("no such tenant");
        state.store.audit_only(AuditScope::Platform, actor, record).await?;
        return Ok(());
    };
    let account = match Email::parse(email) {
        Ok(e) => state.store.user_credentials(tenant.id, &e).await?.map(|(u, _)| u),
        Err(_) => None,
    };
    let refuse = |why: &str| {
        AuditRecord::success(Operation::PasswordResetRequest, target.clone())
            .with_outcome(Outcome::Failure)
            .with_detail(why.to_owned())
    };
    let user = match account {
        None => {
            return Ok(state.store.audit_only(AuditScope::Tenant(tenant.id), actor, refuse("no such account")).await?);
        }
        Some(u) if u.status != kura_domain::UserStatus::Active => {
            return Ok(state
                .store
                .audit_only(AuditScope::Tenant(tenant.id), actor, refuse("account disabled"))
                .await?);
        }
        Some(u) => u,
    };
    let now = state.clock.now();
    let recent = state.store.latest_link(tenant.id, user.id, LinkPurpose::Reset).await?;
    if recent.is_some_and(|at| now.duration_since(at) < RESET_MAIL_INTERVAL) {
        let record = refuse("not sent: a link was sent less than a minute ago");
        return Ok(state.store.audit_only(AuditScope::Tenant(tenant.id), actor, record).await?);
    }
    let expires = after(state, SignedDuration::from_mins(i64::from(state.settings.links.reset_minutes)));
    let mut w = state.store.begin(AuditScope::Tenant(tenant.id), actor).await?;
    let secret = w.issue_link(tenant.id, user.id, LinkPurpose::Reset, expires).await?;
    let url = format!(
        "{}{}{}",
        state.settings.base_url(),
        path(LinkPurpose::Reset),
        session_token(tenant.id.as_uuid(), &secret)
    );
    let expires = format_in_zone(expires, &tenant.time_zone);
    let notice = Notice::ResetLink {
        tenant: tenant.display_name.as_str(),
        name: user.display_name.as_str(),
        url: &url,
        expires: &expires,
    };
    queue(&mut w, &user, &notice).await?;
    w.commit(
        AuditRecord::success(Operation::PasswordResetRequest, format!("user:{}", user.email))
            .with_detail("reset link sent"),
    )
    .await?;
    state.mail.kick();
    Ok(())
}

/// What a link's page shows before the user chooses a password.
#[derive(Debug)]
pub struct LinkInfo {
    pub tenant: Tenant,
    pub user: User,
    pub expires_at: Timestamp,
    pub policy: SecurityPolicy,
}

fn parse(token: &str) -> AppResult<(TenantId, kura_crypto::SecretToken)> {
    let (scope, secret) = parse_session_token(token).ok_or(AppError::NotFound("link"))?;
    if scope.is_nil() {
        return Err(AppError::NotFound("link"));
    }
    Ok((TenantId::from_uuid(scope), secret))
}

/// The account a link is for, if the link is unused and unexpired (it is not used up here).
pub async fn link_info(state: &AppState, token: &str, purpose: LinkPurpose) -> AppResult<LinkInfo> {
    let (tenant_id, secret) = parse(token)?;
    let (user_id, expires_at) =
        state.store.live_link(tenant_id, &secret.digest(), purpose).await?.ok_or(AppError::NotFound("link"))?;
    let tenant = state.store.tenant(tenant_id).await?.ok_or(AppError::NotFound("link"))?;
    let user = state.store.user(tenant_id, user_id).await?.ok_or(AppError::NotFound("link"))?;
    let policy = security::policy_of(state, tenant_id).await?;
    Ok(LinkInfo { tenant, user, expires_at, policy })
}

/// A password chosen through a link.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "0190c5e8f1a27c3e9b4d6a1f2e3c4b5a.q2XwN8…", "new_password": "lantern-orchid-velvet-harbour"}))]
pub struct LinkCompletion {
    /// The token from the link (the last part of its path).
    pub token: String,
    pub new_password: String,
}

/// Sets the password of the link's account and burns the link; the account's sessions end and a
/// lock from failed sign-ins is lifted (the mailbox's owner has proven themselves). A link that
/// is unknown, used or expired is 404 and changes nothing. Returns the tenant, to sign in to.
pub async fn complete(
    state: &AppState,
    purpose: LinkPurpose,
    completion: LinkCompletion,
    client: &ClientInfo,
) -> AppResult<Tenant> {
    let LinkInfo { tenant, user, policy, .. } = link_info(state, &completion.token, purpose).await?;
    check_new_password(state, &tenant, &policy, Some(&user), "new_password", &completion.new_password).await?;
    let hash = state.hashing.hash(completion.new_password).await.map_err(AppError::internal)?;
    let (_, secret) = parse(&completion.token)?;
    let actor = Actor {
        kind: ActorKind::User,
        id: Some(user.id.as_uuid()),
        label: user.email.to_string(),
        role: None,
        source_ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
    };
    let mut w = state.store.begin(AuditScope::Tenant(tenant.id), actor).await?;
    // Burned here, in the write that sets the password: a second use (or a concurrent one)
    // finds it gone.
    if w.burn_link(tenant.id, &secret.digest(), purpose).await? != Some(user.id) {
        return Err(AppError::NotFound("link"));
    }
    w.change_user_password(tenant.id, user.id, &hash, false, policy.password.history).await?;
    let ended = w.end_user_sessions(tenant.id, user.id, None).await?;
    let detail = match purpose {
        LinkPurpose::Setup => "set through a setup link".to_owned(),
        LinkPurpose::Reset => format!("set through a reset link; ended {ended} session(s)"),
    };
    w.commit(AuditRecord::success(Operation::PasswordReset, format!("user:{}", user.email)).with_detail(detail))
        .await?;
    Ok(tenant)
}
