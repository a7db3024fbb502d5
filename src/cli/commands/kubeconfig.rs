//! `kubeconfig`: a kubeconfig (JSON) for one cluster, whose user runs this program.

use eks_token::kubeconfig::{self, Auth, Cluster, Context, Exec, User};
use eks_token::{files, Env, Error, Log};

use crate::cli::args::{GetToken, KubeconfigArgs};
use crate::cli::failure::Failure;
use crate::cli::kubeconfig::{token_args, Chain, Program};

/// `kubeconfig`: DescribeCluster with the chain's credentials, then a kubeconfig (JSON)
/// whose user runs this binary with the same chain.
pub(crate) fn kubeconfig(
    args: GetToken,
    k: &KubeconfigArgs,
    env: &Env,
    program: &Program,
    log: &Log,
) -> Result<String, Failure> {
    check_out(k)?;
    let env = &args.effective_env(env);
    let r = &args.request;
    let mut issuer = super::issuer(r, env, log, None)?;
    let region = issuer.region().ok_or_else(|| {
        Error::InvalidInput(
            "kubeconfig needs a region (EKS has no global endpoint): use --region or AWS_REGION"
                .into(),
        )
    })?;
    let command = match &k.command {
        Some(c) => c.clone(),
        None => program.path()?,
    };
    let cluster = issuer.describe_cluster(&r.cluster_id)?;
    let chain = Chain::of(r, issuer.named_profile());
    let user = User {
        name: cluster.arn.clone(),
        auth: Auth::Exec(Exec {
            command,
            args: token_args(false, ("--cluster-name", &cluster.name), &region, &chain),
            interactive_mode: Some("IfAvailable".into()),
            provide_cluster_info: Some(false),
            ..Exec::default()
        }),
    };
    let context = Context {
        name: k.alias.clone().unwrap_or_else(|| cluster.arn.clone()),
        cluster: cluster.arn.clone(),
        user: cluster.arn.clone(),
    };
    let entry = Cluster {
        name: cluster.arn.clone(),
        server: cluster.endpoint.clone(),
        ca_data: cluster.ca_data.clone(),
        proxy_url: None,
        exec_config: None,
    };
    let body = kubeconfig::json(
        &[entry],
        &[user],
        std::slice::from_ref(&context),
        &context.name,
    );
    emit(k, body, &cluster.arn, log)
}

/// `--out` (a link there followed), checked before any request.
pub(crate) fn check_out(k: &KubeconfigArgs) -> Result<(), Error> {
    if let Some(out) = &k.out {
        files::check_target(out, files::Links::Follow).map_err(|e| Error::Io {
            what: format!("cannot write {}", out.display()),
            source: e,
        })?;
        if out.exists() && !k.force {
            return Err(Error::InvalidInput(format!(
                "{} exists; use --force to overwrite it",
                out.display()
            )));
        }
    }
    Ok(())
}

/// The kubeconfig `body` (of `what`) on stdout, or written to `--out`.
pub(crate) fn emit(
    k: &KubeconfigArgs,
    body: String,
    what: &str,
    log: &Log,
) -> Result<String, Failure> {
    match &k.out {
        None => Ok(body),
        Some(out) => {
            // A link there (a dotfiles repository's) is written through, as
            // `eks update-kubeconfig` writes through it.
            files::locate(out, Some(0o700))
                .and_then(|(dir, name)| {
                    dir.write_atomic(&name, body.as_bytes(), files::WriteOptions::mode(0o600))
                })
                .map_err(|e| Error::Io {
                    what: format!("cannot write {}", out.display()),
                    source: e,
                })?;
            crate::cli::output::note(
                log,
                format_args!("wrote the kubeconfig of {what} to {}", out.display()),
            );
            Ok(String::new())
        }
    }
}
