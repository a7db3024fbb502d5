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

/// What names a place outside the repository, in a line of a test, script or Makefile.
fn outside(line: &str) -> Option<&'static str> {
    let t = line.trim();
    // A binary module compiled into a test or fuzz target: inside the repository.
    if t.starts_with("#[path = \"../src/") || t.starts_with("#[path = \"../../src/") {
        return None;
    }
    [
        "../",
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
            if let Some(what) = outside(line) {
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
    assert_eq!(
        outside(r#"Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/x")"#),
        Some("../")
    );
    assert_eq!(outside("see /work/shared/PROTOCOL.md"), Some("/work/"));
    assert_eq!(outside("#[path = \"../src/cli/args.rs\"]"), None);
    assert_eq!(outside("let p = root.join(\"tests/data\");"), None);
}
