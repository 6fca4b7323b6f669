//! Client certificates issued per tenant (IAM-11): the deployment's CA, issuing a certificate
//! to a user or device (shown once, as PKCS#12 with a password and as PEM), listing and revoking
//! them (holders of `settings.manage`, audited), and judging the certificate a request's
//! connection presented when the tenant requires one.
//!
//! The judgement reads the certificate's row from the database on every request (no cache), so
//! a revocation takes effect at once on every node.

use crate::auth::TenantPrincipal;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::tls::PeerCertificate;
use jiff::{SignedDuration, Timestamp};
use kura_crypto::vault::KeyProvider;
use kura_crypto::x509::client::{
    CA_KEY_FILE, CaError, CaOpened, ClientCa, ClientCertRequest, KeyProtection, MAX_CLIENT_DAYS, download_password,
};
use kura_domain::{AuditRecord, FieldError, FieldErrorKind, Operation, Permission, Surface, Tenant};
use kura_store::ClientCertificate;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The deployment's client CA, read or made the first time it is needed.
#[derive(Debug)]
pub struct CaSlot {
    dir: PathBuf,
    /// The master key, when encryption at rest is on: the CA's key is kept sealed under it.
    master: Option<Arc<dyn KeyProvider>>,
    ca: Mutex<Option<Arc<ClientCa>>>,
}

impl CaSlot {
    pub fn new(dir: PathBuf, master: Option<Arc<dyn KeyProvider>>) -> Self {
        Self { dir, master, ca: Mutex::new(None) }
    }

    /// Whether the CA must be read at start even without TLS: with a master key and a CA key
    /// already on disk, so that a PEM key is sealed (and a key sealed under another master key
    /// refused) when the node starts, not at the first certificate issued.
    pub fn read_at_start(&self) -> bool {
        self.master.is_some() && self.dir.join(CA_KEY_FILE).exists()
    }

    /// The CA, made in its folder if neither of its files exists yet. With a master key, a PEM
    /// key left from before encryption was configured is sealed here, once.
    pub fn get(&self, now: Timestamp) -> Result<Arc<ClientCa>, CaError> {
        let mut ca = self.ca.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(ca) = ca.as_ref() {
            return Ok(ca.clone());
        }
        let protection = match &self.master {
            Some(master) => KeyProtection::Sealed(master.as_ref()),
            None => KeyProtection::File,
        };
        let (loaded, opened) = ClientCa::load_or_create(&self.dir, now.as_second(), protection)?;
        let dir = self.dir.display();
        match opened {
            CaOpened::Created => tracing::info!(%dir, sealed = self.master.is_some(), "client CA created"),
            CaOpened::SealedExisting => tracing::warn!(
                %dir,
                file = CA_KEY_FILE,
                "client CA key sealed under the master key (it was a PEM file from before encryption at rest); \
                 back up the master key, without it the CA is lost"
            ),
            CaOpened::Loaded => {}
        }
        let loaded = Arc::new(loaded);
        *ca = Some(loaded.clone());
        Ok(loaded)
    }
}

/// Why a request's client certificate was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertRefusal {
    /// The connection presented none.
    Missing,
    /// One issued to another tenant.
    OtherTenant,
    /// One that names this tenant but that Kura has no record of.
    Unknown,
    Expired,
    NotYetValid,
    Revoked,
}

impl CertRefusal {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "no client certificate was presented",
            Self::OtherTenant => "the client certificate belongs to another tenant",
            Self::Unknown => "the client certificate is not one this tenant issued",
            Self::Expired => "the client certificate has expired",
            Self::NotYetValid => "the client certificate is not valid yet",
            Self::Revoked => "the client certificate has been revoked",
        }
    }
}

