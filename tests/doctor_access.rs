//! `doctor` against the EKS stand-in's control plane (tests/support/eks_control_plane.py):
//! the cluster's authentication mode and access entries read with the chain's identity,
//! EKS's precedence per mode, the user predicted compared with the stand-in's own
//! SelfSubjectReview, AccessDenied on each read; the clock, the kubeconfig's exec entry,
//! and the causes doctor names (the seed's files, another cluster's CA or server, a
//! cluster in another region, sts:TagSession after EKS Pod Identity).

use serde_json::{json, Value};

use crate::common::fault::{FaultServer, Reply, SkewedFront};
use crate::common::*;

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

#[test]
fn api_mode_maps_by_the_entry_its_template_groups_and_scoped_policies() {
    let deployer = role("doctor-deployer");
    let v = stand_in(
        plane(
            "API",
            json!([{"principalArn": deployer, "username": "deployer:{{SessionName}}",
                "kubernetesGroups": ["deployers", "acct-{{AccountID}}"],
                "accessPolicies": [
                    {"policyArn": EDIT, "accessScope": {"type": "namespace", "namespaces": ["dev-*", "test"]}},
                    {"policyArn": VIEW, "accessScope": {"type": "cluster"}}]}]),
        ),
        None,
    );
    let env = env_for(&v);
    let flags = [
        "--role-arn",
        &deployer,
        "--session-name",
        "alice@example.com",
    ];
    let k = kubeconfig(
        &env,
        &v,
        &[&["get-token", "--cluster-name", "dev"][..], &flags].concat(),
    );
    // An aws-auth that maps the role otherwise: in mode API, not read.
    let aws_auth = write(
        &env,
        "aws-auth.yaml",
        &format!("mapRoles: |\n  - rolearn: {deployer}\n    username: from-aws-auth\n"),
    );
    let (code, doc) = doctor(
        &env,
        &[&flags[..], &["--kubeconfig", &k, "--aws-auth", &aws_auth]].concat(),
    );
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["authenticationMode"], "API");
    assert_eq!(
        names(&doc),
        [
            "credentials",
            "role",
            "token",
            "identity",
            "eks",
            "access-entry",
            "aws-auth",
            "kubeconfig",
            "cluster"
        ]
    );
    assert_eq!(
        doc["kubernetes"],
        json!({"username": "deployer:alice-example.com",
               "groups": ["deployers", "acct-222222222222"],
               "from": "access-entry",
               "policies": [
                   {"policyArn": EDIT, "accessScope": {"type": "namespace", "namespaces": ["dev-*", "test"]}},
                   {"policyArn": VIEW, "accessScope": {"type": "cluster", "namespaces": []}}]}),
        "{doc}"
    );
    assert!(text(step(&doc, "eks"), "detail").contains("authentication mode API"));
    let entry = text(step(&doc, "access-entry"), "detail");
    assert!(
        entry.contains(&format!("access entry {deployer} maps {deployer}"))
            && entry.contains(
                "policies AmazonEKSEditPolicy (namespaces dev-*, test), AmazonEKSViewPolicy (cluster)"
            ),
        "{entry}"
    );
    assert!(
        text(step(&doc, "aws-auth"), "detail").contains("mode is API: EKS does not read it"),
        "{doc}"
    );
    // The prediction is what the stand-in itself answers (SelfSubjectReview), and what
    // kubectl is told, running the same exec entry.
    assert_eq!(
        text(step(&doc, "cluster"), "detail"),
        "the cluster says: username deployer:alice-example.com, groups [deployers, acct-222222222222]"
    );
    let (code, out, err) = kubectl(
        &env,
        std::path::Path::new(&k),
        &["auth", "whoami", "-o", "json"],
    );
    assert_eq!(code, 0, "{err}");
    let who: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        who["status"]["userInfo"]["username"],
        "deployer:alice-example.com"
    );
    // Read with the chain's identity: the calls the stand-in saw, in order.
    assert_eq!(
        calls_since(&v, 0),
        [
            "DescribeCluster ok",
            "DescribeAccessEntry ok",
            "ListAssociatedAccessPolicies ok"
        ]
    );
    let caller = &v.control_plane_calls()[0]["caller"];
    assert_eq!(
        caller,
        "arn:aws:sts::222222222222:assumed-role/doctor-deployer/alice@example.com"
    );
    // The text form: one line per step.
    let r = env.run(&["doctor", "--cluster-name", "dev", "--role-arn", &deployer]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout.contains("✓ access-entry access entry"),
        "{}",
        r.stdout
    );
}

