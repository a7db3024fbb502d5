//! The last steps of `doctor`: the kubeconfig's context (what kubectl would send, and
//! where), and the cluster's own answer. A token goes only where kubectl would send it:
//! to the context's server (verified TLS, no proxy-url doctor does not use), made as
//! its user's program would make it; never printed, whatever the server says back.

use std::time::Duration;

use super::report::{Ended, Inputs, Report};
use crate::env::Env;
use crate::error::Result;
use crate::issuer::Issuer;
use crate::kube::{self, Review};
use crate::kubeconfig::ContextView;
use crate::log::Log;
use crate::mapping::Identity;
use crate::request::Request;
use crate::runtime::Runtime;
use crate::token::Token;

/// What the walk sends the cluster: the token and who made it.
pub(super) struct Sent {
    token: String,
}

/// The token kubectl would send the context's server: the one doctor made when the
/// context's user asks for the same (cluster, roles, profile, region...), else one made
/// as that user's program would (its exec arguments read by the caller, in their
/// dialect), after saying how the two differ.
pub(super) fn users_token(
    inputs: &Inputs<'_>,
    env: &Env,
    log: &Log,
    view: &ContextView,
    doctors: &Request,
    doctors_token: Token,
    r: &mut Report,
) -> std::result::Result<Sent, Ended> {
    let at = format!("context {:?} (server {})", view.name, view.server);
    if view.insecure_skip_tls_verify {
        return r.fail(
            "kubeconfig",
            format!(
                "{at} skips TLS verification: doctor sends a token only to a server it can \
                 verify"
            ),
            None,
        );
    }
    if view.proxy_url.is_some() {
        return r.fail(
            "kubeconfig",
            format!(
                "{at} is reached through a proxy-url, which doctor does not use: set \
                 HTTPS_PROXY to it for this run instead"
            ),
            None,
        );
    }
    let Some(exec) = &view.exec else {
        return r.fail(
            "kubeconfig",
            format!(
                "{at}: its user {:?} runs no exec plugin: doctor sends a token only as \
                 kubectl would",
                view.user
            ),
            None,
        );
    };
    let Some(theirs) = (inputs.exec_request)(view) else {
        return r.fail(
            "kubeconfig",
            format!(
                "{at}: its user runs {:?}, which is not eks-token or a tool it stands in \
                 for: doctor sends a token only as kubectl would, made as that program makes it",
                exec.command
            ),
            None,
        );
    };
    let differences = differences(doctors, &theirs.request, &theirs.env);
    if differences.is_empty() {
        r.pass(
            "kubeconfig",
            format!(
                "{at}: its user runs {} for the same request as doctor's",
                exec.command
            ),
        );
        return Ok(Sent {
            token: doctors_token.value,
        });
    }
    // What kubectl would send: a token made as the user's program makes it.
    let mut env = env.clone();
    for (k, v) in &theirs.env {
        env.set(k, v);
    }
    let mut request = theirs.request.clone();
    request.no_cache = true;
    let runtime = Runtime {
        log: log.clone(),
        ..Runtime::default()
    };
    let token = Issuer::with(&request, &env, runtime).and_then(|mut i| i.issue());
    let detail = format!(
        "{at}: its user runs {} with {}, unlike doctor's flags; what kubectl would send is checked",
        exec.command,
        differences.join(", ")
    );
    match token {
        Ok(t) => {
            r.pass("kubeconfig", detail);
            Ok(Sent { token: t.value })
        }
        Err(e) => r.fail(
            "kubeconfig",
            format!("{detail}, and it cannot make a token: {e}"),
            None,
        ),
    }
}

/// How the kubeconfig user's request differs from doctor's, in words (empty: the same).
fn differences(doctors: &Request, theirs: &Request, env: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    if theirs.cluster_id != doctors.cluster_id {
        out.push(format!(
            "cluster {:?} (doctor's: {:?})",
            theirs.cluster_id, doctors.cluster_id
        ));
    }
    if theirs.role_arns != doctors.role_arns {
        let roles = |r: &[String]| {
            if r.is_empty() {
                "no role".to_owned()
            } else {
                format!("roles [{}]", r.join(", "))
            }
        };
        out.push(format!(
            "{} (doctor's: {})",
            roles(&theirs.role_arns),
            roles(&doctors.role_arns)
        ));
    }
    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "none".into());
    for (what, a, b) in [
        ("profile", &theirs.profile, &doctors.profile),
        ("region", &theirs.region, &doctors.region),
        ("session name", &theirs.session_name, &doctors.session_name),
        ("external id", &theirs.external_id, &doctors.external_id),
    ] {
        if a != b {
            out.push(format!("{what} {} (doctor's: {})", opt(a), opt(b)));
        }
    }
    for (k, v) in env {
        out.push(format!("{k}={v} in its environment"));
    }
    out
}

/// A SelfSubjectReview to the context's server with `sent`'s token.
pub(super) fn ask(env: &Env, view: &ContextView, sent: &Sent, timeout: Duration) -> Result<Review> {
    kube::self_subject_review(
        env,
        &view.server,
        view.ca_pem.as_deref(),
        &sent.token,
        timeout,
    )
}

/// What a refused SelfSubjectReview means.
pub(super) fn refused(status: u16, message: &str, id: &Identity, mapped: bool) -> (String, String) {
    let said = if message.is_empty() {
        String::new()
    } else {
        format!(" ({message})")
    };
    match status {
        401 if mapped => (
            format!("the cluster answered 401 Unauthorized{said}"),
            "the aws-auth given maps this identity, so either the token is for another \
             cluster (--cluster-name is the EKS cluster's name, which the token is signed for) \
             or the cluster's aws-auth is another: compare it with kubectl get configmap \
             aws-auth -n kube-system -o yaml (and the access entries, aws eks \
             list-access-entries)"
                .into(),
        ),
        401 => (
            format!("the cluster answered 401 Unauthorized{said}"),
            format!(
                "the token is for another cluster (--cluster-name), or {} is mapped to no \
                 user: add a mapRoles entry or an access entry (doctor --aws-auth shows the \
                 entry to add)",
                id.canonical_arn
            ),
        ),
        403 => (
            format!("the cluster answered 403 Forbidden{said}"),
            "the token was accepted (the identity is a user), but RBAC does not let it \
             create selfsubjectreviews (every authenticated user may, unless the cluster's \
             system:basic-user binding was changed)"
                .into(),
        ),
        404 => (
            format!("the cluster answered 404 Not Found{said}"),
            "the token was accepted (a refused token gets 401), but the cluster has no \
             SelfSubjectReview API (authentication.k8s.io/v1, Kubernetes 1.28 and later): \
             try kubectl get --raw /version with this kubeconfig"
                .into(),
        ),
        other => (
            format!("the cluster answered HTTP {other}{said}"),
            "not an answer of the Kubernetes API: is the kubeconfig's server the cluster's?".into(),
        ),
    }
}
