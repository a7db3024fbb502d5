//! The EKS stand-in as EKS's control plane (tests/support/eks_control_plane.py), so that
//! the tests built on it can trust it: its API answered to botocore's own `eks` client
//! signing with credentials moto's AssumeRole gave, and the Kubernetes user kubectl is
//! given per authentication mode, with tokens from the binary under test.

use base64::Engine;
use serde_json::{json, Value};

use crate::common::eks_stand_in::{eks_api, ApiCaller};
use crate::common::*;

const CLUSTER_ARN: &str = "arn:aws:eks:us-east-1:222222222222:cluster/dev";
const EDIT: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy";
const VIEW: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
const ADMIN: &str = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy";
const SSO_ROLE: &str = "AWSReservedSSO_EksApiAdmin_0123456789abcdef";

/// A role of the cluster's account 222222222222: `name` may carry a path.
fn role(name: &str) -> String {
    format!("arn:aws:iam::222222222222:role/{name}")
}

fn sso_role() -> String {
    role(&format!(
        "aws-reserved/sso.amazonaws.com/eu-west-1/{SSO_ROLE}"
    ))
}

fn plane(mode: &str, entries: Value) -> Value {
    json!({"name": "dev", "arn": CLUSTER_ARN, "region": "us-east-1",
           "authenticationMode": mode, "accessEntries": entries})
}

fn stand_in(doc: Value) -> Verifier {
    Verifier::builder("dev", &moto().url)
        .control_plane(doc)
        .start()
}

/// The result of call `i` of an `eks_api` answer.
fn result(out: &Value, i: usize) -> &Value {
    &out["results"][i]
}

fn assert_error(r: &Value, status: u16, code: &str, message: &str) {
    assert_eq!(r["status"], status, "{r}");
    assert_eq!(r["code"], code, "{r}");
    assert_eq!(r["message"], message, "{r}");
}

/// A token for cluster `dev` from the binary under test: keys moto does not check, then
/// `role` assumed with moto as `session`.
fn token_as(role: &str, session: &str) -> String {
    let mut env = TestEnv::new();
    env.static_creds("AKIAEKSAPITEST000001", "eks-api/secret")
        .set("AWS_ENDPOINT_URL_STS", &moto().url)
        .set("AWS_REGION", "us-east-1");
    let r = env.run(&[
        "get-token",
        "--cluster-name",
        "dev",
        "--role-arn",
        role,
        "--session-name",
        session,
        "--output",
        "token",
        "--no-cache",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout.trim().to_owned()
}

fn assert_user(info: &Value, username: &str, groups: &[&str], source: &str, matched: &str) {
    assert_eq!(info["username"], username, "{info}");
    assert_eq!(info["groups"], json!(groups), "{info}");
    assert_eq!(
        info["extra"]["eks-token.test/source"],
        json!([source]),
        "{info}"
    );
    assert_eq!(
        info["extra"]["eks-token.test/matched"],
        json!([matched]),
        "{info}"
    );
}

fn assert_unauthorized(v: &Verifier, token: &str, why: &str) {
    let err = v.whoami(token).expect_err("kubectl must be refused");
    assert!(err.contains("Unauthorized"), "{err}");
    let last = v.verdicts().pop().unwrap();
    let error = last["mapping_error"].as_str().unwrap_or_default();
    assert!(error.contains(why), "{last}");
}

#[test]
fn describe_cluster_gives_this_servers_endpoint_and_ca_and_kubectl_uses_them() {
    let caller = role("eks-api-describe");
    let v = stand_in(plane(
        "API_AND_CONFIG_MAP",
        json!([{"principalArn": caller, "username": "describer:{{SessionName}}"}]),
    ));
    let out = eks_api(
        &v,
        &ApiCaller::role(&caller),
        &json!([
            {"op": "describe_cluster", "args": {"name": "dev"}},
            {"op": "describe_cluster", "args": {"name": "prod"}},
        ]),
    );
    let c = &result(&out, 0)["response"]["cluster"];
    assert_eq!(result(&out, 0)["status"], 200, "{out}");
    assert_eq!(c["name"], "dev");
    assert_eq!(c["arn"], CLUSTER_ARN);
    assert_eq!(c["status"], "ACTIVE");
    assert_eq!(c["endpoint"], v.url);
    assert_eq!(
        c["accessConfig"]["authenticationMode"],
        "API_AND_CONFIG_MAP"
    );
    let ca = std::fs::read(&v.ca).unwrap();
    assert_eq!(
        c["certificateAuthority"]["data"],
        base64::engine::general_purpose::STANDARD.encode(&ca)
    );
    assert_error(
        result(&out, 1),
        404,
        "ResourceNotFoundException",
        "No cluster found for name: prod.",
    );
    // Each call is logged with the caller moto named, apart from token verdicts.
    let calls = v.control_plane_calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0]["action"], "DescribeCluster");
    assert_eq!(calls[0]["caller"], out["caller"]);
    assert_eq!(calls[0]["access_key_id"], out["access_key_id"]);
    assert_eq!(calls[0]["outcome"], "ok");
    assert_eq!(calls[1]["outcome"], "ResourceNotFoundException");
    assert!(v.verdicts().is_empty());
    // A kubeconfig made of the answer alone (server, CA data) reaches the stand-in.
    let env = TestEnv::new();
    let cfg = env.home.join("from-describe-cluster");
    let doc = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "dev", "cluster": {
            "server": c["endpoint"], "certificate-authority-data": c["certificateAuthority"]["data"]}}],
        "users": [{"name": "t", "user": {"token": token_as(&caller, "described")}}],
        "contexts": [{"name": "dev", "context": {"cluster": "dev", "user": "t"}}],
        "current-context": "dev",
    });
    std::fs::write(&cfg, doc.to_string()).unwrap();
    let (code, out, err) = kubectl(&env, &cfg, &["get", "--raw", "/eks-identity"]);
    assert_eq!(code, 0, "{err}");
    let who: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(who["username"], "describer:described", "{who}");
    assert_eq!(who["source"], "access entry");
}

