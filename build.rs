//! The commit eks-token is built from, for `--version` (`eks-token 0.3.0 (abc1234)`):
//! handed to the crate as the compile-time variable `EKS_TOKEN_COMMIT` (7 hex digits, or
//! empty when it is not known). Taken from, in order:
//!
//! 1. `EKS_TOKEN_COMMIT` in the build's environment (a packager building from a source
//!    archive that has neither of the two below; empty: none);
//! 2. `.cargo_vcs_info.json`, which `cargo package` writes into a crate tarball (a crate
//!    unpacked inside some other git repository must not take that repository's commit);
//! 3. `git rev-parse HEAD`, when this crate is the top of its git work tree (in a git
//!    worktree `.git` is a file: git itself finds the repository);
//! 4. none: `eks-token 0.3.0`.
//!
//! Cargo runs this again only when the commit can have changed (HEAD, the branch it
//! names, packed refs, HEAD's log), not on every edit. std and the git command only: no
//! dependency, nothing added to the binary but the 7 characters.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=EKS_TOKEN_COMMIT");
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let commit = match std::env::var("EKS_TOKEN_COMMIT") {
        Ok(given) => short(&given).or_else(|| {
            if !given.is_empty() {
                println!("cargo:warning=EKS_TOKEN_COMMIT={given:?} is not a commit id: ignored");
            }
            None
        }),
        Err(_) => from_vcs_info(&dir).or_else(|| from_git(&dir)),
    };
    println!(
        "cargo:rustc-env=EKS_TOKEN_COMMIT={}",
        commit.unwrap_or_default()
    );
}

/// The first 7 characters of a commit id (at least 7 hex digits), or `None`.
fn short(id: &str) -> Option<String> {
    let id = id.trim();
    (id.len() >= 7 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| id[..7].to_ascii_lowercase())
}

/// `git.sha1` of the `.cargo_vcs_info.json` of a packaged crate.
fn from_vcs_info(dir: &Path) -> Option<String> {
    let path = dir.join(".cargo_vcs_info.json");
    let text = std::fs::read_to_string(&path).ok()?;
    println!("cargo:rerun-if-changed={}", path.display());
    // {"git": {"sha1": "<40 hex digits>", ...}, "path_in_vcs": ""}: no JSON parser needed.
    let after = &text[text.find("\"sha1\"")? + "\"sha1\"".len()..];
    let value = after.trim_start().strip_prefix(':')?.trim_start();
    short(value.strip_prefix('"')?.split('"').next()?)
}

/// HEAD's commit when `dir` is the top of a git work tree.
fn from_git(dir: &Path) -> Option<String> {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let top = PathBuf::from(git(&["rev-parse", "--show-toplevel"])?);
    if top.canonicalize().ok()? != dir.canonicalize().ok()? {
        return None;
    }
    let commit = short(&git(&["rev-parse", "--verify", "--quiet", "HEAD"])?)?;
    // What moves when HEAD does: the HEAD file (a checkout), the branch it names (a
    // commit, a reset), packed refs, and HEAD's log (appended to on every move, also when
    // the branch was only packed). Only files that exist: cargo reruns the script on
    // every build for a missing one.
    let mut watched = vec!["HEAD".to_owned(), "packed-refs".into(), "logs/HEAD".into()];
    if let Some(branch) = git(&["symbolic-ref", "--quiet", "HEAD"]) {
        watched.push(branch);
    }
    for name in watched {
        // Relative to `dir` (git -C), or absolute (a worktree's, a separate git dir).
        if let Some(path) = git(&["rev-parse", "--git-path", &name]).map(|p| dir.join(p)) {
            if path.is_file() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    Some(commit)
}
