//! The `aws-auth` ConfigMap as aws-iam-authenticator reads it: `mapRoles`, `mapUsers`
//! and `mapAccounts` as its ConfigMap mapper reads them (`pkg/mapper/configmap`), the
//! match (`pkg/config/mapper.go`: the role, then the user, then the account) and the
//! templates of the username and groups (`pkg/server/server.go`, `renderTemplate`).

use std::time::Instant;

use yaml_rust2::Yaml;

use super::{Identity, User};
use crate::yaml::{documents, not_a_list_item, Refused, Typing};

/// One entry of `mapRoles` or `mapUsers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// `rolearn` or `userarn` as written.
    pub(crate) arn: String,
    pub(crate) username: String,
    pub(crate) groups: Vec<String>,
    /// An IAM Identity Center entry (`sso:`), matched only with the SSORoleMatch
    /// feature gate, which is off by default.
    pub(crate) sso: bool,
}

/// The `aws-auth` ConfigMap as aws-iam-authenticator reads it.
#[derive(Debug, Default)]
pub(crate) struct AwsAuth {
    /// `mapRoles`, one entry per lower-cased role ARN (a later one replaces an earlier).
    pub(crate) roles: Vec<Entry>,
    /// `mapUsers`.
    pub(crate) users: Vec<Entry>,
    /// `mapAccounts`.
    pub(crate) accounts: Vec<String>,
    /// What the authenticator would log and skip: a key that is not YAML, an entry
    /// dropped, a field of the wrong type.
    pub(crate) problems: Vec<String>,
}

/// Reads the ConfigMap as `kubectl get configmap aws-auth -n kube-system -o yaml` (or
/// `-o json`) prints it, or its `data` alone.
pub(crate) fn parse(text: &str, deadline: Instant) -> Result<AwsAuth, String> {
    let docs = documents(text, deadline, Typing::Kubectl).map_err(|e| e.to_string())?;
    let top = match docs.into_iter().next() {
        Some(Yaml::Hash(h)) => h,
        _ => return Err("it is not a mapping (a ConfigMap, or its data)".into()),
    };
    let data = match top.get(&Yaml::String("data".into())) {
        Some(Yaml::Hash(d)) => d.clone(),
        Some(_) => return Err("its data is not a mapping".into()),
        None => top,
    };
    let field = |k: &str| data.get(&Yaml::String(k.into())).cloned();
    let mut auth = AwsAuth::default();
    if ["mapRoles", "mapUsers", "mapAccounts"]
        .iter()
        .all(|k| field(k).is_none())
    {
        auth.problems.push(
            "it has no mapRoles, mapUsers or mapAccounts (the keys are case-sensitive)".into(),
        );
    }
    // Roles keyed by the lower-cased ARN, users by the ARN as written: a later entry
    // replaces an earlier one.
    for (key, arn_field, lower) in [
        ("mapRoles", "rolearn", true),
        ("mapUsers", "userarn", false),
    ] {
        let Some(list) = key_list(&mut auth.problems, key, field(key), deadline)? else {
            continue;
        };
        let mut at: std::collections::HashMap<String, usize> = Default::default();
        let mut entries: Vec<Entry> = Vec::new();
        for (i, item) in list.iter().enumerate() {
            if i % 1024 == 1023 && Instant::now() >= deadline {
                return Err(format!(
                    "{key} was not read within the deadline (--timeout)"
                ));
            }
            let Some(e) = entry(&mut auth.problems, key, i, item, arn_field) else {
                continue;
            };
            if e.sso {
                entries.push(e);
                continue;
            }
            let k = if lower {
                e.arn.to_lowercase()
            } else {
                e.arn.clone()
            };
            match at.get(&k) {
                Some(&j) => entries[j] = e,
                None => {
                    at.insert(k, entries.len());
                    entries.push(e);
                }
            }
        }
        if lower {
            auth.roles = entries;
        } else {
            auth.users = entries;
        }
    }
    if let Some(value) = field("mapAccounts") {
        let text = match value {
            Yaml::String(s) => s,
            _ => String::new(),
        };
        if !skipped(&text) {
            match documents(&text, deadline, Typing::Text).map(|d| d.into_iter().next()) {
                Ok(Some(Yaml::Array(items))) => auth
                    .accounts
                    .extend(items.into_iter().filter_map(|a| a.into_string())),
                _ => auth
                    .problems
                    .push("mapAccounts is not a YAML list of account ids: ignored".into()),
            }
        }
    }
    Ok(auth)
}

