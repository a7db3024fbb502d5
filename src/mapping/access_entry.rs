//! EKS access entries as the cluster's authenticator reads them (authentication modes
//! `API` and `API_AND_CONFIG_MAP`): which entry is an identity's, and the user it gives.
//! An entry is read as DescribeAccessEntry answers it (botocore's `eks` model,
//! `AccessEntry`), its username and groups rendered as aws-auth's are
//! (aws-iam-authenticator's `renderTemplate`).

use serde_json::{json, Value};

use super::aws_auth::{render, Unmapped};
use super::{Identity, User};

/// The usernames EKS gives node entries (creating-access-entries); EC2 (Auto Mode) and
/// HYPERPOD_LINUX have none documented.
const NODE_USERNAMES: &[(&str, &str)] = &[
    ("EC2_LINUX", "system:node:{{EC2PrivateDNSName}}"),
    ("EC2_WINDOWS", "system:node:{{EC2PrivateDNSName}}"),
    ("FARGATE_LINUX", "system:node:{{SessionName}}"),
    ("HYBRID_LINUX", "system:node:{{SessionName}}"),
];

/// An IAM role or user ARN without its path: `arn:P:iam::A:role/NAME`, lower-cased.
fn without_path(arn: &str) -> String {
    let arn = arn.to_lowercase();
    for kind in [":role/", ":user/"] {
        if let Some((head, rest)) = arn.split_once(kind) {
            return format!("{head}{kind}{}", rest.rsplit('/').next().unwrap_or(rest));
        }
    }
    arn
}

/// Whether the entry of `principal` (an IAM role or user ARN, path and all) is the one
/// of the identity whose canonical ARN is `canonical`: the same partition, account,
/// kind and name. A session's ARN has no path, and IAM names are unique in an account
/// whatever the path and case, so the path and case are not compared.
pub(crate) fn names(principal: &str, canonical: &str) -> bool {
    without_path(principal) == without_path(canonical)
}

/// The username EKS gives an entry that names none: a role's session ARN without the
/// path and with `{{SessionName}}`, a user's ARN, a node entry's `system:node:...`;
/// `None` for a type without one documented.
pub(crate) fn default_username(principal: &str, kind: &str) -> Option<String> {
    if kind != "STANDARD" {
        return NODE_USERNAMES
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, u)| (*u).to_owned());
    }
    match principal.split_once(":iam::") {
        Some((partition, rest)) if rest.contains(":role/") => {
            let account = rest.split(':').next().unwrap_or("");
            let name = rest.rsplit('/').next().unwrap_or("");
            Some(format!(
                "{}:sts::{account}:assumed-role/{name}/{{{{SessionName}}}}",
                partition
            ))
        }
        _ => Some(principal.to_owned()),
    }
}

