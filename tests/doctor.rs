//! `doctor`: the path from the credentials to the Kubernetes user, against moto (and
//! the fault server for AccessDenied, the verifying API server for the cluster's own
//! answer): each step, the aws-auth mapping as aws-iam-authenticator computes it, and
//! what to do when a step fails.

use serde_json::Value;

use crate::common::fault::{FaultServer, Reply};
use crate::common::*;

/// Environment keys against moto; the roles assumed with them are in 222222222222.
/// EKS's API is not reachable here (tests/doctor_access.rs has the EKS stand-in): one
/// attempt, so its step does not wait on retries.
fn keys_env() -> TestEnv {
    let mut env = TestEnv::new();
    env.static_creds("AKIADOCTOR0000000001", "doctor/secret")
        .set("AWS_ENDPOINT_URL_STS", &moto().url)
        .set("AWS_REGION", "us-east-1")
        .set("AWS_MAX_ATTEMPTS", "1");
    env
}

fn write(env: &TestEnv, name: &str, text: &str) -> String {
    let path = env.home.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// `doctor -o json` for `role` with `aws_auth` (the ConfigMap's data) and `extra`
/// arguments: the exit code and the document.
fn doctor(env: &TestEnv, role: &str, aws_auth: &str, extra: &[&str]) -> (i32, Value) {
    let file = write(env, "aws-auth.yaml", aws_auth);
    let mut args = vec![
        "doctor",
        "--cluster-name",
        "dev",
        "--role-arn",
        role,
        "--aws-auth",
        &file,
        "-o",
        "json",
    ];
    args.extend(extra);
    let r = env.run(&args);
    assert!(r.stderr.is_empty() || r.code != 0, "{}", r.stderr);
    let doc: Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|_| panic!("not JSON: {} / {}", r.stdout, r.stderr));
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

#[test]
fn map_roles_templates_and_case_give_the_user() {
    let env = keys_env();
    let role = "arn:aws:iam::222222222222:role/doctor-Dev";
    let config = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: aws-auth
  namespace: kube-system
data:
  mapRoles: |
    - rolearn: ARN:AWS:IAM::222222222222:ROLE/DOCTOR-DEV
      username: 'dev:{{SessionName}}:{{SessionNameRaw}}'
      groups:
      - system:masters
      - 'acct-{{AccountID}}'
      - 'key-{{AccessKeyID}}'
";
    let (code, doc) = doctor(&env, role, config, &["--session-name", "alice@example.com"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["ok"], true);
    let names: Vec<&str> = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "credentials",
            "role",
            "token",
            "identity",
            "eks",
            "aws-auth"
        ]
    );
    // EKS's API is not reachable: said, and aws-auth assumed to decide.
    assert_eq!(step(&doc, "eks")["ok"], true, "{doc}");
    assert!(step(&doc, "aws-auth")["detail"]
        .as_str()
        .unwrap()
        .ends_with("; assuming the cluster reads aws-auth (its authentication mode is not known)"));
    let user = &doc["kubernetes"];
    assert_eq!(
        user["username"], "dev:alice-example.com:alice@example.com",
        "{doc}"
    );
    let groups: Vec<&str> = user["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap())
        .collect();
    assert_eq!(groups[..2], ["system:masters", "acct-222222222222"]);
    // The access key id of the token: moto's session key for the role.
    assert!(groups[2].starts_with("key-ASIA"), "{groups:?}");
    assert!(step(&doc, "identity")["detail"]
        .as_str()
        .unwrap()
        .contains("canonical arn:aws:iam::222222222222:role/doctor-Dev"));
}

#[test]
fn map_users_then_map_accounts() {
    let env = keys_env();
    let role = "arn:aws:iam::222222222222:role/doctor-users";
    // A role's ARN in mapUsers matches too (roles are tried first, then users).
    let config = "\
mapUsers: |
  - userarn: arn:aws:iam::222222222222:role/doctor-users
    username: from-map-users
    groups: [viewers]
";
    let (code, doc) = doctor(&env, role, config, &[]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["kubernetes"]["username"], "from-map-users");
    assert!(step(&doc, "aws-auth")["detail"]
        .as_str()
        .unwrap()
        .starts_with("mapUsers"));
    // Only the account: the canonical ARN is the username, no groups.
    let config = "mapAccounts: |\n  - \"222222222222\"\n";
    let (code, doc) = doctor(&env, role, config, &[]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(
        doc["kubernetes"]["username"],
        "arn:aws:iam::222222222222:role/doctor-users"
    );
    assert_eq!(doc["kubernetes"]["groups"], serde_json::json!([]));
}

#[test]
fn no_match_and_a_role_with_a_path_say_what_to_write() {
    let env = keys_env();
    let role = "arn:aws:iam::222222222222:role/doctor-x";
    let config = "\
mapRoles: |
  - rolearn: arn:aws:iam::222222222222:role/team/doctor-x
    username: x
    groups: [system:masters]
";
    let (code, doc) = doctor(&env, role, config, &[]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(doc["ok"], false);
    assert!(doc.get("kubernetes").is_none(), "{doc}");
    let s = step(&doc, "aws-auth");
    assert_eq!(s["ok"], false);
    assert!(s["detail"].as_str().unwrap().contains("401"), "{s}");
    let fix = s["fix"].as_str().unwrap();
    assert!(
        fix.contains("- rolearn: arn:aws:iam::222222222222:role/doctor-x"),
        "{fix}"
    );
    assert!(
        fix.contains("arn:aws:iam::222222222222:role/team/doctor-x has a path"),
        "{fix}"
    );
    // The text form: one line per step, marked.
    let file = write(&env, "aws-auth.yaml", config);
    let r = env.run(&[
        "doctor",
        "--cluster-name",
        "dev",
        "--role-arn",
        role,
        "--aws-auth",
        &file,
    ]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.starts_with("✓ credentials"), "{}", r.stdout);
    assert!(r.stdout.contains("✗ aws-auth"), "{}", r.stdout);
}

fn caller_identity(arn: &str, user_id: &str, account: &str) -> Reply {
    Reply::xml(
        200,
        format!(
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
             <GetCallerIdentityResult><Arn>{arn}</Arn><UserId>{user_id}</UserId>\
             <Account>{account}</Account></GetCallerIdentityResult>\
             <ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>\
             </GetCallerIdentityResponse>"
        ),
    )
}

#[test]
fn access_denied_on_the_second_hop_names_both_roles_and_both_statements() {
    let irsa = "arn:aws:iam::111111111111:role/doctor-irsa";
    let dev = "arn:aws:iam::222222222222:role/doctor-dev";
    let denied = || {
        Reply::sts_error(
            403,
            "AccessDenied",
            "User: arn:aws:sts::111111111111:assumed-role/doctor-irsa/eks-token is not \
             authorized to perform: sts:AssumeRole on resource: \
             arn:aws:iam::222222222222:role/doctor-dev",
        )
    };
    let irsa_ok = || {
        Reply::assumed(
            "AssumeRoleWithWebIdentity",
            "ASIADOCTORIRSA000001",
            "doctor/irsa/secret",
            "doctor-irsa-session",
            &in_an_hour(),
        )
    };
    let sts = FaultServer::start(
        vec![irsa_ok(), denied()],
        caller_identity(
            "arn:aws:sts::111111111111:assumed-role/doctor-irsa/eks-token",
            "AROADOCTORIRSA:eks-token",
            "111111111111",
        ),
    );
    let mut env = TestEnv::new();
    env.irsa(irsa, &web_identity_token("doctor"));
    env.set("AWS_ENDPOINT_URL_STS", &sts.url)
        .set("AWS_REGION", "us-east-1");
    let r = env.run(&[
        "doctor",
        "--cluster-name",
        "dev",
        "--role-arn",
        dev,
        "-o",
        "json",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(step(&doc, "credentials")["ok"], true, "{doc}");
    let s = step(&doc, "role");
    assert_eq!(s["ok"], false, "{doc}");
    let fix = s["fix"].as_str().unwrap();
    let trust = format!(
        "{{\"Action\":\"sts:AssumeRole\",\"Effect\":\"Allow\",\"Principal\":{{\"AWS\":\"{irsa}\"}}}}"
    );
    let permission =
        format!("{{\"Action\":\"sts:AssumeRole\",\"Effect\":\"Allow\",\"Resource\":\"{dev}\"}}");
    assert!(
        fix.contains(&format!("in the trust policy of {dev}:\n  {trust}")),
        "{fix}"
    );
    assert!(
        fix.contains(&format!("in a policy of {irsa}:\n  {permission}")),
        "{fix}"
    );
    for secret in ["doctor/irsa/secret", "doctor-irsa-session"] {
        assert!(!r.stdout.contains(secret) && !r.stderr.contains(secret));
    }
    // Every command's AccessDenied carries the one-line hint naming both roles.
    sts.set(vec![irsa_ok(), denied()], Reply::Reset);
    let r = env.run(&[
        "get-token",
        "--cluster-name",
        "dev",
        "--role-arn",
        dev,
        "--no-cache",
    ]);
    assert_failed(&r, 1, &["doctor/irsa/secret"]);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("the trust policy of {dev}"))
            && r.stderr.contains(&format!("{{\"AWS\": \"{irsa}\"}}"))
            && r.stderr.contains(&format!("sts:AssumeRole on {dev}")),
        "{}",
        r.stderr
    );
}

/// A kubeconfig for the verifying server whose user runs eks-token with `role`.
fn kubeconfig_for(env: &TestEnv, v: &Verifier, role: &str) -> std::path::PathBuf {
    let path = env.home.join("kubeconfig");
    let doc = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "dev", "cluster": {
            "server": v.url,
            "certificate-authority": v.ca.display().to_string(),
        }}],
        "users": [{"name": "dev", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": bin().display().to_string(),
            "args": ["get-token", "--cluster-name", "dev", "--role-arn", role],
            "interactiveMode": "Never",
        }}}],
        "contexts": [{"name": "dev", "context": {"cluster": "dev", "user": "dev"}}],
        "current-context": "dev",
    });
    std::fs::write(&path, doc.to_string()).unwrap();
    path
}