/// Whether a data value counts as absent (aws-iam-authenticator skips these).
fn skipped(text: &str) -> bool {
    matches!(text.trim(), "" | "``" | "\"\"" | "''")
}

/// The list in `mapRoles` or `mapUsers` (a YAML text, or JSON); `None` when the key is
/// absent, empty, or lost to an error (noted in `problems`).
/// A limit of eks-token's own (nodes, depth, the deadline) is an error, not something
/// the authenticator would skip.
fn key_list(
    problems: &mut Vec<String>,
    name: &str,
    value: Option<Yaml>,
    deadline: Instant,
) -> Result<Option<Vec<Yaml>>, String> {
    let Some(value) = value else {
        return Ok(None);
    };
    let text = match value {
        Yaml::String(s) => s,
        Yaml::Array(items) => return Ok(Some(items)),
        _ => {
            problems.push(format!("{name} is not a string: ignored"));
            return Ok(None);
        }
    };
    if skipped(&text) {
        return Ok(None);
    }
    Ok(
        match documents(&text, deadline, Typing::Kubectl).map(|d| d.into_iter().next()) {
            // YAML becomes JSON before it is decoded, and JSON has no NaN or infinity.
            Ok(Some(Yaml::Array(items))) if items.iter().any(not_json) => {
                problems.push(format!(
                    "{name} holds what JSON cannot carry (.nan, .inf, or a mapping as a key: an \
                 unquoted {{{{...}}}} template is one; quote it): all of it is ignored"
                ));
                None
            }
            Ok(Some(Yaml::Array(items))) => Some(items),
            Ok(_) => {
                problems.push(format!("{name} is not a YAML list: all of it is ignored"));
                None
            }
            Err(e @ (Refused::TooDeep | Refused::TooManyNodes | Refused::Deadline)) => {
                return Err(format!(
                    "{name}: {e} (a limit of eks-token's, not aws-iam-authenticator's)"
                ))
            }
            Err(e) => {
                let cause = match not_a_list_item(&text) {
                    Some(why) => why,
                    None if text.contains("{{") => {
                        "an unquoted {{...}} template is the usual cause: quote it".into()
                    }
                    None => String::new(),
                };
                problems.push(format!(
                    "{name} is not valid YAML ({e}): all of it is ignored; {cause}"
                ));
                None
            }
        },
    )
}

/// Whether a value holds what JSON cannot carry: a float that is not finite (`.nan`,
/// `.inf`), or a mapping key that is itself a mapping or list (an unquoted
/// `{{SessionName}}` is a flow mapping with one).
fn not_json(v: &Yaml) -> bool {
    match v {
        Yaml::Real(r) => r.parse::<f64>().map_or_else(
            |_| {
                let r = r.trim_start_matches(['+', '-']).to_ascii_lowercase();
                r == ".nan" || r == ".inf"
            },
            |f| !f.is_finite(),
        ),
        Yaml::Array(items) => items.iter().any(not_json),
        Yaml::Hash(h) => h.iter().any(|(k, v)| {
            matches!(k, Yaml::Hash(_) | Yaml::Array(_)) || not_json(k) || not_json(v)
        }),
        _ => false,
    }
}

