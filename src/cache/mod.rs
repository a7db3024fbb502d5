//! The credential cache across runs: every kubectl call runs the exec plugin again, and
//! with a cache the steady state makes no STS call at all.
//!
//! It holds credentials that a call handed out (each assumed role, web identity, SSO),
//! never source keys, one file per entry named by [`key`]: a digest of who asked (the
//! access key id that signs, or the identity in a web identity token), what for (every
//! parameter that shapes the session) and where (the endpoint). A change of identity
//! anywhere below an entry changes its key, so one identity's session is never served
//! to another. An entry is used while at least 15 minutes of validity remain, so every
//! token gets its full 14 minutes. The directory must be 0700 and ours, the files 0600
//! and ours: a cache anyone else could have written is never used, and the directory is
//! checked before anything in it is read. Entries are written
//! atomically; a per-entry lock makes a burst of concurrent cold runs call STS once,
//! not once per process.

use std::cell::{Cell, OnceCell};
use std::fmt;
use std::fs::{self, File};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;
use time::OffsetDateTime;

use crate::credentials::Credentials;
use crate::credentials::REFRESH_MARGIN;
use crate::env::Env;
use crate::error::Result;
use crate::fsutil::{self, Dir, WriteOptions};
use crate::log::{vlog, Log};
use crate::secret::Secret;
use crate::session::{Session, SKEW_THRESHOLD};
use crate::timefmt;

mod clock;
mod key;

use clock::Clock;
pub(crate) use key::{key, Key};

/// Version 2: keys name the caller's identity (version 1 keyed on a label of the source;
/// its entries are not read).
const FORMAT_VERSION: u64 = 2;
/// Longest wait for another process filling the same entry.
const LOCK_WAIT: Duration = Duration::from_secs(10);
/// Entries one run's housekeeping examines at most.
pub(crate) const HOUSEKEEPING_BATCH: usize = 64;
/// Longest a run spends on housekeeping (and never more than a quarter of its time left).
const HOUSEKEEPING_TIME: Duration = Duration::from_millis(250);
/// A lock file without an entry is removed once it is this old.
const ORPHAN_LOCK_AGE: Duration = Duration::from_secs(24 * 3600);

/// The cache directory of a run. Before anything in it is read or written, the
/// directory itself is opened (created 0700 when missing; a link there is not
/// followed) and checked: 0700 and ours. Entries and locks are then opened relative to
/// that directory, without following links and without blocking, and each entry is
/// checked too (a regular file, ours, 0600, its key inside).
pub(crate) struct Cache {
    dir: PathBuf,
    log: Log,
    /// The user named the directory: problems with it are worth a warning.
    explicit: bool,
    /// Our uid, looked up when first needed.
    uid: OnceCell<u32>,
    /// The directory, opened and checked once (`None`: not usable).
    opened: OnceCell<Option<Dir>>,
    /// Housekeeping ran in this run.
    housekept: Cell<bool>,
}

/// What an entry file holds.
enum Stored {
    /// Missing.
    Unreadable,
    /// Something else than a regular file (a FIFO, a link, ...): why.
    Other(String),
    /// Not a regular file of ours alone (its mode and owner).
    NotOurs {
        mode: u32,
        uid: u32,
    },
    /// Not an entry.
    Corrupt,
    Entry(Entry),
}

/// The cache of a run, if it has one: none with `--no-cache` or without any directory
/// to put it in.
pub(crate) struct Lazy {
    cache: Option<Cache>,
}

impl Lazy {
    /// The cache directory: `--cache-dir`, `EKS_TOKEN_CACHE_DIR`,
    /// `$XDG_CACHE_HOME/eks-token`, `~/.cache/eks-token`; none with `--no-cache`.
    pub(crate) fn new(flag: Option<&Path>, no_cache: bool, env: &Env, log: &Log) -> Self {
        let explicit = flag
            .map(Path::to_path_buf)
            .or_else(|| env.get("EKS_TOKEN_CACHE_DIR").map(PathBuf::from));
        let dir = match explicit {
            _ if no_cache => None,
            Some(d) => Some((d, true)),
            None => env
                .get("XDG_CACHE_HOME")
                .map(|x| Path::new(x).join("eks-token"))
                .or_else(|| {
                    env.get("HOME")
                        .map(|h| Path::new(h).join(".cache/eks-token"))
                })
                .map(|d| (d, false)),
        };
        Lazy {
            cache: dir.map(|(dir, explicit)| Cache {
                dir,
                log: log.clone(),
                explicit,
                uid: OnceCell::new(),
                opened: OnceCell::new(),
                housekept: Cell::new(false),
            }),
        }
    }

