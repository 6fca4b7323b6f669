//! Integration tests of the whole application over HTTP: one test binary, one fresh database per
//! test, on SQLite by default and on PostgreSQL when `KURA_TEST_POSTGRES_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr, reason = "tests")]

mod access;
mod access_log;
mod api_keys;
mod archive;
mod attack;
mod audit_export;
mod audit_log;
mod backups;
mod break_glass;
mod browser;
mod bulk;
mod client_ca;
mod client_certs;
mod console;
mod console_browser;
mod console_certs;
mod console_client;
mod console_pages;
mod console_security;
mod console_timing;
mod contract;
mod contract_end;
mod denials;
mod disclosure;
mod encryption;
mod exports;
mod helpers;
mod import_stream;
mod ip_rules;
mod isolation;
mod mail;
mod passkeys;
mod platform;
mod privileges;
mod records;
mod second_factors;
mod security;
mod smtp;
mod time_zone;
mod tls;
mod transfer;
mod transfer_rates;
