//! Passkeys and security keys (WebAuthn, IAM-6): registering one as a second factor, and the
//! passkey half of a sign-in's second step (the code half is in [`super::second_factor`]).
//!
//! The relying party is the server's public URL (`public_url`): its host is the relying party
//! id and its origin the only origin accepted. An IP address cannot be a relying party, so
//! without a public URL naming a domain passkeys are unavailable and TOTP remains.
//!
//! Every ceremony's state lives in the database, sealed under the tenant's key, bound to its
//! owner and short-lived by the injected clock, so that any node can finish it: a registration
//! in `passkey_registrations` (deleted by the request that finishes it), a sign-in's in its
//! `signin_challenges` row (which ends with the sign-in). A passkey is stored as a factor of
//! kind `passkey`, its credential's id digest unique across all accounts.

use super::second_factor::{FactorInfo, RECOVERY_CODES};
use crate::auth::{TenantPrincipal, Via};
use crate::error::{AppError, AppResult};
use crate::settings::Settings;
use crate::state::AppState;
use jiff::{SignedDuration, Timestamp};
use kura_crypto::RecoveryCode;
use kura_domain::{AuditRecord, AuditScope, FieldError, FieldErrorKind, Operation, Outcome};
use kura_store::{Challenge, SecondFactor, SessionOwner};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;
use webauthn_rs::prelude::{
    CreationChallengeResponse, Passkey, PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, RequestChallengeResponse, Url, Webauthn, WebauthnBuilder,
};

/// Minutes a registration waits for the authenticator's answer.
pub const REGISTRATION_MINUTES: i64 = 5;
/// The longest name of a passkey, in characters.
pub const NAME_MAX: usize = 60;
/// The kind of a passkey factor in `second_factors`.
pub const KIND: &str = "passkey";

/// The relying party of this server, from its public URL; `PasskeysUnavailable` when that URL
/// names no domain (an IP address) or is not HTTP(S).
pub fn relying_party(settings: &Settings) -> AppResult<Webauthn> {
    let base = settings.base_url();
    let origin = Url::parse(&base).map_err(|_| AppError::PasskeysUnavailable)?;
    let Some(domain) = origin.domain().filter(|_| matches!(origin.scheme(), "http" | "https")) else {
        return Err(AppError::PasskeysUnavailable);
    };
    let rp_id = domain.to_owned();
    WebauthnBuilder::new(&rp_id, &origin)
        .map(|b| b.rp_name("Kura"))
        .and_then(WebauthnBuilder::build)
        .map_err(|_| AppError::PasskeysUnavailable)
}

/// Whether this server can offer passkeys (its public URL names a domain).
pub fn available(settings: &Settings) -> bool {
    relying_party(settings).is_ok()
}

/// A registration offered to the browser: `options` go to `navigator.credentials.create`, and
/// its answer comes back with `registration`.
#[derive(Debug)]
pub struct Offer {
    pub registration: Uuid,
    pub options: CreationChallengeResponse,
    pub expires_at: Timestamp,
}

/// A sign-in's passkey ceremony as stored with its challenge: the state to check the answer
/// against, and the options (shown again if the page is reloaded).
#[derive(Serialize, Deserialize)]
struct SignInCeremony {
    state: PasskeyAuthentication,
    options: RequestChallengeResponse,
}

fn credential_hash(id: &[u8]) -> Vec<u8> {
    Sha256::digest(id).to_vec()
}

fn own_owner(p: &TenantPrincipal) -> AppResult<SessionOwner> {
    match (p.via(), p.user_id()) {
        (Via::Session { .. }, Some(user_id)) => Ok(SessionOwner::User { tenant_id: p.tenant().id, user_id }),
        _ => {
            Err(AppError::BadRequest("passkeys belong to people signed in with a password; an API key has none".into()))
        }
    }
}

/// The owner's passkeys with their factor ids; an unreadable stored credential is skipped
/// (it cannot sign anyone in).
fn passkeys_of(factors: &[SecondFactor]) -> Vec<(&SecondFactor, Passkey)> {
    factors
        .iter()
        .filter(|f| f.kind == KIND && f.confirmed_at.is_some())
        .filter_map(|f| serde_json::from_str::<Passkey>(&f.secret).ok().map(|pk| (f, pk)))
        .collect()
}

/// Checks a passkey's name: 1 to 60 characters once trimmed, no control characters.
pub fn parse_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    let count = name.chars().count();
    if count == 0 || count > NAME_MAX || name.chars().any(char::is_control) {
        return Err(AppError::Validation(vec![FieldError::new(
            "name",
            FieldErrorKind::Invalid {
                reason: format!("give the passkey a name of 1 to {NAME_MAX} characters, such as the device it is on"),
            },
        )]));
    }
    Ok(name.to_owned())
}