    /// The cache, if the run has one.
    pub(crate) fn get(&self) -> Option<&Cache> {
        self.cache.as_ref()
    }
}

/// The uid of this process.
fn our_uid() -> u32 {
    rustix::process::getuid().as_raw()
}

impl Cache {
    /// Whether a file or directory with this owner and mode is ours alone: `mode` gives
    /// nothing to group or others, and `owner` is us. A root-owned one we could open
    /// (private, so only root can) needs no lookup of our uid (a system call saved on
    /// every warm run).
    fn ours(&self, owner: u32, mode: u32, opened: bool) -> bool {
        if mode & 0o077 != 0 {
            return false;
        }
        if owner == 0 && opened {
            return true;
        }
        *self.uid.get_or_init(our_uid) == owner
    }

    /// The directory, opened and checked: it exists (created 0700 when missing), is a
    /// directory and not a link to one, 0700 and ours. Decided once; a problem gets a
    /// warning (when the user named the directory, or when it exists but is unsafe).
    fn dir(&self) -> Option<&Dir> {
        self.opened
            .get_or_init(|| {
                let path = &self.dir;
                let opened = match Dir::open_nofollow(path) {
                    // Something is there: it must be a directory of ours.
                    Err(e) if fs::symlink_metadata(path).is_ok() => {
                        self.log.warn(format_args!(
                            "not using the credential cache {}: {e}; fix it or use --no-cache",
                            path.display()
                        ));
                        return None;
                    }
                    Err(_) => fsutil::create_private_dir(path)
                        .and_then(|()| Dir::open_nofollow(path)),
                    ok => ok,
                };
                let dir = match opened {
                    Ok(d) => d,
                    Err(e) => {
                        if self.explicit {
                            self.log.warn(format_args!(
                                "cache directory {} cannot be created ({e}); running without a cache",
                                path.display()
                            ));
                        }
                        return None;
                    }
                };
                let meta = dir.meta().ok()?;
                let problem = if meta.mode() & 0o077 != 0 {
                    Some(format!(
                        "its mode is {:04o}, not 0700 (others could plant credentials)",
                        meta.mode() & 0o777
                    ))
                } else if !self.ours(meta.uid(), meta.mode(), true) {
                    Some(format!("it belongs to uid {}, not to us", meta.uid()))
                } else {
                    None
                };
                if let Some(p) = problem {
                    self.log.warn(format_args!(
                        "not using the credential cache {}: {p}; fix it (chmod 700, chown) or use --no-cache",
                        path.display()
                    ));
                    return None;
                }
                vlog!(self.log, "credential cache {}", path.display());
                Some(dir)
            })
            .as_ref()
    }

    fn entry_path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    /// The entry's credentials if it is ours, intact and valid for 15 more minutes;
    /// `warn`: say why an entry that is there is not used.
    fn read(
        &self,
        s: &Session,
        key: &str,
        what: fmt::Arguments<'_>,
        warn: bool,
    ) -> Option<Credentials> {
        // Its path, for a warning only.
        let path = || self.entry_path(key);
        let entry = match self.load(key) {
            Stored::Other(e) => {
                if warn {
                    self.log.warn(format_args!(
                        "ignoring cache entry {} ({e}): it will be replaced",
                        path().display()
                    ));
                }
                return None;
            }
            Stored::Unreadable => return None,
            Stored::NotOurs { .. } if !warn => return None,
            Stored::NotOurs { mode, uid } => {
                self.log.warn(format_args!(
                    "ignoring cache entry {} (mode {:04o}, uid {uid}): it will be rewritten",
                    path().display(),
                    mode & 0o777,
                ));
                return None;
            }
            Stored::Corrupt => {
                vlog!(self.log, "cache: entry for {what} is corrupt; replacing it");
                return None;
            }
            Stored::Entry(e) => e,
        };
        if entry.version != FORMAT_VERSION || entry.key != key {
            vlog!(
                self.log,
                "cache: entry for {what} is not ours; replacing it"
            );
            return None;
        }
        let nonempty = |v: Option<String>| v.filter(|v| !v.is_empty());
        // The servers' clock as the run that filled the entry saw it, if it was off.
        if let Some(skew) = entry.skew_seconds.map(time::Duration::seconds) {
            if !entry.clock.as_ref().is_some_and(Clock::still_holds) {
                vlog!(
                    self.log,
                    "cache: entry for {what} was made on a clock that has changed since \
                     (a reboot, or a clock set); renewing"
                );
                return None;
            }
            s.clock().adopt(&self.log, skew);
        }
        let creds = Credentials {
            access_key_id: nonempty(entry.access_key_id)?,
            secret_access_key: Secret::new(nonempty(entry.secret_access_key)?),
            session_token: nonempty(entry.session_token).map(Secret::new),
            expiration: Some(timefmt::parse_rfc3339(&entry.expiration?)?),
            account_id: nonempty(entry.account_id),
        };
        // An expiry is a time of STS's: judged on its clock.
        let left = creds.expiration? - s.clock().now();
        if left < REFRESH_MARGIN {
            vlog!(
                self.log,
                "cache: {what} has only {} left; renewing",
                timefmt::human_duration(left.whole_seconds())
            );
            return None;
        }
        vlog!(
            self.log,
            "cache hit: {what} (valid {} more)",
            timefmt::human_duration(left.whole_seconds())
        );
        Some(creds)
    }

