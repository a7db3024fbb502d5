//! The static musl binary: statically linked, within its size budget, and able to run
//! alone in an empty root (what a `FROM scratch` image gives it): no libc, no CA store,
//! no HOME, no /etc/passwd, optionally a read-only root.
//!
//! These tests are `#[ignore]`d in a plain `cargo test`: `make test` builds the binary,
//! names it in `EKS_TOKEN_STATIC_BIN` and runs them with `--ignored static_binary::x86_64`;
//! `make test-arm64` runs the aarch64 one (`EKS_TOKEN_STATIC_BIN_ARM64`). Run without
//! the variable they fail.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

/// The size budget of the stripped static binary.
const MAX_BYTES: u64 = 2 * 1024 * 1024;
const IRSA_TOKEN_PATH: &str = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token";

fn static_bin() -> PathBuf {
    let p = std::env::var_os("EKS_TOKEN_STATIC_BIN")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .expect("EKS_TOKEN_STATIC_BIN names the static binary (make test builds and sets it)");
    assert!(
        p.is_file(),
        "EKS_TOKEN_STATIC_BIN={} does not exist",
        p.display()
    );
    p
}

fn check_linkage_and_size(bin: &Path, arch: &str) {
    let out = Command::new("file").arg(bin).output().expect("file(1)");
    let desc = String::from_utf8_lossy(&out.stdout);
    assert!(
        desc.contains("statically linked") || desc.contains("static-pie linked"),
        "{desc}"
    );
    assert!(!desc.contains("interpreter"), "{desc}");
    assert!(desc.contains(arch), "not {arch}: {desc}");
    let size = std::fs::metadata(bin).unwrap().len();
    assert!(
        size <= MAX_BYTES,
        "{} is {size} bytes, over the {MAX_BYTES}-byte budget",
        bin.display()
    );
}

#[test]
#[ignore = "needs the static binary: make test builds it and runs these"]
fn x86_64_statically_linked_and_within_the_size_budget() {
    let bin = static_bin();
    check_linkage_and_size(&bin, "x86-64");
}

/// `make test-arm64` names the aarch64 build in `EKS_TOKEN_STATIC_BIN_ARM64`.
#[test]
#[ignore = "needs the aarch64 static binary: make test-arm64 builds it and runs this"]
fn aarch64_statically_linked_and_within_the_size_budget() {
    let bin = std::env::var_os("EKS_TOKEN_STATIC_BIN_ARM64")
        .filter(|p| !p.is_empty())
        .expect("EKS_TOKEN_STATIC_BIN_ARM64 names the aarch64 build (make test-arm64 sets it)");
    check_linkage_and_size(Path::new(&bin), "ARM aarch64");
}

/// An empty root holding only the binary, /etc/hosts, /etc/resolv.conf and the IRSA
/// token file: what Kubernetes mounts into a scratch container.
fn scratch_root(bin: &Path) -> TempDir {
    let root = TempDir::new("scratch-root");
    std::fs::copy(bin, root.join("eks-token")).unwrap();
    // The drop-in recipe: the same file as /usr/local/bin/aws.
    std::fs::create_dir_all(root.join("usr/local/bin")).unwrap();
    std::fs::copy(bin, root.join("usr/local/bin/aws")).unwrap();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    for f in ["hosts", "resolv.conf"] {
        let src = Path::new("/etc").join(f);
        if src.exists() {
            std::fs::copy(&src, root.join("etc").join(f)).unwrap();
        }
    }
    let token = root.0.join(IRSA_TOKEN_PATH.trim_start_matches('/'));
    std::fs::create_dir_all(token.parent().unwrap()).unwrap();
    std::fs::write(&token, "eyJhbGciOiJSUzI1NiJ9.scratch-pod.c2ln").unwrap();
    root
}

/// Runs `/eks-token args` chrooted into `root` with exactly `env` (no HOME), the root
/// mounted read-only when `read_only`.
fn chroot_run(root: &Path, read_only: bool, env: &[(&str, &str)], args: &[&str]) -> Run {
    chroot_run_as(root, read_only, env, "/eks-token", args)
}

/// [`chroot_run`] of `program` (a path inside `root`).
fn chroot_run_as(
    root: &Path,
    read_only: bool,
    env: &[(&str, &str)],
    program: &str,
    args: &[&str],
) -> Run {
    let script = r#"d=$1; p=$2; shift 2
if [ "$EKS_RO" = 1 ]; then
  mount --bind "$d" "$d" && mount -o remount,ro,bind "$d" "$d" || { echo "cannot make $d read-only" >&2; exit 97; }
fi
unset EKS_RO PATH
if [ -n "$EKS_CHROOT_PATH" ]; then export PATH="$EKS_CHROOT_PATH"; fi
unset EKS_CHROOT_PATH
exec /usr/sbin/chroot "$d" "$p" "$@""#;
    let started = std::time::Instant::now();
    let mut c = Command::new("unshare");
    c.args(["-m", "--", "/bin/sh", "-c", script, "sh"])
        .arg(root)
        .arg(program)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("EKS_RO", if read_only { "1" } else { "0" });
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("unshare");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: started.elapsed(),
    }
}

