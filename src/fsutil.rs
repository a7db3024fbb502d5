//! Files: every file that comes from outside is opened one way ([`open_regular`]: never
//! blocks, only a regular file is read, within a cap), and files that hold tokens or
//! credentials are written atomically and crash-safe (a reader sees the old file or the
//! new one, never a partial or empty one), with exact permissions, in directories
//! created 0700.

use std::fs::{self, File, Metadata, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};

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
pub(crate) enum Links {
    Follow,
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
    match describe(ft) {
        "not a regular file" => io::Error::new(kind, "it is not a regular file"),
        what => io::Error::new(kind, format!("it is {what}, not a regular file")),
    }
}

/// An `open` error in words where the bare OS error would mislead: a refused link
/// (`ELOOP` under `O_NOFOLLOW`) and a socket (`ENXIO`).
fn open_error(e: rustix::io::Errno, path: &Path, links: Links) -> io::Error {
    use rustix::io::Errno;
    let looked = || fs::symlink_metadata(path).ok().map(|m| m.file_type());
    match e {
        Errno::LOOP if links == Links::Refuse && looked().is_some_and(|t| t.is_symlink()) => {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "it is a symbolic link, which is not followed here",
            )
        }
        Errno::NXIO | Errno::NODEV | Errno::OPNOTSUPP => match looked() {
            Some(t) if !t.is_file() => not_regular(t),
            _ => e.into(),
        },
        _ => e.into(),
    }
}

/// Opens a file that comes from outside for reading, in a way that cannot block: open
/// non-blocking (a FIFO without a writer would hang a blocking open forever), then
/// `fstat`: only a regular file is returned, anything else (FIFO, socket, device,
/// directory) is an error saying what it is, and nothing is read from it. With
/// [`Links::Refuse`] a symbolic link is not followed.
pub(crate) fn open_regular(path: &Path, links: Links) -> io::Result<(File, Metadata)> {
    open_regular_in(None, path, links)
}

/// [`open_regular`], for `name` in the directory `dir` when given (the path is then
/// relative to it: the directory checked once is the one used).
pub(crate) fn open_regular_in(
    dir: Option<&File>,
    path: &Path,
    links: Links,
) -> io::Result<(File, Metadata)> {
    let mut flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NONBLOCK;
    if links == Links::Refuse {
        flags |= OFlags::NOFOLLOW;
    }
    // rustix's open is one system call: musl's follows every O_CLOEXEC open with an
    // fcntl (for kernels older than 2.6.23).
    let fd = match dir {
        Some(d) => rustix::fs::openat(d.as_fd(), path, flags, Mode::empty()),
        None => rustix::fs::open(path, flags, Mode::empty()),
    }
    .map_err(|e| match dir {
        Some(_) => e.into(),
        None => open_error(e, path, links),
    })?;
    let file = File::from(fd);
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular(meta.file_type()));
    }
    Ok((file, meta))
}

/// The contents of the regular file at `path` (links followed), in as few system calls
/// as it takes (open, fstat, one read, close); anything but a regular file, or a file
/// larger than `max` bytes, is an error.
pub fn read_file(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    read_file_meta(path, max).map(|(bytes, _)| bytes)
}

/// [`read_file`], with the file's metadata (of the file read: a link's target).
pub fn read_file_meta(path: &Path, max: u64) -> io::Result<(Vec<u8>, Metadata)> {
    let (mut file, meta) = open_regular(path, Links::Follow)?;
    Ok((read_capped(&mut file, meta.len(), max)?, meta))
}