#[test]
fn access_entries_are_listed_in_pages_and_described_by_percent_encoded_arns() {
    let deployer = role("team/eks-api-deployer");
    let user = "arn:aws:iam::222222222222:user/ops/alice";
    let nodes = role("eks-api-nodes");
    let entries = json!([
        {"principalArn": deployer, "username": "deployer:{{SessionName}}",
         "kubernetesGroups": ["deployers"], "tags": {"team": "platform"},
         "accessPolicies": [
            {"policyArn": EDIT, "accessScope": {"type": "namespace", "namespaces": ["dev-*"]}},
            {"policyArn": VIEW, "accessScope": {"type": "cluster"}},
            {"policyArn": ADMIN, "accessScope": {"type": "namespace", "namespaces": ["a", "b"]}}]},
        {"principalArn": sso_role()},
        {"principalArn": user},
        {"principalArn": nodes, "type": "EC2_LINUX"},
        {"principalArn": role("eks-api-plain"), "kubernetesGroups": ["viewers"],
         "accessPolicies": [{"policyArn": VIEW, "accessScope": {"type": "cluster"}}]},
    ]);
    let v = stand_in(plane("API", entries));
    let mut all = vec![
        deployer.clone(),
        sso_role(),
        user.to_owned(),
        nodes.clone(),
        role("eks-api-plain"),
    ];
    all.sort();
    let entry = |p: &str| json!({"clusterName": "dev", "principalArn": p});
    let out = eks_api(
        &v,
        &ApiCaller::role(&role("eks-api-lister")),
        &json!([
            {"op": "list_access_entries", "args": {"clusterName": "dev"}},
            {"paginate": "list_access_entries", "args": {"clusterName": "dev"}},
            {"paginate": "list_access_entries",
             "args": {"clusterName": "dev", "PaginationConfig": {"PageSize": 3}}},
            {"op": "list_access_entries", "args": {"clusterName": "dev", "maxResults": 5}},
            {"op": "list_access_entries", "args": {"clusterName": "dev", "nextToken": "bm9wZQ"}},
            {"op": "list_access_entries", "args": {"clusterName": "dev", "associatedPolicyArn": VIEW}},
            {"op": "describe_access_entry", "args": entry(&deployer)},
            {"op": "describe_access_entry", "args": entry(&sso_role())},
            {"op": "describe_access_entry", "args": entry(user)},
            {"op": "describe_access_entry", "args": entry(&nodes)},
            {"op": "describe_access_entry", "args": entry(&role("eks-api-deployer"))},
            {"op": "list_associated_access_policies",
             "args": {"clusterName": "dev", "principalArn": deployer, "maxResults": 1}},
            {"paginate": "list_associated_access_policies", "args": entry(&deployer)},
        ]),
    );
    // The stand-in's own page is 2 entries: one call gives 2 and a token, the paginator
    // follows it to the end; with maxResults 3 and 5 the pages are that big.
    let first = &result(&out, 0)["response"];
    assert_eq!(first["accessEntries"], json!(all[..2]), "{out}");
    assert!(first["nextToken"].is_string(), "{first}");
    for (i, size) in [(1, 2), (2, 3)] {
        let pages = result(&out, i)["pages"].as_array().unwrap();
        assert_eq!(pages.len(), all.len().div_ceil(size), "{pages:?}");
        let listed: Vec<&Value> = pages
            .iter()
            .flat_map(|p| p["accessEntries"].as_array().unwrap())
            .collect();
        assert_eq!(json!(listed), json!(all));
        assert!(pages.last().unwrap().get("nextToken").is_none());
    }
    assert_eq!(result(&out, 3)["response"], json!({"accessEntries": all}));
    assert_eq!(result(&out, 4)["status"], 400, "{out}");
    assert_eq!(result(&out, 4)["code"], "InvalidParameterException");
    assert_eq!(
        result(&out, 5)["response"]["accessEntries"],
        json!([role("eks-api-plain"), deployer])
    );
    // Each entry by its ARN, path and all; EKS's default usernames where none is set.
    let described = |i: usize| result(&out, i)["response"]["accessEntry"].clone();
    let d = described(6);
    assert_eq!(d["principalArn"], deployer);
    assert_eq!(d["username"], "deployer:{{SessionName}}");
    assert_eq!(d["kubernetesGroups"], json!(["deployers"]));
    assert_eq!(d["type"], "STANDARD");
    assert_eq!(d["tags"], json!({"team": "platform"}));
    let arn = d["accessEntryArn"].as_str().unwrap();
    let prefix =
        "arn:aws:eks:us-east-1:222222222222:access-entry/dev/role/222222222222/eks-api-deployer/";
    assert!(arn.starts_with(prefix), "{arn}");
    assert_eq!(arn.len(), prefix.len() + 36, "a UUID ends it: {arn}");
    assert_eq!(
        described(7)["username"],
        format!("arn:aws:sts::222222222222:assumed-role/{SSO_ROLE}/{{{{SessionName}}}}")
    );
    assert_eq!(described(8)["username"], user);
    assert_eq!(
        described(9)["username"],
        "system:node:{{EC2PrivateDNSName}}"
    );
    assert_eq!(described(9)["kubernetesGroups"], json!(["system:nodes"]));
    assert_eq!(described(9)["type"], "EC2_LINUX");
    // The role without its path is another principal.
    assert_error(
        result(&out, 10),
        404,
        "ResourceNotFoundException",
        "The specified principalArn could not be found. You can view your available access \
         entries with 'list-access-entries'.",
    );
    let one = &result(&out, 11)["response"];
    assert_eq!(one["associatedAccessPolicies"].as_array().unwrap().len(), 1);
    assert!(one["nextToken"].is_string(), "{one}");
    let pages = result(&out, 12)["pages"].as_array().unwrap();
    assert_eq!(pages.len(), 2, "the stand-in's page of 2, then 1");
    let policies: Vec<Value> = pages
        .iter()
        .flat_map(|p| p["associatedAccessPolicies"].as_array().unwrap().clone())
        .collect();
    let arns: Vec<&Value> = policies.iter().map(|p| &p["policyArn"]).collect();
    assert_eq!(json!(arns), json!([ADMIN, EDIT, VIEW]));
    assert_eq!(
        policies[1]["accessScope"],
        json!({"type": "namespace", "namespaces": ["dev-*"]})
    );
    assert_eq!(
        policies[2]["accessScope"],
        json!({"type": "cluster", "namespaces": []})
    );
    assert!(pages.iter().all(|p| p["principalArn"] == deployer));
    // botocore sent the ARN as one percent-encoded path segment; the stand-in read it.
    let call = v
        .control_plane_calls()
        .into_iter()
        .find(|c| c["action"] == "DescribeAccessEntry")
        .unwrap();
    assert!(
        call["path"].as_str().unwrap().ends_with(
            "/access-entries/arn%3Aaws%3Aiam%3A%3A222222222222%3Arole%2Fteam%2Feks-api-deployer"
        ),
        "{call}"
    );
    assert_eq!(call["principalArn"], deployer);
}

