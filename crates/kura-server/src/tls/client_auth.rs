//! Client certificates in the TLS handshake (IAM-11). Kura asks every client for a certificate
//! signed by its client CA but lets connections without one through: whether a tenant requires
//! one is decided per request, once the credential names the tenant. A certificate whose chain
//! to the CA is valid but whose dates are not (expired, or not valid yet) is accepted here too,
//! so that the application judges the dates by its own clock and answers with a clear, audited
//! refusal instead of a failed handshake the browser cannot explain.

use kura_crypto::x509::client::ClientIdentity;
use std::sync::Arc;
use tokio_rustls::rustls;
use tokio_rustls::rustls::DistinguishedName;
use tokio_rustls::rustls::pki_types::{CertificateDer, UnixTime};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::server::danger::{ClientCertVerified, ClientCertVerifier};

/// The client certificate a connection presented, verified against Kura's CA (dates aside).
/// Put into every request of the connection.
#[derive(Clone, Debug)]
pub struct PeerCertificate(pub Arc<ClientIdentity>);

/// Kura's client-certificate verifier: webpki's, with client authentication optional and the
/// validity dates left to the application.
#[derive(Debug)]
pub struct OptionalClientCert {
    inner: Arc<dyn ClientCertVerifier>,
}

impl OptionalClientCert {
    pub fn new(ca_der: &[u8]) -> Result<Self, rustls::Error> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from(ca_der.to_vec()))?;
        let inner = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), super::provider())
            .allow_unauthenticated()
            .build()
            .map_err(|e| rustls::Error::General(e.to_string()))?;
        Ok(Self { inner })
    }
}

impl ClientCertVerifier for OptionalClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // Names Kura's CA, so that browsers offer only the certificates it issued.
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        // The chain and signatures are checked at a moment inside the certificate's own
        // validity; the dates themselves are the application's to judge.
        let at = match kura_crypto::x509::inspect(end_entity) {
            Ok(info) => {
                let secs = i64::try_from(now.as_secs()).unwrap_or(i64::MAX).clamp(info.not_before, info.not_after);
                UnixTime::since_unix_epoch(std::time::Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
            }
            Err(_) => return Err(rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding)),
        };
        self.inner.verify_client_cert(end_entity, intermediates, at)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
