//! Files. Every file that comes from outside is opened one way ([`open_regular`]):
//! looked at before it is opened for reading (`O_PATH`, then `fstat`), so a FIFO never
//! blocks and a device is never opened; only a regular file is read, within a cap.
//! Files that hold tokens or credentials are written atomically and crash-safe (a reader
//! sees the old file or the new one, never a partial or empty one), with exact
//! permissions, relative to a directory held open ([`Dir`]), so that a directory swapped
//! for a link meanwhile redirects nothing.

use std::fs::{self, File, Metadata};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path, PathBuf};
use std::time::Instant;

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

/// The most the library reads of each file that comes from outside (the README's
/// Hardening section lists them, with the binary's: kubeconfig, a token on stdin). A
/// file over its cap is an error, read no further.
pub(crate) mod cap {
    /// AWS config and credentials files (real ones are a few KiB).
    pub(crate) const CONFIG_FILE: u64 = 16 << 20;
    /// A web identity token file (projected tokens are about 1 KiB).
    pub(crate) const WEB_IDENTITY_TOKEN: u64 = 64 << 10;
    /// The container credentials' authorization token file.
    pub(crate) const CONTAINER_TOKEN: u64 = 16 << 10;
    /// An SSO token cache file (`~/.aws/sso/cache/*.json`).
    pub(crate) const SSO_CACHE: u64 = 1 << 20;
    /// A CA bundle (`AWS_CA_BUNDLE`, `--ca-file`): a whole system bundle is about 200 KiB.
    pub(crate) const CA_BUNDLE: u64 = 4 << 20;
    /// A credential cache entry (a few hundred bytes).
    pub(crate) const CACHE_ENTRY: u64 = 64 << 10;
}

/// Whether a symbolic link at the path is followed: yes for the user's files (a
/// kubeconfig or a token file may well be a link), never for files eks-token manages
/// (cache entries, locks, temporary files), where a link is someone else's doing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Links {
    /// Follow a link at the path (the user's own files).
    Follow,
    /// Refuse one (files eks-token manages).
    Refuse,
}

