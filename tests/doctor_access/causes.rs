//! The clock, the seed's files, another cluster's CA or server, a cluster in another
//! region, sts:TagSession after EKS Pod Identity: each named with its fix.

use serde_json::{json, Value};

use super::*;
use crate::common::fault::{FaultServer, Reply, SkewedFront};

#[test]
fn a_skewed_clock_fails_only_keys_that_sign_on_it() {
    // STS ten minutes ahead of this machine: a server's Date tells it.
    let front = SkewedFront::start(moto().port, 600);
    let mut env = TestEnv::new();
    env.static_creds("AKIADOCTORCLOCK00001", "clock/secret")
        .set("AWS_ENDPOINT_URL_STS", &front.url)
        .set("AWS_REGION", "us-east-1")
        .set("AWS_MAX_ATTEMPTS", "1");
    let aws_auth = write(
        &env,
        "aws-auth.yaml",
        "mapAccounts: |\n  - \"123456789012\"\n",
    );
    let (code, doc) = doctor(&env, &["--aws-auth", &aws_auth]);
    assert_eq!(code, 1, "{doc}");
    let s = step(&doc, "clock");
    assert_eq!(s["ok"], false, "{doc}");
    assert!(
        text(s, "detail").starts_with("this machine's clock is ")
            && text(s, "detail").contains("behind AWS's (a server's Date said)")
            && text(s, "fix").contains("NTP"),
        "{s}"
    );
    // doctor's own token is signed on STS's time, and passes.
    assert_eq!(step(&doc, "token")["ok"], true, "{doc}");
    // A role assumed: get-token learns the time from STS too.
    let (_, doc) = doctor(
        &env,
        &["--aws-auth", &aws_auth, "--role-arn", &role("doctor-clock")],
    );
    let s = step(&doc, "clock");
    assert_eq!(s["ok"], true, "{doc}");
    assert!(text(s, "detail").contains("get-token learns it"), "{s}");
    // Two minutes behind: a skew the SDKs (and get-token) leave as it is, role or not.
    let front = SkewedFront::start(moto().port, 120);
    env.set("AWS_ENDPOINT_URL_STS", &front.url);
    let (code, doc) = doctor(
        &env,
        &["--aws-auth", &aws_auth, "--role-arn", &role("doctor-clock")],
    );
    assert_eq!(code, 1, "{doc}");
    let s = step(&doc, "clock");
    assert!(
        s["ok"] == false && text(s, "detail").contains("corrects only a skew beyond 4 minutes"),
        "{s}"
    );
}

/// The seed's aws-auth: `-system:masters` at the indentation of `groups:` (not YAML), and
/// indented below it (a string, not a list): the line and the fix, not a template.
#[test]
fn the_seeds_aws_auth_gets_the_missing_space_after_its_dash() {
    let mut env = TestEnv::new();
    env.static_creds("AKIADOCTORSEED000001", "seed/secret")
        .set("AWS_ENDPOINT_URL_STS", &moto().url)
        .set("AWS_REGION", "us-east-1")
        .set("AWS_MAX_ATTEMPTS", "1");
    let seed = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: aws-auth
  namespace: kube-system
data:
  mapRoles: |
    - rolearn: arn:aws:iam::222222222222:role/testrole
      username: testrole
      groups:
      -system:masters
";
    let file = write(&env, "aws-auth.yaml", seed);
    let (code, doc) = doctor(&env, &["--role-arn", DEV_ROLE, "--aws-auth", &file]);
    assert_eq!(code, 1, "{doc}");
    let fix = text(step(&doc, "aws-auth"), "fix");
    assert!(
        fix.contains(
            "line 4 of it, \"-system:masters\", is not a list item (a dash needs a space after \
             it): write \"- system:masters\""
        ) && !fix.contains("template"),
        "{fix}"
    );
    let indented = seed.replace("      -system", "        -system");
    let file = write(&env, "aws-auth.yaml", &indented);
    let (code, doc) = doctor(&env, &["--role-arn", DEV_ROLE, "--aws-auth", &file]);
    assert_eq!(code, 0, "{doc}");
    let s = step(&doc, "aws-auth");
    assert!(
        text(s, "fix").contains("groups is \"-system:masters\", not a list"),
        "{s}"
    );
}

