//! `kura export`: a collection's records to a file, through the same export as the API and the
//! console (one snapshot, written in chunks, audited once), with a progress bar on standard
//! error. With `--all`, the whole tenant as one ZIP file (the API's and the console's archive).

use crate::cli::ExportArgs;
use anyhow::{Context as _, bail};
use indicatif::{ProgressBar, ProgressStyle};
use kura_domain::Actor;
use kura_server::AppState;
use kura_server::auth::TenantPrincipal;
use kura_server::error::AppResult;
use kura_server::service::transfer::format::{Format, HeaderNames};
use kura_server::service::transfer::{
    self, archive,
    export::{self, ExportParams},
};
use std::io::Write as _;
use std::process::ExitCode;

pub async fn run(state: &AppState, actor: Actor, args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let fail = |e: kura_server::error::AppError| anyhow::anyhow!("{}", e.problem().detail);
    let Some(collection) = &args.collection else {
        let p = transfer::command_line_principal(state, actor, &args.tenant).await.map_err(fail)?;
        return tenant(state, &p, args).await;
    };
    let Some(format) = Format::parse(&args.format) else {
        bail!("unknown format {:?}: use csv, csv-utf8, csv-sjis or jsonl", args.format);
    };
    let header = if args.header == "key" { HeaderNames::Key } else { HeaderNames::Label };
    let params = ExportParams { format: Some(format), header: Some(header) };
    let p = transfer::command_line_principal(state, actor, &args.tenant).await.map_err(fail)?;
    let started = export::start(state, &p, collection, &params).await;
    let mut exporter = refused(state, &p, started).await.map_err(fail)?;
    let file = std::fs::File::create(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut out = std::io::BufWriter::new(file);
    let bar = ProgressBar::new(exporter.rows() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} records ({per_sec}, {eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    while let Some(chunk) = exporter.next_chunk() {
        out.write_all(&chunk).with_context(|| format!("cannot write {}", args.out.display()))?;
        bar.set_position(exporter.written() as u64);
    }
    out.flush().with_context(|| format!("cannot write {}", args.out.display()))?;
    bar.finish_and_clear();
    println!("Exported {} records of {collection} to {}.", exporter.rows(), args.out.display());
    Ok(ExitCode::SUCCESS)
}

/// `--all`: the whole tenant as one ZIP file, written to a temporary file first and then
/// copied, so a refused export creates no file.
async fn tenant(state: &AppState, p: &TenantPrincipal, args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let spinner = ProgressBar::new_spinner().with_message("writing the archive");
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let built = archive::build(state, p).await;
    let archive = refused(state, p, built).await.map_err(|e| anyhow::anyhow!("{}", e.problem().detail));
    spinner.finish_and_clear();
    let mut archive = archive?;
    let file = std::fs::File::create(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut out = std::io::BufWriter::new(file);
    std::io::copy(&mut archive.file, &mut out).with_context(|| format!("cannot write {}", args.out.display()))?;
    out.flush().with_context(|| format!("cannot write {}", args.out.display()))?;
    let m = &archive.manifest;
    let records: u64 = m.files.iter().filter(|f| f.path.ends_with(".csv")).map(|f| f.rows).sum();
    println!(
        "Exported tenant {} to {} ({} bytes): {} files, {records} records; check them with `sha256sum -c SHA256SUMS` after unpacking.",
        m.tenant,
        args.out.display(),
        archive.bytes,
        m.files.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// [`super::audited`] for `kura export`.
async fn refused<T>(state: &AppState, p: &TenantPrincipal, result: AppResult<T>) -> AppResult<T> {
    super::audited(state, p.tenant().id, p.actor(), "kura export", result).await
}