/// What a file type is, in words, for "it is a FIFO (named pipe), not a regular file".
pub(crate) fn describe(ft: fs::FileType) -> &'static str {
    if ft.is_fifo() {
        "a FIFO (named pipe)"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_dir() {
        "a directory"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else if ft.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// The error for something at a path that is not a regular file (kind `IsADirectory`
/// for a directory, so that callers may treat that as absent).
fn not_regular(ft: fs::FileType) -> io::Error {
    let kind = if ft.is_dir() {
        io::ErrorKind::IsADirectory
    } else {
        io::ErrorKind::InvalidInput
    };
    io::Error::new(kind, format!("it is {}, not a regular file", describe(ft)))
}

/// A refused link (`ELOOP` under `O_NOFOLLOW`), in words.
fn refused_link(e: Errno) -> io::Error {
    if e == Errno::LOOP {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "it is a symbolic link, which is not followed here",
        )
    } else {
        e.into()
    }
}

/// Opens a file that comes from outside for reading, without ever blocking or opening
/// anything but a regular file: the path is opened with `O_PATH` (which runs no
/// driver's open and cannot wait for a FIFO's writer), `fstat` says what it is, and
/// only a regular file is opened for reading, through the same inode
/// (`/proc/self/fd/N`; where /proc is missing, opened again non-blocking and checked to
/// be the same file). With [`Links::Refuse`] a symbolic link is not followed.
pub(crate) fn open_regular(path: &Path, links: Links) -> io::Result<(File, Metadata)> {
    let nofollow = if links == Links::Refuse {
        OFlags::NOFOLLOW
    } else {
        OFlags::empty()
    };
    let handle = rustix::fs::open(
        path,
        OFlags::PATH | OFlags::CLOEXEC | nofollow,
        Mode::empty(),
    )
    .map_err(refused_link)?;
    reopen(File::from(handle), || {
        rustix::fs::open(path, READ | nofollow, Mode::empty())
    })
}

/// Non-blocking, close-on-exec reading.
const READ: OFlags = OFlags::RDONLY
    .union(OFlags::CLOEXEC)
    .union(OFlags::NONBLOCK);

/// Opens for reading the file an `O_PATH` descriptor stands for, if it is a regular
/// file: through `/proc/self/fd/N`, the same inode; where /proc is missing, `again`
/// opens it anew (non-blocking) and it must be the same file.
fn reopen(
    handle: File,
    again: impl FnOnce() -> Result<std::os::fd::OwnedFd, Errno>,
) -> io::Result<(File, Metadata)> {
    let meta = handle.metadata()?;
    if !meta.is_file() {
        return Err(not_regular(meta.file_type()));
    }
    let proc_path = format!("/proc/self/fd/{}", handle.as_raw_fd());
    let file = match rustix::fs::open(proc_path.as_str(), READ, Mode::empty()) {
        Ok(fd) => File::from(fd),
        Err(Errno::NOENT) => {
            let file = File::from(again().map_err(refused_link)?);
            let now = file.metadata()?;
            if (now.dev(), now.ino()) != (meta.dev(), meta.ino()) {
                return Err(io::Error::other("it was replaced while it was opened"));
            }
            file
        }
        Err(e) => return Err(e.into()),
    };
    Ok((file, meta))
}

/// The contents of the regular file at `path` (links followed), in as few system calls
/// as it takes; anything but a regular file, or a file larger than `max` bytes, is an
/// error.
pub fn read_file(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    read_file_meta(path, max).map(|(bytes, _)| bytes)
}

/// [`read_file`], with the file's metadata (of the file read: a link's target).
pub fn read_file_meta(path: &Path, max: u64) -> io::Result<(Vec<u8>, Metadata)> {
    let (mut file, meta) = open_regular(path, Links::Follow)?;
    Ok((read_capped(&mut file, meta.len(), max)?, meta))
}

/// The contents of `file`, whose size is `len`: one `read` when the size is right (a
/// reader over the file makes a system call per byte; `read_to_end` one more to see the
/// end), more only for a short read or a file that grew; more than `max` bytes is an
/// error.
pub(crate) fn read_capped(file: &mut File, len: u64, max: u64) -> io::Result<Vec<u8>> {
    let want = len.min(max) as usize;
    let mut bytes = vec![0; want + 1];
    let n = file.read(&mut bytes)?;
    bytes.truncate(n);
    if n != want {
        // Short (a network filesystem may answer in parts) or longer than it said
        // (written meanwhile): read to the end, within the cap.
        file.take((max + 1).saturating_sub(n as u64))
            .read_to_end(&mut bytes)?;
    }
    if bytes.len() as u64 > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("it is larger than {}", human_bytes(max)),
        ));
    }
    Ok(bytes)
}

/// `64 KiB`, `16 MiB`, `100 bytes`.
pub(crate) fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

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
}

impl WriteOptions {
    /// A file of the caller's with `mode`, in directories created 0700.
    pub fn mode(mode: u32) -> Self {
        WriteOptions {
            mode,
            dir_mode: 0o700,
            owner: None,
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
                    format!("it is {}, not a directory", describe(m.file_type())),
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
            other => return other,
        }
        let (parent, name) = match (path.parent(), path.components().next_back()) {
            (Some(p), Some(Component::Normal(n))) => (p, Path::new(n)),
            (Some(p), Some(Component::ParentDir)) => (p, Path::new("..")),
            _ => return Dir::open(path),
        };
        let parent = Dir::create(parent, mode)?;
        let created = match rustix::fs::mkdirat(&parent.fd, name, Mode::from_raw_mode(mode)) {
            Ok(()) => true,
            Err(Errno::EXIST) => false,
            Err(e) => return Err(e.into()),
        };
        let fd = rustix::fs::openat(
            &parent.fd,
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(refused_link)?;
        let dir = Dir {
            fd: File::from(fd),
            path: path.to_path_buf(),
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
            return Err(not_regular(meta.file_type()));
        }
        Ok((file, meta))
    }

    /// Reads the regular file `name` of this directory, as `open_regular` does for a
    /// path (a link there followed only with [`Links::Follow`]), within `max` bytes;
    /// with its metadata.
    pub fn read(&self, name: &Path, max: u64, links: Links) -> io::Result<(Vec<u8>, Metadata)> {
        let nofollow = if links == Links::Refuse {
            OFlags::NOFOLLOW
        } else {
            OFlags::empty()
        };
        let handle = rustix::fs::openat(
            &self.fd,
            name,
            OFlags::PATH | OFlags::CLOEXEC | nofollow,
            Mode::empty(),
        )
        .map_err(refused_link)?;
        let (mut file, meta) = reopen(File::from(handle), || {
            rustix::fs::openat(&self.fd, name, READ | nofollow, Mode::empty())
        })?;
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
            return Err(not_regular(meta.file_type()));
        }
        Ok(file)
    }

