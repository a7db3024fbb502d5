//! Step 6 of `doctor`: the cluster's own answer. The token goes only to a server the
//! kubeconfig already sends this cluster's tokens to; what the server says back is
//! explained, and never prints the token.

use std::path::Path;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use yaml_rust2::Yaml;

use eks_token::kube::{self, Review};
use eks_token::{files, Env, Error};

use super::{read_text, MAX_FILE};
use crate::cli::args::{self, Command, Dialect};
use crate::cli::aws_auth::Identity;
use crate::cli::kubeconfig::yaml;

/// The cluster a kubeconfig user's exec plugin makes tokens for, when the plugin is
/// eks-token or a tool it stands in for (read by eks-token's own parser).
fn exec_cluster(exec: &Yaml) -> Option<String> {
    let command = exec["command"].as_str()?;
    let name = command.rsplit('/').next().unwrap_or(command);
    let args: Vec<String> = exec["args"]
        .as_vec()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    match args::parse(Dialect::of_program(name), &args, &Env::default()) {
        Ok(Command::GetToken(g)) => Some(g.request.cluster_id),
        _ => None,
    }
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

/// Step 6: a SelfSubjectReview to the cluster of the kubeconfig's context.
pub(super) fn ask_cluster(
    env: &Env,
    path: &Path,
    context: Option<&str>,
    cluster_id: &str,
    token: &str,
    deadline: Instant,
) -> Result<Review, Error> {
    // Each wait gets what is left of the walk's one deadline.
    let left = || {
        deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1))
    };
    let invalid =
        |why: String| Error::InvalidInput(format!("kubeconfig {}: {why}", path.display()));
    let text = read_text(path, left()).map_err(Error::InvalidInput)?;
    let config =
        yaml::parse(&text, deadline).map_err(|e| invalid(format!("cannot be read: {e}")))?;
    let get = |h: &yaml_rust2::yaml::Hash, k: &str| h.get(&yaml::key(k)).cloned();
    let context = match context {
        Some(c) => c.to_owned(),
        None => get(&config, "current-context")
            .and_then(|c| c.into_string())
            .ok_or_else(|| invalid("has no current-context: give --context".into()))?,
    };
    let named = |list: &str, name: &str| -> Option<Yaml> {
        get(&config, list)?
            .into_vec()?
            .into_iter()
            .find(|e| e["name"].as_str() == Some(name))
    };
    let ctx = named("contexts", &context)
        .ok_or_else(|| invalid(format!("has no context {context:?}")))?;
    let cluster_name = ctx["context"]["cluster"]
        .as_str()
        .ok_or_else(|| invalid(format!("context {context:?} names no cluster")))?
        .to_owned();
    let cluster = named("clusters", &cluster_name)
        .ok_or_else(|| invalid(format!("has no cluster {cluster_name:?}")))?;
    let c = &cluster["cluster"];
    let server = c["server"]
        .as_str()
        .ok_or_else(|| invalid(format!("cluster {cluster_name:?} has no server")))?;
    if c["insecure-skip-tls-verify"].as_bool() == Some(true) {
        return Err(invalid(format!(
            "cluster {cluster_name:?} skips TLS verification: doctor sends a token only to a \
             server it can verify"
        )));
    }
    if !c["proxy-url"].is_badvalue() {
        return Err(invalid(format!(
            "cluster {cluster_name:?} is reached through a proxy-url, which doctor does not \
             use: set HTTPS_PROXY to it for this run instead"
        )));
    }
    // The token goes only where this kubeconfig already sends the tokens of this
    // cluster: its user runs eks-token (or aws, aws-iam-authenticator, argocd-k8s-auth)
    // for the same cluster name. Another context's server gets nothing.
    let user_name = ctx["context"]["user"].as_str().unwrap_or("");
    let sends = named("users", user_name).and_then(|u| exec_cluster(&u["user"]["exec"]));
    if sends.as_deref() != Some(cluster_id) {
        return Err(invalid(format!(
            "context {context:?} (server {server}) {}: doctor sends a token for {cluster_id} \
             only to a server the kubeconfig sends them to (give --context)",
            match sends {
                Some(other) => format!("makes tokens for cluster {other:?}"),
                None => "does not run eks-token or a tool it stands in for".into(),
            }
        )));
    }
    let ca = match (
        c["certificate-authority-data"].as_str(),
        c["certificate-authority"].as_str(),
    ) {
        (Some(data), _) => Some(STANDARD.decode(data.trim()).map_err(|_| {
            invalid(format!(
                "cluster {cluster_name:?}'s certificate-authority-data is not base64"
            ))
        })?),
        (None, Some(file)) => {
            let file = path.parent().unwrap_or(Path::new(".")).join(file);
            Some(files::read_file(&file, MAX_FILE).map_err(|e| Error::Io {
                what: format!("cannot read the cluster's CA {}", file.display()),
                source: e,
            })?)
        }
        (None, None) => None,
    };
    kube::self_subject_review(env, server, ca.as_deref(), token, left())
}