#[test]
fn a_denied_action_is_refused_naming_caller_action_and_resource() {
    let auditor = role("eks-api-auditor");
    let target = role("team/eks-api-target");
    let mut doc = plane("API", json!([{"principalArn": target}]));
    doc["deny"] = json!({
        "eks:ListAccessEntries": ["*"],
        "eks:DescribeAccessEntry": ["arn:aws:sts::222222222222:assumed-role/eks-api-auditor/*"],
    });
    let v = stand_in(doc.clone());
    let calls = json!([
        {"op": "list_access_entries", "args": {"clusterName": "dev"}},
        {"op": "describe_access_entry", "args": {"clusterName": "dev", "principalArn": target}},
        {"op": "list_associated_access_policies",
         "args": {"clusterName": "dev", "principalArn": target}},
        {"op": "describe_cluster", "args": {"name": "dev"}},
    ]);
    let out = eks_api(&v, &ApiCaller::role(&auditor).session("audit"), &calls);
    let who = "arn:aws:sts::222222222222:assumed-role/eks-api-auditor/audit";
    assert_eq!(out["caller"], who);
    assert_error(
        result(&out, 0),
        403,
        "AccessDeniedException",
        &format!(
            "User: {who} is not authorized to perform: eks:ListAccessEntries on resource: \
             {CLUSTER_ARN}"
        ),
    );
    let denied = result(&out, 1);
    assert_eq!(denied["code"], "AccessDeniedException", "{denied}");
    assert!(
        denied["message"].as_str().unwrap().starts_with(&format!(
            "User: {who} is not authorized to perform: eks:DescribeAccessEntry on resource: \
             arn:aws:eks:us-east-1:222222222222:access-entry/dev/role/222222222222/eks-api-target/"
        )),
        "{denied}"
    );
    assert_eq!(result(&out, 2)["status"], 200, "{out}");
    assert_eq!(result(&out, 3)["status"], 200, "{out}");
    // Another caller is refused only the action denied to everyone.
    let out = eks_api(&v, &ApiCaller::role(&role("eks-api-reader")), &calls);
    assert_eq!(result(&out, 0)["code"], "AccessDeniedException", "{out}");
    assert_eq!(result(&out, 1)["status"], 200, "{out}");
    let logged: Vec<Value> = v.control_plane_calls();
    assert_eq!(logged[0]["outcome"], "AccessDeniedException");
    assert_eq!(logged[0]["caller"], who);
    // The file is read for every request: without the rules, nothing is refused.
    doc.as_object_mut().unwrap().remove("deny");
    v.set_control_plane(&doc);
    let out = eks_api(&v, &ApiCaller::role(&auditor), &calls);
    for i in 0..4 {
        assert_eq!(result(&out, i)["status"], 200, "{out}");
    }
}