    /// An open error, in words where what is at `name` explains it (a FIFO without a
    /// reader, a link not followed, a directory).
    fn in_words(&self, e: Errno, name: &Path) -> io::Error {
        match (e, self.lstat(name)) {
            (Errno::LOOP | Errno::NXIO | Errno::ISDIR | Errno::NODEV, Some(st)) => io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("it is {}, not a regular file", kind_of_mode(st.st_mode)),
            ),
            (e, _) => e.into(),
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
    /// temporary file removed.
    pub fn write_atomic(&self, name: &Path, data: &[u8], opts: WriteOptions) -> io::Result<()> {
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

    /// Removes the temporary files (`.NAME.eks-token-tmp.PID.RANDOM`) that writers of
    /// `name` (of any name, with `None`) killed mid-write left in this directory. A
    /// writer holds a lock on its temporary file while it writes, so a file whose lock
    /// can be taken has no live writer; its name also carries the writer's pid, which
    /// must be gone (or be ours: a restarted PID 1 has its predecessor's pid), which
    /// covers the moment between a writer creating the file and locking it. Only
    /// regular files of ours are touched (looked at with `lstat`): anything else with
    /// such a name (a FIFO, a directory, a link, another user's file) is left alone,
    /// without waiting. At most `max` candidates are examined, and none after
    /// `deadline`. Returns how many were removed.
    pub(crate) fn remove_stale_temps(
        &self,
        name: Option<&str>,
        max: usize,
        deadline: Option<Instant>,
    ) -> usize {
        let Ok(entries) = fs::read_dir(format!("/proc/self/fd/{}", self.fd.as_raw_fd()))
            .or_else(|_| fs::read_dir(&self.path))
        else {
            return 0;
        };
        let ours = std::process::id().to_string();
        let uid = rustix::process::geteuid().as_raw();
        let (mut removed, mut examined) = (0, 0);
        for (i, entry) in entries.flatten().enumerate() {
            if i % 256 == 255 && deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            let file_name = entry.file_name();
            let Some((target, rest)) = file_name
                .to_str()
                .and_then(|n| n.split_once(".eks-token-tmp."))
            else {
                continue;
            };
            let Some(target) = target.strip_prefix('.') else {
                continue;
            };
            if name.is_some_and(|n| n != target) {
                continue;
            }
            let Some(pid) = rest
                .split('.')
                .next()
                .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            examined += 1;
            if examined > max || deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            let alive = pid != ours && Path::new("/proc").join(pid).exists();
            if alive {
                continue;
            }
            let name = Path::new(&file_name);
            let Some(st) = self.lstat(name) else {
                continue;
            };
            let regular = rustix::fs::FileType::from_raw_mode(st.st_mode).is_file();
            if !regular || st.st_uid != uid {
                continue;
            }
            let Ok((f, opened)) = self.open_regular_nofollow(name) else {
                continue;
            };
            let same = opened.dev() == st.st_dev && opened.ino() == st.st_ino;
            if same
                && f.try_lock().is_ok()
                && rustix::fs::unlinkat(&self.fd, name, AtFlags::empty()).is_ok()
            {
                removed += 1;
            }
        }
        removed
    }
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
                        "its path goes through the symbolic link {}, which uid {} owns:                          running as root, eks-token follows only root's links (one of a                          user's could point anywhere); run as that user, or name the                          link's target",
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
        let fd = match (opened, create) {
            (Ok(fd), _) => fd,
            (Err(Errno::NOENT), Some(mode)) if !from_link => {
                let created = match rustix::fs::mkdirat(&dir.fd, here, Mode::from_raw_mode(mode)) {
                    Ok(()) => true,
                    Err(Errno::EXIST) => false,
                    Err(e) => return Err(e.into()),
                };
                let fd = rustix::fs::openat(
                    &dir.fd,
                    here,
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                if created {
                    rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode))?;
                }
                fd
            }
            (Err(e), _) => return Err(e.into()),
        };
        dir = Dir {
            fd: File::from(fd),
            path: next,
        };
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        "the path names no file",
    ))
}

