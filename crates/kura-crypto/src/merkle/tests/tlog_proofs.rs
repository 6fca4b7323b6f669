//! The C2SP tlog-proof format: the specification's example parses, proofs round trip, and a
//! proof is refused when its entry, index, hashes, checkpoint or log do not match.

use super::super::{
    Checkpoint, NoteSigner, SignedNoteError, TlogProof, TlogProofError, VerifyError, inclusion_proof, leaf_hash,
    sign_note,
};
use super::{flip, store_of};

const ORIGIN: &str = "kura.example/audit/tenant";

/// The example of c2sp.org/tlog-proof (its signatures are elided there, so it only parses).
const SPEC_EXAMPLE: &str = "c2sp.org/tlog-proof@v1
extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ
index 73894
gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=
B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=
EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=
RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=
AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=

example.com/fancylog
109482
sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=

\u{2014} example.com/fancylog hI2DJw[...]1roloI=
";

#[test]
fn log_3_the_tlog_proof_specification_example_parses_and_re_encodes() {
    let p = TlogProof::parse(SPEC_EXAMPLE).expect("the specification's example");
    assert_eq!(p.index, 73894);
    assert_eq!(p.hashes.len(), 5);
    assert!(p.extra.is_some());
    assert!(p.checkpoint.starts_with("example.com/fancylog\n109482\n"));
    assert_eq!(p.to_text(), SPEC_EXAMPLE);
}

fn proof_for(index: u64, size: u64) -> (TlogProof, NoteSigner) {
    let store = store_of(size);
    let signer = NoteSigner::from_seed(ORIGIN, &[5; 32]).expect("valid name");
    let body = Checkpoint::new(ORIGIN, size, store.root()).expect("valid").to_body();
    let proof = TlogProof {
        extra: None,
        index,
        hashes: inclusion_proof(&store, index, size).expect("in range"),
        checkpoint: sign_note(&body, &signer).expect("valid"),
    };
    (proof, signer)
}

#[test]
fn log_3_a_tlog_proof_round_trips_and_verifies_offline() {
    for (index, size) in [(0, 1), (0, 2), (6, 7), (12, 100), (99, 100)] {
        let (proof, signer) = proof_for(index, size);
        let text = proof.to_text();
        let back = TlogProof::parse(&text).expect("own encoding");
        assert_eq!(back, proof);
        let leaf = leaf_hash(&index.to_be_bytes());
        let cp = back.verify(ORIGIN, &leaf, &signer.verifier()).expect("honest proof");
        assert_eq!(cp.size(), size);
    }
}

#[test]
fn log_3_a_tlog_proof_for_another_entry_position_key_or_log_is_refused() {
    let (proof, signer) = proof_for(12, 100);
    let v = signer.verifier();
    let leaf = leaf_hash(&12u64.to_be_bytes());
    // Another entry's bytes.
    let other = leaf_hash(&13u64.to_be_bytes());
    assert_eq!(proof.verify(ORIGIN, &other, &v), Err(TlogProofError::Inclusion(VerifyError::RootMismatch)));
    // Another position.
    let moved = TlogProof { index: 13, ..proof.clone() };
    assert!(matches!(moved.verify(ORIGIN, &leaf, &v), Err(TlogProofError::Inclusion(_))));
    // A flipped bit in a proof hash.
    let mut bent = proof.clone();
    bent.hashes[2] = flip(&bent.hashes[2], 77);
    assert!(matches!(bent.verify(ORIGIN, &leaf, &v), Err(TlogProofError::Inclusion(_))));
    // A checkpoint with a forged size, or signed by another key, or of another log.
    let forged = TlogProof { checkpoint: proof.checkpoint.replacen("\n100\n", "\n101\n", 1), ..proof.clone() };
    assert_eq!(forged.verify(ORIGIN, &leaf, &v), Err(TlogProofError::Note(SignedNoteError::BadSignature)));
    let stranger = NoteSigner::from_seed(ORIGIN, &[6; 32]).expect("valid name");
    assert_eq!(
        proof.verify(ORIGIN, &leaf, &stranger.verifier()),
        Err(TlogProofError::Note(SignedNoteError::NoKnownSignature))
    );
    assert_eq!(proof.verify("kura.example/audit/other", &leaf, &v), Err(TlogProofError::Origin));
    assert_eq!(proof.verify(ORIGIN, &leaf, &v).map(|c| c.size()), Ok(100));
}

#[test]
fn log_3_malformed_tlog_proofs_are_refused() {
    let (proof, _) = proof_for(3, 10);
    let text = proof.to_text();
    for bad in [
        text.replacen("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2", 1),
        text.replacen("index 3", "index 03", 1),
        text.replacen("index 3", "index -3", 1),
        text.replacen("index 3", "idx 3", 1),
        text.replacen("\n\n", "\n", 1),
        text.replacen("index 3\n", "index 3\nnot base64!\n", 1),
        text.replacen("index 3\n", "index 3\nAAAA\n", 1),
    ] {
        assert!(TlogProof::parse(&bad).is_err(), "{bad}");
    }
}
