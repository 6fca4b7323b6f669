//! TLS on both ends of a run: the self-signed certificate Kura serves when a system runs over
//! TLS, and the harness's HTTP clients, which trust exactly that certificate. The clients use
//! rustls with ring, like Kura, and speak HTTP/1.1 over TLS as they do over plain TCP, so that
//! the two differ only in the TLS layer.

use anyhow::Context as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::rustls;
use tokio_rustls::rustls::crypto::ring::kx_group;

/// Writes a self-signed certificate for 127.0.0.1 (ECDSA P-256, as `kura demo` makes) and its
/// key into `dir`; returns the two paths and the certificate's PEM.
pub fn server_cert(dir: &Path) -> anyhow::Result<(PathBuf, PathBuf, Vec<u8>)> {
    let pair = kura_crypto::x509::self_signed_server(&["127.0.0.1", "localhost"], now() - 3600, 30)
        .context("making the server certificate")?;
    let (cert, key) = (dir.join("server.pem"), dir.join("server.key"));
    std::fs::write(&cert, &pair.cert_pem)?;
    std::fs::write(&key, &pair.key_pem)?;
    Ok((cert, key, pair.cert_pem.into_bytes()))
}

#[allow(clippy::disallowed_methods, reason = "a benchmark's certificate starts now, on the wall clock")]
fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// The ring provider, also installed as the process's default: reqwest (built without a
/// provider of its own) needs one even for its plain-HTTP clients.
fn ring() -> Arc<rustls::crypto::CryptoProvider> {
    #[allow(
        deprecated,
        reason = "ring is Kura's provider, so the client matches it; rustls deprecates it only for lacking post-quantum key exchange"
    )]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may install it first: either way one ring provider is the default.
        let _ = (*provider).clone().install_default();
    }
    provider
}

/// A rustls client configuration on ring that trusts only `root_pem`, offering HTTP/1.1.
/// Without `resumption`, every connection makes a full handshake (no tickets, no resumed ids).
pub fn client_config(root_pem: &[u8], resumption: bool) -> anyhow::Result<rustls::ClientConfig> {
    // Key exchange offered as browsers, curl and OpenSSL offer it: X25519 first. ring's own
    // default puts P-384 first, which Kura (following the client's order, as TLS 1.3 servers
    // do) then uses, at about four times the cost of X25519 on both ends of every handshake.
    let mut provider = (*ring()).clone();
    provider.kx_groups = vec![kx_group::X25519, kx_group::SECP256R1, kx_group::SECP384R1];
    let provider = Arc::new(provider);
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(root_pem) {
        roots.add(cert.context("the server certificate's PEM")?)?;
    }
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    if !resumption {
        config.resumption = rustls::client::Resumption::disabled();
    }
    Ok(config)
}

/// An HTTP client for a system served over plain HTTP (`root_pem` is `None`) or over TLS with
/// that certificate. `fresh_connections`: a new connection for every request (and over TLS a
/// full handshake), else one kept-alive connection.
pub fn http_client(
    root_pem: Option<&[u8]>,
    fresh_connections: bool,
    timeout: Duration,
) -> anyhow::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(usize::from(!fresh_connections))
        .timeout(timeout);
    ring();
    if let Some(root) = root_pem {
        builder = builder.tls_backend_preconfigured(client_config(root, !fresh_connections)?);
    }
    Ok(builder.build()?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn clients_trust_the_certificate_made_for_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key, pem) = server_cert(dir.path()).unwrap();
        assert!(cert.is_file() && key.is_file());
        let full = format!("{:?}", client_config(&pem, false).unwrap().resumption);
        assert!(full.contains("Disabled") && !full.contains("SessionIdOrTickets"), "{full}");
        assert!(http_client(Some(&pem), true, Duration::from_secs(1)).is_ok());
        assert!(http_client(None, false, Duration::from_secs(1)).is_ok());
    }
}
