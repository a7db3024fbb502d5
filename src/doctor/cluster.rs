//! The last steps of `doctor`: the kubeconfig's context (what kubectl would send, and
//! where), and the cluster's own answer. A token goes only where kubectl would send it:
//! to the context's server (verified TLS, no proxy-url doctor does not use), made as
//! its user's program would make it; never printed, whatever the server says back.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::report::{Ended, Inputs, Report};
use crate::eks::Cluster;
use crate::env::Env;
use crate::error::{Error, HttpFailure, Result};
use crate::issuer::Issuer;
use crate::kube::{self, Review};
use crate::kubeconfig::ContextView;
use crate::log::Log;
use crate::mapping::{Identity, User};
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
/// dialect), after saying how the two differ. The server and its CA are checked against
/// the cluster's own (DescribeCluster's `eks`, when known), and the exec entry as
/// kubectl reads it: its apiVersion, its program on PATH.
#[allow(clippy::too_many_arguments)]
pub(super) fn users_token(
    inputs: &Inputs<'_>,
    env: &Env,
    log: &Log,
    view: &ContextView,
    doctors: &Request,
    doctors_token: Token,
    eks: Option<&Cluster>,
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
    if let Some(c) = eks {
        if !same_server(&view.server, &c.endpoint) {
            return r.fail(
                "kubeconfig",
                format!(
                    "{at}: not the endpoint of cluster {} ({}, DescribeCluster): this \
                     context reaches another cluster",
                    c.name, c.endpoint
                ),
                Some(format!(
                    "write server: {} and its certificate-authority-data, or use the \
                     context of cluster {} (--context)",
                    c.endpoint, c.name
                )),
            );
        }
        let theirs = STANDARD.decode(c.ca_data.trim()).unwrap_or_default();
        let differs = view.ca_pem.as_ref().is_some_and(|ca| !holds(ca, &theirs));
        if differs && !theirs.is_empty() {
            return r.fail(
                "kubeconfig",
                format!(
                    "{at}: its certificate authority is not cluster {}'s (DescribeCluster): \
                     TLS to the cluster fails",
                    c.name
                ),
                Some(format!(
                    "write the cluster's CA as the kubeconfig's certificate-authority-data:\n\
                     certificate-authority-data: {}",
                    c.ca_data
                )),
            );
        }
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
    // The exec entry as kubectl reads it before it runs anything.
    let mut refused = Vec::new();
    let mut notes = Vec::new();
    match exec.api_version.as_str() {
        "client.authentication.k8s.io/v1alpha1" => refused.push(
            "kubectl 1.24 and later refuse apiVersion client.authentication.k8s.io/v1alpha1: \
             write apiVersion: client.authentication.k8s.io/v1beta1"
                .to_owned(),
        ),
        "client.authentication.k8s.io/v1" if exec.interactive_mode.is_none() => refused.push(
            "kubectl refuses an exec entry of apiVersion client.authentication.k8s.io/v1 \
             without interactiveMode: add interactiveMode: Never"
                .to_owned(),
        ),
        _ => {}
    }
    match locate(&exec.command, env.get("PATH").unwrap_or("")) {
        None => refused.push(format!(
            "{} is not found on PATH ({}): install it, or write its absolute path as command",
            exec.command,
            env.get("PATH").unwrap_or("")
        )),
        Some(found) if !exec.command.contains('/') => notes.push(format!(
            "{} is {found} on this PATH; kubectl started by a GUI app or an IDE often has \
             a shorter PATH: write command: {found}",
            exec.command
        )),
        Some(_) => {}
    }
    let runs = format!(
        "{at}: its user runs {} ({}{})",
        exec.command,
        exec.api_version,
        if exec.provide_cluster_info {
            ", provideClusterInfo"
        } else {
            ""
        }
    );
    let theirs = match (inputs.exec_request)(view) {
        None => {
            refused.push(format!(
                "{} is not eks-token or a tool it stands in for: doctor sends a token only as \
                 kubectl would, made as that program makes it",
                exec.command
            ));
            None
        }
        Some(Err(why)) => {
            refused.push(format!("its arguments do not parse: {why}"));
            None
        }
        Some(Ok(t)) => Some(t),
    };
    let (Some(theirs), true) = (theirs, refused.is_empty()) else {
        refused.extend(notes);
        return r.fail("kubeconfig", runs, Some(refused.join("\n")));
    };
    let roles = if theirs.request.role_arns.is_empty() {
        String::new()
    } else {
        format!(" as [{}]", theirs.request.role_arns.join(", "))
    };
    let runs = format!("{runs} for cluster {}{roles}", theirs.request.cluster_id);
    let fix = (!notes.is_empty()).then(|| notes.join("\n"));
    let differences = differences(doctors, &theirs.request, &theirs.env);
    if differences.is_empty() {
        r.caveat(
            "kubeconfig",
            format!("{runs}, the same request as doctor's"),
            fix,
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
        "{runs}, with {}, unlike doctor's flags; what kubectl would send is checked",
        differences.join(", ")
    );
    match token {
        Ok(t) => {
            r.caveat("kubeconfig", detail, fix);
            Ok(Sent { token: t.value })
        }
        Err(e) => r.fail(
            "kubeconfig",
            format!("{detail}, and it cannot make a token: {e}"),
            fix,
        ),
    }
}

/// Where kubectl finds `command`: itself when it names a path (an absolute one must be
/// an executable file), else the first executable file of that name in `path` (a
/// `PATH` value).
fn locate(command: &str, path: &str) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let runnable = |f: &str| {
        std::fs::metadata(f).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if command.contains('/') {
        // A relative path is the kubeconfig's directory's: not checked here.
        return (!command.starts_with('/') || runnable(command)).then(|| command.to_owned());
    }
    path.split(':')
        .filter(|d| !d.is_empty())
        .map(|d| format!("{}/{command}", d.trim_end_matches('/')))
        .find(|f| runnable(f))
}

/// Whether two server URLs name the same server: read by the one URL parser (the
/// host's case, a default port and a final `/` aside); as text when one does not read.
fn same_server(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        crate::url::parse(s.trim()).ok().map(|u| {
            let path = u.path.trim_end_matches('/').to_owned();
            (u.scheme, u.host.clone(), u.port_or_default(), path, u.query)
        })
    };
    match (norm(a), norm(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a
            .trim_end_matches('/')
            .eq_ignore_ascii_case(b.trim_end_matches('/')),
    }
}

/// Whether the PEM text `bundle` holds the certificate(s) of `pem` (line breaks and
/// spaces aside): a kubeconfig's CA may be a bundle with the cluster's CA in it.
fn holds(bundle: &[u8], pem: &[u8]) -> bool {
    let strip = |x: &[u8]| -> Vec<u8> {
        x.iter()
            .copied()
            .filter(|c| !c.is_ascii_whitespace())
            .collect()
    };
    let (bundle, pem) = (strip(bundle), strip(pem));
    !pem.is_empty() && bundle.windows(pem.len()).any(|w| w == pem)
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

/// What a SelfSubjectReview that got no answer means: TLS failing with a server
/// kubectl is configured for is the context's CA, not AWS_CA_BUNDLE.
pub(super) fn failed(e: &Error, eks: Option<&Cluster>, name: &str) -> Option<String> {
    let Error::Http {
        failure: HttpFailure::Tls(_),
        ..
    } = e
    else {
        return None;
    };
    let ca = match eks {
        Some(c) => format!(":\ncertificate-authority-data: {}", c.ca_data),
        None => format!(
            " (aws eks describe-cluster --name {name} --query cluster.certificateAuthority.data \
             --output text)"
        ),
    };
    Some(format!(
        "the server's certificate is not signed by the context's certificate authority: \
         write the cluster's CA as its certificate-authority-data{ca}"
    ))
}

/// What a refused SelfSubjectReview means; `predicted`: the user a mapping gave.
pub(super) fn refused(
    status: u16,
    message: &str,
    id: &Identity,
    predicted: Option<&User>,
) -> (String, String) {
    let said = if message.is_empty() {
        String::new()
    } else {
        format!(" ({message})")
    };
    match status {
        401 if predicted.is_some_and(|u| u.from == "access entry") => (
            format!("the cluster answered 401 Unauthorized{said}"),
            "its access entry maps this identity, so either the token is for another cluster \
             (--cluster-name is the EKS cluster's name, which the token is signed for), or the \
             entry was made for a role since deleted and made again (EKS matches the role's \
             unique id, not its ARN): delete the entry and create it again"
                .into(),
        ),
        401 if predicted.is_some() => (
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_and_a_ca_are_compared_as_kubectl_would_use_them() {
        let eks = "https://ABC.gr7.us-east-1.eks.amazonaws.com";
        for same in [
            eks,
            "https://abc.gr7.us-east-1.eks.amazonaws.com/",
            "https://abc.gr7.us-east-1.eks.amazonaws.com:443",
            "HTTPS://abc.gr7.us-east-1.eks.amazonaws.com:443/",
            " https://abc.gr7.us-east-1.eks.amazonaws.com",
        ] {
            assert!(same_server(same, eks), "{same}");
        }
        for other in [
            "https://def.gr7.us-east-1.eks.amazonaws.com",
            "https://abc.gr7.us-east-1.eks.amazonaws.com:8443",
            "http://abc.gr7.us-east-1.eks.amazonaws.com",
            "https://abc.gr7.us-east-1.eks.amazonaws.com/other",
            "https://abc.gr7.us-east-1.eks.amazonaws.com.evil.example",
        ] {
            assert!(!same_server(other, eks), "{other}");
        }
        let ca = b"-----BEGIN CERTIFICATE-----\nMIIB\nAQAB\n-----END CERTIFICATE-----\n";
        let bundle = b"-----BEGIN CERTIFICATE-----\nOTHER\n-----END CERTIFICATE-----\n\
                       -----BEGIN CERTIFICATE-----\r\nMIIBAQAB\r\n-----END CERTIFICATE-----\r\n";
        assert!(holds(bundle, ca) && holds(ca, ca));
        assert!(!holds(
            b"-----BEGIN CERTIFICATE-----\nOTHER\n-----END CERTIFICATE-----",
            ca
        ));
        assert!(locate("sh", "/nonexistent:/bin").is_some());
        assert!(locate("/nonexistent/eks-token", "/bin").is_none());
    }
}