#[test]
fn a_config_map_cluster_answers_access_entry_calls_with_invalid_request() {
    let target = role("eks-api-cm");
    let mut doc = plane("CONFIG_MAP", json!([{"principalArn": target}]));
    let v = stand_in(doc.clone());
    let calls = json!([
        {"op": "list_access_entries", "args": {"clusterName": "dev"}},
        {"op": "describe_access_entry", "args": {"clusterName": "dev", "principalArn": target}},
        {"op": "list_associated_access_policies",
         "args": {"clusterName": "dev", "principalArn": target}},
        {"op": "describe_cluster", "args": {"name": "dev"}},
    ]);
    let caller = ApiCaller::role(&role("eks-api-admin"));
    let out = eks_api(&v, &caller, &calls);
    for i in 0..3 {
        assert_error(
            result(&out, i),
            400,
            "InvalidRequestException",
            "The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] \
             to perform this operation.",
        );
    }
    assert_eq!(
        result(&out, 3)["response"]["cluster"]["accessConfig"]["authenticationMode"],
        "CONFIG_MAP"
    );
    // The mode moves forward: the same entries answer once it allows them.
    doc["authenticationMode"] = json!("API_AND_CONFIG_MAP");
    v.set_control_plane(&doc);
    let out = eks_api(&v, &caller, &calls);
    assert_eq!(
        result(&out, 0)["response"]["accessEntries"],
        json!([target])
    );
    assert_eq!(
        result(&out, 1)["response"]["accessEntry"]["principalArn"],
        target
    );
}