/// Starts registering a passkey for the caller: the options for the browser, and the
/// ceremony's state stored for [`finish_registration`].
pub async fn start_registration(state: &AppState, p: &TenantPrincipal, name: &str) -> AppResult<Offer> {
    let owner = own_owner(p)?;
    let name = parse_name(name)?;
    let rp = relying_party(&state.settings)?;
    let SessionOwner::User { user_id, .. } = owner else { return Err(AppError::ChallengeUnknown) };
    let factors = state.store.second_factors(owner).await?;
    let exclude: Vec<_> = passkeys_of(&factors).iter().map(|(_, pk)| pk.cred_id().clone()).collect();
    let label = p.actor().label.clone();
    let (options, ceremony) = rp
        .start_passkey_registration(user_id.as_uuid(), &label, &label, Some(exclude))
        .map_err(|e| AppError::internal(std::io::Error::other(format!("passkey registration: {e}"))))?;
    let stored = serde_json::to_string(&ceremony).map_err(AppError::internal)?;
    let expires_at =
        state.clock.now().checked_add(SignedDuration::from_mins(REGISTRATION_MINUTES)).map_err(AppError::internal)?;
    let mut w = state.store.begin(AuditScope::Tenant(p.tenant().id), p.actor().clone()).await?;
    let registration = w.begin_passkey(owner, &name, &stored, expires_at).await?;
    let record = AuditRecord::success(Operation::SecondFactorEnrol, format!("user:{label}"))
        .with_detail(format!("passkey \"{name}\" offered; it counts once the authenticator's answer is verified"));
    w.commit(record).await?;
    Ok(Offer { registration, options, expires_at })
}

/// Reads a registration answer sent by a browser or client; anything else is a 422.
fn parse_registration_answer(value: &serde_json::Value) -> AppResult<RegisterPublicKeyCredential> {
    serde_json::from_value(value.clone()).map_err(|e| {
        AppError::Validation(vec![FieldError::new(
            "credential",
            FieldErrorKind::Invalid {
                reason: format!("not the answer of navigator.credentials.create (a PublicKeyCredential): {e}"),
            },
        )])
    })
}

/// Reads a sign-in answer sent by a browser or client; anything else is a 422.
pub fn parse_sign_in_answer(value: &serde_json::Value) -> AppResult<PublicKeyCredential> {
    serde_json::from_value(value.clone()).map_err(|e| {
        AppError::Validation(vec![FieldError::new(
            "passkey",
            FieldErrorKind::Invalid {
                reason: format!("not the answer of navigator.credentials.get (a PublicKeyCredential): {e}"),
            },
        )])
    })
}

/// Finishes the caller's registration with the authenticator's answer (JSON, as
/// `navigator.credentials.create` gives it): the passkey counts at once, and with the caller's
/// first factor come ten recovery codes (returned, shown once). The registration is looked up
/// first, so that another person's is a 404 whatever the answer; an answer that is no
/// credential is a 422, and one that does not verify leaves nothing but a failure entry (the
/// registration stays until it expires).
pub async fn finish_registration(
    state: &AppState,
    p: &TenantPrincipal,
    registration: Uuid,
    answer: &serde_json::Value,
) -> AppResult<(FactorInfo, Vec<String>)> {
    let owner = own_owner(p)?;
    let stored = state
        .store
        .passkey_registration(owner, registration)
        .await?
        .ok_or(AppError::NotFound("passkey registration"))?;
    let now = state.clock.now();
    if stored.expires_at <= now {
        return Err(AppError::RegistrationExpired);
    }
    let rp = relying_party(&state.settings)?;
    let answer = parse_registration_answer(answer)?;
    let ceremony: PasskeyRegistration = serde_json::from_str(&stored.state).map_err(AppError::internal)?;
    let target = format!("user:{}", p.actor().label);
    let passkey = match rp.finish_passkey_registration(&answer, &ceremony) {
        Ok(pk) => pk,
        Err(e) => {
            let record = AuditRecord {
                operation: Operation::SecondFactorEnrol,
                target: Some(target),
                outcome: Outcome::Failure,
                detail: Some(format!("passkey \"{}\" refused: {e}", stored.label)),
            };
            state.store.audit_only(AuditScope::Tenant(p.tenant().id), p.actor().clone(), record).await?;
            return Err(AppError::PasskeyNotAccepted(e.to_string()));
        }
    };
    let hash = credential_hash(passkey.cred_id().as_slice());
    if state.store.passkey_credential_taken(&hash).await? {
        return Err(AppError::Conflict("this passkey is already registered".into()));
    }
    let credential = serde_json::to_string(&passkey).map_err(AppError::internal)?;
    let codes_left = state.store.recovery_codes_left(owner).await?;
    let mut w = state.store.begin(AuditScope::Tenant(p.tenant().id), p.actor().clone()).await?;
    let id = w
        .add_passkey(owner, registration, &stored.label, &credential, &hash)
        .await?
        .ok_or(AppError::NotFound("passkey registration"))?;
    let mut codes = Vec::new();
    if codes_left == 0 {
        let fresh: Vec<RecoveryCode> = (0..RECOVERY_CODES).map(|_| RecoveryCode::generate()).collect();
        w.replace_recovery_codes(owner, &fresh.iter().map(RecoveryCode::digest).collect::<Vec<_>>()).await?;
        codes = fresh.iter().map(|c| c.expose().to_owned()).collect();
    }
    let mut detail = format!("passkey \"{}\" enrolled", stored.label);
    if !codes.is_empty() {
        detail.push_str(&format!("; {RECOVERY_CODES} recovery codes issued"));
    }
    w.commit(AuditRecord::success(Operation::SecondFactorEnrol, target).with_detail(detail)).await?;
    let info = FactorInfo { id, kind: KIND.into(), label: stored.label, created_at: now, last_used_at: None };
    Ok((info, codes))
}

