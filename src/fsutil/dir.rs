//! Writing: a directory held open ([`Dir`]) and the path walk that finds one ([`locate`]).

use super::*;
/// How [`Dir::write_atomic`] writes a file.
#[derive(Clone, Copy, Debug)]
pub struct WriteOptions {
    /// The file's mode (exactly: the umask does not narrow it).
    pub mode: u32,
    /// The mode of directories that have to be created (0700 unless a group should
    /// reach the file).
    pub dir_mode: u32,
    /// Owner and group to give the file (root updating a user's file keeps it theirs);
    /// `None`: the caller's.
    pub owner: Option<(u32, u32)>,
    /// Whatever is at the name is replaced: a link, a FIFO, a device (for a directory
    /// that is ours alone, where anything but our file is junk). `false`: only a regular
    /// file is; anything else is an error, and stays.
    pub replace_any: bool,
}

impl WriteOptions {
    /// A file of the caller's with `mode`, in directories created 0700, replacing only a
    /// regular file.
    pub fn mode(mode: u32) -> Self {
        WriteOptions {
            mode,
            dir_mode: 0o700,
            owner: None,
            replace_any: false,
        }
    }
}

/// A directory held open: the files in it are opened, created, renamed and removed
/// relative to it, never by a path looked up again, so a directory (or a link in the
/// path to it) swapped meanwhile redirects nothing.
pub struct Dir {
    fd: File,
    path: PathBuf,
}

impl Dir {
    /// The existing directory at `path` (links in the path are followed: it is the
    /// user's path).
    pub fn open(path: &Path) -> io::Result<Dir> {
        let fd = rustix::fs::open(
            nonempty(path),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Dir {
            fd: File::from(fd),
            path: path.to_path_buf(),
        })
    }

    /// The directory at `path` itself, a link there not followed (an error saying what
    /// is there instead of a directory).
    pub(crate) fn open_nofollow(path: &Path) -> io::Result<Dir> {
        let fd = rustix::fs::open(
            nonempty(path),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| match e {
            Errno::NOTDIR | Errno::LOOP => match fs::symlink_metadata(path) {
                Ok(m) => io::Error::new(
                    io::ErrorKind::NotADirectory,
                    format!("it is {}, not a directory", describe(m.mode())),
                ),
                Err(e) => e,
            },
            e => e.into(),
        })?;
        Ok(Dir {
            fd: File::from(fd),
            path: path.to_path_buf(),
        })
    }

