//! A real SMTP server for the mail tests: `aiosmtpd` (from PyPI) on a free loopback port, storing
//! what it receives in a Maildir that the test reads back.
//!
//! The Python interpreter is `KURA_TEST_PYTHON`, or the repository's `.venv-tools` (which
//! `.ci/run` creates). [`SmtpSink::start`] returns `None` (the test should skip) when aiosmtpd is
//! not installed, unless `KURA_REQUIRE_SMTP` is set, in which case it panics: CI sets it so that
//! the mail tests can never be skipped silently.

use base64::Engine as _;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The SMTP server process, killed when dropped.
#[derive(Debug)]
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A mail as the server received it, decoded.
#[derive(Debug, Clone)]
pub struct Received {
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl Received {
    /// The first link in the body that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> String {
        let at = self.body.find(prefix).unwrap_or_else(|| panic!("no {prefix} link in {}", self.body));
        self.body[at..].split_whitespace().next().unwrap().to_owned()
    }
}

fn python() -> PathBuf {
    match std::env::var_os("KURA_TEST_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv-tools/bin/python")),
    }
}

/// How the server protects its connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protection {
    Plain,
    /// STARTTLS, required before any mail.
    StartTls,
    /// TLS from the first byte (SMTPS).
    Tls,
}

impl SmtpSink {
    pub fn start() -> Option<SmtpSink> {
        Self::start_with(Protection::Plain).map(|(sink, _)| sink)
    }

    /// A server with a certificate for 127.0.0.1 from a fresh test CA (made by `trustme`, from
    /// PyPI); returns the CA's certificate file too.
    pub fn start_with(protection: Protection) -> Option<(SmtpSink, PathBuf)> {
        let python = python();
        let module = if protection == Protection::Plain { "import aiosmtpd" } else { "import aiosmtpd, trustme" };
        let available = python.is_file()
            && Command::new(&python)
                .args(["-c", module])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
        if !available {
            assert!(
                std::env::var_os("KURA_REQUIRE_SMTP").is_none(),
                "KURA_REQUIRE_SMTP is set but aiosmtpd is not installed for {}",
                python.display()
            );
            eprintln!("mail test skipped: aiosmtpd or trustme not found (pip install them into .venv-tools)");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = tempfile::tempdir().unwrap();
        let certs = dir.path().join("certs");
        let mut tls_args: Vec<String> = Vec::new();
        if protection != Protection::Plain {
            std::fs::create_dir_all(&certs).unwrap();
            let made = Command::new(&python)
                .args(["-m", "trustme", "-q", "-i", "127.0.0.1", "-d"])
                .arg(&certs)
                .status()
                .expect("run trustme");
            assert!(made.success(), "trustme failed");
            let (cert, key) = if protection == Protection::StartTls {
                ("--tlscert", "--tlskey")
            } else {
                ("--smtpscert", "--smtpskey")
            };
            for (flag, file) in [(cert, "server.pem"), (key, "server.key")] {
                tls_args.push(flag.to_owned());
                tls_args.push(certs.join(file).display().to_string());
            }
        }
        let child = Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(&tls_args)
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(dir.path().join("maildir"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        let mut sink = SmtpSink { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(exit)) = sink.child.try_wait() {
                panic!("aiosmtpd exited early ({exit})");
            }
            assert!(Instant::now() < deadline, "aiosmtpd did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        let ca = sink.dir.path().join("certs").join("client.pem");
        Some((sink, ca))
    }

    /// Everything received so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        let new = self.dir.path().join("maildir").join("new");
        let mut files: Vec<_> =
            std::fs::read_dir(&new).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files.iter().map(|p| parse(&std::fs::read_to_string(p).unwrap())).collect()
    }

    /// Waits until at least `n` mails arrived (a few seconds at most), and returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(Instant::now() < deadline, "expected {n} mail(s), received {}: {got:?}", got.len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Parses a message as Kura writes it: RFC 2047 subject, base64 plain-text body.
pub fn parse(raw: &str) -> Received {
    let raw = raw.replace("\r\n", "\n");
    let (head, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
    let unfolded = head.replace("\n ", " ").replace("\n\t", " ");
    let header = |name: &str| {
        unfolded
            .lines()
            .find_map(|l| {
                l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_default()
    };
    let text = base64::engine::general_purpose::STANDARD.decode(body.split_whitespace().collect::<String>()).unwrap();
    Received { to: header("To"), subject: decode_words(&header("Subject")), body: String::from_utf8(text).unwrap() }
}

/// Decodes RFC 2047 encoded words (`=?utf-8?b?…?=`); the space between two encoded words is not
/// part of the text, any other is.
fn decode_words(s: &str) -> String {
    let mut out = String::new();
    let mut previous_encoded = false;
    for word in s.split_whitespace() {
        let lower = word.to_ascii_lowercase();
        let decoded = if lower.starts_with("=?utf-8?b?") && word.ends_with("?=") {
            let b = &word[10..word.len() - 2];
            Some(String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b).unwrap()).unwrap())
        } else if lower.starts_with("=?utf-8?q?") && word.ends_with("?=") {
            Some(decode_q(&word[10..word.len() - 2]))
        } else {
            None
        };
        let joined_to_previous = previous_encoded && decoded.is_some();
        if !out.is_empty() && !joined_to_previous {
            out.push(' ');
        }
        previous_encoded = decoded.is_some();
        out.push_str(&decoded.unwrap_or_else(|| word.to_owned()));
    }
    out
}

fn decode_q(s: &str) -> String {
    let mut bytes = Vec::new();
    let mut it = s.bytes();
    while let Some(b) = it.next() {
        match b {
            b'_' => bytes.push(b' '),
            b'=' => {
                let hex: String = [it.next().unwrap(), it.next().unwrap()].iter().map(|&c| c as char).collect();
                bytes.push(u8::from_str_radix(&hex, 16).unwrap());
            }
            other => bytes.push(other),
        }
    }
    String::from_utf8(bytes).unwrap()
}
