//! The client-certificate authority of a deployment (IAM-11) and the certificates it issues to a
//! tenant's users and devices.
//!
//! The CA is an ECDSA P-256 key and a self-signed certificate kept as two files in one folder
//! (`client-ca.pem`, and `client-ca.key` created 0600 and refused when others can read it),
//! made the first time they are needed. Every node of a deployment must hold the same two files:
//! the CA certificate is what TLS verifies clients against, and the key signs new certificates.
//! With encryption at rest on, the key file holds the key sealed under the master key
//! ([`super::ca_key`]), never the key itself; a PEM key found there is sealed in its place.
//!
//! An issued certificate names its holder (common name), the tenant (organisational unit, and a
//! URI subject alternative name `urn:kura:tenant:<id>` that is what Kura reads back), carries a
//! random 128-bit serial and is for client authentication only. Its key is made here and leaves
//! only inside the PEM or PKCS#12 download; Kura keeps the certificate's fingerprint, never the key.

use super::ca_key::{self, SealedKeyError};
use super::{CertError, fingerprint_sha256, inspect, validity};
use crate::hex;
use crate::vault::{KeyError, KeyProvider};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The longest validity of an issued client certificate: two years.
pub const MAX_CLIENT_DAYS: u32 = 731;
/// How long the CA itself is valid: twenty years, so that it outlives every certificate it signs.
const CA_DAYS: u32 = 20 * 365;
const CA_CERT_FILE: &str = "client-ca.pem";
/// The CA key's file name in its folder.
pub const CA_KEY_FILE: &str = "client-ca.key";
/// The prefix of the URI that names a certificate's tenant.
pub const TENANT_URI_PREFIX: &str = "urn:kura:tenant:";

/// Why the CA's files could not be read or made.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error("cannot use {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} can be read by group or others (mode {mode:o}); make it 0600")]
    KeyTooOpen { path: PathBuf, mode: u32 },
    #[error("{0} exists without its certificate {CA_CERT_FILE}; restore both files from the backup")]
    Incomplete(PathBuf),
    #[error("the client CA in {path} cannot be used: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error(
        "the CA key {path} is sealed under master key {sealed_by}, and encryption at rest is off here: \
         configure that master key to use this CA"
    )]
    SealedWithoutMasterKey { path: PathBuf, sealed_by: String },
    #[error(
        "the CA key {path} does not open with master key {master_key_id}: {source}; every node sharing the CA \
         must use the master key that sealed it"
    )]
    Unseal { path: PathBuf, master_key_id: String, source: SealedKeyError },
    #[error("cannot seal the CA key under the master key: {0}")]
    Seal(KeyError),
    #[error(transparent)]
    Cert(#[from] CertError),
}

/// How the CA's key file is kept.
#[derive(Clone, Copy, Debug)]
pub enum KeyProtection<'a> {
    /// A PEM file, 0600: encryption at rest is off.
    File,
    /// Sealed under the master key of this provider: encryption at rest is on.
    Sealed(&'a dyn KeyProvider),
}

/// What [`ClientCa::load_or_create`] did, for the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaOpened {
    /// Read as it was.
    Loaded,
    /// Made, as neither file existed.
    Created,
    /// A PEM key was found with encryption on: it is now sealed, the PEM file gone.
    SealedExisting,
}

/// The deployment's client-certificate authority.
pub struct ClientCa {
    cert_pem: String,
    cert_der: Vec<u8>,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl std::fmt::Debug for ClientCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCa").field("fingerprint", &fingerprint_sha256(&self.cert_der)).finish_non_exhaustive()
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CaError + '_ {
    move |source| CaError::Io { path: path.to_owned(), source }
}

/// The CA's fixed parameters; only its common name differs between deployments.
fn ca_params(common_name: &str) -> rcgen::CertificateParams {
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(rcgen::DnType::CommonName, common_name);
    params.distinguished_name.push(rcgen::DnType::OrganizationName, "Kura");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
    params
}

