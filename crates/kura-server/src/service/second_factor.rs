//! Second factors (IAM-6): the challenge a right password leads to, finishing it with a TOTP
//! code or a recovery code (or, for whoever must have a factor and has none, enrolling one with
//! its first code), and managing one's own factors and an administrator's reset.
//!
//! A challenge lives in the database (`signin_challenges`), so that any node can finish it; its
//! token is returned once and stored as a digest. A code's time step is accepted once, by one
//! statement (`Write::accept_step`), so a replayed code is refused on every node. A wrong code
//! counts toward the account's lockout and the address's throttling as a wrong password does;
//! five wrong codes end the challenge. A user with passkeys is offered a passkey ceremony with
//! the challenge (its state stored with it, `super::passkeys`); a passkey's answer finishes the
//! challenge as a code does, and a refused one counts as a wrong code.

use super::security;
use super::sessions::{self, NewSession, anonymous, failure_record};
use crate::auth::{ClientInfo, TenantPrincipal, Via, parse_session_token, session_token};
use crate::denials::Denial;
use crate::error::{AppError, AppResult};
use crate::mail::templates::Notice;
use crate::state::AppState;
use jiff::{SignedDuration, Timestamp};
use kura_crypto::{FactorCode, RecoveryCode, TokenDigest, TotpSecret, recovery_digest};
use kura_domain::{
    Actor, ActorKind, AuditRecord, AuditScope, FieldError, FieldErrorKind, Operation, Outcome, Permission,
    SecurityPolicy, Surface, Tenant, User, UserId, UserStatus, format_in_zone,
};
use kura_store::{Challenge, FailureCount, SecondFactor, SessionOwner, Write};
use uuid::Uuid;

/// Minutes a challenge waits for its code.
pub const CHALLENGE_MINUTES: i64 = 5;
/// Minutes a challenge that must first enrol a factor waits (installing an app takes a while).
pub const ENROL_CHALLENGE_MINUTES: i64 = 15;
/// Wrong codes after which a challenge ends.
pub const MAX_ATTEMPTS: i64 = 5;
/// Recovery codes issued with the first factor.
pub const RECOVERY_CODES: usize = 10;

/// Whose account a factor is for, as an authenticator app shows it.
#[derive(Debug)]
pub struct Account {
    pub issuer: String,
    pub name: String,
}

/// A TOTP secret offered for enrolment: shown as text and as a QR code of `uri`.
#[derive(Clone)]
pub struct Enrolment {
    pub secret: String,
    pub uri: String,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment(..)")
    }
}

/// A sign-in waiting for its second factor.
pub struct Pending {
    /// The challenge's token, for the second call.
    pub challenge: String,
    pub expires_at: Timestamp,
    /// Set when the account must enrol a factor first: the secret to enrol.
    pub enrolment: Option<Enrolment>,
    /// Set when the account has passkeys: the options for `navigator.credentials.get`.
    /// (Boxed: it is large, and a `Pending` travels in every sign-in's answer.)
    pub passkey: Option<Box<webauthn_rs::prelude::RequestChallengeResponse>>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("expires_at", &self.expires_at)
            .field("enrolment", &self.enrolment.is_some())
            .field("passkey", &self.passkey.is_some())
            .finish_non_exhaustive()
    }
}

/// A finished sign-in: the session, and the recovery codes when a factor was enrolled on the
/// way (shown once).
#[derive(Debug)]
pub struct Completed {
    pub session: NewSession,
    pub recovery_codes: Vec<String>,
}

fn surface_name(surface: Surface) -> &'static str {
    match surface {
        Surface::Console => "console",
        Surface::Api => "api",
    }
}

fn target_of(owner: SessionOwner, label: &str) -> String {
    match owner {
        SessionOwner::User { .. } => format!("user:{label}"),
        SessionOwner::Operator(_) => format!("operator:{label}"),
    }
}

fn after(now: Timestamp, minutes: i64) -> Timestamp {
    now.checked_add(SignedDuration::from_mins(minutes)).unwrap_or(now)
}

fn enrolment(secret: &TotpSecret, account: &Account) -> Enrolment {
    Enrolment { secret: secret.to_base32(), uri: secret.otpauth_uri(&account.issuer, &account.name) }
}