/// One entry as Go's encoding/json decodes it into aws-iam-authenticator's struct:
/// field names matched case-insensitively, in the sorted order of the JSON object the
/// YAML became (so of `username` and `UserName`, the one that sorts last wins), a value
/// of the wrong type leaving its field as it was; then validated (an entry without its
/// ARN is dropped).
fn entry(
    problems: &mut Vec<String>,
    key: &str,
    index: usize,
    item: &Yaml,
    arn_field: &str,
) -> Option<Entry> {
    let mut e = Entry {
        arn: String::new(),
        username: String::new(),
        groups: Vec::new(),
        sso: false,
    };
    let at = || format!("{key} entry {}", index + 1);
    let Yaml::Hash(fields) = item else {
        problems.push(format!("{}: not a mapping: dropped", at()));
        return None;
    };
    let mut sorted: Vec<(String, &Yaml)> = fields
        .iter()
        .filter_map(|(k, v)| match k {
            Yaml::String(s) => Some((s.clone(), v)),
            Yaml::Integer(i) => Some((i.to_string(), v)),
            _ => None,
        })
        .collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    for (k, v) in sorted {
        let name = k.to_lowercase();
        let wrong = |problems: &mut Vec<String>, want: &str| {
            problems.push(format!("{}: {name} is not {want}: left empty", at()));
        };
        match (name.as_str(), v) {
            (_, Yaml::Null) => {}
            (n, Yaml::String(s)) if n == arn_field => e.arn = s.clone(),
            ("username", Yaml::String(s)) => e.username = s.clone(),
            (n, _) if n == arn_field || n == "username" => wrong(problems, "a string"),
            ("groups", Yaml::Array(items)) => {
                e.groups = items
                    .iter()
                    .map(|g| g.as_str().unwrap_or_default().to_owned())
                    .collect();
            }
            ("groups", Yaml::String(g)) if not_a_list_item(g).is_some() => problems.push(format!(
                "{}: groups is {g:?}, not a list (a dash needs a space after it: write \
                 \"- {}\" on its own line): left empty",
                at(),
                &g[1..]
            )),
            ("groups", _) => wrong(problems, "a list of strings"),
            ("sso", Yaml::Hash(_)) if arn_field == "rolearn" => e.sso = true,
            _ => {}
        }
    }
    let invalid = match (e.arn.is_empty(), e.sso, arn_field) {
        (true, false, "rolearn") => Some("one of rolearn or SSO must be supplied"),
        (false, true, _) => Some("only one of rolearn or SSO can be supplied"),
        (true, _, "userarn") => Some("value for userarn must be supplied"),
        _ => None,
    };
    if let Some(why) = invalid {
        problems.push(format!("{}: {why}: dropped", at()));
        return None;
    }
    Some(e)
}

/// Why an identity maps to no user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unmapped {
    /// No entry matches (EKS answers 401): what is near, if anything.
    NoMatch(Vec<String>),
    /// A template needs EC2 (`{{EC2PrivateDNSName}}`), which only the server has.
    NeedsEc2,
    /// A template needs EC2 and the session is not an instance's (the server refuses).
    NotAnInstance,
    /// An access entry of a node type with no documented username (EC2, HYPERPOD_LINUX).
    NoUsername,
}

/// The user `id` maps to: the first role whose `rolearn` is the canonical ARN (ignoring
/// case), else such a user, else, when its account is in `mapAccounts`, the canonical
/// ARN itself with no groups; the username and groups rendered.
pub(crate) fn map(auth: &AwsAuth, id: &Identity) -> Result<User, Unmapped> {
    let c = id.canonical_arn.to_lowercase();
    let found = |entries: &[Entry]| {
        entries
            .iter()
            .find(|e| !e.sso && e.arn.to_lowercase() == c)
            .cloned()
    };
    let (entry, by) = match (found(&auth.roles), found(&auth.users)) {
        (Some(e), _) => (e, "mapRoles"),
        (None, Some(e)) => (e, "mapUsers"),
        (None, None) if auth.accounts.contains(&id.account) => {
            return Ok(User {
                username: id.canonical_arn.clone(),
                groups: Vec::new(),
                from: "mapAccounts",
                policies: Vec::new(),
            })
        }
        (None, None) => return Err(Unmapped::NoMatch(near_misses(auth, id))),
    };
    let render = |t: &str| render(t, id);
    Ok(User {
        username: render(&entry.username)?,
        groups: entry
            .groups
            .iter()
            .map(|g| render(g))
            .collect::<Result<_, _>>()?,
        from: by,
        policies: Vec::new(),
    })
}

