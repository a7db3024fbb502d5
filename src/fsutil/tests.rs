use super::*;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("eks-token-fsutil-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    d
}

fn mkfifo(p: &Path) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        p,
        rustix::fs::FileType::Fifo,
        Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
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
fn neither_follows_nor_replaces_a_link_or_a_device_unless_told() {
    let d = scratch("symlink");
    fs::create_dir_all(&d).unwrap();
    let victim = d.join("victim");
    fs::write(&victim, "keep").unwrap();
    let link = d.join("token");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let fifo = d.join("fifo");
    mkfifo(&fifo);
    for (path, what) in [(&link, "a symbolic link"), (&fifo, "a FIFO")] {
        let e = write_atomic(path, b"tok", 0o600).unwrap_err();
        assert!(e.to_string().contains(what), "{e}");
        assert!(
            !fs::symlink_metadata(path).unwrap().is_file(),
            "{what} replaced"
        );
    }
    assert_eq!(fs::read(&victim).unwrap(), b"keep");
    assert_eq!(
        fs::read_dir(&d).unwrap().count(),
        3,
        "a temporary file left"
    );
    // In a directory of ours alone, junk at the name is replaced (and not followed).
    let opts = WriteOptions {
        replace_any: true,
        ..WriteOptions::mode(0o600)
    };
    write_atomic_with(&link, b"tok", opts).unwrap();
    assert_eq!(fs::read(&victim).unwrap(), b"keep");
    assert!(fs::symlink_metadata(&link).unwrap().is_file());
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
    mkfifo(&fifo);
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
