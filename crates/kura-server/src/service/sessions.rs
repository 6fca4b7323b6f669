//! Signing in and out. Failed attempts are audited too (LOG-1), counted against the account and
//! the source address under the tenant's lockout policy (IAM-5), and an unknown or locked
//! account takes as long to refuse as a wrong password, so timing reveals neither.

use super::second_factor::{self, Account, Pending};
use super::security;
use crate::auth::{ClientInfo, OperatorPrincipal, TenantPrincipal, Via, session_token};
use crate::denials::Denial;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use jiff::{SignedDuration, Timestamp};
use kura_domain::{
    Actor, ActorKind, AuditRecord, AuditScope, ConcurrentLogins, Email, Operation, Outcome, SecurityPolicy, Slug,
    Surface, Tenant, User, UserStatus, format_in_zone,
};
use kura_store::{FailureCount, NewUserSession, SessionOwner, SigninAccount, SigninContext, Write};

/// What a right password leads to: a session, or a challenge for the second factor (IAM-6).
#[derive(Debug)]
pub enum SignIn {
    Done(NewSession),
    Pending(Pending),
}

/// A new session: the token to hand to the client, when it expires, and whether the user must
/// choose a new password before anything else.
#[derive(Debug)]
pub struct NewSession {
    pub token: String,
    pub expires_at: Timestamp,
    pub password_change_required: bool,
}

pub(super) fn expiry(state: &AppState, minutes: u32) -> Timestamp {
    let now = state.clock.now();
    now.checked_add(SignedDuration::from_mins(i64::from(minutes))).unwrap_or(now)
}

pub(super) fn anonymous(label: &str, client: &ClientInfo) -> Actor {
    Actor {
        kind: ActorKind::Anonymous,
        id: None,
        label: label.chars().take(254).collect(),
        role: None,
        source_ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
    }
}