/// The user the entry `entry` (DescribeAccessEntry's `accessEntry`) gives `id`, with
/// the entry's access policies (`policies`, as ListAssociatedAccessPolicies lists them).
pub(crate) fn user(entry: &Value, id: &Identity, policies: &[Value]) -> Result<User, Unmapped> {
    let kind = entry_type(entry);
    let principal = entry["principalArn"].as_str().unwrap_or("");
    let username = match entry["username"].as_str().filter(|u| !u.is_empty()) {
        Some(u) => u.to_owned(),
        None => default_username(principal, kind).ok_or(Unmapped::NoUsername)?,
    };
    let mut groups: Vec<&str> = entry["kubernetesGroups"]
        .as_array()
        .map(|g| g.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if kind != "STANDARD" && groups.is_empty() {
        groups.push("system:nodes");
    }
    Ok(User {
        username: render(&username, id)?,
        groups: groups
            .into_iter()
            .map(|g| render(g, id))
            .collect::<Result<_, _>>()?,
        from: "access entry",
        policies: policies.iter().map(policy).collect(),
    })
}

/// An entry's type (`STANDARD` when the answer has none).
pub(crate) fn entry_type(entry: &Value) -> &str {
    entry["type"].as_str().unwrap_or("STANDARD")
}

/// An associated access policy as doctor reports it: `{policyArn, accessScope: {type,
/// namespaces}}`.
fn policy(p: &Value) -> Value {
    let scope = &p["accessScope"];
    json!({
        "policyArn": p["policyArn"],
        "accessScope": {
            "type": scope["type"],
            "namespaces": scope["namespaces"].as_array().cloned().unwrap_or_default(),
        },
    })
}

/// A policy in words: `AmazonEKSEditPolicy (namespaces dev-*, test)`, `... (cluster)`.
pub(crate) fn policy_in_words(p: &Value) -> String {
    let arn = p["policyArn"].as_str().unwrap_or("?");
    let name = arn.rsplit('/').next().unwrap_or(arn);
    let scope = &p["accessScope"];
    match scope["namespaces"].as_array().filter(|n| !n.is_empty()) {
        Some(ns) => {
            let ns: Vec<&str> = ns.iter().filter_map(Value::as_str).collect();
            format!("{name} (namespaces {})", ns.join(", "))
        }
        None => format!("{name} ({})", scope["type"].as_str().unwrap_or("cluster")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::aws_auth;
    use std::time::{Duration, Instant};

    #[test]
    fn an_entry_is_found_whatever_its_path_and_case() {
        let canonical = "arn:aws:iam::222222222222:role/deployer";
        assert!(names(
            "arn:aws:iam::222222222222:role/team/x/Deployer",
            canonical
        ));
        assert!(names(canonical, canonical));
        for other in [
            "arn:aws:iam::333333333333:role/team/deployer",
            "arn:aws:iam::222222222222:user/deployer",
            "arn:aws:iam::222222222222:role/team/deployer2",
            "arn:aws-cn:iam::222222222222:role/deployer",
        ] {
            assert!(!names(other, canonical), "{other}");
        }
        assert_eq!(
            default_username(
                "arn:aws:iam::222222222222:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_A_1",
                "STANDARD"
            )
            .unwrap(),
            "arn:aws:sts::222222222222:assumed-role/AWSReservedSSO_A_1/{{SessionName}}"
        );
        assert_eq!(
            policy_in_words(
                &json!({"policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
                "accessScope": {"type": "namespace", "namespaces": ["dev-*", "test"]}})
            ),
            "AmazonEKSEditPolicy (namespaces dev-*, test)"
        );
    }

    /// Every mapping case of `tests/data/access-entries/cases.json` (the stand-in passes
    /// the same ones): the entry found by its principal, read as DescribeAccessEntry
    /// gives it when the entry names no username, and EKS's precedence per mode.
    #[test]
    fn the_access_entry_cases_map_as_eks_does() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/access-entries/cases.json"
        );
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut tried = 0;
        for case in doc["cases"].as_array().unwrap() {
            let want = &case["expect"];
            if want.get("invalid").is_some() {
                continue;
            }
            tried += 1;
            let name = case["name"].as_str().unwrap();
            let s = |k: &str| case["identity"][k].as_str().unwrap();
            let id =
                Identity::new(s("arn"), s("account"), s("user_id"), s("access_key_id")).unwrap();
            let plane = &case["control_plane"];
            let mode = plane["authenticationMode"].as_str().unwrap();
            let entry = plane["accessEntries"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| names(e["principalArn"].as_str().unwrap(), &id.canonical_arn));
            let got = match entry {
                Some(e) if mode != "CONFIG_MAP" => user(e, &id, &[]),
                _ if mode == "API" => Err(Unmapped::NoMatch(vec![])),
                // No aws-auth at all maps no one.
                _ => match case["aws_auth"].as_str().unwrap() {
                    "" => Err(Unmapped::NoMatch(vec![])),
                    text => aws_auth::map(&aws_auth::parse(text, deadline).unwrap(), &id),
                },
            };
            match (got, want["error"].as_str()) {
                (Ok(u), None) => {
                    assert_eq!(u.username, want["username"], "{name}");
                    assert_eq!(json!(u.groups), want["groups"], "{name}");
                    let source = if u.from == "access entry" {
                        "access entry"
                    } else {
                        "aws-auth"
                    };
                    assert_eq!(source, want["source"], "{name}");
                }
                (Err(e), Some(kind)) => {
                    let got = match e {
                        Unmapped::NoMatch(_) => "not mapped",
                        Unmapped::NeedsEc2 | Unmapped::NotAnInstance => "ec2",
                        Unmapped::NoUsername => "node type",
                    };
                    assert_eq!(got, kind, "{name}");
                }
                (got, _) => panic!("{name}: got {got:?}, want {want}"),
            }
        }
        assert!(tried >= 20, "{tried}");
    }
}