    fn write(&self, s: &Session, key: &str, creds: &Credentials) {
        let Some(exp) = creds.expiration else { return };
        let mut entry = json!({
            "version": FORMAT_VERSION,
            "key": key,
            "access_key_id": creds.access_key_id,
            "secret_access_key": creds.secret_access_key.expose(),
            "session_token": creds.session_token.as_ref().map(|t| t.expose()),
            "expiration": timefmt::format_rfc3339(exp),
            "account_id": creds.account_id,
        });
        // A clock off by more than the threshold: the warm runs sign on the servers'
        // clock too, while this machine's clock is the one it was.
        if let Some(skew) = s.clock().skew().filter(|k| k.abs() > SKEW_THRESHOLD) {
            entry["skew_seconds"] = json!(skew.whole_seconds());
            entry["clock"] = json!(Clock::now());
        }
        let Some(dir) = self.dir() else { return };
        let name = format!("{key}.json");
        if let Err(e) = dir.write_atomic(
            Path::new(&name),
            entry.to_string().as_bytes(),
            // Our directory alone: a link or FIFO at an entry's name is junk.
            WriteOptions {
                replace_any: true,
                ..WriteOptions::mode(0o600)
            },
        ) {
            self.log.warn(format_args!(
                "cannot write the credential cache entry {}: {e}",
                self.entry_path(key).display()
            ));
        }
    }

    /// The entry's credentials if it is ours, intact and valid long enough; nothing
    /// waited for, nothing written, nothing said of an entry that is not used (the walk
    /// that follows reads it again, and says).
    pub(crate) fn peek(
        &self,
        s: &Session,
        key: &str,
        what: fmt::Arguments<'_>,
    ) -> Option<Credentials> {
        self.dir()?;
        self.read(s, key, what, false)
    }

    /// The cached credentials for `key`, or `fill()`'s, which are then cached. Holds the
    /// entry's lock while filling so that concurrent runs wait for one STS call.
    /// Waits for another process's lock at most a quarter of what `remaining` (the run's
    /// time left) says, then fills without it; housekeeping afterwards takes at most a
    /// quarter of what is left then.
    pub(crate) fn get_or_fill(
        &self,
        s: &Session,
        key: &str,
        what: fmt::Arguments<'_>,
        fill: impl FnOnce() -> Result<Credentials>,
    ) -> Result<Credentials> {
        let remaining = || s.http().remaining();
        if self.dir().is_none() {
            vlog!(self.log, "cache miss: {what}");
            return fill();
        }
        if let Some(c) = self.read(s, key, what, true) {
            return Ok(c);
        }
        let lock = self.lock(key, (remaining() / 4).min(LOCK_WAIT));
        // Another process may have filled it while we waited.
        if let Some(c) = self.read(s, key, what, false) {
            return Ok(c);
        }
        vlog!(self.log, "cache miss: {what}");
        let creds = fill()?;
        self.write(s, key, &creds);
        drop(lock);
        self.housekeep(Instant::now() + (remaining() / 4).min(HOUSEKEEPING_TIME));
        Ok(creds)
    }