/// The serial of the valid certificate of `tenant` that `presented` is, or why it is not one.
/// Records the certificate's use (to the minute).
pub async fn judge(
    state: &AppState,
    tenant: &Tenant,
    presented: Option<&PeerCertificate>,
    ip: Option<&str>,
) -> AppResult<Result<String, (CertRefusal, Option<String>)>> {
    let Some(PeerCertificate(identity)) = presented else {
        return Ok(Err((CertRefusal::Missing, None)));
    };
    let serial = Some(identity.serial_hex.clone());
    if identity.tenant.as_deref() != Some(tenant.id.to_string().as_str()) {
        return Ok(Err((CertRefusal::OtherTenant, serial)));
    }
    let Some(row) = state.store.client_certificate(tenant.id, &identity.serial_hex).await? else {
        return Ok(Err((CertRefusal::Unknown, serial)));
    };
    if !kura_crypto::ct_eq(row.fingerprint.as_bytes(), identity.fingerprint.as_bytes()) {
        return Ok(Err((CertRefusal::Unknown, serial)));
    }
    let now = state.clock.now();
    let refusal = if row.revoked_at.is_some() {
        Some(CertRefusal::Revoked)
    } else if now >= row.not_after {
        Some(CertRefusal::Expired)
    } else if now < row.not_before {
        Some(CertRefusal::NotYetValid)
    } else {
        None
    };
    if let Some(refusal) = refusal {
        return Ok(Err((refusal, serial)));
    }
    if row.last_used_at.is_none_or(|used| now.duration_since(used) >= SignedDuration::from_mins(1))
        && let Err(e) = state.store.record_client_certificate_use(tenant.id, &row.serial, ip).await
    {
        tracing::warn!(error = %e, "could not record a client certificate's use");
    }
    Ok(Ok(row.serial))
}

/// Refuses a request of `tenant` through `surface` unless the tenant does not require a client
/// certificate there, or the connection presented a valid one of the tenant's.
pub async fn check(
    state: &AppState,
    tenant: &Tenant,
    requirement: kura_domain::CertificateRequirement,
    surface: Surface,
    presented: Option<&PeerCertificate>,
    ip: Option<&str>,
) -> AppResult<()> {
    if !requirement.requires(surface) {
        return Ok(());
    }
    match judge(state, tenant, presented, ip).await? {
        Ok(_) => Ok(()),
        Err((refusal, serial)) => Err(AppError::CertificateRefused {
            surface,
            refusal,
            tenant: tenant.display_name.as_str().to_owned(),
            serial,
        }),
    }
}

/// A client certificate as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"serial": "5f0c…", "holder": "Hanako Sato (laptop)",
    "fingerprint": "AB:CD:…", "not_before": "2026-11-22T00:00:00Z", "not_after": "2027-11-22T00:00:00Z",
    "created_at": "2026-11-22T00:00:00Z", "revoked_at": null, "last_used_at": null, "last_used_ip": null,
    "status": "valid"}))]
pub struct ClientCertView {
    /// Lower-case hexadecimal.
    pub serial: String,
    pub holder: String,
    /// SHA-256 of the certificate, as browsers show it.
    pub fingerprint: String,
    pub not_before: Timestamp,
    pub not_after: Timestamp,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub last_used_ip: Option<String>,
    /// `valid`, `expired` or `revoked`.
    pub status: &'static str,
}

impl ClientCertView {
    pub fn new(c: ClientCertificate, now: Timestamp) -> Self {
        let status = if c.revoked_at.is_some() {
            "revoked"
        } else if now >= c.not_after {
            "expired"
        } else {
            "valid"
        };
        Self {
            serial: c.serial,
            holder: c.holder,
            fingerprint: c.fingerprint,
            not_before: c.not_before,
            not_after: c.not_after,
            created_at: c.created_at,
            revoked_at: c.revoked_at,
            last_used_at: c.last_used_at,
            last_used_ip: c.last_used_ip,
            status,
        }
    }
}

/// A certificate to issue.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"holder": "Hanako Sato (laptop)", "days": 365}))]
pub struct NewClientCert {
    /// The user or device it is for (1–100 characters); shown in certificate pickers.
    pub holder: String,
    /// Days of validity (1–731, two years at most).
    #[schema(minimum = 1, maximum = 731)]
    pub days: u32,
}

/// A certificate just issued, with its key: shown once, never again.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(example = json!({"certificate": {"serial": "5f0c2a9e41d3b6c78e9f0a1b2c3d4e5f", "holder": "Hanako Sato (laptop)",
    "fingerprint": "AB:CD:…", "not_before": "2026-11-22T00:00:00Z", "not_after": "2027-11-22T00:00:00Z",
    "created_at": "2026-11-22T00:00:00Z", "revoked_at": null, "last_used_at": null, "last_used_ip": null,
    "status": "valid"}, "password": "abcde-fghij-kmnpq-rstuv", "pkcs12_base64": "MIIK…",
    "pem": "-----BEGIN CERTIFICATE-----\n…"}))]