/// Stores a challenge for `owner`, whose password was right; `enrol` when they must enrol a
/// factor first (a secret is offered with it).
pub(super) async fn challenge(
    state: &AppState,
    scope: AuditScope,
    actor: Actor,
    owner: SessionOwner,
    surface: Surface,
    enrol: bool,
    account: Account,
) -> AppResult<Pending> {
    let now = state.clock.now();
    let expires_at = after(now, if enrol { ENROL_CHALLENGE_MINUTES } else { CHALLENGE_MINUTES });
    let secret = enrol.then(TotpSecret::generate);
    let ceremony = match owner {
        SessionOwner::User { .. } if !enrol => {
            super::passkeys::sign_in_ceremony(&state.settings, &state.store.second_factors(owner).await?)?
        }
        _ => None,
    };
    let (passkey_state, passkey) = ceremony.unzip();
    let stored = Challenge {
        owner,
        surface: surface_name(surface).into(),
        pending_secret: secret.as_ref().map(TotpSecret::to_base32),
        passkey_state,
        attempts: 0,
        expires_at,
    };
    let target = target_of(owner, &actor.label);
    let mut w = state.store.begin(scope, actor).await?;
    let token = w.insert_challenge(&stored).await?;
    let detail = if enrol {
        "password accepted; a second factor must be enrolled before signing in"
    } else if passkey.is_some() {
        "password accepted; waiting for the second factor (a passkey or a code)"
    } else {
        "password accepted; waiting for the second factor"
    };
    w.commit(AuditRecord::success(Operation::SecondFactorChallenge, target).with_detail(detail)).await?;
    let scope_id = match owner {
        SessionOwner::User { tenant_id, .. } => tenant_id.as_uuid(),
        SessionOwner::Operator(_) => Uuid::nil(),
    };
    Ok(Pending {
        challenge: session_token(scope_id, &token),
        expires_at,
        enrolment: secret.as_ref().map(|s| enrolment(s, &account)),
        passkey: passkey.map(Box::new),
    })
}

/// Reads a code by its shape; anything that is neither six digits nor a recovery code is a 422
/// that changes nothing.
pub fn parse_code(code: &str) -> AppResult<FactorCode> {
    FactorCode::parse(code).ok_or_else(|| {
        AppError::Validation(vec![FieldError::new(
            "code",
            FieldErrorKind::Invalid {
                reason: "enter the 6-digit code of your authenticator app, or a 16-character recovery code".into(),
            },
        )])
    })
}

/// A live challenge by its token, for `surface`: unknown, finished and expired ones are refused
/// without changing anything.
pub async fn live_challenge(
    state: &AppState,
    token: &str,
    surface: Surface,
) -> AppResult<(uuid::Uuid, TokenDigest, Challenge)> {
    let (scope, secret) = parse_session_token(token.trim()).ok_or(AppError::ChallengeUnknown)?;
    let digest = secret.digest();
    let challenge = state
        .store
        .challenge(scope, &digest)
        .await?
        .filter(|c| c.surface == surface_name(surface))
        .ok_or(AppError::ChallengeUnknown)?;
    if challenge.expires_at <= state.clock.now() {
        return Err(AppError::ChallengeExpired);
    }
    Ok((scope, digest, challenge))
}