/// The contents of `file`, whose size is `len`, in one `read` when the size is right
/// (a reader over the file makes a system call per byte; `read_to_end` one more to see
/// the end); more than `max` bytes is an error.
pub(crate) fn read_capped(file: &mut File, len: u64, max: u64) -> io::Result<Vec<u8>> {
    let want = len.min(max) as usize;
    let mut bytes = vec![0; want + 1];
    let n = file.read(&mut bytes)?;
    bytes.truncate(n);
    if n > want {
        // Larger than it said (written meanwhile): read on, within the cap.
        file.take(max + 1 - n as u64).read_to_end(&mut bytes)?;
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

/// Opens the directory `path` itself (a link there is not followed) for reading the
/// files in it with [`open_regular_in`]; with its metadata, to check its owner and mode.
pub(crate) fn open_dir(path: &Path) -> io::Result<(File, Metadata)> {
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| match e {
        rustix::io::Errno::NOTDIR | rustix::io::Errno::LOOP => match fs::symlink_metadata(path) {
            Ok(m) => not_regular_dir(m.file_type()),
            Err(e) => e,
        },
        e => e.into(),
    })?;
    let file = File::from(fd);
    let meta = file.metadata()?;
    Ok((file, meta))
}

fn not_regular_dir(ft: fs::FileType) -> io::Error {
    let what = if ft.is_file() {
        "a regular file"
    } else {
        describe(ft)
    };
    io::Error::new(
        io::ErrorKind::NotADirectory,
        format!("it is {what}, not a directory"),
    )
}

/// Opens (creating it 0600 if missing) the lock file `name` in `dir` for writing,
/// without following a link and without blocking; only a regular file is a lock.
pub(crate) fn open_lock_in(dir: &File, name: &Path) -> io::Result<File> {
    let fd = rustix::fs::openat(
        dir.as_fd(),
        name,
        OFlags::WRONLY | OFlags::CREATE | OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::NOFOLLOW,
        Mode::from_raw_mode(0o600),
    )?;
    let file = File::from(fd);
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular(meta.file_type()));
    }
    Ok(file)
}

/// Creates `dir` and any missing parents with mode 0700 (existing ones are left as
/// they are).
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    create_dir_mode(dir, 0o700)
}

/// Creates `dir` and any missing parents with mode `mode` (existing ones are left as
/// they are): the user's umask does not narrow it.
pub(crate) fn create_dir_mode(dir: &Path, mode: u32) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    let mut missing = Vec::new();
    let mut d = dir;
    while !d.as_os_str().is_empty() && fs::symlink_metadata(d).is_err() {
        missing.push(d.to_path_buf());
        match d.parent() {
            Some(p) => d = p,
            None => break,
        }
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(dir)?;
    for m in missing {
        fs::set_permissions(&m, Permissions::from_mode(mode))?;
    }
    Ok(())
}

/// The directory a path lives in (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// How [`write_atomic_with`] writes a file.
#[derive(Clone, Copy, Debug)]
pub struct WriteOptions {
    /// The file's mode (exactly: the umask does not narrow it).
    pub mode: u32,
    /// The mode of parent directories that have to be created (0700 unless a group
    /// should reach the file).
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

/// Writes `data` to `path` atomically: a temporary file created exclusively in the same
/// directory (`O_EXCL`: never through a symlink), written, fsynced and given `mode`,
/// renamed over `path` (which replaces a symlink rather than following it), then the
/// directory fsynced. On error the target is untouched and the temporary file removed.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
    write_atomic_with(path, data, WriteOptions::mode(mode))
}

/// [`write_atomic`] with the directories' mode and the file's owner chosen.
pub fn write_atomic_with(path: &Path, data: &[u8], opts: WriteOptions) -> io::Result<()> {
    let dir = parent_dir(path);
    create_dir_mode(&dir, opts.dir_mode)?;
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
    let tmp = dir.join(format!(
        ".{}.eks-token-tmp.{}.{}",
        name.to_string_lossy(),
        std::process::id(),
        random_suffix()
    ));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(opts.mode)
            .open(&tmp)?;
        // Locked while it is written: a file nobody holds the lock of is a dead
        // writer's (see remove_stale_temps). Filesystems without locks still work.
        let _ = f.try_lock();
        if let Some((uid, gid)) = opts.owner {
            std::os::unix::fs::fchown(&f, Some(uid), Some(gid))?;
        }
        // The umask may have cleared bits the user asked for (and a change of owner
        // clears set-id bits).
        f.set_permissions(Permissions::from_mode(opts.mode))?;
        f.write_all(data)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        return result;
    }
    // Make the rename itself durable.
    File::open(&dir)?.sync_all()
}

