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

/// Removes the temporary files that writers of `path` killed mid-write left behind
/// (their process is gone). Without `/proc` nothing is removed.
pub fn remove_stale_temps(path: &Path) {
    let (Some(name), dir) = (path.file_name(), parent_dir(path)) else {
        return;
    };
    if !Path::new("/proc/self").exists() {
        return;
    }
    let prefix = format!(".{}.eks-token-tmp.", name.to_string_lossy());
    let Ok(entries) = fs::read_dir(&dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        let pid = rest.split('.').next().unwrap_or("");
        if !pid.is_empty() && !Path::new("/proc").join(pid).exists() {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// The contents of `file`, whose size is `len`, in one `read` when the size is right
/// (a reader over the file makes a system call per byte; `read_to_end` one more to see
/// the end), at most `max` bytes.
pub(crate) fn read_whole(file: &mut File, len: u64, max: u64) -> std::io::Result<Vec<u8>> {
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
}
