//! A user's kubeconfig file, updated as `aws eks update-kubeconfig` updates it: read
//! (a missing or empty file is a new kubeconfig), checked writable before anything is
//! asked of AWS, entries merged by name, replaced atomically keeping its mode (0600 when
//! new), owner and group; a symbolic link stays one (its target is written, created when
//! missing, as aws-cli does). Writing takes client-go's lock (`<kubeconfig>.lock`,
//! created exclusively, as kubectl does): two runs, or a run and `kubectl config`, both
//! keep their changes.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use yaml_rust2::yaml::Hash;

use super::{absolute, has_entry, insert, parse, set, skeleton, write, Cluster, Context, User};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::fsutil::{self, Dir, Links, WriteOptions};
use crate::yaml::string;

/// A kubeconfig file as read: its path, its content, and its metadata when it exists;
/// with the directory it was read from, held open, and its name there (the file
/// written is the one read, whatever happens to the path meanwhile).
pub struct File {
    path: PathBuf,
    content: Hash,
    meta: Option<fs::Metadata>,
    at: Option<(Dir, PathBuf)>,
}

fn invalid(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::InvalidInput(format!(
        "the kubeconfig {} cannot be used: {why}; fix it or name another with --kubeconfig \
         (it was left as it is)",
        path.display()
    ))
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        what: format!("{what} the kubeconfig {}", path.display()),
        source: e,
    }
}

impl File {
    /// Reads `path`: a missing or empty file is a new kubeconfig; anything else must be
    /// one YAML document that is a mapping whose lists are lists of mappings (aws-cli's
    /// checks). With `create`, missing directories of the path are created (0700), as
    /// kubectl and aws-cli create them; without, a missing directory is a new
    /// kubeconfig. Links are followed as far as they may be trusted (root follows only
    /// root's); the file read is then held for the write.
    pub fn load(path: &Path, create: bool, deadline: Instant) -> Result<File> {
        let fresh = |at| File {
            path: path.to_path_buf(),
            content: skeleton(),
            meta: None,
            at,
        };
        let (dir, name) = match fsutil::locate(path, create.then_some(0o700)) {
            Ok(found) => found,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !create => {
                return Ok(fresh(None))
            }
            Err(e) => return Err(io_error("cannot use", path, e)),
        };
        let (text, meta) = match dir.read(&name, super::MAX_FILE_BYTES, Links::Refuse) {
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(fresh(Some((dir, name))))
            }
            Err(e) => return Err(io_error("cannot read", path, e)),
        };
        let text = String::from_utf8(text).map_err(|_| invalid(path, "it is not UTF-8 text"))?;
        let content = parse(&text, deadline).map_err(|why| invalid(path, why))?;
        Ok(File {
            path: path.to_path_buf(),
            content,
            meta: Some(meta),
            at: Some((dir, name)),
        })
    }

    /// The path it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether it has a cluster entry named `name`.
    pub fn has_cluster(&self, name: &str) -> bool {
        has_entry(&self.content, "clusters", name)
    }

    /// Refuses a kubeconfig the caller may not write, as kubectl would (it opens the
    /// file for writing; root may write any), or whose owner and group a replacement
    /// could not keep: the file is replaced atomically, so the new file is the caller's
    /// unless root gives it the old owner. A group the caller is not in is let go only
    /// when the mode gives that group nothing.
    pub fn check_writable(&self) -> Result<()> {
        let (Some(meta), Some((dir, name))) = (&self.meta, &self.at) else {
            return Ok(());
        };
        let refuse = |why: String| {
            Err(Error::Io {
                what: format!("cannot write the kubeconfig {}", self.path.display()),
                source: std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!("{why}; it was left as it is"),
                ),
            })
        };
        if let Err(e) = dir.check_writable(name) {
            return refuse(format!(
                "{e} (mode {:04o}, owner uid {}): make it writable (chmod u+w) or name another \
                 with --kubeconfig",
                meta.mode() & 0o7777,
                meta.uid()
            ));
        }
        if rustix::process::geteuid().is_root() {
            return Ok(());
        }
        if meta.uid() != rustix::process::geteuid().as_raw() {
            return refuse(format!(
                "it belongs to uid {}, and a file eks-token replaces would be yours: run as uid \
                 {} (or as root, which keeps the owner)",
                meta.uid(),
                meta.uid()
            ));
        }
        if !in_group(meta.gid()) && meta.mode() & 0o070 != 0 {
            return refuse(format!(
                "its group is gid {}, which you are not in, and its mode {:04o} gives that group \
                 access a replacement could not keep",
                meta.gid(),
                meta.mode() & 0o7777
            ));
        }
        Ok(())
    }

    /// Merges the entries, replacing those of the same names, and makes `context`
    /// current; whether a cluster entry of that name was replaced.
    pub fn merge(&mut self, cluster: &Cluster, user: &User, context: &Context) -> bool {
        let replaced = insert(&mut self.content, "clusters", cluster.yaml());
        insert(&mut self.content, "users", user.yaml());
        insert(&mut self.content, "contexts", context.yaml());
        set(
            &mut self.content,
            "current-context",
            string(&context.name),
            true,
        );
        replaced
    }

    /// The text it would be written as, checked to read back as what it holds (aws-cli's
    /// layout where it covers it) and to be no larger than a kubeconfig read.
    pub fn text(&self, deadline: Instant) -> Result<String> {
        write(&self.content, deadline).map_err(|why| invalid(&self.path, why))
    }

    /// Replaces the file with `text` (see [`File::text`]), atomically, through the
    /// directory it was read from: its mode (0600 when new), owner and group kept.
    pub fn write(&self, text: &str) -> Result<()> {
        let Some((dir, name)) = &self.at else {
            return Err(io_error(
                "cannot write",
                &self.path,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "its directory is not there (read without creating it)",
                ),
            ));
        };
        let opts = WriteOptions {
            mode: self.meta.as_ref().map_or(0o600, |m| m.mode() & 0o7777),
            dir_mode: 0o700,
            owner: self.meta.as_ref().and_then(owner_of),
            replace_any: false,
        };
        dir.write_atomic(name, text.as_bytes(), opts)
            .map_err(|e| io_error("cannot write", &self.path, e))
    }
}