impl ClientCa {
    /// Reads the CA from `dir`, or makes it there when neither file exists yet (`now` in Unix
    /// seconds starts its validity). With [`KeyProtection::Sealed`], a PEM key found in `dir`
    /// is sealed in its place (written, read back and opened before the PEM file is replaced).
    pub fn load_or_create(dir: &Path, now: i64, protection: KeyProtection<'_>) -> Result<(Self, CaOpened), CaError> {
        let cert_path = dir.join(CA_CERT_FILE);
        let key_path = dir.join(CA_KEY_FILE);
        match (cert_path.exists(), key_path.exists()) {
            (true, true) => Self::load(dir, &cert_path, &key_path, protection),
            (false, true) => Err(CaError::Incomplete(key_path)),
            (true, false) => Err(CaError::Invalid { path: cert_path, message: format!("{CA_KEY_FILE} is missing") }),
            (false, false) => Ok((Self::create(dir, &cert_path, &key_path, now, protection)?, CaOpened::Created)),
        }
    }

    fn create(
        dir: &Path,
        cert_path: &Path,
        key_path: &Path,
        now: i64,
        protection: KeyProtection<'_>,
    ) -> Result<Self, CaError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let tag: [u8; 4] = crate::token::random_bytes();
        let common_name = format!("Kura client CA {}", hex(&tag));
        let mut params = ca_params(&common_name);
        let (start, end) = validity(now - 3600, CA_DAYS)?;
        params.not_before = start;
        params.not_after = end;
        let key = rcgen::KeyPair::generate().map_err(CertError::from)?;
        let cert = params.self_signed(&key).map_err(CertError::from)?;
        let stored = key_file(&key, cert.der(), protection)?;
        // The key first, created exclusively: two nodes starting at once cannot both make a CA.
        write_private(key_path, &stored, true)?;
        let tmp = dir.join(format!("{CA_CERT_FILE}.tmp"));
        std::fs::write(&tmp, cert.pem()).map_err(io(&tmp))?;
        std::fs::rename(&tmp, cert_path).map_err(io(cert_path))?;
        Ok(Self { cert_pem: cert.pem(), cert_der: cert.der().to_vec(), issuer: rcgen::Issuer::new(params, key) })
    }

    fn load(
        dir: &Path,
        cert_path: &Path,
        key_path: &Path,
        protection: KeyProtection<'_>,
    ) -> Result<(Self, CaOpened), CaError> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(key_path).map_err(io(key_path))?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(CaError::KeyTooOpen { path: key_path.to_owned(), mode });
            }
        }
        let invalid = |path: &Path, message: String| CaError::Invalid { path: path.to_owned(), message };
        let cert_pem = std::fs::read_to_string(cert_path).map_err(io(cert_path))?;
        let stored = Zeroizing::new(std::fs::read(key_path).map_err(io(key_path))?);
        let cert_der = pem_der(&cert_pem).ok_or_else(|| invalid(cert_path, "no CERTIFICATE block".into()))?;
        let info = inspect(&cert_der)?;
        let common_name = info.common_name.ok_or_else(|| invalid(cert_path, "the certificate has no name".into()))?;
        let (key, opened) = if ca_key::is_sealed(&stored) {
            let KeyProtection::Sealed(provider) = protection else {
                let sealed_by = ca_key::sealed_by(&stored).unwrap_or_else(|| "(unreadable)".into());
                return Err(CaError::SealedWithoutMasterKey { path: key_path.to_owned(), sealed_by });
            };
            let der = ca_key::open(provider, &cert_der, &stored).map_err(|source| CaError::Unseal {
                path: key_path.to_owned(),
                master_key_id: provider.master_key_id().as_str().to_owned(),
                source,
            })?;
            let key = rcgen::KeyPair::try_from(der.as_slice()).map_err(|e| invalid(key_path, e.to_string()))?;
            (key, CaOpened::Loaded)
        } else {
            let pem = std::str::from_utf8(&stored).map_err(|_| invalid(key_path, "neither PEM nor sealed".into()))?;
            let key = rcgen::KeyPair::from_pem(pem).map_err(|e| invalid(key_path, e.to_string()))?;
            (key, CaOpened::Loaded)
        };
        let (_, parsed) =
            x509_parser::parse_x509_certificate(&cert_der).map_err(|e| invalid(cert_path, e.to_string()))?;
        if parsed.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
            return Err(invalid(key_path, "the key does not belong to the certificate".into()));
        }
        let opened = match protection {
            KeyProtection::Sealed(provider) if !ca_key::is_sealed(&stored) => {
                seal_in_place(dir, key_path, &key, &cert_der, provider)?;
                CaOpened::SealedExisting
            }
            _ => opened,
        };
        // The issuer is rebuilt from the same fixed parameters and the certificate's name: the
        // authority key identifier of what it signs is derived from the key, as it was.
        Ok((Self { cert_pem, cert_der, issuer: rcgen::Issuer::new(ca_params(&common_name), key) }, opened))
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The CA certificate, DER.
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// Issues a client certificate. `days` is 1 to [`MAX_CLIENT_DAYS`].
    pub fn issue(&self, request: &ClientCertRequest<'_>) -> Result<IssuedCert, CertError> {
        if !(1..=MAX_CLIENT_DAYS).contains(&request.days) {
            return Err(CertError::Validity);
        }
        let uri = format!("{TENANT_URI_PREFIX}{}", request.tenant_id);
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(rcgen::DnType::CommonName, request.holder);
        params.distinguished_name.push(rcgen::DnType::OrganizationalUnitName, request.tenant_name);
        params.distinguished_name.push(rcgen::DnType::OrganizationName, "Kura");
        params.subject_alt_names =
            vec![rcgen::SanType::URI(rcgen::string::Ia5String::try_from(uri).map_err(CertError::from)?)];
        // A random positive 128-bit serial (RFC 5280 allows up to 20 octets).
        let mut serial: [u8; 16] = crate::token::random_bytes();
        serial[0] &= 0x7f;
        serial[0] |= 0x01;
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
        let (start, end) = validity(request.not_before, request.days)?;
        params.not_before = start;
        params.not_after = end;
        params.is_ca = rcgen::IsCa::ExplicitNoCa;
        params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        params.use_authority_key_identifier_extension = true;
        let key = rcgen::KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        let der = cert.der().to_vec();
        Ok(IssuedCert {
            serial_hex: hex(&serial),
            fingerprint: fingerprint_sha256(&der),
            not_before: request.not_before,
            not_after: end.unix_timestamp(),
            cert_pem: cert.pem(),
            key_der: zeroize::Zeroizing::new(key.serialize_der()),
            key_pem: zeroize::Zeroizing::new(key.serialize_pem()),
            cert_der: der,
            ca_der: self.cert_der.clone(),
        })
    }
}