fn run_from_scratch(read_only: bool) {
    let bin = static_bin();
    require_root("chroot");
    let m = moto();
    let root = scratch_root(&bin);
    let no_imds = ("AWS_EC2_METADATA_DISABLED", "true");

    let r = chroot_run(root.path(), read_only, &[], &["--version"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        crate::release::version::line(),
        "names the commit"
    );

    // Environment credentials: no network needed.
    let r = chroot_run(
        root.path(),
        read_only,
        &[
            ("AWS_ACCESS_KEY_ID", "AKIASCRATCHSTATIC001"),
            ("AWS_SECRET_ACCESS_KEY", "scratch/secret"),
            ("AWS_REGION", "eu-central-1"),
            no_imds,
        ],
        &["get-token", "--cluster-name", "dev"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = verify(
        &token_of(&r.stdout),
        "dev",
        Some(&m.url),
        &[("AKIASCRATCHSTATIC001", "scratch/secret")],
    );
    assert_verifies(&v);
    assert!(decode_url(&r.stdout).starts_with("https://sts.eu-central-1.amazonaws.com/?"));

    // The full IRSA -> AssumeRole chain against moto on 127.0.0.1.
    let r = chroot_run(
        root.path(),
        read_only,
        &[
            ("AWS_WEB_IDENTITY_TOKEN_FILE", IRSA_TOKEN_PATH),
            (
                "AWS_ROLE_ARN",
                "arn:aws:iam::111111111111:role/scratch-irsa",
            ),
            ("AWS_ENDPOINT_URL_STS", &m.url),
            ("AWS_REGION", "us-east-1"),
            no_imds,
        ],
        &[
            "get-token",
            "--cluster-name",
            "dev",
            "--role-arn",
            DEV_ROLE,
            "-v",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = verify(&token_of(&r.stdout), "dev", Some(&m.url), &[]);
    assert_verifies(&v);
    assert!(
        v["arn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:sts::222222222222:assumed-role/testrole/"),
        "{v}"
    );

    // The same chain as `aws` (COPY eks-token /usr/local/bin/aws), with the arguments
    // of the kubeconfig `aws eks update-kubeconfig --role-arn` writes.
    let r = chroot_run_as(
        root.path(),
        read_only,
        &[
            ("AWS_WEB_IDENTITY_TOKEN_FILE", IRSA_TOKEN_PATH),
            (
                "AWS_ROLE_ARN",
                "arn:aws:iam::111111111111:role/scratch-irsa",
            ),
            ("AWS_ENDPOINT_URL_STS", &m.url),
            // PATH inside the chroot.
            ("EKS_CHROOT_PATH", "/usr/local/bin"),
            no_imds,
        ],
        "/usr/local/bin/aws",
        &strs(&aws_exec_args("us-east-1", "dev", Some(DEV_ROLE))),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_verifies_as_dev_role(&token_of(&r.stdout), "dev", &m.url);
    let r = chroot_run_as(
        root.path(),
        read_only,
        &[no_imds],
        "/usr/local/bin/aws",
        &["s3", "ls"],
    );
    assert_eq!((r.code, r.stdout.as_str()), (2, ""), "{}", r.stderr);
    assert!(
        r.stderr.contains("eks-token standing in for the AWS CLI"),
        "{}",
        r.stderr
    );

    // TLS with no CA store on the system: a private CA passed in AWS_CA_BUNDLE.
    let front = TlsFront::start(&m.url);
    // (Copied from outside: the read-only mount exists only inside each run.)
    std::fs::copy(&front.ca, root.join("etc/sts-ca.pem")).unwrap();
    let r = chroot_run(
        root.path(),
        read_only,
        &[
            ("AWS_WEB_IDENTITY_TOKEN_FILE", IRSA_TOKEN_PATH),
            (
                "AWS_ROLE_ARN",
                "arn:aws:iam::111111111111:role/scratch-irsa",
            ),
            ("AWS_ENDPOINT_URL_STS", &front.url),
            ("AWS_CA_BUNDLE", "/etc/sts-ca.pem"),
            no_imds,
        ],
        &["get-token", "--cluster-name", "dev", "--role-arn", DEV_ROLE],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(decode_url(&r.stdout).starts_with(&front.url));
}

fn decode_url(stdout: &str) -> String {
    eks_token::verify::decode(&token_of(stdout)).unwrap()
}

#[test]
#[ignore = "needs the static binary: make test builds it and runs these"]
fn x86_64_runs_alone_in_an_empty_chroot() {
    run_from_scratch(false);
}

#[test]
#[ignore = "needs the static binary: make test builds it and runs these"]
fn x86_64_runs_with_no_home_and_a_read_only_root() {
    run_from_scratch(true);
}
