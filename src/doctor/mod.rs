//! `doctor`: the path from the credentials to the Kubernetes user, step by step, each
//! passed or failed with what to do. kubectl says only `Unauthorized`; the path crosses
//! two accounts and four policies (the source role's trust, its permission to assume
//! the target, the target's trust, the cluster's mapping), and each step here names the
//! one that is missing. The walk makes a typed [`Report`]; the caller renders it.

mod access;
mod causes;
mod cluster;
mod report;

use std::time::{Duration, Instant};

use crate::env::Env;
use crate::issuer::Issuer;
use crate::kube::Review;
use crate::kubeconfig::Config;
use crate::mapping::aws_auth::{self, AwsAuth, Unmapped};
use crate::mapping::{Identity, User};
use crate::runtime::Runtime;
use crate::session::SKEW_THRESHOLD;
use crate::token::Token;

use access::Lookup;
use report::Ended;
pub use report::{ExecRequest, Inputs, Report, Step};

/// Walks the path of `inputs` in `env`, within the request's timeout.
pub fn run(inputs: &Inputs<'_>, env: &Env, runtime: Runtime) -> Report {
    let mut report = Report::default();
    let _ = walk(inputs, env, runtime, &mut report);
    // No false green: a walk that saw nothing fail but nothing map the identity either
    // says what it could not check.
    if report.ok() && !report.mapped {
        // The access entries are offered only when they were not read (nor are there
        // none to read: mode CONFIG_MAP): when read, aws-auth is what is left.
        let entries_read = report.authentication_mode.as_deref() == Some("CONFIG_MAP")
            || report
                .steps
                .iter()
                .any(|s| s.name == "access-entry" && s.ok && s.fix.is_none());
        let fix = if entries_read {
            "the cluster leaves it to aws-auth: check it with --aws-auth FILE (kubectl get \
             configmap aws-auth -n kube-system -o yaml), or --kubeconfig FILE (the cluster's \
             own answer)"
        } else {
            "check it with --aws-auth FILE (kubectl get configmap aws-auth -n kube-system \
             -o yaml), --kubeconfig FILE (the cluster's own answer), or let doctor read the \
             access entries (--region, and eks:DescribeCluster, eks:DescribeAccessEntry, \
             eks:ListAccessEntries, eks:ListAssociatedAccessPolicies)"
        };
        let _ = report.fail::<()>(
            "mapping",
            "not checked: no step showed that EKS maps this identity to a Kubernetes user".into(),
            Some(fix.into()),
        );
    }
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
        let (detail, fix) = causes::chain_failure(f, &chain);
        let name = if f.role_arn.is_some() {
            "role"
        } else {
            "credentials"
        };
        return r.fail(name, detail, fix);
    }
    // 3: the token, and the clock get-token signs it on.
    let (token, access_key_id) = token_step(&mut issuer, &request.cluster_id, r)?;
    clock_step(&issuer, r);
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
    // What was given is read before EKS is asked: a file doctor cannot read ends the
    // walk here, no request made for it.
    let auth = match &inputs.aws_auth {
        Some((origin, text)) => Some(read_aws_auth(origin, text, &deadline, r)?),
        None => None,
    };
    let view = match &inputs.kubeconfig {
        Some(path) => match Config::read(path, deadline.0)
            .and_then(|c| c.context(inputs.context.as_deref()))
        {
            Ok(v) => Some(v),
            Err(e) => return r.fail("kubeconfig", e.to_string(), None),
        },
        None => None,
    };
    // 5: the cluster's access configuration, then aws-auth as EKS's precedence has it:
    // CONFIG_MAP reads aws-auth alone, API access entries alone, API_AND_CONFIG_MAP the
    // principal's entry, else aws-auth.
    let access = access::read(&mut issuer, &request.cluster_id, &identity, r);
    r.authentication_mode = access.mode().map(str::to_owned);
    let mode = access.mode().unwrap_or("");
    let entrys = match &access.entry {
        Lookup::Mapped(u) => {
            r.mapped = true;
            Some(u.clone())
        }
        _ => None,
    };
    // Whether EKS reads aws-auth for this principal (`None`: it does not), and what was
    // assumed to say so.
    let reads_aws_auth = match (&access.entry, mode) {
        (Lookup::Mapped(_) | Lookup::Unusable, _) | (_, "API") => None,
        (Lookup::Absent, _) | (_, "CONFIG_MAP") => Some(None),
        (_, "API_AND_CONFIG_MAP") => Some(Some(
            "assuming no access entry maps it (they could not be read)",
        )),
        _ => Some(Some(
            "assuming the cluster reads aws-auth (its authentication mode is not known)",
        )),
    };
    let predicted = match (reads_aws_auth, &auth) {
        (Some(note), Some(auth)) => predict(auth, &identity, note, r),
        (None, Some(_)) => {
            let why = if mode == "API" {
                "the cluster's authentication mode is API: EKS does not read it"
            } else {
                "EKS maps this principal by its access entry, which takes precedence"
            };
            r.pass("aws-auth", format!("not used: {why}"));
            entrys
        }
        (_, None) => entrys,
    };
    r.user = predicted.clone();
    // 6: the cluster's own answer, to the token its kubeconfig's user would make.
    let Some(view) = view else {
        return Ok(());
    };
    let sent = cluster::users_token(
        inputs,
        env,
        &log,
        &view,
        &request,
        token,
        access.cluster.as_ref(),
        r,
    )?;
    match cluster::ask(env, &view, &sent, deadline.left()) {
        Ok(Review::User(u)) => {
            let mut user = User {
                username: u.username,
                groups: u
                    .groups
                    .into_iter()
                    .filter(|g| g != "system:authenticated")
                    .collect(),
                from: "the cluster",
                policies: Vec::new(),
            };
            let detail = format!(
                "the cluster says: username {}, groups [{}]",
                user.username,
                user.groups.join(", ")
            );
            r.mapped = true;
            match &predicted {
                Some(p) if (&p.username, &p.groups) != (&user.username, &user.groups) => {
                    r.steps.push(Step {
                        name: "cluster",
                        ok: false,
                        detail,
                        fix: Some(format!(
                            "{} gives username {}, groups [{}]: the cluster maps this \
                             identity otherwise (an EKS access entry, or another aws-auth)",
                            p.from,
                            p.username,
                            p.groups.join(", ")
                        )),
                    });
                }
                Some(p) => {
                    // The same user: what mapped it, and its policies, are the prediction's.
                    user.from = p.from;
                    user.policies = p.policies.clone();
                    r.pass("cluster", detail);
                }
                None => r.pass("cluster", detail),
            }
            r.user = Some(user);
            Ok(())
        }
        Ok(Review::Refused { status, message }) => {
            let (detail, fix) = cluster::refused(status, &message, &identity, predicted.as_ref());
            r.fail("cluster", detail, Some(fix))
        }
        Err(e) => {
            let fix = cluster::failed(&e, access.cluster.as_ref(), &request.cluster_id);
            r.fail("cluster", e.to_string(), fix)
        }
    }
}