/// The seed's kubeconfig: aws-cli's `eks get-token --role` under apiVersion v1alpha1.
#[test]
fn the_seeds_kubeconfig_gets_its_api_version_and_its_role_read() {
    let v = stand_in(plane("CONFIG_MAP", json!([])), None);
    let mut env = env_for(&v);
    as_program(&mut env, "aws");
    let doc = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "dev", "cluster": {"server": v.url,
            "certificate-authority": v.ca.display().to_string()}}],
        "users": [{"name": "dev", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1alpha1", "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", "dev", "--role", DEV_ROLE]}}}],
        "contexts": [{"name": "dev", "context": {"cluster": "dev", "user": "dev"}}],
        "current-context": "dev",
    });
    let k = write(&env, "kubeconfig", &doc.to_string());
    let (code, out) = doctor(&env, &["--role-arn", DEV_ROLE, "--kubeconfig", &k]);
    assert_eq!(code, 1, "{out}");
    let s = step(&out, "kubeconfig");
    assert_eq!(s["ok"], false, "{s}");
    let fix = text(s, "fix");
    assert!(
        fix.contains(
            "kubectl 1.24 and later refuse apiVersion client.authentication.k8s.io/v1alpha1: \
             write apiVersion: client.authentication.k8s.io/v1beta1"
        ),
        "{fix}"
    );
    // `aws` is found on PATH, and its arguments read as aws-cli reads them.
    assert!(fix.contains("kubectl started by a GUI app"), "{fix}");
    assert!(
        text(s, "detail").contains("its user runs aws (client.authentication.k8s.io/v1alpha1)"),
        "{s}"
    );
    // With v1beta1: the role --role gives is doctor's, the same request.
    let fixed = doc.to_string().replace("k8s.io/v1alpha1", "k8s.io/v1beta1");
    let k = write(&env, "kubeconfig", &fixed);
    let (_, out) = doctor(&env, &["--role-arn", DEV_ROLE, "--kubeconfig", &k]);
    let s = step(&out, "kubeconfig");
    assert!(
        s["ok"] == true
            && text(s, "detail").contains(&format!(
                "for cluster dev as [{DEV_ROLE}], the same request"
            )),
        "{s}"
    );
    // The same dash without its space in the kubeconfig's YAML: named at its line.
    let yaml = format!(
        "apiVersion: v1\nclusters:\n- name: dev\n  cluster:\n    server: {}\n\
         users:\n- name: dev\n  user:\n    exec:\n      command: aws\n      args:\n      \
         -eks\n      - get-token\n",
        v.url
    );
    let k = write(&env, "kubeconfig", &yaml);
    let (_, out) = doctor(&env, &["--role-arn", DEV_ROLE, "--kubeconfig", &k]);
    assert!(
        text(step(&out, "kubeconfig"), "detail")
            .contains("line 12 of it, \"-eks\", is not a list item"),
        "{out}"
    );
    // A program not on PATH.
    let gone = fixed.replace("\"command\":\"aws\"", "\"command\":\"no-such-eks-tool\"");
    let k = write(&env, "kubeconfig", &gone);
    let (_, out) = doctor(&env, &["--role-arn", DEV_ROLE, "--kubeconfig", &k]);
    assert!(
        text(step(&out, "kubeconfig"), "fix").contains("no-such-eks-tool is not found on PATH"),
        "{out}"
    );
}

/// A CA of the machine's bundle: a real CA, not the stand-in's.
fn another_ca(env: &TestEnv) -> String {
    let bundle = std::fs::read_to_string("/etc/ssl/certs/ca-certificates.crt").unwrap();
    let end = "-----END CERTIFICATE-----";
    let first = &bundle[bundle.find("-----BEGIN").unwrap()..bundle.find(end).unwrap() + end.len()];
    write(env, "other-ca.pem", &format!("{first}\n"))
}

#[test]
fn another_clusters_ca_or_server_gets_the_kubeconfigs_fix() {
    let caller = role("doctor-ca");
    let v = stand_in(plane("API", json!([{"principalArn": caller}])), None);
    let env = env_for(&v);
    let good = kubeconfig(
        &env,
        &v,
        &["get-token", "--cluster-name", "dev", "--role-arn", &caller],
    );
    let good = std::fs::read_to_string(good).unwrap();
    let ca = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        std::fs::read(&v.ca).unwrap(),
    );
    // Another CA, with DescribeCluster's answer known: the CA to write.
    let other = good.replace(&v.ca.display().to_string(), &another_ca(&env));
    let k = write(&env, "kubeconfig", &other);
    let (code, out) = doctor(&env, &["--role-arn", &caller, "--kubeconfig", &k]);
    assert_eq!(code, 1, "{out}");
    let s = step(&out, "kubeconfig");
    assert!(
        text(s, "detail").contains("certificate authority is not cluster dev's")
            && text(s, "fix").contains(&format!("certificate-authority-data: {ca}")),
        "{s}"
    );
    assert!(!out.to_string().contains("AWS_CA_BUNDLE"), "{out}");
    // Without it (EKS's API not reachable): TLS fails, and the fix is still the
    // kubeconfig's CA, not AWS_CA_BUNDLE.
    let mut blind = env_for(&v);
    blind.set(
        "AWS_ENDPOINT_URL_EKS",
        format!("http://127.0.0.1:{}", closed_port()),
    );
    let (code, out) = doctor(&blind, &["--role-arn", &caller, "--kubeconfig", &k]);
    assert_eq!(code, 1, "{out}");
    let s = step(&out, "cluster");
    assert!(
        text(s, "detail").contains("TLS failed")
            && text(s, "fix").contains("certificate-authority-data (aws eks describe-cluster"),
        "{s}"
    );
    assert!(!out.to_string().contains("AWS_CA_BUNDLE"), "{out}");
    // Another cluster's server: named, with DescribeCluster's endpoint; nothing sent.
    let elsewhere = format!("https://127.0.0.1:{}", closed_port());
    let k = write(&env, "kubeconfig", &good.replace(&v.url, &elsewhere));
    let before = v.verdicts().len();
    let (code, out) = doctor(&env, &["--role-arn", &caller, "--kubeconfig", &k]);
    assert_eq!(code, 1, "{out}");
    let s = step(&out, "kubeconfig");
    assert!(
        text(s, "detail").contains(&format!(
            "not the endpoint of cluster dev ({}, DescribeCluster)",
            v.url
        )) && text(s, "fix").contains(&format!("write server: {}", v.url)),
        "{s}"
    );
    assert_eq!(v.verdicts().len(), before);
}

