//! `make sign MINISIGN_KEY=FILE` with a throwaway key (the maintainers' never enters the
//! repository): the signature over SHA256SUMS verifies with the public key as the
//! README's Install says (`minisign -Vm SHA256SUMS -P KEY`), names the version and the
//! commit in its signed comment, and fails for a changed byte or another key; a release
//! whose files no longer match SHA256SUMS is not signed.

use std::path::Path;
use std::process::Command;

use super::*;

/// A key pair made by `minisign -G -W` (no password) in `dir`: (secret key file, public
/// key as the base64 line `-P` takes).
fn throwaway_key(dir: &Path, name: &str) -> (std::path::PathBuf, String) {
    let (secret, public) = (
        dir.join(format!("{name}.key")),
        dir.join(format!("{name}.pub")),
    );
    let out = Command::new("minisign")
        .args(["-G", "-W", "-p"])
        .arg(&public)
        .arg("-s")
        .arg(&secret)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&public).unwrap();
    (secret, text.lines().last().unwrap().to_owned())
}

fn verify(dir: &Path, public: &str) -> (bool, String) {
    let out = Command::new("minisign")
        .args(["-Vm", "SHA256SUMS", "-P", public])
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn make_sign(key: &Path, dist: &Path) -> std::process::Output {
    Command::new("make")
        .arg("-C")
        .arg(root())
        .arg("--no-print-directory")
        .arg("sign")
        .arg(format!("MINISIGN_KEY={}", key.display()))
        .arg(format!("DIST={}", dist.display()))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

#[test]
#[ignore = "needs dist/: make release-test builds the release and runs these"]
fn make_sign_signs_the_checksums_and_a_changed_byte_fails() {
    require_tool("minisign", "make sign signs with it");
    let t = TempDir::new("sign");
    // A copy of the release: dist/ itself stays as make release wrote it.
    let copy = t.join("dist");
    std::fs::create_dir_all(&copy).unwrap();
    for e in std::fs::read_dir(dist()).unwrap() {
        let e = e.unwrap();
        if e.file_name() != "SHA256SUMS.minisig" {
            std::fs::copy(e.path(), copy.join(e.file_name())).unwrap();
        }
    }
    let (key, public) = throwaway_key(t.path(), "release");
    let signed = make_sign(&key, &copy);
    assert!(
        signed.status.success(),
        "{}",
        String::from_utf8_lossy(&signed.stderr)
    );
    assert!(copy.join("SHA256SUMS.minisig").is_file());
    // As the README's Install section says: the signature, then the checksums.
    let (ok, out) = verify(&copy, &public);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!(
            "eks-token {} commit {}",
            version(),
            version::head()
        )),
        "the signed comment names the version and the commit: {out}"
    );
    let check = Command::new("sha256sum")
        .args(["--check", "--quiet", "SHA256SUMS"])
        .current_dir(&copy)
        .status()
        .unwrap();
    assert!(check.success());

    // Another key does not verify it.
    let (_, other) = throwaway_key(t.path(), "other");
    assert!(!verify(&copy, &other).0);
    // A changed byte of SHA256SUMS (a checksum swapped for another's) fails.
    let sums = copy.join("SHA256SUMS");
    let mut bytes = std::fs::read(&sums).unwrap();
    bytes[0] = if bytes[0] == b'0' { b'1' } else { b'0' };
    std::fs::write(&sums, &bytes).unwrap();
    let (ok, out) = verify(&copy, &public);
    assert!(!ok, "{out}");

    // A release whose files changed after make release is not signed.
    std::fs::copy(dist().join("SHA256SUMS"), &sums).unwrap();
    std::fs::remove_file(copy.join("SHA256SUMS.minisig")).unwrap();
    let binary = copy.join(format!("eks-token-{}-linux-amd64", version()));
    let mut exe = std::fs::read(&binary).unwrap();
    let last = exe.len() - 1;
    exe[last] ^= 1;
    std::fs::write(&binary, &exe).unwrap();
    let refused = make_sign(&key, &copy);
    assert!(!refused.status.success());
    assert!(!copy.join("SHA256SUMS.minisig").exists());
    // And make sign without a key says how to call it.
    let usage = Command::new("make")
        .arg("-C")
        .arg(root())
        .args(["--no-print-directory", "sign"])
        .output()
        .unwrap();
    assert!(!usage.status.success());
    assert!(String::from_utf8_lossy(&usage.stdout).contains("MINISIGN_KEY=FILE"));
}
