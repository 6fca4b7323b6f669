//! `kura serve`.

use anyhow::Context as _;
use kura_server::{Application, Settings, SystemClock};
use std::process::ExitCode;
use std::sync::Arc;

pub async fn run(settings: Settings) -> anyhow::Result<ExitCode> {
    let backups = kura_server::backup::Backups::new(&settings);
    let schedule = kura_server::backup::Schedule::from_settings(&settings);
    let app = Application::build(settings, Arc::new(SystemClock)).await.context("cannot start Kura")?;
    tracing::info!(address = %app.local_addr(), "Kura is listening");
    // Scheduled backups (OPS-1) need the backup key, so the master key and keystore.
    match (schedule, app.state().store.vault()) {
        (Some(schedule), Some(vault)) => {
            let (vault, clock) = (Arc::clone(vault), Arc::clone(&app.state().clock));
            tokio::spawn(kura_server::backup::run_schedule(backups, vault, clock, schedule));
        }
        (Some(_), None) => tracing::warn!("scheduled backups are off: backups need a master key (encryption at rest)"),
        (None, _) => {}
    }
    // The contract's end (TEN-4): tenants whose grace period is over are deleted.
    tokio::spawn(kura_server::erasure::run_schedule(app.state().clone()));
    app.run_until_stopped().await.context("server error")?;
    Ok(ExitCode::SUCCESS)
}
