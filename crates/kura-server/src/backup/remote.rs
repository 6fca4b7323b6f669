//! The remote copy of backups in an S3-compatible bucket (OPS-1: a copy in another region or
//! with another provider). Each backup is uploaded once made, as the objects
//! `<prefix>/<id>/<file>`: its data files first, its signed manifest last, so that a backup
//! whose manifest is in the bucket is whole there. The same retention rule as the backup
//! directory's applies. Listing, verifying and restoring read the bucket: a backup is
//! downloaded into a private scratch directory beside the local backups and checked there
//! exactly as a local one, so a remote copy proves itself by the same signature and digests.
//!
//! The client is `object_store`'s S3 client on rustls with ring (no OpenSSL, no aws-lc). Its
//! credentials come from the environment or a 0600 file, never from the configuration file, and
//! are never logged.

use super::{MANIFEST_FILE, Retention, is_backup_id};
use crate::settings::RemoteSettings;
use futures_util::StreamExt as _;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt as _, PutPayload, RetryConfig, WriteMultipart,
};
use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The S3 error codes that mean the credentials were refused.
const CREDENTIAL_CODES: [&str; 5] =
    ["SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied", "InvalidToken", "ExpiredToken"];

/// Files up to this size are uploaded in one request; larger ones in parts of this size.
const PART_BYTES: usize = 16 << 20;

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("backup.remote: {0}")]
    Config(String),
    #[error(
        "the bucket {bucket} at {endpoint} refused the credentials of access key {key_id} ({why}): check \
         backup.remote.access_key_id and the secret access key (KURA_BACKUP_REMOTE_SECRET_ACCESS_KEY or \
         backup.remote.credentials_file)"
    )]
    Credentials { bucket: String, endpoint: String, key_id: String, why: String },
    #[error("there is no backup {id} in {location}")]
    NotFound { id: String, location: String },
    #[error("the remote copy {location}: {why}")]
    Failed { location: String, why: String },
}

/// Checks the remote settings' shape, naming the option at fault (for `Settings::check`); the
/// credentials file is read when the client is made.
pub fn check_remote(r: &RemoteSettings) -> Result<(), (&'static str, String)> {
    let bad = |name, message: &str| Err((name, message.to_owned()));
    if !r.enabled() {
        let set = !r.endpoint.is_empty()
            || !r.prefix.is_empty()
            || r.allow_http
            || !r.access_key_id.is_empty()
            || !r.secret_access_key.expose().is_empty()
            || r.credentials_file.is_some();
        if set {
            return bad("backup.remote.bucket", "the remote copy is configured but has no bucket: set its bucket");
        }
        return Ok(());
    }
    let b = r.bucket.as_bytes();
    let edge = |c: Option<&u8>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if !(3..=63).contains(&b.len())
        || !b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-' || *c == b'.')
        || !edge(b.first())
        || !edge(b.last())
    {
        return bad("backup.remote.bucket", "must be a bucket name: 3 to 63 of a-z, 0-9, '.' and '-'");
    }
    if r.region.is_empty() || !r.region.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_') {
        return bad("backup.remote.region", "must be a region name such as ap-northeast-1");
    }
    let segment_ok = |s: &str| {
        !s.is_empty() && s != "." && s != ".." && s.bytes().all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c))
    };
    if !r.prefix.is_empty() && !r.prefix.split('/').all(segment_ok) {
        return bad(
            "backup.remote.prefix",
            "must be folder names of letters, digits, '.', '_' and '-' joined by '/', without a leading or trailing '/'",
        );
    }
    if !r.endpoint.is_empty() {
        let (scheme, rest) = r.endpoint.split_once("://").unwrap_or(("", ""));
        let authority = rest.split('/').next().unwrap_or("");
        if !matches!(scheme, "https" | "http") || authority.is_empty() || authority.contains('@') {
            return bad(
                "backup.remote.endpoint",
                "must be an https:// URL such as https://s3.ap-northeast-1.amazonaws.com, without credentials in it",
            );
        }
        if scheme == "http" && !(r.allow_http && is_loopback(authority)) {
            return bad(
                "backup.remote.endpoint",
                "http:// sends backups unprotected: it is allowed only on a loopback address, with \
                 backup.remote.allow_http = true; use https://",
            );
        }
    }
    if r.allow_http && !r.endpoint.starts_with("http://") {
        return bad("backup.remote.allow_http", "is only for an http:// endpoint on a loopback address");
    }
    let keys = !r.access_key_id.is_empty() || !r.secret_access_key.expose().is_empty();
    match (&r.credentials_file, keys) {
        (Some(_), true) => bad(
            "backup.remote.credentials_file",
            "give the credentials either in the file or as access_key_id and KURA_BACKUP_REMOTE_SECRET_ACCESS_KEY, not both",
        ),
        (None, _) if r.access_key_id.is_empty() || r.secret_access_key.expose().is_empty() => bad(
            "backup.remote",
            "needs credentials: backup.remote.access_key_id (or KURA_BACKUP_REMOTE_ACCESS_KEY_ID) with \
             KURA_BACKUP_REMOTE_SECRET_ACCESS_KEY, or backup.remote.credentials_file",
        ),
        _ => Ok(()),
    }
}

