//! `kura import`: a file into a collection, through the same import as the API and the console
//! (copied to a temporary file, checked whole, then read again and written in one transaction
//! with one audit entry, or nothing).

use crate::cli::ImportArgs;
use anyhow::Context as _;
use kura_domain::Actor;
use kura_server::AppState;
use kura_server::service::transfer::format::Encoding;
use kura_server::service::transfer::import::{self, ImportChoices, ImportFormat, ImportMode};
use kura_server::service::transfer::upload::Upload;
use kura_server::service::transfer::{self};
use std::process::ExitCode;

pub async fn run(state: &AppState, actor: Actor, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let fail = |e: kura_server::error::AppError| anyhow::anyhow!("{}", e.problem().detail);
    let file = std::fs::File::open(&args.file).with_context(|| format!("cannot read {}", args.file.display()))?;
    // A copy, so that the file checked is the file written even if the original changes.
    let upload = Upload::from_reader(file, state.settings.limits.import_max_bytes).map_err(fail)?;
    let choices = ImportChoices {
        format: if args.format == "jsonl" { ImportFormat::Jsonl } else { ImportFormat::Csv },
        encoding: match args.encoding.as_str() {
            "utf8" => Encoding::Utf8,
            "shift_jis" => Encoding::ShiftJis,
            _ => Encoding::Auto,
        },
        mode: if args.upsert_by.is_some() { ImportMode::Upsert } else { ImportMode::Insert },
        key: args.upsert_by.clone(),
        columns: Default::default(),
        valid_only: args.valid_only,
    };
    let p = transfer::command_line_principal(state, actor, &args.tenant).await.map_err(fail)?;
    let (tenant, who) = (p.tenant().id, p.actor().clone());
    let previewed = import::preview(state, &p, &args.collection, &choices, &upload).await;
    let report = super::audited(state, tenant, &who, "kura import", previewed).await.map_err(fail)?;
    for problem in &report.problems {
        println!("line {}: {}", problem.line, problem.message);
    }
    println!(
        "{} rows ({}): {} valid ({} to add, {} to update), {} with problems.",
        report.rows, report.encoding, report.valid, report.inserted, report.updated, report.invalid
    );
    if args.dry_run {
        return Ok(ExitCode::SUCCESS);
    }
    if report.invalid > 0 && !args.valid_only {
        println!("Nothing was imported: fix the rows above, or pass --valid-only to skip them.");
        return Ok(ExitCode::FAILURE);
    }
    let done = import::import(state, &p, &args.collection, &choices, &upload).await;
    let done = super::audited(state, tenant, &who, "kura import", done).await.map_err(fail)?;
    println!(
        "Imported into {}: {} added, {} updated (SHA-256 {}).",
        args.collection, done.inserted, done.updated, done.sha256
    );
    Ok(ExitCode::SUCCESS)
}