/// Removes the temporary files that writers of `path` killed mid-write left behind. A
/// writer holds a lock on its temporary file while it writes, so a file whose lock can
/// be taken has no live writer; its name also carries the writer's pid, which must be
/// gone (or be ours: a restarted PID 1 has its predecessor's pid), which covers the
/// moment between a writer creating the file and locking it. Only regular files of
/// ours are touched: anything else with such a name (a FIFO, a directory, a link,
/// another user's file) is left alone, without waiting.
pub fn remove_stale_temps(path: &Path) {
    let (Some(name), dir) = (path.file_name(), parent_dir(path)) else {
        return;
    };
    remove_stale_temps_in(&dir, Some(&name.to_string_lossy()));
}

/// [`remove_stale_temps`] for the temporary files (`.NAME.eks-token-tmp.PID.RANDOM`)
/// of `dir` that were to become `name` (any, with `None`); returns how many were
/// removed.
pub(crate) fn remove_stale_temps_in(dir: &Path, name: Option<&str>) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let ours = std::process::id().to_string();
    let uid = rustix::process::getuid().as_raw();
    let mut removed = 0;
    for entry in entries.flatten() {
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
        let alive = pid != ours && Path::new("/proc").join(pid).exists();
        if alive {
            continue;
        }
        // lstat: what is at the name itself, a link not followed.
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        if !meta.is_file() || meta.uid() != uid {
            continue;
        }
        let path = entry.path();
        let Ok((f, opened)) = open_regular(&path, Links::Refuse) else {
            continue;
        };
        let same = opened.dev() == meta.dev() && opened.ino() == meta.ino();
        if same && f.try_lock().is_ok() && fs::remove_file(&path).is_ok() {
            removed += 1;
        }
    }
    removed
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
    use std::os::unix::fs::MetadataExt;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("eks-token-fsutil-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn read_file_reads_all_within_the_cap_and_refuses_more() {
        let d = scratch("read");
        fs::create_dir_all(&d).unwrap();
        let f = d.join("ten");
        fs::write(&f, b"0123456789").unwrap();
        assert_eq!(read_file(&f, 10).unwrap(), b"0123456789");
        assert_eq!(read_file(&f, 1 << 20).unwrap(), b"0123456789");
        assert!(read_file(&f, 9).is_err());
        assert_eq!(
            read_file(&d.join("missing"), 10).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        assert_eq!(
            read_file(&d, 10).unwrap_err().kind(),
            io::ErrorKind::IsADirectory
        );
        let _ = fs::remove_dir_all(&d);
    }

    #[test]
    fn writes_with_exact_mode_in_a_private_dir() {
        let d = scratch("mode");
        let f = d.join("a/b/token");
        write_atomic(&f, b"one", 0o640).unwrap();
        assert_eq!(fs::read(&f).unwrap(), b"one");
        assert_eq!(fs::metadata(&f).unwrap().mode() & 0o777, 0o640);
        assert_eq!(fs::metadata(d.join("a")).unwrap().mode() & 0o777, 0o700);
        assert_eq!(fs::metadata(d.join("a/b")).unwrap().mode() & 0o777, 0o700);
        write_atomic(&f, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&f).unwrap(), b"two");
        assert_eq!(fs::metadata(&f).unwrap().mode() & 0o777, 0o600);
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(d.join("a/b")).unwrap().count(), 1);
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
        assert_eq!(remove_stale_temps_in(&d, Some("token")), 2);
        assert!(!dead.exists() && !own.exists());
        assert!(live.exists() && writing.exists() && other_target.exists());
        assert_eq!(remove_stale_temps_in(&d, None), 1, "any target");
        drop((held, held_own));
        fs::remove_dir_all(&d).unwrap();
    }
}