/// What the key file holds: the PEM key, or the key sealed under the master key.
fn key_file(
    key: &rcgen::KeyPair,
    cert_der: &[u8],
    protection: KeyProtection<'_>,
) -> Result<Zeroizing<Vec<u8>>, CaError> {
    Ok(Zeroizing::new(match protection {
        KeyProtection::File => Zeroizing::new(key.serialize_pem()).as_bytes().to_vec(),
        KeyProtection::Sealed(provider) => {
            ca_key::seal(provider, cert_der, &Zeroizing::new(key.serialize_der())).map_err(CaError::Seal)?
        }
    }))
}

/// Writes `bytes` to a file only its owner can read, made anew (`exclusive`: failing if it
/// exists), and syncs it.
fn write_private(path: &Path, bytes: &[u8], exclusive: bool) -> Result<(), CaError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if exclusive {
        options.create_new(true);
    } else {
        options.create(true).truncate(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io(path))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(io(path))
}

/// Replaces the PEM key at `key_path` with the key sealed under `provider`: the sealed copy is
/// written beside it, read back and opened to the same key, and only then renamed over the PEM
/// file, so that a failure at any step leaves the working PEM key in place.
fn seal_in_place(
    dir: &Path,
    key_path: &Path,
    key: &rcgen::KeyPair,
    cert_der: &[u8],
    provider: &dyn KeyProvider,
) -> Result<(), CaError> {
    let sealed = key_file(key, cert_der, KeyProtection::Sealed(provider))?;
    let tag: [u8; 4] = crate::token::random_bytes();
    let tmp = dir.join(format!("{CA_KEY_FILE}.sealing-{}", hex(&tag)));
    write_private(&tmp, &sealed, true)?;
    let check = || -> Result<(), CaError> {
        let back = std::fs::read(&tmp).map_err(io(&tmp))?;
        let der = ca_key::open(provider, cert_der, &back).map_err(|source| CaError::Unseal {
            path: tmp.clone(),
            master_key_id: provider.master_key_id().as_str().to_owned(),
            source,
        })?;
        if !crate::ct_eq(&der, &Zeroizing::new(key.serialize_der())) {
            return Err(CaError::Invalid { path: tmp.clone(), message: "the sealed copy does not read back".into() });
        }
        std::fs::rename(&tmp, key_path).map_err(io(key_path))?;
        // The rename is durable only once the folder is synced.
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
    };
    check().inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Re-wraps the sealed CA key in `dir` under `provider`'s current master key (master-key
/// rotation): the new file is written beside the old one, opened to the same key, and only then
/// renamed over it. `false` when there is no sealed key, or it is under that master key already.
pub fn rewrap_sealed_key(dir: &Path, provider: &dyn KeyProvider) -> Result<bool, CaError> {
    let key_path = dir.join(CA_KEY_FILE);
    let cert_path = dir.join(CA_CERT_FILE);
    if !key_path.exists() {
        return Ok(false);
    }
    let stored = std::fs::read(&key_path).map_err(io(&key_path))?;
    if !ca_key::is_sealed(&stored) {
        return Ok(false);
    }
    let unseal = |path: &Path, source| CaError::Unseal {
        path: path.to_owned(),
        master_key_id: provider.master_key_id().as_str().to_owned(),
        source,
    };
    let Some(rewrapped) = ca_key::rewrap(provider, &stored).map_err(|e| unseal(&key_path, e))? else {
        return Ok(false);
    };
    let cert_pem = std::fs::read_to_string(&cert_path).map_err(io(&cert_path))?;
    let cert_der = pem_der(&cert_pem)
        .ok_or_else(|| CaError::Invalid { path: cert_path.clone(), message: "no CERTIFICATE block".into() })?;
    let before = ca_key::open(provider, &cert_der, &stored).map_err(|e| unseal(&key_path, e))?;
    let tag: [u8; 4] = crate::token::random_bytes();
    let tmp = dir.join(format!("{CA_KEY_FILE}.rewrap-{}", hex(&tag)));
    write_private(&tmp, &rewrapped, true)?;
    let check = || -> Result<(), CaError> {
        let back = std::fs::read(&tmp).map_err(io(&tmp))?;
        let after = ca_key::open(provider, &cert_der, &back).map_err(|e| unseal(&tmp, e))?;
        if !crate::ct_eq(&after, &before) {
            return Err(CaError::Invalid {
                path: tmp.clone(),
                message: "the re-wrapped copy does not read back".into(),
            });
        }
        std::fs::rename(&tmp, &key_path).map_err(io(&key_path))?;
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
    };
    check().inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })?;
    Ok(true)
}