#[test]
fn the_clusters_answer_is_the_aws_auth_prediction_and_kubectl_agrees() {
    let env = keys_env();
    let role = "arn:aws:iam::222222222222:role/doctor-cluster";
    let config = "\
mapRoles: |
  - rolearn: arn:aws:iam::222222222222:role/doctor-cluster
    username: 'cluster:{{SessionName}}'
    groups: [system:masters, 'team-{{AccountID}}']
";
    let aws_auth = env.home.join("aws-auth.yaml");
    std::fs::write(&aws_auth, config).unwrap();
    let v = Verifier::start_mapping("dev", &moto().url, Some(&aws_auth));
    let kubeconfig = kubeconfig_for(&env, &v, role);
    let k = kubeconfig.to_str().unwrap();
    let (code, doc) = doctor(&env, role, config, &["--kubeconfig", k]);
    assert_eq!(code, 0, "{doc}");
    let predicted = step(&doc, "aws-auth")["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        predicted.contains(
            "username cluster:EKSGetTokenAuth, groups [system:masters, team-222222222222]"
        ),
        "{predicted}"
    );
    let cluster = step(&doc, "cluster")["detail"].as_str().unwrap();
    assert_eq!(
        cluster,
        "the cluster says: username cluster:EKSGetTokenAuth, groups [system:masters, team-222222222222]"
    );
    assert_eq!(doc["kubernetes"]["username"], "cluster:EKSGetTokenAuth");
    // kubectl auth whoami, running eks-token as its exec plugin, sees the same user.
    let (code, out, err) = kubectl(&env, &kubeconfig, &["auth", "whoami", "-o", "json"]);
    assert_eq!(code, 0, "{err}");
    let whoami: Value = serde_json::from_str(&out).unwrap();
    let info = &whoami["status"]["userInfo"];
    assert_eq!(info["username"], "cluster:EKSGetTokenAuth", "{whoami}");
    assert_eq!(
        info["groups"],
        serde_json::json!([
            "system:masters",
            "team-222222222222",
            "system:authenticated"
        ])
    );
    // Another role, which the cluster's aws-auth does not map: 401, explained.
    let other = "arn:aws:iam::222222222222:role/doctor-unmapped";
    let (code, doc) = doctor(&env, other, "mapAccounts: ''\n", &["--kubeconfig", k]);
    assert_eq!(code, 1, "{doc}");
    let s = step(&doc, "cluster");
    assert_eq!(s["ok"], false);
    assert!(
        s["detail"].as_str().unwrap().contains("401 Unauthorized"),
        "{s}"
    );
    assert!(
        s["fix"]
            .as_str()
            .unwrap()
            .contains("arn:aws:iam::222222222222:role/doctor-unmapped is mapped to no user"),
        "{s}"
    );
    let (code, _, err) = kubectl(&env, &kubeconfig_for(&env, &v, other), &["auth", "whoami"]);
    assert_ne!(code, 0);
    assert!(err.contains("Unauthorized"), "{err}");
}

