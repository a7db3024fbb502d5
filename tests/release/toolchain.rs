//! The toolchain pinned in `.ci/toolchain.env`: the machine that built the release has
//! exactly it, and `make release` stops, naming what differs, before it builds anything
//! with another.

use std::process::Command;

use super::*;

#[test]
#[ignore = "needs the release's toolchain: make release-test installs it and runs these"]
fn the_release_was_built_with_the_pinned_toolchain() {
    let out = Command::new("python3")
        .arg(root().join(".ci/toolchain.py"))
        .arg("check")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// In a clone whose pins name another musl and another rustc, `.ci/release.sh` fails
/// with both named, and writes no dist/.
#[test]
#[ignore = "needs the release's toolchain: make release-test installs it and runs these"]
fn another_toolchain_stops_the_release() {
    let t = TempDir::new("pins");
    let clone = t.join("eks-token");
    let cloned = Command::new("git")
        .args(["clone", "--quiet", "--no-local"])
        .arg(root())
        .arg(&clone)
        .status()
        .unwrap();
    assert!(cloned.success());
    // The arm64 libunwind build-static.sh unpacked, so that the clone need not download it.
    let unwind = root().join("target/aarch64-libunwind");
    std::fs::create_dir_all(clone.join("target")).unwrap();
    let copied = Command::new("cp")
        .arg("-a")
        .arg(&unwind)
        .arg(clone.join("target"))
        .status()
        .unwrap();
    assert!(
        copied.success(),
        "{} (make release unpacks it)",
        unwind.display()
    );
    let pins = clone.join(".ci/toolchain.env");
    let text = std::fs::read_to_string(&pins).unwrap();
    let musl = text
        .lines()
        .find_map(|l| l.strip_prefix("musl-dev="))
        .unwrap()
        .to_owned();
    let changed = text
        .replace(&format!("musl-dev={musl}\n"), "musl-dev=9.9.9-1\n")
        .replace("RUSTC_VERSION=", "RUSTC_VERSION=0.");
    assert_ne!(changed, text);
    std::fs::write(&pins, changed).unwrap();
    let out = Command::new(clone.join(".ci/release.sh")).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("musl-dev: pinned 9.9.9-1, installed {musl}")),
        "{stderr}"
    );
    assert!(
        stderr.contains("rustc (/usr/bin/rustc): pinned 0."),
        "{stderr}"
    );
    assert!(
        !stderr.contains("Compiling"),
        "stopped before building: {stderr}"
    );
    assert!(!clone.join("dist").exists());
}
