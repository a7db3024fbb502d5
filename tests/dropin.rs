//! Drop-in everywhere: the binary run as `aws`, `aws-iam-authenticator` and
//! `argocd-k8s-auth` (a symlink), `eks update-kubeconfig` merging into a kubeconfig a
//! user already has, and each behaviour where eks-token differed from aws-cli, run side
//! by side with aws-cli on the same files and environment.

use std::path::{Path, PathBuf};

use crate::common::recorder::StsRecorder;
use crate::common::*;
use serde_json::Value;

const DEV_ROLE: &str = "arn:aws:iam::222222222222:role/testrole";
const IRSA_ROLE: &str = "arn:aws:iam::111111111111:role/dropin-irsa";

/// A directory holding the binary under `name` (a symlink), put first on PATH.
fn as_program(env: &mut TestEnv, name: &str) -> PathBuf {
    let dir = env.home.join("bin");
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join(name);
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(bin(), &link).unwrap();
    let path = std::env::var("PATH").unwrap_or_default();
    env.set("PATH", format!("{}:{path}", dir.display()));
    link
}

fn run_as(env: &TestEnv, program: &Path, args: &[&str]) -> Run {
    let started = std::time::Instant::now();
    let out = env
        .command(program, args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: started.elapsed(),
    }
}

/// aws-cli itself (the anchor), with `env`.
fn aws_cli(env: &TestEnv, args: &[&str]) -> Run {
    // The real aws-cli: whatever `aws` the machine had before our symlink dir.
    let real = which_real_aws();
    run_as(env, &real, args)
}

fn which_real_aws() -> PathBuf {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .map(|d| Path::new(d).join("aws"))
        .find(|p| p.is_file())
        .expect("aws-cli on PATH (make deps installs it)")
}

/// The access key id a token (or ExecCredential) was signed with.
fn signer_of(stdout: &str) -> String {
    let url = eks_token::verify::decode(&token_of(stdout)).unwrap();
    let cred = url.split("X-Amz-Credential=").nth(1).unwrap();
    cred.split("%2F").next().unwrap().to_owned()
}

fn irsa_env(tag: &str) -> TestEnv {
    let m = moto();
    let mut env = TestEnv::new();
    env.irsa(IRSA_ROLE, &format!("eyJhbGciOiJSUzI1NiJ9.{tag}.c2ln"));
    env.set("AWS_ENDPOINT_URL_STS", &m.url)
        .set("AWS_REGION", "us-east-1");
    env
}