/// The owner and group to give the replacement: the file's (root keeps a user's file
/// theirs; a user keeps a group they are in), else the caller's.
fn owner_of(meta: &fs::Metadata) -> Option<(u32, u32)> {
    let root = rustix::process::geteuid().is_root();
    (root || in_group(meta.gid())).then(|| (meta.uid(), meta.gid()))
}

/// Whether this process is in the group `gid` (its own or a supplementary one).
fn in_group(gid: u32) -> bool {
    let gid = rustix::process::Gid::from_raw(gid);
    rustix::process::getegid() == gid
        || rustix::process::getgroups().is_ok_and(|g| g.contains(&gid))
}

/// client-go's lock on a kubeconfig: `<path>.lock`, created exclusively (kubectl gives
/// up at once when it exists; eks-token waits within the deadline). The lock's directory
/// is opened once (its path's links followed as far as they may be trusted, none at the
/// directory itself), and the lock is created and removed relative to it: a directory
/// swapped for a link meanwhile redirects nothing. Only the lock this run created (the
/// same inode) is removed: when dropped, or by [`LockRelease::release`] (a signal's).
pub struct Lock {
    held: Arc<Held>,
}

struct Held {
    dir: Dir,
    name: PathBuf,
    id: (u64, u64),
}

/// A way to remove a lock from another thread (a signal handler's), once.
#[derive(Clone)]
pub struct LockRelease(Arc<Held>);

impl LockRelease {
    /// Removes the lock if it is still the one created.
    pub fn release(&self) {
        self.0.dir.remove_own(&self.0.name, self.0.id);
    }
}

impl Lock {
    /// Takes the lock of the kubeconfig `path`, waiting for another holder until
    /// `deadline`; the error names the lock file.
    pub fn take(path: &Path, deadline: Instant) -> Result<Lock> {
        let mut name = path.as_os_str().to_owned();
        name.push(".lock");
        let lock = PathBuf::from(name);
        let cannot = |e: std::io::Error| Error::Io {
            what: format!("cannot create the lock file {}", lock.display()),
            source: e,
        };
        let (parent, file_name) = match (lock.parent(), lock.file_name()) {
            (Some(p), Some(n)) if !p.as_os_str().is_empty() => (p.to_path_buf(), n.to_owned()),
            (_, Some(n)) => (PathBuf::from("."), n.to_owned()),
            _ => {
                return Err(cannot(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "it names no file",
                )))
            }
        };
        // The directory, opened once: created 0700 when missing, as kubectl does.
        let (pdir, pname) = fsutil::locate(&parent, Some(0o700)).map_err(cannot)?;
        let dir = match pdir.subdir(&pname) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                pdir.mkdir_open(&pname, 0o700, parent.clone())
            }
            other => other,
        }
        .map_err(cannot)?;
        let name = PathBuf::from(file_name);
        let started = Instant::now();
        loop {
            match dir.create_new(&name, 0o600) {
                Ok(id) => {
                    return Ok(Lock {
                        held: Arc::new(Held { dir, name, id }),
                    })
                }
                Err(e)
                    if e.kind() == std::io::ErrorKind::AlreadyExists
                        && Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    return Err(Error::Io {
                        what: format!("cannot update the kubeconfig {}", path.display()),
                        source: std::io::Error::new(
                            std::io::ErrorKind::WouldBlock,
                            format!(
                                "its lock file {} is held by another program (kubectl or \
                                 eks-token); waited {:.1} s (--timeout). If none is running, \
                                 remove the lock file",
                                lock.display(),
                                started.elapsed().as_secs_f64()
                            ),
                        ),
                    })
                }
                Err(e) => return Err(cannot(e)),
            }
        }
    }

    /// A way to remove the lock from another thread.
    pub fn release_handle(&self) -> LockRelease {
        LockRelease(self.held.clone())
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        self.held.dir.remove_own(&self.held.name, self.held.id);
    }
}

/// The kubeconfig files to consider: `explicit` (`--kubeconfig`), else the paths of
/// `KUBECONFIG`, else `~/.kube/config`. Each is made absolute as aws-cli does
/// (`os.path.abspath(os.path.expanduser(p))`), so that messages name the file wherever
/// the command ran.
pub fn candidates(explicit: Option<&Path>, env: &Env) -> Result<Vec<PathBuf>> {
    let home = env.get("HOME").map(PathBuf::from);
    let expand = |p: &str| -> PathBuf {
        match (p.strip_prefix("~/"), &home) {
            (Some(rest), Some(h)) => absolute(&h.join(rest)),
            _ => absolute(Path::new(p)),
        }
    };
    if let Some(p) = explicit {
        return Ok(vec![expand(&p.to_string_lossy())]);
    }
    let from_env: Vec<PathBuf> = env
        .get("KUBECONFIG")
        .map(|v| {
            v.split(':')
                .filter(|p| !p.trim().is_empty())
                .map(expand)
                .collect()
        })
        .unwrap_or_default();
    if !from_env.is_empty() {
        return Ok(from_env);
    }
    match home {
        Some(h) => Ok(vec![absolute(&h.join(".kube/config"))]),
        None => Err(Error::InvalidInput(
            "no kubeconfig to update: HOME and KUBECONFIG are not set; use --kubeconfig FILE"
                .into(),
        )),
    }
}
