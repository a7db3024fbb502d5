//! `doctor`: the path from the credentials to the Kubernetes user, step by step, each
//! passed or failed with what to do. kubectl says only `Unauthorized`; the path crosses
//! two accounts and four policies (the source role's trust, its permission to assume
//! the target, the target's trust, the cluster's mapping), and each step here names the
//! one that is missing.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use eks_token::kube::Review;
use eks_token::{files, ChainFailure, Env, Error, Log, Token};

use crate::cli::args::{DoctorArgs, Format, GetToken};
use crate::cli::aws_auth::{self, Identity, Unmapped, User};
use crate::cli::Failure;

mod cluster;
use cluster::{ask_cluster, refused};

/// The most read of `--aws-auth` and `--kubeconfig`.
const MAX_FILE: u64 = 4 << 20;

/// One step: its name, whether it passed, what was found, and what to do when not.
struct Step {
    name: &'static str,
    ok: bool,
    detail: String,
    fix: Option<String>,
}

impl Step {
    fn pass(name: &'static str, detail: String) -> Step {
        Step {
            name,
            ok: true,
            detail,
            fix: None,
        }
    }

    fn fail(name: &'static str, detail: String, fix: Option<String>) -> Step {
        Step {
            name,
            ok: false,
            detail,
            fix,
        }
    }
}

/// Runs `doctor`: the report, and whether every step passed.
pub(crate) fn doctor(
    args: GetToken,
    d: &DoctorArgs,
    env: &Env,
    log: &Log,
) -> Result<(String, bool), Failure> {
    let env = args.effective_env(env);
    let mut steps = Vec::new();
    let user = walk(&args, d, &env, log, &mut steps);
    // What a server echoed (a token, a session token) is never shown.
    for s in &mut steps {
        s.detail = log.redact(&s.detail);
        s.fix = s.fix.as_deref().map(|f| log.redact(f));
    }
    let ok = steps.iter().all(|s| s.ok);
    let out = match args.print.format {
        Format::Json => {
            let mut doc = json!({
                "ok": ok,
                "steps": steps.iter().map(|s| {
                    let mut v = json!({"name": s.name, "ok": s.ok, "detail": s.detail});
                    if let Some(f) = &s.fix {
                        v["fix"] = json!(f);
                    }
                    v
                }).collect::<Vec<_>>(),
            });
            if let Some(u) = &user {
                doc["kubernetes"] = json!({"username": u.username, "groups": u.groups});
            }
            format!(
                "{}\n",
                crate::cli::output::json_for_terminal(&doc.to_string())
            )
        }
        _ => {
            let mut out = String::new();
            for s in &steps {
                let mark = if s.ok { "✓" } else { "✗" };
                out.push_str(&format!("{mark} {:<12}{}\n", s.name, printable(&s.detail)));
                if let Some(f) = &s.fix {
                    for line in f.lines() {
                        out.push_str(&format!("  {:<12}{}\n", "", printable(line)));
                    }
                }
            }
            out
        }
    };
    Ok((out, ok))
}