/// What to issue.
#[derive(Debug)]
pub struct ClientCertRequest<'a> {
    /// The user or device, as its common name.
    pub holder: &'a str,
    /// The tenant's id (a UUID) and display name.
    pub tenant_id: &'a str,
    pub tenant_name: &'a str,
    /// Start of validity, Unix seconds.
    pub not_before: i64,
    pub days: u32,
}

/// A newly issued certificate with its private key. The key exists only here, until the
/// download is made from it.
pub struct IssuedCert {
    pub serial_hex: String,
    /// SHA-256, as browsers show it.
    pub fingerprint: String,
    pub not_before: i64,
    pub not_after: i64,
    pub cert_pem: String,
    pub cert_der: Vec<u8>,
    ca_der: Vec<u8>,
    key_der: zeroize::Zeroizing<Vec<u8>>,
    key_pem: zeroize::Zeroizing<String>,
}

impl std::fmt::Debug for IssuedCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCert")
            .field("serial", &self.serial_hex)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl IssuedCert {
    /// The certificate and its key as one PEM text (certificate first, then the CA's, then the
    /// PKCS#8 key), as curl's `--cert` and most tools take it.
    pub fn pem_bundle(&self) -> zeroize::Zeroizing<String> {
        let ca_pem = der_to_pem(&self.ca_der);
        zeroize::Zeroizing::new(format!("{}{}{}", self.cert_pem, ca_pem, self.key_pem.as_str()))
    }

    /// The certificate, the CA's and the key as a PKCS#12 file under `password` (PBES2 with
    /// AES-256-CBC and PBKDF2-HMAC-SHA-256, HMAC-SHA-256 integrity), for Windows, macOS and
    /// browsers. `friendly_name` is what certificate pickers show.
    pub fn pkcs12(&self, friendly_name: &str, password: &str) -> Result<Vec<u8>, CertError> {
        let p12 = |e: p12_keystore::error::Error| CertError::Pkcs12(e.to_string());
        let key = p12_keystore::PrivateKey::from_der(&self.key_der).map_err(p12)?;
        let leaf = p12_keystore::Certificate::from_der(&self.cert_der).map_err(p12)?;
        let ca = p12_keystore::Certificate::from_der(&self.ca_der).map_err(p12)?;
        let local_key_id = crate::token::sha256(&self.cert_der)[..20].to_vec();
        let chain = p12_keystore::PrivateKeyChain::new(local_key_id, key, [leaf, ca]);
        let mut store = p12_keystore::KeyStore::new();
        store.add_entry(&bmp_label(friendly_name), p12_keystore::KeyStoreEntry::PrivateKeyChain(chain));
        store.writer(password).write().map_err(p12)
    }
}

