//! The library's request from a command line's options: the cluster, the role chain,
//! where, the cache and the deadline (shared by eks-token's and aws-cli's forms), and
//! what global options set in the environment.

use std::path::PathBuf;
use std::time::Duration;

use eks_token::{Env, Request};

use super::error::{usage, ArgError, Result};
use super::low::Low;
use super::values;
use crate::cli::exec_credential::ClusterConfig;

/// Fills what the command line leaves out with what kubectl's `provideClusterInfo`
/// tells (the cluster's config in `KUBERNETES_EXEC_INFO`): the cluster, region, session
/// name, external id, duration; and the config's roles go to `cluster_roles` when the
/// command line names none (a chain, also where a dialect keeps one `--role-arn`).
pub(crate) fn fill_cluster_info(low: &mut Low, env: &Env) -> Result<()> {
    let config = ClusterConfig::of(env.get("KUBERNETES_EXEC_INFO")).map_err(ArgError::Invalid)?;
    let Some(c) = config else {
        return Ok(());
    };
    if low.cluster_name.is_none() && low.cluster_id.is_none() {
        low.cluster_name = c.cluster;
    }
    for (slot, value) in [
        (&mut low.region, c.region),
        (&mut low.session_name, c.session_name),
        (&mut low.external_id, c.external_id),
        (&mut low.duration_seconds, c.duration_seconds),
    ] {
        if slot.is_none() {
            *slot = value;
        }
    }
    if low.role_arns.is_empty() {
        low.cluster_roles = c.role_arns;
    }
    Ok(())
}

/// What `low` asks of the library; `need_cluster`: whether the command needs a cluster.
/// The deadline: `--timeout`, else aws-cli's `--cli-read-timeout`, else
/// `default_timeout`. With the variables global options set (`--ca-bundle`).
pub(crate) fn request(
    low: &Low,
    need_cluster: bool,
    default_timeout: Duration,
) -> Result<(Request, Vec<(&'static str, String)>)> {
    let cluster =
        match (&low.cluster_name, &low.cluster_id) {
            (Some(_), Some(_)) => return Err(usage(
                "--cluster-name and --cluster-id cannot be given together: name the cluster once",
            )),
            (n, i) => n.clone().or(i.clone()),
        };
    let cluster_id = match (cluster, need_cluster) {
        (Some(c), _) => c,
        (None, false) => String::new(),
        (None, true) => return Err(usage("missing --cluster-name NAME (or -i/--cluster-id)")),
    };
    let whole_seconds = |v: &Option<String>, name: &str| -> Result<Option<u64>> {
        v.as_deref()
            .map(|v| values::parse_seconds(v, name))
            .transpose()
    };
    // aws-cli's timeouts, in whole seconds: --cli-read-timeout bounds the run here (0:
    // ours); --cli-connect-timeout each connect (0: no limit of its own, the run's
    // deadline still holds).
    let timeout = match &low.timeout {
        Some(v) => values::parse_timeout(v, "--timeout")?,
        None => match whole_seconds(&low.cli_read_timeout, "--cli-read-timeout")? {
            Some(secs) if secs > 0 => {
                values::parse_timeout(&secs.to_string(), "--cli-read-timeout")?
            }
            _ => default_timeout,
        },
    };
    let connect_timeout =
        whole_seconds(&low.cli_connect_timeout, "--cli-connect-timeout")?.map(|secs| match secs {
            0 => timeout,
            s => Duration::from_secs(s).min(values::MAX_DURATION),
        });
    if low.no_cache && low.cache_dir.is_some() {
        return Err(usage(
            "--no-cache and --cache-dir contradict each other: give one",
        ));
    }
    if let Some(c) = &low.color {
        if !["on", "off", "auto"].contains(&c.as_str()) {
            return Err(usage(format!("--color {c:?}: use on, off or auto")));
        }
    }
    let mut env = Vec::new();
    if let Some(b) = &low.ca_bundle {
        env.push(("AWS_CA_BUNDLE", b.clone()));
    }
    let request = Request {
        cluster_id,
        role_arns: low.role_arns.clone(),
        session_name: low.session_name.clone(),
        forward_session_name: low.forward_session_name,
        external_id: low.external_id.clone(),
        duration_seconds: duration_seconds(low)?,
        region: low.region.clone(),
        profile: low.profile.clone(),
        cache_dir: low.cache_dir.as_ref().map(PathBuf::from),
        no_cache: low.no_cache,
        timeout,
        connect_timeout,
    };
    Ok((request, env))
}

/// `--duration-seconds` (or provideClusterInfo's `durationSeconds`).
pub(crate) fn duration_seconds(low: &Low) -> Result<Option<u32>> {
    low.duration_seconds
        .as_deref()
        .map(values::parse_duration_seconds)
        .transpose()
}

/// The `--query` of a command line.
pub(crate) fn query(low: &Low) -> Result<Option<Vec<String>>> {
    low.query.as_deref().map(values::parse_query).transpose()
}