/// The steps, as far as they go; the Kubernetes user when one was found (the cluster's
/// answer, else the aws-auth prediction).
fn walk(
    args: &GetToken,
    d: &DoctorArgs,
    env: &Env,
    log: &Log,
    steps: &mut Vec<Step>,
) -> Option<User> {
    // One deadline for the whole walk; the trust policies as they are now, not a cached
    // session of an hour ago: no cache.
    let deadline = Instant::now() + args.request.timeout;
    let left = || {
        deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1))
    };
    let mut request = args.request.clone();
    request.no_cache = true;
    let mut issuer = match super::issuer(&request, env, log, None) {
        Ok(i) => i,
        Err(e) => {
            steps.push(Step::fail("credentials", e.to_string(), None));
            return None;
        }
    };
    let report = issuer.diagnose();
    // 1 and 2: the source, then each hop.
    for (i, level) in report.levels.iter().enumerate() {
        let name = if i == 0 { "credentials" } else { "role" };
        let who = match &level.identity {
            Ok(id) => id.arn.clone(),
            Err(e) => {
                steps.push(Step::fail(name, format!("{}: {e}", level.label), None));
                return None;
            }
        };
        let step = if i == 0 {
            let skipped = if report.skipped.is_empty() {
                String::new()
            } else {
                format!("; skipped: {}", report.skipped.join(", "))
            };
            Step::pass(
                "credentials",
                format!(
                    "{} as {who} (chosen by {}{skipped})",
                    level.label, report.chosen_by
                ),
            )
        } else {
            Step::pass("role", format!("{} assumed: {who}", level.label))
        };
        steps.push(step);
    }
    if let Some(f) = &report.failure {
        // Who called: the role the plan knows, else what GetCallerIdentity says.
        let caller = match (&f.caller_role_arn, report.levels.last()) {
            (Some(role), _) => Some(Caller::Role(role.clone())),
            (None, Some(level)) => {
                level
                    .identity
                    .as_ref()
                    .ok()
                    .map(|id| match aws_auth::canonicalize(&id.arn) {
                        Ok(c) if c.contains(":role/") => Caller::RoleWithoutPath(c),
                        Ok(c) => Caller::Role(c),
                        Err(_) => Caller::Role(id.arn.clone()),
                    })
            }
            (None, None) => None,
        };
        let name = if f.role_arn.is_some() {
            "role"
        } else {
            "credentials"
        };
        // The error without the one-line hint, which the fix says in full.
        let error = match &f.error {
            Error::Service(se) => {
                let mut se = se.clone();
                if se.code.starts_with("AccessDenied") {
                    se.hint = None;
                }
                Error::Service(se).to_string()
            }
            other => other.to_string(),
        };
        steps.push(Step::fail(
            name,
            format!("{}: {error}", f.step),
            cause(f, caller.as_ref()),
        ));
        return None;
    }
    // 3: the token.
    let token = match issuer.issue() {
        Ok(t) => t,
        Err(e) => {
            steps.push(Step::fail("token", e.to_string(), None));
            return None;
        }
    };
    let now = time::OffsetDateTime::now_utc();
    let checked = match issuer.check(&token.value, now) {
        Ok(r) => r,
        Err(e) => {
            steps.push(Step::fail("token", e.to_string(), None));
            return None;
        }
    };
    let host = checked.host.as_deref().unwrap_or("?");
    let detail = format!(
        "for {} from {host} ({}), {} of 4096 bytes, valid until {}",
        args.request.cluster_id,
        checked.region.as_deref().unwrap_or("?"),
        token.value.len(),
        Token::rfc3339(token.expiration)
    );
    if let Some((rule, why)) = checked.failures.first() {
        steps.push(Step::fail(
            "token",
            format!("{detail}: {rule}: {why}"),
            None,
        ));
        return None;
    }
    steps.push(Step::pass("token", detail));
    // 4: the identity EKS derives: GetCallerIdentity with the credentials that signed
    // the token (the chain's top level, asked above), and the token's access key id.
    let access_key_id = checked.access_key_id.clone().unwrap_or_default();
    let top = report.levels.last().map(|l| &l.identity);
    let identity = match top {
        Some(Ok(c)) => Identity::new(&c.arn, &c.account, &c.user_id, &access_key_id),
        Some(Err(e)) => Err(format!("GetCallerIdentity failed: {e}")),
        None => Err("no credentials".into()),
    };
    let identity = match identity {
        Ok(id) => id,
        Err(e) => {
            steps.push(Step::fail("identity", e, None));
            return None;
        }
    };
    let session = if identity.session_name.is_empty() {
        String::new()
    } else {
        format!(", session {}", identity.session_name)
    };
    steps.push(Step::pass(
        "identity",
        format!(
            "EKS sees {} (canonical {}{session})",
            identity.arn, identity.canonical_arn
        ),
    ));
    // 5: the aws-auth ConfigMap's answer.
    let predicted = d
        .aws_auth
        .as_deref()
        .and_then(|p| predict(p, &identity, left(), steps));
    // 6: the cluster's own answer.
    let Some(kubeconfig) = &d.kubeconfig else {
        return predicted;
    };
    match ask_cluster(
        env,
        kubeconfig,
        d.context.as_deref(),
        &args.request.cluster_id,
        &token.value,
        deadline,
    ) {
        Ok(Review::User(u)) => {
            let user = User {
                username: u.username,
                groups: u
                    .groups
                    .into_iter()
                    .filter(|g| g != "system:authenticated")
                    .collect(),
                by: "the cluster",
            };
            let detail = format!(
                "the cluster says: username {}, groups [{}]",
                user.username,
                user.groups.join(", ")
            );
            match &predicted {
                Some(p) if (&p.username, &p.groups) != (&user.username, &user.groups) => {
                    steps.push(Step::fail(
                        "cluster",
                        detail,
                        Some(format!(
                            "aws-auth gives username {}, groups [{}]: the cluster maps this \
                             identity otherwise (an EKS access entry, or another aws-auth)",
                            p.username,
                            p.groups.join(", ")
                        )),
                    ));
                }
                _ => steps.push(Step::pass("cluster", detail)),
            }
            Some(user)
        }
        Ok(Review::Refused { status, message }) => {
            let (detail, fix) = refused(status, &message, &identity, predicted.is_some());
            steps.push(Step::fail("cluster", detail, Some(fix)));
            predicted
        }
        Err(e) => {
            steps.push(Step::fail("cluster", e.to_string(), None));
            predicted
        }
    }
}