    /// The directory at `path`, created with its missing parents when absent. Each
    /// directory is created relative to its parent held open and then opened without
    /// following a link; a directory created here gets exactly `mode` (the umask does
    /// not narrow it); existing ones are left as they are.
    pub fn create(path: &Path, mode: u32) -> io::Result<Dir> {
        match Dir::open(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) if e.kind() == io::ErrorKind::NotADirectory => {
                return Err(not_a_directory(path).unwrap_or(e))
            }
            other => return other,
        }
        let (parent, name) = match (path.parent(), path.components().next_back()) {
            (Some(p), Some(Component::Normal(n))) => (p, Path::new(n)),
            (Some(p), Some(Component::ParentDir)) => (p, Path::new("..")),
            _ => return Dir::open(path),
        };
        Dir::create(parent, mode)?.mkdir_open(name, mode, path.to_path_buf())
    }

    /// The directory `name` in this one, made with `mode` if missing (given its mode
    /// exactly, past the umask, only when this process made it and owns it), opened
    /// without following a link; `path` names it in messages.
    pub(crate) fn mkdir_open(&self, name: &Path, mode: u32, path: PathBuf) -> io::Result<Dir> {
        let created = match rustix::fs::mkdirat(&self.fd, name, Mode::from_raw_mode(mode)) {
            Ok(()) => true,
            Err(Errno::EXIST) => false,
            Err(e) => return Err(e.into()),
        };
        let fd = rustix::fs::openat(
            &self.fd,
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(refused_link)?;
        let dir = Dir {
            fd: File::from(fd),
            path,
        };
        if created && dir.meta()?.uid() == rustix::process::geteuid().as_raw() {
            rustix::fs::fchmod(&dir.fd, Mode::from_raw_mode(mode))?;
        }
        Ok(dir)
    }

    /// The directory's own metadata.
    pub fn meta(&self) -> io::Result<Metadata> {
        self.fd.metadata()
    }

    /// Whether this process may write the file `name` (as `access(2)` says: root may
    /// write any).
    pub fn check_writable(&self, name: &Path) -> io::Result<()> {
        rustix::fs::accessat(
            &self.fd,
            name,
            rustix::fs::Access::WRITE_OK,
            AtFlags::empty(),
        )
        .map_err(io::Error::from)
    }

    /// The path it was opened by (for messages).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What is at `name` itself (a link not followed), or `None`.
    pub(crate) fn lstat(&self, name: &Path) -> Option<rustix::fs::Stat> {
        rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW).ok()
    }

    /// Opens the regular file `name` for reading, non-blocking (a FIFO's open does not
    /// wait), a link there not followed. For directories only trusted users can write
    /// (ours, 0700): a device cannot be planted there.
    pub(crate) fn open_regular_nofollow(&self, name: &Path) -> io::Result<(File, Metadata)> {
        let fd = rustix::fs::openat(&self.fd, name, READ | OFlags::NOFOLLOW, Mode::empty())
            .map_err(|e| self.in_words(e, name))?;
        let file = File::from(fd);
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(not_regular(meta.mode()));
        }
        Ok((file, meta))
    }

    /// Reads the regular file `name` of this directory, as `open_regular` does for a
    /// path (a link there followed only with [`Links::Follow`]), within `max` bytes;
    /// with its metadata.
    pub fn read(&self, name: &Path, max: u64, links: Links) -> io::Result<(Vec<u8>, Metadata)> {
        let (mut file, meta) = open_regular_at(&self.fd, name, links)?;
        Ok((read_capped(&mut file, meta.len(), max)?, meta))
    }

    /// Opens (creating it 0600 if missing) the lock file `name` for writing, without
    /// following a link and without blocking; only a regular file is a lock.
    pub(crate) fn open_lock(&self, name: &Path) -> io::Result<File> {
        let fd = rustix::fs::openat(
            &self.fd,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::NOFOLLOW,
            Mode::from_raw_mode(0o600),
        )
        .map_err(|e| self.in_words(e, name))?;
        let file = File::from(fd);
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(not_regular(meta.mode()));
        }
        Ok(file)
    }

    /// An open error, in words where what is at `name` explains it (a FIFO without a
    /// reader, a link not followed, a directory).
    fn in_words(&self, e: Errno, name: &Path) -> io::Error {
        match (e, self.lstat(name)) {
            (Errno::LOOP | Errno::NXIO | Errno::ISDIR | Errno::NODEV, Some(st)) => io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("it is {}, not a regular file", describe(st.st_mode)),
            ),
            (e, _) => e.into(),
        }
    }

    /// The directory `name` in this one, opened without following a link there.
    pub(crate) fn subdir(&self, name: &Path) -> io::Result<Dir> {
        let fd = rustix::fs::openat(
            &self.fd,
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(refused_link)?;
        Ok(Dir {
            fd: File::from(fd),
            path: self.path.join(name),
        })
    }

    /// Creates the file `name` exclusively (`O_EXCL`, never through a link) with
    /// `mode`; the device and inode of the file created, which [`Dir::remove_own`]
    /// checks. `AlreadyExists` when something is there.
    pub(crate) fn create_new(&self, name: &Path, mode: u32) -> io::Result<(u64, u64)> {
        let fd = rustix::fs::openat(
            &self.fd,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(mode),
        )?;
        let meta = File::from(fd).metadata()?;
        Ok((meta.dev(), meta.ino()))
    }

    /// Removes `name` only when it is the file `id` (device, inode) that
    /// [`Dir::create_new`] made: what someone else put there meanwhile stays.
    pub(crate) fn remove_own(&self, name: &Path, id: (u64, u64)) -> bool {
        // `dev_t` and `ino_t` are not u64 on every target.
        #[allow(clippy::unnecessary_cast)]
        match self.lstat(name) {
            Some(st) if (st.st_dev as u64, st.st_ino as u64) == id => {
                rustix::fs::unlinkat(&self.fd, name, AtFlags::empty()).is_ok()
            }
            _ => false,
        }
    }

    /// Removes `name` (a file, link, FIFO or socket; an empty directory).
    pub(crate) fn remove(&self, name: &Path) -> bool {
        let dir = self
            .lstat(name)
            .is_some_and(|st| rustix::fs::FileType::from_raw_mode(st.st_mode).is_dir());
        let flags = if dir {
            AtFlags::REMOVEDIR
        } else {
            AtFlags::empty()
        };
        rustix::fs::unlinkat(&self.fd, name, flags).is_ok()
    }

    /// Writes `data` to `name` atomically: a temporary file created exclusively in this
    /// directory (`O_EXCL`, never through a link), written, fsynced, given its owner and
    /// exactly `opts.mode`, renamed over `name` (which replaces a link there rather than
    /// following it), then the directory fsynced. On error, `name` is untouched and the
    /// temporary file removed. Something else than a regular file at `name` (a link, a
    /// FIFO, `/dev/null`) is an error unless `opts.replace_any`.
    pub fn write_atomic(&self, name: &Path, data: &[u8], opts: WriteOptions) -> io::Result<()> {
        if !opts.replace_any {
            if let Some(st) = self.lstat(name) {
                let kind = rustix::fs::FileType::from_raw_mode(st.st_mode);
                if kind == rustix::fs::FileType::Directory {
                    return Err(io::Error::new(
                        io::ErrorKind::IsADirectory,
                        "it is a directory: name a file in it",
                    ));
                }
                if !kind.is_file() {
                    return Err(io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        format!(
                            "it is {}, which is not replaced: remove it, or name a regular file",
                            describe(st.st_mode)
                        ),
                    ));
                }
            }
        }
        let tmp = PathBuf::from(format!(
            ".{}.eks-token-tmp.{}.{}",
            name.to_string_lossy(),
            std::process::id(),
            random_suffix()
        ));
        let result = (|| {
            let fd = rustix::fs::openat(
                &self.fd,
                &tmp,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(opts.mode & 0o777),
            )?;
            let mut f = File::from(fd);
            // Locked while it is written: a file nobody holds the lock of is a dead
            // writer's (see remove_stale_temps). Filesystems without locks still work.
            let _ = f.try_lock();
            if let Some((uid, gid)) = opts.owner {
                let meta = f.metadata()?;
                if (meta.uid(), meta.gid()) != (uid, gid) {
                    rustix::fs::fchown(
                        &f,
                        Some(rustix::process::Uid::from_raw(uid)),
                        Some(rustix::process::Gid::from_raw(gid)),
                    )?;
                }
            }
            // The umask may have cleared bits the user asked for (and a change of owner
            // clears set-id bits).
            rustix::fs::fchmod(&f, Mode::from_raw_mode(opts.mode))?;
            f.write_all(data)?;
            f.sync_all()?;
            drop(f);
            rustix::fs::renameat(&self.fd, &tmp, &self.fd, name)?;
            Ok(())
        })();
        if result.is_err() {
            let _ = rustix::fs::unlinkat(&self.fd, &tmp, AtFlags::empty());
            return result;
        }
        // Make the rename itself durable.
        self.fd.sync_all()
    }

    /// The directory's entries, listed through its descriptor (the directory that was
    /// opened and checked, whatever has since been renamed into its path).
    pub(crate) fn entries(&self) -> io::Result<fs::ReadDir> {
        fs::read_dir(format!("/proc/self/fd/{}", self.fd.as_raw_fd()))
            .or_else(|_| fs::read_dir(&self.path))
    }

    /// Removes the temporary files (`.NAME.eks-token-tmp.PID.RANDOM`) that writers of
    /// `name` (of any name, with `None`) killed mid-write left in this directory. At most
    /// `max` candidates are examined, and none after `deadline`. Returns how many were
    /// removed. See [`Dir::remove_if_stale_temp`].
    pub(crate) fn remove_stale_temps(
        &self,
        name: Option<&str>,
        max: usize,
        deadline: Option<Instant>,
    ) -> usize {
        let Ok(entries) = self.entries() else {
            return 0;
        };
        let (mut removed, mut examined) = (0, 0);
        for (i, entry) in entries.flatten().enumerate() {
            if i % 256 == 255 && deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            let file_name = entry.file_name();
            if !temp_of(&file_name, name) {
                continue;
            }
            examined += 1;
            if examined > max || deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            removed += usize::from(self.remove_if_stale_temp(&file_name));
        }
        removed
    }

    /// Removes `file_name`, a temporary file's name (see [`temp_of`]), when its writer is
    /// gone. A writer holds a lock on its temporary file while it writes, so a file whose
    /// lock can be taken has no live writer; its name also carries the writer's pid,
    /// which must be gone (or be ours: a restarted PID 1 has its predecessor's pid), which
    /// covers the moment between a writer creating the file and locking it. Only regular
    /// files of ours are touched (looked at with `lstat`): anything else with such a name
    /// (a FIFO, a directory, a link, another user's file) is left alone, without waiting.
    pub(crate) fn remove_if_stale_temp(&self, file_name: &std::ffi::OsStr) -> bool {
        let Some(pid) = file_name
            .to_str()
            .and_then(|n| n.split_once(".eks-token-tmp."))
            .and_then(|(_, rest)| rest.split('.').next())
        else {
            return false;
        };
        if pid != std::process::id().to_string() && Path::new("/proc").join(pid).exists() {
            return false;
        }
        let name = Path::new(file_name);
        let Some(st) = self.lstat(name) else {
            return false;
        };
        let regular = rustix::fs::FileType::from_raw_mode(st.st_mode).is_file();
        if !regular || st.st_uid != rustix::process::geteuid().as_raw() {
            return false;
        }
        let Ok((f, opened)) = self.open_regular_nofollow(name) else {
            return false;
        };
        opened.dev() == st.st_dev
            && opened.ino() == st.st_ino
            && f.try_lock().is_ok()
            && rustix::fs::unlinkat(&self.fd, name, AtFlags::empty()).is_ok()
    }
}

