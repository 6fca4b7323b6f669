//! Checkpoints and signed notes: round trips, the signed-note specification's example key and
//! signature, and refusals.

use super::super::{
    Checkpoint, CheckpointError, NoteSigner, NoteVerifier, SignedNoteError, key_id, open_note, sign_note,
};
use super::{hx, store_of};

/// The example key and note of golang.org/x/mod/sumdb/note (its package documentation and
/// `note_test.go`), the reference implementation of C2SP signed-note; the `signed_note` crate's
/// documentation repeats them.
const PETER_SKEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_TEXT: &str =
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_NOTE: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

fn signer() -> NoteSigner {
    NoteSigner::from_seed("kura.example/audit/tenant", &[7; 32]).expect("valid name")
}

#[test]
fn log_3_signed_note_reproduces_the_specification_example() {
    let signer = NoteSigner::parse(PETER_SKEY).expect("example key");
    assert_eq!(signer.id(), 0xc74f_20a3);
    assert_eq!(signer.to_private_text(), PETER_SKEY);
    assert_eq!(signer.verifier().to_text(), PETER_VKEY);
    // Ed25519 is deterministic: the same key and text give the published signature.
    assert_eq!(sign_note(PETER_TEXT, &signer).expect("valid text"), PETER_NOTE);
    let verifier = NoteVerifier::parse(PETER_VKEY).expect("example key");
    assert_eq!(open_note(PETER_NOTE, &verifier), Ok(PETER_TEXT));
}

#[test]
fn log_3_key_id_is_the_first_four_bytes_of_the_specified_digest() {
    let v = NoteVerifier::parse(PETER_VKEY).expect("example key");
    let raw = sha2::Sha256::digest([b"PeterNeumann\n\x01".as_slice(), &pubkey(&v)].concat());
    assert_eq!(v.id(), u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]));
    assert_eq!(key_id("PeterNeumann", &pubkey(&v)), 0xc74f_20a3);
    // A key text whose id does not match its key is refused.
    assert_eq!(NoteVerifier::parse(&PETER_VKEY.replace("c74f20a3", "c74f20a4")), Err(SignedNoteError::KeyFormat));
    assert!(NoteSigner::parse(&PETER_SKEY.replace("c74f20a3", "00000000")).is_err());
}

fn pubkey(v: &NoteVerifier) -> [u8; 32] {
    use base64::Engine as _;
    let text = v.to_text();
    let b64 = text.rsplit('+').next().expect("three parts");
    let raw = base64::engine::general_purpose::STANDARD.decode(b64).expect("base64");
    raw[1..].try_into().expect("32 bytes")
}
use sha2::Digest as _;

#[test]
fn log_3_checkpoint_body_round_trips_in_the_tlog_checkpoint_format() {
    let store = store_of(1000);
    let cp = Checkpoint::new("kura.example/audit/tenant", 1000, store.root())
        .expect("valid origin")
        .with_extension("time 2026-12-06T15:00:00Z")
        .expect("one line");
    let body = cp.to_body();
    let mut lines = body.lines();
    assert_eq!(lines.next(), Some("kura.example/audit/tenant"));
    assert_eq!(lines.next(), Some("1000"));
    assert_eq!(lines.next().map(str::len), Some(44), "padded base64 of 32 bytes");
    assert_eq!(Checkpoint::parse(&body), Ok(cp.clone()));
    let plain =
        Checkpoint::new("o", 0, hx("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")).expect("valid");
    assert_eq!(plain.to_body(), "o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n");
}

#[test]
fn log_3_malformed_checkpoint_bodies_are_refused() {
    let good = "o\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n";
    assert!(Checkpoint::parse(good).is_ok());
    for bad in [
        "o\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        "\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
        "o\n05\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
        "o\n-5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
        "o\n18446744073709551616\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
        "o\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuF=\n",
        "o\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFUA\n",
        "o\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n",
        "o\n5\n",
    ] {
        assert!(Checkpoint::parse(bad).is_err(), "{bad:?}");
    }
    assert_eq!(Checkpoint::new("a\nb", 1, hx(&"00".repeat(32))), Err(CheckpointError::Origin));
}

#[test]
fn log_3_signed_checkpoint_round_trips() {
    let signer = signer();
    let body = Checkpoint::new("kura.example/audit/tenant", 3, store_of(3).root()).expect("valid").to_body();
    let note = sign_note(&body, &signer).expect("valid text");
    let text = open_note(&note, &signer.verifier()).expect("signed by this key");
    assert_eq!(text, body);
    assert_eq!(Checkpoint::parse(text).map(|c| c.size()), Ok(3));
    // The verifier key survives its text encoding, and the signer its private encoding.
    let verifier = NoteVerifier::parse(&signer.verifier().to_text()).expect("own encoding");
    assert_eq!(open_note(&note, &verifier), Ok(body.as_str()));
    let again = NoteSigner::parse(&signer.to_private_text()).expect("own encoding");
    assert_eq!(sign_note(&body, &again), Ok(note));
    assert!(!format!("{signer:?}").contains(&signer.to_private_text()[30..]));
}