#[test]
fn as_aws_it_speaks_aws_cli() {
    let m = moto();
    let mut env = TestEnv::new();
    env.static_creds("AKIAASAWS00000000001", "as-aws/secret");
    let aws = as_program(&mut env, "aws");
    let r = run_as(
        &env,
        &aws,
        &[
            "--region",
            "us-east-1",
            "eks",
            "get-token",
            "--cluster-name",
            "dev",
            "--output",
            "json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Printed as aws-cli prints it: indented JSON, kind first.
    assert!(r.stdout.starts_with("{\n    \"kind\": \"ExecCredential\",\n    \"apiVersion\": \"client.authentication.k8s.io/v1beta1\""), "{}", r.stdout);
    let keys = [("AKIAASAWS00000000001", "as-aws/secret")];
    assert_verifies(&verify(&token_of(&r.stdout), "dev", None, &keys));
    // Global options anywhere, aws-cli's prefixes, the forms scripts use.
    let r = run_as(
        &env,
        &aws,
        &[
            "eks",
            "get-token",
            "--cluster-name",
            "dev",
            "--region",
            "us-east-1",
            "--out",
            "text",
            "--query",
            "status.token",
            "--no-cli-pager",
            "--color",
            "off",
            "--cli-read-timeout",
            "20",
            "--cli-connect-timeout",
            "5",
            "--no-paginate",
            "--no-verify-ssl",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The token, then the blank line aws-cli's `eks get-token` always adds.
    assert!(r.stdout.starts_with("k8s-aws-v1.") && r.stdout.ends_with("\n\n"));
    assert_eq!(r.stdout.trim_end().lines().count(), 1);
    assert_verifies(&verify(r.stdout.trim(), "dev", None, &keys));
    // --output text without a query: aws-cli's text format.
    let r = run_as(
        &env,
        &aws,
        &[
            "eks",
            "get-token",
            "--cluster-name",
            "dev",
            "--region",
            "us-east-1",
            "--output",
            "text",
        ],
    );
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "client.authentication.k8s.io/v1beta1\tExecCredential"
    );
    assert!(
        lines[1].starts_with("STATUS\t") && lines[1].contains("\tk8s-aws-v1."),
        "{}",
        r.stdout
    );
    // Under `aws`, --out is --output (aws-cli's options only), not write-token's --out.
    let r = run_as(
        &env,
        &aws,
        &["eks", "get-token", "--cluster-name", "dev", "--out", "yaml"],
    );
    assert_failed(&r, 2, &[]);
    assert!(r.stderr.contains("--output"), "{}", r.stderr);
    // Another service: one line saying what this is.
    for args in [
        &["s3", "ls"][..],
        &["s3", "cp", "a", "b", "--recursive"],
        &["ec2", "describe-instances"],
    ] {
        let r = run_as(&env, &aws, args);
        assert_failed(&r, 2, &[]);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert!(
            r.stderr.contains("eks-token standing in for the AWS CLI")
                && r.stderr
                    .contains("eks get-token, eks update-kubeconfig, sts get-caller-identity"),
            "{}",
            r.stderr
        );
    }
    // sts get-caller-identity: JSON, aws-cli's text, --query.
    env.set("AWS_ENDPOINT_URL_STS", &m.url);
    let r = run_as(
        &env,
        &aws,
        &["sts", "get-caller-identity", "--region", "us-east-1"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let theirs = aws_cli(
        &env,
        &["sts", "get-caller-identity", "--region", "us-east-1"],
    );
    assert_eq!(v, serde_json::from_str::<Value>(&theirs.stdout).unwrap());
    for args in [
        &["--output", "text"][..],
        &["--query", "Arn", "--output", "text"],
    ] {
        let mut all = vec!["sts", "get-caller-identity", "--region", "us-east-1"];
        all.extend_from_slice(args);
        let ours = run_as(&env, &aws, &all);
        let theirs = aws_cli(&env, &all);
        assert_eq!(ours.stdout, theirs.stdout, "{args:?}");
    }
    // `aws --version` as tools parse it (`aws-cli/X.Y.Z`, on stdout): eksctl, for one,
    // writes `aws eks get-token` into kubeconfigs only from aws-cli 1.16.156.
    let r = run_as(&env, &aws, &["--version"]);
    assert_eq!(r.code, 0);
    let claimed = r
        .stdout
        .strip_prefix("aws-cli/")
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    let parts: Vec<u32> = claimed.split('.').map(|p| p.parse().unwrap()).collect();
    assert!(
        parts.len() == 3 && parts >= vec![1, 16, 156],
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains(" eks-token/"), "{}", r.stdout);
}

#[test]
fn as_aws_iam_authenticator_it_speaks_its_token_verify_and_version() {
    let m = moto();
    let mut env = irsa_env("authenticator");
    let authenticator = as_program(&mut env, "aws-iam-authenticator");
    let r = run_as(&env, &authenticator, &["token", "-i", "dev"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = verify(&token_of(&r.stdout), "dev", Some(&m.url), &[]);
    assert_verifies(&v);
    assert!(
        v["arn"]
            .as_str()
            .unwrap()
            .contains("assumed-role/dropin-irsa/"),
        "{v}"
    );
    let r = run_as(
        &env,
        &authenticator,
        &["token", "-i", "dev", "-r", DEV_ROLE, "--token-only"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("k8s-aws-v1."));
    assert_verifies_as_dev_role(r.stdout.trim(), "dev", &m.url);
    // Its environment variables: the cluster and the role.
    env.set(
        "KUBERNETES_AWS_AUTHENTICATOR_CLUSTER_ID",
        "my-dev-cluster.example.com",
    )
    .set("DEFAULT_ROLE", DEV_ROLE);
    let r = run_as(&env, &authenticator, &["token", "--token-only"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = verify(
        r.stdout.trim(),
        "my-dev-cluster.example.com",
        Some(&m.url),
        &[],
    );
    assert_verifies(&v);
    assert!(v["arn"]
        .as_str()
        .unwrap()
        .contains("assumed-role/testrole/"));
    // Its global flags (its source: cmd/aws-iam-authenticator/root.go): --loglevel debug
    // shows the steps; the server's settings are accepted.
    let r = run_as(
        &env,
        &authenticator,
        &[
            "--loglevel",
            "debug",
            "-l",
            "json",
            "--feature-gates",
            "SSORoleMatch=true",
            "token",
            "-i",
            "dev",
            "--token-only",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with("k8s-aws-v1.") && !r.stderr.is_empty(),
        "{}",
        r.stderr
    );
    let r = run_as(
        &env,
        &authenticator,
        &["token", "-i", "dev", "--token-only"],
    );
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    // Its refusals.
    let r = run_as(
        &env,
        &authenticator,
        &["token", "-i", "dev", "-s", "x1", "--forward-session-name"],
    );
    assert_failed(&r, 2, &[]);
    // verify: the identity, asked of STS (moto behind a front that passes the replayed
    // presigned GET on in the form moto routes).
    let sts = StsRecorder::start(m.port);
    env.set("AWS_ENDPOINT_URL_STS", &sts.url);
    let token = r_token(&run_as(
        &env,
        &authenticator,
        &["token", "-i", "dev", "--token-only"],
    ));
    let r = run_as(
        &env,
        &authenticator,
        &["verify", "-i", "dev", "-t", &token, "-o", "json"],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let id: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(
        id["ARN"]
            .as_str()
            .unwrap()
            .contains("assumed-role/testrole/"),
        "{id}"
    );
    assert_eq!(id["CanonicalARN"], DEV_ROLE);
    assert_eq!(id["AccountID"], "222222222222");
    // version
    let r = run_as(&env, &authenticator, &["version"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["Version"], env!("CARGO_PKG_VERSION"));
    let r = run_as(&env, &authenticator, &["version", "-s"]);
    assert_eq!(r.stdout.trim(), env!("CARGO_PKG_VERSION"));
    let r = run_as(&env, &authenticator, &["init"]);
    assert_failed(&r, 2, &[]);
}

fn r_token(r: &Run) -> String {
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout.trim().to_owned()
}

#[test]
fn as_argocd_k8s_auth_and_argos_form_under_any_name() {
    let m = moto();
    let mut env = irsa_env("argocd");
    let argocd = as_program(&mut env, "argocd-k8s-auth");
    for (program, args) in [
        (
            argocd.clone(),
            vec!["aws", "--cluster-name", "dev", "--role-arn", DEV_ROLE],
        ),
        (
            bin(),
            vec!["aws", "--cluster-name", "dev", "--role-arn", DEV_ROLE],
        ),
    ] {
        // Argo CD asks for v1beta1 whatever kubectl would.
        env.set(
            "KUBERNETES_EXEC_INFO",
            r#"{"apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}"#,
        );
        let r = run_as(&env, &program, &args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let ec: Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(ec["apiVersion"], "client.authentication.k8s.io/v1beta1");
        assert_eq!(ec["kind"], "ExecCredential");
        assert!(
            !r.stdout.ends_with('\n'),
            "argocd-k8s-auth prints no newline"
        );
        assert_verifies_as_dev_role(ec["status"]["token"].as_str().unwrap(), "dev", &m.url);
    }
    let r = run_as(&env, &argocd, &["gcp"]);
    assert_failed(&r, 2, &[]);
    let r = run_as(&env, &argocd, &["aws", "--cluster-name", "dev", "--bogus"]);
    assert_failed(&r, 2, &[]);
}

const EXISTING: &str = "\
apiVersion: v1
kind: Config
preferences:
  colors: true
clusters:
- name: other-cluster
  cluster:
    server: https://other.example.com
    certificate-authority-data: T1RIRVI=
    extensions:
    - name: team
      extension:
        owner: platform
users:
- name: alice
  user:
    token: alice-static-token
contexts:
- name: other
  context:
    cluster: other-cluster
    user: alice
    namespace: team-a
current-context: other
";

fn kubectl_view(path: &Path) -> Value {
    let out = std::process::Command::new("kubectl")
        .args(["config", "view", "--raw", "-o", "json", "--kubeconfig"])
        .arg(path)
        .env("HOME", std::env::temp_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn named<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no entry {name} in {list}"))
}

#[test]
fn update_kubeconfig_merges_into_a_kubeconfig_the_user_has() {
    let m = moto();
    create_cluster("dropin-dev", DEV_ROLE);
    let mut env = TestEnv::new();
    env.static_creds("AKIASHAREDSERVICES01", "shared/secret")
        .set("AWS_ENDPOINT_URL_STS", &m.url)
        .set("AWS_ENDPOINT_URL_EKS", &m.url)
        .set("AWS_REGION", "us-east-1");
    let aws = as_program(&mut env, "aws");
    let config = env.home.join("kube/config");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, EXISTING).unwrap();
    std::fs::set_permissions(&config, std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
    let cfg = config.to_str().unwrap();
    let base = [
        "eks",
        "update-kubeconfig",
        "--name",
        "dropin-dev",
        "--role-arn",
        DEV_ROLE,
        "--assume-role-arn",
        DEV_ROLE,
        "--kubeconfig",
        cfg,
    ];
    // --dry-run: the merged file on stdout, the file byte-identical.
    let mut dry = base.to_vec();
    dry.push("--dry-run");
    let r = run_as(&env, &aws, &dry);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("dropin-dev") && r.stdout.contains("alice-static-token"));
    assert_eq!(std::fs::read_to_string(&config).unwrap(), EXISTING);
    // For real.
    let r = run_as(&env, &aws, &base);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let arn = "arn:aws:eks:us-east-1:222222222222:cluster/dropin-dev";
    assert_eq!(r.stdout, format!("Added new context {arn} to {cfg}\n"));
    let v = kubectl_view(&config);
    assert_eq!(v["current-context"], arn);
    // Every old entry and field as it was.
    let other = named(&v["clusters"], "other-cluster");
    assert_eq!(other["cluster"]["server"], "https://other.example.com");
    assert_eq!(
        other["cluster"]["extensions"][0]["extension"]["owner"],
        "platform"
    );
    assert_eq!(
        named(&v["users"], "alice")["user"]["token"],
        "alice-static-token"
    );
    assert_eq!(
        named(&v["contexts"], "other")["context"]["namespace"],
        "team-a"
    );
    assert_eq!(v["preferences"]["colors"], true);
    // The new entries, shaped as aws-cli writes them.
    assert!(named(&v["clusters"], arn)["cluster"]["server"]
        .as_str()
        .unwrap()
        .starts_with("https://"));
    let exec = &named(&v["users"], arn)["user"]["exec"];
    assert_eq!(exec["command"], "aws");
    assert_eq!(exec["apiVersion"], "client.authentication.k8s.io/v1beta1");
    let args: Vec<&str> = exec["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        args,
        [
            "--region",
            "us-east-1",
            "eks",
            "get-token",
            "--cluster-name",
            "dropin-dev",
            "--output",
            "json",
            "--role",
            DEV_ROLE
        ]
    );
    assert_eq!(named(&v["contexts"], arn)["context"]["user"], arn);
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(&config).unwrap().mode() & 0o777,
        0o640,
        "the mode is kept"
    );
    // The new user's exec command gives a token of the --role-arn role.
    let r = run_as(&env, Path::new(exec["command"].as_str().unwrap()), &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_verifies_as_dev_role(&token_of(&r.stdout), "dropin-dev", &m.url);
    // Again: updated in place, not duplicated; aliases name the context and the user.
    let mut aliased = base.to_vec();
    aliased.extend(["--alias", "dev", "--user-alias", "dev-deployer"]);
    let r = run_as(&env, &aws, &aliased);
    assert_eq!(r.stdout, format!("Updated context dev in {cfg}\n"));
    let v = kubectl_view(&config);
    assert_eq!(v["clusters"].as_array().unwrap().len(), 2);
    assert_eq!(v["current-context"], "dev");
    assert_eq!(
        named(&v["contexts"], "dev")["context"]["user"],
        "dev-deployer"
    );
    assert_eq!(named(&v["contexts"], "dev")["context"]["cluster"], arn);
    named(&v["users"], "dev-deployer");

    // A file that is not a kubeconfig is left byte-identical, before any request.
    for junk in ["{{{ not yaml", "- just\n- a list\n", "clusters: 5\n"] {
        std::fs::write(&config, junk).unwrap();
        let r = run_as(&env, &aws, &base);
        assert_failed(&r, 1, &[]);
        assert!(r.stderr.contains("cannot be used"), "{}", r.stderr);
        assert_eq!(std::fs::read_to_string(&config).unwrap(), junk);
    }
}

#[test]
fn kubectl_uses_the_merged_kubeconfig_against_the_verifying_server() {
    let m = moto();
    create_cluster("dropin-kubectl", DEV_ROLE);
    let verifier = Verifier::start("dropin-kubectl", &m.url);
    let mut env = TestEnv::new();
    env.static_creds("AKIASHAREDSERVICES02", "shared/secret")
        .set("AWS_ENDPOINT_URL_STS", &m.url)
        .set("AWS_REGION", "us-east-1");
    let aws = as_program(&mut env, "aws");
    let config = env.home.join(".kube/config");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, EXISTING).unwrap();
    // KUBECONFIG's first path, aws-cli's --endpoint-url for EKS.
    env.set("KUBECONFIG", config.display().to_string());
    let r = run_as(
        &env,
        &aws,
        &[
            "--endpoint-url",
            &m.url,
            "eks",
            "update-kubeconfig",
            "--name",
            "dropin-kubectl",
            "--role-arn",
            DEV_ROLE,
            "--assume-role-arn",
            DEV_ROLE,
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let arn = "arn:aws:eks:us-east-1:222222222222:cluster/dropin-kubectl";
    // Point the new cluster entry at the verifying server (moto's cluster has no API).
    let set = env
        .command(
            Path::new("kubectl"),
            &[
                "config",
                "set-cluster",
                arn,
                "--server",
                &verifier.url,
                "--certificate-authority",
                verifier.ca.to_str().unwrap(),
                "--embed-certs",
            ],
        )
        .output()
        .unwrap();
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let out = env
        .command(Path::new("kubectl"), &["get", "--raw", "/version"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdicts = verifier.verdicts();
    let last = verdicts.last().expect("the verifier saw the request");
    assert_eq!(last["ok"], true, "{last}");
    assert!(
        last["arn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:sts::222222222222:assumed-role/testrole/"),
        "{last}"
    );
}

/// A config file and a credentials file under HOME/.aws.
fn aws_files(env: &mut TestEnv, config: &str, credentials: &str) {
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

fn token_args(extra: &[&'static str]) -> Vec<&'static str> {
    let mut a = vec![
        "eks",
        "get-token",
        "--cluster-name",
        "dev",
        "--region",
        "us-east-1",
    ];
    a.extend_from_slice(extra);
    a
}

#[test]
fn an_explicit_profile_switches_environment_keys_off_as_in_aws_cli() {
    let mut env = TestEnv::new();
    aws_files(
        &mut env,
        "",
        "[dev]\naws_access_key_id = AKIAPROFILEDEV000001\naws_secret_access_key = p\n",
    );
    env.static_creds("AKIAENVKEYS000000001", "e");
    let aws = as_program(&mut env, "aws");
    for extra in [&["--profile", "dev"][..], &[]] {
        let args = token_args(extra);
        let ours = run_as(&env, &aws, &args);
        let theirs = aws_cli(&env, &args);
        assert_eq!(ours.code, 0, "{}", ours.stderr);
        assert_eq!(
            signer_of(&ours.stdout),
            signer_of(&theirs.stdout),
            "{extra:?}"
        );
    }
    assert_eq!(
        signer_of(&run_as(&env, &aws, &token_args(&["--profile", "dev"])).stdout),
        "AKIAPROFILEDEV000001"
    );
    // AWS_PROFILE does not switch them off (aws-cli: the keys still win)...
    env.set("AWS_PROFILE", "dev");
    let args = token_args(&[]);
    assert_eq!(
        signer_of(&run_as(&env, &aws, &args).stdout),
        signer_of(&aws_cli(&env, &args).stdout)
    );
    assert_eq!(
        signer_of(&run_as(&env, &aws, &args).stdout),
        "AKIAENVKEYS000000001"
    );
    // ...but a profile it names that does not exist is an error, keys or not.
    env.set("AWS_PROFILE", "nope");
    let ours = run_as(&env, &aws, &args);
    let theirs = aws_cli(&env, &args);
    assert_ne!(theirs.code, 0);
    assert_failed(&ours, 1, &[]);
    assert!(ours.stderr.contains("`nope`"), "{}", ours.stderr);
}

#[test]
fn any_cluster_id_that_can_travel_in_a_header_is_signed() {
    let mut env = TestEnv::new();
    env.static_creds("AKIACLUSTERIDS000001", "ids/secret");
    let keys = [("AKIACLUSTERIDS000001", "ids/secret")];
    for id in ["my-dev-cluster.example.com", "a.b", "team/dev cluster"] {
        for args in [
            vec!["token", "-i", id, "--region", "us-east-1"],
            vec![
                "eks",
                "get-token",
                "--cluster-name",
                id,
                "--region",
                "us-east-1",
            ],
        ] {
            let r = env.run(&args);
            assert_eq!(r.code, 0, "{id}: {}", r.stderr);
            assert_verifies(&verify(&token_of(&r.stdout), id, None, &keys));
            // aws-cli signs it too.
            let theirs = aws_cli(
                &env,
                &[
                    "eks",
                    "get-token",
                    "--cluster-name",
                    id,
                    "--region",
                    "us-east-1",
                ],
            );
            assert_eq!(theirs.code, 0, "{}", theirs.stderr);
        }
    }
    // What cannot travel in the header: refused in every form, before any request.
    let long = "x".repeat(1025);
    for id in ["", "a\nb", " dev", long.as_str()] {
        for args in [
            vec!["token", "-i", id],
            vec!["eks", "get-token", "--cluster-name", id],
            vec!["get-token", "--cluster-name", id],
            vec!["aws", "--cluster-name", id],
        ] {
            let r = env.run(&args);
            assert_failed(&r, 1, &[]);
            assert!(
                r.stderr.contains("cannot be signed into a token"),
                "{}",
                r.stderr
            );
        }
    }
}

#[test]
fn cluster_name_and_cluster_id_together_are_refused_as_in_aws_cli() {
    let mut env = TestEnv::new();
    env.static_creds("AKIABOTHNAMES0000001", "b");
    let args = [
        "eks",
        "get-token",
        "--cluster-name",
        "a",
        "--cluster-id",
        "b",
        "--region",
        "us-east-1",
    ];
    assert_ne!(aws_cli(&env, &args).code, 0);
    let r = env.run(&args);
    assert_failed(&r, 2, &[]);
    assert!(
        r.stderr.contains("--cluster-name and --cluster-id"),
        "{}",
        r.stderr
    );
}

#[test]
fn aws_cli_global_options_are_accepted_and_query_gives_the_bare_token() {
    let mut env = TestEnv::new();
    env.static_creds("AKIAGLOBALOPTIONS001", "g");
    let mut args = token_args(&[
        "--debug",
        "--no-cli-pager",
        "--no-paginate",
        "--color",
        "off",
        "--cli-read-timeout",
        "15",
        "--cli-connect-timeout",
        "5",
        "--cli-binary-format",
        "raw-in-base64-out",
        "--no-cli-auto-prompt",
        "--endpoint-url",
        "https://eks.example.com",
        "--query",
        "status.token",
        "--output",
        "text",
    ]);
    let r = env.run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 1);
    assert!(r.stdout.starts_with("k8s-aws-v1."));
    // The same form of aws-cli: the same kind of answer.
    // (aws-cli v1, the anchor installed here, lacks v2's pager, binary-format and
    // auto-prompt options; eks-token takes the options of both.)
    let v2_only = [
        "--debug",
        "--no-cli-pager",
        "--cli-binary-format",
        "raw-in-base64-out",
        "--no-cli-auto-prompt",
    ];
    args.retain(|a| !v2_only.contains(a));
    let theirs = aws_cli(&env, &args);
    assert!(
        theirs.stdout.starts_with("k8s-aws-v1."),
        "{}",
        theirs.stderr
    );
    // A field path of the answer, as JSON.
    let r = env.run(&token_args(&["--query", "status.expirationTimestamp"]));
    assert!(
        r.stdout.trim().starts_with('"') && r.stdout.trim().ends_with("Z\""),
        "{}",
        r.stdout
    );
    // Other JMESPath: a clear error.
    let r = env.run(&token_args(&["--query", "status.{t: token}"]));
    assert_failed(&r, 2, &[]);
    assert!(
        r.stderr.contains("--query") && r.stderr.contains("status.token"),
        "{}",
        r.stderr
    );
}

#[test]
fn keys_and_credential_process_in_one_profile_follow_botocores_order() {
    let m = moto();
    let process = |akid: &str| {
        format!(
            "credential_process = sh -c 'echo \"{{\\\"Version\\\": 1, \\\"AccessKeyId\\\": \\\"{akid}\\\", \\\"SecretAccessKey\\\": \\\"s\\\"}}\"'\n"
        )
    };
    let keys = |akid: &str| format!("aws_access_key_id = {akid}\naws_secret_access_key = k\n");
    // (config, credentials, the selected profile's signer, the source profile's signer)
    let cases = [
        // Keys in the credentials file come before credential_process...
        (
            format!("[profile p]\n{}", process("AKIAPROCESS000000001")),
            format!("[p]\n{}", keys("AKIACREDSFILE0000001")),
            "AKIACREDSFILE0000001",
        ),
        // ...keys in the config file after it.
        (
            format!(
                "[profile p]\n{}{}",
                process("AKIAPROCESS000000002"),
                keys("AKIACONFIGFILE000002")
            ),
            String::new(),
            "AKIAPROCESS000000002",
        ),
    ];
    for (config, credentials, want) in cases {
        let sts = StsRecorder::start(m.port);
        let mut env = TestEnv::new();
        let config = format!("{config}[profile hop]\nrole_arn = {DEV_ROLE}\nsource_profile = p\n");
        aws_files(&mut env, &config, &credentials);
        env.set("AWS_ENDPOINT_URL_STS", &sts.url);
        // The selected profile: the token's signer, ours and aws-cli's.
        let args = token_args(&["--profile", "p"]);
        let ours = env.run(&args);
        assert_eq!(ours.code, 0, "{}", ours.stderr);
        assert_eq!(signer_of(&ours.stdout), want);
        assert_eq!(signer_of(&aws_cli(&env, &args).stdout), want, "aws-cli");
        // A source profile: the same order, seen in who signed the AssumeRole.
        let r = env.run(&token_args(&["--profile", "hop", "--no-cache"]));
        assert_eq!(r.code, 0, "{}", r.stderr);
        let theirs = aws_cli(&env, &token_args(&["--profile", "hop"]));
        assert_eq!(theirs.code, 0, "{}", theirs.stderr);
        let signers: Vec<String> = sts
            .of("AssumeRole")
            .into_iter()
            .map(|c| c.signer.unwrap_or_default())
            .collect();
        assert_eq!(signers, [want, want], "ours, then aws-cli's");
    }
}

#[test]
fn the_legacy_aws_security_token_is_a_session_token() {
    let mut env = TestEnv::new();
    aws_files(
        &mut env,
        "",
        "[legacy]\naws_access_key_id = ASIALEGACYTOKEN00001\naws_secret_access_key = l\naws_security_token = legacy-session-token\n",
    );
    let args = token_args(&["--profile", "legacy"]);
    let ours = env.run(&args);
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    let url = eks_token::verify::decode(&token_of(&ours.stdout)).unwrap();
    assert!(
        url.contains("X-Amz-Security-Token=legacy-session-token"),
        "{url}"
    );
    let theirs = eks_token::verify::decode(&token_of(&aws_cli(&env, &args).stdout)).unwrap();
    assert!(
        theirs.contains("X-Amz-Security-Token=legacy-session-token"),
        "aws-cli: {theirs}"
    );
}

#[test]
fn the_sts_endpoint_is_the_one_aws_cli_presigns_for() {
    // botocore 1.43 (aws-cli 1.45) defaults sts_regional_endpoints to `regional`: the
    // legacy regions get their regional endpoint too; `legacy` brings the global one
    // back for them only; no region at all signs for the global endpoint.
    let origin = |stdout: &str| {
        let url = eks_token::verify::decode(&token_of(stdout)).unwrap();
        url.split("/?").next().unwrap().to_owned()
    };
    let mut env = TestEnv::new();
    env.static_creds("AKIAENDPOINTS0000001", "e");
    let cases: [(&[&str], Option<&str>, &str); 7] = [
        (
            &["--region", "us-west-1"],
            None,
            "https://sts.us-west-1.amazonaws.com",
        ),
        (
            &["--region", "us-east-1"],
            None,
            "https://sts.us-east-1.amazonaws.com",
        ),
        (
            &["--region", "eu-west-1"],
            None,
            "https://sts.eu-west-1.amazonaws.com",
        ),
        (
            &["--region", "af-south-1"],
            None,
            "https://sts.af-south-1.amazonaws.com",
        ),
        (&[], None, "https://sts.amazonaws.com"),
        (
            &["--region", "us-west-1"],
            Some("legacy"),
            "https://sts.amazonaws.com",
        ),
        (
            &["--region", "af-south-1"],
            Some("legacy"),
            "https://sts.af-south-1.amazonaws.com",
        ),
    ];
    for (extra, mode, want) in cases {
        match mode {
            Some(m) => env.set("AWS_STS_REGIONAL_ENDPOINTS", m),
            None => env.set("AWS_STS_REGIONAL_ENDPOINTS", ""),
        };
        let mut args = vec!["eks", "get-token", "--cluster-name", "dev"];
        args.extend_from_slice(extra);
        let ours = env.run(&args);
        assert_eq!(ours.code, 0, "{}", ours.stderr);
        let theirs = aws_cli(&env, &args);
        assert_eq!(theirs.code, 0, "{}", theirs.stderr);
        assert_eq!(
            origin(&ours.stdout),
            origin(&theirs.stdout),
            "{extra:?} {mode:?}"
        );
        assert_eq!(origin(&ours.stdout), want, "{extra:?} {mode:?}");
    }
}

#[test]
fn the_exec_command_is_this_program_even_when_another_aws_comes_first_on_path() {
    let m = moto();
    create_cluster("dropin-path", DEV_ROLE);
    let mut env = TestEnv::new();
    env.static_creds("AKIASHAREDSERVICES03", "shared/secret")
        .set("AWS_ENDPOINT_URL_STS", &m.url)
        .set("AWS_ENDPOINT_URL_EKS", &m.url)
        .set("AWS_REGION", "us-east-1");
    // The binary as `aws`, run by its path, not found on PATH (where aws-cli is).
    let dir = env.home.join("not-on-path");
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("aws");
    std::os::unix::fs::symlink(bin(), &link).unwrap();
    let config = env.home.join("kubeconfig");
    let r = run_as(
        &env,
        &link,
        &[
            "eks",
            "update-kubeconfig",
            "--name",
            "dropin-path",
            "--assume-role-arn",
            DEV_ROLE,
            "--kubeconfig",
            config.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = kubectl_view(&config);
    let arn = "arn:aws:eks:us-east-1:222222222222:cluster/dropin-path";
    let command = named(&v["users"], arn)["user"]["exec"]["command"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(Path::new(&command).is_absolute(), "{command}");
    assert_eq!(
        std::fs::canonicalize(&command).unwrap(),
        std::fs::canonicalize(bin()).unwrap()
    );
}

#[test]
fn retry_settings_count_attempts_as_aws_cli_does() {
    use crate::common::fault::{FaultServer, Reply};
    // A role hop from static keys; STS always throttles.
    let config =
        |extra: &str| format!("[profile hop]\nrole_arn = {DEV_ROLE}\nsource_profile = p\n{extra}");
    let credentials = "[p]\naws_access_key_id = AKIARETRY00000000001\naws_secret_access_key = k\n";
    let assume_role_calls = |env: &TestEnv, server: &FaultServer, theirs: bool| {
        let before = server.requests().len();
        let args = token_args(&["--profile", "hop"]);
        let r = if theirs {
            aws_cli(env, &args)
        } else {
            env.run(&[&args[..], &["--no-cache"]].concat())
        };
        assert_ne!(r.code, 0, "{}", r.stdout);
        assert!(r.stdout.is_empty(), "{}", r.stdout);
        let calls = server.requests()[before..]
            .iter()
            .filter(|q| q.action().as_deref() == Some("AssumeRole"))
            .count();
        (calls, r.stderr)
    };
    let server = FaultServer::start(vec![], Reply::throttled(10));
    for (extra_config, var, want) in [
        ("", Some(("AWS_MAX_ATTEMPTS", "2")), 2),
        ("max_attempts = 3\n", None, 3),
        ("max_attempts = 3\n", Some(("AWS_MAX_ATTEMPTS", "1")), 1),
        (
            "retry_mode = standard\n",
            Some(("AWS_MAX_ATTEMPTS", "2")),
            2,
        ),
    ] {
        let mut env = TestEnv::new();
        aws_files(&mut env, &config(extra_config), credentials);
        env.set("AWS_ENDPOINT_URL_STS", &server.url);
        if let Some((k, v)) = var {
            env.set(k, v);
        }
        let (ours, stderr) = assume_role_calls(&env, &server, false);
        assert_eq!(ours, want, "eks-token, {extra_config:?} {var:?}: {stderr}");
        assert!(stderr.contains("Throttling"), "{stderr}");
        let (theirs, stderr) = assume_role_calls(&env, &server, true);
        assert_eq!(theirs, want, "aws-cli, {extra_config:?} {var:?}: {stderr}");
    }
    // Values botocore refuses: both refuse before any request.
    for (k, v) in [("AWS_MAX_ATTEMPTS", "0"), ("AWS_RETRY_MODE", "fast")] {
        let mut env = TestEnv::new();
        aws_files(&mut env, &config(""), credentials);
        env.set("AWS_ENDPOINT_URL_STS", &server.url).set(k, v);
        for theirs in [false, true] {
            let (calls, stderr) = assume_role_calls(&env, &server, theirs);
            assert_eq!(calls, 0, "{k}={v} (aws-cli: {theirs}): {stderr}");
        }
    }
}

#[test]
fn argos_form_tries_again_every_5_s_as_argocd_k8s_auth_does() {
    let m = moto();
    // The pod starts before its IRSA token file is mounted: the file appears 2 s later.
    let mut env = irsa_env("argo-retry");
    let token_file = env.home.join("web-identity-token");
    std::fs::remove_file(&token_file).unwrap();
    let argocd = as_program(&mut env, "argocd-k8s-auth");
    let child = env
        .command(
            &argocd,
            &["aws", "--cluster-name", "dev", "--role-arn", DEV_ROLE],
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    std::thread::sleep(std::time::Duration::from_secs(2));
    std::fs::write(&token_file, "eyJhbGciOiJSUzI1NiJ9.argo-retry.c2ln").unwrap();
    let out = child.wait_with_output().unwrap();
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        elapsed >= std::time::Duration::from_secs(4),
        "the first attempt failed, the second came 5 s later: {elapsed:?}"
    );
    let ec: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_verifies_as_dev_role(ec["status"]["token"].as_str().unwrap(), "dev", &m.url);

    // A failure that persists ends within the timeout, with the last error.
    std::fs::remove_file(&token_file).unwrap();
    let r = run_as(
        &env,
        &bin(),
        &[
            "aws",
            "--cluster-name",
            "dev",
            "--role-arn",
            DEV_ROLE,
            "--timeout",
            "7",
            "-v",
        ],
    );
    assert_failed(&r, 1, &[]);
    assert!(r.stderr.contains("web-identity-token"), "{}", r.stderr);
    assert_eq!(
        r.stderr.matches("trying again in 5 s").count(),
        1,
        "{}",
        r.stderr
    );
    assert!(
        r.elapsed >= std::time::Duration::from_secs(5)
            && r.elapsed < std::time::Duration::from_secs(8),
        "{:?}",
        r.elapsed
    );
    // A request invalid as written is not tried again.
    let r = run_as(
        &env,
        &argocd,
        &["aws", "--cluster-name", "dev", "--role-arn", "not-an-arn"],
    );
    assert_failed(&r, 1, &[]);
    assert!(
        r.elapsed < std::time::Duration::from_secs(2),
        "{:?}",
        r.elapsed
    );
}

/// The layout of `eks get-token`'s output, byte for byte but for what differs between
/// two runs: the token and its expiration (masked in text, left out of JSON).
fn layout(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| !l.contains("\"expirationTimestamp\"") && !l.contains("\"token\""))
        .map(|l| {
            l.split('\t')
                .map(|f| {
                    if f.starts_with("k8s-aws-v1.") || parse_rfc3339(f).is_some() {
                        "*"
                    } else {
                        f
                    }
                })
                .collect::<Vec<_>>()
                .join("\t")
        })
        .collect()
}

#[test]
fn the_default_output_comes_from_aws_default_output_or_the_profile_as_in_aws_cli() {
    let m = moto();
    let sts = ["sts", "get-caller-identity", "--region", "us-east-1"];
    let token = [
        "eks",
        "get-token",
        "--cluster-name",
        "dev",
        "--region",
        "us-east-1",
    ];
    // (profile's output, AWS_DEFAULT_OUTPUT, extra arguments)
    let cases: [(Option<&str>, Option<&str>, &[&str]); 8] = [
        (None, None, &[]),
        (None, None, &["--query", "status.token", "--output", "text"]),
        (None, Some("text"), &[]),
        (Some("text"), None, &[]),
        (Some("text"), Some("json"), &[]),
        (None, Some("text"), &["--output", "json"]),
        (Some("json"), None, &["--output", "text"]),
        (Some("text"), None, &["--query", "Arn"]),
    ];
    for (profile_output, var, extra) in cases {
        let mut env = TestEnv::new();
        let config = profile_output.map_or(String::new(), |o| format!("[default]\noutput = {o}\n"));
        aws_files(&mut env, &config, "");
        env.static_creds("AKIAOUTPUT0000000001", "output/secret")
            .set("AWS_ENDPOINT_URL_STS", &m.url);
        if let Some(v) = var {
            env.set("AWS_DEFAULT_OUTPUT", v);
        }
        let aws = as_program(&mut env, "aws");
        let what = format!("{profile_output:?} {var:?} {extra:?}");
        // get-caller-identity: byte for byte what aws-cli prints.
        let args = [&sts[..], extra].concat();
        let ours = run_as(&env, &aws, &args);
        let theirs = aws_cli(&env, &args);
        assert_eq!(ours.code, 0, "{what}: {}", ours.stderr);
        assert_eq!(theirs.code, 0, "{what}: {}", theirs.stderr);
        assert_eq!(ours.stdout, theirs.stdout, "{what}");
        // get-token: the same layout (the tokens differ by their signing time).
        let args = [&token[..], extra].concat();
        let ours = run_as(&env, &aws, &args);
        let theirs = aws_cli(&env, &args);
        assert_eq!(ours.code, 0, "{what}: {}", ours.stderr);
        assert_eq!(layout(&ours.stdout), layout(&theirs.stdout), "{what}");
    }
    // Formats eks-token does not print, and unknown names: both tools refuse, nothing on
    // stdout; eks-token before any request.
    for (profile_output, var) in [(None, Some("table")), (Some("foo"), None)] {
        let mut env = TestEnv::new();
        let config = profile_output.map_or(String::new(), |o| format!("[default]\noutput = {o}\n"));
        aws_files(&mut env, &config, "");
        env.static_creds("AKIAOUTPUT0000000001", "output/secret")
            .set("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9");
        if let Some(v) = var {
            env.set("AWS_DEFAULT_OUTPUT", v);
        }
        let aws = as_program(&mut env, "aws");
        let ours = run_as(&env, &aws, &sts);
        assert_failed(&ours, 1, &["output/secret"]);
        let named = if var.is_some() {
            "AWS_DEFAULT_OUTPUT"
        } else {
            "`output`"
        };
        assert!(ours.stderr.contains(named), "{}", ours.stderr);
        assert!(
            !ours.stderr.contains("127.0.0.1:9"),
            "no request: {}",
            ours.stderr
        );
        if var == Some("foo") || profile_output == Some("foo") {
            let theirs = aws_cli(&env, &sts);
            assert_ne!(theirs.code, 0);
            assert!(theirs.stdout.is_empty(), "{}", theirs.stdout);
        }
    }
}

/// A small deterministic generator (xorshift) for the side-by-side YAML test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
}

/// Strings that test a YAML writer's choice of plain or quoted and its folding: YAML
/// 1.1 booleans, numbers, nulls and timestamps, indicators first and inside, edge
/// spaces, quotes, long lines.
const TRICKY: &[&str] = &[
    "dev",
    "us-east-1",
    "--region",
    "- x",
    "-x",
    "a: b",
    "a:b",
    "ab:",
    ":a",
    "#x",
    "a #b",
    "x#y",
    "yes",
    "No",
    "on",
    "OFF",
    "y",
    "true",
    "null",
    "~",
    "",
    " lead",
    "trail ",
    "1",
    "-1",
    "0755",
    "0x1F",
    "0b11",
    "1_000",
    "1:30",
    "1:30.5",
    "1.5",
    "1.",
    ".5",
    "1.5e+3",
    ".inf",
    "-.Inf",
    ".NaN",
    "2001-12-14",
    "2001-12-14 21:59:43.10 -5",
    "2001-12-14t21:59:43Z",
    "<<",
    "=",
    "it's",
    "'q'",
    "\"dq\"",
    "{a}",
    "[b]",
    "a,b",
    "@at",
    "`bt",
    "%p",
    "!t",
    "&a",
    "*s",
    "|",
    ">",
    "?",
    "? q",
    "?q",
    ":",
    "---",
    "--- x",
    "...",
    "http://x:80/p?q=1#f",
    "arn:aws:eks:us-east-1:222222222222:cluster/dev",
    "a  b",
    "tab\there",
    "naïve café",
    "日本",
    "😀",
    "line1\nline2",
    "a \nb",
    "a\n b",
    "\nlead",
    "trail\n",
    "x\n\ny",
    "bell\u{7}",
    "nul\u{0}",
    "nel\u{85}x",
    "ls\u{2028}x",
    "nbsp\u{A0}x",
    "quote\"in",
    "back\\slash",
    "\r\n",
];

fn tricky_string(rng: &mut Rng) -> String {
    match rng.below(4) {
        // A sentence long enough to be folded, quotes and double spaces included.
        0 => {
            let words = 5 + rng.below(60);
            let mut s = rng.pick(TRICKY).to_owned();
            for _ in 0..words {
                s.push_str(if rng.below(8) == 0 { "  " } else { " " });
                s.push_str(rng.pick(&[
                    "word",
                    "it's",
                    "x",
                    "longer-word",
                    "a:b",
                    "#",
                    "'",
                    "naïve",
                    "tab\t",
                    "x\ny",
                ]));
            }
            s
        }
        // Long unbroken text (certificate data).
        1 if rng.below(4) == 0 => "QUJD".repeat(50 + rng.below(300)),
        _ => rng.pick(TRICKY).to_owned(),
    }
}

fn tricky_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 3 { 5 } else { 9 }) {
        0 => Value::from(rng.next() as i32),
        1 => Value::from(rng.below(2) == 0),
        2 => Value::Null,
        3 | 4 => Value::from(tricky_string(rng)),
        5 => Value::Array(Vec::new()),
        6 => Value::Object(Default::default()),
        7 => Value::Array(
            (0..1 + rng.below(4))
                .map(|_| tricky_value(rng, depth + 1))
                .collect(),
        ),
        _ => tricky_map(rng, depth + 1),
    }
}

fn tricky_map(rng: &mut Rng, depth: usize) -> Value {
    let keys = [
        "name",
        "a",
        "b-c",
        "x_y",
        "with space",
        "k:v",
        "1",
        "true",
        "-d",
        "#h",
        "http://k",
    ];
    Value::Object(
        (0..1 + rng.below(6))
            .map(|_| (rng.pick(&keys).to_owned(), tricky_value(rng, depth)))
            .collect(),
    )
}

/// A kubeconfig in JSON (which is YAML that both tools read alike: every string quoted,
/// nothing to resolve) with random content around one cluster, user and context.
fn random_kubeconfig(seed: u64) -> String {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ seed);
    let existing = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": tricky_map(&mut rng, 0),
        "clusters": [{"name": "other", "cluster": {"server": "https://other",
            "extensions": [{"name": "x", "extension": tricky_map(&mut rng, 1)}]}}],
        "users": [{"name": "alice", "user": tricky_map(&mut rng, 1)}],
        "contexts": [{"name": "other", "context": {"cluster": "other", "user": "alice",
            "namespace": tricky_string(&mut rng)}}],
        "current-context": "other",
        "x-extra": Value::Array((0..8).map(|_| tricky_value(&mut rng, 0)).collect()),
    });
    // Raw NEL and line separators are line breaks to a YAML 1.1 reader, even inside
    // quotes: escape them, as JSON allows.
    existing
        .to_string()
        .replace('\u{85}', "\\u0085")
        .replace('\u{2028}', "\\u2028")
}

#[test]
fn update_kubeconfig_writes_aws_clis_bytes() {
    let m = moto();
    create_cluster("dropin-sbs", DEV_ROLE);
    let mut env = TestEnv::new();
    // The cluster is in the dev account: describe it as the dev role.
    aws_files(
        &mut env,
        &format!(
            "[profile dev]\nrole_arn = {DEV_ROLE}\nsource_profile = base\nregion = us-east-1\n"
        ),
        "[base]\naws_access_key_id = AKIASIDEBYSIDE000001\naws_secret_access_key = s\n",
    );
    env.set("AWS_ENDPOINT_URL_EKS", &m.url)
        .set("AWS_ENDPOINT_URL_STS", &m.url);
    let aws = as_program(&mut env, "aws");
    // Into a new file, into the kubeconfig a user has, and into kubeconfigs holding
    // random content (200 seeds were run once; 60 again once reading as kubectl does; 4
    // each run).
    let starts = [None, Some(EXISTING.to_owned())]
        .into_iter()
        .chain((1..=4).map(|seed| Some(random_kubeconfig(seed))));
    for (i, start) in starts.enumerate() {
        let dir = env.home.join(&format!("sbs-{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        let (ours, theirs) = (dir.join("ours"), dir.join("theirs"));
        if let Some(text) = &start {
            std::fs::write(&ours, text).unwrap();
            std::fs::write(&theirs, text).unwrap();
        }
        let args = |p: &Path| -> Vec<String> {
            [
                "--profile",
                "dev",
                "eks",
                "update-kubeconfig",
                "--name",
                "dropin-sbs",
                "--role-arn",
                DEV_ROLE,
                "--alias",
                "sbs",
            ]
            .iter()
            .map(|s| s.to_string())
            .chain(["--kubeconfig".to_owned(), p.display().to_string()])
            .collect()
        };
        fn strs(v: &[String]) -> Vec<&str> {
            v.iter().map(String::as_str).collect()
        }
        let r = run_as(&env, &aws, &strs(&args(&ours)));
        assert_eq!(r.code, 0, "{}", r.stderr);
        let t = aws_cli(&env, &strs(&args(&theirs)));
        assert_eq!(t.code, 0, "aws-cli: {}", t.stderr);
        assert_eq!(
            r.stdout.replace(&ours.display().to_string(), "PATH"),
            t.stdout.replace(&theirs.display().to_string(), "PATH")
        );
        // The same kubeconfig, byte for byte (but for quotes kubectl needs); kubectl
        // reads it.
        let (a, b) = (
            std::fs::read_to_string(&ours).unwrap(),
            std::fs::read_to_string(&theirs).unwrap(),
        );
        // One deliberate difference: a string that kubectl would not read back as a
        // string (go-yaml v2 reads `y` as true) stays quoted where aws-cli writes it
        // plain.
        let deliberate = |ours: &str, theirs: &str| {
            ["y", "Y", "n", "N"].iter().any(|s| {
                ours.strip_suffix(&format!("'{s}'"))
                    .is_some_and(|head| head.ends_with(' ') && format!("{head}{s}") == theirs)
            })
        };
        let same = a.lines().count() == b.lines().count()
            && a.lines()
                .zip(b.lines())
                .all(|(x, y)| x == y || deliberate(x, y));
        if !same {
            let line = a
                .lines()
                .zip(b.lines())
                .position(|(x, y)| x != y && !deliberate(x, y));
            panic!("start {i}: first difference at line {line:?}\n--- ours\n{a}\n--- aws-cli\n{b}");
        }
        if i < 2 {
            assert_eq!(kubectl_view(&ours)["current-context"], "sbs");
        }
    }
}
