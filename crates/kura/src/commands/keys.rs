//! `kura keys`: a tenant's data-key versions and rotations, rotating a tenant's data key (the
//! re-encryption run here with its progress), resuming the rotations still running, and
//! rotating the master key (DAT-2).

use anyhow::Context as _;
use kura_domain::{Actor, Tenant};
use kura_server::AppState;
use kura_server::service::key_rotation::{self, Limits};
use std::path::Path;
use std::process::ExitCode;

fn fail(e: kura_server::error::AppError) -> anyhow::Error {
    anyhow::anyhow!("{}", e.problem().detail)
}

async fn tenant(state: &AppState, slug: &str) -> anyhow::Result<Tenant> {
    let slug = kura_domain::Slug::parse(slug).map_err(|e| anyhow::anyhow!("--tenant: {e}"))?;
    state.store.tenant_by_slug(&slug).await?.with_context(|| format!("no tenant {slug}"))
}

fn micros(us: i64) -> String {
    jiff::Timestamp::from_microsecond(us).map(|t| t.to_string()).unwrap_or_default()
}

pub async fn status(state: &AppState, slug: &str) -> anyhow::Result<ExitCode> {
    let t = tenant(state, slug).await?;
    let s = key_rotation::status(state, &t).await.map_err(fail)?;
    if !s.encryption_on {
        println!("Encryption at rest is off on this installation.");
    } else if s.keys.is_empty() {
        println!("{slug} has no keys yet: its values were stored before encryption was switched on.");
        println!("Seal them with: kura keys rotate --tenant {slug}");
    }
    for k in &s.keys {
        let state = match k.retired_at {
            Some(at) => format!("retired {} (kept for the audit entries sealed under it)", micros(at)),
            None if Some(k.version) == s.current_version() => "current: seals every write".to_owned(),
            None => "still opens values not re-encrypted yet".to_owned(),
        };
        println!("data key v{}\tcreated {}\t{state}", k.version, micros(k.created_at));
    }
    for r in &s.rotations {
        println!(
            "rotation {}\t{} to v{}\t{}\tpass {}\t{}/{} rows\t{} re-sealed\tstarted {} by {}",
            r.id,
            r.kind.as_str(),
            r.target_version,
            r.status.as_str(),
            r.pass,
            r.rows_done,
            r.rows_total.map_or_else(|| "?".to_owned(), |n| n.to_string()),
            r.resealed,
            r.created_at,
            r.actor.label
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn rotate(state: &AppState, actor: Actor, slug: &str, no_wait: bool) -> anyhow::Result<ExitCode> {
    let t = tenant(state, slug).await?;
    let job = key_rotation::start(state, &t, actor).await.map_err(fail)?;
    println!("Data key v{} of {slug} seals every write from now on (rotation {}).", job.target_version, job.id);
    if no_wait {
        println!("The servers' workers re-encrypt the stored values; follow it with: kura keys status --tenant {slug}");
        return Ok(ExitCode::SUCCESS);
    }
    run(state).await
}

pub async fn run(state: &AppState) -> anyhow::Result<ExitCode> {
    let mut total = 0;
    loop {
        // A hundred batches at a time, so that progress shows.
        let limits = Limits { max_batches: Some(100), ..Limits::default() };
        let n = key_rotation::run(state, limits).await.map_err(fail)?;
        total += n;
        for r in state.store.running_key_rotations().await? {
            println!(
                "{}: pass {}, {}/{} rows, {} re-sealed",
                r.tenant,
                r.pass,
                r.rows_done,
                r.rows_total.map_or_else(|| "?".to_owned(), |n| n.to_string()),
                r.resealed
            );
        }
        if n < 100 {
            break;
        }
    }
    let left = state.store.running_key_rotations().await?;
    if left.is_empty() {
        println!("Done: {total} batches; no rotation is left running.");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{} rotation(s) are held by another worker (a running server); it finishes them.", left.len());
        Ok(ExitCode::SUCCESS)
    }
}

pub async fn rotate_master(state: &AppState, new_key_file: Option<&Path>, actor: Actor) -> anyhow::Result<ExitCode> {
    let r = kura_server::service::master_key::rotate_master(state, new_key_file, actor).await.map_err(fail)?;
    println!(
        "Re-wrapped under master key {}: {} tenant key(s), {} backup key(s); {} already were.",
        r.master_key_id, r.tenant_keys, r.backup_keys, r.already
    );
    if r.ca_key {
        println!("The client CA's key is re-wrapped too.");
    }
    println!("Configure the new key as encryption.master_key_file on every node and remove the previous one.");
    println!("Keep the old key offline until every keystore backup made before today has expired.");
    Ok(ExitCode::SUCCESS)
}