/// What the second step brings: a code typed in, or a passkey's answer (JSON, as
/// `navigator.credentials.get` gives it).
#[derive(Debug, Clone, Copy)]
pub enum Answer<'a> {
    Code(&'a str),
    Passkey(&'a serde_json::Value),
}

/// An answer read by its shape: a 422 that changes nothing for anything else.
enum Parsed {
    Code(FactorCode),
    Passkey(Box<webauthn_rs::prelude::PublicKeyCredential>),
}

fn parse_answer(answer: Answer<'_>) -> AppResult<Parsed> {
    Ok(match answer {
        Answer::Code(code) => Parsed::Code(parse_code(code)?),
        Answer::Passkey(value) => Parsed::Passkey(Box::new(super::passkeys::parse_sign_in_answer(value)?)),
    })
}

/// What a code or a passkey proved.
enum Proof {
    /// A TOTP code of an enrolled factor, at this step.
    Totp { factor: Uuid, step: u64 },
    /// The first code of the factor being enrolled at sign-in.
    Enrol { secret: String, step: u64 },
    /// A recovery code (whether it is unused is decided by the write that burns it).
    Recovery(TokenDigest),
    /// A passkey's answer to the challenge's ceremony.
    Passkey(super::passkeys::Used),
}

fn unix_seconds(now: Timestamp) -> u64 {
    u64::try_from(now.as_second()).unwrap_or(0)
}

/// Checks a code against the challenge's pending secret or the owner's factors; `Err` names
/// why it proves nothing (for the audit entry).
fn prove(
    challenge: &Challenge,
    factors: &[SecondFactor],
    code: &FactorCode,
    now: Timestamp,
) -> Result<Proof, &'static str> {
    let at = unix_seconds(now);
    match (&challenge.pending_secret, code) {
        (Some(secret), FactorCode::Totp(code)) => {
            let totp = TotpSecret::from_base32(secret).ok_or("the offered secret is unreadable")?;
            let step = totp.check(code, at).ok_or("wrong code while enrolling")?;
            Ok(Proof::Enrol { secret: secret.clone(), step })
        }
        (Some(_), FactorCode::Recovery(_)) => Err("a recovery code cannot enrol a factor"),
        (None, FactorCode::Totp(code)) => {
            let mut replayed = false;
            for f in factors.iter().filter(|f| f.kind == "totp" && f.confirmed_at.is_some()) {
                let Some(step) = TotpSecret::from_base32(&f.secret).and_then(|s| s.check(code, at)) else { continue };
                if i64::try_from(step).is_ok_and(|s| s > f.last_step) {
                    return Ok(Proof::Totp { factor: f.id, step });
                }
                replayed = true;
            }
            Err(if replayed { "code already used" } else { "wrong code" })
        }
        (None, FactorCode::Recovery(normalised)) => Ok(Proof::Recovery(recovery_digest(normalised))),
    }
}

/// Applies a proof in `w`: accepts the step, enrols the factor with fresh recovery codes, or
/// burns the recovery code. `Ok(Err(why))` when another request used the same code first.
async fn apply(
    w: &mut Write,
    owner: SessionOwner,
    proof: &Proof,
) -> AppResult<Result<(Vec<String>, Vec<String>), &'static str>> {
    let mut detail = Vec::new();
    let mut codes = Vec::new();
    match proof {
        Proof::Totp { factor, step } => {
            if !w.accept_step(owner, *factor, *step).await? {
                return Ok(Err("code already used"));
            }
            detail.push("second factor: authenticator app".to_owned());
        }
        Proof::Enrol { secret, step } => {
            let id = w.begin_factor(owner, "Authenticator app", secret).await?;
            if !w.accept_step(owner, id, *step).await? {
                return Ok(Err("code already used"));
            }
            let fresh: Vec<RecoveryCode> = (0..RECOVERY_CODES).map(|_| RecoveryCode::generate()).collect();
            let digests: Vec<TokenDigest> = fresh.iter().map(RecoveryCode::digest).collect();
            w.replace_recovery_codes(owner, &digests).await?;
            codes = fresh.iter().map(|c| c.expose().to_owned()).collect();
            detail.push("second factor: authenticator app, enrolled at this sign-in".to_owned());
        }
        Proof::Recovery(digest) => {
            if !w.use_recovery_code(owner, digest).await? {
                return Ok(Err("recovery code unknown or already used"));
            }
            detail.push("second factor: recovery code".to_owned());
        }
        Proof::Passkey(used) => {
            if !w.passkey_used(owner, used.factor, &used.credential).await? {
                return Ok(Err("the passkey was removed meanwhile"));
            }
            detail.push(format!("second factor: passkey \"{}\"", used.label));
        }
    }
    Ok(Ok((detail, codes)))
}

