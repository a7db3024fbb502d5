//! The repository stands alone: no test, script, Makefile target or example names a
//! path outside it, so a clone of this repository alone runs `make test`. (The data the
//! tests need is copied into `tests/data/`, with its source and license.)

use std::path::{Path, PathBuf};

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name();
        let name = name.to_string_lossy();
        // Build output, fuzzing state, and the copied third-party data itself.
        if ["target", "corpus", "artifacts", "data", "__pycache__"].contains(&name.as_ref()) {
            continue;
        }
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Whether `path` (relative to the directory `dir`) leaves `root`, read lexically.
fn escapes(root: &Path, dir: &Path, path: &str) -> bool {
    let mut at: Vec<std::ffi::OsString> = dir
        .strip_prefix(root)
        .unwrap_or(dir)
        .components()
        .map(|c| c.as_os_str().to_owned())
        .collect();
    for part in path.split('/') {
        match part {
            ".." if at.pop().is_none() => return true,
            ".." | "." | "" => {}
            p => at.push(p.into()),
        }
    }
    false
}

/// The words of a line that hold a relative path going up (`../x`).
fn upward_paths(line: &str) -> impl Iterator<Item = &str> {
    line.split(|c: char| c.is_whitespace() || "\"'()[],=".contains(c))
        .filter(|w| w.contains("../"))
}

/// What names a place outside the repository, in a line of a test, script or Makefile
/// in `dir`: an upward path that leaves the repository, or a path of this machine's.
fn outside(root: &Path, dir: &Path, line: &str) -> Option<&'static str> {
    if upward_paths(line).any(|p| escapes(root, dir, p)) {
        return Some("../");
    }
    [
        "..\\\"",
        "/work/",
        "shared/sigv4",
        "shared/aws-config",
        "BUILD-STATIC.md",
        "PROTOCOL.md",
        "AWS_CONFIG_TEST_DATA",
        "SIGV4_SUITE_DIR",
    ]
    .into_iter()
    .find(|needle| line.contains(needle))
}

#[test]
fn no_test_script_or_target_reads_outside_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("Makefile"), root.join("Cargo.toml")];
    for dir in ["tests", ".ci", "examples", "fuzz"] {
        files_under(&root.join(dir), &mut files);
    }
    let mut found = Vec::new();
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue; // binary seeds
        };
        for (n, line) in text.lines().enumerate() {
            // This file names the patterns it looks for.
            if f.ends_with("tests/standalone.rs") {
                continue;
            }
            if let Some(what) = outside(root, f.parent().unwrap(), line) {
                found.push(format!(
                    "{}:{}: {what:?} in {}",
                    f.strip_prefix(root).unwrap().display(),
                    n + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "paths outside the repository:\n{}",
        found.join("\n")
    );
    assert!(files.len() > 40, "{} files scanned", files.len());
    // And what the tests read is here.
    for data in [
        "tests/data/sigv4-test-suite/v4",
        "tests/data/aws-config-test-data/default-credential-provider-chain",
        "tests/data/SOURCE.md",
        "tests/data/LICENSE-APACHE-2.0.txt",
    ] {
        assert!(root.join(data).exists(), "{data} is missing");
    }
}

#[test]
fn the_checker_finds_outside_paths() {
    let root = Path::new("/repo");
    let top = Path::new("/repo");
    let tests = Path::new("/repo/tests");
    assert_eq!(
        outside(
            root,
            top,
            r#"Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/x")"#
        ),
        Some("../")
    );
    assert_eq!(outside(root, tests, "see ../../shared/x"), Some("../"));
    assert_eq!(
        outside(root, top, "see /work/shared/PROTOCOL.md"),
        Some("/work/")
    );
    // Upward paths that stay inside the repository.
    assert_eq!(
        outside(root, tests, "#[path = \"../src/cli/args.rs\"]"),
        None
    );
    assert_eq!(
        outside(
            root,
            Path::new("/repo/examples/kustomize/example"),
            "- ../eks-token"
        ),
        None
    );
    assert_eq!(
        outside(root, top, "let p = root.join(\"tests/data\");"),
        None
    );
}