/// A file mode's type, in words.
fn kind_of_mode(mode: u32) -> &'static str {
    use rustix::fs::FileType as T;
    match T::from_raw_mode(mode) {
        T::Fifo => "a FIFO (named pipe)",
        T::Socket => "a socket",
        T::CharacterDevice => "a character device",
        T::BlockDevice => "a block device",
        T::Directory => "a directory",
        T::Symlink => "a symbolic link",
        T::RegularFile => "a regular file",
        _ => "not a regular file",
    }
}

/// `.` for an empty path (a bare file name's directory).
fn nonempty(path: &Path) -> &Path {
    if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    }
}

/// The directory a path lives in (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The last component of `path`, the name of a file to write.
fn file_name(path: &Path) -> io::Result<&Path> {
    path.file_name()
        .map(Path::new)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))
}

/// Creates `dir` and any missing parents with mode 0700 (existing ones are left as
/// they are).
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    Dir::create(dir, 0o700).map(drop)
}

/// Writes `data` to `path` atomically ([`Dir::write_atomic`]), its directory created
/// 0700 when missing.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
    write_atomic_with(path, data, WriteOptions::mode(mode))
}

/// [`write_atomic`] with the directories' mode and the file's owner chosen.
pub fn write_atomic_with(path: &Path, data: &[u8], opts: WriteOptions) -> io::Result<()> {
    let name = file_name(path)?;
    Dir::create(&parent_dir(path), opts.dir_mode)?.write_atomic(name, data, opts)
}

/// Removes the temporary files that writers of `path` killed mid-write left behind
/// (`.NAME.eks-token-tmp.PID.RANDOM`, regular files of ours whose writer is gone),
/// examining at most 64 of them and none after
/// `deadline`.
pub fn remove_stale_temps(path: &Path, deadline: Option<Instant>) {
    let (Ok(name), Ok(dir)) = (file_name(path), Dir::open(&parent_dir(path))) else {
        return;
    };
    dir.remove_stale_temps(Some(&name.to_string_lossy()), 64, deadline);
}