/// Finishes a tenant user's sign-in with a code or a passkey: a session, or a refusal that
/// counts toward the lockout.
pub async fn complete_user(
    state: &AppState,
    token: &str,
    answer: Answer<'_>,
    client: &ClientInfo,
    surface: Surface,
) -> AppResult<Completed> {
    let answer = parse_answer(answer)?;
    let (_, digest, challenge) = live_challenge(state, token, surface).await?;
    let SessionOwner::User { tenant_id, user_id } = challenge.owner else {
        return Err(AppError::ChallengeUnknown);
    };
    let tenant = state.store.tenant(tenant_id).await?.ok_or(AppError::ChallengeUnknown)?;
    let policy = security::policy_of(state, tenant_id).await?;
    let user = state.store.user(tenant_id, user_id).await?.ok_or(AppError::ChallengeUnknown)?;
    let role = state.store.role(tenant_id, user.role_id).await?.ok_or(AppError::ChallengeUnknown)?;
    check_address(state, &tenant, &policy, &user, surface, client).await?;
    super::tenant_access::check(state, &tenant)?;
    let now = state.clock.now();
    let actor = Actor {
        kind: ActorKind::User,
        id: Some(user.id.as_uuid()),
        label: user.email.to_string(),
        role: Some(role.key.to_string()),
        source_ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
    };
    if user.status != UserStatus::Active || user.is_locked(now) {
        // Locked (perhaps by wrong codes) or disabled since the password: the challenge ends.
        let mut w = state.store.begin(AuditScope::Tenant(tenant_id), actor).await?;
        w.end_challenge(challenge.owner, &digest).await?;
        let why = if user.status == UserStatus::Active { "account locked" } else { "account disabled" };
        w.commit(failure_record(tenant.slug.as_str(), user.email.as_str(), Some(why.into()))).await?;
        state.metrics.login(false);
        return Err(AppError::BadCredentials);
    }
    let factors = state.store.second_factors(challenge.owner).await?;
    let proved = match &answer {
        Parsed::Code(code) => prove(&challenge, &factors, code, now).map_err(str::to_owned),
        Parsed::Passkey(credential) => {
            super::passkeys::verify(&state.settings, &challenge, &factors, credential).map(Proof::Passkey)
        }
    };
    let refused = match proved {
        Ok(proof) => {
            let mut w = state.store.begin(AuditScope::Tenant(tenant_id), actor.clone()).await?;
            match apply(&mut w, challenge.owner, &proof).await? {
                Ok((detail, codes)) => {
                    if !w.end_challenge(challenge.owner, &digest).await? {
                        return Err(AppError::ChallengeUnknown);
                    }
                    let session =
                        sessions::open_user_session(state, w, &tenant, &policy, &user, actor.clone(), client, detail)
                            .await?;
                    after_success(state, AuditScope::Tenant(tenant_id), actor, challenge.owner, &proof).await?;
                    return Ok(Completed { session, recovery_codes: codes });
                }
                Err(why) => why.to_owned(),
            }
        }
        Err(why) => why,
    };
    let result = refuse_user(state, &tenant, &policy, &user, actor, &challenge, &digest, client, &refused).await;
    match (result, &answer) {
        (Err(AppError::SecondFactorRefused), Parsed::Passkey(_)) => Err(AppError::PasskeyRefused),
        (result, _) => result,
    }
}

/// The entries a used recovery code or an enrolment at sign-in adds after the session's.
async fn after_success(
    state: &AppState,
    scope: AuditScope,
    actor: Actor,
    owner: SessionOwner,
    proof: &Proof,
) -> AppResult<()> {
    let target = target_of(owner, &actor.label);
    let record = match proof {
        Proof::Totp { .. } | Proof::Passkey(_) => return Ok(()),
        Proof::Enrol { .. } => AuditRecord::success(Operation::SecondFactorEnrol, target)
            .with_detail(format!("authenticator app enrolled at sign-in; {RECOVERY_CODES} recovery codes issued")),
        Proof::Recovery(_) => {
            let left = state.store.recovery_codes_left(owner).await?;
            AuditRecord::success(Operation::RecoveryCodeUse, target).with_detail(format!("{left} unused code(s) left"))
        }
    };
    state.store.audit_only(scope, actor, record).await?;
    Ok(())
}

/// The tenant's address list for this door (IAM-10) applies to the second step too.
async fn check_address(
    state: &AppState,
    tenant: &Tenant,
    policy: &SecurityPolicy,
    user: &User,
    surface: Surface,
    client: &ClientInfo,
) -> AppResult<()> {
    let ip = client.ip.as_deref().and_then(|ip| ip.parse::<std::net::IpAddr>().ok());
    if policy.addresses.list(surface).is_empty() || ip.is_some_and(|ip| policy.addresses.allows(surface, ip)) {
        return Ok(());
    }
    let denial = Denial {
        scope: AuditScope::Tenant(tenant.id),
        actor: anonymous(user.email.as_str(), client),
        operation: Operation::AddressRefused,
        target: format!("user:{}", user.email),
        reason: format!("second sign-in step to the {} from an address not in its list", surface.as_str()),
    };
    state.denials.record(state, denial).await;
    Err(AppError::AddressRefused { surface, ip: client.ip.clone().unwrap_or_else(|| "an unknown address".into()) })
}

