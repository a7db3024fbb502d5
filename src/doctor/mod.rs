//! `doctor`: the path from the credentials to the Kubernetes user, step by step, each
//! passed or failed with what to do. kubectl says only `Unauthorized`; the path crosses
//! two accounts and four policies (the source role's trust, its permission to assume
//! the target, the target's trust, the cluster's mapping), and each step here names the
//! one that is missing. The walk makes a typed [`Report`]; the caller renders it.

mod causes;
mod cluster;
mod report;

use std::time::{Duration, Instant};

use crate::env::Env;
use crate::issuer::Issuer;
use crate::kube::Review;
use crate::kubeconfig::Config;
use crate::mapping::aws_auth::{self, Unmapped};
use crate::mapping::{Identity, User};
use crate::runtime::Runtime;
use crate::token::Token;

use report::Ended;
pub use report::{ExecRequest, Inputs, Report, Step};

/// Walks the path of `inputs` in `env`, within the request's timeout.
pub fn run(inputs: &Inputs<'_>, env: &Env, runtime: Runtime) -> Report {
    let mut report = Report::default();
    let _ = walk(inputs, env, runtime, &mut report);
    report
}

/// The one deadline of the walk: each wait gets what is left of it.
struct Deadline(Instant);

impl Deadline {
    fn left(&self) -> Duration {
        self.0
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1))
    }
}

fn walk(inputs: &Inputs<'_>, env: &Env, runtime: Runtime, r: &mut Report) -> Result<(), Ended> {
    let deadline = Deadline(Instant::now() + inputs.request.timeout);
    let mut request = inputs.request.clone();
    request.no_cache = true;
    let log = runtime.log.clone();
    let mut issuer = match Issuer::with(&request, env, runtime) {
        Ok(i) => i,
        Err(e) => return r.fail("credentials", e.to_string(), None),
    };
    let chain = issuer.diagnose();
    // 1 and 2: the source, then each hop.
    for (i, level) in chain.levels.iter().enumerate() {
        let name = if i == 0 { "credentials" } else { "role" };
        let who = match &level.identity {
            Ok(id) => id.arn.clone(),
            Err(e) => return r.fail(name, format!("{}: {e}", level.label), None),
        };
        if i == 0 {
            let skipped = if chain.skipped.is_empty() {
                String::new()
            } else {
                format!("; skipped: {}", chain.skipped.join(", "))
            };
            r.pass(
                "credentials",
                format!(
                    "{} as {who} (chosen by {}{skipped})",
                    level.label, chain.chosen_by
                ),
            );
        } else {
            r.pass("role", format!("{} assumed: {who}", level.label));
        }
    }
    if let Some(f) = &chain.failure {
        let (detail, fix) = causes::chain_failure(f, chain.levels.last());
        let name = if f.role_arn.is_some() {
            "role"
        } else {
            "credentials"
        };
        return r.fail(name, detail, fix);
    }
    // 3: the token.
    let (token, access_key_id) = token_step(&mut issuer, &request.cluster_id, r)?;
    // 4: the identity EKS derives: GetCallerIdentity with the credentials that signed
    // the token (the chain's top level, asked above), and the token's access key id.
    let identity = match chain.levels.last().map(|l| &l.identity) {
        Some(Ok(c)) => Identity::new(&c.arn, &c.account, &c.user_id, &access_key_id),
        Some(Err(e)) => Err(format!("GetCallerIdentity failed: {e}")),
        None => Err("no credentials".into()),
    };
    let identity = match identity {
        Ok(id) => id,
        Err(e) => return r.fail("identity", e, None),
    };
    let session = if identity.session_name.is_empty() {
        String::new()
    } else {
        format!(", session {}", identity.session_name)
    };
    r.pass(
        "identity",
        format!(
            "EKS sees {} (canonical {}{session})",
            identity.arn, identity.canonical_arn
        ),
    );
    r.identity = Some(identity.clone());
    // 5: the aws-auth ConfigMap's answer.
    let predicted = match &inputs.aws_auth {
        Some((origin, text)) => predict(origin, text, &identity, &deadline, r),
        None => None,
    };
    r.user = predicted.clone();
    // 6: the cluster's own answer, to the token its kubeconfig's user would make.
    let Some(path) = &inputs.kubeconfig else {
        return Ok(());
    };
    let view =
        match Config::read(path, deadline.0).and_then(|c| c.context(inputs.context.as_deref())) {
            Ok(v) => v,
            Err(e) => return r.fail("kubeconfig", e.to_string(), None),
        };
    let sent = cluster::users_token(inputs, env, &log, &view, &request, token, r)?;
    match cluster::ask(env, &view, &sent, deadline.left()) {
        Ok(Review::User(u)) => {
            let user = User {
                username: u.username,
                groups: u
                    .groups
                    .into_iter()
                    .filter(|g| g != "system:authenticated")
                    .collect(),
                from: "the cluster",
            };
            let detail = format!(
                "the cluster says: username {}, groups [{}]",
                user.username,
                user.groups.join(", ")
            );
            match &predicted {
                Some(p) if (&p.username, &p.groups) != (&user.username, &user.groups) => {
                    r.steps.push(Step {
                        name: "cluster",
                        ok: false,
                        detail,
                        fix: Some(format!(
                            "aws-auth gives username {}, groups [{}]: the cluster maps this \
                             identity otherwise (an EKS access entry, or another aws-auth)",
                            p.username,
                            p.groups.join(", ")
                        )),
                    });
                }
                _ => r.pass("cluster", detail),
            }
            r.user = Some(user);
            Ok(())
        }
        Ok(Review::Refused { status, message }) => {
            let (detail, fix) = cluster::refused(status, &message, &identity, predicted.is_some());
            r.fail("cluster", detail, Some(fix))
        }
        Err(e) => r.fail("cluster", e.to_string(), None),
    }
}

