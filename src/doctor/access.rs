//! The cluster's access configuration as EKS holds it, read with the chain's identity:
//! DescribeCluster's authentication mode (step `eks`), then, in modes `API` and
//! `API_AND_CONFIG_MAP`, the principal's access entry and its access policies (step
//! `access-entry`). What cannot be read is said, naming the IAM action missing, and the
//! walk goes on without it.

use serde_json::Value;

use super::report::Report;
use crate::eks::{self, Cluster};
use crate::error::Error;
use crate::issuer::Issuer;
use crate::mapping::access_entry::{self, entry_type, policy_in_words};
use crate::mapping::{Identity, User};

/// The principal's access entry, as far as it was read.
pub(super) enum Lookup {
    /// It maps the identity to this user.
    Mapped(User),
    /// It exists but maps no one (a node type, a template only EC2 can render): EKS
    /// stops there, aws-auth is not tried.
    Unusable,
    /// The cluster has none for the principal.
    Absent,
    /// Not read: the mode has no entries, or they could not be read.
    Unknown,
}

/// What was read of the cluster.
pub(super) struct Access {
    /// DescribeCluster's answer.
    pub(super) cluster: Option<Cluster>,
    /// The principal's access entry.
    pub(super) entry: Lookup,
}

impl Access {
    /// The authentication mode, when DescribeCluster told it.
    pub(super) fn mode(&self) -> Option<&str> {
        self.cluster.as_ref()?.authentication_mode.as_deref()
    }
}

/// What each authentication mode maps identities with.
const MODES: &[(&str, &str)] = &[
    ("CONFIG_MAP", "the aws-auth ConfigMap alone"),
    (
        "API_AND_CONFIG_MAP",
        "a principal's access entry, else the aws-auth ConfigMap",
    ),
    ("API", "access entries alone (aws-auth is not read)"),
];

/// Steps `eks` and `access-entry` for the identity `id` on cluster `name`.
pub(super) fn read(issuer: &mut Issuer<'_>, name: &str, id: &Identity, r: &mut Report) -> Access {
    let mut access = Access {
        cluster: None,
        entry: Lookup::Unknown,
    };
    let cluster = match issuer.describe_cluster(name) {
        Ok(c) => c,
        Err(e) => {
            unread(r, "eks", &e, id, issuer.region(), name);
            return access;
        }
    };
    let mode = cluster.authentication_mode.clone().unwrap_or_default();
    let means = MODES.iter().find(|(m, _)| *m == mode).map(|(_, w)| *w);
    let detail = format!("cluster {} (DescribeCluster)", cluster.arn);
    access.cluster = Some(cluster);
    let Some(means) = means else {
        r.caveat(
            "eks",
            format!("{detail} names no authentication mode ({mode:?})"),
            Some("doctor goes on without it".into()),
        );
        return access;
    };
    r.pass(
        "eks",
        format!("{detail}: authentication mode {mode}: {means}"),
    );
    if mode == "CONFIG_MAP" {
        return access;
    }
    access.entry = entry(issuer, name, &mode, id, r);
    access
}