/// Signs a tenant user in with tenant slug, email and password.
///
/// Every refusal looks the same to the caller (401, one body): a wrong password, an unknown
/// account or tenant, a disabled or locked account (IAM-5), a throttled address. Unknown and
/// locked accounts verify a password as long as a wrong one does, and every refusal writes the
/// same one audited write. A successful sign-in reads once (`Store::signin_context`) and writes
/// once (the session with its entry); it writes more only when there is something to change:
/// failures to forget, other sessions to end, an expired password to flag, or an imported hash
/// to replace (IAM-8).
pub async fn login_user(
    state: &AppState,
    tenant_slug: &str,
    email: &str,
    password: &str,
    client: &ClientInfo,
    surface: Surface,
) -> AppResult<SignIn> {
    let email_parsed = Email::parse(email).ok();
    let context = match Slug::parse(tenant_slug) {
        Ok(slug) => state.store.signin_context(&slug, email_parsed.as_ref(), client.ip.as_deref()).await?,
        Err(_) => None,
    };
    let Some(SigninContext { tenant, policy, account, throttle }) = context else {
        // No such tenant: as long as a wrong password, and audited in the platform's log.
        state.hashing.verify(None, password.to_owned()).await.map_err(AppError::internal)?;
        state.metrics.login(false);
        let record = failure_record(tenant_slug, email, None);
        state.store.audit_only(AuditScope::Platform, anonymous(email, client), record).await?;
        return Err(AppError::BadCredentials);
    };
    let policy = security::effective(state, policy.map(|(_, p)| p));
    // The tenant's address list for this door (IAM-10), before any password is looked at: an
    // address the tenant does not accept may not guess passwords, nor lock accounts.
    let ip = client.ip.as_deref().and_then(|ip| ip.parse::<std::net::IpAddr>().ok());
    if !policy.addresses.list(surface).is_empty() && !ip.is_some_and(|ip| policy.addresses.allows(surface, ip)) {
        state.metrics.login(false);
        let refusal =
            AppError::AddressRefused { surface, ip: client.ip.clone().unwrap_or_else(|| "an unknown address".into()) };
        let denial = Denial {
            scope: AuditScope::Tenant(tenant.id),
            actor: anonymous(email, client),
            operation: Operation::AddressRefused,
            target: format!("tenant:{} user:{}", truncate(tenant_slug, 40), truncate(email, 254)),
            reason: format!("sign-in to the {} from an address not in its list", surface.as_str()),
        };
        state.denials.record(state, denial).await;
        return Err(refusal);
    }
    // The tenant's client-certificate requirement for this door (IAM-11), also before any
    // password is looked at.
    if let Err(refusal) = super::client_certs::check(
        state,
        &tenant,
        policy.client_certificates,
        surface,
        client.client_cert.as_ref(),
        client.ip.as_deref(),
    )
    .await
    {
        state.metrics.login(false);
        if let AppError::CertificateRefused { refusal: why, serial, .. } = &refusal {
            let denial = Denial {
                scope: AuditScope::Tenant(tenant.id),
                actor: anonymous(email, client),
                operation: Operation::ClientCertRefused,
                target: format!("tenant:{} user:{}", truncate(tenant_slug, 40), truncate(email, 254)),
                reason: format!(
                    "sign-in to the {}: {}; serial {}",
                    surface.as_str(),
                    why.as_str(),
                    serial.as_deref().unwrap_or("none")
                ),
            };
            state.denials.record(state, denial).await;
        }
        return Err(refusal);
    }
    let now = state.clock.now();
    let window = SignedDuration::from_mins(i64::from(policy.lockout.throttle_window_minutes));
    let throttled = throttle.is_some_and(|t| {
        t.failures >= policy.lockout.throttle_failures && t.window_start.checked_add(window).is_ok_and(|end| end > now)
    });
    if throttled {
        // Refused without hashing: the address has shown it is guessing, and the answer is the
        // same as for a wrong password.
        state.metrics.login(false);
        let record = failure_record(tenant_slug, email, Some("address throttled".into()));
        state.store.audit_only(AuditScope::Tenant(tenant.id), anonymous(email, client), record).await?;
        return Err(AppError::BadCredentials);
    }
    let locked = account.as_ref().is_some_and(|a| a.user.is_locked(now));
    let stored = account.as_ref().and_then(|a| a.password_hash.clone());
    // Without a stored hash this verifies against the dummy, so it takes as long and says no.
    let password_ok = state.hashing.check(stored, password.to_owned()).await.map_err(AppError::internal)?;
    match account {
        Some(a) if password_ok && !locked && a.user.status == UserStatus::Active => {
            succeed(state, &tenant, &policy, a, password, client, surface).await
        }
        account => {
            state.metrics.login(false);
            Err(fail(state, &tenant, &policy, account, password_ok, locked, tenant_slug, email, client).await?)
        }
    }
}

pub(super) fn failure_record(tenant_slug: &str, email: &str, detail: Option<String>) -> AuditRecord {
    AuditRecord {
        operation: Operation::UserLoginFailed,
        target: Some(format!("tenant:{} user:{}", truncate(tenant_slug, 40), truncate(email, 254))),
        outcome: Outcome::Failure,
        detail,
    }
}

