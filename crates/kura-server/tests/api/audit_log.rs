//! LOG-3 over HTTP: the tenant administrator fetches the latest signed checkpoint and the public
//! key from the API and the console, and proofs that check against them with the standard
//! formats' own rules.

use crate::console_client::*;
use crate::helpers::*;
use kura_crypto::merkle::{Checkpoint, Hash, NoteVerifier, TlogProof, leaf_hash, open_note, verify_consistency};
use kura_domain::AuditScope;
use reqwest::StatusCode;
use serde_json::json;

fn hashes(text: &str) -> Vec<Hash> {
    use base64::Engine as _;
    text.lines()
        .map(|l| Hash(base64::engine::general_purpose::STANDARD.decode(l).unwrap().try_into().unwrap()))
        .collect()
}

#[tokio::test]
async fn log_3_tenant_admin_gets_checkpoints_and_proofs_that_verify() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let (s, first) = app.send("POST", "/api/v1/audit/checkpoint", Some(&t.admin_token), None).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    let verifier = NoteVerifier::parse(first["public_key"].as_str().unwrap()).unwrap();
    let body = open_note(first["checkpoint"].as_str().unwrap(), &verifier).unwrap();
    let older = Checkpoint::parse(body).unwrap();
    assert_eq!(older.size(), first["size"].as_u64().unwrap());
    let tenant_id =
        app.state.store.tenant_by_slug(&kura_domain::Slug::parse("acme").unwrap()).await.unwrap().unwrap().id;
    assert_eq!(older.origin(), format!("kura/audit/{}", tenant_id.as_uuid()));
    assert!(older.extensions()[0].starts_with("time "), "{:?}", older.extensions());

    // More entries, then the newest checkpoint; it is what GET returns.
    let (s, _) = app.post("/api/v1/collections", &t.admin_token, customers_spec()).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = app.post("/api/v1/collections/customers/records", &t.admin_token, json!({"name": "山田"})).await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, made) = app.send("POST", "/api/v1/audit/checkpoint", Some(&t.admin_token), None).await;
    let (s, latest) = app.get("/api/v1/audit/checkpoint", &t.admin_token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(latest, made);
    let newer = Checkpoint::parse(open_note(latest["checkpoint"].as_str().unwrap(), &verifier).unwrap()).unwrap();
    assert!(newer.size() > older.size());

    // Inclusion: a C2SP tlog-proof of the entry's leaf against a signed checkpoint.
    let scope = AuditScope::Tenant(tenant_id);
    for seq in 1..=i64::try_from(newer.size()).unwrap() {
        let (s, text) = app.get(&format!("/api/v1/audit/proofs/inclusion?seq={seq}"), &t.admin_token).await;
        assert_eq!(s, StatusCode::OK, "{text}");
        let proof = TlogProof::parse(text.as_str().unwrap()).unwrap();
        let leaf = app.state.store.audit_leaf(scope, seq).await.unwrap().unwrap();
        proof.verify(newer.origin(), &leaf, &verifier).unwrap();
        assert!(proof.verify(newer.origin(), &leaf_hash(b"forged"), &verifier).is_err());
    }
    // Consistency: the newer checkpoint extends the older.
    let path = format!("/api/v1/audit/proofs/consistency?first={}&second={}", older.size(), newer.size());
    let (s, text) = app.get(&path, &t.admin_token).await;
    assert_eq!(s, StatusCode::OK);
    let proof = hashes(text.as_str().unwrap_or(""));
    newer.verify_extends(&older, &proof).unwrap();
    verify_consistency(older.size(), newer.size(), older.root(), newer.root(), &proof).unwrap();

    // Bad input is a clear 4xx and changes nothing.
    for path in [
        "/api/v1/audit/proofs/inclusion?seq=0",
        "/api/v1/audit/proofs/inclusion?seq=abc",
        "/api/v1/audit/proofs/consistency?first=3&second=1",
    ] {
        let (s, body) = app.get(path, &t.admin_token).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}: {body}");
    }
    let (s, _) = app.get("/api/v1/audit/proofs/consistency?first=1&second=9999", &t.admin_token).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app.send("GET", "/api/v1/audit/checkpoint", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // The console shows the same checkpoint and key, in Japanese too.
    let c = Console::new(&app);
    c.login(&t.slug, &t.admin_email, PASSWORD).await;
    let page = c.get("/console/audit/checkpoint").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(first["public_key"].as_str().unwrap()), "the public key is shown");
    assert!(page.body.contains(&format!("kura/audit/{}\n{}\n", tenant_id.as_uuid(), newer.size())));
    assert!(c.get("/console/lang?to=ja&back=/console").await.status.is_redirection());
    let page = c.get("/console/audit/checkpoint").await;
    assert!(page.body.contains("署名付きチェックポイント"));
    assert!(english_sentences(&page.body).is_empty(), "{:?}", english_sentences(&page.body));
    assert!(c.get("/console/audit").await.body.contains("/console/audit/checkpoint"));
    app.verify_audit().await;
}

#[tokio::test]
async fn log_3_a_user_without_audit_read_gets_no_checkpoint_or_proof() {
    let app = spawn_app().await;
    let t = app.tenant("acme").await;
    let (s, body) = app.post("/api/v1/api-keys", &t.admin_token, json!({"name": "reader", "role": "viewer"})).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let token = body["token"].as_str().unwrap();
    for path in ["/api/v1/audit/checkpoint", "/api/v1/audit/proofs/inclusion?seq=1"] {
        let (s, body) = app.get(path, token).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}: {body}");
    }
}