/// A wrong, replayed or used code: one write counts it against the account (lockout), the
/// address (throttling) and the challenge (five wrong codes end it), with its entry.
#[allow(clippy::too_many_arguments, reason = "the sign-in's facts, passed on as they are")]
async fn refuse_user(
    state: &AppState,
    tenant: &Tenant,
    policy: &SecurityPolicy,
    user: &User,
    actor: Actor,
    challenge: &Challenge,
    digest: &TokenDigest,
    client: &ClientInfo,
    why: &str,
) -> AppResult<Completed> {
    state.metrics.login(false);
    let lockout = &policy.lockout;
    let mut w = state.store.begin(AuditScope::Tenant(tenant.id), actor.clone()).await?;
    let mut lock = None;
    if lockout.enabled {
        let until = lockout
            .lock_minutes
            .and_then(|m| state.clock.now().checked_add(SignedDuration::from_mins(i64::from(m))).ok());
        if let FailureCount::Locked { failures } =
            w.count_failed_signin(tenant.id, user.id, lockout.threshold, until).await?
        {
            lock = Some((failures, until));
        }
    }
    if let Some(ip) = &client.ip {
        let window = SignedDuration::from_mins(i64::from(lockout.throttle_window_minutes));
        w.count_address_failure(ip, window).await?;
    }
    let attempts = w.count_challenge_attempt(challenge.owner, digest).await?;
    let mut detail = format!("{why}; attempt {attempts} of {MAX_ATTEMPTS}");
    if attempts >= MAX_ATTEMPTS || lock.is_some() {
        w.end_challenge(challenge.owner, digest).await?;
        detail.push_str("; the sign-in was ended");
    }
    let record = AuditRecord {
        operation: Operation::SecondFactorFailed,
        target: Some(format!("user:{}", user.email)),
        outcome: Outcome::Failure,
        detail: Some(detail),
    };
    w.commit(record).await?;
    if let Some((failures, until)) = lock {
        let detail = match until {
            Some(t) => {
                format!("{failures} consecutive failed sign-ins; locked until {}", format_in_zone(t, &tenant.time_zone))
            }
            None => format!("{failures} consecutive failed sign-ins; locked until an administrator unlocks it"),
        };
        let record = AuditRecord::success(Operation::UserLock, format!("user:{}", user.email)).with_detail(detail);
        state.store.audit_only(AuditScope::Tenant(tenant.id), actor, record).await?;
    }
    Err(AppError::SecondFactorRefused)
}

/// Finishes an operator's sign-in with a code (operators always have a second factor).
pub async fn complete_operator(state: &AppState, token: &str, code: &str, client: &ClientInfo) -> AppResult<Completed> {
    let code = parse_code(code)?;
    let (_, digest, challenge) = live_challenge(state, token, Surface::Console).await?;
    let SessionOwner::Operator(id) = challenge.owner else {
        return Err(AppError::ChallengeUnknown);
    };
    let operator = state.store.operator(id).await?.ok_or(AppError::ChallengeUnknown)?;
    let actor = sessions::operator_actor(&operator, client);
    let now = state.clock.now();
    let factors = state.store.second_factors(challenge.owner).await?;
    let refused = match prove(&challenge, &factors, &code, now) {
        Ok(proof) => {
            let mut w = state.store.begin(AuditScope::Platform, actor.clone()).await?;
            match apply(&mut w, challenge.owner, &proof).await? {
                Ok((detail, codes)) => {
                    if !w.end_challenge(challenge.owner, &digest).await? {
                        return Err(AppError::ChallengeUnknown);
                    }
                    let session = sessions::open_operator_session(state, w, &operator, client, detail).await?;
                    after_success(state, AuditScope::Platform, actor, challenge.owner, &proof).await?;
                    return Ok(Completed { session, recovery_codes: codes });
                }
                Err(why) => why,
            }
        }
        Err(why) => why,
    };
    state.metrics.login(false);
    let mut w = state.store.begin(AuditScope::Platform, actor).await?;
    let attempts = w.count_challenge_attempt(challenge.owner, &digest).await?;
    let mut detail = format!("{refused}; attempt {attempts} of {MAX_ATTEMPTS}");
    if attempts >= MAX_ATTEMPTS {
        w.end_challenge(challenge.owner, &digest).await?;
        detail.push_str("; the sign-in was ended");
    }
    let record = AuditRecord {
        operation: Operation::SecondFactorFailed,
        target: Some(format!("operator:{}", operator.email)),
        outcome: Outcome::Failure,
        detail: Some(detail),
    };
    w.commit(record).await?;
    Err(AppError::SecondFactorRefused)
}

