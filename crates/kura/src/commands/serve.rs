//! `kura serve`.

use anyhow::Context as _;
use kura_server::{Application, Settings, SystemClock};
use std::process::ExitCode;
use std::sync::Arc;

pub async fn run(settings: Settings) -> anyhow::Result<ExitCode> {
    let schedules = kura_server::backup::Schedules::from_settings(&settings);
    let app = Application::build(settings, Arc::new(SystemClock)).await.context("cannot start Kura")?;
    tracing::info!(address = %app.local_addr(), "Kura is listening");
    // Scheduled backups and restore drills (OPS-1) need the backup key, so the master key and
    // keystore. The keystore backups' expiry runs even with every schedule off.
    if app.state().store.vault().is_some() {
        tokio::spawn(kura_server::backup::run_schedule(app.state().clone(), schedules));
    } else if schedules.backups.is_some() || schedules.drills.is_some() || schedules.keystore.is_some() {
        tracing::warn!("scheduled backups are off: backups need a master key (encryption at rest)");
    }
    // The contract's end (TEN-4): tenants whose grace period is over are deleted.
    tokio::spawn(kura_server::erasure::run_schedule(app.state().clone()));
    app.run_until_stopped().await.context("server error")?;
    Ok(ExitCode::SUCCESS)
}