    /// Removes what no run will use again, a bounded batch at a time, on runs that
    /// write (a warm run does no housekeeping): entries that have expired (with their
    /// lock files), lock files without an entry that are older than a day and nobody
    /// holds, and temporary files of dead writers. At most [`HOUSEKEEPING_BATCH`]
    /// entries (an entry and its lock file are one) are examined per run, in key order
    /// from where the previous run stopped (kept in `.housekeeping`), so a directory
    /// that can be listed in half the housekeeping time (88,000 files measured in a
    /// debug build) is swept in a bounded number of runs; of a larger one, the part
    /// listed in that time is (the listing order is the file system's). Nothing is
    /// started after `deadline`, the listing included.
    fn housekeep(&self, deadline: Instant) {
        if self.housekept.replace(true) {
            return;
        }
        let Some(dir) = self.dir() else { return };
        let Ok(listing) = dir.entries() else {
            return;
        };
        // One listing, through the directory checked at start: keys, each with its entry,
        // its lock file, or both (one examined unit), and dead writers' temporary files.
        let mut keys: Vec<String> = Vec::new();
        let mut temps = Vec::new();
        let mut complete = true;
        // Half the time for the listing, so that a huge directory is still swept.
        let listed_by = Instant::now() + deadline.saturating_duration_since(Instant::now()) / 2;
        for (i, e) in listing.flatten().enumerate() {
            if i % 256 == 255 && Instant::now() >= listed_by {
                complete = false;
                break;
            }
            let name = e.file_name();
            if fsutil::temp_of(&name, None) {
                if temps.len() < HOUSEKEEPING_BATCH {
                    temps.push(name);
                }
                continue;
            }
            let Some(n) = name.to_str() else { continue };
            if let Some(key) = n.strip_suffix(".json").or_else(|| n.strip_suffix(".lock")) {
                keys.push(key.to_owned());
            }
        }
        keys.sort_unstable();
        keys.dedup();
        let cursor_name = Path::new(".housekeeping");
        let cursor = dir
            .open_regular_nofollow(cursor_name)
            .and_then(|(mut f, meta)| fsutil::read_capped(&mut f, meta.len(), 1024))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let start = keys.partition_point(|k| k.as_str() <= cursor.trim());
        let batch: Vec<&String> = keys[start..]
            .iter()
            .chain(&keys[..start])
            .take(HOUSEKEEPING_BATCH)
            .collect();
        let now = OffsetDateTime::now_utc();
        let (mut removed, mut examined) = (0, 0usize);
        for key in &batch {
            if Instant::now() >= deadline {
                complete = false;
                break;
            }
            examined += 1;
            let entry = format!("{key}.json");
            let entry = Path::new(&entry);
            if dir.lstat(entry).is_some() {
                if self.expired(key, now) {
                    removed += usize::from(dir.remove(entry));
                    removed += usize::from(self.remove_lock(key, None));
                }
            } else {
                removed += usize::from(self.remove_lock(key, Some(ORPHAN_LOCK_AGE)));
            }
        }
        for temp in temps.iter().take_while(|_| Instant::now() < deadline) {
            removed += usize::from(dir.remove_if_stale_temp(temp));
        }
        // The next run goes on after the last key examined.
        if let Some(last) = examined.checked_sub(1).map(|i| batch[i]) {
            let opts = WriteOptions {
                replace_any: true,
                ..WriteOptions::mode(0o600)
            };
            let _ = dir.write_atomic(cursor_name, last.as_bytes(), opts);
        }
        vlog!(
            self.log,
            "cache housekeeping: examined {examined} of {} entries, removed {removed} files{}",
            keys.len(),
            if complete {
                ""
            } else {
                " (stopped at its deadline)"
            }
        );
    }

    /// What the entry of `key` holds: a regular file of ours (a link there is not
    /// followed, a FIFO not waited for), read within the cap.
    fn load(&self, key: &str) -> Stored {
        let Some(dir) = self.dir() else {
            return Stored::Unreadable;
        };
        let name = format!("{key}.json");
        let (mut file, meta) = match dir.open_regular_nofollow(Path::new(&name)) {
            Ok(o) => o,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Stored::Unreadable,
            Err(e) => return Stored::Other(e.to_string()),
        };
        if !self.ours(meta.uid(), meta.mode(), true) {
            return Stored::NotOurs {
                mode: meta.mode(),
                uid: meta.uid(),
            };
        }
        let Ok(bytes) = fsutil::read_capped(&mut file, meta.len(), fsutil::cap::CACHE_ENTRY) else {
            return Stored::Corrupt;
        };
        serde_json::from_slice(&bytes).map_or(Stored::Corrupt, Stored::Entry)
    }

