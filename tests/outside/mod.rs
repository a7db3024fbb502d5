//! Files and processes eks-token does not own: a FIFO or a device where a file is
//! expected, links and lookalikes in directories others can write, concurrent writers of
//! one kubeconfig, a root run on a user's file, chains built to be slow, signals that
//! would dump memory, credentials that expired at their source. Nothing blocks past
//! `--timeout`, nothing is followed or taken over, no change is lost.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::fault::{FaultServer, Reply};
use crate::common::*;
use serde_json::{json, Value};

mod aliases;
mod blocking;
mod helper_group;
mod kubeconfig;
mod lock_race;
mod processes;
mod write_targets;

fn mkfifo(path: &Path) {
    let st = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(st.success(), "mkfifo {}", path.display());
}

fn is_fifo(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_fifo())
}

/// Runs the binary under GNU time: the run, and its peak resident memory in KiB.
fn run_measured(env: &TestEnv, args: &[&str]) -> (Run, u64) {
    let dir = TempDir::new("rss");
    let rss = dir.join("rss");
    let mut all: Vec<String> = ["-f", "%M", "-o", rss.to_str().unwrap()]
        .iter()
        .map(|s| s.to_string())
        .collect();
    all.push(bin().display().to_string());
    all.extend(args.iter().map(|s| s.to_string()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let mut c = env.command(Path::new("/usr/bin/time"), &all);
    c.stdin(Stdio::null());
    let run = run_killed_after(c, Duration::from_secs(30));
    let kib = std::fs::read_to_string(&rss)
        .unwrap_or_default()
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("GNU time gave no peak memory: {}", run.stderr));
    (run, kib)
}

fn sso_cache_name(session: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, session.as_bytes());
    format!("{}.json", hex::encode(d.as_ref()))
}

/// Each file eks-token reads from outside, set up at `path` (a FIFO or a device); the
/// arguments of the run that reads it.
type Setup = fn(&mut TestEnv, &Path) -> Vec<String>;
