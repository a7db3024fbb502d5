//! `--version` names the commit (`eks-token 0.3.0 (abc1234)`): build.rs takes it from
//! git, from a crate tarball's `.cargo_vcs_info.json`, or knows none; cargo runs it again
//! on a new commit and not on an edit; every binary of a release names the same one.
//! And the version moves with the CHANGELOG: Cargo.toml's is the newest released heading.

use std::path::Path;
use std::process::Command;

use super::*;

/// The checkout's HEAD (40 hex digits).
pub fn head() -> String {
    let out = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(root())
        .output()
        .expect("git");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// What `eks-token --version` prints when built from this checkout's HEAD.
pub fn line() -> String {
    format!("eks-token {} ({})\n", version(), &head()[..7])
}

#[test]
fn version_names_the_commit() {
    let out = Command::new(bin()).arg("--version").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), line());
    let mut env = TestEnv::new();
    let aws = as_program(&mut env, "aws");
    let r = run_as(&env, &aws, &["--version"]);
    let short = &head()[..7];
    assert!(
        r.stdout.starts_with("aws-cli/")
            && r.stdout
                .contains(&format!(" eks-token/{} ({short}; standing in", version())),
        "{}",
        r.stdout
    );
}

#[test]
#[ignore = "needs dist/: make release-test builds the release and runs these"]
fn every_binary_of_the_release_names_the_same_commit() {
    let amd64 = Command::new(file("eks-token-V-linux-amd64"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&amd64.stdout), line());
    require_tool("qemu-aarch64-static", "it runs the arm64 binary");
    let arm64 = Command::new("qemu-aarch64-static")
        .arg(file("eks-token-V-linux-arm64"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&arm64.stdout), line());
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A git repository in `dir` with one commit; its id.
fn repository(dir: &Path) -> String {
    std::fs::create_dir_all(dir).unwrap();
    git(dir, &["init", "--quiet"]);
    std::fs::write(dir.join("a"), "a").unwrap();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "--quiet", "-m", "a"]);
    git(dir, &["rev-parse", "HEAD"])
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// build.rs compiled alone and run as cargo runs it, for each place a commit can come
/// from: its output lines.
#[test]
fn the_build_script_takes_the_commit_from_git_then_the_crate_tarball_else_none() {
    let t = TempDir::new("build-script");
    let script = t.join("build-script");
    let built = Command::new("rustc")
        .args(["--edition", "2021", "-o"])
        .arg(&script)
        .arg(root().join("build.rs"))
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let run = |dir: &Path, commit_env: Option<&str>| -> String {
        let mut c = Command::new(&script);
        c.env("CARGO_MANIFEST_DIR", dir)
            .env_remove("EKS_TOKEN_COMMIT");
        if let Some(v) = commit_env {
            c.env("EKS_TOKEN_COMMIT", v);
        }
        let out = c.output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let commit_of = |out: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix("cargo:rustc-env=EKS_TOKEN_COMMIT="))
            .unwrap_or_else(|| panic!("{out}"))
            .to_owned()
    };

    // A repository whose top is the crate; every file it watches exists.
    let repo = t.join("repo");
    let id = repository(&repo);
    let out = run(&repo, None);
    assert_eq!(commit_of(&out), id[..7], "{out}");
    let watched: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("cargo:rerun-if-changed="))
        .collect();
    assert!(watched.iter().any(|p| p.ends_with("HEAD")), "{out}");
    assert!(
        watched.iter().any(|p| p.ends_with("refs/heads/main")),
        "{out}"
    );
    for p in &watched {
        assert!(
            Path::new(p).is_file(),
            "{p}: cargo would rerun it on every build"
        );
    }
    // A git worktree (`.git` is a file there).
    let worktree = t.join("worktree");
    git(
        &repo,
        &[
            "worktree",
            "add",
            "--quiet",
            "-b",
            "other",
            worktree.to_str().unwrap(),
        ],
    );
    assert!(worktree.join(".git").is_file());
    assert_eq!(commit_of(&run(&worktree, None)), id[..7]);
    // A crate inside someone else's repository takes no commit of theirs...
    let inner = repo.join("vendor/eks-token");
    std::fs::create_dir_all(&inner).unwrap();
    assert_eq!(commit_of(&run(&inner, None)), "");
    // ...but its own, packed by cargo.
    std::fs::write(
        inner.join(".cargo_vcs_info.json"),
        "{\n  \"git\": {\n    \"sha1\": \"0123456789abcdef0123456789abcdef01234567\"\n  },\n  \"path_in_vcs\": \"\"\n}",
    )
    .unwrap();
    assert_eq!(commit_of(&run(&inner, None)), "0123456");
    // No repository, no tarball: no commit.
    let plain = t.join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    assert_eq!(commit_of(&run(&plain, None)), "");
    // A packager's: given, empty (none), or not a commit (ignored, with a warning).
    assert_eq!(commit_of(&run(&plain, Some("FEEDFACE00"))), "feedfac");
    assert_eq!(commit_of(&run(&repo, Some(""))), "");
    let out = run(&repo, Some("v1.2"));
    assert_eq!(commit_of(&out), "");
    assert!(out.contains("cargo:warning="), "{out}");
}

