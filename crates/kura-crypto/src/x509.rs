//! X.509 certificates: the self-signed server certificate `kura demo` makes for itself (DAT-1),
//! and reading what Kura reports about a certificate it serves: validity, serial and SHA-256
//! fingerprint. Keys are ECDSA P-256, generated and used with ring through `rcgen`; certificates
//! are read with `x509-parser`. The client-certificate authority (IAM-11) is in [`client`].

pub mod ca_key;
pub mod client;

use crate::token::sha256;

#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("cannot generate the certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("not a valid X.509 certificate: {0}")]
    Parse(String),
    #[error("the validity period is out of range")]
    Validity,
    #[error("cannot write the PKCS#12 file: {0}")]
    Pkcs12(String),
}

/// A certificate and its private key, both PEM-encoded. The key is secret: write it to a file
/// only its owner can read.
#[derive(Clone)]
pub struct PemPair {
    pub cert_pem: String,
    pub key_pem: String,
    /// The certificate itself (DER), for its fingerprint.
    pub cert_der: Vec<u8>,
}

impl std::fmt::Debug for PemPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PemPair").field("fingerprint", &fingerprint_sha256(&self.cert_der)).finish_non_exhaustive()
    }
}

/// What Kura reports about a certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertInfo {
    /// Seconds since the Unix epoch.
    pub not_before: i64,
    pub not_after: i64,
    /// Lower-case hexadecimal, without separators.
    pub serial_hex: String,
    /// The subject's common name, if it has one.
    pub common_name: Option<String>,
}

/// A self-signed server certificate for `names` (DNS names or IP addresses), valid from
/// `not_before` (Unix seconds) for `days` days.
pub fn self_signed_server(names: &[&str], not_before: i64, days: u32) -> Result<PemPair, CertError> {
    let mut params = rcgen::CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(rcgen::DnType::CommonName, names.first().copied().unwrap_or("localhost"));
    params.distinguished_name.push(rcgen::DnType::OrganizationName, "Kura (self-signed)");
    let (start, end) = validity(not_before, days)?;
    params.not_before = start;
    params.not_after = end;
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let key = rcgen::KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    Ok(PemPair { cert_pem: cert.pem(), key_pem: key.serialize_pem(), cert_der: cert.der().to_vec() })
}

fn validity(not_before: i64, days: u32) -> Result<(time::OffsetDateTime, time::OffsetDateTime), CertError> {
    let start = time::OffsetDateTime::from_unix_timestamp(not_before).map_err(|_| CertError::Validity)?;
    let end = start.checked_add(time::Duration::days(i64::from(days))).ok_or(CertError::Validity)?;
    Ok((start, end))
}

/// The SHA-256 fingerprint of a DER certificate as browsers show it: upper-case hexadecimal
/// pairs separated by colons.
pub fn fingerprint_sha256(der: &[u8]) -> String {
    let digest = sha256(der);
    let mut out = String::with_capacity(digest.len() * 3);
    for (i, b) in digest.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.push_str(&format!("{b:02X}"));
    }
    out
}

/// The certificate's public-key pin: SHA-256 of its SubjectPublicKeyInfo, base64, the form
/// Chromium's `--ignore-certificate-errors-spki-list` and other pinning tools take.
pub fn spki_pin_sha256(der: &[u8]) -> Result<String, CertError> {
    use base64::Engine as _;
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| CertError::Parse(e.to_string()))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(sha256(cert.public_key().raw)))
}

/// Reads the validity, serial and common name of a DER certificate.
pub fn inspect(der: &[u8]) -> Result<CertInfo, CertError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| CertError::Parse(e.to_string()))?;
    let validity = cert.validity();
    let common_name = cert.subject().iter_common_name().next().and_then(|cn| cn.as_str().ok()).map(str::to_owned);
    Ok(CertInfo {
        not_before: validity.not_before.timestamp(),
        not_after: validity.not_after.timestamp(),
        serial_hex: cert.raw_serial_as_string().replace(':', ""),
        common_name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dat_1_self_signed_certificate_names_and_validity_read_back() {
        let start = 1_795_000_000;
        let pair = self_signed_server(&["localhost", "127.0.0.1"], start, 30).unwrap();
        assert!(pair.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(pair.key_pem.contains("PRIVATE KEY"));
        let info = inspect(&pair.cert_der).unwrap();
        assert_eq!((info.not_before, info.not_after), (start, start + 30 * 86_400));
        assert_eq!(info.common_name.as_deref(), Some("localhost"));
        let fp = fingerprint_sha256(&pair.cert_der);
        assert_eq!(fp.len(), 32 * 3 - 1);
        assert_ne!(fp, fingerprint_sha256(&self_signed_server(&["localhost"], start, 30).unwrap().cert_der));
        assert!(inspect(b"not a certificate").is_err());
    }
}
