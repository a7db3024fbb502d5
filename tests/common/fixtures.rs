//! Fixtures every area uses: the roles, an IRSA chain against moto, config files,
//! kubectl and aws-cli runners, programs under other names, command lines by option.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use super::{moto, run_killed_after, Run, TestEnv, RUN_LIMIT};

/// The role the cross-account tests assume (moto's STS accepts any role).
pub const DEV_ROLE: &str = "arn:aws:iam::222222222222:role/testrole";

/// The web identity token an IRSA environment of `tag` carries.
pub fn web_identity_token(tag: &str) -> String {
    format!("eyJhbGciOiJSUzI1NiJ9.{tag}-web-identity.c2lnbmF0dXJl")
}

/// The EKS token of a presigned URL.
pub fn tokenize(url: &str) -> String {
    use base64::Engine;
    format!(
        "k8s-aws-v1.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url)
    )
}

/// IRSA against moto: a token file in HOME for the role `tag` of 111111111111, STS
/// pointed at moto, region us-east-1.
pub fn irsa_env(tag: &str) -> TestEnv {
    let mut env = TestEnv::new();
    env.irsa(
        &format!("arn:aws:iam::111111111111:role/{tag}"),
        &web_identity_token(tag),
    );
    env.set("AWS_ENDPOINT_URL_STS", &moto().url)
        .set("AWS_REGION", "us-east-1");
    env
}

/// Writes `config` and `credentials` as the environment's AWS files (in HOME/.aws).
pub fn write_aws_files(env: &mut TestEnv, config: &str, credentials: &str) {
    let (c, k) = (
        env.home.join(".aws/config"),
        env.home.join(".aws/credentials"),
    );
    std::fs::create_dir_all(c.parent().unwrap()).unwrap();
    std::fs::write(&c, config).unwrap();
    std::fs::write(&k, credentials).unwrap();
    env.set("AWS_CONFIG_FILE", c.display().to_string())
        .set("AWS_SHARED_CREDENTIALS_FILE", k.display().to_string());
}

/// Sessions moto has issued for `role`.
pub fn sessions_of(role: &str) -> usize {
    moto()
        .sessions()
        .iter()
        .filter(|s| s["role_arn"] == role)
        .count()
}

/// Runs kubectl in `env` against `kubeconfig`: exit code, stdout, stderr.
pub fn kubectl(env: &TestEnv, kubeconfig: &Path, args: &[&str]) -> (i32, String, String) {
    let mut full = vec!["--kubeconfig", kubeconfig.to_str().unwrap()];
    full.extend_from_slice(args);
    let r = run_killed_after(env.command(Path::new("kubectl"), &full), RUN_LIMIT);
    (r.code, r.stdout, r.stderr)
}

/// What kubectl reads of `kubeconfig` (`kubectl config view --raw -o json`).
pub fn kubectl_view(kubeconfig: &Path) -> Value {
    let home = super::TempDir::new("kubectl-home");
    let out = Command::new("kubectl")
        .args(["config", "view", "--raw", "-o", "json", "--kubeconfig"])
        .arg(kubeconfig)
        .env("HOME", home.path())
        .output()
        .expect("kubectl (make deps installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The entry named `name` of a kubeconfig list (kubectl's view).
pub fn named<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no entry {name} in {list}"))
}

/// The names of a kubeconfig list (kubectl's view).
pub fn names(view: &Value, list: &str) -> Vec<String> {
    view[list]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["name"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The binary under test as `name` (a symlink in HOME/bin, first on the environment's
/// PATH).
pub fn as_program(env: &mut TestEnv, name: &str) -> PathBuf {
    let dir = env.home.join("bin");
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join(name);
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(super::bin(), &link).unwrap();
    let path = std::env::var("PATH").unwrap_or_default();
    env.set("PATH", format!("{}:{path}", dir.display()));
    link
}

/// Runs `program` in `env`.
pub fn run_as(env: &TestEnv, program: &Path, args: &[&str]) -> Run {
    let mut c = env.command(program, args);
    c.stdin(Stdio::null());
    run_killed_after(c, RUN_LIMIT)
}

/// Runs the real aws-cli in `env` (its main, in a process that has already imported it:
/// `tests/support/aws_cli_server.py`, one of a pool, so that a test run pays aws-cli's
/// start-up a few times, not once a call).
///
/// `EKS_TOKEN_AWS_CLI=process` runs each call as an `aws` process of its own instead (the
/// check that the in-process runs see what a process sees).
pub fn aws_cli(env: &TestEnv, args: &[&str]) -> Run {
    if std::env::var("EKS_TOKEN_AWS_CLI").as_deref() == Ok("process") {
        let path = std::env::var("PATH").unwrap_or_default();
        let real = path
            .split(':')
            .map(|d| Path::new(d).join("aws"))
            .find(|p| p.is_file())
            .expect("aws-cli on PATH (make deps installs it)");
        return run_as(env, &real, args);
    }
    let started = std::time::Instant::now();
    let vars: serde_json::Map<String, Value> = env
        .vars()
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let request = serde_json::json!({
        "args": args,
        "env": vars,
        "cwd": env.home.path(),
    });
    let run = match super::python::serve("aws_cli_server.py", &[], &request) {
        Some(a) => Run {
            code: a["code"].as_i64().unwrap_or(-1) as i32,
            stdout: a["stdout"].as_str().unwrap_or("").to_owned(),
            stderr: a["stderr"].as_str().unwrap_or("").to_owned(),
            elapsed: started.elapsed(),
        },
        None => Run {
            code: -1,
            stdout: String::new(),
            stderr: format!("[test harness: aws-cli gave no answer within {RUN_LIMIT:?}]"),
            elapsed: started.elapsed(),
        },
    };
    run
}

/// aws-cli's exec arguments for a kubeconfig user: `--region R eks get-token
/// --cluster-name N --output json [--role ARN]`.
pub fn aws_exec_args(region: &str, cluster: &str, role: Option<&str>) -> Vec<String> {
    let mut a: Vec<String> = [
        "--region",
        region,
        "eks",
        "get-token",
        "--cluster-name",
        cluster,
        "--output",
        "json",
    ]
    .map(String::from)
    .to_vec();
    if let Some(r) = role {
        a.extend(["--role".into(), r.to_owned()]);
    }
    a
}

/// Sets `flag`'s value in a command line (the value after it; appended when absent).
pub fn set_arg(args: &mut Vec<String>, flag: &str, value: &str) {
    match args.iter().position(|a| a == flag) {
        Some(i) if i + 1 < args.len() => args[i + 1] = value.to_owned(),
        _ => args.extend([flag.to_owned(), value.to_owned()]),
    }
}

/// The arguments as `&str`s.
pub fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// A tool a test runs: missing, the test fails saying which and why (make deps installs it).
pub fn require_tool(program: &str, why: &str) {
    let found = std::process::Command::new(program)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok();
    assert!(found, "{program} is needed: {why} (make deps installs it)");
}

/// Tests of ownership, chroot and other users need root (CI runs the tests as root):
/// without it they fail, rather than pass unchecked.
pub fn require_root(what: &str) {
    // The owner of a file this process just made.
    let dir = super::TempDir::new("whoami");
    let f = dir.join("probe");
    std::fs::write(&f, "").unwrap();
    let uid = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&f).unwrap());
    assert_eq!(
        uid, 0,
        "{what} needs root (CI runs the tests as root; run them as root or in a container)"
    );
}
