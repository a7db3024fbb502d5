//! The release in `dist/` (`make release`), checked as a user, a scanner and a security
//! review would see it: each binary carries its dependency list (`.dep-v0`), fits the
//! budget and names its commit; the SBOM (`sbom`), the provenance (`provenance`), the
//! signature (`signing`), the image (`image`), the pinned toolchain (`toolchain`), and
//! the version with the CHANGELOG (`version`).
//!
//! The tests on `dist/` are `#[ignore]`d in a plain `cargo test`: `make release-test`
//! builds the release and runs them with `EKS_TOKEN_DIST` naming it.

mod image;
mod provenance;
mod sbom;
mod signing;
mod toolchain;
pub mod version;

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::*;

const MAX_BYTES: u64 = 2 * 1024 * 1024;

/// The release directory (`EKS_TOKEN_DIST`).
fn dist() -> PathBuf {
    let d = std::env::var_os("EKS_TOKEN_DIST")
        .map(PathBuf::from)
        .expect("EKS_TOKEN_DIST names dist/ (make release-test sets it)");
    assert!(d.is_dir(), "{} is not a directory", d.display());
    d
}

fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// A file of the release, `V` in its name standing for the version.
fn file(name: &str) -> PathBuf {
    let p = dist().join(name.replace("V", version()));
    assert!(p.is_file(), "{} is missing", p.display());
    p
}

/// The bytes of section `name` of a 64-bit little-endian ELF file.
fn elf_section(bin: &Path, name: &str) -> Option<Vec<u8>> {
    let b = std::fs::read(bin).unwrap();
    let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]) as usize;
    let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap()) as usize;
    assert_eq!(
        &b[..5],
        b"\x7fELF\x02",
        "{}: not a 64-bit ELF",
        bin.display()
    );
    let (shoff, shentsize, shnum, shstrndx) =
        (u64_at(0x28), u16_at(0x3a), u16_at(0x3c), u16_at(0x3e));
    let header = |i: usize| shoff + i * shentsize;
    let strtab = u64_at(header(shstrndx) + 0x18);
    (0..shnum).find_map(|i| {
        let h = header(i);
        let at = strtab + u32_at(h);
        let end = at + b[at..].iter().position(|c| *c == 0)?;
        (&b[at..end] == name.as_bytes()).then(|| {
            let (off, size) = (u64_at(h + 0x18), u64_at(h + 0x20));
            b[off..off + size].to_vec()
        })
    })
}

/// The packages of a binary's `.dep-v0` section (cargo-auditable's zlib-compressed JSON).
fn audit_packages(bin: &Path) -> Vec<Value> {
    let compressed =
        elf_section(bin, ".dep-v0").unwrap_or_else(|| panic!("no .dep-v0 in {}", bin.display()));
    let mut json = String::new();
    flate_decompress(&compressed, &mut json);
    let v: Value = serde_json::from_str(&json).unwrap();
    v["packages"].as_array().unwrap().clone()
}

/// The crates compiled into a binary, from its `.dep-v0` section, build-time-only crates
/// left out: `(name, version)`.
fn audit_data(bin: &Path) -> BTreeSet<(String, String)> {
    audit_packages(bin)
        .iter()
        .filter(|p| p["kind"] != "build")
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// python3 running `script` with `args`: (success, stdout, stderr).
fn python(script: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A JSON file of the release.
fn json_file(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(file(name)).unwrap()).unwrap()
}

/// The version dpkg has installed of `PACKAGE` (amd64 or all) or `PACKAGE:ARCH`.
fn dpkg_version(spec: &str) -> String {
    let (package, arch) = spec.split_once(':').unwrap_or((spec, ""));
    let out = Command::new("dpkg-query")
        .args(["-W", "-f", "${Architecture} ${Version}\n", package])
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .find(|(a, _)| {
            if arch.is_empty() {
                ["amd64", "all"].contains(a)
            } else {
                *a == arch
            }
        })
        .unwrap_or_else(|| panic!("{spec} is not installed"))
        .1
        .to_owned()
}

/// The hex SHA-256 of a file, by sha256sum (as a user checks it).
fn sha256_of(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

/// zlib's inflate, by python3 (the tests add no crate for it).
fn flate_decompress(data: &[u8], out: &mut String) {
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import sys, zlib; sys.stdout.write(zlib.decompress(sys.stdin.buffer.read()).decode())",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(data).unwrap();
    child.stdout.take().unwrap().read_to_string(out).unwrap();
    assert!(child.wait().unwrap().success());
}

/// The repository's top directory.
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `(name, version)` of every package in Cargo.lock.
fn cargo_lock() -> BTreeSet<(String, String)> {
    lock_file(&root().join("Cargo.lock"))
}

/// `(name, version)` of every package of a Cargo.lock file.
fn lock_file(path: &Path) -> BTreeSet<(String, String)> {
    let lock = std::fs::read_to_string(path).unwrap();
    let mut out = BTreeSet::new();
    let mut name = None;
    for line in lock.lines() {
        if let Some(n) = line.strip_prefix("name = ") {
            name = Some(n.trim_matches('"').to_owned());
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name.take()) {
            out.insert((n, v.trim_matches('"').to_owned()));
        }
    }
    out
}

#[test]
#[ignore = "needs dist/: make release-test builds the release and runs these"]
fn the_binaries_list_their_crates_and_fit_the_budget() {
    let lock = cargo_lock();
    for (name, arch) in [
        ("eks-token-V-linux-amd64", "x86-64"),
        ("eks-token-V-linux-arm64", "ARM aarch64"),
    ] {
        let bin = file(name);
        let size = std::fs::metadata(&bin).unwrap().len();
        assert!(size <= MAX_BYTES, "{name}: {size} bytes");
        let desc = Command::new("file").arg(&bin).output().unwrap();
        let desc = String::from_utf8_lossy(&desc.stdout);
        assert!(
            desc.contains(arch) && desc.contains("statically linked"),
            "{desc}"
        );
        let crates = audit_data(&bin);
        assert!(
            crates.contains(&("eks-token".into(), version().into())),
            "{crates:?}"
        );
        for c in [
            "ring",
            "rustls",
            "ureq",
            "serde_json",
            "quick-xml",
            "yaml-rust2",
        ] {
            assert!(
                crates.iter().any(|(n, _)| n == c),
                "{c} not listed: {crates:?}"
            );
        }
        for c in &crates {
            assert!(lock.contains(c), "{c:?} is not in Cargo.lock");
        }
    }
}

/// SHA256SUMS lists every file of the release but itself and its signature (`make
/// sign` adds that after), the provenance included, and each checksum holds.
#[test]
#[ignore = "needs dist/: make release-test builds the release and runs these"]
fn the_checksums_cover_every_file() {
    let sums = std::fs::read_to_string(file("SHA256SUMS")).unwrap();
    let mut listed: Vec<&str> = sums
        .lines()
        .map(|l| l.split_whitespace().nth(1).unwrap().trim_start_matches('*'))
        .collect();
    listed.sort();
    let mut files: Vec<String> = std::fs::read_dir(dist())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "SHA256SUMS" && n != "SHA256SUMS.minisig")
        .collect();
    files.sort();
    assert_eq!(listed, files);
    assert!(
        listed.contains(&format!("eks-token-{}.intoto.jsonl", version()).as_str()),
        "{listed:?}"
    );
    let check = Command::new("sha256sum")
        .args(["--check", "--quiet", "SHA256SUMS"])
        .current_dir(dist())
        .status()
        .unwrap();
    assert!(check.success());
}