/// A username or group template rendered as `renderTemplate` does, in its order.
pub(super) fn render(template: &str, id: &Identity) -> Result<String, Unmapped> {
    if template.contains("{{EC2PrivateDNSName}}") {
        // The server looks the instance up by the session name: `i-` and 8 or 17 word
        // characters, or it refuses.
        let s = id.session_name.strip_prefix("i-").unwrap_or("");
        let instance =
            matches!(s.len(), 8 | 17) && s.chars().all(|c| c.is_alphanumeric() || c == '_');
        return Err(if instance {
            Unmapped::NeedsEc2
        } else {
            Unmapped::NotAnInstance
        });
    }
    Ok(template
        .replace("{{AccountID}}", &id.account)
        .replace("{{SessionName}}", &id.session_name.replace('@', "-"))
        .replace("{{SessionNameRaw}}", &id.session_name)
        .replace("{{AccessKeyID}}", &id.access_key_id))
}

/// Entries that look meant for `id` but can never match it, each with why.
fn near_misses(auth: &AwsAuth, id: &Identity) -> Vec<String> {
    let c = id.canonical_arn.to_lowercase();
    let name = c.rsplit('/').next().unwrap_or("");
    let prefix = c.rsplit_once(":role/").map(|(p, _)| p.to_owned());
    let mut out = Vec::new();
    for e in auth.roles.iter().chain(&auth.users) {
        let arn = e.arn.to_lowercase();
        if arn.trim() == c && arn != c {
            out.push(format!(
                "{:?} has spaces around it: aws-iam-authenticator compares it as written, so it never matches",
                e.arn
            ));
        } else if let (Some(p), Some((ep, path))) = (&prefix, arn.split_once(":role/")) {
            if ep == p && path.contains('/') && path.rsplit('/').next() == Some(name) {
                out.push(format!(
                    "{} has a path: STS names a role's sessions without the path \
                     (assumed-role/{}/...), so the authenticator compares against {} and \
                     this entry never matches; write the ARN without the path",
                    e.arn,
                    id.canonical_arn.rsplit('/').next().unwrap_or(""),
                    id.canonical_arn
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Every case of `tests/data/aws-auth/cases.json` (this project's own, following
    /// aws-iam-authenticator's behaviour; see its SOURCE.md): the user, or the kind of
    /// refusal, that the authenticator gives.
    #[test]
    fn the_aws_auth_cases_map_as_aws_iam_authenticator_does() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/aws-auth/cases.json"
        );
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let cases = doc["cases"].as_array().unwrap();
        assert!(cases.len() >= 30);
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut wrong = Vec::new();
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let id = &case["identity"];
            let s = |k: &str| id[k].as_str().unwrap_or_default();
            let got = Identity::new(s("arn"), s("account"), s("user_id"), s("access_key_id"))
                .map_err(|e| {
                    if e.starts_with("malformed UserID") {
                        "malformed user id"
                    } else {
                        "invalid arn"
                    }
                })
                .and_then(|id| {
                    let auth = parse(case["aws_auth"].as_str().unwrap(), deadline)
                        .unwrap_or_else(|e| panic!("{name}: {e}"));
                    map(&auth, &id).map_err(|u| match u {
                        Unmapped::NoMatch(_) | Unmapped::NoUsername => "not mapped",
                        Unmapped::NeedsEc2 | Unmapped::NotAnInstance => "ec2",
                    })
                });
            let want = &case["expect"];
            let same = match (&got, want["error"].as_str()) {
                (Err(kind), Some(expected)) => *kind == expected,
                (Ok(user), None) => {
                    let groups: Vec<&str> = want["groups"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|g| g.as_str().unwrap())
                        .collect();
                    user.username == want["username"].as_str().unwrap() && user.groups == groups
                }
                _ => false,
            };
            if !same {
                wrong.push(format!("{name}: got {got:?}, want {want}"));
            }
        }
        assert!(
            wrong.is_empty(),
            "{} of {}:\n{}",
            wrong.len(),
            cases.len(),
            wrong.join("\n")
        );
    }
}
