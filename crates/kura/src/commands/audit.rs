//! The audit log from the command line (LOG-1, LOG-3): verification against the checkpoint
//! sink, checkpoints on demand, the public key, and proofs.

use anyhow::Context as _;
use kura_domain::{AuditScope, Slug};
use kura_server::AppState;
use std::process::ExitCode;

async fn scope_name(state: &AppState, scope: AuditScope) -> anyhow::Result<String> {
    Ok(match scope {
        AuditScope::Platform => "platform".to_owned(),
        AuditScope::Tenant(id) => match state.store.tenant(id).await? {
            Some(t) => format!("tenant {}", t.slug),
            None => format!("tenant {id} (deleted)"),
        },
    })
}

/// Verifies every log that must or does exist against the checkpoints in the sink; prints one
/// line per log, names the kind of tampering and the entry, the speed, and what a pass proves.
pub async fn verify(state: &AppState) -> anyhow::Result<ExitCode> {
    let cps = &state.checkpoints;
    let verifier = cps.verifier()?;
    let started = std::time::Instant::now();
    let chains = cps.verify_all(&state.store, verifier.as_ref()).await?;
    let elapsed = started.elapsed();
    let (mut broken, mut bytes, mut checkpoints) = (0, 0u64, 0usize);
    for chain in &chains {
        let name = scope_name(state, chain.scope).await?;
        match &chain.result {
            Ok(report) => {
                bytes += report.bytes;
                checkpoints += report.checkpoints;
                println!(
                    "ok      {name}: {} entries, head {}, tree head {}, {} checkpoint(s) matched",
                    report.entries,
                    report.head_seq,
                    report.root.to_hex(),
                    report.checkpoints
                );
            }
            Err(brk) => {
                broken += 1;
                let at = if brk.seq > 0 { format!("entry {}: ", brk.seq) } else { String::new() };
                println!("BROKEN  {name}: {at}{} ({})", brk.reason, brk.kind.as_str());
            }
        }
    }
    let secs = elapsed.as_secs_f64().max(1e-9);
    println!(
        "Hashed {bytes} bytes of log in {:.3} s ({:.3} GB/s), checked against {checkpoints} checkpoint(s) in {}.",
        secs,
        bytes as f64 / secs / 1e9,
        cps.dir().display()
    );
    if verifier.is_none() {
        println!("No signing key at {}: checkpoints could not be checked.", cps.key_file().display());
    }
    if broken == 0 {
        println!("All {} audit chains verified.", chains.len());
        println!(
            "Proven: every entry matches its hash and follows the one before it, none is missing, no log \
             ends short of its head, every tenant has its log, and every signed checkpoint in the sink is \
             contained unchanged in the log as it is now."
        );
        println!(
            "Not proven: entries written after the last checkpoint can be rewritten, together with their \
             head, by someone able to write the database; an event that was never recorded cannot be found."
        );
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{broken} audit log(s) failed verification.");
        Ok(ExitCode::FAILURE)
    }
}

/// An instant given on the command line: RFC 3339, or a date or date-time in `zone`.
pub(super) fn instant(name: &str, s: &str, zone: &kura_domain::TimeZoneName) -> anyhow::Result<jiff::Timestamp> {
    if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        return Ok(ts);
    }
    let dt = match s.parse::<jiff::civil::DateTime>() {
        Ok(dt) => dt,
        Err(_) => s
            .parse::<jiff::civil::Date>()
            .map(|d| d.to_datetime(jiff::civil::Time::midnight()))
            .map_err(|_| anyhow::anyhow!("--{name}: {s:?} is not an instant, a date or a date-time"))?,
    };
    Ok(dt.to_zoned(zone.zone())?.timestamp())
}

/// `kura audit export`: the console's and the API's export of a tenant's operation log, to a
/// file, recorded in the tenant's log as the command line's.
pub async fn export(
    state: &AppState,
    actor: kura_domain::Actor,
    tenant: &str,
    from: &str,
    to: &str,
    format: &str,
    out: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    use kura_server::service::audit_export;
    let fail = |e: kura_server::error::AppError| anyhow::anyhow!("{}", e.problem().detail);
    let p = kura_server::service::transfer::command_line_principal(state, actor, tenant).await.map_err(fail)?;
    let zone = p.tenant().time_zone.clone();
    let (from, to) = (instant("from", from, &zone)?, instant("to", to, &zone)?);
    let format = audit_export::parse_format(Some(format)).map_err(fail)?;
    let file = audit_export::export(state, &p, from, to, format).await;
    let file = super::audited(state, p.tenant().id, p.actor(), "kura audit export", file).await.map_err(fail)?;
    std::fs::write(out, &file.bytes).with_context(|| format!("cannot write {}", out.display()))?;
    println!("Exported the operation log of {tenant} to {}. Check it with kura audit verify --export.", out.display());
    Ok(ExitCode::SUCCESS)
}

