//! The export's format and its offline verification, on a log built in memory.

use super::*;
use jiff::Timestamp;
use kura_crypto::merkle::{Checkpoint, CompactRange, MemoryStore, NoteSigner, consistency_proof, sign_note};
use kura_domain::{Actor, ActorKind, AuditEntry, AuditRecord, AuditScope, Operation, TimeZoneName};
use kura_store::ExportedEntry;

const ORIGIN: &str = "kura/audit/test";

/// A log of `n` entries, its signer, and an export of entries `first..=last` in `format`.
fn exported(n: i64, first: i64, last: i64, format: ExportFormat) -> (Vec<u8>, NoteSigner) {
    let signer = NoteSigner::from_seed("kura", &[7; 32]).expect("a key");
    let actor = Actor {
        kind: ActorKind::User,
        id: None,
        label: "=sato@example.jp".into(),
        role: Some("admin".into()),
        source_ip: Some("192.0.2.1".into()),
        user_agent: None,
    };
    let mut store = MemoryStore::new();
    let mut entries = Vec::new();
    let mut before = CompactRange::new();
    let mut prev = [0u8; 32];
    for seq in 1..=n {
        let at = Timestamp::from_second(1_795_000_000 + seq * 60).expect("a time");
        let record =
            AuditRecord::success(Operation::RecordCreate, format!("record:c/{seq}")).with_detail("名前, \"x\"");
        let e = AuditEntry::seal(AuditScope::Platform, seq - 1, prev, at, &actor, &record);
        prev = e.hash;
        let stored = e.own_canonical_bytes();
        store.append(kura_crypto::merkle::leaf_hash(&stored));
        if seq == first - 1 {
            before = store.range().clone();
        }
        if (first..=last).contains(&seq) {
            entries.push(ExportedEntry { stored, entry: e });
        }
    }
    let body = Checkpoint::new(ORIGIN, store.size(), store.root()).expect("a checkpoint").to_body();
    let note = sign_note(&body, &signer).expect("signed");
    let consistency = consistency_proof(&store, u64::try_from(last).unwrap(), store.size()).expect("a proof");
    let zone = TimeZoneName::tokyo();
    let src = Source {
        origin: ORIGIN.into(),
        tenant: "acme".into(),
        time_zone: &zone,
        from: Timestamp::from_second(1_795_000_000).unwrap(),
        to: Timestamp::from_second(1_796_000_000).unwrap(),
        exported_at: Timestamp::from_second(1_796_000_000).unwrap(),
        entries: &entries,
        before: &before,
        consistency,
        checkpoint: note,
        disclosure: None,
    };
    let doc = build(format, &src, &signer).expect("built");
    (write(&doc).expect("written"), signer)
}

fn kinds(r: Result<Verified, Vec<Finding>>) -> Vec<(FindingKind, Option<i64>)> {
    r.err().unwrap_or_default().into_iter().map(|f| (f.kind, f.seq)).collect()
}

#[test]
fn log_3_exports_of_every_format_and_range_verify_offline() {
    for format in ExportFormat::ALL {
        for (n, first, last) in [(1, 1, 1), (13, 1, 13), (13, 5, 9), (40, 17, 32), (40, 33, 40)] {
            let (bytes, signer) = exported(n, first, last, format);
            let v = verify(&bytes, None).unwrap_or_else(|f| panic!("{format:?} {n} {first} {last}: {f:?}"));
            assert_eq!(v.entries, Some((first, last)));
            assert_eq!(v.checkpoint_size, n as u64);
            assert!(verify(&bytes, Some(&signer.verifier().to_text())).is_ok());
        }
    }
    let (csv, _) = exported(3, 1, 3, ExportFormat::Csv);
    assert!(csv.starts_with("\u{feff}seq,time,".as_bytes()));
    let text = String::from_utf8(csv).unwrap();
    assert!(text.contains("+09:00"), "local times carry their offset");
    assert!(text.contains("'=sato@example.jp"), "formula characters are neutralised in CSV");
    let (plain, _) = exported(3, 1, 3, ExportFormat::CsvUtf8);
    assert!(plain.starts_with(b"seq,time,"));
}

#[test]
fn log_3_an_edited_a_removed_or_an_added_row_is_named() {
    for format in [ExportFormat::Csv, ExportFormat::Json] {
        let (bytes, _) = exported(20, 5, 12, format);
        let text = String::from_utf8(bytes).unwrap();
        // An edited value: the target of entry 7.
        let edited = text.replace("record:c/7", "record:c/8");
        assert_eq!(kinds(verify(edited.as_bytes(), None)), [(FindingKind::EditedEntry, Some(7))]);
        // A removed row: entry 9's line (CSV) or object (JSON).
        let removed = if format == ExportFormat::Json {
            let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
            v["entries"].as_array_mut().unwrap().remove(4);
            serde_json::to_string(&v).unwrap()
        } else {
            text.split("\r\n").filter(|l| !l.starts_with("9,")).collect::<Vec<_>>().join("\r\n")
        };
        assert_eq!(kinds(verify(removed.as_bytes(), None)), [(FindingKind::RemovedEntry, Some(9))]);
        if format != ExportFormat::Json {
            // A row copied in again.
            let line = text.split("\r\n").find(|l| l.starts_with("6,")).unwrap();
            let added = text.replacen("\r\n", &format!("\r\n{line}\r\n"), 1);
            assert_eq!(kinds(verify(added.as_bytes(), None)), [(FindingKind::AddedEntry, Some(6))]);
        }
    }
}

#[test]
fn log_3_a_forged_checkpoint_or_manifest_or_another_key_is_named() {
    let (bytes, _) = exported(10, 3, 6, ExportFormat::Json);
    let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    // A checkpoint signed by another key, otherwise the same.
    let other = NoteSigner::from_seed("kura", &[9; 32]).unwrap();
    let cp = v["checkpoint"].as_str().unwrap().to_owned();
    let body = cp.split_once("\n\n").unwrap().0.to_owned() + "\n";
    let mut forged = v.clone();
    forged["checkpoint"] = sign_note(&body, &other).unwrap().into();
    let k = kinds(verify(&serde_json::to_vec(&forged).unwrap(), None));
    assert!(k.contains(&(FindingKind::CheckpointSignature, None)), "{k:?}");
    // A manifest changed after signing.
    let mut altered = v.clone();
    let m = v["manifest"].as_str().unwrap().replace("entries 3 6", "entries 3 5");
    altered["manifest"] = m.into();
    assert!(
        kinds(verify(&serde_json::to_vec(&altered).unwrap(), None)).contains(&(FindingKind::ManifestSignature, None))
    );
    // The reader's key is not the file's.
    let k = kinds(verify(&bytes, Some(&other.verifier().to_text())));
    assert!(
        k.contains(&(FindingKind::OtherKey, None)) && k.contains(&(FindingKind::CheckpointSignature, None)),
        "{k:?}"
    );
    // Stored bytes changed: named as an edit, and the tree no longer rebuilds.
    let stored = v["entries"][1]["stored"].as_str().unwrap().to_owned();
    let swap = if &stored[20..21] == "A" { "B" } else { "A" };
    let flipped = format!("{}{swap}{}", &stored[..20], &stored[21..]);
    v["entries"][1]["stored"] = flipped.into();
    let k = kinds(verify(&serde_json::to_vec(&v).unwrap(), None));
    assert!(k.contains(&(FindingKind::EditedEntry, Some(4))), "{k:?}");
    assert!(verify(b"not an export", None).is_err());
}
