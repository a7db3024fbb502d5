//! The release in `dist/` (`make release`), checked as a user and a scanner would see it:
//! each binary carries its dependency list (`.dep-v0`) and fits the budget; the SBOM
//! names every crate of the binary with Cargo.lock's version; the OCI archive is one
//! image index for amd64 and arm64 that skopeo reads, whose amd64 root filesystem runs
//! `aws --version` and a whole `get-token` against moto in a chroot as user 65532.
//!
//! `#[ignore]`d in a plain `cargo test` (they need `dist/`): `make release-test` builds
//! the release and runs them with `EKS_TOKEN_DIST` naming it.

pub mod version;

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::*;

const MAX_BYTES: u64 = 2 * 1024 * 1024;

fn dist() -> PathBuf {
    let d = std::env::var_os("EKS_TOKEN_DIST")
        .map(PathBuf::from)
        .expect("EKS_TOKEN_DIST names dist/ (make release-test sets it)");
    assert!(d.is_dir(), "{} is not a directory", d.display());
    d
}

/// The repository's top directory.
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

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

/// The crates compiled into a binary, from its `.dep-v0` section (cargo-auditable's
/// zlib-compressed JSON), build-time-only crates left out: `(name, version)`.
fn audit_data(bin: &Path) -> BTreeSet<(String, String)> {
    let compressed =
        elf_section(bin, ".dep-v0").unwrap_or_else(|| panic!("no .dep-v0 in {}", bin.display()));
    let mut json = String::new();
    flate_decompress(&compressed, &mut json);
    let v: Value = serde_json::from_str(&json).unwrap();
    v["packages"]
        .as_array()
        .unwrap()
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

/// `(name, version)` of every package in Cargo.lock.
fn cargo_lock() -> BTreeSet<(String, String)> {
    let lock =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock")).unwrap();
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

#[test]
#[ignore = "needs dist/: make release-test builds the release and runs these"]
fn the_sbom_names_every_crate_of_the_binary_with_its_locked_version() {
    let bom: Value =
        serde_json::from_str(&std::fs::read_to_string(file("eks-token-V.cdx.json")).unwrap())
            .unwrap();
    assert_eq!(bom["bomFormat"], "CycloneDX");
    let mut components = BTreeSet::new();
    let mut stack: Vec<&Value> = bom["components"].as_array().unwrap().iter().collect();
    while let Some(c) = stack.pop() {
        components.insert((
            c["name"].as_str().unwrap().to_owned(),
            c["version"].as_str().unwrap_or("").to_owned(),
        ));
        if let Some(sub) = c["components"].as_array() {
            stack.extend(sub);
        }
        if c["licenses"].as_array().is_none_or(|l| l.is_empty()) && c["type"] == "library" {
            panic!("no licence for {c}");
        }
    }
    let lock = cargo_lock();
    for c in &components {
        assert!(lock.contains(c), "{c:?} is not in Cargo.lock");
    }
    // Every crate compiled into the binary (cargo-auditable's list) is in the SBOM.
    for (name, v) in audit_data(&file("eks-token-V-linux-amd64")) {
        if name == "eks-token" {
            continue;
        }
        assert!(
            components.contains(&(name.clone(), v.clone())),
            "{name} {v} is in the binary but not in the SBOM"
        );
    }
}

fn skopeo(args: &[&str]) -> Value {
    require_tool("skopeo", "it reads the OCI image archive");
    let out = Command::new("skopeo").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
#[ignore = "needs dist/: make release-test builds the release and runs these"]
fn the_image_is_one_index_for_two_architectures_and_runs_as_65532() {
    let archive = file("eks-token-V-oci.tar");
    let reference = format!("oci-archive:{}", archive.display());
    let index = skopeo(&["inspect", "--raw", &reference]);
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let platforms: BTreeSet<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(platforms, BTreeSet::from(["amd64".into(), "arm64".into()]));
    for arch in ["amd64", "arm64"] {
        let config = skopeo(&[
            "--override-arch",
            arch,
            "--override-os",
            "linux",
            "inspect",
            "--config",
            &reference,
        ]);
        assert_eq!(config["architecture"], arch);
        assert_eq!(config["config"]["User"], "65532");
        assert_eq!(
            config["config"]["Entrypoint"],
            serde_json::json!(["/usr/local/bin/eks-token"])
        );
    }
    // The amd64 root filesystem, unpacked, run in a chroot as 65532.
    require_root("chroot");
    let t = TempDir::new("oci-root");
    let layout = t.join("layout");
    let copied = Command::new("skopeo")
        .args(["--override-arch", "amd64", "--override-os", "linux", "copy"])
        .arg(&reference)
        .arg(format!("oci:{}:amd64", layout.display()))
        .output()
        .unwrap();
    assert!(
        copied.status.success(),
        "{}",
        String::from_utf8_lossy(&copied.stderr)
    );
    let bundle = t.join("bundle");
    let unpacked = Command::new("umoci")
        .args(["raw", "unpack", "--rootless", "--image"])
        .arg(format!("{}:amd64", layout.display()))
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(
        unpacked.status.success(),
        "{}",
        String::from_utf8_lossy(&unpacked.stderr)
    );
    let root = bundle;
    for name in [
        "eks-token",
        "aws",
        "aws-iam-authenticator",
        "argocd-k8s-auth",
    ] {
        assert!(root.join("usr/local/bin").join(name).exists(), "{name}");
    }
    assert!(!root.join("bin/sh").exists(), "no shell");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::copy("/etc/hosts", root.join("etc/hosts")).unwrap();
    let chroot = |program: &str, args: &[&str], env: &[(&str, &str)]| {
        let mut c = Command::new("/usr/sbin/chroot");
        c.arg("--userspec=65532:65532")
            .arg(&root)
            .arg(program)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/local/bin")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        for (k, v) in env {
            c.env(k, v);
        }
        run_killed_after(c, std::time::Duration::from_secs(60))
    };
    let r = chroot("aws", &["--version"], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let short = &version::head()[..7];
    assert!(
        r.stdout.starts_with("aws-cli/")
            && r.stdout
                .contains(&format!("eks-token/{} ({short}; ", version())),
        "{}",
        r.stdout
    );
    let r = chroot("eks-token", &["--version"], &[]);
    assert_eq!(
        r.stdout,
        version::line(),
        "the image's binary names the commit"
    );
    let m = moto();
    let r = chroot(
        "/usr/local/bin/eks-token",
        &["get-token", "--cluster-name", "dev", "--role-arn", DEV_ROLE],
        &[
            ("AWS_ACCESS_KEY_ID", "AKIAIMAGETEST0000001"),
            ("AWS_SECRET_ACCESS_KEY", "image/secret"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL_STS", &m.url),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_verifies_as_dev_role(&token_of(&r.stdout), "dev", &m.url);
}

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
        .filter(|n| n != "SHA256SUMS")
        .collect();
    files.sort();
    assert_eq!(listed, files);
    let check = Command::new("sha256sum")
        .args(["--check", "--quiet", "SHA256SUMS"])
        .current_dir(dist())
        .status()
        .unwrap();
    assert!(check.success());
}
