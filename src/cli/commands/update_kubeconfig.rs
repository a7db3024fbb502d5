//! `eks update-kubeconfig`, as aws-cli does it: describe the cluster, then merge its
//! cluster entry, a user that gets tokens, and a context into the kubeconfig the user
//! already has, and make the context current. Every other entry and field stays as it
//! was, read as kubectl reads it. A file that cannot be read as a kubeconfig, or that
//! the caller may not write, is left alone, before any request. The file, its lock and
//! its layout are the library's ([`eks_token::kubeconfig`]).

use std::time::Instant;

use eks_token::kubeconfig::{self, Auth, Cluster, Context, Exec, File, Lock, User};
use eks_token::{Env, Error, Log};

use crate::cli::args::{Dialect, GetToken, UpdateKubeconfig};
use crate::cli::failure::Failure;
use crate::cli::kubeconfig::{token_args, Chain, Program};
use crate::cli::output::terminal;
use crate::cli::signals;

/// `eks update-kubeconfig`: what goes to stdout.
pub(crate) fn update(
    args: GetToken,
    u: &UpdateKubeconfig,
    env: &Env,
    program: &Program,
    log: &Log,
) -> Result<String, Failure> {
    // The whole command, waiting for the lock included, within --timeout.
    let deadline = Instant::now() + args.request.timeout;
    let env = args.effective_env(env);
    let paths = kubeconfig::candidates(u.kubeconfig.as_deref(), &env)?;
    // The first file is the one written unless another already holds the cluster: it
    // must be usable (and writable) before anything is asked of AWS.
    let first = File::load(&paths[0], false, deadline)?;
    if !u.dry_run {
        first.check_writable()?;
    }
    // Every other file of KUBECONFIG is read now too: one kubectl would refuse (a bomb,
    // not YAML, unreadable) is an error naming it, as kubectl's would be, not a file
    // skipped in silence while the entry goes elsewhere.
    let others = paths[1..]
        .iter()
        .map(|p| File::load(p, false, deadline))
        .collect::<Result<Vec<_>, _>>()?;
    let command = program.exec_command(&env)?;
    let mut issuer = super::issuer(&args.request, &env, log, None)?;
    let cluster = issuer.describe_cluster(&u.name)?;
    if let Some(status) = cluster.status.as_deref() {
        if !["ACTIVE", "UPDATING"].contains(&status) {
            return Err(Error::InvalidInput(format!(
                "cluster {} is {status}: a kubeconfig needs it ACTIVE (or UPDATING)",
                u.name
            ))
            .into());
        }
    }
    // Another file of KUBECONFIG that already has this cluster is updated instead.
    let mut path = paths[0].clone();
    if !first.has_cluster(&cluster.arn) {
        if let Some(k) = others.iter().find(|k| k.has_cluster(&cluster.arn)) {
            path = k.path().to_path_buf();
        }
    }
    let cluster_entry = Cluster {
        name: cluster.arn.clone(),
        server: cluster.endpoint.clone(),
        ca_data: cluster.ca_data.clone(),
        proxy_url: u.proxy_url.clone(),
        exec_config: None,
    };
    // The region the cluster was asked in (its ARN says the same: it was checked).
    let region = cluster.arn.split(':').nth(3).unwrap_or_default();
    let id = match &cluster.outpost_id {
        Some(id) => ("--cluster-id", id.as_str()),
        None => ("--cluster-name", u.name.as_str()),
    };
    let roles: Vec<String> = u.role_arn.iter().cloned().collect();
    let chain = Chain {
        roles: &roles,
        ..Chain::default()
    };
    let aws = args.print.dialect == Dialect::Aws;
    let user_name = u.user_alias.clone().unwrap_or_else(|| cluster.arn.clone());
    let user = User {
        name: user_name.clone(),
        auth: Auth::Exec(Exec {
            command,
            args: token_args(aws, id, region, &chain),
            env: issuer
                .named_profile()
                .map(|p| ("AWS_PROFILE".to_owned(), p.to_owned()))
                .into_iter()
                .collect(),
            ..Exec::default()
        }),
    };
    let context_name = u.alias.clone().unwrap_or_else(|| user_name.clone());
    let context = Context {
        name: context_name.clone(),
        cluster: cluster.arn.clone(),
        user: user_name,
    };
    // Under the lock, the file as it is now: changes made meanwhile are kept.
    let _lock = if u.dry_run {
        None
    } else {
        signals::on_stop(|sig| {
            crate::cli::output::note(
                &Log::default(),
                format_args!("stopped by signal {sig}; the kubeconfig was left as it was"),
            );
            128 + sig
        })
        .map_err(|e| Error::Io {
            what: "cannot handle SIGTERM".into(),
            source: e,
        })?;
        let lock = Lock::take(&path, deadline)?;
        let release = lock.release_handle();
        signals::on_stop_do(Box::new(move || release.release()));
        Some(lock)
    };
    let mut config = File::load(&path, !u.dry_run, deadline)?;
    if !u.dry_run {
        config.check_writable()?;
    }
    let updating = config.merge(&cluster_entry, &user, &context);
    let text = config.text(deadline)?;
    if u.dry_run {
        return Ok(text);
    }
    {
        let _writing = signals::writing();
        config.write(&text)?;
    }
    let path = terminal(&config.path().display().to_string());
    let context_name = terminal(&context_name);
    let mut out = if updating {
        format!("Updated context {context_name} in {path}\n")
    } else {
        format!("Added new context {context_name} to {path}\n")
    };
    if u.verbose {
        out.push_str("Entries:\n\n");
        out.push_str(&crate::cli::output::json_for_terminal(
            &kubeconfig::entries_text(&cluster_entry, &user, &context),
        ));
    }
    Ok(out)
}