    /// Whether the entry of `key` is ours and expired, unreadable as an entry, or not a
    /// file at all (a FIFO, link or directory at an entry's name in our own directory:
    /// removing it follows nothing).
    fn expired(&self, key: &str, now: OffsetDateTime) -> bool {
        match self.load(key) {
            Stored::Unreadable | Stored::NotOurs { .. } => false,
            Stored::Corrupt | Stored::Other(_) => true,
            Stored::Entry(e) => e
                .expiration
                .as_deref()
                .and_then(timefmt::parse_rfc3339)
                .is_none_or(|exp| exp <= now),
        }
    }

    /// Removes the lock file of `key` when nobody holds it (and, with `min_age`, when
    /// it was last touched longer ago than that); anything else at a lock's name (a
    /// FIFO, a link, a directory) is junk in our own directory, removed at once.
    fn remove_lock(&self, key: &str, min_age: Option<Duration>) -> bool {
        let name = format!("{key}.lock");
        let name = Path::new(&name);
        let Some(dir) = self.dir() else {
            return false;
        };
        let Some(st) = dir.lstat(name) else {
            return false;
        };
        if !rustix::fs::FileType::from_raw_mode(st.st_mode).is_file() {
            return dir.remove(name);
        }
        let Ok((file, _)) = dir.open_regular_nofollow(name) else {
            return false;
        };
        let old_enough = min_age.is_none_or(|age| {
            file.metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|elapsed| elapsed > age)
        });
        old_enough && file.try_lock().is_ok() && dir.remove(name)
    }

    /// An exclusive lock on the entry's lock file (released on drop); `None` when it
    /// cannot be had in time (we then go on without it).
    fn lock(&self, key: &str, max_wait: Duration) -> Option<File> {
        let name = format!("{key}.lock");
        let file = match self.dir()?.open_lock(Path::new(&name)) {
            Ok(f) => f,
            Err(e) => {
                vlog!(self.log, "cache: no lock {name} ({e}); going on without it");
                return None;
            }
        };
        let started = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Some(file),
                Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < max_wait => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(_) => {
                    vlog!(
                        self.log,
                        "cache: another process holds the entry's lock; going on without it"
                    );
                    return None;
                }
            }
        }
    }
}

/// An entry as stored (a JSON object; unknown fields are ignored).
#[derive(serde::Deserialize)]
struct Entry {
    #[serde(default)]
    version: u64,
    #[serde(default)]
    key: String,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    session_token: Option<String>,
    expiration: Option<String>,
    account_id: Option<String>,
    /// STS's clock minus ours when the entry was made, when more than the threshold.
    #[serde(default)]
    skew_seconds: Option<i64>,
    /// This machine's clocks when it was made (with a skew only).
    #[serde(default)]
    clock: Option<Clock>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Housekeeping starts nothing after its deadline: with none left it lists,
    /// examines and removes nothing (and the next run starts where this one would have);
    /// with time, one listing finds the junk entries and a dead writer's temp file.
    #[test]
    fn housekeeping_keeps_to_its_deadline() {
        use std::os::unix::fs::PermissionsExt;
        let d = std::env::temp_dir().join(format!("eks-token-housekeep-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir(&d).unwrap();
        fs::set_permissions(&d, fs::Permissions::from_mode(0o700)).unwrap();
        let junk = ["a.json", "b.json", ".a.json.eks-token-tmp.4294967295.x"];
        for name in junk {
            fs::write(d.join(name), "not an entry").unwrap();
            fs::set_permissions(d.join(name), fs::Permissions::from_mode(0o600)).unwrap();
        }
        let env = Env::default();
        let lazy = Lazy::new(Some(&d), false, &env, &Log::default());
        lazy.get().unwrap().housekeep(Instant::now());
        for name in junk {
            assert!(d.join(name).exists(), "{name} removed past the deadline");
        }
        assert!(!d.join(".housekeeping").exists());
        let lazy = Lazy::new(Some(&d), false, &env, &Log::default());
        lazy.get()
            .unwrap()
            .housekeep(Instant::now() + Duration::from_secs(5));
        for name in junk {
            assert!(!d.join(name).exists(), "{name} kept");
        }
        assert_eq!(fs::read_to_string(d.join(".housekeeping")).unwrap(), "b");
        fs::remove_dir_all(&d).unwrap();
    }
}