/// Step `access-entry`: the entry of `id` (DescribeAccessEntry by its canonical ARN,
/// else the role's entry with a path among ListAccessEntries'), its policies, the user.
fn entry(issuer: &mut Issuer<'_>, name: &str, mode: &str, id: &Identity, r: &mut Report) -> Lookup {
    let canonical = id.canonical_arn.as_str();
    let region = issuer.region();
    let (ep, creds) = match issuer.eks("DescribeAccessEntry") {
        Ok(x) => x,
        Err(e) => {
            unread(r, "access-entry", &e, id, region, name);
            return Lookup::Unknown;
        }
    };
    let s = issuer.session();
    let describe = |p: &str| eks::describe_access_entry(s, &ep, &creds, name, p);
    let found = describe(canonical).and_then(|e| match e {
        // A role's entry names the role's ARN with its path, which STS leaves out of a
        // session's ARN (SSO's roles have one).
        None if canonical.contains(":role/") => {
            let listed = eks::list(s, &ep, &creds, name, None)?;
            match listed
                .iter()
                .filter_map(Value::as_str)
                .find(|p| access_entry::names(p, canonical))
            {
                Some(p) => describe(p),
                None => Ok(None),
            }
        }
        e => Ok(e),
    });
    let entry = match found {
        Ok(Some(e)) => e,
        Ok(None) if mode == "API" => {
            let _ = r.fail::<()>(
                "access-entry",
                format!(
                    "no access entry for {canonical} (mode API: aws-auth is not read): EKS \
                     answers 401 Unauthorized"
                ),
                Some(format!(
                    "create one (for a role with a path, its ARN with the path: aws iam \
                     get-role --role-name NAME):\naws eks create-access-entry --cluster-name \
                     {name} --principal-arn {canonical} --kubernetes-groups GROUP\naws eks \
                     associate-access-policy --cluster-name {name} --principal-arn {canonical} \
                     --policy-arn arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy \
                     --access-scope type=namespace,namespaces=NAMESPACE"
                )),
            );
            return Lookup::Absent;
        }
        Ok(None) => {
            r.pass(
                "access-entry",
                format!("no access entry for {canonical}: aws-auth decides"),
            );
            return Lookup::Absent;
        }
        Err(e) => {
            unread(r, "access-entry", &e, id, region, name);
            return Lookup::Unknown;
        }
    };
    let principal = entry["principalArn"]
        .as_str()
        .unwrap_or(canonical)
        .to_owned();
    let kind = entry_type(&entry);
    // A node's entry (or username) maps only the node's own sessions.
    let policies = eks::list(s, &ep, &creds, name, Some(&principal));
    let user = access_entry::user(&entry, id, policies.as_deref().unwrap_or_default());
    let Some(u) = user.ok().filter(|_| kind == "STANDARD") else {
        let _ = r.fail::<()>(
            "access-entry",
            format!(
                "the access entry {principal} ({kind}) is a node's: it maps no person or tool \
                 (EKS answers 401 Unauthorized, and aws-auth is not tried)"
            ),
            Some(format!(
                "give {canonical} a STANDARD entry, or use another role"
            )),
        );
        return Lookup::Unusable;
    };
    let mut fix = None;
    let listed = match &policies {
        Ok(p) if p.is_empty() => {
            if u.groups.is_empty() {
                fix = Some(format!(
                    "the entry grants nothing by itself: associate an access policy (aws eks \
                     associate-access-policy --cluster-name {name} --principal-arn {principal} \
                     ...), or bind RBAC to its username or groups"
                ));
            }
            "no access policy".to_owned()
        }
        Ok(p) => format!(
            "policies {}",
            p.iter().map(policy_in_words).collect::<Vec<_>>().join(", ")
        ),
        Err(e) => {
            fix = Some(denied_fix(e, id, region, name).unwrap_or_else(|| e.to_string()));
            "its access policies not read".to_owned()
        }
    };
    r.caveat(
        "access-entry",
        format!(
            "access entry {principal} maps {canonical} to username {}, groups [{}]; {listed}",
            u.username,
            u.groups.join(", ")
        ),
        fix,
    );
    Lookup::Mapped(u)
}

/// A read that failed, as step `name`: AccessDenied names the action missing and the
/// statement that allows it; a cluster not found is a failure (its name or region is
/// wrong); anything else is said, and the walk goes on without what it would have read.
fn unread(
    r: &mut Report,
    name: &'static str,
    e: &Error,
    id: &Identity,
    region: Option<String>,
    cluster: &str,
) {
    let fix = denied_fix(e, id, region, cluster)
        .unwrap_or_else(|| "doctor goes on without what it would have read".into());
    match e {
        Error::Service(se) if se.code == "ResourceNotFoundException" && name == "eks" => {
            let _ = r.fail::<()>(name, e.to_string(), None);
        }
        _ => r.caveat(name, e.to_string(), Some(fix)),
    }
}

/// For an AccessDenied of the EKS API: the action missing, and the statement that
/// allows it to the identity's role or user.
fn denied_fix(e: &Error, id: &Identity, region: Option<String>, cluster: &str) -> Option<String> {
    let Error::Service(se) = e else { return None };
    if !se.code.starts_with("AccessDenied") {
        return None;
    }
    let partition = id.canonical_arn.split(':').nth(1).unwrap_or("aws");
    let region = region.unwrap_or_else(|| "REGION".into());
    let resource = match se.operation {
        "DescribeAccessEntry" | "ListAssociatedAccessPolicies" => "access-entry",
        _ => "cluster",
    };
    let wild = if resource == "cluster" { "" } else { "/*" };
    // ARNs and action names need no JSON escaping.
    Some(format!(
        "eks:{0} is not allowed to {1}: a policy of it needs\n  \
         {{\"Effect\":\"Allow\",\"Action\":\"eks:{0}\",\"Resource\":\
         \"arn:{partition}:eks:{region}:{2}:{resource}/{cluster}{wild}\"}}\ndoctor goes on \
         without what it would have read",
        se.operation, id.canonical_arn, id.account
    ))
}