#[test]
fn a_bad_signature_a_wrong_scope_and_an_unknown_key_are_refused() {
    let v = Verifier::builder("dev", &moto().url)
        .control_plane(plane("API", json!([])))
        .static_keys(&[("AKIAEKSAPISTATIC0001", "static/secret")])
        .start();
    let calls = json!([{"op": "list_access_entries", "args": {"clusterName": "dev"}}]);
    let caller = || ApiCaller::role(&role("eks-api-signer"));
    let out = eks_api(&v, &caller().tampered(), &calls);
    assert_error(
        result(&out, 0),
        403,
        "InvalidSignatureException",
        "The request signature we calculated does not match the signature you provided. Check \
         your AWS Secret Access Key and signing method. Consult the service documentation for \
         details.",
    );
    let out = eks_api(&v, &caller().region("eu-west-1"), &calls);
    assert_error(
        result(&out, 0),
        403,
        "InvalidSignatureException",
        "Credential should be scoped to a valid region. ",
    );
    let unrecognized = |out: &Value| {
        let message = "The security token included in the request is invalid.";
        assert_error(result(out, 0), 403, "UnrecognizedClientException", message)
    };
    unrecognized(&eks_api(
        &v,
        &ApiCaller::keys("AKIAEKSAPINOBODY0001", "x/y"),
        &calls,
    ));
    unrecognized(&eks_api(&v, &caller().without_token(), &calls));
    // The control: the same caller, signing right, is answered.
    let out = eks_api(&v, &caller(), &calls);
    assert_eq!(result(&out, 0)["status"], 200, "{out}");
    let outcomes: Vec<Value> = v
        .control_plane_calls()
        .iter()
        .map(|c| c["outcome"].clone())
        .collect();
    assert_eq!(
        json!(outcomes),
        json!([
            "InvalidSignatureException",
            "InvalidSignatureException",
            "UnrecognizedClientException",
            "UnrecognizedClientException",
            "ok"
        ])
    );
    // Nobody is named for a request whose signature failed.
    assert!(v.control_plane_calls()[0].get("caller").is_none());
    // Long-term keys the stand-in was given verify; moto names their caller.
    let out = eks_api(
        &v,
        &ApiCaller::keys("AKIAEKSAPISTATIC0001", "static/secret"),
        &calls,
    );
    assert_eq!(result(&out, 0)["status"], 200, "{out}");
    let last = v.control_plane_calls().pop().unwrap();
    assert_eq!(last["access_key_id"], "AKIAEKSAPISTATIC0001");
    assert!(
        last["caller"].as_str().unwrap().starts_with("arn:aws:"),
        "{last}"
    );
}