/// A refused sign-in in a known tenant: one write that counts the failure against the account
/// (when lockout is on) and the address, with its entry; a lock or a throttle it causes gets an
/// entry of its own.
#[allow(clippy::too_many_arguments, reason = "the sign-in's facts, passed on as they are")]
async fn fail(
    state: &AppState,
    tenant: &Tenant,
    policy: &SecurityPolicy,
    account: Option<SigninAccount>,
    password_ok: bool,
    locked: bool,
    tenant_slug: &str,
    email: &str,
    client: &ClientInfo,
) -> AppResult<AppError> {
    let lockout = &policy.lockout;
    let actor = anonymous(email, client);
    let mut w = state.store.begin(AuditScope::Tenant(tenant.id), actor.clone()).await?;
    let mut lock = None;
    let mut reason = match &account {
        None => None,
        Some(_) if locked => Some("account locked".to_owned()),
        Some(a) if a.user.status != UserStatus::Active => Some("account disabled".to_owned()),
        Some(a) if a.password_hash.is_none() => Some("no password set".to_owned()),
        Some(_) => None,
    };
    if let Some(a) = account.as_ref().filter(|_| lockout.enabled && !password_ok) {
        let until = lockout
            .lock_minutes
            .and_then(|m| state.clock.now().checked_add(SignedDuration::from_mins(i64::from(m))).ok());
        match w.count_failed_signin(tenant.id, a.user.id, lockout.threshold, until).await? {
            FailureCount::Locked { failures } => lock = Some((a.user.email.clone(), failures, until)),
            FailureCount::AlreadyLocked => reason = Some("account locked".to_owned()),
            FailureCount::Counted { .. } => {}
        }
    }
    let mut throttle = None;
    if let Some(ip) = &client.ip {
        let window = SignedDuration::from_mins(i64::from(lockout.throttle_window_minutes));
        let t = w.count_address_failure(ip, window).await?;
        // Exactly one entry per window: the failure that reaches the limit.
        if t.failures == lockout.throttle_failures {
            throttle = Some((ip.clone(), t.window_start.checked_add(window).unwrap_or(t.window_start)));
        }
    }
    w.commit(failure_record(tenant_slug, email, reason)).await?;
    let zone = &tenant.time_zone;
    if let Some((user_email, failures, until)) = lock {
        let detail = match until {
            Some(t) => format!("{failures} consecutive failed sign-ins; locked until {}", format_in_zone(t, zone)),
            None => format!("{failures} consecutive failed sign-ins; locked until an administrator unlocks it"),
        };
        let record = AuditRecord::success(Operation::UserLock, format!("user:{user_email}")).with_detail(detail);
        state.store.audit_only(AuditScope::Tenant(tenant.id), actor.clone(), record).await?;
    }
    if let Some((ip, until)) = throttle {
        let detail = format!(
            "{} failed sign-ins from this address within {} minutes; refused until {}",
            lockout.throttle_failures,
            lockout.throttle_window_minutes,
            format_in_zone(until, zone)
        );
        let record = AuditRecord::success(Operation::LoginThrottled, format!("address:{ip}")).with_detail(detail);
        state.store.audit_only(AuditScope::Tenant(tenant.id), actor, record).await?;
    }
    Ok(AppError::BadCredentials)
}

/// A sign-in with the right password to an open account: a session under the tenant's session
/// policy, or a challenge for the second factor.
async fn succeed(
    state: &AppState,
    tenant: &Tenant,
    policy: &SecurityPolicy,
    account: SigninAccount,
    password: &str,
    client: &ClientInfo,
    surface: Surface,
) -> AppResult<SignIn> {
    let SigninAccount { user, password_hash, role } = account;
    let actor = Actor {
        kind: ActorKind::User,
        id: Some(user.id.as_uuid()),
        label: user.email.to_string(),
        role: Some(role.key.to_string()),
        source_ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
    };
    // Only someone who proved their password learns why the tenant cannot be used (TEN-1).
    if let Err(refusal) = super::tenant_access::check(state, tenant) {
        state.metrics.login(false);
        let record = AuditRecord {
            operation: Operation::UserLoginFailed,
            target: Some(format!("user:{}", user.email)),
            outcome: Outcome::Denied,
            detail: Some(refusal.to_string()),
        };
        state.store.audit_only(AuditScope::Tenant(tenant.id), anonymous(user.email.as_str(), client), record).await?;
        return Err(refusal);
    }
    // A second factor (IAM-6): whoever has one, or must have one under the tenant's rule, gets a
    // challenge instead of a session, and finishes with `second_factor::complete_user`.
    let owner = SessionOwner::User { tenant_id: tenant.id, user_id: user.id };
    let enrolled = state.store.second_factors(owner).await?.iter().any(|f| f.confirmed_at.is_some());
    if enrolled || policy.second_factor.requires(&role.permissions) {
        let account = Account { issuer: format!("Kura ({})", tenant.slug), name: user.email.to_string() };
        let pending = second_factor::challenge(
            state,
            AuditScope::Tenant(tenant.id),
            actor.clone(),
            owner,
            surface,
            !enrolled,
            account,
        )
        .await?;
        if let Some(old) = password_hash.filter(|h| state.hashing.needs_rehash(h)) {
            rehash(state, tenant, &user, actor, &old, password).await?;
        }
        return Ok(SignIn::Pending(pending));
    }
    let w = state.store.begin(AuditScope::Tenant(tenant.id), actor.clone()).await?;
    let session = open_user_session(state, w, tenant, policy, &user, actor.clone(), client, Vec::new()).await?;
    if let Some(old) = password_hash.filter(|h| state.hashing.needs_rehash(h)) {
        rehash(state, tenant, &user, actor, &old, password).await?;
    }
    Ok(SignIn::Done(session))
}

