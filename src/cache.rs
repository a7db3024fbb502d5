//! The credential cache across runs: every kubectl call runs the exec plugin again, and
//! with a cache the steady state makes no STS call at all.
//!
//! It holds the credentials of assumed roles only (the web identity hop and each
//! `--role-arn` hop), never source keys, one file per entry named by a SHA-256 of
//! everything that determines the credentials. An entry is used while at least 15
//! minutes of validity remain, so every token gets its full 14 minutes. The directory
//! must be 0700 and ours, the files 0600 and ours: a cache anyone else could have
//! written is never used. Entries are written atomically; a per-entry lock makes a
//! burst of concurrent cold runs call STS once, not once per process.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ring::digest;
use serde_json::json;
use time::OffsetDateTime;

use crate::credentials::Credentials;
use crate::env::Env;
use crate::error::Result;
use crate::secret::Secret;
use crate::{fsutil, log, timefmt, vlog, REFRESH_MARGIN};

const FORMAT_VERSION: u64 = 1;
/// Longest wait for another process filling the same entry.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// An open, trusted cache directory.
#[derive(Debug)]
pub struct Cache {
    dir: PathBuf,
    /// Our uid (None without /proc): entries must belong to it.
    uid: Option<u32>,
}

/// The cache of a run, opened on first use: a run that assumes no role (environment
/// credentials) neither looks for nor creates the directory.
pub struct Lazy {
    dir: Option<PathBuf>,
    disabled: bool,
    env: Env,
    cache: std::cell::OnceCell<Option<Cache>>,
}

impl Lazy {
    /// `--cache-dir`, `--no-cache` and the environment they fall back on.
    pub fn new(flag: Option<&Path>, no_cache: bool, env: &Env) -> Self {
        Lazy {
            dir: flag.map(Path::to_path_buf),
            disabled: no_cache,
            env: env.clone(),
            cache: std::cell::OnceCell::new(),
        }
    }

    /// The cache, if there is a usable one (see [`Cache::open`]).
    pub fn get(&self) -> Option<&Cache> {
        if self.disabled {
            return None;
        }
        self.cache
            .get_or_init(|| Cache::open(self.dir.as_deref(), &self.env))
            .as_ref()
    }
}

/// The uid of this process, from /proc (no libc call needed).
fn our_uid() -> Option<u32> {
    fs::metadata("/proc/self").ok().map(|m| m.uid())
}