fn random_suffix() -> String {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 6];
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    hex::encode(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("eks-token-fsutil-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    fn mode_of(p: &Path) -> u32 {
        fs::symlink_metadata(p).unwrap().mode() & 0o7777
    }

    #[test]
    fn read_file_reads_all_within_the_cap_and_refuses_more() {
        let d = scratch("read");
        fs::create_dir_all(&d).unwrap();
        let f = d.join("ten");
        fs::write(&f, b"0123456789").unwrap();
        assert_eq!(read_file(&f, 10).unwrap(), b"0123456789");
        assert_eq!(read_file(&f, 1 << 20).unwrap(), b"0123456789");
        assert!(read_file(&f, 9)
            .unwrap_err()
            .to_string()
            .contains("larger than 9 bytes"));
        assert_eq!(
            read_file(&d.join("missing"), 10).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        assert_eq!(
            read_file(&d, 10).unwrap_err().kind(),
            io::ErrorKind::IsADirectory
        );
        // A link is followed for the user's files, not where it is refused.
        let link = d.join("link");
        std::os::unix::fs::symlink(&f, &link).unwrap();
        assert_eq!(read_file(&link, 10).unwrap(), b"0123456789");
        let e = open_regular(&link, Links::Refuse).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        // A device is named, not opened (O_PATH).
        let e = read_file(Path::new("/dev/zero"), 10).unwrap_err();
        assert!(e.to_string().contains("character device"), "{e}");
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn writes_with_exact_mode_in_directories_created_with_theirs() {
        let d = scratch("mode");
        let f = d.join("a/b/token");
        write_atomic(&f, b"one", 0o640).unwrap();
        assert_eq!(fs::read(&f).unwrap(), b"one");
        assert_eq!(mode_of(&f), 0o640);
        assert_eq!(mode_of(&d.join("a")), 0o700);
        assert_eq!(mode_of(&d.join("a/b")), 0o700);
        write_atomic(&f, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&f).unwrap(), b"two");
        assert_eq!(mode_of(&f), 0o600);
        // A group's directories, whatever the umask.
        let g = d.join("g/h/token");
        let opts = WriteOptions {
            dir_mode: 0o750,
            ..WriteOptions::mode(0o640)
        };
        write_atomic_with(&g, b"x", opts).unwrap();
        assert_eq!(mode_of(&d.join("g")), 0o750);
        assert_eq!(mode_of(&d.join("g/h")), 0o750);
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(d.join("a/b")).unwrap().count(), 1);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn an_existing_directory_is_never_changed() {
        let d = scratch("existing");
        let shared = d.join("shared");
        fs::create_dir_all(&shared).unwrap();
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
        // `new/..` is `shared` itself: created `new` is 0700, `shared` keeps its mode.
        write_atomic(&shared.join("new/../token"), b"t", 0o600).unwrap();
        assert_eq!(mode_of(&shared), 0o1777);
        assert_eq!(fs::read(shared.join("token")).unwrap(), b"t");
        assert_eq!(mode_of(&shared.join("new")), 0o700);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn replaces_a_symlink_instead_of_following_it() {
        let d = scratch("symlink");
        fs::create_dir_all(&d).unwrap();
        let victim = d.join("victim");
        fs::write(&victim, "keep").unwrap();
        let link = d.join("token");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        write_atomic(&link, b"tok", 0o600).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
        assert!(!fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(&link).unwrap(), b"tok");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn writing_through_a_held_directory_ignores_a_swap_of_its_path() {
        let d = scratch("swap");
        let real = d.join("real");
        fs::create_dir_all(&real).unwrap();
        let elsewhere = d.join("elsewhere");
        fs::create_dir_all(&elsewhere).unwrap();
        let dir = Dir::open(&real).unwrap();
        // The path is swapped for a link to another directory after it was opened.
        fs::rename(&real, d.join("moved")).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &real).unwrap();
        dir.write_atomic(Path::new("token"), b"t", WriteOptions::mode(0o600))
            .unwrap();
        assert_eq!(fs::read(d.join("moved/token")).unwrap(), b"t");
        assert!(!elsewhere.join("token").exists());
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn failure_leaves_target_and_no_temp_file() {
        let d = scratch("fail");
        fs::create_dir_all(d.join("token")).unwrap(); // a directory where the file should go
        fs::write(d.join("token/inner"), "x").unwrap();
        assert!(write_atomic(&d.join("token"), b"tok", 0o600).is_err());
        assert_eq!(fs::read_dir(&d).unwrap().count(), 1);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn stale_temps_are_told_by_their_lock_not_their_pid_alone() {
        let d = scratch("stale");
        fs::create_dir_all(&d).unwrap();
        let temp = |pid: &str, tag: &str| d.join(format!(".token.eks-token-tmp.{pid}.{tag}"));
        // A dead writer's (a pid that cannot exist), ours (a restarted PID 1 has its
        // predecessor's), and a live writer's: alive and holding its lock.
        let dead = temp("4294967295", "a");
        let own = temp(&std::process::id().to_string(), "b");
        let live = temp("1", "c");
        for f in [&dead, &own, &live] {
            fs::write(f, "partial").unwrap();
        }
        let held = File::open(&live).unwrap();
        held.lock().unwrap();
        // Our own temp file with its lock held (a write in progress) stays too.
        let writing = temp(&std::process::id().to_string(), "d");
        fs::write(&writing, "partial").unwrap();
        let held_own = File::open(&writing).unwrap();
        held_own.lock().unwrap();
        let other_target = d.join(".other.eks-token-tmp.4294967295.e");
        fs::write(&other_target, "x").unwrap();
        // Lookalikes that are not regular files are left alone.
        let fifo = temp("4294967295", "fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        fs::create_dir(temp("4294967295", "dir")).unwrap();
        let dir = Dir::open(&d).unwrap();
        assert_eq!(dir.remove_stale_temps(Some("token"), 64, None), 2);
        assert!(!dead.exists() && !own.exists());
        assert!(live.exists() && writing.exists() && other_target.exists());
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
        assert_eq!(dir.remove_stale_temps(None, 64, None), 1, "any target");
        drop((held, held_own));
        // At most `max` candidates are examined.
        let many = d.join("many");
        fs::create_dir(&many).unwrap();
        for i in 0..5 {
            fs::write(
                many.join(format!(".token.eks-token-tmp.4294967295.n{i}")),
                "x",
            )
            .unwrap();
        }
        let dir = Dir::open(&many).unwrap();
        assert_eq!(dir.remove_stale_temps(Some("token"), 2, None), 2);
        assert_eq!(fs::read_dir(&many).unwrap().count(), 3);
        fs::remove_dir_all(&d).unwrap();
    }
}