#[test]
fn api_mode_maps_by_access_entry_only() {
    let deployer = role("team/eks-api-deploy");
    let cm_only = role("eks-api-cm-only");
    let aws_auth = TempDir::new("aws-auth");
    let file = aws_auth.join("aws-auth.yaml");
    std::fs::write(
        &file,
        format!("mapRoles: |\n  - rolearn: {cm_only}\n    username: cm-user\n"),
    )
    .unwrap();
    let v = Verifier::builder("dev", &moto().url)
        .aws_auth(&file)
        .control_plane(plane(
            "API",
            json!([{"principalArn": deployer, "username": "deployer:{{SessionName}}",
                    "kubernetesGroups": ["deployers"],
                    "accessPolicies": [{"policyArn": EDIT,
                        "accessScope": {"type": "namespace", "namespaces": ["dev-*"]}}]}]),
        ))
        .start();
    let info = v.whoami(&token_as(&deployer, "alice@example.com")).unwrap();
    assert_user(
        &info,
        "deployer:alice-example.com",
        &["deployers", "system:authenticated"],
        "access entry",
        &deployer,
    );
    assert_eq!(
        info["extra"]["arn"],
        json!(["arn:aws:sts::222222222222:assumed-role/eks-api-deploy/alice@example.com"])
    );
    let verdict = v.verdicts().pop().unwrap();
    assert_eq!(verdict["source"], "access entry", "{verdict}");
    assert_eq!(verdict["username"], "deployer:alice-example.com");
    // The same entry's namespace-scoped policy, as the API gives it.
    let out = eks_api(
        &v,
        &ApiCaller::role(&deployer),
        &json!([{"op": "list_associated_access_policies",
                 "args": {"clusterName": "dev", "principalArn": deployer}}]),
    );
    assert_eq!(
        result(&out, 0)["response"]["associatedAccessPolicies"][0]["accessScope"],
        json!({"type": "namespace", "namespaces": ["dev-*"]})
    );
    // aws-auth would map this role; in mode API it is not read.
    assert_unauthorized(
        &v,
        &token_as(&cm_only, "bob"),
        "authentication mode API: aws-auth is not read",
    );
}

#[test]
fn api_and_config_map_prefers_the_entry_then_reads_aws_auth() {
    let both = role("eks-api-both");
    let cm_only = role("eks-api-cm-too");
    let dir = TempDir::new("aws-auth");
    let file = dir.join("aws-auth.yaml");
    std::fs::write(
        &file,
        format!(
            "mapRoles: |\n  - rolearn: {both}\n    username: cm-both\n  - rolearn: {cm_only}\n    \
             username: 'cm-only:{{{{SessionName}}}}'\n    groups: [cm-group]\n"
        ),
    )
    .unwrap();
    let mut doc = plane(
        "API_AND_CONFIG_MAP",
        json!([{"principalArn": both, "username": "entry:{{SessionName}}"}]),
    );
    let v = Verifier::builder("dev", &moto().url)
        .aws_auth(&file)
        .control_plane(doc.clone())
        .start();
    let both_token = token_as(&both, "s1");
    assert_user(
        &v.whoami(&both_token).unwrap(),
        "entry:s1",
        &["system:authenticated"],
        "access entry",
        &both,
    );
    assert_user(
        &v.whoami(&token_as(&cm_only, "s1")).unwrap(),
        "cm-only:s1",
        &["cm-group", "system:authenticated"],
        "aws-auth",
        "mapRoles",
    );
    assert_unauthorized(
        &v,
        &token_as(&role("eks-api-nobody"), "s1"),
        "has no access entry, and in aws-auth",
    );
    // The mode is read for every token: under CONFIG_MAP the entry no longer counts.
    doc["authenticationMode"] = json!("CONFIG_MAP");
    v.set_control_plane(&doc);
    assert_user(
        &v.whoami(&both_token).unwrap(),
        "cm-both",
        &["system:authenticated"],
        "aws-auth",
        "mapRoles",
    );
}