/// The enrolment a challenge offers, read again for its page (`None`: it needs no enrolment).
pub fn offered(challenge: &Challenge, account: &Account) -> Option<Enrolment> {
    let secret = TotpSecret::from_base32(challenge.pending_secret.as_deref()?)?;
    Some(enrolment(&secret, account))
}

/// One of a user's factors, as the user and the API see it.
#[derive(Debug, Clone)]
pub struct FactorInfo {
    pub id: Uuid,
    pub kind: String,
    pub label: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

/// The caller's own factors (confirmed ones) and how many recovery codes are left.
pub async fn own(state: &AppState, p: &TenantPrincipal) -> AppResult<(Vec<FactorInfo>, i64)> {
    let owner = own_owner(p)?;
    let factors = state
        .store
        .second_factors(owner)
        .await?
        .into_iter()
        .filter(|f| f.confirmed_at.is_some())
        .map(|f| FactorInfo {
            id: f.id,
            kind: f.kind,
            label: f.label,
            created_at: f.created_at,
            last_used_at: f.last_used_at,
        })
        .collect();
    Ok((factors, state.store.recovery_codes_left(owner).await?))
}

/// Second factors belong to people: a signed-in user, not an API key.
fn own_owner(p: &TenantPrincipal) -> AppResult<SessionOwner> {
    match (p.via(), p.user_id()) {
        (Via::Session { .. }, Some(user_id)) => Ok(SessionOwner::User { tenant_id: p.tenant().id, user_id }),
        _ => Err(AppError::BadRequest(
            "second factors belong to people signed in with a password; an API key has none".into(),
        )),
    }
}

/// Offers the caller a new TOTP secret; it counts once [`confirm`] accepts its first code.
pub async fn start(state: &AppState, p: &TenantPrincipal) -> AppResult<Enrolment> {
    let owner = own_owner(p)?;
    let secret = TotpSecret::generate();
    let account = Account { issuer: format!("Kura ({})", p.tenant().slug), name: p.actor().label.clone() };
    let mut w = state.store.begin(AuditScope::Tenant(p.tenant().id), p.actor().clone()).await?;
    w.begin_factor(owner, "Authenticator app", &secret.to_base32()).await?;
    let record = AuditRecord::success(Operation::SecondFactorEnrol, format!("user:{}", p.actor().label))
        .with_detail("authenticator app offered; it counts once its first code is confirmed");
    w.commit(record).await?;
    Ok(enrolment(&secret, &account))
}

/// Confirms the caller's pending factor with its first code; returns the recovery codes issued
/// with it (when the caller had none left), shown once.
pub async fn confirm(state: &AppState, p: &TenantPrincipal, code: &str) -> AppResult<Vec<String>> {
    let owner = own_owner(p)?;
    let wrong = |reason: &str| {
        AppError::Validation(vec![FieldError::new("code", FieldErrorKind::Invalid { reason: reason.into() })])
    };
    let Ok(FactorCode::Totp(code)) = parse_code(code) else {
        return Err(wrong("enter the 6-digit code your authenticator app shows"));
    };
    let pending = state.store.second_factors(owner).await?.into_iter().find(|f| f.confirmed_at.is_none());
    let Some(pending) = pending else {
        return Err(AppError::Conflict("no enrolment is waiting; start again".into()));
    };
    let now = state.clock.now();
    let step =
        TotpSecret::from_base32(&pending.secret).and_then(|s| s.check(&code, unix_seconds(now))).ok_or_else(|| {
            wrong("the code does not match; check that the device's clock is right and try the next code")
        })?;
    let codes_left = state.store.recovery_codes_left(owner).await?;
    let mut w = state.store.begin(AuditScope::Tenant(p.tenant().id), p.actor().clone()).await?;
    if !w.accept_step(owner, pending.id, step).await? {
        return Err(wrong("that code was already used; wait for the next one"));
    }
    let mut codes = Vec::new();
    if codes_left == 0 {
        let fresh: Vec<RecoveryCode> = (0..RECOVERY_CODES).map(|_| RecoveryCode::generate()).collect();
        w.replace_recovery_codes(owner, &fresh.iter().map(RecoveryCode::digest).collect::<Vec<_>>()).await?;
        codes = fresh.iter().map(|c| c.expose().to_owned()).collect();
    }
    let detail = if codes.is_empty() {
        "authenticator app enrolled".to_owned()
    } else {
        format!("authenticator app enrolled; {RECOVERY_CODES} recovery codes issued")
    };
    w.commit(
        AuditRecord::success(Operation::SecondFactorEnrol, format!("user:{}", p.actor().label)).with_detail(detail),
    )
    .await?;
    Ok(codes)
}

/// Replaces the caller's recovery codes by ten new ones (shown once); the old ones stop working.
pub async fn renew_codes(state: &AppState, p: &TenantPrincipal) -> AppResult<Vec<String>> {
    let owner = own_owner(p)?;
    if !state.store.second_factors(owner).await?.iter().any(|f| f.confirmed_at.is_some()) {
        return Err(AppError::Conflict("recovery codes come with a second factor; enrol one first".into()));
    }
    let fresh: Vec<RecoveryCode> = (0..RECOVERY_CODES).map(|_| RecoveryCode::generate()).collect();
    let mut w = state.store.begin(AuditScope::Tenant(p.tenant().id), p.actor().clone()).await?;
    w.replace_recovery_codes(owner, &fresh.iter().map(RecoveryCode::digest).collect::<Vec<_>>()).await?;
    w.commit(
        AuditRecord::success(Operation::SecondFactorEnrol, format!("user:{}", p.actor().label))
            .with_detail(format!("{RECOVERY_CODES} new recovery codes issued; the earlier ones no longer work")),
    )
    .await?;
    Ok(fresh.iter().map(|c| c.expose().to_owned()).collect())
}

/// Removes one of the caller's factors. The last one cannot go while the tenant requires the
/// caller to have one (409); removing the last one forgets the recovery codes too.
pub async fn remove_own(state: &AppState, p: &TenantPrincipal, id: Uuid) -> AppResult<()> {
    let owner = own_owner(p)?;
    let factors = state.store.second_factors(owner).await?;
    let Some(factor) = factors.iter().find(|f| f.id == id && f.confirmed_at.is_some()) else {
        return Err(AppError::NotFound("second factor"));
    };
    let policy = security::policy_of(state, p.tenant().id).await?;
    let confirmed = factors.iter().filter(|f| f.confirmed_at.is_some()).count();
    if confirmed == 1 && policy.second_factor.requires(&p.role().permissions) {
        return Err(AppError::Conflict(
            "your tenant requires you to have a second factor: enrol another before removing this one".into(),
        ));
    }
    let mut w = state.store.begin(AuditScope::Tenant(p.tenant().id), p.actor().clone()).await?;
    if !w.remove_factor(owner, id).await? {
        return Err(AppError::NotFound("second factor"));
    }
    let record = AuditRecord::success(Operation::SecondFactorRemove, format!("user:{}", p.actor().label))
        .with_detail(format!("{} ({}) removed", factor.label, factor.kind));
    w.commit(record).await?;
    Ok(())
}

/// An administrator removes all of a user's factors and recovery codes (the user lost their
/// device); the user is told by mail. Returns how many factors there were.
pub async fn reset_user(state: &AppState, p: &TenantPrincipal, user_id: UserId) -> AppResult<u64> {
    let g = p.require(Permission::UsersManage)?;
    let tenant = p.tenant();
    let user = state.store.user(tenant.id, user_id).await?.ok_or(AppError::NotFound("user"))?;
    let owner = SessionOwner::User { tenant_id: tenant.id, user_id };
    let mut w = g.begin(&state.store).await?;
    let n = w.reset_factors(owner).await?;
    let at = format_in_zone(state.clock.now(), &tenant.time_zone);
    let url = format!("{}/console/login?tenant={}", state.settings.base_url(), tenant.slug);
    let notice = Notice::SecondFactorsReset {
        tenant: tenant.display_name.as_str(),
        name: user.display_name.as_str(),
        by: &p.actor().label,
        at: &at,
        url: &url,
    };
    super::links::queue(&mut w, &user, &notice).await?;
    let record = AuditRecord::success(Operation::SecondFactorReset, format!("user:{}", user.email))
        .with_detail(format!("{n} second factor(s) and the recovery codes removed; the user was told by mail"));
    w.commit(record).await?;
    Ok(n)
}