/// Whether the host of `authority` (`host[:port]` or `[v6][:port]`) is a loopback address.
fn is_loopback(authority: &str) -> bool {
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The two keys of a shared-credentials file: the `[default]` section's (or those before any
/// section). The file must be readable by its owner only, like the master key.
fn read_credentials_file(path: &Path) -> Result<(String, String), RemoteError> {
    use std::os::unix::fs::MetadataExt as _;
    let fail = |why: String| RemoteError::Config(format!("credentials_file {}: {why}", path.display()));
    let mut file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let meta = file.metadata().map_err(|e| fail(e.to_string()))?;
    if !meta.is_file() || meta.mode() & 0o077 != 0 {
        return Err(fail("must be a regular file readable by its owner only (chmod 600)".into()));
    }
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(|e| fail(e.to_string()))?;
    let (mut section, mut id, mut secret) = (String::from("default"), None, None);
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_owned();
        } else if let Some((key, value)) = line.split_once('=')
            && section == "default"
        {
            match key.trim() {
                "aws_access_key_id" => id = Some(value.trim().to_owned()),
                "aws_secret_access_key" => secret = Some(value.trim().to_owned()),
                _ => {}
            }
        }
    }
    match (id, secret) {
        (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => Ok((id, secret)),
        _ => Err(fail("needs aws_access_key_id and aws_secret_access_key in its [default] section".into())),
    }
}

/// A file name of a backup: not empty, not `.` or `..`, printable ASCII without `/`.
fn plain_file_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && name.bytes().all(|b| b.is_ascii_graphic() && b != b'/')
}

/// A backup as the bucket holds it.
#[derive(Clone, Debug)]
pub struct RemoteBackup {
    pub id: String,
    /// Its objects: file name and size.
    pub files: BTreeMap<String, u64>,
}

impl RemoteBackup {
    /// Whether its manifest is there (it is uploaded last).
    pub fn complete(&self) -> bool {
        self.files.contains_key(MANIFEST_FILE)
    }
    pub fn stored_bytes(&self) -> u64 {
        self.files.values().sum()
    }
}