#[test]
fn log_3_an_altered_checkpoint_is_refused() {
    let signer = signer();
    let body = Checkpoint::new("kura.example/audit/tenant", 3, store_of(3).root()).expect("valid").to_body();
    let note = sign_note(&body, &signer).expect("valid text");
    let v = signer.verifier();
    // A larger size, a different head, another origin: the signature no longer fits.
    for altered in [
        note.replacen("\n3\n", "\n4\n", 1),
        note.replacen("kura.example/audit/tenant", "kura.example/audit/tenanu", 1),
        note.replacen(&body.lines().nth(2).expect("root line")[..4], "AAAA", 1),
    ] {
        assert_ne!(altered, note);
        assert_eq!(open_note(&altered, &v), Err(SignedNoteError::BadSignature), "{altered}");
    }
    // A flipped bit in the signature itself.
    let sig_at = note.rfind(' ').expect("signature line") + 10;
    let mut bytes = note.clone().into_bytes();
    bytes[sig_at] = if bytes[sig_at] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(bytes).expect("ascii");
    assert_eq!(open_note(&flipped, &v), Err(SignedNoteError::BadSignature));
    // Truncated or without a signature block.
    assert!(open_note(&body, &v).is_err());
    assert!(open_note(&note[..note.len() - 1], &v).is_err());
}

#[test]
fn log_3_a_checkpoint_signed_by_another_key_is_refused() {
    let body = Checkpoint::new("kura.example/audit/tenant", 3, store_of(3).root()).expect("valid").to_body();
    let ours = signer();
    // Same name, different key: a different key id, so no signature by the expected key.
    let forger = NoteSigner::from_seed(ours.name(), &[8; 32]).expect("valid name");
    assert_ne!(forger.id(), ours.id());
    let forged = sign_note(&body, &forger).expect("valid text");
    assert_eq!(open_note(&forged, &ours.verifier()), Err(SignedNoteError::NoKnownSignature));
    // The forger's signature line relabelled with our key id still fails the signature check.
    let relabelled = {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let line = forged.lines().last().expect("signature line");
        let mut raw = b64.decode(line.rsplit(' ').next().expect("signature")).expect("base64");
        raw[..4].copy_from_slice(&ours.id().to_be_bytes());
        forged.replace(line.rsplit(' ').next().expect("signature"), &b64.encode(raw))
    };
    assert_eq!(open_note(&relabelled, &ours.verifier()), Err(SignedNoteError::BadSignature));
    // Other parties' signatures beside ours are ignored, as the specification requires.
    let cosigned =
        format!("{}{}", sign_note(&body, &ours).expect("valid"), forged.lines().last().expect("line")) + "\n";
    assert_eq!(open_note(&cosigned, &ours.verifier()), Ok(body.as_str()));
    // Our signature twice is refused.
    let ours_line = sign_note(&body, &ours).expect("valid");
    let twice = format!("{ours_line}{}\n", ours_line.lines().last().expect("line"));
    assert_eq!(open_note(&twice, &ours.verifier()), Err(SignedNoteError::Malformed));
}

#[test]
fn log_3_note_text_and_key_names_are_checked() {
    let s = signer();
    assert_eq!(sign_note("no final newline", &s), Err(SignedNoteError::Text));
    assert_eq!(sign_note("", &s), Err(SignedNoteError::Text));
    assert_eq!(sign_note("tab\there\n", &s), Err(SignedNoteError::Text));
    for name in ["", "has space", "has+plus", "new\nline"] {
        assert_eq!(NoteSigner::from_seed(name, &[1; 32]).map(|_| ()), Err(SignedNoteError::KeyName), "{name:?}");
    }
}

#[test]
fn log_3_a_newer_checkpoint_must_extend_the_older_one() {
    use super::super::{VerifyError, consistency_proof, leaf_hash};
    let store = store_of(9);
    let old = Checkpoint::new("kura.example/audit/tenant", 5, super::super::tree_head(&store, 5).expect("in memory"))
        .expect("valid");
    let new = Checkpoint::new("kura.example/audit/tenant", 9, store.root()).expect("valid");
    let proof = consistency_proof(&store, 5, 9).expect("in order");
    assert_eq!(new.verify_extends(&old, &proof), Ok(()));
    // The log rewritten after the old checkpoint: entry 3 changed, then grown to 9 again.
    let mut rewritten = super::super::MemoryStore::new();
    for i in 0..9u64 {
        rewritten.append(leaf_hash(&(if i == 3 { 33 } else { i }).to_be_bytes()));
    }
    let forged = Checkpoint::new("kura.example/audit/tenant", 9, rewritten.root()).expect("valid");
    let forged_proof = consistency_proof(&rewritten, 5, 9).expect("in order");
    assert_eq!(forged.verify_extends(&old, &forged_proof), Err(VerifyError::RootMismatch));
    // A smaller tree never extends a larger one, and checkpoints of another log do not count.
    assert!(old.verify_extends(&new, &proof).is_err());
    let other = Checkpoint::new("kura.example/audit/other", 9, store.root()).expect("valid");
    assert_eq!(other.verify_extends(&old, &proof), Err(VerifyError::OtherLog));
}
