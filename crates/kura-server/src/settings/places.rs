//! Where things are and what follows from the settings: directories and files beside the data
//! directory, database and keystore URLs, the public base URL, whether values are sealed.

use super::Settings;
use kura_crypto::Argon2Params;
use std::path::PathBuf;

impl Settings {
    /// Where checkpoints are appended (see [`AuditSettings::checkpoint_dir`]).
    pub fn checkpoint_dir(&self) -> PathBuf {
        self.audit.checkpoint_dir.clone().unwrap_or_else(|| self.beside_data_dir("-checkpoints"))
    }
    /// Where the checkpoint signing key is kept (see [`AuditSettings::signing_key_file`]).
    pub fn signing_key_file(&self) -> PathBuf {
        self.audit.signing_key_file.clone().unwrap_or_else(|| self.data_dir.join("audit-signing.key"))
    }
    /// Where finished exports wait (see [`ExportSettings::dir`]).
    pub fn export_dir(&self) -> PathBuf {
        self.exports.dir.clone().unwrap_or_else(|| self.data_dir.join("exports"))
    }
    /// Where backups are kept (see [`BackupSettings::dir`]).
    pub fn backup_dir(&self) -> PathBuf {
        self.backup.dir.clone().unwrap_or_else(|| self.beside_data_dir("-backups"))
    }
    /// Where the keystore's backups are kept (see [`BackupSettings::keystore_dir`]).
    pub fn keystore_backup_dir(&self) -> PathBuf {
        self.backup.keystore_dir.clone().unwrap_or_else(|| self.beside_data_dir("-keystore-backups"))
    }

    pub fn argon2_params(&self) -> Argon2Params {
        Argon2Params {
            memory_kib: self.password.argon2_memory_kib,
            iterations: self.password.argon2_iterations,
            parallelism: self.password.argon2_parallelism,
        }
    }

    /// The address links in mail point to: the configured public URL, or this node's.
    pub fn base_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None if self.tls.enabled() => format!("https://{}", self.listen),
            None => format!("http://{}", self.listen),
        }
    }

    /// Whether values are sealed: as configured, or (unset) when a master key is given.
    pub fn encryption_on(&self) -> bool {
        self.encryption
            .enabled
            .unwrap_or_else(|| !self.encryption.master_key.expose().is_empty() || self.master_key_file().exists())
    }

    /// The keystore to open: the configured URL; or SQLite in `<data_dir>-keystore/`, beside the
    /// data directory; or, for PostgreSQL data, the database of the same name with `_keys`.
    pub fn keystore_url(&self) -> String {
        let configured = self.encryption.keystore_url.expose();
        if !configured.is_empty() {
            return configured.to_owned();
        }
        // The owner's URL when there is one: the keystore is migrated like the data, and row-level
        // security does not concern it (it holds no tenant's rows, only wrapped keys).
        let data = self.database_owner_url.expose();
        let data = if data.is_empty() { self.database_url.expose() } else { data };
        if data.starts_with("postgres://") || data.starts_with("postgresql://") {
            let (base, _) = data.split_once('?').unwrap_or((data, ""));
            let name = base.rsplit_once('/').map_or("kura", |(_, n)| n);
            return kura_store::with_database(data, &format!("{name}_keys"));
        }
        format!("sqlite://{}", self.keystore_dir().join("keystore.db").display())
    }

    /// The directory of the default SQLite keystore: `<data_dir>-keystore`, a sibling of the
    /// data directory, so that a copy of the data directory never holds it.
    pub fn keystore_dir(&self) -> PathBuf {
        self.beside_data_dir("-keystore")
    }

    /// The master key file: configured, or `<data_dir>-master.key` beside the data directory.
    pub fn master_key_file(&self) -> PathBuf {
        self.encryption.master_key_file.clone().unwrap_or_else(|| self.beside_data_dir("-master.key"))
    }

    /// `<data_dir><suffix>` in the data directory's parent.
    fn beside_data_dir(&self, suffix: &str) -> PathBuf {
        let dir = std::path::absolute(&self.data_dir).unwrap_or_else(|_| self.data_dir.clone());
        let name = dir.file_name().map_or_else(|| "kura-data".into(), |n| n.to_string_lossy().into_owned());
        dir.parent().unwrap_or(&dir).join(format!("{name}{suffix}"))
    }

    /// PostgreSQL: the owner role's URL for migrations, when configured.
    pub fn database_owner_url(&self) -> Option<String> {
        Some(self.database_owner_url.expose().to_owned()).filter(|u| !u.is_empty())
    }

    /// The URL of the role that owns Kura's tables (the owner URL if configured, else the
    /// database URL): for work that must see every tenant's rows outside the store, such as
    /// `pg_dump` and the restore drill's scratch database.
    pub fn database_admin_url(&self) -> String {
        self.database_owner_url().unwrap_or_else(|| self.database_url())
    }

    /// The database to open: the configured PostgreSQL URL, or SQLite in the data directory.
    pub fn database_url(&self) -> String {
        if self.database_url.expose().is_empty() {
            format!("sqlite://{}", self.data_dir.join(crate::application::EMBEDDED_DATABASE).display())
        } else {
            self.database_url.expose().to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::settings::*;
    use std::path::Path;

    #[test]
    fn dat_2_the_keystore_and_master_key_live_beside_the_data_directory_never_inside() {
        let s = Settings::load(None, vars(&[("KURA_DATA_DIR", "/srv/kura/data")])).unwrap();
        assert_eq!(s.keystore_url(), "sqlite:///srv/kura/data-keystore/keystore.db");
        assert_eq!(s.master_key_file(), Path::new("/srv/kura/data-master.key"));
        assert!(!s.keystore_dir().starts_with(&s.data_dir) && !s.master_key_file().starts_with(&s.data_dir));
        // With PostgreSQL data, the keystore is a database of its own on the same server.
        let pg = vars(&[("KURA_DATABASE_URL", "postgres://kura:pw@db:5432/kura?sslmode=require")]);
        let s = Settings::load(None, pg).unwrap();
        assert_eq!(s.keystore_url(), "postgres://kura:pw@db:5432/kura_keys?sslmode=require");
        // Unset, encryption is on exactly when a master key is given; the key is never printed.
        assert!(!s.encryption_on());
        let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let s = Settings::load(None, vars(&[("KURA_MASTER_KEY", key)])).unwrap();
        assert!(s.encryption_on());
        assert!(!format!("{s:?}").contains(key));
        let s = Settings::load(None, vars(&[("KURA_MASTER_KEY", key), ("KURA_ENCRYPTION_ENABLED", "false")])).unwrap();
        assert!(!s.encryption_on());
    }
}