/// Through cargo: a crate with this build.rs names its commit, is not rebuilt by its
/// build script for an edit, and names a new commit once made.
#[test]
fn cargo_reruns_the_build_script_on_a_new_commit_only() {
    let t = TempDir::new("build-rerun");
    let dir = t.join("crate");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::copy(root().join("build.rs"), dir.join("build.rs")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"v\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[workspace]\n",
    )
    .unwrap();
    let main = |extra: &str| {
        format!("fn main() {{ println!(\"{{}}{extra}\", env!(\"EKS_TOKEN_COMMIT\")); }}\n")
    };
    std::fs::write(dir.join("src/main.rs"), main("")).unwrap();
    let first = repository(&dir);
    let build = || {
        let out = Command::new(cargo())
            .args(["build", "-vv", "--offline"])
            .env("CARGO_TARGET_DIR", t.join("target"))
            .env_remove("EKS_TOKEN_COMMIT")
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let log = String::from_utf8_lossy(&out.stderr).into_owned();
        let printed = Command::new(t.join("target/debug/v")).output().unwrap();
        (
            log.contains("build-script-build`"),
            String::from_utf8(printed.stdout).unwrap(),
        )
    };
    assert_eq!(build(), (true, format!("{}\n", &first[..7])));
    std::fs::write(dir.join("src/main.rs"), main("!")).unwrap();
    assert_eq!(build(), (false, format!("{}!\n", &first[..7])), "an edit");
    // Cargo compares modification times: on a file system that keeps whole seconds,
    // a commit in the second of the last build would look older than it.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    git(&dir, &["commit", "--quiet", "-am", "b"]);
    let second = git(&dir, &["rev-parse", "HEAD"]);
    assert_eq!(build(), (true, format!("{}!\n", &second[..7])), "a commit");
}

/// Cargo.toml's version against CHANGELOG.md: `## [Unreleased]` first (work merged since
/// the release), then the newest release `## [X.Y.Z] - YYYY-MM-DD` whose version is
/// Cargo.toml's; releases newest first, each dated, dates never going up.
fn check_changelog(changelog: &str, version: &str) -> Result<(), String> {
    let headings: Vec<&str> = changelog
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .collect();
    if headings.first() != Some(&"[Unreleased]") {
        return Err(format!(
            "the first heading is not [Unreleased]: {headings:?}"
        ));
    }
    let mut releases = Vec::new();
    for h in &headings[1..] {
        let (v, date) = h
            .strip_prefix('[')
            .and_then(|h| h.split_once("] - "))
            .ok_or_else(|| format!("not `## [X.Y.Z] - YYYY-MM-DD`: {h}"))?;
        let parts: Vec<u64> = v.split('.').filter_map(|p| p.parse().ok()).collect();
        let date_ok = date.len() == 10
            && date.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        if parts.len() != 3 || !date_ok {
            return Err(format!("not `## [X.Y.Z] - YYYY-MM-DD`: {h}"));
        }
        releases.push((parts, date, v));
    }
    let newest = releases.first().ok_or("no released version")?;
    if newest.2 != version {
        return Err(format!(
            "Cargo.toml says {version}, the newest release of the CHANGELOG is {}",
            newest.2
        ));
    }
    for w in releases.windows(2) {
        if w[0].0 <= w[1].0 || w[0].1 < w[1].1 {
            return Err(format!("{} is listed above {}", w[1].2, w[0].2));
        }
    }
    Ok(())
}

#[test]
fn the_version_is_the_changelogs_newest_release() {
    let changelog = std::fs::read_to_string(root().join("CHANGELOG.md")).unwrap();
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let v = manifest
        .lines()
        .find_map(|l| l.strip_prefix("version = "))
        .unwrap()
        .trim_matches('"');
    assert_eq!(v, version());
    check_changelog(&changelog, v).unwrap();
    // The check can fail: a version the CHANGELOG has not released, a release above
    // [Unreleased], two releases out of order.
    assert!(check_changelog(&changelog, "9.9.9").is_err());
    let moved = changelog.replacen("## [Unreleased]", "## [Unreleased-x]", 1);
    assert!(check_changelog(&moved, v).is_err());
    let misordered = "## [Unreleased]\n## [0.1.0] - 2026-01-01\n## [0.2.0] - 2026-02-01\n";
    assert!(check_changelog(misordered, "0.1.0").is_err());
}
