//! Loading the configuration's layers and refusing settings that cannot work, naming the
//! offending option.

use super::{CONFIG_VERSION, Settings, SettingsError};
use std::path::Path;

impl Settings {
    /// Defaults, then the file (if any), then `KURA_*` variables from `env`.
    pub fn load(file: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> Result<Self, SettingsError> {
        let mut s = match file {
            None => Self::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| SettingsError::Read { path: path.to_owned(), source })?;
                toml::from_str(&text)
                    .map_err(|e| SettingsError::Parse { path: path.to_owned(), message: e.to_string() })?
            }
        };
        for (name, value) in env {
            if name.starts_with("KURA_") {
                s.apply_env(&name, &value)?;
            }
        }
        s.check()?;
        Ok(s)
    }

    /// Refuses settings that cannot work, with the name of the offending option.
    pub fn check(&self) -> Result<(), SettingsError> {
        let bad = |name, message: &str| Err(SettingsError::Invalid { name, message: message.into() });
        if self.version != CONFIG_VERSION {
            return bad("version", "this Kura understands configuration version 1");
        }
        if self.argon2_params().memory_kib < 8 * self.password.argon2_parallelism {
            return bad("password.argon2_memory_kib", "must be at least 8 KiB per lane");
        }
        if self.password.argon2_iterations == 0 || self.password.argon2_parallelism == 0 {
            return bad("password.argon2_iterations", "iterations and parallelism must be at least 1");
        }
        if !(8..=128).contains(&self.password.min_length) {
            return bad("password.min_length", "must be between 8 and 128");
        }
        if self.session.absolute_minutes == 0 || self.session.idle_minutes == 0 {
            return bad("session", "timeouts must be at least one minute");
        }
        if self.mail.max_attempts == 0 || self.mail.retry_seconds == 0 || self.mail.poll_seconds == 0 {
            return bad("mail", "max_attempts, retry_seconds and poll_seconds must be at least 1");
        }
        if self.mail.from.parse::<lettre::message::Mailbox>().is_err() {
            return bad("mail.from", "must be an address such as Kura <no-reply@example.jp>");
        }
        if !(1..=720).contains(&self.links.setup_hours) || !(5..=1440).contains(&self.links.reset_minutes) {
            return bad("links", "setup_hours must be 1–720 and reset_minutes 5–1440");
        }
        if self.limits.max_body_bytes < 1024 {
            return bad("limits.max_body_bytes", "must be at least 1024");
        }
        if self.limits.records_per_minute_without_export == 0 {
            return bad("limits.records_per_minute_without_export", "must be at least 1");
        }
        if self.limits.export_flag_records == 0 {
            return bad("limits.export_flag_records", "must be at least 1");
        }
        if self.database_max_connections == 0 {
            return bad("database_max_connections", "must be at least 1");
        }
        if self.audit.checkpoint_seconds == 0 {
            return bad("audit.checkpoint_seconds", "must be at least 1");
        }
        if !kura_domain::bounds::ACCESS_LOG_DAYS.contains(&self.access_log.retention_days) {
            return bad("access_log.retention_days", "must be between 7 and 3650");
        }
        if !(1..=1_000_000).contains(&self.access_log.buffer)
            || !(10..=60_000).contains(&self.access_log.flush_milliseconds)
            || self.access_log.purge_minutes == 0
        {
            return bad(
                "access_log",
                "buffer must be 1–1000000, flush_milliseconds 10–60000 and purge_minutes at least 1",
            );
        }
        if !(1..=720).contains(&self.exports.link_hours) {
            return bad("exports.link_hours", "must be between 1 and 720");
        }
        if self.exports.poll_seconds == 0 || self.exports.lease_seconds < 10 || self.exports.max_attempts == 0 {
            return bad("exports", "poll_seconds and max_attempts must be at least 1, and lease_seconds at least 10");
        }
        if !(1..=1000).contains(&self.backup.generations) {
            return bad("backup.generations", "must be between 1 and 1000");
        }
        if self.backup.times.iter().any(|t| crate::backup::parse_time(t).is_none()) {
            return bad("backup.times", "each time must be HH:MM, 00:00 to 23:59");
        }
        if jiff::tz::TimeZone::get(&self.backup.time_zone).is_err() {
            return bad("backup.time_zone", "must be an IANA time zone such as Asia/Tokyo or UTC");
        }
        if self.backup.check_seconds == 0 {
            return bad("backup.check_seconds", "must be at least 1");
        }
        if self.backup.drill_times.iter().any(|t| crate::backup::parse_time(t).is_none()) {
            return bad("backup.drill_times", "each time must be HH:MM, 00:00 to 23:59");
        }
        if self.backup.keystore_times.iter().any(|t| crate::backup::parse_time(t).is_none()) {
            return bad("backup.keystore_times", "each time must be HH:MM, 00:00 to 23:59");
        }
        if !(1..=90).contains(&self.backup.keystore_keep_days) {
            return bad("backup.keystore_keep_days", "must be between 1 and 90 days");
        }
        crate::backup::check_remote(&self.backup.remote)
            .map_err(|(name, message)| SettingsError::Invalid { name, message })?;
        if self.contract.grace_days > 90 {
            return bad("contract.grace_days", "must be between 0 and 90 days");
        }
        if self.contract.check_seconds == 0 {
            return bad("contract.check_seconds", "must be at least 1");
        }
        let name = &self.audit.log_name;
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+' || c.is_control()) {
            return bad("audit.log_name", "must be non-empty, without spaces or plus signs");
        }
        let token = self.metrics.token.expose();
        if !token.is_empty() && (token.len() < 16 || !token.bytes().all(|b| b.is_ascii_graphic())) {
            return bad("metrics.token", "use at least 16 printable characters without spaces");
        }
        self.check_transport()?;
        let url = self.database_url.expose();
        let known = ["postgres://", "postgresql://", "sqlite://"];
        if !url.is_empty() && !known.iter().any(|k| url.starts_with(k)) {
            return bad("database_url", "must be a postgres:// or sqlite:// URL, or empty for SQLite in data_dir");
        }
        let owner = self.database_owner_url.expose();
        let postgres = |u: &str| u.starts_with("postgres://") || u.starts_with("postgresql://");
        let owner_fits = owner.is_empty() || (postgres(owner) && postgres(url));
        if !owner_fits {
            return bad("database_owner_url", "must be a postgres:// URL, and only with a postgres:// database_url");
        }
        Ok(())
    }

    /// The transport rules (DAT-1): a certificate comes with its key; plain HTTP only on a
    /// loopback address or behind a declared TLS-terminating proxy; the redirecting listener only
    /// beside HTTPS. `Application::build` checks them too, whatever built the settings.
    pub fn check_transport(&self) -> Result<(), SettingsError> {
        let bad = |name, message: &str| Err(SettingsError::Invalid { name, message: message.into() });
        let tls = &self.tls;
        if tls.cert_file.is_some() != tls.key_file.is_some() {
            return bad("tls.cert_file", "a certificate needs its key file, and a key file its certificate");
        }
        if !(1..=86_400).contains(&tls.reload_seconds) {
            return bad("tls.reload_seconds", "must be between 1 and 86400");
        }
        if !tls.enabled() && !tls.behind_proxy && !self.listen.ip().to_canonical().is_loopback() {
            return bad(
                "tls",
                "plain HTTP is allowed only on a loopback address: configure tls.cert_file and tls.key_file, \
                 or declare a TLS-terminating proxy with tls.behind_proxy = true",
            );
        }
        if let Some(redirect) = tls.redirect_listen {
            if !tls.enabled() {
                return bad("tls.redirect_listen", "redirects to HTTPS need tls.cert_file and tls.key_file");
            }
            if redirect == self.listen && redirect.port() != 0 {
                return bad("tls.redirect_listen", "must differ from listen");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::settings::*;

    #[test]
    fn layers_apply_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kura.toml");
        std::fs::write(&file, "version = 1\nlisten = \"127.0.0.1:9000\"\n[session]\nabsolute_minutes = 60\n").unwrap();
        let s = Settings::load(Some(&file), vars(&[("KURA_LISTEN", "127.0.0.1:9100"), ("PATH", "/bin")])).unwrap();
        assert_eq!(s.listen.port(), 9100);
        assert_eq!(s.session.absolute_minutes, 60);
        assert_eq!(s.session.idle_minutes, 60);
    }

    #[test]
    fn unknown_keys_bad_values_and_versions_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kura.toml");
        std::fs::write(&file, "listn = \"x\"\n").unwrap();
        assert!(Settings::load(Some(&file), vars(&[])).is_err());
        std::fs::write(&file, "version = 2\n").unwrap();
        assert!(Settings::load(Some(&file), vars(&[])).is_err());
        assert!(Settings::load(None, vars(&[("KURA_LISTEN", "nonsense")])).is_err());
        assert!(Settings::load(None, vars(&[("KURA_DATABASE_URL", "mysql://x")])).is_err());
    }

    #[test]
    fn mail_settings_are_checked() {
        let s = Settings::load(None, vars(&[("KURA_SMTP_SECURITY", "tls"), ("KURA_SMTP_PORT", "465")])).unwrap();
        assert_eq!((s.mail.smtp_security, s.mail.smtp_port), (SmtpSecurity::Tls, 465));
        assert!(Settings::load(None, vars(&[("KURA_SMTP_SECURITY", "ssl")])).is_err());
        assert!(Settings::load(None, vars(&[("KURA_MAIL_FROM", "not an address")])).is_err());
        assert!(Settings::load(None, vars(&[("KURA_MAIL_MAX_ATTEMPTS", "0")])).is_err());
    }

    #[test]
    fn dat_1_plain_http_is_refused_off_loopback_unless_a_proxy_is_declared() {
        let refused = Settings::load(None, vars(&[("KURA_LISTEN", "0.0.0.0:8080")])).unwrap_err();
        assert!(matches!(refused, SettingsError::Invalid { name: "tls", .. }), "{refused}");
        assert!(Settings::load(None, vars(&[("KURA_LISTEN", "[::]:8080")])).is_err());
        let proxied = [("KURA_LISTEN", "0.0.0.0:8080"), ("KURA_TLS_BEHIND_PROXY", "true")];
        assert!(Settings::load(None, vars(&proxied)).is_ok());
        let tls = [("KURA_LISTEN", "0.0.0.0:8443"), ("KURA_TLS_CERT_FILE", "c.pem"), ("KURA_TLS_KEY_FILE", "k.pem")];
        let s = Settings::load(None, vars(&tls)).unwrap();
        assert_eq!(s.base_url(), "https://0.0.0.0:8443");
        assert!(Settings::load(None, vars(&[("KURA_LISTEN", "[::1]:8080")])).is_ok());
        // Half a certificate, or a redirect to an HTTPS that does not exist, are refused too.
        assert!(Settings::load(None, vars(&[("KURA_TLS_CERT_FILE", "c.pem")])).is_err());
        assert!(Settings::load(None, vars(&[("KURA_TLS_REDIRECT_LISTEN", "127.0.0.1:80")])).is_err());
    }
}
