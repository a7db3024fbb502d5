//! The OCI image archive (`dist/eks-token-V-oci.tar`), read by skopeo and umoci as a
//! registry and a runtime would: one index for amd64 and arm64, user 65532, the labels
//! naming the source and the commit, and an amd64 root filesystem that runs in a chroot.

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;

use super::*;

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

/// The labels a registry and a scanner read: the title, the version, the licence, the
/// source repository (Cargo.toml's), the commit (40 hex digits, the checkout's HEAD, the
/// one `--version` names) and the time (the commit's, SOURCE_DATE_EPOCH), on both
/// architectures' configs.
#[test]
#[ignore = "needs dist/: make release-test builds the release and runs these"]
fn the_image_labels_name_the_source_and_the_commit() {
    let reference = format!("oci-archive:{}", file("eks-token-V-oci.tar").display());
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let repository = manifest
        .lines()
        .find_map(|l| l.strip_prefix("repository = "))
        .unwrap()
        .trim_matches('"');
    let commit = version::head();
    let created = Command::new("git")
        .args([
            "log",
            "-1",
            "--format=%cd",
            "--date=format-local:%Y-%m-%dT%H:%M:%SZ",
        ])
        .env("TZ", "UTC")
        .current_dir(root())
        .output()
        .unwrap();
    let created = String::from_utf8(created.stdout).unwrap();
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
        let labels = &config["config"]["Labels"];
        let label = |k: &str| labels[format!("org.opencontainers.image.{k}")].clone();
        assert_eq!(label("title"), "eks-token");
        assert_eq!(label("version"), version());
        assert_eq!(label("licenses"), "Apache-2.0");
        assert_eq!(label("source"), repository);
        assert_eq!(label("revision"), commit.as_str(), "{labels}");
        assert_eq!(label("created"), created.trim(), "{labels}");
        assert!(repository.starts_with("https://"), "{repository}");
    }
}
