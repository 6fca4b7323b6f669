//! The `KURA_*` environment variables, each mapped onto the option it sets (the layer between
//! the TOML file and the command line). Unknown `KURA_*` names are ignored: tests, CI and later
//! versions read their own.

use super::*;

impl Settings {
    pub(super) fn apply_env(&mut self, name: &str, value: &str) -> Result<(), SettingsError> {
        fn parse<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, SettingsError>
        where
            T::Err: fmt::Display,
        {
            value.trim().parse().map_err(|e: T::Err| SettingsError::Env { name: name.into(), message: e.to_string() })
        }
        match name {
            "KURA_LISTEN" => self.listen = parse(name, value)?,
            "KURA_DATA_DIR" => self.data_dir = PathBuf::from(value),
            "KURA_DATABASE_URL" => self.database_url = Secret::new(value),
            "KURA_DATABASE_OWNER_URL" => self.database_owner_url = Secret::new(value),
            "KURA_DATABASE_MAX_CONNECTIONS" => self.database_max_connections = parse(name, value)?,
            "KURA_RECORD_CACHE_RECORDS" => self.record_cache_records = parse(name, value)?,
            "KURA_PUBLIC_URL" => self.public_url = Some(value.to_owned()).filter(|v| !v.is_empty()),
            "KURA_COOKIE_SECURE" => self.cookie_secure = parse(name, value)?,
            "KURA_ARGON2_MEMORY_KIB" => self.password.argon2_memory_kib = parse(name, value)?,
            "KURA_ARGON2_ITERATIONS" => self.password.argon2_iterations = parse(name, value)?,
            "KURA_ARGON2_PARALLELISM" => self.password.argon2_parallelism = parse(name, value)?,
            "KURA_HASHING_THREADS" => self.password.hashing_threads = parse(name, value)?,
            "KURA_PASSWORD_MIN_LENGTH" => self.password.min_length = parse(name, value)?,
            "KURA_SESSION_ABSOLUTE_MINUTES" => self.session.absolute_minutes = parse(name, value)?,
            "KURA_SESSION_IDLE_MINUTES" => self.session.idle_minutes = parse(name, value)?,
            "KURA_MAX_BODY_BYTES" => self.limits.max_body_bytes = parse(name, value)?,
            "KURA_IMPORT_MAX_BYTES" => self.limits.import_max_bytes = parse(name, value)?,
            "KURA_SMTP_HOST" => self.mail.smtp_host = value.trim().to_owned(),
            "KURA_SMTP_PORT" => self.mail.smtp_port = parse(name, value)?,
            "KURA_SMTP_SECURITY" => self.mail.smtp_security = parse(name, value)?,
            "KURA_SMTP_USERNAME" => self.mail.smtp_username = value.to_owned(),
            "KURA_SMTP_PASSWORD" => self.mail.smtp_password = Secret::new(value),
            "KURA_SMTP_CA_FILE" => self.mail.ca_file = Some(PathBuf::from(value)).filter(|p| !p.as_os_str().is_empty()),
            "KURA_MAIL_FROM" => self.mail.from = value.to_owned(),
            "KURA_MAIL_MAX_ATTEMPTS" => self.mail.max_attempts = parse(name, value)?,
            "KURA_MAIL_RETRY_SECONDS" => self.mail.retry_seconds = parse(name, value)?,
            "KURA_MAIL_POLL_SECONDS" => self.mail.poll_seconds = parse(name, value)?,
            "KURA_SETUP_LINK_HOURS" => self.links.setup_hours = parse(name, value)?,
            "KURA_RESET_LINK_MINUTES" => self.links.reset_minutes = parse(name, value)?,
            "KURA_EXPORT_FLAG_RECORDS" => self.limits.export_flag_records = parse(name, value)?,
            "KURA_RECORDS_PER_MINUTE_WITHOUT_EXPORT" => {
                self.limits.records_per_minute_without_export = parse(name, value)?;
            }
            "KURA_LOG" => self.log = value.to_owned(),
            "KURA_METRICS_ALLOW_FROM" => {
                self.metrics.allow_from = value
                    .split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(|n| parse(name, n))
                    .collect::<Result<_, _>>()?;
            }
            "KURA_ENCRYPTION_ENABLED" => self.encryption.enabled = Some(parse(name, value)?),
            "KURA_KEYSTORE_URL" => self.encryption.keystore_url = Secret::new(value),
            "KURA_MASTER_KEY_FILE" => {
                self.encryption.master_key_file = Some(PathBuf::from(value)).filter(|p| !p.as_os_str().is_empty())
            }
            "KURA_MASTER_KEY" => self.encryption.master_key = Secret::new(value),
            "KURA_PREVIOUS_MASTER_KEY_FILE" => {
                self.encryption.previous_master_key_file =
                    Some(PathBuf::from(value)).filter(|p| !p.as_os_str().is_empty())
            }
            "KURA_KEY_ROTATION_WORKER" => self.encryption.rotation_worker = Some(parse(name, value)?),
            "KURA_TLS_CERT_FILE" => {
                self.tls.cert_file = Some(PathBuf::from(value)).filter(|p| !p.as_os_str().is_empty())
            }
            "KURA_TLS_KEY_FILE" => self.tls.key_file = Some(PathBuf::from(value)).filter(|p| !p.as_os_str().is_empty()),
            "KURA_TLS_RELOAD_SECONDS" => self.tls.reload_seconds = parse(name, value)?,
            "KURA_TLS_BEHIND_PROXY" => self.tls.behind_proxy = parse(name, value)?,
            "KURA_TLS_CLIENT_CA_DIR" => {
                self.tls.client_ca_dir = Some(PathBuf::from(value)).filter(|p| !p.as_os_str().is_empty())
            }
            "KURA_TLS_REDIRECT_LISTEN" => {
                self.tls.redirect_listen = if value.trim().is_empty() { None } else { Some(parse(name, value)?) };
            }
            "KURA_AUDIT_CHECKPOINT_DIR" => {
                self.audit.checkpoint_dir = Some(PathBuf::from(value)).filter(|p| !p.as_os_str().is_empty());
            }
            "KURA_AUDIT_SIGNING_KEY_FILE" => {
                self.audit.signing_key_file = Some(PathBuf::from(value)).filter(|p| !p.as_os_str().is_empty());
            }
            "KURA_AUDIT_CHECKPOINT_SECONDS" => self.audit.checkpoint_seconds = parse(name, value)?,
            "KURA_AUDIT_LOG_NAME" => self.audit.log_name = value.to_owned(),
            "KURA_ACCESS_LOG_ENABLED" => self.access_log.enabled = parse(name, value)?,
            "KURA_ACCESS_LOG_RETENTION_DAYS" => self.access_log.retention_days = parse(name, value)?,
            "KURA_ACCESS_LOG_BUFFER" => self.access_log.buffer = parse(name, value)?,
            "KURA_ACCESS_LOG_FLUSH_MILLISECONDS" => self.access_log.flush_milliseconds = parse(name, value)?,
            "KURA_ACCESS_LOG_PURGE_MINUTES" => self.access_log.purge_minutes = parse(name, value)?,
            "KURA_EXPORTS_WORKER" => self.exports.worker = parse(name, value)?,
            "KURA_EXPORTS_DIR" => self.exports.dir = Some(PathBuf::from(value)).filter(|p| !p.as_os_str().is_empty()),
            "KURA_EXPORTS_LINK_HOURS" => self.exports.link_hours = parse(name, value)?,
            "KURA_EXPORTS_POLL_SECONDS" => self.exports.poll_seconds = parse(name, value)?,
            "KURA_EXPORTS_LEASE_SECONDS" => self.exports.lease_seconds = parse(name, value)?,
            "KURA_EXPORTS_MAX_ATTEMPTS" => self.exports.max_attempts = parse(name, value)?,
            "KURA_BACKUP_DIR" => self.backup.dir = Some(PathBuf::from(value)).filter(|p| !p.as_os_str().is_empty()),
            "KURA_BACKUP_COPY_DIR" => {
                self.backup.copy_dir = Some(PathBuf::from(value)).filter(|p| !p.as_os_str().is_empty());
            }
            "KURA_BACKUP_GENERATIONS" => self.backup.generations = parse(name, value)?,
            "KURA_BACKUP_TIMES" => {
                self.backup.times =
                    value.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect();
            }
            "KURA_BACKUP_TIME_ZONE" => self.backup.time_zone = value.trim().to_owned(),
            "KURA_BACKUP_CHECK_SECONDS" => self.backup.check_seconds = parse(name, value)?,
            "KURA_BACKUP_PG_DUMP" => {
                self.backup.pg_dump = Some(PathBuf::from(value)).filter(|p| !p.as_os_str().is_empty());
            }
            "KURA_BACKUP_PG_RESTORE" => {
                self.backup.pg_restore = Some(PathBuf::from(value)).filter(|p| !p.as_os_str().is_empty());
            }
            "KURA_BACKUP_DRILL_TIMES" => {
                self.backup.drill_times =
                    value.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect();
            }
            "KURA_BACKUP_KEYSTORE_DIR" => {
                self.backup.keystore_dir = Some(PathBuf::from(value)).filter(|p| !p.as_os_str().is_empty());
            }
            "KURA_BACKUP_KEYSTORE_TIMES" => {
                self.backup.keystore_times =
                    value.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect();
            }
            "KURA_BACKUP_KEYSTORE_KEEP_DAYS" => self.backup.keystore_keep_days = parse(name, value)?,
            "KURA_BACKUP_REMOTE_BUCKET" => self.backup.remote.bucket = value.trim().to_owned(),
            "KURA_BACKUP_REMOTE_ENDPOINT" => self.backup.remote.endpoint = value.trim().to_owned(),
            "KURA_BACKUP_REMOTE_REGION" => self.backup.remote.region = value.trim().to_owned(),
            "KURA_BACKUP_REMOTE_PREFIX" => self.backup.remote.prefix = value.trim().to_owned(),
            "KURA_BACKUP_REMOTE_ALLOW_HTTP" => self.backup.remote.allow_http = parse(name, value)?,
            "KURA_BACKUP_REMOTE_ACCESS_KEY_ID" => self.backup.remote.access_key_id = value.trim().to_owned(),
            "KURA_BACKUP_REMOTE_SECRET_ACCESS_KEY" => self.backup.remote.secret_access_key = Secret::new(value.trim()),
            "KURA_BACKUP_REMOTE_CREDENTIALS_FILE" => {
                self.backup.remote.credentials_file = Some(PathBuf::from(value)).filter(|p| !p.as_os_str().is_empty());
            }
            "KURA_CONTRACT_GRACE_DAYS" => self.contract.grace_days = parse(name, value)?,
            "KURA_CONTRACT_CHECK_SECONDS" => self.contract.check_seconds = parse(name, value)?,
            "KURA_METRICS_TOKEN" => self.metrics.token = Secret::new(value),
            "KURA_TRUSTED_PROXIES" => {
                self.proxies.trusted = value
                    .split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(|n| parse(name, n))
                    .collect::<Result<_, _>>()?;
            }
            "KURA_FORWARDED_HEADER" => self.proxies.header = parse(name, value)?,
            // Variables read elsewhere (tests, CI) or by future versions are not errors.
            _ => {}
        }
        Ok(())
    }
}