/// The bucket backups are copied to.
#[derive(Clone)]
pub struct Remote {
    store: Arc<dyn ObjectStore>,
    bucket: String,
    prefix: String,
    endpoint: String,
    key_id: String,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote").field("bucket", &self.bucket).field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

impl Remote {
    /// The client of the configured bucket (settings already checked), or `None` without one.
    pub fn from_settings(r: &RemoteSettings) -> Result<Option<Self>, RemoteError> {
        if !r.enabled() {
            return Ok(None);
        }
        check_remote(r).map_err(|(name, why)| RemoteError::Config(format!("{name}: {why}")))?;
        let (key_id, secret) = match &r.credentials_file {
            Some(file) => read_credentials_file(file)?,
            None => (r.access_key_id.clone(), r.secret_access_key.expose().to_owned()),
        };
        // The S3 client's HTTP stack is rustls without a provider of its own: ring, as for TLS.
        let _ = (*crate::tls::provider()).clone().install_default();
        let retry =
            RetryConfig { backoff: BackoffConfig::default(), max_retries: 3, retry_timeout: Duration::from_secs(60) };
        // The client options carry `allow_http` too: setting them replaces the builder's.
        let client = ClientOptions::new()
            .with_allow_http(r.allow_http)
            .with_connect_timeout(Duration::from_secs(10))
            .with_timeout(Duration::from_secs(300));
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&r.bucket)
            .with_region(&r.region)
            .with_access_key_id(&key_id)
            .with_secret_access_key(secret)
            .with_retry(retry)
            .with_client_options(client);
        let endpoint = if r.endpoint.is_empty() {
            format!("https://s3.{}.amazonaws.com", r.region)
        } else {
            builder = builder.with_endpoint(&r.endpoint);
            r.endpoint.trim_end_matches('/').to_owned()
        };
        let store = builder.build().map_err(|e| RemoteError::Config(e.to_string()))?;
        Ok(Some(Self { store: Arc::new(store), bucket: r.bucket.clone(), prefix: r.prefix.clone(), endpoint, key_id }))
    }

    /// The same bucket, with `folder` under the prefix (the keystore's backups).
    pub fn under(&self, folder: &str) -> Self {
        let prefix = if self.prefix.is_empty() { folder.to_owned() } else { format!("{}/{folder}", self.prefix) };
        Self { prefix, ..self.clone() }
    }

    /// `s3://bucket/prefix/id/file`, as messages name an object.
    pub fn url(&self, id: &str, file: &str) -> String {
        let mut parts = vec![self.bucket.as_str()];
        parts.extend([self.prefix.as_str(), id, file].into_iter().filter(|p| !p.is_empty()));
        format!("s3://{}", parts.join("/"))
    }

    fn key(&self, id: &str, file: &str) -> ObjectPath {
        ObjectPath::from(self.url(id, file).trim_start_matches("s3://").split_once('/').map_or("", |(_, k)| k))
    }