impl Cache {
    /// The cache directory: `--cache-dir`, `EKS_TOKEN_CACHE_DIR`,
    /// `$XDG_CACHE_HOME/eks-token`, `~/.cache/eks-token`; `None` when there is none, or
    /// when it cannot be made private (a read-only root, no HOME: the cache is off,
    /// without noise).
    pub fn open(flag: Option<&Path>, env: &Env) -> Option<Cache> {
        let explicit = flag
            .map(Path::to_path_buf)
            .or_else(|| env.get("EKS_TOKEN_CACHE_DIR").map(PathBuf::from));
        let dir = explicit.clone().or_else(|| {
            env.get("XDG_CACHE_HOME")
                .map(|x| Path::new(x).join("eks-token"))
                .or_else(|| {
                    env.get("HOME")
                        .map(|h| Path::new(h).join(".cache/eks-token"))
                })
        })?;
        if let Err(e) = fsutil::create_private_dir(&dir) {
            if explicit.is_some() {
                log::warn(format_args!(
                    "cache directory {} cannot be created ({e}); running without a cache",
                    dir.display()
                ));
            }
            return None;
        }
        let meta = fs::symlink_metadata(&dir).ok()?;
        let uid = our_uid();
        let problem = if !meta.is_dir() {
            Some("it is not a directory".to_owned())
        } else if meta.mode() & 0o077 != 0 {
            Some(format!(
                "its mode is {:04o}, not 0700 (others could plant credentials)",
                meta.mode() & 0o777
            ))
        } else if uid.is_some_and(|u| u != meta.uid()) {
            Some(format!("it belongs to uid {}, not to us", meta.uid()))
        } else {
            None
        };
        if let Some(p) = problem {
            log::warn(format_args!(
                "not using the credential cache {}: {p}; fix it (chmod 700, chown) or use --no-cache",
                dir.display()
            ));
            return None;
        }
        vlog!("credential cache {}", dir.display());
        Some(Cache { dir, uid })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key of an entry: SHA-256 of its parts.
    pub fn key(parts: &[&str]) -> String {
        let mut ctx = digest::Context::new(&digest::SHA256);
        for p in parts {
            ctx.update(&(p.len() as u64).to_le_bytes());
            ctx.update(p.as_bytes());
        }
        hex::encode(ctx.finish())
    }

    /// The key of an entry for credentials got from STS at `endpoint`: the parts, then
    /// the endpoint's URL and signing region.
    pub fn key_at(endpoint: &crate::endpoint::Endpoint, parts: &[&str]) -> String {
        let url = endpoint.url("/");
        let mut all: Vec<&str> = parts.to_vec();
        all.extend([url.as_str(), endpoint.signing_region.as_str()]);
        Self::key(&all)
    }

    fn entry_path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    /// The entry's credentials if it is ours, intact and valid for 15 more minutes.
    fn read(&self, key: &str, what: &str) -> Option<Credentials> {
        let path = self.entry_path(key);
        let file = File::open(&path).ok()?;
        let meta = file.metadata().ok()?;
        if meta.mode() & 0o077 != 0 || self.uid.is_some_and(|u| u != meta.uid()) {
            log::warn(format_args!(
                "ignoring cache entry {} (mode {:04o}, uid {}): it will be rewritten",
                path.display(),
                meta.mode() & 0o777,
                meta.uid()
            ));
            return None;
        }
        let json: serde_json::Value =
            match serde_json::from_reader(std::io::Read::take(file, 1 << 16)) {
                Ok(j) => j,
                Err(_) => {
                    vlog!("cache: entry for {what} is corrupt; replacing it");
                    return None;
                }
            };
        let get = |k: &str| {
            json.get(k)
                .and_then(|v| v.as_str())
                .filter(|v| !v.is_empty())
        };
        if json.get("version").and_then(|v| v.as_u64()) != Some(FORMAT_VERSION)
            || get("key") != Some(key)
        {
            vlog!("cache: entry for {what} is not ours; replacing it");
            return None;
        }
        let creds = Credentials {
            access_key_id: get("access_key_id")?.to_owned(),
            secret_access_key: Secret::new(get("secret_access_key")?),
            session_token: get("session_token").map(Secret::new),
            expiration: Some(timefmt::parse_rfc3339(get("expiration")?)?),
            account_id: get("account_id").map(str::to_owned),
        };
        let left = creds.expiration? - OffsetDateTime::now_utc();
        if left < REFRESH_MARGIN {
            vlog!(
                "cache: {what} has only {} left; renewing",
                timefmt::human_duration(left.whole_seconds())
            );
            return None;
        }
        vlog!(
            "cache hit: {what} (valid {} more)",
            timefmt::human_duration(left.whole_seconds())
        );
        Some(creds)
    }

    fn write(&self, key: &str, creds: &Credentials) {
        let Some(exp) = creds.expiration else { return };
        let entry = json!({
            "version": FORMAT_VERSION,
            "key": key,
            "access_key_id": creds.access_key_id,
            "secret_access_key": creds.secret_access_key.expose(),
            "session_token": creds.session_token.as_ref().map(|t| t.expose()),
            "expiration": timefmt::format_rfc3339(exp),
            "account_id": creds.account_id,
        });
        if let Err(e) =
            fsutil::write_atomic(&self.entry_path(key), entry.to_string().as_bytes(), 0o600)
        {
            log::warn(format_args!(
                "cannot write the credential cache {}: {e}",
                self.dir.display()
            ));
        }
    }

    /// The cached credentials for `key`, or `fill()`'s, which are then cached. Holds the
    /// entry's lock while filling so that concurrent runs wait for one STS call.
    pub fn get_or_fill(
        &self,
        key: &str,
        what: &str,
        fill: impl FnOnce() -> Result<Credentials>,
    ) -> Result<Credentials> {
        if let Some(c) = self.read(key, what) {
            return Ok(c);
        }
        let _lock = self.lock(key);
        // Another process may have filled it while we waited.
        if let Some(c) = self.read(key, what) {
            return Ok(c);
        }
        vlog!("cache miss: {what}");
        let creds = fill()?;
        self.write(key, &creds);
        Ok(creds)
    }

    /// An exclusive lock on the entry's lock file (released on drop); `None` when it
    /// cannot be had in time (we then go on without it).
    fn lock(&self, key: &str) -> Option<File> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(self.dir.join(format!("{key}.lock")))
            .ok()?;
        let started = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Some(file),
                Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < LOCK_WAIT => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(_) => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_separate_their_parts() {
        assert_ne!(Cache::key(&["ab", "c"]), Cache::key(&["a", "bc"]));
        assert_eq!(Cache::key(&["a", "b"]), Cache::key(&["a", "b"]));
        assert_eq!(Cache::key(&["x"]).len(), 64);
    }
}