/// `name` as a PKCS#12 friendly name, which is a BMPString: a character beyond the Basic
/// Multilingual Plane (some kanji such as 𠮷, emoji) becomes 〓, the mark Japanese text uses for
/// a character that cannot be shown. Only the label a certificate store shows changes; the
/// certificate itself names the holder in full.
fn bmp_label(name: &str) -> String {
    name.chars().map(|c| if u32::from(c) > 0xFFFF { '〓' } else { c }).collect()
}

/// What Kura reads from a client certificate that TLS verified against its CA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientIdentity {
    /// The tenant named in the certificate (the text after [`TENANT_URI_PREFIX`]), if any.
    pub tenant: Option<String>,
    pub serial_hex: String,
    pub fingerprint: String,
    pub not_before: i64,
    pub not_after: i64,
    pub holder: Option<String>,
}

/// Reads a client certificate (DER).
pub fn client_identity(der: &[u8]) -> Result<ClientIdentity, CertError> {
    let info = inspect(der)?;
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| CertError::Parse(e.to_string()))?;
    let tenant = cert.subject_alternative_name().ok().flatten().and_then(|san| {
        san.value.general_names.iter().find_map(|name| match name {
            x509_parser::extensions::GeneralName::URI(uri) => uri.strip_prefix(TENANT_URI_PREFIX).map(str::to_owned),
            _ => None,
        })
    });
    Ok(ClientIdentity {
        tenant,
        serial_hex: info.serial_hex,
        fingerprint: fingerprint_sha256(der),
        not_before: info.not_before,
        not_after: info.not_after,
        holder: info.common_name,
    })
}

/// A password for a PKCS#12 download: 20 characters from an alphabet without look-alikes
/// (about 100 bits), in groups of five so that it can be read out and typed.
pub fn download_password() -> zeroize::Zeroizing<String> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY3479";
    let mut out = String::with_capacity(23);
    let mut i = 0;
    while i < 20 {
        let [b]: [u8; 1] = crate::token::random_bytes();
        // Rejection sampling keeps every character equally likely.
        let limit = (256 / ALPHABET.len() * ALPHABET.len()) as u8;
        if b >= limit {
            continue;
        }
        if i > 0 && i % 5 == 0 {
            out.push('-');
        }
        out.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
        i += 1;
    }
    zeroize::Zeroizing::new(out)
}

