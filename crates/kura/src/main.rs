//! The `kura` command. Thin: it parses arguments, loads settings and calls into the library
//! crates.

mod cli;
mod commands;
mod demo_data;

use clap::Parser as _;
use std::process::ExitCode;

/// jemalloc rather than the C library's allocator. Request handling allocates on one thread and
/// frees on another (tokio workers, SQLite's worker threads), and under load profiles showed the
/// C library's allocator as lock waits and malloc/free time. Measured with `kura-bench` on 2
/// cores: lists +51 %, gets +23 %, creates +19 %, updates +10 %, at about the same peak memory
/// (docs/PERFORMANCE.md). Its options are compiled in from `.cargo/config.toml`: one arena per
/// CPU, and freed pages returned to the system after a second.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kura: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kura: {e:#}");
            ExitCode::FAILURE
        }
    }
}