pub struct IssuedClientCert {
    pub certificate: ClientCertView,
    /// The password of the PKCS#12 file. Shown only in this answer.
    pub password: String,
    /// The certificate, Kura's CA certificate and the key as PKCS#12 (PBES2/AES-256), base64.
    /// For Windows, macOS and browsers.
    pub pkcs12_base64: String,
    /// The certificate, the CA certificate and the unencrypted PKCS#8 key as PEM, for curl and
    /// other tools. Keep it as secret as a password.
    pub pem: String,
}

impl std::fmt::Debug for IssuedClientCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedClientCert").field("certificate", &self.certificate).finish_non_exhaustive()
    }
}

/// Issues a client certificate of the principal's tenant.
pub async fn issue(state: &AppState, p: &TenantPrincipal, input: NewClientCert) -> AppResult<IssuedClientCert> {
    let g = p.require(Permission::SettingsManage)?;
    let holder = input.holder.trim();
    let mut errors = Vec::new();
    if holder.is_empty() || holder.chars().count() > 100 || holder.chars().any(char::is_control) {
        errors.push(FieldError::new(
            "holder",
            FieldErrorKind::Invalid { reason: "name the user or device in 1 to 100 characters".into() },
        ));
    }
    if !(1..=MAX_CLIENT_DAYS).contains(&input.days) {
        errors.push(FieldError::new(
            "days",
            FieldErrorKind::Invalid { reason: format!("between 1 and {MAX_CLIENT_DAYS} days (two years)") },
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let now = state.clock.now();
    let ca = state.client_ca.get(now).map_err(AppError::internal)?;
    let tenant = g.tenant();
    let issued = ca
        .issue(&ClientCertRequest {
            holder,
            tenant_id: &tenant.id.to_string(),
            tenant_name: tenant.display_name.as_str(),
            not_before: now.as_second(),
            days: input.days,
        })
        .map_err(AppError::internal)?;
    let password = download_password();
    let pkcs12 = issued.pkcs12(holder, &password).map_err(AppError::internal)?;
    let stamp = |s: i64| Timestamp::from_second(s).map_err(AppError::internal);
    let row = ClientCertificate {
        tenant_id: tenant.id,
        serial: issued.serial_hex.clone(),
        holder: holder.to_owned(),
        fingerprint: issued.fingerprint.clone(),
        not_before: stamp(issued.not_before)?,
        not_after: stamp(issued.not_after)?,
        created_at: now,
        created_by: p.user_id(),
        revoked_at: None,
        last_used_at: None,
        last_used_ip: None,
    };
    let mut w = g.begin(&state.store).await?;
    w.insert_client_certificate(&row).await?;
    w.commit(
        AuditRecord::success(Operation::ClientCertIssue, format!("clientcert:{}", row.serial))
            .with_detail(format!("holder {holder}; valid until {}; fingerprint {}", row.not_after, row.fingerprint)),
    )
    .await?;
    use base64::Engine as _;
    Ok(IssuedClientCert {
        certificate: ClientCertView::new(row, now),
        password: password.to_string(),
        pkcs12_base64: base64::engine::general_purpose::STANDARD.encode(pkcs12),
        pem: issued.pem_bundle().to_string(),
    })
}

/// The tenant's certificates, newest first.
pub async fn list(state: &AppState, p: &TenantPrincipal) -> AppResult<Vec<ClientCertView>> {
    let g = p.require(Permission::SettingsManage)?;
    let now = state.clock.now();
    Ok(state.store.client_certificates(g.tenant_id()).await?.into_iter().map(|c| ClientCertView::new(c, now)).collect())
}

/// Revokes one of the tenant's certificates at once, on every node.
pub async fn revoke(state: &AppState, p: &TenantPrincipal, serial: &str) -> AppResult<ClientCertView> {
    let g = p.require(Permission::SettingsManage)?;
    let serial = serial.trim().to_ascii_lowercase();
    let Some(before) = state.store.client_certificate(g.tenant_id(), &serial).await? else {
        return Err(AppError::NotFound("client certificate"));
    };
    if before.revoked_at.is_some() {
        return Ok(ClientCertView::new(before, state.clock.now()));
    }
    let mut w = g.begin(&state.store).await?;
    w.revoke_client_certificate(g.tenant_id(), &serial).await?;
    w.commit(
        AuditRecord::success(Operation::ClientCertRevoke, format!("clientcert:{serial}"))
            .with_detail(format!("holder {}", before.holder)),
    )
    .await?;
    let after = state
        .store
        .client_certificate(g.tenant_id(), &serial)
        .await?
        .ok_or(AppError::NotFound("client certificate"))?;
    Ok(ClientCertView::new(after, state.clock.now()))
}
