//! Real kubectl runs eks-token as its exec plugin against a local HTTPS API server that
//! verifies the bearer token as EKS does (tests/support/eks_verifier.py).

use std::path::Path;
use std::sync::OnceLock;

use crate::common::*;
use serde_json::{json, Value};

fn verifier() -> &'static Verifier {
    static V: OnceLock<Verifier> = OnceLock::new();
    V.get_or_init(|| Verifier::start("dev", &moto().url))
}

/// A kubeconfig (JSON is valid YAML) whose user runs eks-token with `args`.
fn kubeconfig(dir: &Path, api_version: &str, args: &[&str], wit_file: &Path) -> std::path::PathBuf {
    let v = verifier();
    let mut exec = json!({
        "apiVersion": api_version,
        "command": bin().display().to_string(),
        "args": args,
        "env": [
            {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": wit_file.display().to_string()},
            {"name": "AWS_ROLE_ARN", "value": "arn:aws:iam::111111111111:role/irsa-kubectl"},
            {"name": "AWS_ENDPOINT_URL_STS", "value": moto().url},
            {"name": "AWS_REGION", "value": "us-east-1"},
        ],
        "provideClusterInfo": false,
    });
    if api_version.ends_with("/v1") {
        exec["interactiveMode"] = json!("Never");
    }
    let cfg = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "dev", "cluster": {
            "server": v.url,
            "certificate-authority": v.ca.display().to_string(),
        }}],
        "users": [{"name": "eks", "user": {"exec": exec}}],
        "contexts": [{"name": "dev", "context": {"cluster": "dev", "user": "eks"}}],
        "current-context": "dev",
    });
    let path = dir.join(format!("kubeconfig-{}.json", args.join("-").len()));
    std::fs::write(&path, serde_json::to_vec_pretty(&cfg).unwrap()).unwrap();
    path
}

fn wit_file(env: &TestEnv) -> std::path::PathBuf {
    let p = env.home.join("sa-token");
    std::fs::write(&p, "eyJhbGciOiJSUzI1NiJ9.kubectl-sa.c2ln").unwrap();
    p
}

fn assert_reaches_dev_as_testrole(env: &TestEnv, cfg: &Path) {
    let (code, out, err) = kubectl(env, cfg, &["version", "-o", "json"]);
    assert_eq!(code, 0, "kubectl version failed: {err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["serverVersion"]["gitVersion"],
        "v1.32.0-eks-token-verifier"
    );
    let (code, out, err) = kubectl(env, cfg, &["get", "--raw", "/eks-identity"]);
    assert_eq!(code, 0, "{err}");
    let who: Value = serde_json::from_str(&out).unwrap();
    assert!(
        who["arn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:sts::222222222222:assumed-role/testrole/"),
        "{who}"
    );
}

#[test]
fn v1_with_aws_cli_style_args() {
    let env = TestEnv::new();
    let cfg = kubeconfig(
        env.home.path(),
        "client.authentication.k8s.io/v1",
        &strs(&aws_exec_args("us-east-1", "dev", Some(DEV_ROLE))),
        &wit_file(&env),
    );
    assert_reaches_dev_as_testrole(&env, &cfg);
}

#[test]
fn v1beta1_with_the_short_form() {
    let env = TestEnv::new();
    let cfg = kubeconfig(
        env.home.path(),
        "client.authentication.k8s.io/v1beta1",
        &["get-token", "--cluster-name", "dev", "--role-arn", DEV_ROLE],
        &wit_file(&env),
    );
    assert_reaches_dev_as_testrole(&env, &cfg);
    let (code, out, err) = kubectl(&env, &cfg, &["auth", "whoami", "-o", "json"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("arn:aws:sts::222222222222:assumed-role/testrole/EKSGetTokenAuth"),
        "{out}"
    );
}

#[test]
fn v1beta1_with_the_authenticator_form() {
    let env = TestEnv::new();
    let cfg = kubeconfig(
        env.home.path(),
        "client.authentication.k8s.io/v1beta1",
        &["token", "-i", "dev", "-r", DEV_ROLE],
        &wit_file(&env),
    );
    assert_reaches_dev_as_testrole(&env, &cfg);
}

#[test]
fn a_token_for_another_cluster_is_refused() {
    let env = TestEnv::new();
    let cfg = kubeconfig(
        env.home.path(),
        "client.authentication.k8s.io/v1",
        &[
            "get-token",
            "--cluster-name",
            "prod",
            "--role-arn",
            DEV_ROLE,
        ],
        &wit_file(&env),
    );
    let before = verifier().verdicts().len();
    let (code, _, err) = kubectl(&env, &cfg, &["version", "-o", "json"]);
    assert_ne!(code, 0, "kubectl must fail");
    assert!(
        err.contains("Unauthorized") || err.contains("provide credentials"),
        "{err}"
    );
    let verdicts = verifier().verdicts();
    let refused = verdicts[before..]
        .iter()
        .find(|v| v["ok"] == false)
        .expect("a refused token");
    assert!(
        refused["errors"][0]
            .as_str()
            .unwrap()
            .starts_with("signature:"),
        "{refused}"
    );
}