/// Opens a session for a user who proved who they are, in `w` (which may already hold the
/// second factor's writes: a used code and the session commit together), under the tenant's
/// session policy. `detail` adds to the entry.
#[allow(clippy::too_many_arguments, reason = "the sign-in's facts, passed on as they are")]
pub(super) async fn open_user_session(
    state: &AppState,
    mut w: Write,
    tenant: &Tenant,
    policy: &SecurityPolicy,
    user: &User,
    actor: Actor,
    client: &ClientInfo,
    mut detail: Vec<String>,
) -> AppResult<NewSession> {
    let now = state.clock.now();
    let sessions = &policy.sessions;
    let expired = user.password_expires_at(&policy.password).is_some_and(|at| at <= now);
    let must_change = user.must_change_password || expired;
    let expires_at = expiry(state, sessions.absolute_minutes);
    if sessions.concurrent == ConcurrentLogins::Replace {
        let ended = w.end_user_sessions(tenant.id, user.id, None).await?;
        if ended > 0 {
            detail.push(format!("ended {ended} earlier session(s)"));
        }
    }
    if user.failed_logins > 0 {
        w.reset_failed_signins(tenant.id, user.id).await?;
    }
    if expired && !user.must_change_password {
        w.require_password_change(tenant.id, user.id, true).await?;
        detail.push("password expired".to_owned());
    }
    let ip = client.ip.as_deref();
    // Under the refuse policy the store decides whether a session is live in the same write
    // that inserts the new one, so two nodes cannot both let a second sign-in through (IAM-9).
    let exclusive = (sessions.concurrent == ConcurrentLogins::Refuse)
        .then(|| SignedDuration::from_mins(i64::from(sessions.idle_minutes)));
    let secret = match w
        .insert_user_session(tenant.id, user.id, expires_at, exclusive, ip, client.user_agent.as_deref())
        .await?
    {
        NewUserSession::Created(secret, _) => secret,
        NewUserSession::SignedInElsewhere => {
            drop(w);
            state.metrics.login(false);
            let record = failure_record(tenant.slug.as_str(), user.email.as_str(), Some("signed in elsewhere".into()));
            state.store.audit_only(AuditScope::Tenant(tenant.id), actor, record).await?;
            return Err(AppError::AlreadySignedIn);
        }
        NewUserSession::Closed => {
            // Locked or disabled by another request since the account was read.
            drop(w);
            state.metrics.login(false);
            let record = failure_record(tenant.slug.as_str(), user.email.as_str(), Some("account locked".into()));
            let actor = anonymous(user.email.as_str(), client);
            state.store.audit_only(AuditScope::Tenant(tenant.id), actor, record).await?;
            return Err(AppError::BadCredentials);
        }
    };
    let mut record = AuditRecord::success(Operation::UserLogin, format!("user:{}", user.email));
    if !detail.is_empty() {
        record = record.with_detail(detail.join("; "));
    }
    w.commit(record).await?;
    state.metrics.login(true);
    let token = session_token(tenant.id.as_uuid(), &secret);
    Ok(NewSession { token, expires_at, password_change_required: must_change })
}

