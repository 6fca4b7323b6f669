//! LOG-1 and LOG-3 through the binary: a tenant's operation log exported to a file is checked
//! by `kura audit verify --export` with no server, database or data directory, and an edited
//! row, a removed row or a checkpoint signed by another key is named.

use super::{Cli, stdout};
use std::path::Path;
use std::process::{Command, Output};

/// `kura audit verify --export FILE` with nothing else: no data directory, no database, no
/// checkpoint directory in its environment.
fn verify_offline(file: &Path, key: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kura"));
    cmd.env_clear().env("KURA_LOG", "warn").args(["audit", "verify", "--export"]).arg(file);
    if let Some(key) = key {
        cmd.args(["--key", key]);
    }
    cmd.output().expect("run kura")
}

fn export(cli: &Cli, format: &str, out: &Path) {
    let out = cli.run(&[
        "audit",
        "export",
        "--tenant",
        "acme",
        "--from",
        "2000-01-01",
        "--to",
        "2100-01-01",
        "--format",
        format,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn log_3_an_exported_log_verifies_offline_and_edits_are_named() {
    let cli = Cli::new().await;
    let out =
        cli.run(&["tenant", "create", "--slug", "acme", "--name", "Acme", "--admin-email", "admin@acme.example.jp"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key = stdout(&cli.run(&["audit", "public-key"])).trim().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let (csv, json) = (dir.path().join("log.csv"), dir.path().join("log.json"));
    export(&cli, "csv-utf8", &dir.path().join("first.csv"));
    export(&cli, "csv", &csv);
    export(&cli, "json", &json);

    // Intact files pass, with the key given and with the file's own.
    for file in [&csv, &json] {
        let out = verify_offline(file, Some(&key));
        assert!(out.status.success(), "{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
        assert!(stdout(&out).contains("Proven:"), "{}", stdout(&out));
        assert!(stdout(&out).contains("the given key"), "{}", stdout(&out));
        assert!(verify_offline(file, None).status.success());
    }
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with('\u{feff}'), "CSV for Excel starts with a byte order mark");
    // The earlier export is an entry of the log, in the later file.
    assert!(text.contains("audit.export"), "{text}");
    assert!(text.contains("+09:00"), "times in the tenant's zone with their offset");

    // An edited row: entry 2's local time moved an hour.
    let line = text.split("\r\n").find(|l| l.starts_with("2,")).unwrap();
    let edited = text.replacen(line, &line.replacen("+09:00", "+08:00", 1), 1);
    let file = dir.path().join("edited.csv");
    std::fs::write(&file, edited).unwrap();
    let out = verify_offline(&file, Some(&key));
    assert!(!out.status.success());
    assert!(stdout(&out).contains("FAILED  entry 2: the row differs from the one exported"), "{}", stdout(&out));
    assert!(stdout(&out).contains("(edited row)"), "{}", stdout(&out));
    assert!(!stdout(&out).contains("Proven:"));

    // A removed row.
    let line = text.split("\r\n").find(|l| l.starts_with("1,")).unwrap();
    let removed = text.replacen(&format!("{line}\r\n"), "", 1);
    std::fs::write(&file, removed).unwrap();
    let out = verify_offline(&file, Some(&key));
    assert!(!out.status.success());
    assert!(
        stdout(&out).contains("FAILED  entry 1: the row was removed from the file (removed row)"),
        "{}",
        stdout(&out)
    );

    // A checkpoint re-signed by another key under the same name.
    let mut doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let note = doc["checkpoint"].as_str().unwrap().to_owned();
    let body = format!("{}\n", note.split_once("\n\n").unwrap().0);
    let other = kura_crypto::merkle::NoteSigner::generate("kura").unwrap();
    doc["checkpoint"] = kura_crypto::merkle::sign_note(&body, &other).unwrap().into();
    let file = dir.path().join("forged.json");
    std::fs::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();
    let out = verify_offline(&file, Some(&key));
    assert!(!out.status.success());
    assert!(stdout(&out).contains("the checkpoint is forged or altered"), "{}", stdout(&out));
    assert!(stdout(&out).contains("(wrong checkpoint signature)"), "{}", stdout(&out));

    // The exports are in the tenant's log, and the log still verifies.
    assert!(cli.run(&["audit", "verify"]).status.success());
}