/// Checks an export of a tenant's operation log offline (LOG-1, LOG-3): nothing but the file
/// (and the key, if given) is read. Prints each failure with the entry it concerns, or what a
/// pass proves.
pub fn verify_export(file: &std::path::Path, key: Option<&str>) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    match kura_server::audit_export::verify(&bytes, key) {
        Ok(v) => {
            let entries = match v.entries {
                Some((first, last)) => format!("entries {first}–{last} ({} rows)", v.rows),
                None => "no entries".to_owned(),
            };
            println!("ok      {}: {entries}, from {} to {} ({})", v.origin, v.from, v.to, v.time_zone);
            if let Some(d) = &v.disclosure {
                println!(
                    "ok      disclosure {} of {}, {}; reason: {}",
                    d.id,
                    d.disclosed_at,
                    if d.withheld { "withheld from the tenant" } else { "shown to the tenant" },
                    d.reason
                );
            }
            println!(
                "ok      signed checkpoint of {} entries and signed manifest, checked with {} key {}",
                v.checkpoint_size,
                if v.pinned { "the given" } else { "the export's own" },
                v.public_key
            );
            println!(
                "Proven: every row is as Kura exported it, none was removed or added, and every entry's stored \
                 bytes are in the tenant's log as the signed checkpoint commits to it."
            );
            if !v.pinned {
                println!(
                    "Compare the key above with the one the console or the API shows (or pass it with --key): the \
                     file's own key proves only that the file is whole."
                );
            }
            println!(
                "Not proven: an event that was never recorded; that the log has no entries outside the period \
                 exported."
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(findings) => {
            for f in &findings {
                println!("FAILED  {f}");
            }
            println!("{}: the export failed verification ({} finding(s)).", file.display(), findings.len());
            Ok(ExitCode::FAILURE)
        }
    }
}

pub async fn checkpoint(state: &AppState) -> anyhow::Result<ExitCode> {
    let made = state.checkpoints.checkpoint_all(&state.store, &*state.clock).await?;
    for m in &made {
        println!("{}: {} entries", scope_name(state, m.scope).await?, m.size);
    }
    println!("{} checkpoint(s) appended to {}.", made.len(), state.checkpoints.dir().display());
    Ok(ExitCode::SUCCESS)
}

pub fn public_key(state: &AppState) -> anyhow::Result<ExitCode> {
    println!("{}", state.checkpoints.public_key()?);
    Ok(ExitCode::SUCCESS)
}

async fn tenant_scope(state: &AppState, slug: &str) -> anyhow::Result<AuditScope> {
    let slug = Slug::parse(slug).map_err(|e| anyhow::anyhow!("--tenant: {e}"))?;
    let tenant = state.store.tenant_by_slug(&slug).await?.with_context(|| format!("no tenant {slug}"))?;
    Ok(AuditScope::Tenant(tenant.id))
}

pub async fn prove(state: &AppState, tenant: &str, seq: i64) -> anyhow::Result<ExitCode> {
    let scope = tenant_scope(state, tenant).await?;
    anyhow::ensure!(seq >= 1, "--seq must be 1 or more");
    let made = state.checkpoints.checkpoint(&state.store, scope, &*state.clock).await?;
    let index = u64::try_from(seq - 1)?;
    anyhow::ensure!(index < made.size, "the log has {} entries; there is no entry {seq}", made.size);
    let hashes = state.store.audit_inclusion_proof(scope, index, made.size).await?;
    print!("{}", kura_crypto::merkle::TlogProof { extra: None, index, hashes, checkpoint: made.note }.to_text());
    Ok(ExitCode::SUCCESS)
}

pub async fn consistency(state: &AppState, tenant: &str, from: u64, to: u64) -> anyhow::Result<ExitCode> {
    let scope = tenant_scope(state, tenant).await?;
    anyhow::ensure!(from <= to, "--from must not be larger than --to");
    let size = state.store.audit_tree_head(scope).await?.size;
    anyhow::ensure!(to <= size, "the log has {size} entries; --to {to} is beyond it");
    let hashes = state.store.audit_consistency_proof(scope, from, to).await?;
    print!("{}", kura_server::service::audit::proof_lines(&hashes));
    Ok(ExitCode::SUCCESS)
}