#[test]
fn api_mode_does_not_read_an_aws_auth_that_would_map() {
    let unmapped = role("doctor-cm-only");
    let dir = TempDir::new("aws-auth");
    let file = dir.join("aws-auth.yaml");
    std::fs::write(
        &file,
        format!("mapRoles: |\n  - rolearn: {unmapped}\n    username: cm-user\n"),
    )
    .unwrap();
    let v = stand_in(
        plane("API", json!([{"principalArn": role("someone-else")}])),
        Some(&file),
    );
    let env = env_for(&v);
    let k = kubeconfig(
        &env,
        &v,
        &[
            "get-token",
            "--cluster-name",
            "dev",
            "--role-arn",
            &unmapped,
        ],
    );
    let aws_auth = file.display().to_string();
    let (code, doc) = doctor(
        &env,
        &[
            "--role-arn",
            &unmapped,
            "--aws-auth",
            &aws_auth,
            "--kubeconfig",
            &k,
        ],
    );
    assert_eq!(code, 1, "{doc}");
    assert!(doc.get("kubernetes").is_none(), "{doc}");
    let s = step(&doc, "access-entry");
    assert_eq!(s["ok"], false);
    assert!(
        text(s, "detail").contains(&format!(
            "no access entry for {unmapped} (mode API: aws-auth is not read)"
        )),
        "{s}"
    );
    assert!(
        text(s, "fix").contains(&format!(
            "aws eks create-access-entry --cluster-name dev --principal-arn {unmapped}"
        )),
        "{s}"
    );
    assert_eq!(step(&doc, "aws-auth")["ok"], true);
    // The stand-in agrees: 401.
    assert!(
        text(step(&doc, "cluster"), "detail").contains("401"),
        "{doc}"
    );
}

