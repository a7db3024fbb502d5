//! Each authentication mode, the access entry found (paths, IAM Identity Center),
//! AccessDenied on each read: doctor's prediction against the stand-in's own answer.

use serde_json::{json, Value};

use super::*;

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
    // The same without aws-auth or a kubeconfig: the entries were read, so the fix
    // offers what is left (aws-auth), not the entries again.
    let (code, out) = doctor(&env, &["--role-arn", &cm_only]);
    assert_eq!(code, 1, "{out}");
    let fix = text(step(&out, "mapping"), "fix");
    assert!(
        fix.starts_with("the cluster leaves it to aws-auth"),
        "{out}"
    );
    assert!(!fix.contains("access entries"), "{out}");
    // A node entry cannot map a person: named, and aws-auth is not tried.
    let (code, out) = doctor(
        &env,
        &["--role-arn", &role("doctor-nodes"), "--aws-auth", &aws_auth],
    );
    assert_eq!(code, 1, "{out}");
    let s = step(&out, "access-entry");
    assert!(
        s["ok"] == false && text(s, "detail").contains("(EC2_LINUX) is a node's"),
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
    assert!(!text(s, "fix").contains("access entries"), "{s}");
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
        // The entries were not read: the fix offers them (with the permissions).
        let fix = text(step(&out, "mapping"), "fix");
        assert!(
            fix.contains("let doctor read the access entries"),
            "{action}: {fix}"
        );
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