fn pem_der(pem: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let start = pem.find("-----BEGIN CERTIFICATE-----")? + "-----BEGIN CERTIFICATE-----".len();
    let end = pem[start..].find("-----END CERTIFICATE-----")? + start;
    let body: String = pem[start..end].chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

fn der_to_pem(der: &[u8]) -> String {
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_795_000_000;

    fn request<'a>(tenant: &'a str, days: u32) -> ClientCertRequest<'a> {
        ClientCertRequest { holder: "Hanako's laptop", tenant_id: tenant, tenant_name: "Acme", not_before: T0, days }
    }

    #[test]
    fn iam_11_the_ca_is_made_once_with_a_private_key_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let ca = ClientCa::load_or_create(dir.path(), T0, KeyProtection::File).unwrap().0;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(CA_KEY_FILE)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let again = ClientCa::load_or_create(dir.path(), T0 + 10, KeyProtection::File).unwrap().0;
        assert_eq!(ca.cert_der(), again.cert_der());
        // A certificate signed after the reload names the same issuer, with the same key id.
        let a = ca.issue(&request("t1", 30)).unwrap();
        let b = again.issue(&request("t1", 30)).unwrap();
        let issuer = |der: &[u8]| {
            let (_, c) = x509_parser::parse_x509_certificate(der).unwrap();
            (
                c.issuer().to_string(),
                format!(
                    "{:?}",
                    c.get_extension_unique(&x509_parser::oid_registry::OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER)
                        .unwrap()
                        .unwrap()
                        .value
                ),
            )
        };
        assert_eq!(issuer(&a.cert_der), issuer(&b.cert_der));
        // (That the CA's signature verifies is proven by the TLS tests, which present them.)
        // A key others can read is refused.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(dir.path().join(CA_KEY_FILE), std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                ClientCa::load_or_create(dir.path(), T0, KeyProtection::File),
                Err(CaError::KeyTooOpen { .. })
            ));
        }
    }

    #[test]
    fn iam_11_with_a_master_key_the_ca_key_file_holds_only_the_sealed_key() {
        use crate::vault::MasterKey;
        let master = MasterKey::generate();
        let sealed = KeyProtection::Sealed(&master);
        let dir = tempfile::tempdir().unwrap();
        let (ca, opened) = ClientCa::load_or_create(dir.path(), T0, sealed).unwrap();
        assert_eq!(opened, CaOpened::Created);
        let file = std::fs::read(dir.path().join(CA_KEY_FILE)).unwrap();
        assert!(ca_key::is_sealed(&file) && !String::from_utf8_lossy(&file).contains("PRIVATE KEY"));
        let (again, opened) = ClientCa::load_or_create(dir.path(), T0, sealed).unwrap();
        assert_eq!((again.cert_der(), opened), (ca.cert_der(), CaOpened::Loaded));
        // Another master key, or none, is refused with an error naming the sealing key.
        let other = MasterKey::generate();
        let err = ClientCa::load_or_create(dir.path(), T0, KeyProtection::Sealed(&other)).unwrap_err();
        assert!(matches!(err, CaError::Unseal { .. }), "{err}");
        assert!(err.to_string().contains(master.master_key_id().as_str()), "{err}");
        let err = ClientCa::load_or_create(dir.path(), T0, KeyProtection::File).unwrap_err();
        assert!(matches!(err, CaError::SealedWithoutMasterKey { .. }), "{err}");
    }

    #[test]
    fn iam_11_a_pem_ca_key_is_sealed_once_a_master_key_is_configured() {
        use crate::vault::MasterKey;
        let dir = tempfile::tempdir().unwrap();
        let (ca, _) = ClientCa::load_or_create(dir.path(), T0, KeyProtection::File).unwrap();
        let master = MasterKey::generate();
        let (migrated, opened) = ClientCa::load_or_create(dir.path(), T0, KeyProtection::Sealed(&master)).unwrap();
        assert_eq!((migrated.cert_der(), opened), (ca.cert_der(), CaOpened::SealedExisting));
        let file = std::fs::read(dir.path().join(CA_KEY_FILE)).unwrap();
        assert!(ca_key::is_sealed(&file));
        let mut names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        assert_eq!(names, ["client-ca.key", "client-ca.pem"], "no copy left behind");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(CA_KEY_FILE)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let (again, opened) = ClientCa::load_or_create(dir.path(), T0, KeyProtection::Sealed(&master)).unwrap();
        assert_eq!((again.cert_der(), opened), (ca.cert_der(), CaOpened::Loaded));
    }

    #[test]
    fn iam_11_an_issued_certificate_names_its_tenant_and_holder_with_a_random_serial() {
        let dir = tempfile::tempdir().unwrap();
        let ca = ClientCa::load_or_create(dir.path(), T0, KeyProtection::File).unwrap().0;
        let issued = ca.issue(&request("0190f3c2-0000-7000-8000-000000000001", 365)).unwrap();
        let id = client_identity(&issued.cert_der).unwrap();
        assert_eq!(id.tenant.as_deref(), Some("0190f3c2-0000-7000-8000-000000000001"));
        assert_eq!(id.holder.as_deref(), Some("Hanako's laptop"));
        assert_eq!((id.not_before, id.not_after), (T0, T0 + 365 * 86_400));
        assert_eq!(id.serial_hex, issued.serial_hex);
        assert_eq!(id.fingerprint, issued.fingerprint);
        assert_ne!(ca.issue(&request("t", 1)).unwrap().serial_hex, issued.serial_hex);
        assert!(matches!(ca.issue(&request("t", MAX_CLIENT_DAYS + 1)), Err(CertError::Validity)));
        assert!(matches!(ca.issue(&request("t", 0)), Err(CertError::Validity)));
        assert!(format!("{issued:?}").contains(&issued.serial_hex));
        assert!(!format!("{issued:?}").contains("PRIVATE"));
        let bundle = issued.pem_bundle();
        assert_eq!(bundle.matches("BEGIN CERTIFICATE").count(), 2);
        assert!(bundle.contains("BEGIN PRIVATE KEY"));
    }

    #[test]
    fn iam_11_the_pkcs12_download_opens_only_with_its_password() {
        let dir = tempfile::tempdir().unwrap();
        let ca = ClientCa::load_or_create(dir.path(), T0, KeyProtection::File).unwrap().0;
        let issued = ca.issue(&request("t1", 30)).unwrap();
        let password = download_password();
        assert_eq!(password.len(), 23);
        assert_ne!(*password, *download_password());
        let p12 = issued.pkcs12("Hanako's laptop", &password).unwrap();
        let opened =
            p12_keystore::KeyStore::from_pkcs12(&p12, &password, p12_keystore::Pkcs12ImportPolicy::Strict).unwrap();
        let (_, chain) = opened.private_key_chain().unwrap();
        assert_eq!(chain.certs()[0].as_der(), issued.cert_der.as_slice());
        assert_eq!(chain.certs()[1].as_der(), ca.cert_der());
        assert!(p12_keystore::KeyStore::from_pkcs12(&p12, "wrong", p12_keystore::Pkcs12ImportPolicy::Strict).is_err());
    }

    /// A holder named with characters beyond the BMP (a kanji such as 𠮷, an emoji) still gets
    /// its download: the PKCS#12 label, a BMPString, shows 〓 for them.
    #[test]
    fn iam_11_a_holder_beyond_the_bmp_still_gets_a_pkcs12_download() {
        let dir = tempfile::tempdir().unwrap();
        let ca = ClientCa::load_or_create(dir.path(), T0, KeyProtection::File).unwrap().0;
        let issued = ca.issue(&request("t1", 30)).unwrap();
        let password = download_password();
        let p12 = issued.pkcs12("𠮷田さんの端末 🔑", &password).unwrap();
        let opened =
            p12_keystore::KeyStore::from_pkcs12(&p12, &password, p12_keystore::Pkcs12ImportPolicy::Strict).unwrap();
        let (alias, chain) = opened.private_key_chain().unwrap();
        assert_eq!(alias, "〓田さんの端末 〓");
        assert_eq!(chain.certs()[0].as_der(), issued.cert_der.as_slice());
    }
}