#[test]
fn api_and_config_map_the_entry_wins_else_aws_auth_and_config_map_reads_aws_auth() {
    let both = role("doctor-both");
    let cm_only = role("doctor-cm-too");
    let dir = TempDir::new("aws-auth");
    let file = dir.join("aws-auth.yaml");
    let config = format!(
        "mapRoles: |\n  - rolearn: {both}\n    username: cm-both\n  - rolearn: {cm_only}\n    \
         username: 'cm-only:{{{{SessionName}}}}'\n    groups: [cm-group]\n"
    );
    std::fs::write(&file, &config).unwrap();
    let mut doc = plane(
        "API_AND_CONFIG_MAP",
        json!([{"principalArn": both, "username": "entry:{{SessionName}}",
                "kubernetesGroups": ["entry-group"]},
               {"principalArn": role("doctor-nodes"), "type": "EC2_LINUX"}]),
    );
    let v = stand_in(doc.clone(), Some(&file));
    let env = env_for(&v);
    let aws_auth = file.display().to_string();
    let run = |r: &str| {
        let k = kubeconfig(
            &env,
            &v,
            &["get-token", "--cluster-name", "dev", "--role-arn", r],
        );
        doctor(
            &env,
            &["--role-arn", r, "--aws-auth", &aws_auth, "--kubeconfig", &k],
        )
    };
    // Both map it: the entry wins, and the stand-in says the same user.
    let (code, out) = run(&both);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["authenticationMode"], "API_AND_CONFIG_MAP");
    assert_eq!(out["kubernetes"]["username"], "entry:EKSGetTokenAuth");
    assert_eq!(out["kubernetes"]["groups"], json!(["entry-group"]));
    assert_eq!(out["kubernetes"]["from"], "access-entry");
    assert!(
        text(step(&out, "aws-auth"), "detail").contains("access entry, which takes precedence"),
        "{out}"
    );
    // The entry alone: it grants nothing without a policy or a group bound by RBAC...
    // here it has a group, so no caveat.
    assert!(step(&out, "access-entry").get("fix").is_none(), "{out}");
    // aws-auth only.
    let (code, out) = run(&cm_only);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["kubernetes"]["username"], "cm-only:EKSGetTokenAuth");
    assert_eq!(out["kubernetes"]["from"], "aws-auth");
    assert_eq!(out["kubernetes"]["policies"], json!([]));
    assert!(
        text(step(&out, "access-entry"), "detail").contains("no access entry for"),
        "{out}"
    );
    assert!(
        text(step(&out, "cluster"), "detail").contains("username cm-only:EKSGetTokenAuth"),
        "{out}"
    );
    // A node entry cannot map a person: named, and aws-auth is not tried.
    let (code, out) = doctor(
        &env,
        &["--role-arn", &role("doctor-nodes"), "--aws-auth", &aws_auth],
    );
    assert_eq!(code, 1, "{out}");
    let s = step(&out, "access-entry");
    assert!(
        s["ok"] == false && text(s, "detail").contains("is of type EC2_LINUX: for nodes"),
        "{s}"
    );
    // CONFIG_MAP: access entries are not read at all; aws-auth decides.
    doc["authenticationMode"] = json!("CONFIG_MAP");
    v.set_control_plane(&doc);
    let before = v.control_plane_calls().len();
    let (code, out) = doctor(&env, &["--role-arn", &both, "--aws-auth", &aws_auth]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["authenticationMode"], "CONFIG_MAP");
    assert_eq!(out["kubernetes"]["username"], "cm-both");
    assert_eq!(out["kubernetes"]["from"], "aws-auth");
    assert!(!names(&out).contains(&"access-entry".to_owned()), "{out}");
    assert_eq!(calls_since(&v, before), ["DescribeCluster ok"]);
    // Neither --aws-auth nor --kubeconfig on a CONFIG_MAP cluster: nothing could check
    // the mapping, and doctor does not say it passed.
    let (code, out) = doctor(&env, &["--role-arn", &both]);
    assert_eq!(code, 1, "{out}");
    let s = step(&out, "mapping");
    assert!(
        s["ok"] == false && text(s, "detail").starts_with("not checked"),
        "{s}"
    );
    assert!(text(s, "fix").contains("--aws-auth FILE"), "{s}");
    assert!(out.get("kubernetes").is_none());
}

