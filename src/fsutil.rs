//! Files that hold tokens or credentials: written atomically and crash-safe (a reader
//! sees the old file or the new one, never a partial or empty one), with exact
//! permissions, in directories created 0700.

use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Creates `dir` and any missing parents with mode 0700 (existing ones are left as
/// they are).
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// The directory a path lives in (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes `data` to `path` atomically: a temporary file created exclusively in the same
/// directory (`O_EXCL`: never through a symlink), written, fsynced and given `mode`,
/// renamed over `path` (which replaces a symlink rather than following it), then the
/// directory fsynced. On error the target is untouched and the temporary file removed.
pub fn write_atomic(path: &Path, data: &[u8], mode: u32) -> io::Result<()> {
    let dir = parent_dir(path);
    create_private_dir(&dir)?;
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
            .mode(mode)
            .open(&tmp)?;
        // Locked while it is written: a file nobody holds the lock of is a dead
        // writer's (see remove_stale_temps). Filesystems without locks still work.
        let _ = f.try_lock();
        // The umask may have cleared bits the user asked for.
        f.set_permissions(Permissions::from_mode(mode))?;
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
/// moment between a writer creating the file and locking it.
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
        let Ok(f) = File::open(entry.path()) else {
            continue;
        };
        if f.try_lock().is_ok() && fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Opens `path` for reading (close-on-exec) with one system call: musl's `open` follows
/// every `O_CLOEXEC` open with an `fcntl` that sets the flag again (for kernels older
/// than 2.6.23), a tenth of a warm run's system calls.
pub(crate) fn open_read(path: &Path) -> io::Result<File> {
    use rustix::fs::{Mode, OFlags};
    Ok(File::from(rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )?))
}

/// The contents of the file at `path`, in as few system calls as it takes (open, fstat,
/// one read, close); a file larger than `max` bytes is an error.
pub fn read_file(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let mut file = open_read(path)?;
    let len = file.metadata()?.len();
    let bytes = read_whole(&mut file, len, max)?;
    if bytes.len() as u64 > max {
        return Err(io::Error::other(format!("it is larger than {max} bytes")));
    }
    Ok(bytes)
}

/// The contents of `file`, whose size is `len`, in one `read` when the size is right
/// (a reader over the file makes a system call per byte; `read_to_end` one more to see
/// the end), at most `max` bytes.
pub(crate) fn read_whole(file: &mut File, len: u64, max: u64) -> io::Result<Vec<u8>> {
    let want = len.min(max) as usize;
    let mut bytes = vec![0; want + 1];
    let n = file.read(&mut bytes)?;
    bytes.truncate(n);
    if n > want {
        // Larger than it said (written meanwhile): read on, within the cap.
        file.take(max + 1 - n as u64).read_to_end(&mut bytes)?;
    }
    Ok(bytes)
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