/// Who called the hop that failed.
enum Caller {
    /// Its ARN as a trust policy names it.
    Role(String),
    /// A role's ARN without its path (a session ARN does not carry it).
    RoleWithoutPath(String),
}

/// What an STS error on the way means, and what to do.
fn cause(f: &ChainFailure, caller: Option<&Caller>) -> Option<String> {
    let Error::Service(se) = &f.error else {
        return None;
    };
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
        let trust = json!({
            "Effect": "Allow",
            "Principal": {"AWS": principal},
            "Action": "sts:AssumeRole",
        });
        let permission = json!({
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": role,
        });
        return Some(format!(
            "both of these statements must exist (AccessDenied names neither):\n\
             in the trust policy of {role}:\n  {trust}\n\
             in a policy of {principal}:\n  {permission}\n\
             the trust policy names the role's ARN, not its assumed-role session ARN{note}"
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

/// Step 5: the ConfigMap's user for `id`, as aws-iam-authenticator maps it.
fn predict(path: &Path, id: &Identity, timeout: Duration, steps: &mut Vec<Step>) -> Option<User> {
    let deadline = Instant::now() + timeout;
    let text = match read_text(path, timeout) {
        Ok(t) => t,
        Err(e) => {
            steps.push(Step::fail("aws-auth", e, None));
            return None;
        }
    };
    let auth = match aws_auth::parse(&text, deadline) {
        Ok(a) => a,
        Err(e) => {
            steps.push(Step::fail(
                "aws-auth",
                format!(
                    "{} cannot be read as the aws-auth ConfigMap: {e}",
                    path.display()
                ),
                None,
            ));
            return None;
        }
    };
    let notes = if auth.problems.is_empty() {
        None
    } else {
        Some(format!(
            "aws-iam-authenticator would skip: {}",
            auth.problems.join("; ")
        ))
    };
    match aws_auth::map(&auth, id) {
        Ok(u) => {
            let mut detail = format!(
                "{} maps {} to username {}, groups [{}]",
                u.by,
                id.canonical_arn,
                u.username,
                u.groups.join(", ")
            );
            if let Some(n) = &notes {
                detail.push_str(&format!("; {n}"));
            }
            steps.push(Step::pass("aws-auth", detail));
            Some(u)
        }
        Err(Unmapped::NeedsEc2) => {
            steps.push(Step::pass(
                "aws-auth",
                format!(
                    "mapRoles maps {} with {{{{EC2PrivateDNSName}}}}, which only the server can \
                     render (EC2 DescribeInstances of instance {})",
                    id.canonical_arn, id.session_name
                ),
            ));
            None
        }
        Err(Unmapped::NotAnInstance) => {
            steps.push(Step::fail(
                "aws-auth",
                format!(
                    "mapRoles maps {} with {{{{EC2PrivateDNSName}}}}, for nodes: the session \
                     name {:?} is not an instance id, so EKS answers 401 Unauthorized",
                    id.canonical_arn, id.session_name
                ),
                Some(
                    "a node role's entry is for nodes; map another role for people and tools"
                        .into(),
                ),
            ));
            None
        }
        Err(Unmapped::NoMatch(near)) => {
            let name = id.canonical_arn.rsplit('/').next().unwrap_or("user");
            // Roles in mapRoles with the session in the username; users and federated
            // users in mapUsers, as they are.
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
                fix.push_str(&n);
            }
            if let Some(n) = notes {
                fix.push('\n');
                fix.push_str(&n);
            }
            steps.push(Step::fail(
                "aws-auth",
                format!(
                    "no entry maps {}: EKS answers 401 Unauthorized",
                    id.canonical_arn
                ),
                Some(fix),
            ));
            None
        }
    }
}

use crate::cli::output::terminal as printable;

/// A file's text (`-`: stdin), capped.
fn read_text(path: &Path, timeout: Duration) -> Result<String, String> {
    let bytes = if path.as_os_str() == "-" {
        super::read_stdin(
            MAX_FILE,
            timeout,
            "pipe the ConfigMap in: kubectl get configmap aws-auth -n kube-system -o yaml | eks-token doctor ... --aws-auth -",
        )
        .map_err(|e| format!("cannot read stdin: {e}"))?
    } else {
        let b = files::read_file(path, MAX_FILE)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        String::from_utf8(b).map_err(|_| format!("{} is not UTF-8 text", path.display()))?
    };
    Ok(bytes)
}