/// Replaces an imported bcrypt hash, or an Argon2id hash below the configured cost, by a fresh
/// one of the password just verified (IAM-8). The entry names the kinds of hash, never a secret.
async fn rehash(
    state: &AppState,
    tenant: &Tenant,
    user: &kura_domain::User,
    actor: Actor,
    old: &str,
    password: &str,
) -> AppResult<()> {
    let new = state.hashing.hash(password.to_owned()).await.map_err(AppError::internal)?;
    let from = if old.starts_with("$2") { "bcrypt" } else { "argon2id (lower cost)" };
    let mut w = state.store.begin(AuditScope::Tenant(tenant.id), actor).await?;
    if w.rehash_password(tenant.id, user.id, old, &new).await? {
        let p = state.settings.argon2_params();
        let detail = format!("{from} → argon2id m={},t={},p={}", p.memory_kib, p.iterations, p.parallelism);
        w.commit(AuditRecord::success(Operation::PasswordRehash, format!("user:{}", user.email)).with_detail(detail))
            .await?;
    }
    Ok(())
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Ends the principal's session. An API key has no session to end: that is refused, so that a
/// client does not believe a key stopped working (revoke keys with `DELETE /api/v1/api-keys/{id}`).
pub async fn logout_user(state: &AppState, p: &TenantPrincipal) -> AppResult<()> {
    let Via::Session { scope, digest, .. } = p.via() else {
        return Err(AppError::BadRequest(
            "this request is authenticated with an API key, which is not a session: nothing was ended; \
             revoke the key with DELETE /api/v1/api-keys/{id} instead"
                .into(),
        ));
    };
    let mut w = state.store.begin(AuditScope::Tenant(p.tenant().id), p.actor().clone()).await?;
    w.delete_session(*scope, digest).await?;
    w.commit(AuditRecord::success(Operation::UserLogout, format!("user:{}", p.actor().label))).await?;
    Ok(())
}

/// Signs an operator in: after the password, always a second factor (IAM-6), enrolled at the
/// first sign-in.
pub async fn login_operator(state: &AppState, email: &str, password: &str, client: &ClientInfo) -> AppResult<Pending> {
    let account = match Email::parse(email) {
        Ok(e) => state.store.operator_credentials(&e).await?,
        Err(_) => None,
    };
    let stored = account.as_ref().map(|(_, h)| h.clone());
    let ok = state.hashing.check(stored, password.to_owned()).await.map_err(AppError::internal)?;
    let Some((operator, _)) = account.filter(|_| ok) else {
        state.metrics.login(false);
        // Refused, and throttled per address and name tried, so that guessing cannot flood the
        // platform's log (LOG-1).
        let denial = Denial {
            scope: AuditScope::Platform,
            actor: anonymous(email, client),
            operation: Operation::OperatorLoginFailed,
            target: format!("operator:{}", truncate(email, 254)),
            reason: "wrong email address or password".into(),
        };
        state.denials.record(state, denial).await;
        return Err(AppError::BadCredentials);
    };
    let owner = SessionOwner::Operator(operator.id);
    let enrolled = state.store.second_factors(owner).await?.iter().any(|f| f.confirmed_at.is_some());
    let account = Account { issuer: "Kura operators".into(), name: operator.email.to_string() };
    second_factor::challenge(
        state,
        AuditScope::Platform,
        operator_actor(&operator, client),
        owner,
        Surface::Console,
        !enrolled,
        account,
    )
    .await
}

pub(super) fn operator_actor(operator: &kura_domain::Operator, client: &ClientInfo) -> Actor {
    Actor {
        kind: ActorKind::Operator,
        id: Some(operator.id.as_uuid()),
        label: operator.email.to_string(),
        role: Some("operator".into()),
        source_ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
    }
}

/// Opens an operator's session in `w`, which holds the second factor's writes.
pub(super) async fn open_operator_session(
    state: &AppState,
    mut w: Write,
    operator: &kura_domain::Operator,
    client: &ClientInfo,
    detail: Vec<String>,
) -> AppResult<NewSession> {
    let expires_at = expiry(state, state.settings.session.absolute_minutes);
    let (secret, _) = w
        .insert_session(
            SessionOwner::Operator(operator.id),
            expires_at,
            client.ip.as_deref(),
            client.user_agent.as_deref(),
        )
        .await?;
    let mut record = AuditRecord::success(Operation::OperatorLogin, format!("operator:{}", operator.email));
    if !detail.is_empty() {
        record = record.with_detail(detail.join("; "));
    }
    w.commit(record).await?;
    state.metrics.login(true);
    let password_change_required = operator.must_change_password;
    Ok(NewSession { token: session_token(uuid::Uuid::nil(), &secret), expires_at, password_change_required })
}

pub async fn logout_operator(state: &AppState, p: &OperatorPrincipal) -> AppResult<()> {
    let mut w = p.begin(&state.store, AuditScope::Platform).await?;
    w.delete_session(p.scope, &p.digest).await?;
    w.commit(AuditRecord::success(Operation::OperatorLogout, format!("operator:{}", p.operator.email))).await?;
    Ok(())
}
