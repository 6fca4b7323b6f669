//! `kura logs disclose`: a tenant's operation log disclosed on a lawful or reasonable request
//! (LOG-5), as a signed package that `kura audit verify --export` checks offline.

use anyhow::Context as _;
use kura_domain::{Actor, AuditScope};
use kura_server::AppState;
use std::process::ExitCode;

#[allow(clippy::too_many_arguments, reason = "one argument per flag of the command")]
pub async fn disclose(
    state: &AppState,
    actor: Actor,
    tenant: &str,
    from: &str,
    to: &str,
    reason: &str,
    withheld: bool,
    out: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    use kura_server::service::disclosure;
    let fail = |e: kura_server::error::AppError| anyhow::anyhow!("{}", e.problem().detail);
    let slug = kura_domain::Slug::parse(tenant).map_err(|e| anyhow::anyhow!("--tenant: {e}"))?;
    let t = state.store.tenant_by_slug(&slug).await?.with_context(|| format!("no tenant {slug}"))?;
    let (from, to) =
        (super::audit::instant("from", from, &t.time_zone)?, super::audit::instant("to", to, &t.time_zone)?);
    let made = disclosure::disclose(state, actor.clone(), tenant, from, to, reason, withheld).await;
    if let Err(kura_server::error::AppError::Undecryptable(cause)) = &made {
        // A withheld disclosure is recorded in the platform's log only: so is its refusal, which
        // would otherwise tell the tenant's administrators of it.
        let scope = if withheld { AuditScope::Platform } else { AuditScope::Tenant(t.id) };
        let target = "kura logs disclose".to_owned();
        kura_server::denials::record_refused_open(state, scope, actor, target, cause).await;
    }
    let made = made.map_err(fail)?;
    std::fs::write(out, &made.bytes).with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "Disclosure {} of {} entries of {tenant}'s operation log written to {}.",
        made.disclosure.id,
        made.entries,
        out.display()
    );
    if withheld {
        println!("Withheld: recorded in the platform's log only; the tenant's administrators do not see it.");
    } else {
        println!("Recorded in the tenant's log, where its administrators see it, and in the platform's log.");
    }
    println!("Anyone can check the package offline with kura audit verify --export {}.", out.display());
    Ok(ExitCode::SUCCESS)
}
