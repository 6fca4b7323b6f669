//! LOG-5 through the binary: `kura logs disclose` writes a signed package of a tenant's log that
//! `kura audit verify --export` checks offline, naming the disclosure and its reason; the
//! disclosure is in the tenant's log, or, withheld, only in the platform's.

use super::{Cli, stdout};
use std::path::Path;
use std::process::Command;

fn verify_offline(file: &Path, key: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kura"))
        .env_clear()
        .env("KURA_LOG", "warn")
        .args(["audit", "verify", "--export"])
        .arg(file)
        .args(["--key", key])
        .output()
        .expect("run kura")
}

/// How many `audit.disclose` entries the platform's log and the tenant's logs hold.
async fn disclosures(cli: &Cli) -> (i64, i64) {
    const SQL: &str = "SELECT \
        COALESCE(SUM(CASE WHEN scope_id = $1 THEN 1 ELSE 0 END), 0), \
        COALESCE(SUM(CASE WHEN scope_id <> $1 THEN 1 ELSE 0 END), 0) \
        FROM audit_log WHERE operation = 'audit.disclose'";
    let nil = uuid_nil();
    if cli.db.url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&cli.db.url).await.unwrap();
        let row: (i64, i64) = sqlx::query_as(SQL).bind(nil).fetch_one(&pool).await.unwrap();
        pool.close().await;
        row
    } else {
        let pool = sqlx::PgPool::connect(&cli.db.url).await.unwrap();
        let row: (i64, i64) = sqlx::query_as(SQL).bind(nil).fetch_one(&pool).await.unwrap();
        pool.close().await;
        row
    }
}

fn uuid_nil() -> sqlx::types::Uuid {
    sqlx::types::Uuid::nil()
}

fn disclose(cli: &Cli, reason: &str, out: &Path, withheld: bool) -> std::process::Output {
    let mut args = vec![
        "logs",
        "disclose",
        "--tenant",
        "acme",
        "--from",
        "2000-01-01",
        "--to",
        "2100-01-01",
        "--reason",
        reason,
        "--out",
        out.to_str().unwrap(),
    ];
    if withheld {
        args.push("--withheld");
    }
    cli.run(&args)
}

#[tokio::test]
async fn log_5_a_disclosure_is_a_signed_package_that_verifies_and_is_recorded_for_the_tenant() {
    let cli = Cli::new().await;
    let out =
        cli.run(&["tenant", "create", "--slug", "acme", "--name", "Acme", "--admin-email", "admin@acme.example.jp"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key = stdout(&cli.run(&["audit", "public-key"])).trim().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("disclosure.json");

    let reason = "東京地方裁判所の文書提出命令（令和8年(ワ)第123号）";
    let out = disclose(&cli, reason, &file, false);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).contains("Recorded in the tenant's log"), "{}", stdout(&out));
    let out = verify_offline(&file, &key);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains(&format!("reason: {reason}")), "{text}");
    assert!(text.contains("Proven:"), "{text}");
    assert_eq!(disclosures(&cli).await, (1, 1), "in the tenant's log and the platform's");

    // The reason is in the signed manifest: changing it breaks the signature.
    let package = std::fs::read_to_string(&file).unwrap();
    let altered = package.replace("第123号", "第124号");
    assert_ne!(altered, package);
    std::fs::write(dir.path().join("altered.json"), altered).unwrap();
    let out = verify_offline(&dir.path().join("altered.json"), &key);
    assert!(!out.status.success());
    assert!(
        stdout(&out).contains("wrong manifest signature") || stdout(&out).contains("differs from its manifest"),
        "{}",
        stdout(&out)
    );

    // Withheld for a legal reason: in the platform's log only.
    let withheld = dir.path().join("withheld.json");
    let out = disclose(&cli, "捜査関係事項照会（非開示の要請あり）", &withheld, true);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(verify_offline(&withheld, &key).status.success());
    assert!(stdout(&verify_offline(&withheld, &key)).contains("withheld"));
    assert_eq!(disclosures(&cli).await, (2, 1));

    // A bad request writes nothing and records nothing.
    let none = dir.path().join("none.json");
    let out = disclose(&cli, "short", &none, false);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("10 to 500 characters"));
    assert!(!none.exists());
    assert_eq!(disclosures(&cli).await, (2, 1));
    assert!(cli.run(&["audit", "verify"]).status.success());
}