#[test]
fn a_role_with_a_path_and_an_sso_role_are_found_among_the_entries() {
    let pathed = role("team/platform/doctor-pathed");
    let sso = role(&format!(
        "aws-reserved/sso.amazonaws.com/eu-west-1/{SSO_ROLE}"
    ));
    // More entries than the stand-in's page of 2: the list is read page by page.
    let v = stand_in(
        plane(
            "API",
            json!([{"principalArn": role("a-first")}, {"principalArn": role("b-second")},
                   {"principalArn": pathed, "kubernetesGroups": ["platform"],
                    "accessPolicies": [{"policyArn": VIEW, "accessScope": {"type": "cluster"}}]},
                   {"principalArn": sso}]),
        ),
        None,
    );
    let env = env_for(&v);
    let (code, doc) = doctor(&env, &["--role-arn", &pathed]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(
        doc["kubernetes"]["username"],
        "arn:aws:sts::222222222222:assumed-role/doctor-pathed/EKSGetTokenAuth"
    );
    assert_eq!(doc["kubernetes"]["groups"], json!(["platform"]));
    assert!(
        text(step(&doc, "access-entry"), "detail").starts_with(&format!(
            "access entry {pathed} maps arn:aws:iam::222222222222:role/doctor-pathed"
        )),
        "{doc}"
    );
    assert_eq!(
        calls_since(&v, 0),
        [
            "DescribeCluster ok",
            "DescribeAccessEntry ResourceNotFoundException",
            "ListAccessEntries ok",
            "ListAccessEntries ok",
            "DescribeAccessEntry ok",
            "ListAssociatedAccessPolicies ok"
        ]
    );
    // An IAM Identity Center role: the default username without the path. No policy and
    // no group: it authenticates but is allowed nothing by the entry.
    let before = v.control_plane_calls().len();
    let (code, doc) = doctor(
        &env,
        &["--role-arn", &sso, "--session-name", "alice@example.com"],
    );
    assert_eq!(code, 0, "{doc}");
    assert_eq!(
        doc["kubernetes"]["username"],
        format!("arn:aws:sts::222222222222:assumed-role/{SSO_ROLE}/alice-example.com")
    );
    assert!(
        text(step(&doc, "access-entry"), "fix").contains("the entry grants nothing by itself"),
        "{doc}"
    );
    assert!(calls_since(&v, before).contains(&"ListAccessEntries ok".to_owned()));
    // The stand-in maps the session the same way.
    let (_, doc) = doctor(
        &env,
        &[
            "--role-arn",
            &sso,
            "--session-name",
            "alice@example.com",
            "--kubeconfig",
            &kubeconfig(
                &env,
                &v,
                &[
                    "get-token",
                    "--cluster-name",
                    "dev",
                    "--role-arn",
                    &sso,
                    "--session-name",
                    "alice@example.com",
                ],
            ),
        ],
    );
    assert_eq!(step(&doc, "cluster")["ok"], true, "{doc}");
}

#[test]
fn access_denied_on_each_read_names_the_action_and_doctor_goes_on() {
    let pathed = role("team/doctor-denied");
    let entries = json!([{"principalArn": pathed, "username": "denied:{{SessionName}}",
        "accessPolicies": [{"policyArn": VIEW, "accessScope": {"type": "cluster"}}]}]);
    let mut doc = plane("API_AND_CONFIG_MAP", entries);
    let v = stand_in(doc.clone(), None);
    let env = env_for(&v);
    let aws_auth = write(
        &env,
        "aws-auth.yaml",
        "mapRoles: |\n  - rolearn: arn:aws:iam::222222222222:role/doctor-denied\n    username: from-cm\n",
    );
    for (action, step_name) in [
        ("DescribeCluster", "eks"),
        ("DescribeAccessEntry", "access-entry"),
        ("ListAccessEntries", "access-entry"),
        ("ListAssociatedAccessPolicies", "access-entry"),
    ] {
        doc["deny"] = json!({format!("eks:{action}"): ["*"]});
        v.set_control_plane(&doc);
        let (code, out) = doctor(&env, &["--role-arn", &pathed]);
        let s = step(&out, step_name);
        assert_eq!(s["ok"], true, "{action}: {s}");
        let said = if action == "ListAssociatedAccessPolicies" {
            "its access policies not read"
        } else {
            "AccessDeniedException"
        };
        assert!(text(s, "detail").contains(said), "{action}: {s}");
        let fix = text(s, "fix");
        assert!(
            fix.starts_with(&format!(
                "eks:{action} is not allowed to arn:aws:iam::222222222222:role/doctor-denied"
            )) && fix.contains(&format!("\"Action\":\"eks:{action}\""))
                && fix.contains("doctor goes on"),
            "{action}: {fix}"
        );
        if action == "ListAssociatedAccessPolicies" {
            // The entry maps it; only its policies are not known.
            assert_eq!(code, 0, "{out}");
            assert_eq!(out["kubernetes"]["username"], "denied:EKSGetTokenAuth");
            continue;
        }
        // Nothing else was given: what could not be checked is said, exit 1.
        assert_eq!(code, 1, "{action}: {out}");
        assert_eq!(step(&out, "mapping")["ok"], false, "{out}");
        // With an aws-auth, doctor goes on with it, saying what it assumed.
        let (code, out) = doctor(&env, &["--role-arn", &pathed, "--aws-auth", &aws_auth]);
        assert_eq!(code, 0, "{action}: {out}");
        assert_eq!(out["kubernetes"]["username"], "from-cm");
        assert!(
            text(step(&out, "aws-auth"), "detail").contains("; assuming "),
            "{action}: {out}"
        );
        let mode = if action == "DescribeCluster" {
            Value::Null
        } else {
            json!("API_AND_CONFIG_MAP")
        };
        assert_eq!(out["authenticationMode"], mode, "{action}");
    }
}

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