#[test]
fn a_role_with_a_path_and_an_sso_role_get_the_default_username_without_the_path() {
    let pathed = role("team/platform/eks-api-pathed");
    let v = stand_in(plane(
        "API",
        json!([{"principalArn": pathed, "kubernetesGroups": ["platform"]},
               {"principalArn": sso_role()}]),
    ));
    assert_user(
        &v.whoami(&token_as(&pathed, "bob")).unwrap(),
        "arn:aws:sts::222222222222:assumed-role/eks-api-pathed/bob",
        &["platform", "system:authenticated"],
        "access entry",
        &pathed,
    );
    assert_user(
        &v.whoami(&token_as(&sso_role(), "alice@example.com"))
            .unwrap(),
        &format!("arn:aws:sts::222222222222:assumed-role/{SSO_ROLE}/alice-example.com"),
        &["system:authenticated"],
        "access entry",
        &sso_role(),
    );
    // The same role name without the path, in another account, is not the entry's.
    assert_unauthorized(
        &v,
        &token_as("arn:aws:iam::333333333333:role/eks-api-pathed", "bob"),
        "has no access entry",
    );
}

#[test]
fn the_stand_ins_clock_can_run_ahead_or_behind_this_machines() {
    let caller = role("eks-api-clock");
    let doc = plane("API", json!([{"principalArn": caller}]));
    let calls = json!([{"op": "describe_cluster", "args": {"name": "dev"}}]);
    let token = token_as(&caller, "clock");
    // This machine 20 minutes behind EKS: its fresh token is already too old, its API
    // request's date too.
    let ahead = Verifier::builder("dev", &moto().url)
        .control_plane(doc.clone())
        .clock_offset(1200)
        .start();
    assert!(ahead.whoami(&token).is_err());
    let verdict = ahead.verdicts().pop().unwrap();
    assert_eq!(
        verdict["errors"],
        json!(["date: X-Amz-Date is more than 15 minutes old"])
    );
    let out = eks_api(&ahead, &ApiCaller::role(&caller), &calls);
    assert_eq!(
        result(&out, 0)["code"],
        "InvalidSignatureException",
        "{out}"
    );
    assert!(result(&out, 0)["message"]
        .as_str()
        .unwrap()
        .starts_with("Signature expired: "));
    // 20 minutes ahead: the token is from the future.
    let behind = Verifier::builder("dev", &moto().url)
        .control_plane(doc)
        .clock_offset(-1200)
        .start();
    assert!(behind.whoami(&token).is_err());
    let verdict = behind.verdicts().pop().unwrap();
    assert_eq!(
        verdict["errors"],
        json!(["date: X-Amz-Date is in the future"])
    );
    let out = eks_api(&behind, &ApiCaller::role(&caller), &calls);
    assert!(result(&out, 0)["message"]
        .as_str()
        .unwrap()
        .starts_with("Signature not yet current: "));
    // `check` takes the offset too: 10 minutes late is still within the 15.
    let check = |offset: &str| {
        std::process::Command::new("python3")
            .arg(support("eks_verifier.py"))
            .args(["check", "--cluster", "dev", "--sts-url", &moto().url])
            .args(["--clock-offset", offset, &token])
            .output()
            .unwrap()
    };
    let late = check("600");
    assert!(
        late.status.success(),
        "{}",
        String::from_utf8_lossy(&late.stdout)
    );
    let too_late = check("1200");
    assert_eq!(too_late.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&too_late.stdout).contains("more than 15 minutes old"));
}

/// The stand-in's mapping per mode passes `tests/data/access-entries/cases.json` (the
/// aws-auth cases run in `doctor`): the modes, templates, default usernames, node
/// entries, and the control planes EKS would refuse to hold.
#[test]
fn the_stand_ins_access_entry_mapping_passes_its_cases() {
    let cases = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/access-entries/cases.json");
    let out = std::process::Command::new("python3")
        .arg(support("eks_verifier.py"))
        .arg("selftest")
        .arg("--cases")
        .arg(&cases)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains(": 35 cases"), "{text}");
}