#[test]
fn a_cluster_in_another_region_is_named_with_the_region_asked() {
    let dev = role("doctor-region");
    create_cluster("doctor-region", &dev);
    let mut env = TestEnv::new();
    env.static_creds("AKIADOCTORREGION0001", "region/secret")
        .set("AWS_ENDPOINT_URL_STS", &moto().url)
        .set("AWS_ENDPOINT_URL_EKS", &moto().url)
        .set("AWS_MAX_ATTEMPTS", "1");
    let run = |region: &str| {
        let r = env.run(&[
            "doctor",
            "--cluster-name",
            "doctor-region",
            "--role-arn",
            &dev,
            "--region",
            region,
            "-o",
            "json",
        ]);
        serde_json::from_str::<Value>(&r.stdout).unwrap()
    };
    let out = run("eu-west-1");
    let s = step(&out, "eks");
    assert_eq!(s["ok"], false, "{out}");
    assert!(
        text(s, "detail").contains("ResourceNotFoundException")
            && text(s, "detail").contains(
                "no cluster doctor-region in eu-west-1, the region asked: give the cluster's \
                 region (--region or AWS_REGION)"
            ),
        "{s}"
    );
    // In its region it is found (moto's answer names no authentication mode).
    let out = run("us-east-1");
    let s = step(&out, "eks");
    assert!(
        text(s, "detail")
            .contains("cluster arn:aws:eks:us-east-1:222222222222:cluster/doctor-region"),
        "{s}"
    );
}

#[test]
fn a_hop_after_pod_identity_denied_tag_session_gets_the_trust_statement() {
    let agent = FaultServer::start(
        vec![],
        Reply::json(
            200,
            &json!({"AccessKeyId": "ASIADOCTORPODID00001", "SecretAccessKey": "pod/secret",
                    "Token": "pod-session-token", "Expiration": in_an_hour(),
                    "AccountId": "111111111111"}),
        ),
    );
    let pod_role = "arn:aws:sts::111111111111:assumed-role/doctor-pod/eks-dev-pod-1234";
    let target = role("doctor-target");
    let sts = FaultServer::start(
        vec![Reply::sts_error(
            403,
            "AccessDenied",
            &format!(
                "User: {pod_role} is not authorized to perform: sts:TagSession on resource: {target}"
            ),
        )],
        Reply::xml(
            200,
            format!(
                "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
                 <GetCallerIdentityResult><Arn>{pod_role}</Arn>\
                 <UserId>AROADOCTORPOD:eks-dev-pod-1234</UserId><Account>111111111111</Account>\
                 </GetCallerIdentityResult></GetCallerIdentityResponse>"
            ),
        ),
    );
    let mut env = TestEnv::new();
    let token = write(&env, "eks-pod-identity-token", "pod-identity-jwt");
    env.set(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        format!("{}/v1/credentials", agent.url),
    )
    .set("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", token)
    .set("AWS_ENDPOINT_URL_STS", &sts.url)
    .set("AWS_REGION", "us-east-1")
    .set("AWS_MAX_ATTEMPTS", "1");
    let (code, out) = doctor(&env, &["--role-arn", &target]);
    assert_eq!(code, 1, "{out}");
    let fix = text(step(&out, "role"), "fix");
    let trust = "{\"Action\":[\"sts:AssumeRole\",\"sts:TagSession\"],\"Effect\":\"Allow\",\
                 \"Principal\":{\"AWS\":\"arn:aws:iam::111111111111:role/doctor-pod\"}}";
    assert!(
        fix.contains(&format!("in the trust policy of {target}:\n  {trust}"))
            && fix.contains("EKS Pod Identity")
            && !fix.contains("names neither"),
        "{fix}"
    );
}