/// The verifying server's own mapping (Python, written apart from eks-token's) gives
/// every case of `tests/data/aws-auth/cases.json` its expected user; eks-token's gives
/// the same (the binary's unit test `the_aws_auth_cases_map_as_aws_iam_authenticator_does`).
#[test]
fn the_verifying_servers_mapping_passes_the_same_cases() {
    let out = std::process::Command::new("python3")
        .arg(support("eks_verifier.py"))
        .args(["selftest", "--cases"])
        .arg(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/aws-auth/cases.json"),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The context's user makes tokens for another cluster than doctor was asked about:
/// doctor says so and checks what kubectl would send (a token for that cluster, which
/// the server refuses), never its own token to that server.
#[test]
fn a_context_whose_user_makes_other_tokens_is_checked_as_kubectl_would_send() {
    let env = keys_env();
    let role = "arn:aws:iam::222222222222:role/doctor-context";
    let v = Verifier::start_mapping("dev", &moto().url, None);
    let path = env.home.join("other-kubeconfig");
    let doc = std::fs::read_to_string(kubeconfig_for(&env, &v, role))
        .unwrap()
        .replace("\"--cluster-name\",\"dev\"", "\"--cluster-name\",\"prod\"");
    std::fs::write(&path, doc).unwrap();
    let (code, doc) = doctor(
        &env,
        role,
        "mapAccounts: ''\n",
        &["--kubeconfig", path.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{doc}");
    let k = step(&doc, "kubeconfig")["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        k.contains("cluster \"prod\" (doctor's: \"dev\")") && k.contains("what kubectl would send"),
        "{k}"
    );
    let s = step(&doc, "cluster");
    assert!(s["detail"].as_str().unwrap().contains("401"), "{s}");
    // What reached the server: one token, for prod (refused by its signature), not the
    // token doctor made for dev.
    let verdicts = v.verdicts();
    assert_eq!(verdicts.len(), 1, "{verdicts:?}");
    assert_eq!(verdicts[0]["ok"], false, "{verdicts:?}");
}

#[test]
fn a_node_roles_entry_refuses_a_session_that_is_not_an_instance() {
    let env = keys_env();
    let role = "arn:aws:iam::222222222222:role/doctor-node";
    let config = "\
mapRoles: |
  - rolearn: arn:aws:iam::222222222222:role/doctor-node
    username: system:node:{{EC2PrivateDNSName}}
    groups: [system:nodes]
";
    let (code, doc) = doctor(&env, role, config, &[]);
    assert_eq!(code, 1, "{doc}");
    assert!(step(&doc, "aws-auth")["detail"]
        .as_str()
        .unwrap()
        .contains("is not an instance id"));
    // As the node's own session (an instance id), only the server can render it.
    let (code, doc) = doctor(
        &env,
        role,
        config,
        &["--session-name", "i-0123456789abcdef0"],
    );
    assert_eq!(code, 0, "{doc}");
}

#[test]
fn a_large_aws_auth_is_read_within_the_deadline() {
    let env = keys_env();
    let role = "arn:aws:iam::222222222222:role/doctor-large";
    let mut config = String::from("mapRoles: |\n");
    for i in 0..20_000 {
        config.push_str(&format!(
            "  - rolearn: arn:aws:iam::222222222222:role/team-{i}\n    username: u{i}\n"
        ));
    }
    config
        .push_str("  - rolearn: arn:aws:iam::222222222222:role/doctor-large\n    username: last\n");
    let started = std::time::Instant::now();
    let (code, doc) = doctor(&env, role, &config, &["--timeout", "20"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["kubernetes"]["username"], "last");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn an_sts_endpoint_from_the_profile_is_the_tokens_host_too() {
    // The stand-in named only by the profile's `endpoint_url` (as with the environment's
    // override, the token's host is the one STS endpoint the configuration names).
    let mut env = TestEnv::new();
    write_aws_files(
        &mut env,
        &format!(
            "[default]\nregion = us-east-1\nendpoint_url = {}\n",
            moto().url
        ),
        "",
    );
    env.static_creds("AKIADOCTOR0000000002", "doctor/secret");
    let role = "arn:aws:iam::222222222222:role/doctor-profile-endpoint";
    let config = format!("mapRoles: |\n  - rolearn: {role}\n    username: via-profile\n");
    let (code, doc) = doctor(&env, role, &config, &[]);
    // The profile's endpoint is EKS's too: moto's, which has no cluster dev.
    assert_eq!(code, 1, "{doc}");
    assert!(step(&doc, "eks")["detail"]
        .as_str()
        .unwrap()
        .contains("no cluster dev in us-east-1, the region asked"));
    let token = step(&doc, "token");
    assert_eq!(token["ok"], true, "{doc}");
    assert!(
        token["detail"].as_str().unwrap().contains(&format!(
            "from {}",
            moto().url.trim_start_matches("http://")
        )),
        "{doc}"
    );
    assert_eq!(doc["kubernetes"]["username"], "via-profile");
}

/// A kubeconfig for the verifying server whose user runs eks-token with `args` and
/// `env` (its exec entry's environment).
fn kubeconfig_running(env: &TestEnv, v: &Verifier, args: &[&str], vars: &[(&str, &str)]) -> String {
    let path = env.home.join("user-kubeconfig");
    let vars: Vec<Value> = vars
        .iter()
        .map(|(k, v)| serde_json::json!({"name": k, "value": v}))
        .collect();
    let doc = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "dev", "cluster": {
            "server": v.url,
            "certificate-authority": v.ca.display().to_string(),
        }}],
        "users": [{"name": "dev", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": bin().display().to_string(),
            "args": args,
            "env": vars,
            "interactiveMode": "Never",
        }}}],
        "contexts": [{"name": "dev", "context": {"cluster": "dev", "user": "dev"}}],
        "current-context": "dev",
    });
    std::fs::write(&path, doc.to_string()).unwrap();
    path.display().to_string()
}

