//! The master key file: 32 random bytes, created with mode 0600 and refused when group or others
//! may read it, or the same key as base64 from the environment.

use super::KeyError;
use super::keys::{KEY_LEN, KeyBytes, MasterKey};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;
use zeroize::Zeroizing;

/// The environment variable that may carry the master key as base64, instead of a file.
pub const MASTER_KEY_ENV: &str = "KURA_MASTER_KEY";

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::KeyFileIo { path: path.to_owned(), source }
}

impl MasterKey {
    /// Creates a new key file holding 32 random bytes, readable and writable by its owner only.
    /// Refuses to overwrite an existing file: losing a master key loses every tenant's data.
    pub fn create_file(path: &Path) -> Result<Self, KeyError> {
        let bytes = KeyBytes::random();
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(io_error(path))?;
        let written = file.write_all(bytes.expose()).and_then(|()| file.sync_all());
        if let Err(source) = written {
            // A partly written key must not be found and refused as malformed at the next start.
            drop(file);
            let _ = std::fs::remove_file(path);
            return Err(KeyError::KeyFileIo { path: path.to_owned(), source });
        }
        // The directory entry too must survive a crash: a lost master key loses every tenant's data.
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            File::open(parent).and_then(|dir| dir.sync_all()).map_err(io_error(parent))?;
        }
        Ok(Self::from_key_bytes(&bytes))
    }

    /// Reads a key file, refusing one that group or others can read or write, and anything but
    /// a regular file (a symbolic link could point the key at a file someone else controls).
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let meta = std::fs::symlink_metadata(path).map_err(io_error(path))?;
        if !meta.file_type().is_file() {
            return Err(KeyError::NotAKeyFile { path: path.to_owned() });
        }
        let mut file = File::open(path).map_err(io_error(path))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = file.metadata().map_err(io_error(path))?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KeyError::KeyFileTooOpen { path: path.to_owned(), mode });
            }
        }
        // One byte more than a key, so that a longer file is noticed rather than truncated.
        let mut buf = Zeroizing::new([0u8; KEY_LEN + 1]);
        let mut read = 0;
        loop {
            let n = file.read(&mut buf[read..]).map_err(io_error(path))?;
            if n == 0 {
                break;
            }
            read += n;
            if read == buf.len() {
                break;
            }
        }
        let bytes = (read == KEY_LEN).then(|| KeyBytes::from_slice(&buf[..KEY_LEN])).flatten();
        let bytes = bytes.ok_or_else(|| KeyError::BadKeyFile { path: path.to_owned() })?;
        Ok(Self::from_key_bytes(&bytes))
    }

    /// Reads the key file if it exists, or creates it.
    pub fn load_or_create_file(path: &Path) -> Result<(Self, bool), KeyError> {
        match Self::create_file(path) {
            Ok(key) => Ok((key, true)),
            Err(KeyError::KeyFileIo { source, .. }) if source.kind() == std::io::ErrorKind::AlreadyExists => {
                Ok((Self::from_file(path)?, false))
            }
            Err(e) => Err(e),
        }
    }
}

/// The master key from the environment value when one is given (base64 of 32 bytes), otherwise
/// from the key file, created on first use. Returns the key and whether the file was just created.
/// The value is passed in rather than read here, so that configuration stays in one place.
pub fn load_master_key(env_value: Option<&str>, path: &Path) -> Result<(MasterKey, bool), KeyError> {
    match env_value {
        Some(value) => Ok((MasterKey::from_base64(value)?, false)),
        None => MasterKey::load_or_create_file(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::KeyProvider as _;

    #[test]
    fn dat_2_master_key_file_is_created_owner_only_and_reloads_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let (created, fresh) = load_master_key(None, &path).unwrap();
        assert!(fresh);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let (again, fresh) = load_master_key(None, &path).unwrap();
        assert!(!fresh);
        assert_eq!(created.master_key_id(), again.master_key_id());
        // create_file never overwrites an existing key.
        assert!(matches!(MasterKey::create_file(&path), Err(KeyError::KeyFileIo { .. })));
    }

    #[cfg(unix)]
    #[test]
    fn dat_2_master_key_file_readable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        MasterKey::create_file(&path).unwrap();
        for mode in [0o640, 0o604, 0o660, 0o620] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = MasterKey::from_file(&path).unwrap_err();
            assert!(matches!(err, KeyError::KeyFileTooOpen { mode: m, .. } if m == mode), "{mode:o}: {err}");
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
        MasterKey::from_file(&path).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn dat_2_master_key_path_that_is_a_link_or_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("master.key");
        MasterKey::create_file(&real).unwrap();
        let link = dir.path().join("link.key");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(matches!(MasterKey::from_file(&link), Err(KeyError::NotAKeyFile { .. })));
        assert!(matches!(MasterKey::from_file(dir.path()), Err(KeyError::NotAKeyFile { .. })));
        assert!(matches!(MasterKey::from_file(&dir.path().join("absent")), Err(KeyError::KeyFileIo { .. })));
    }

    #[test]
    fn dat_2_master_key_file_of_the_wrong_length_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        for len in [0usize, 31, 33, 64] {
            let path = dir.path().join(format!("k{len}"));
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt as _;
                options.mode(0o600);
            }
            options.open(&path).unwrap().write_all(&vec![7u8; len]).unwrap();
            assert!(matches!(MasterKey::from_file(&path), Err(KeyError::BadKeyFile { .. })), "{len}");
        }
    }

    #[test]
    fn dat_2_master_key_from_environment_is_base64_of_32_bytes() {
        use base64::Engine as _;
        let raw = [42u8; 32];
        let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
        let a = load_master_key(Some(&b64), Path::new("/nonexistent/never-created")).unwrap().0;
        let b = MasterKey::from_base64(b64.trim_end_matches('=')).unwrap();
        assert_eq!(a.master_key_id(), b.master_key_id());
        let short = base64::engine::general_purpose::STANDARD.encode([1u8; 16]);
        assert!(matches!(MasterKey::from_base64(&short), Err(KeyError::BadMasterKey)));
        assert!(matches!(MasterKey::from_base64("not base64!"), Err(KeyError::BadMasterKey)));
        // The id names the key without showing it; Debug prints the id only.
        let debug = format!("{a:?}");
        assert!(debug.contains(a.master_key_id().as_str()));
        assert!(!debug.contains("42, 42") && !debug.contains(&b64), "{debug}");
    }
}
