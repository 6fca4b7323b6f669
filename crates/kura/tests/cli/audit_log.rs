//! LOG-3 through the binary: `kura audit verify` names each kind of tampering against the
//! checkpoints in the sink, and `kura audit prove`/`consistency` give proofs that check.

use super::{Cli, stdout};

/// A platform log of `2 n` entries (creating an operator records two) with a checkpoint of it
/// in the sink.
async fn checkpointed_platform_log(n: usize) -> Cli {
    let cli = Cli::new().await;
    for i in 0..n {
        let out = cli.run(&["operator", "create", "--email", &format!("ops{i}@example.jp")]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let out = cli.run(&["audit", "checkpoint"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).contains(&format!("platform: {} entries", 2 * n)), "{}", stdout(&out));
    let out = cli.run(&["audit", "verify"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).contains("1 checkpoint(s) matched"), "{}", stdout(&out));
    cli
}

/// Runs `kura audit verify`, which must fail, and returns its report.
fn verify_fails(cli: &Cli) -> String {
    let out = cli.run(&["audit", "verify"]);
    let text = stdout(&out);
    assert!(!out.status.success(), "{text}");
    assert!(!text.contains("Proven:"), "{text}");
    text
}

fn sink_file(cli: &Cli) -> std::path::PathBuf {
    cli.sink.path().join("00000000-0000-0000-0000-000000000000.checkpoints")
}

#[tokio::test]
async fn log_3_verify_names_an_edited_entry() {
    let cli = checkpointed_platform_log(4).await;
    cli.sql("UPDATE audit_log SET actor_label = 'someone-else' WHERE seq = 2").await;
    let text = verify_fails(&cli);
    assert!(text.contains("BROKEN  platform: entry 2: entry 2 was altered (edited entry)"), "{text}");
}

#[tokio::test]
async fn log_3_verify_names_a_deleted_entry() {
    let cli = checkpointed_platform_log(4).await;
    cli.sql("DELETE FROM audit_log WHERE seq = 2").await;
    let text = verify_fails(&cli);
    assert!(text.contains("BROKEN  platform: entry 2: entry 2 is missing (deleted entry)"), "{text}");
}

#[tokio::test]
async fn log_3_verify_names_an_inserted_entry() {
    let cli = checkpointed_platform_log(4).await;
    // Make room at 2 by renumbering the later entries (in two steps: keys stay unique), copy
    // entry 1 there as someone else's, and count it in the head.
    cli.sql("UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 2").await;
    cli.sql("UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1000").await;
    cli.sql(
        "INSERT INTO audit_log (scope_id, seq, at, actor_kind, actor_id, actor_label, actor_role, source_ip, \
         operation, target, outcome, detail, prev_hash, hash) SELECT scope_id, 2, at, actor_kind, actor_id, \
         'mallory@example.jp', actor_role, source_ip, operation, target, outcome, detail, prev_hash, hash \
         FROM audit_log WHERE seq = 1",
    )
    .await;
    cli.sql("UPDATE audit_heads SET seq = seq + 1").await;
    let text = verify_fails(&cli);
    assert!(text.contains("BROKEN  platform: entry 2: entry 2 was inserted"), "{text}");
    assert!(text.contains("(inserted entry)"), "{text}");
}

#[tokio::test]
async fn log_3_verify_names_two_swapped_entries() {
    let cli = checkpointed_platform_log(5).await;
    cli.sql("UPDATE audit_log SET seq = 100 WHERE seq = 2").await;
    cli.sql("UPDATE audit_log SET seq = 2 WHERE seq = 4").await;
    cli.sql("UPDATE audit_log SET seq = 4 WHERE seq = 100").await;
    let text = verify_fails(&cli);
    assert!(text.contains("BROKEN  platform: entry 2: entries 2 and 4 were swapped"), "{text}");
    assert!(text.contains("(swapped entries)"), "{text}");
    // Neighbours swapped back and forth: 2 and 4 back, then 5 and 6.
    cli.sql("UPDATE audit_log SET seq = 100 WHERE seq = 2").await;
    cli.sql("UPDATE audit_log SET seq = 2 WHERE seq = 4").await;
    cli.sql("UPDATE audit_log SET seq = 4 WHERE seq = 100").await;
    assert!(cli.run(&["audit", "verify"]).status.success());
    cli.sql("UPDATE audit_log SET seq = 100 WHERE seq = 5").await;
    cli.sql("UPDATE audit_log SET seq = 5 WHERE seq = 6").await;
    cli.sql("UPDATE audit_log SET seq = 6 WHERE seq = 100").await;
    let text = verify_fails(&cli);
    assert!(text.contains("BROKEN  platform: entry 5: entries 5 and 6 were swapped"), "{text}");
}

#[tokio::test]
async fn log_3_verify_names_a_truncated_tail() {
    let cli = checkpointed_platform_log(4).await;
    cli.sql("DELETE FROM audit_log WHERE seq >= 3").await;
    let text = verify_fails(&cli);
    assert!(
        text.contains(
            "BROKEN  platform: entry 3: the chain head says 8 entries but only 2 are present (truncated tail)"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn log_3_verify_names_a_forged_or_altered_checkpoint() {
    let cli = checkpointed_platform_log(3).await;
    let file = sink_file(&cli);
    let good = std::fs::read_to_string(&file).unwrap();

    // The size in the signed text changed: the signature no longer holds.
    let altered = good.replacen("\n6\n", "\n5\n", 1);
    assert_ne!(altered, good);
    std::fs::write(&file, &altered).unwrap();
    let text = verify_fails(&cli);
    assert!(text.contains("BROKEN  platform: checkpoint 1 of 1 in the sink is forged or altered"), "{text}");
    assert!(text.contains("(forged checkpoint)"), "{text}");

    // A well-formed checkpoint signed by another key under the same name.
    let (origin, root) = {
        let mut lines = good.lines();
        (lines.next().unwrap().to_owned(), lines.nth(1).unwrap().to_owned())
    };
    let other = kura_crypto::merkle::NoteSigner::generate("kura").unwrap();
    let note = kura_crypto::merkle::sign_note(&format!("{origin}\n6\n{root}\n"), &other).unwrap();
    std::fs::write(&file, format!("{good}{note}\n")).unwrap();
    let text = verify_fails(&cli);
    assert!(text.contains("checkpoint 2 of 2 in the sink is forged or altered"), "{text}");

    // The genuine sink alone verifies again.
    std::fs::write(&file, &good).unwrap();
    assert!(cli.run(&["audit", "verify"]).status.success());
}

#[tokio::test]
async fn log_3_verify_exposes_a_database_rolled_back_to_an_older_copy() {
    let cli = checkpointed_platform_log(3).await;
    // An older copy of the log's tables, taken now.
    for table in ["audit_log", "audit_heads", "audit_tree_nodes"] {
        let sql = format!("CREATE TABLE old_{table} AS SELECT * FROM {table}");
        cli.sql(Box::leak(sql.into_boxed_str())).await;
    }
    for email in ["later1@example.jp", "later2@example.jp"] {
        assert!(cli.run(&["operator", "create", "--email", email]).status.success());
    }
    assert!(cli.run(&["audit", "checkpoint"]).status.success());
    // The database goes back to the older copy: consistent in itself, behind the sink.
    for table in ["audit_log", "audit_heads", "audit_tree_nodes"] {
        cli.sql(Box::leak(format!("DELETE FROM {table}").into_boxed_str())).await;
        cli.sql(Box::leak(format!("INSERT INTO {table} SELECT * FROM old_{table}").into_boxed_str())).await;
    }
    let text = verify_fails(&cli);
    assert!(text.contains("a signed checkpoint covers 10 entries but the database holds 6"), "{text}");
    assert!(text.contains("(database rolled back)"), "{text}");

    // Written again after the rollback, up to the same size: the trees differ.
    for email in ["again1@example.jp", "again2@example.jp"] {
        assert!(cli.run(&["operator", "create", "--email", email]).status.success());
    }
    let text = verify_fails(&cli);
    assert!(text.contains("the first 10 entries differ from the signed checkpoint of that size"), "{text}");
}

#[tokio::test]
async fn log_3_cli_proves_inclusion_and_consistency_against_its_checkpoints() {
    let cli = Cli::new().await;
    let out = cli.run(&[
        "tenant",
        "create",
        "--slug",
        "acme",
        "--name",
        "Acme",
        "--admin-email",
        "admin@acme.example.jp",
        "--one-time-password",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key = stdout(&cli.run(&["audit", "public-key"]));
    let verifier = kura_crypto::merkle::NoteVerifier::parse(key.trim()).unwrap();
    let out = cli.run(&["audit", "prove", "--tenant", "acme", "--seq", "1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let proof = kura_crypto::merkle::TlogProof::parse(&stdout(&out)).unwrap();
    assert_eq!(proof.index, 0);
    let body = kura_crypto::merkle::open_note(&proof.checkpoint, &verifier).unwrap();
    let checkpoint = kura_crypto::merkle::Checkpoint::parse(body).unwrap();
    assert!(checkpoint.origin().starts_with("kura/audit/"), "{}", checkpoint.origin());
    // The proof does not hold for another leaf.
    assert!(proof.verify(checkpoint.origin(), &kura_crypto::merkle::leaf_hash(b"x"), &verifier).is_err());
    let out = cli.run(&["audit", "prove", "--tenant", "acme", "--seq", "99"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("there is no entry 99"));
    let out = cli.run(&["audit", "consistency", "--tenant", "acme", "--from", "1", "--to", "1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout(&out), "", "a tree is consistent with itself without any hash");
    let out = cli.run(&["audit", "consistency", "--tenant", "acme", "--from", "1", "--to", "5"]);
    assert!(!out.status.success(), "beyond the log");
}
