//! `kura serve`.

use anyhow::Context as _;
use kura_server::{Application, Settings, SystemClock};
use std::process::ExitCode;
use std::sync::Arc;

pub async fn run(settings: Settings) -> anyhow::Result<ExitCode> {
    let app = Application::build(settings, Arc::new(SystemClock)).await.context("cannot start Kura")?;
    tracing::info!(address = %app.local_addr(), "Kura is listening");
    app.run_until_stopped().await.context("server error")?;
    Ok(ExitCode::SUCCESS)
}
