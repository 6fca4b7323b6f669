//! A cross-check against an independent implementation: Cloudflare's `tlog_tiles` and
//! `signed_note` crates (ports of Go's golang.org/x/mod/sumdb/tlog and note, which the Go
//! checksum database runs on). They are used only here, so a tenant's tools and Kura's own
//! verifier are shown to agree on tree heads, proofs, checkpoints and signatures.

use super::super::{
    Checkpoint, NoteSigner, NoteVerifier, consistency_proof, inclusion_proof, leaf_hash, open_note, sign_note,
    tree_head, verify_consistency, verify_inclusion,
};
use super::{Rng, store_of};
use tlog_tiles::tlog;

/// The other implementation's stored hashes, built with its own append rule.
struct Theirs(Vec<tlog::Hash>);
impl tlog::HashReader for Theirs {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog::Hash>, tlog::Error> {
        Ok(indexes.iter().map(|&i| self.0[i as usize]).collect())
    }
}

fn theirs(n: u64) -> Theirs {
    let mut t = Theirs(Vec::new());
    for i in 0..n {
        let new = tlog::stored_hashes(i, &i.to_be_bytes(), &t).expect("in memory");
        t.0.extend(new);
    }
    t
}

fn t(h: &super::super::Hash) -> tlog::Hash {
    tlog::Hash(h.0)
}

#[test]
fn log_3_tree_heads_and_proofs_agree_with_an_independent_implementation() {
    const N: u64 = 600;
    let ours = store_of(N);
    let other = theirs(N);
    for size in 0..=N {
        assert_eq!(t(&tree_head(&ours, size).expect("in memory")), tlog::tree_hash(size, &other).expect("in memory"));
    }
    assert_eq!(t(&ours.root()), tlog::tree_hash(N, &other).expect("in memory"));
    let mut rng = Rng(0x7469_6c65_7331);
    for _ in 0..500 {
        let size = 1 + rng.below(N);
        let index = rng.below(size);
        let head = tree_head(&ours, size).expect("in memory");
        let leaf = leaf_hash(&index.to_be_bytes());
        // Same inclusion proof, and each side accepts the other's.
        let mine = inclusion_proof(&ours, index, size).expect("in range");
        let their = tlog::prove_record(size, index, &other).expect("in range");
        assert_eq!(mine.iter().map(t).collect::<Vec<_>>(), their, "leaf {index} of {size}");
        tlog::check_record(&mine.iter().map(t).collect(), size, t(&head), index, t(&leaf)).expect("they accept ours");
        let back: Vec<_> = their.iter().map(|h| super::super::Hash(h.0)).collect();
        assert_eq!(verify_inclusion(index, size, &leaf, &back, &head), Ok(()));
        // Same consistency proof, both ways.
        let first = 1 + rng.below(size);
        let old = tree_head(&ours, first).expect("in memory");
        let mine = consistency_proof(&ours, first, size).expect("in order");
        let their = tlog::prove_tree(size, first, &other).expect("in order");
        assert_eq!(mine.iter().map(t).collect::<Vec<_>>(), their, "{first} to {size}");
        tlog::check_tree(&mine.iter().map(t).collect(), size, t(&head), first, t(&old)).expect("they accept ours");
        let back: Vec<_> = their.iter().map(|h| super::super::Hash(h.0)).collect();
        assert_eq!(verify_consistency(first, size, &old, &head, &back), Ok(()));
    }
}

#[test]
fn log_3_signed_checkpoints_open_with_independent_tools_and_theirs_with_ours() {
    let store = store_of(42);
    let body = Checkpoint::new("kura.example/audit/tenant", 42, store.root())
        .expect("valid")
        .with_extension("time 1733497200")
        .expect("one line")
        .to_body();
    let signer = NoteSigner::from_seed("kura.example/audit/tenant", &[9; 32]).expect("valid name");
    let note = sign_note(&body, &signer).expect("valid text");

    // Their parser reads our checkpoint body.
    let parsed = tlog_tiles::Checkpoint::from_bytes(body.as_bytes()).expect("they parse ours");
    assert_eq!((parsed.origin(), parsed.size(), parsed.hash().0), ("kura.example/audit/tenant", 42, store.root().0));
    assert_eq!(parsed.extension(), "time 1733497200\n");

    // Their verifier, given our published key text, accepts our signature, with our key id.
    let vkey = signer.verifier().to_text();
    let verifier = signed_note::StandardVerifier::new(&vkey).expect("they parse our key");
    let opened = signed_note::Note::from_bytes(note.as_bytes()).expect("they parse our note");
    let (ok, _) = opened.verify(&signed_note::VerifierList::new(vec![Box::new(verifier)])).expect("they verify ours");
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].id(), signer.id());
    assert_eq!(opened.text(), body.as_bytes());

    // A note they sign with a key they encode opens with ours.
    let their_signer = signed_note::StandardSigner::new(&signer.to_private_text()).expect("they parse our key");
    let mut theirs = signed_note::Note::new(body.as_bytes(), &[]).expect("valid text");
    theirs.add_sigs(&[&their_signer]).expect("signs");
    let theirs = String::from_utf8(theirs.to_bytes()).expect("utf-8");
    assert_eq!(theirs, note, "Ed25519 is deterministic: both encode the same note");
    let ours = NoteVerifier::parse(&vkey).expect("own key");
    assert_eq!(open_note(&theirs, &ours), Ok(body.as_str()));
}