/// How far from AWS's time a token may be signed: a token from EKS's future is refused,
/// and one signed further back dies before kubectl stops using it (14 of 15 minutes).
const CLOCK_SLACK: time::Duration = time::Duration::minutes(1);

/// The clock step, when a server told this run its time: get-token signs on AWS's time
/// only when its chain asks STS, which tells it, and the skew is one the SDKs correct
/// (beyond 4 minutes); otherwise on this machine's clock, which EKS judges on its own.
fn clock_step(issuer: &Issuer<'_>, r: &mut Report) {
    let Some(skew) = issuer.clock_skew().filter(|s| s.abs() > CLOCK_SLACK) else {
        return;
    };
    let detail = format!(
        "this machine's clock is {} {} AWS's (a server's Date said)",
        crate::timefmt::human_duration(skew.whole_seconds().abs()),
        if skew.is_positive() {
            "behind"
        } else {
            "ahead of"
        }
    );
    let why = if issuer.keys_as_they_are() {
        "get-token signs with these keys on this clock (its chain asks no server the time)"
    } else if skew.abs() <= SKEW_THRESHOLD {
        "get-token corrects only a skew beyond 4 minutes, as the AWS SDKs do, so it signs on \
         this clock"
    } else {
        r.pass(
            "clock",
            format!("{detail}: get-token learns it from STS and signs on AWS's time"),
        );
        return;
    };
    let _ = r.fail::<()>(
        "clock",
        format!(
            "{detail}: {why}, and EKS refuses a token dated in its future or more than 15 \
             minutes in its past"
        ),
        Some("set this machine's clock right (NTP: timedatectl set-ntp true)".into()),
    );
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
    // Judged as EKS judges it: on the servers' clock.
    let checked = match issuer.check(&token.value, issuer.now()) {
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

/// The aws-auth ConfigMap given, read before EKS is asked: one doctor cannot read ends
/// the walk (step `aws-auth`).
fn read_aws_auth(
    origin: &str,
    text: &Result<String, String>,
    deadline: &Deadline,
    r: &mut Report,
) -> Result<AwsAuth, Ended> {
    let text = match text {
        Ok(t) => t,
        Err(e) => return r.fail("aws-auth", e.clone(), None),
    };
    aws_auth::parse(text, deadline.0).or_else(|e| {
        r.fail(
            "aws-auth",
            format!("{origin} cannot be read as the aws-auth ConfigMap: {e}"),
            None,
        )
    })
}

/// Step `aws-auth`: the ConfigMap's user for `id`, as aws-iam-authenticator maps it;
/// `note` says what was assumed of the cluster's mode.
fn predict(auth: &AwsAuth, id: &Identity, note: Option<&str>, r: &mut Report) -> Option<User> {
    let notes = (!auth.problems.is_empty()).then(|| {
        format!(
            "aws-iam-authenticator would skip: {}",
            auth.problems.join("; ")
        )
    });
    match aws_auth::map(auth, id) {
        Ok(u) => {
            let mut detail = format!(
                "{} maps {} to username {}, groups [{}]",
                u.from,
                id.canonical_arn,
                u.username,
                u.groups.join(", ")
            );
            if let Some(n) = note {
                detail.push_str(&format!("; {n}"));
            }
            // What the authenticator skips may be what was meant (a group lost).
            r.caveat("aws-auth", detail, notes);
            r.mapped = true;
            Some(u)
        }
        Err(Unmapped::NeedsEc2) => {
            r.mapped = true;
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
        Err(Unmapped::NoUsername) => None,
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
