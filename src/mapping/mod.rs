//! How EKS turns an AWS identity into a Kubernetes user: the identity it derives from a
//! token (what GetCallerIdentity answers, its canonical ARN: aws-iam-authenticator's
//! `pkg/token`, `pkg/arn`), and the mappings that name users: the `aws-auth` ConfigMap
//! (`aws_auth`) and EKS access entries.

pub(crate) mod access_entry;
pub(crate) mod aws_auth;

/// The partitions aws-iam-authenticator recognises in an ARN (its own list, which the
/// library's endpoint table may outgrow; today the same eight).
const PARTITIONS: &[&str] = &[
    "aws",
    "aws-cn",
    "aws-us-gov",
    "aws-iso",
    "aws-iso-b",
    "aws-iso-e",
    "aws-iso-f",
    "aws-eusc",
];

/// The identity EKS derives from a token: what GetCallerIdentity answered, the access
/// key id of the token's signature, the canonical ARN and the session name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The ARN GetCallerIdentity answered.
    pub arn: String,
    /// Its canonical form (a role session's role, without its path).
    pub canonical_arn: String,
    /// The account.
    pub account: String,
    /// The user id (for a role session, the part before the session name).
    pub user_id: String,
    /// A role session's name (empty for others).
    pub session_name: String,
    /// The access key id that signed the token.
    pub access_key_id: String,
}

impl Identity {
    /// The identity of a GetCallerIdentity answer (`arn`, `account`, `user_id` as STS
    /// gives them) for a token signed by `access_key_id`.
    pub fn new(
        arn: &str,
        account: &str,
        user_id: &str,
        access_key_id: &str,
    ) -> Result<Identity, String> {
        let canonical_arn = canonicalize(arn)?;
        let role = arn.contains(":assumed-role/") || canonical_arn.contains(":role/");
        let (user_id, session_name) = if role {
            match user_id.split(':').collect::<Vec<_>>().as_slice() {
                [id, session] => ((*id).to_owned(), (*session).to_owned()),
                _ => return Err(format!("malformed UserID {user_id:?}")),
            }
        } else {
            (user_id.to_owned(), String::new())
        };
        Ok(Identity {
            arn: arn.to_owned(),
            canonical_arn,
            account: account.to_owned(),
            user_id,
            session_name,
            access_key_id: access_key_id.to_owned(),
        })
    }
}

/// The canonical form of an identity's ARN, as aws-iam-authenticator's
/// `arn.Canonicalize`: a role session `arn:P:sts::A:assumed-role/R/S` is the role
/// `arn:P:iam::A:role/R` (STS leaves a role's path out of the session ARN, so `R` has
/// none); IAM roles, users and root, and federated users, are their own.
pub fn canonicalize(arn: &str) -> Result<String, String> {
    let invalid = |why: &str| format!("arn '{arn}' is invalid: '{why}'");
    if !arn.starts_with("arn:") {
        return Err(invalid("arn: invalid prefix"));
    }
    let sections: Vec<&str> = arn.splitn(6, ':').collect();
    let [_, partition, service, _region, account, resource] = sections.as_slice() else {
        return Err(invalid("arn: not enough sections"));
    };
    if !PARTITIONS.contains(partition) {
        return Err(format!("arn '{arn}' does not have a recognized partition"));
    }
    let parts: Vec<&str> = resource.split('/').collect();
    match (*service, parts[0]) {
        ("sts", "federated-user") => Ok(arn.to_owned()),
        ("sts", "assumed-role") if parts.len() < 3 => {
            Err(format!("assumed-role arn '{arn}' does not have a role"))
        }
        ("sts", "assumed-role") => Ok(format!(
            "arn:{partition}:iam::{account}:role/{}",
            parts[1..parts.len() - 1].join("/")
        )),
        ("sts", _) => Err(format!("unrecognized resource {resource} for service sts")),
        ("iam", "role" | "user" | "root") => Ok(arn.to_owned()),
        ("iam", _) => Err(format!("unrecognized resource {resource} for service iam")),
        (other, _) => Err(format!(
            "service {other} in arn {arn} is not a valid service for identities"
        )),
    }
}

/// The Kubernetes user an identity maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The Kubernetes username (what RBAC bindings name).
    pub username: String,
    /// Its groups.
    pub groups: Vec<String>,
    /// What mapped it: `mapRoles`, `mapUsers` or `mapAccounts` (aws-auth), `access
    /// entry`, or `the cluster` (its own answer).
    pub from: &'static str,
    /// An access entry's associated access policies, each `{"policyArn", "accessScope":
    /// {"type", "namespaces"}}` (empty for aws-auth).
    pub policies: Vec<serde_json::Value>,
}