/// Whether `file_name` names a temporary file of a writer of `name` (of any name, with
/// `None`): `.NAME.eks-token-tmp.PID.RANDOM`, PID all digits.
pub(crate) fn temp_of(file_name: &std::ffi::OsStr, name: Option<&str>) -> bool {
    let Some((target, rest)) = file_name
        .to_str()
        .and_then(|n| n.split_once(".eks-token-tmp."))
    else {
        return false;
    };
    let Some(target) = target.strip_prefix('.') else {
        return false;
    };
    let pid = rest.split('.').next().unwrap_or("");
    name.is_none_or(|n| n == target) && !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit())
}

/// Whether a link whose owner is `uid` may be followed in a path this process walks:
/// any, except that root follows only root's links (a user's link could send root's
/// write anywhere; the kernel's `protected_symlinks` does the same in sticky
/// directories).
fn trusted_link(uid: u32) -> bool {
    uid == 0 || !rustix::process::geteuid().is_root()
}

/// The directory that holds the file `path` names, opened, and the file's name in it:
/// each component is opened relative to the one before without following a link, and a
/// link (in the path, or at the file itself, a dangling one included) is followed by
/// reading it, if its owner may be trusted (root follows only root's links: a user's
/// could send root's write anywhere); at most 40 links. Missing directories of the
/// path as given are created with `create`'s mode when given; the directories a link
/// points into are never created.
pub fn locate(path: &Path, create: Option<u32>) -> io::Result<(Dir, PathBuf)> {
    use std::os::unix::ffi::OsStrExt;
    let cwd = || std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let start = |p: &Path| {
        if p.is_absolute() {
            PathBuf::from("/")
        } else {
            cwd()
        }
    };
    let mut dir = Dir::open(&start(path))?;
    // What is left to walk, last component last; whether it came from a link.
    let mut rest: Vec<(std::ffi::OsString, bool)> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some((n.to_owned(), false)),
            Component::ParentDir => Some(("..".into(), false)),
            _ => None,
        })
        .rev()
        .collect();
    let mut links = 0;
    while let Some((name, from_link)) = rest.pop() {
        let last = rest.is_empty();
        let here = Path::new(&name);
        let st = dir.lstat(here);
        let kind = st
            .as_ref()
            .map(|st| rustix::fs::FileType::from_raw_mode(st.st_mode));
        if kind == Some(rustix::fs::FileType::Symlink) {
            let st = st.expect("lstat gave the kind");
            links += 1;
            if links > 40 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "it is a chain of more than 40 symbolic links",
                ));
            }
            if !trusted_link(st.st_uid) {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!(
                        "its path goes through the symbolic link {}, which uid {} owns: \
                         running as root, eks-token follows only root's links (one of a \
                         user's could point anywhere); run as that user, or name the \
                         link's target",
                        dir.path().join(here).display(),
                        st.st_uid
                    ),
                ));
            }
            let target = rustix::fs::readlinkat(&dir.fd, here, Vec::new())?;
            let target = PathBuf::from(std::ffi::OsStr::from_bytes(target.as_bytes()));
            if target.is_absolute() {
                dir = Dir::open(Path::new("/"))?;
            }
            for c in target.components().rev() {
                match c {
                    Component::Normal(n) => rest.push((n.to_owned(), true)),
                    Component::ParentDir => rest.push(("..".into(), true)),
                    _ => {}
                }
            }
            continue;
        }
        if last {
            return Ok((dir, PathBuf::from(name)));
        }
        let next = dir.path().join(here);
        let opened = rustix::fs::openat(
            &dir.fd,
            here,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        );
        dir = match (opened, create) {
            (Ok(fd), _) => Dir {
                fd: File::from(fd),
                path: next,
            },
            (Err(Errno::NOENT), Some(mode)) if !from_link => dir.mkdir_open(here, mode, next)?,
            (Err(e), _) => return Err(e.into()),
        };
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        "the path names no file",
    ))
}

/// Which part of `path` is not a directory, said in words: `/a/b is a regular file, not
/// a directory` (ENOTDIR names no part).
fn not_a_directory(path: &Path) -> Option<io::Error> {
    let mut ancestors: Vec<&Path> = path.ancestors().collect();
    ancestors.reverse();
    ancestors.into_iter().find_map(|p| {
        // Followed: a link to a file is in the way as much as the file.
        let m = fs::metadata(nonempty(p)).ok()?;
        (!m.is_dir()).then(|| {
            io::Error::new(
                io::ErrorKind::NotADirectory,
                format!(
                    "{} is {}, not a directory: choose another path",
                    p.display(),
                    describe(m.mode())
                ),
            )
        })
    })
}