/// Step 3: a token, checked against the EKS server's rules; the token and the access
/// key id that signed it.
fn token_step(
    issuer: &mut Issuer<'_>,
    cluster_id: &str,
    r: &mut Report,
) -> Result<(Token, String), Ended> {
    let token = match issuer.issue() {
        Ok(t) => t,
        Err(e) => return r.fail("token", e.to_string(), None),
    };
    let now = time::OffsetDateTime::now_utc();
    let checked = match issuer.check(&token.value, now) {
        Ok(c) => c,
        Err(e) => return r.fail("token", e.to_string(), None),
    };
    let detail = format!(
        "for {cluster_id} from {} ({}), {} of 4096 bytes, valid until {}",
        checked.host.as_deref().unwrap_or("?"),
        checked.region.as_deref().unwrap_or("?"),
        token.value.len(),
        Token::rfc3339(token.expiration)
    );
    if let Some((rule, why)) = checked.failures.first() {
        return r.fail("token", format!("{detail}: {rule}: {why}"), None);
    }
    r.pass("token", detail);
    let access_key_id = checked.access_key_id.clone().unwrap_or_default();
    Ok((token, access_key_id))
}

/// Step 5: the ConfigMap's user for `id`, as aws-iam-authenticator maps it.
fn predict(
    origin: &str,
    text: &Result<String, String>,
    id: &Identity,
    deadline: &Deadline,
    r: &mut Report,
) -> Option<User> {
    let text = match text {
        Ok(t) => t,
        Err(e) => {
            let _ = r.fail::<()>("aws-auth", e.clone(), None);
            return None;
        }
    };
    let auth = match aws_auth::parse(text, deadline.0) {
        Ok(a) => a,
        Err(e) => {
            let _ = r.fail::<()>(
                "aws-auth",
                format!("{origin} cannot be read as the aws-auth ConfigMap: {e}"),
                None,
            );
            return None;
        }
    };
    let notes = (!auth.problems.is_empty()).then(|| {
        format!(
            "aws-iam-authenticator would skip: {}",
            auth.problems.join("; ")
        )
    });
    match aws_auth::map(&auth, id) {
        Ok(u) => {
            let mut detail = format!(
                "{} maps {} to username {}, groups [{}]",
                u.from,
                id.canonical_arn,
                u.username,
                u.groups.join(", ")
            );
            if let Some(n) = &notes {
                detail.push_str(&format!("; {n}"));
            }
            r.pass("aws-auth", detail);
            Some(u)
        }
        Err(Unmapped::NeedsEc2) => {
            r.pass(
                "aws-auth",
                format!(
                    "mapRoles maps {} with {{{{EC2PrivateDNSName}}}}, which only the server can \
                     render (EC2 DescribeInstances of instance {})",
                    id.canonical_arn, id.session_name
                ),
            );
            None
        }
        Err(Unmapped::NotAnInstance) => {
            let _ = r.fail::<()>(
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
            );
            None
        }
        Err(Unmapped::NoMatch(near)) => {
            let _ = r.fail::<()>(
                "aws-auth",
                format!(
                    "no entry maps {}: EKS answers 401 Unauthorized",
                    id.canonical_arn
                ),
                Some(causes::unmapped_fix(id, &near, notes.as_deref())),
            );
            None
        }
    }
}
