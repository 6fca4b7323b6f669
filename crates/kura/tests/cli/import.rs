//! `kura import` keeps its memory flat however large the file (DAT-6): the file is spooled and
//! read twice, a chunk at a time, and no pass collects the rows.

use super::{Cli, demo_credentials, kura, stdout};
use std::io::Write as _;
use std::path::Path;
use std::process::{Output, Stdio};

/// A CSV file of `rows` customers for the demo's collection, each row about 1 KB: a name, a
/// long note and points.
fn customers_file(path: &Path, rows: usize) -> u64 {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let note = "電話で連絡。「来月の請求書を郵送で」とのご希望、担当：佐藤。".repeat(10);
    writeln!(out, "氏名,備考,ポイント").unwrap();
    for i in 0..rows {
        writeln!(out, "顧客 {i},\"{note}, {i}\",{i}").unwrap();
    }
    out.flush().unwrap();
    std::fs::metadata(path).unwrap().len()
}

/// Peak resident memory of process `pid` so far (`VmHWM`, KiB), if it still runs.
fn peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?.trim().trim_end_matches("kB").trim().parse().ok()
}

/// Runs `kura import` of `file` into the demo's customers, and returns its output with the
/// highest peak resident memory read while it ran.
fn import_with_peak(cli: &Cli, file: &Path) -> (Output, u64) {
    let mut child = kura(&cli.data(), cli.sink.path())
        .args(["import", "--tenant", "demo", "--collection", "customers", "--file", file.to_str().unwrap()])
        .env("KURA_DATABASE_URL", &cli.db.url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut peak = 0;
    // The high-water mark only grows: the last reading before the exit is the process's peak
    // but for the last few milliseconds (printing the result).
    while child.try_wait().unwrap().is_none() {
        peak = peak_kib(child.id()).unwrap_or(0).max(peak);
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    (child.wait_with_output().unwrap(), peak)
}

#[tokio::test]
async fn dat_6_import_memory_stays_flat_when_the_file_grows_sixteenfold() {
    let cli = Cli::new().await;
    demo_credentials(&cli).await;
    let small = cli.dir.path().join("small.csv");
    let large = cli.dir.path().join("large.csv");
    let small_bytes = customers_file(&small, 1_000);
    let large_bytes = customers_file(&large, 16_000);
    // Far beyond the read chunk (64 KiB) and the CSV reader's buffer.
    assert!(large_bytes > 14 * 1024 * 1024, "{large_bytes}");
    let (out, small_peak) = import_with_peak(&cli, &small);
    assert!(out.status.success(), "{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).contains("1000 added"), "{}", stdout(&out));
    let (out, large_peak) = import_with_peak(&cli, &large);
    assert!(out.status.success(), "{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).contains("16000 added"), "{}", stdout(&out));
    // Holding the rows would take the file's size at least (about 14 MiB more here), and far
    // more once parsed; reading it a chunk at a time takes the same few buffers for both. The
    // allowance, half the difference, is for the database's page cache (2 MiB by default on
    // SQLite), which a larger transaction fills further: about 3 MiB more was measured.
    let grown_kib = large_peak.saturating_sub(small_peak);
    let allowance_kib = (large_bytes - small_bytes) / 1024 / 2;
    eprintln!(
        "kura import: {small_bytes} bytes peak {small_peak} KiB; {large_bytes} bytes peak {large_peak} KiB \
         (+{grown_kib} KiB, allowed {allowance_kib})"
    );
    assert!(small_peak > 0 && large_peak > 0, "the peaks were read");
    assert!(grown_kib < allowance_kib, "memory grew with the file: +{grown_kib} KiB for +{large_bytes} bytes");
}
