//! What a failure on the way means, and what to do: decided from the error's kind and
//! the service's code, never from its prose.

use serde_json::json;

use crate::diagnose::{ChainFailure, ChainReport};
use crate::error::Error;
use crate::mapping::{canonicalize, Identity};

/// Who called the hop that failed.
enum Caller {
    /// Its ARN as a trust policy names it.
    Role(String),
    /// A role's ARN without its path (a session ARN does not carry it).
    RoleWithoutPath(String),
}

/// The step's detail and fix for the chain's failure `f`, after the levels of `chain`.
pub(super) fn chain_failure(f: &ChainFailure, chain: &ChainReport) -> (String, Option<String>) {
    // Who called: the role the plan knows, else what GetCallerIdentity says.
    let caller = match (&f.caller_role_arn, chain.levels.last()) {
        (Some(role), _) => Some(Caller::Role(role.clone())),
        (None, Some(level)) => level
            .identity
            .as_ref()
            .ok()
            .map(|id| match canonicalize(&id.arn) {
                Ok(c) if c.contains(":role/") => Caller::RoleWithoutPath(c),
                Ok(c) => Caller::Role(c),
                Err(_) => Caller::Role(id.arn.clone()),
            }),
        (None, None) => None,
    };
    // The error without its one-line hint, which the fix says in full.
    let error = match &f.error {
        Error::Service(se) if se.code.starts_with("AccessDenied") => {
            let mut se = se.clone();
            se.hint = None;
            Error::Service(se).to_string()
        }
        other => other.to_string(),
    };
    // EKS Pod Identity's sessions carry transitive session tags: the next role must
    // allow sts:TagSession too (STS names that action when it is what is missing).
    let tags = chain
        .levels
        .first()
        .is_some_and(|l| l.label.starts_with("container credentials"));
    (
        format!("{}: {error}", f.step),
        cause(f, caller.as_ref(), tags),
    )
}

/// The action an AccessDenied names (`... is not authorized to perform: sts:X on ...`).
fn denied_action(message: &str) -> Option<&str> {
    message.split("perform: ").nth(1)?.split_whitespace().next()
}

/// What an STS error on the way means, and what to do; `tags`: the caller's session
/// carries session tags (EKS Pod Identity).
fn cause(f: &ChainFailure, caller: Option<&Caller>, tags: bool) -> Option<String> {
    let Error::Service(se) = &f.error else {
        return None;
    };
    let tags = tags || denied_action(&se.message) == Some("sts:TagSession");
    if se.code.starts_with("AccessDenied") && se.operation == "AssumeRoleWithWebIdentity" {
        return Some(format!(
            "the trust policy of {} must allow sts:AssumeRoleWithWebIdentity to the \
             cluster's OIDC provider (Principal Federated: \
             arn:aws:iam::ACCOUNT:oidc-provider/ISSUER) with the conditions ISSUER:sub = \
             system:serviceaccount:NAMESPACE:NAME and ISSUER:aud = sts.amazonaws.com; the \
             provider must exist in that account",
            se.subject
        ));
    }
    if se.code.starts_with("AccessDenied") {
        let role = f.role_arn.as_deref()?;
        let (principal, note) = match caller {
            Some(Caller::Role(arn)) => (arn.clone(), String::new()),
            Some(Caller::RoleWithoutPath(arn)) => (
                arn.clone(),
                format!(
                    "\n{arn} is written without a path, which a session ARN does not carry: \
                     if the role has one (SSO's roles do: aws-reserved/sso.amazonaws.com/), \
                     name the role's full ARN (aws iam get-role --role-name {})",
                    arn.rsplit('/').next().unwrap_or("")
                ),
            ),
            None => ("<the caller's ARN: eks-token whoami>".into(), String::new()),
        };
        let (action, why) = if tags {
            (
                json!(["sts:AssumeRole", "sts:TagSession"]),
                "\nthe caller's session carries session tags (EKS Pod Identity marks its \
                 tags transitive), so the trust policy must allow sts:TagSession too",
            )
        } else {
            (json!("sts:AssumeRole"), "")
        };
        let trust = json!({
            "Effect": "Allow",
            "Principal": {"AWS": principal},
            "Action": action,
        });
        let permission = json!({
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": role,
        });
        let neither = if tags {
            ""
        } else {
            " (AccessDenied names neither)"
        };
        return Some(format!(
            "both of these statements must exist{neither}:\n\
             in the trust policy of {role}:\n  {trust}\n\
             in a policy of {principal}:\n  {permission}\n\
             the trust policy names the role's ARN, not its assumed-role session ARN{note}{why}"
        ));
    }
    let why = match se.code.as_str() {
        "InvalidIdentityToken" => {
            "the web identity token was refused: the role's trust policy must trust the \
             cluster's OIDC provider (Federated) with the service account's sub and aud \
             sts.amazonaws.com, and the provider must exist in the role's account"
        }
        "ExpiredTokenException" | "ExpiredToken" => {
            "a token or the credentials below expired: a projected service account token is \
             rotated by the kubelet (is the file the one it writes?); session credentials \
             must be refreshed at their source"
        }
        "IDPCommunicationError" => "STS could not reach the OIDC provider: try again",
        "RegionDisabledException" => {
            "STS is not enabled in this region for the account: enable the region, or use \
             another (--region)"
        }
        "InvalidClientTokenId" => {
            "the credentials are not known to STS: deleted keys, or a session used in a \
             region or partition that does not know it (opt-in regions need the region \
             enabled)"
        }
        "SignatureDoesNotMatch" if se.message.contains("expired") => {
            "the request's time is off: this machine's clock is wrong"
        }
        "ValidationError" => return se.hint.clone(),
        _ => return None,
    };
    Some(why.to_owned())
}

/// The entry to add for an identity no aws-auth entry maps, the near misses, and what
/// aws-iam-authenticator would skip.
pub(super) fn unmapped_fix(id: &Identity, near: &[String], notes: Option<&str>) -> String {
    let name = id.canonical_arn.rsplit('/').next().unwrap_or("user");
    // Roles in mapRoles with the session in the username; users and federated users in
    // mapUsers, as they are.
    let mut fix = if id.canonical_arn.contains(":role/") {
        format!(
            "add to mapRoles (or create an EKS access entry for {0}):\n\
             - rolearn: {0}\n  username: {name}:{{{{SessionName}}}}\n  groups:\n  - <a group your RBAC bindings name>",
            id.canonical_arn
        )
    } else {
        format!(
            "add to mapUsers:\n- userarn: {0}\n  username: {name}\n  groups:\n  - <a group your RBAC bindings name>",
            id.canonical_arn
        )
    };
    for n in near {
        fix.push('\n');
        fix.push_str(n);
    }
    if let Some(n) = notes {
        fix.push('\n');
        fix.push_str(n);
    }
    fix
}
