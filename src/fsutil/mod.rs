//! Files. Every file that comes from outside is opened one way ([`open_regular`]):
//! looked at before it is opened for reading (`O_PATH`, then `fstat`), so a FIFO never
//! blocks and a device is never opened; only a regular file is read, within a cap.
//! Files that hold tokens or credentials are written atomically and crash-safe (a reader
//! sees the old file or the new one, never a partial or empty one), with exact
//! permissions, relative to a directory held open ([`Dir`]), so that a directory swapped
//! for a link meanwhile redirects nothing.

use std::fs::{self, File, Metadata};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use std::time::Instant;

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

mod dir;
#[cfg(test)]
mod tests;

pub(crate) use dir::temp_of;
pub use dir::{locate, Dir, WriteOptions};

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
pub(crate) fn describe(mode: u32) -> &'static str {
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

/// The error for something at a path that is not a regular file (kind `IsADirectory`
/// for a directory, so that callers may treat that as absent).
fn not_regular(mode: u32) -> io::Error {
    let kind = if rustix::fs::FileType::from_raw_mode(mode) == rustix::fs::FileType::Directory {
        io::ErrorKind::IsADirectory
    } else {
        io::ErrorKind::InvalidInput
    };
    io::Error::new(
        kind,
        format!("it is {}, not a regular file", describe(mode)),
    )
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
/// only a regular file is opened for reading, opened again non-blocking and checked to
/// be the same file. With [`Links::Refuse`] a symbolic link is not followed.
pub(crate) fn open_regular(path: &Path, links: Links) -> io::Result<(File, Metadata)> {
    open_regular_at(rustix::fs::CWD, path, links)
}

/// [`open_regular`] of `path` relative to the directory `dir`.
fn open_regular_at<D: AsFd + Copy>(
    dir: D,
    path: &Path,
    links: Links,
) -> io::Result<(File, Metadata)> {
    let nofollow = if links == Links::Refuse {
        OFlags::NOFOLLOW
    } else {
        OFlags::empty()
    };
    let handle = rustix::fs::openat(
        dir,
        path,
        OFlags::PATH | OFlags::CLOEXEC | nofollow,
        Mode::empty(),
    )
    .map_err(refused_link)?;
    reopen(File::from(handle), || {
        rustix::fs::openat(dir, path, READ | nofollow, Mode::empty())
    })
}

/// Non-blocking, close-on-exec reading.
const READ: OFlags = OFlags::RDONLY
    .union(OFlags::CLOEXEC)
    .union(OFlags::NONBLOCK);

/// Opens for reading the file an `O_PATH` descriptor stands for, if it is a regular
/// file: `again` opens it anew (non-blocking), and it must be the same file (device and
/// inode), or it was replaced in between. Opening through `/proc/self/fd/N` would name
/// the inode itself, but costs a fresh process more than the rest of the open (procfs
/// makes its inodes on first use); a file swapped in the window is still refused, and
/// non-blocking, no FIFO can make the open wait.
fn reopen(
    handle: File,
    again: impl FnOnce() -> Result<std::os::fd::OwnedFd, Errno>,
) -> io::Result<(File, Metadata)> {
    let meta = handle.metadata()?;
    if !meta.is_file() {
        return Err(not_regular(meta.mode()));
    }
    drop(handle);
    let file = File::from(again().map_err(refused_link)?);
    let now = file.metadata()?;
    if (now.dev(), now.ino()) != (meta.dev(), meta.ino()) {
        return Err(io::Error::other("it was replaced while it was opened"));
    }
    Ok((file, now))
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

/// Whether `path` names a file: its last part is a name, not empty (`dir/`), `.` or
/// `..` (which `Path::file_name` would read as the directory's name).
pub fn names_a_file(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_os_str().as_bytes();
    let last = bytes.rsplit(|b| *b == b'/').next().unwrap_or(bytes);
    !matches!(last, b"" | b"." | b"..")
}

/// Whether `path` can take a file this program writes, checked without writing: it
/// names a file, what is there is a regular file or nothing (a link there is followed
/// with [`Links::Follow`], else it is an error, as [`Dir::write_atomic`] refuses it), and
/// the deepest part of the path that exists is a directory. For an error before any
/// request rather than after it.
pub fn check_target(path: &Path, links: Links) -> io::Result<()> {
    file_name(path)?;
    let at = match links {
        Links::Follow => fs::metadata(path),
        Links::Refuse => fs::symlink_metadata(path),
    };
    match at {
        Ok(meta) if meta.is_file() => return Ok(()),
        Ok(meta) if meta.is_dir() => {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "it is a directory: name a file in it",
            ))
        }
        Ok(meta) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "it is {}, which is not replaced: remove it, or name a regular file",
                    describe(meta.mode())
                ),
            ))
        }
        // Missing, or a file where a directory should be: the walk below names it.
        Err(e)
            if !matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            return Err(e)
        }
        Err(_) => {}
    }
    // Nothing there: the deepest existing part of the path must be a directory.
    let mut dir = parent_dir(path);
    loop {
        match fs::metadata(&dir) {
            Ok(meta) if meta.is_dir() => return Ok(()),
            Ok(meta) => {
                return Err(io::Error::new(
                    io::ErrorKind::NotADirectory,
                    format!(
                        "{} is {}, not a directory",
                        dir.display(),
                        describe(meta.mode())
                    ),
                ))
            }
            Err(_) if dir.pop() && !dir.as_os_str().is_empty() => {}
            Err(_) => return Ok(()),
        }
    }
}

/// The last component of `path`, the name of a file to write.
fn file_name(path: &Path) -> io::Result<&Path> {
    path.file_name()
        .filter(|_| names_a_file(path))
        .map(Path::new)
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "the path names a directory, not a file",
            )
        })
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

/// Marks the regular file at `path` as current (its modification time now) without
/// changing a byte: the sidecar does so after a refresh that failed, so that a liveness
/// probe on the file's age (`write-token --check --max-age`) tells a loop that runs from
/// one that hangs, whether or not STS answers. A link is not followed; anything but a
/// regular file is left alone (an error).
pub fn touch(path: &Path) -> io::Result<()> {
    use rustix::fs::{AtFlags, Timespec, Timestamps, UTIME_NOW, UTIME_OMIT};
    let meta = std::fs::symlink_metadata(path)?;
    if !meta.is_file() {
        return Err(not_regular(meta.mode()));
    }
    let times = Timestamps {
        last_access: Timespec {
            tv_sec: 0,
            tv_nsec: UTIME_OMIT,
        },
        last_modification: Timespec {
            tv_sec: 0,
            tv_nsec: UTIME_NOW,
        },
    };
    rustix::fs::utimensat(rustix::fs::CWD, path, &times, AtFlags::SYMLINK_NOFOLLOW)?;
    Ok(())
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
    crate::url::hex(&b)
}