/// The passkey ceremony a sign-in offers when the owner has passkeys and this server has a
/// relying party: the state to store with the challenge (JSON) and the options for the
/// browser. `None` otherwise (the codes still work).
pub(super) fn sign_in_ceremony(
    settings: &Settings,
    factors: &[SecondFactor],
) -> AppResult<Option<(String, RequestChallengeResponse)>> {
    let passkeys: Vec<Passkey> = passkeys_of(factors).into_iter().map(|(_, pk)| pk).collect();
    if passkeys.is_empty() {
        return Ok(None);
    }
    let Ok(rp) = relying_party(settings) else { return Ok(None) };
    let (options, state) = rp
        .start_passkey_authentication(&passkeys)
        .map_err(|e| AppError::internal(std::io::Error::other(format!("passkey sign-in: {e}"))))?;
    let stored = SignInCeremony { state, options: options.clone() };
    Ok(Some((serde_json::to_string(&stored).map_err(AppError::internal)?, options)))
}

/// The options of the passkey ceremony stored with a challenge, for its page.
pub fn sign_in_options(challenge: &Challenge) -> Option<RequestChallengeResponse> {
    let stored: SignInCeremony = serde_json::from_str(challenge.passkey_state.as_deref()?).ok()?;
    Some(stored.options)
}

/// A passkey that answered a sign-in: which factor, its name, and its credential as it is now
/// (counter moved on), to store.
pub(super) struct Used {
    pub factor: Uuid,
    pub label: String,
    pub credential: String,
}

/// Checks a sign-in answer against the challenge's ceremony and the owner's passkeys; `Err`
/// names why it proves nothing (for the audit entry).
pub(super) fn verify(
    settings: &Settings,
    challenge: &Challenge,
    factors: &[SecondFactor],
    answer: &PublicKeyCredential,
) -> Result<Used, String> {
    let stored = challenge.passkey_state.as_deref().ok_or("no passkey was offered for this sign-in")?;
    let ceremony: SignInCeremony =
        serde_json::from_str(stored).map_err(|_| "the sign-in's passkey state is unreadable".to_owned())?;
    let rp = relying_party(settings).map_err(|_| "passkeys are unavailable on this server".to_owned())?;
    let result = rp
        .finish_passkey_authentication(answer, &ceremony.state)
        .map_err(|e| format!("passkey answer not accepted ({e})"))?;
    let (factor, mut passkey) = passkeys_of(factors)
        .into_iter()
        .find(|(_, pk)| pk.cred_id() == result.cred_id())
        .ok_or("the passkey is not one of this account's")?;
    passkey.update_credential(&result);
    let credential = serde_json::to_string(&passkey).map_err(|_| "the passkey could not be stored".to_owned())?;
    Ok(Used { factor: factor.id, label: factor.label.clone(), credential })
}

/// The caller's own passkeys.
pub async fn own(state: &AppState, p: &TenantPrincipal) -> AppResult<Vec<FactorInfo>> {
    own_owner(p)?;
    let (factors, _) = super::second_factor::own(state, p).await?;
    Ok(factors.into_iter().filter(|f| f.kind == KIND).collect())
}

/// Removes one of the caller's passkeys (as any factor is removed: not the last one while the
/// tenant requires a second factor of the caller).
pub async fn remove_own(state: &AppState, p: &TenantPrincipal, id: Uuid) -> AppResult<()> {
    if !own(state, p).await?.iter().any(|f| f.id == id) {
        return Err(AppError::NotFound("passkey"));
    }
    super::second_factor::remove_own(state, p, id).await
}
