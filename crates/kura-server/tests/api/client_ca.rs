//! IAM-11 with DAT-2: the client CA's private key under the master key. With encryption at rest
//! on, the CA's key file holds the key sealed, never a PEM private key; the nodes that share the
//! CA's folder and the master key use the one CA; a node with another master key, or none,
//! refuses to start with an error that says why; and a PEM key from before encryption was
//! configured is sealed in its place at the next start.

use crate::client_certs::{call, client, issue, require, server_cert, tls_app_with};
use crate::helpers::{TestApp, spawn_encrypted_app_with};
use kura_server::Settings;
use reqwest::StatusCode;
use std::path::{Path, PathBuf};

const KEY_FILE: &str = "client-ca.key";

/// The files in the CA's folder, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    names
}

/// The CA key file holds the sealed form: no PEM block, no PKCS#8 private key, owner-only.
fn assert_sealed(ca_dir: &Path) {
    let stored = std::fs::read(ca_dir.join(KEY_FILE)).unwrap();
    let text = String::from_utf8_lossy(&stored);
    assert!(!text.contains("-----BEGIN") && !text.contains("PRIVATE KEY"), "{text}");
    assert!(stored.starts_with(b"KURACAK1"), "the sealed format");
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(ca_dir.join(KEY_FILE)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(files(ca_dir), ["client-ca.key", "client-ca.pem"], "nothing else left in the folder");
}

/// Settings of a node with encryption on under a master key of its own (a new key file and a
/// keystore of its own), serving TLS with the CA in `ca_dir`.
fn own_master_key(s: &mut Settings, keys: &Path, tls: &Path, ca_dir: &Path) {
    let master = keys.join("other-master.key");
    if !master.exists() {
        kura_crypto::vault::MasterKey::create_file(&master).unwrap();
    }
    s.encryption.enabled = Some(true);
    s.encryption.master_key_file = Some(master);
    s.encryption.keystore_url =
        kura_server::settings::Secret::new(format!("sqlite://{}", keys.join("keystore.db").display()));
    s.tls.cert_file = Some(tls.join("server.pem"));
    s.tls.key_file = Some(tls.join("server.key"));
    s.tls.client_ca_dir = Some(ca_dir.to_owned());
}

/// An application with encryption at rest on, serving TLS with the CA in `ca_dir`; returns it
/// with the folder of its server certificate.
async fn encrypted_tls_app(ca_dir: PathBuf) -> (TestApp, tempfile::TempDir) {
    let (dir, cert, key) = server_cert();
    let app = spawn_encrypted_app_with(|s| {
        s.tls.cert_file = Some(cert);
        s.tls.key_file = Some(key);
        s.tls.client_ca_dir = Some(ca_dir);
    })
    .await;
    (app, dir)
}

/// A certificate issued by `issuer` is accepted by `node` where the API requires one.
async fn accepted_on(issuer: &TestApp, node: &TestApp, tls: &Path) {
    let t = issuer.tenant(&format!("t{}-{}", issuer.port(), node.port())).await;
    let issued = issue(issuer, &t, "laptop", 30).await;
    let with = client(tls, Some(issued["pem"].as_str().unwrap()));
    assert_eq!(require(issuer, &with, &t.admin_token, false, true).await.0, StatusCode::OK);
    assert_eq!(call(node, &with, "GET", "/api/v1/me", Some(&t.admin_token), None).await.0, StatusCode::OK);
    let without = client(tls, None);
    assert_eq!(call(node, &without, "GET", "/api/v1/me", Some(&t.admin_token), None).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn iam_11_with_encryption_on_the_ca_key_file_holds_no_private_key_and_nodes_share_the_ca() {
    let shared = tempfile::tempdir().unwrap();
    let ca_dir = shared.path().join("client-ca");
    let (a, tls) = encrypted_tls_app(ca_dir.clone()).await;
    assert_sealed(&ca_dir);
    // A second node with the same master key opens the sealed CA: each accepts what the other
    // issued (the CA signed both with the one key).
    let (cert, key, ca) = (tls.path().join("server.pem"), tls.path().join("server.key"), ca_dir.clone());
    let b = a
        .another_node_with(move |s| {
            s.tls.cert_file = Some(cert);
            s.tls.key_file = Some(key);
            s.tls.client_ca_dir = Some(ca);
        })
        .await;
    accepted_on(&a, &b, tls.path()).await;
    accepted_on(&b, &a, tls.path()).await;
    assert_sealed(&ca_dir);
}

#[tokio::test]
async fn iam_11_a_node_with_another_master_key_or_none_refuses_the_sealed_ca_with_a_clear_error() {
    let shared = tempfile::tempdir().unwrap();
    let ca_dir = shared.path().join("client-ca");
    let (a, tls) = encrypted_tls_app(ca_dir.clone()).await;
    let keys = tempfile::tempdir().unwrap();
    let (k, t, c) = (keys.path().to_owned(), tls.path().to_owned(), ca_dir.clone());
    let err = a.try_another_node_with(move |s| own_master_key(s, &k, &t, &c)).await.err().expect("refused");
    let message = err.to_string();
    let sealing = a.state.store.vault().map(|v| v.master_key_id().to_string());
    assert!(matches!(err, kura_server::BuildError::ClientCa(_)), "{message}");
    for needle in
        ["client-ca.key", "does not open with master key", "which is not loaded", "the master key that sealed it"]
    {
        assert!(message.contains(needle), "{needle} missing: {message}");
    }
    if let Some(id) = sealing {
        assert!(message.contains(&id), "names the master key that sealed it: {message}");
    }

    // Without encryption at rest the sealed key is not read as anything else either.
    let (t, c) = (tls.path().to_owned(), ca_dir.clone());
    let err = a
        .try_another_node_with(move |s| {
            s.encryption.enabled = Some(false);
            s.tls.cert_file = Some(t.join("server.pem"));
            s.tls.key_file = Some(t.join("server.key"));
            s.tls.client_ca_dir = Some(c);
        })
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("encryption at rest is off here"), "{err}");
    assert_sealed(&ca_dir);
}

#[tokio::test]
async fn iam_11_a_plaintext_ca_key_is_sealed_at_the_first_start_with_encryption_on() {
    let shared = tempfile::tempdir().unwrap();
    let ca_dir = shared.path().join("client-ca");
    let ca = ca_dir.clone();
    let (plain, tls) = tls_app_with(move |s| s.tls.client_ca_dir = Some(ca)).await;
    let before = std::fs::read_to_string(ca_dir.join(KEY_FILE)).unwrap();
    assert!(before.contains("PRIVATE KEY"), "without encryption the key is a 0600 PEM file");
    let ca_cert = std::fs::read(ca_dir.join("client-ca.pem")).unwrap();

    // The deployment turns encryption on: the next start seals the same key in place.
    let keys = tempfile::tempdir().unwrap();
    let (k, t, c) = (keys.path().to_owned(), tls.path().to_owned(), ca_dir.clone());
    let sealed = plain.another_node_with(move |s| own_master_key(s, &k, &t, &c)).await;
    assert_sealed(&ca_dir);
    assert_eq!(std::fs::read(ca_dir.join("client-ca.pem")).unwrap(), ca_cert, "the same CA");
    // A certificate of the PEM key's days is accepted by the node with the sealed key: one CA.
    // (Checked in this direction only: a node without encryption cannot read what an encrypted
    // node wrote, and no deployment mixes the two.)
    accepted_on(&plain, &sealed, tls.path()).await;
    // A later start opens the sealed key as it is, and accepts what the sealed node issued.
    let (k, t, c) = (keys.path().to_owned(), tls.path().to_owned(), ca_dir.clone());
    let again = plain.another_node_with(move |s| own_master_key(s, &k, &t, &c)).await;
    accepted_on(&sealed, &again, tls.path()).await;
    assert_sealed(&ca_dir);
}

#[tokio::test]
async fn iam_11_without_tls_an_existing_ca_key_is_sealed_when_the_node_starts() {
    let shared = tempfile::tempdir().unwrap();
    let ca_dir = shared.path().join("client-ca");
    let ca = ca_dir.clone();
    let plain = crate::helpers::spawn_app_with(move |s| s.tls.client_ca_dir = Some(ca)).await;
    let t = plain.tenant("acme").await;
    issue(&plain, &t, "受付PC", 30).await;
    assert!(std::fs::read_to_string(ca_dir.join(KEY_FILE)).unwrap().contains("PRIVATE KEY"));
    let keys = tempfile::tempdir().unwrap();
    let (k, c) = (keys.path().to_owned(), ca_dir.clone());
    let _sealed = plain
        .another_node_with(move |s| {
            own_master_key(s, &k, Path::new("/nonexistent"), &c);
            s.tls.cert_file = None;
            s.tls.key_file = None;
        })
        .await;
    // Sealed by the start itself, before any certificate is issued on the new node.
    assert_sealed(&ca_dir);
}
