//! `doctor` against the EKS stand-in's control plane (tests/support/eks_control_plane.py):
//! the cluster's authentication mode and access entries read with the chain's identity,
//! EKS's precedence per mode, the user predicted compared with the stand-in's own
//! SelfSubjectReview, AccessDenied on each read; the clock, the kubeconfig's exec entry,
//! and the causes doctor names (the seed's files, another cluster's CA or server, a
//! cluster in another region, sts:TagSession after EKS Pod Identity).

use serde_json::{json, Value};

use crate::common::*;

mod causes;
mod modes;

const CLUSTER_ARN: &str = "arn:aws:eks:us-east-1:222222222222:cluster/dev";
const EDIT: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy";
const VIEW: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
const SSO_ROLE: &str = "AWSReservedSSO_DoctorAdmin_0123456789abcdef";

/// A role of the cluster's account 222222222222: `name` may carry a path.
fn role(name: &str) -> String {
    format!("arn:aws:iam::222222222222:role/{name}")
}

fn plane(mode: &str, entries: Value) -> Value {
    json!({"name": "dev", "arn": CLUSTER_ARN, "authenticationMode": mode,
           "accessEntries": entries})
}

fn stand_in(doc: Value, aws_auth: Option<&std::path::Path>) -> Verifier {
    let b = Verifier::builder("dev", &moto().url).control_plane(doc);
    match aws_auth {
        Some(a) => b.aws_auth(a),
        None => b,
    }
    .start()
}

/// Environment keys against moto (roles are assumed in 222222222222), EKS's API at the
/// stand-in (its CA trusted), one attempt per request.
fn env_for(v: &Verifier) -> TestEnv {
    let mut env = TestEnv::new();
    env.static_creds("AKIADOCTORACCESS0001", "doctor-access/secret")
        .set("AWS_ENDPOINT_URL_STS", &moto().url)
        .set("AWS_ENDPOINT_URL_EKS", &v.url)
        .set("AWS_CA_BUNDLE", v.ca.display().to_string())
        .set("AWS_REGION", "us-east-1")
        .set("AWS_MAX_ATTEMPTS", "1");
    env
}

fn write(env: &TestEnv, name: &str, text: &str) -> String {
    let path = env.home.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// `doctor -o json --cluster-name dev` with `args`: the exit code and the document.
fn doctor(env: &TestEnv, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["doctor", "--cluster-name", "dev", "-o", "json"];
    all.extend(args);
    let r = env.run(&all);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    let doc: Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|_| panic!("not JSON: {} / {}", r.stdout, r.stderr));
    assert_eq!(r.code == 0, doc["ok"] == true, "{doc}");
    (r.code, doc)
}

fn step<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no step {name}: {doc}"))
}

fn text(s: &Value, field: &str) -> String {
    s[field].as_str().unwrap_or_default().to_owned()
}

fn names(doc: &Value) -> Vec<String> {
    doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| text(s, "name"))
        .collect()
}

/// A kubeconfig for the stand-in whose user runs the binary under test with `args`.
fn kubeconfig(env: &TestEnv, v: &Verifier, args: &[&str]) -> String {
    let doc = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "dev", "cluster": {
            "server": v.url, "certificate-authority": v.ca.display().to_string()}}],
        "users": [{"name": "dev", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": bin().display().to_string(), "args": args,
            "interactiveMode": "Never"}}}],
        "contexts": [{"name": "dev", "context": {"cluster": "dev", "user": "dev"}}],
        "current-context": "dev",
    });
    write(env, "kubeconfig", &doc.to_string())
}

/// The actions of the stand-in's API called since `from` calls, with their outcomes.
fn calls_since(v: &Verifier, from: usize) -> Vec<String> {
    v.control_plane_calls()[from..]
        .iter()
        .map(|c| format!("{} {}", text(c, "action"), text(c, "outcome")))
        .collect()
}
