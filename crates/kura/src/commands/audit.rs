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