/// The kubeconfig's user makes tokens as another identity than doctor's flags say
/// (no role where doctor has one; another profile, named in its exec entry's `env`):
/// the `kubeconfig` step names the difference, and the cluster receives only a token
/// made as that user, never doctor's.
#[test]
fn the_cluster_gets_the_token_of_the_kubeconfigs_user_never_doctors() {
    let doctors_role = "arn:aws:iam::222222222222:role/doctor-flags";
    // Its user runs eks-token without a role: the environment's keys sign.
    let env = keys_env();
    let v = Verifier::builder("dev", &moto().url)
        .static_keys(&[("AKIADOCTOR0000000001", "doctor/secret")])
        .start();
    let k = kubeconfig_running(&env, &v, &["get-token", "--cluster-name", "dev"], &[]);
    let (_, doc) = doctor(
        &env,
        doctors_role,
        "mapAccounts: ''\n",
        &["--kubeconfig", &k],
    );
    let verdicts = v.verdicts();
    assert!(!verdicts.is_empty(), "the cluster was not asked: {doc}");
    for verdict in &verdicts {
        assert_eq!(
            verdict["access_key_id"], "AKIADOCTOR0000000001",
            "a token not of the kubeconfig's user reached the cluster: {verdict}"
        );
    }
    let detail = step(&doc, "kubeconfig")["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        detail.contains(&format!("no role (doctor's: roles [{doctors_role}])"))
            && detail.contains("what kubectl would send is checked"),
        "{doc}"
    );

    // Its user's exec sets AWS_PROFILE to a profile with a role of its own.
    let mut env = TestEnv::new();
    let users_role = "arn:aws:iam::222222222222:role/doctor-users-profile";
    write_aws_files(
        &mut env,
        &format!(
            "[default]\nregion = us-east-1\n[profile other]\nrole_arn = {users_role}\n\
             source_profile = default\nregion = us-east-1\n"
        ),
        "[default]\naws_access_key_id = AKIADOCTORPROFILE001\naws_secret_access_key = s\n",
    );
    env.set("AWS_ENDPOINT_URL_STS", &moto().url);
    let v = Verifier::start("dev", &moto().url);
    let k = kubeconfig_running(
        &env,
        &v,
        &["get-token", "--cluster-name", "dev"],
        &[("AWS_PROFILE", "other")],
    );
    let (_, doc) = doctor(
        &env,
        doctors_role,
        "mapAccounts: ''\n",
        &["--kubeconfig", &k],
    );
    let verdicts = v.verdicts();
    assert!(!verdicts.is_empty(), "the cluster was not asked: {doc}");
    for verdict in &verdicts {
        // A session of the profile's role, not of doctor's.
        let arn = verdict["arn"].as_str().unwrap_or_default();
        assert!(
            verdict["ok"] == true
                && arn.starts_with("arn:aws:sts::222222222222:assumed-role/doctor-users-profile/"),
            "a token not of the kubeconfig's user reached the cluster: {verdict}"
        );
    }
    let detail = step(&doc, "kubeconfig")["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        detail.contains("AWS_PROFILE=other in its environment"),
        "{doc}"
    );
}