    /// Tells a refusal of the credentials from other failures; names the object or backup.
    fn fail(&self, location: String, e: object_store::Error) -> RemoteError {
        let text = e.to_string();
        let code = text.split("<Code>").nth(1).and_then(|r| r.split("</Code>").next()).map(str::to_owned);
        // Not every call maps a refusal to `PermissionDenied`: listings come back generic, with
        // the service's code in the body.
        let refused =
            matches!(e, object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. })
                || code.as_deref().is_some_and(|c| CREDENTIAL_CODES.contains(&c));
        if refused {
            return RemoteError::Credentials {
                bucket: self.bucket.clone(),
                endpoint: self.endpoint.clone(),
                key_id: self.key_id.clone(),
                why: code.unwrap_or_else(|| "access denied".into()),
            };
        }
        RemoteError::Failed { location, why: code.map_or(text, |c| format!("the service answered {c}")) }
    }

    /// Uploads the complete backup in `dir` as `id`: every file but the manifest, then the
    /// manifest. Returns where it is.
    pub async fn upload(&self, dir: &Path, id: &str) -> Result<String, RemoteError> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map_err(|e| RemoteError::Failed { location: dir.display().to_string(), why: e.to_string() })?
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .filter(|n| n != MANIFEST_FILE)
            .collect();
        names.sort();
        names.push(MANIFEST_FILE.to_owned());
        for name in &names {
            self.upload_file(&dir.join(name), id, name).await?;
        }
        Ok(self.url(id, ""))
    }

    async fn upload_file(&self, path: &Path, id: &str, name: &str) -> Result<(), RemoteError> {
        let location = self.url(id, name);
        use tokio::io::AsyncReadExt as _;
        let local =
            |e: std::io::Error| RemoteError::Failed { location: path.display().to_string(), why: e.to_string() };
        let mut file = tokio::fs::File::open(path).await.map_err(local)?;
        let size = file.metadata().await.map_err(local)?.len();
        let key = self.key(id, name);
        if size <= PART_BYTES as u64 {
            let mut bytes = Vec::with_capacity(size as usize);
            file.read_to_end(&mut bytes).await.map_err(local)?;
            self.store.put(&key, PutPayload::from(bytes)).await.map_err(|e| self.fail(location, e))?;
            return Ok(());
        }
        let upload = self.store.put_multipart(&key).await.map_err(|e| self.fail(location.clone(), e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        let mut buf = vec![0u8; PART_BYTES];
        loop {
            let n = file.read(&mut buf).await.map_err(local)?;
            if n == 0 {
                break;
            }
            writer.wait_for_capacity(4).await.map_err(|e| self.fail(location.clone(), e))?;
            writer.write(&buf[..n]);
        }
        writer.finish().await.map_err(|e| self.fail(location, e))?;
        Ok(())
    }

    /// Every backup in the bucket, complete or not, oldest first.
    pub async fn list(&self) -> Result<Vec<RemoteBackup>, RemoteError> {
        let root = self.url("", "");
        let prefix = self.key("", "");
        let prefix = (!prefix.as_ref().is_empty()).then_some(prefix);
        let mut stream = self.store.list(prefix.as_ref());
        let mut found: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        while let Some(meta) = stream.next().await {
            let meta = meta.map_err(|e| self.fail(root.clone(), e))?;
            let key = meta.location.as_ref();
            let rest = match &prefix {
                Some(p) => key.strip_prefix(p.as_ref()).and_then(|r| r.strip_prefix('/')).unwrap_or(""),
                None => key,
            };
            // Only names a backup's files can have: a key such as `<id>/..` written by someone
            // else is never listed, so never downloaded outside the scratch directory.
            if let Some((id, file)) = rest.split_once('/')
                && is_backup_id(id)
                && plain_file_name(file)
            {
                found.entry(id.to_owned()).or_default().insert(file.to_owned(), meta.size);
            }
        }
        Ok(found.into_iter().map(|(id, files)| RemoteBackup { id, files }).collect())
    }

    /// Deletes the complete backups `retention` no longer keeps at `now`, and the incomplete
    /// uploads older than the oldest kept (with none kept, those a rule by time would delete);
    /// returns the complete ones deleted.
    pub async fn retain(&self, retention: Retention, now: jiff::Timestamp) -> Result<Vec<String>, RemoteError> {
        let all = self.list().await?;
        let complete: Vec<String> = all.iter().filter(|b| b.complete()).map(|b| b.id.clone()).collect();
        let excess = retention.excess(&complete, now);
        let oldest_kept = complete.get(excess).cloned();
        let mut deleted = Vec::new();
        for b in &all {
            let old = match &oldest_kept {
                Some(kept) => &b.id < kept,
                None => b.complete() || retention.excess(std::slice::from_ref(&b.id), now) == 1,
            };
            if !old {
                continue;
            }
            // The manifest first: from then on the backup no longer counts as whole.
            let mut files: Vec<&String> = b.files.keys().collect();
            files.sort_by_key(|f| f.as_str() != MANIFEST_FILE);
            for f in files {
                self.store.delete(&self.key(&b.id, f)).await.map_err(|e| self.fail(self.url(&b.id, f), e))?;
            }
            if b.complete() {
                tracing::info!(backup = %b.id, bucket = %self.bucket, "remote backup deleted by the retention rule");
                deleted.push(b.id.clone());
            }
        }
        Ok(deleted)
    }

    /// Downloads the complete backup `id` into the new private directory `into`.
    pub async fn download(&self, id: &str, into: &Path) -> Result<(), RemoteError> {
        let not_found = || RemoteError::NotFound { id: id.to_owned(), location: self.url("", "") };
        if !is_backup_id(id) {
            return Err(not_found());
        }
        let backup = self.list().await?.into_iter().find(|b| b.id == id && b.complete()).ok_or_else(not_found)?;
        let local =
            |e: std::io::Error| RemoteError::Failed { location: into.display().to_string(), why: e.to_string() };
        {
            use std::os::unix::fs::DirBuilderExt as _;
            std::fs::DirBuilder::new().mode(0o700).create(into).map_err(local)?;
        }
        use tokio::io::AsyncWriteExt as _;
        for name in backup.files.keys() {
            let location = self.url(id, name);
            let got = self.store.get(&self.key(id, name)).await.map_err(|e| self.fail(location.clone(), e))?;
            let target: PathBuf = into.join(name);
            let mut out = tokio::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&target)
                .await
                .map_err(local)?;
            let mut stream = got.into_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| self.fail(location.clone(), e))?;
                out.write_all(&chunk).await.map_err(local)?;
            }
            out.sync_all().await.map_err(local)?;
        }
        Ok(())
    }

    /// Where the backups are, for messages.
    pub fn describe(&self) -> String {
        format!("{} at {}", self.url("", ""), self.endpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Secret;

    fn remote(endpoint: &str, allow_http: bool) -> RemoteSettings {
        RemoteSettings {
            bucket: "kura-backups".into(),
            endpoint: endpoint.into(),
            allow_http,
            access_key_id: "AKIAEXAMPLE".into(),
            secret_access_key: Secret::new("secret"),
            ..RemoteSettings::default()
        }
    }

    #[test]
    fn ops_1_remote_settings_allow_plain_http_only_on_loopback_and_need_credentials() {
        assert!(check_remote(&RemoteSettings::default()).is_ok(), "off by default");
        assert!(check_remote(&remote("https://s3.example.jp", false)).is_ok());
        assert!(check_remote(&remote("http://127.0.0.1:9000", true)).is_ok());
        assert!(check_remote(&remote("http://[::1]:9000", true)).is_ok());
        assert_eq!(check_remote(&remote("http://127.0.0.1:9000", false)).unwrap_err().0, "backup.remote.endpoint");
        assert_eq!(check_remote(&remote("http://s3.example.jp", true)).unwrap_err().0, "backup.remote.endpoint");
        assert_eq!(check_remote(&remote("https://s3.example.jp", true)).unwrap_err().0, "backup.remote.allow_http");
        assert_eq!(check_remote(&remote("ftp://x", false)).unwrap_err().0, "backup.remote.endpoint");
        let mut r = remote("", false);
        r.secret_access_key = Secret::default();
        assert_eq!(check_remote(&r).unwrap_err().0, "backup.remote");
        r.bucket = "Bad_Bucket".into();
        assert_eq!(check_remote(&r).unwrap_err().0, "backup.remote.bucket");
        let mut r = remote("", false);
        r.prefix = "/kura".into();
        assert_eq!(check_remote(&r).unwrap_err().0, "backup.remote.prefix");
        let orphan = RemoteSettings { endpoint: "https://s3.example.jp".into(), ..RemoteSettings::default() };
        assert_eq!(check_remote(&orphan).unwrap_err().0, "backup.remote.bucket");
    }

    #[test]
    fn ops_1_only_plain_file_names_are_taken_from_the_bucket() {
        assert!(plain_file_name("database.zst.kbk") && plain_file_name("manifest.note"));
        assert!(!plain_file_name("..") && !plain_file_name(".") && !plain_file_name("") && !plain_file_name("a b"));
    }

    #[test]
    fn ops_1_remote_object_names_keep_the_prefix() {
        let mut r = remote("http://127.0.0.1:9000", true);
        r.prefix = "site-a/kura".into();
        let remote = Remote::from_settings(&r).unwrap().unwrap();
        assert_eq!(
            remote.url("20261206T201912.000123Z", "manifest.note"),
            "s3://kura-backups/site-a/kura/20261206T201912.000123Z/manifest.note"
        );
        assert_eq!(
            remote.key("20261206T201912.000123Z", "manifest.note").as_ref(),
            "site-a/kura/20261206T201912.000123Z/manifest.note"
        );
        assert_eq!(remote.url("", ""), "s3://kura-backups/site-a/kura");
    }
}
