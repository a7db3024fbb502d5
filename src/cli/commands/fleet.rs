//! The commands of a clusters file (`--clusters FILE`): `write-token` keeping every
//! cluster's token file fresh from one process, its `--check`, and `kubeconfig` with a
//! context for each cluster. The library's [`Fleet`] makes the tokens on one base; this
//! reads the file, writes the files and prints.

use std::path::{Path, PathBuf};

use eks_token::fleet::{self, Entry};
use eks_token::kubeconfig::{self, absolute, resolved, Auth, Cluster, Context, Exec, User};
use eks_token::{files, Env, Error, Log, Request};
use serde_json::json;

use super::write_token::{
    api_version, check_file, check_target, keep, now_rfc3339, of, render_kubeconfig,
    stop_on_signals, Files, Writing,
};
use crate::cli::args::WriteFleet;
use crate::cli::args::{CaSource, CheckToken, GetToken, KubeconfigArgs, KubeconfigOut};
use crate::cli::exec_credential::{self, ClusterConfig};
use crate::cli::failure::Failure;
use crate::cli::kubeconfig::{token_args, Chain, Program};
use crate::cli::output::json_event;

type Result<T> = std::result::Result<T, Error>;

/// The clusters of the clusters file `path`.
fn load(path: &Path) -> Result<Vec<Entry>> {
    parse(path, &read(path)?)
}

/// The clusters file's bytes (at most [`fleet::MAX_FILE_BYTES`]).
fn read(path: &Path) -> Result<Vec<u8>> {
    files::read_file(path, fleet::MAX_FILE_BYTES).map_err(|e| Error::Io {
        what: format!("cannot read the clusters file {}", path.display()),
        source: e,
    })
}

/// The clusters of `bytes`, the clusters file `path`'s.
fn parse(path: &Path, bytes: &[u8]) -> Result<Vec<Entry>> {
    let what = format!("the clusters file {}", path.display());
    let text = std::str::from_utf8(bytes)
        .map_err(|_| Error::InvalidInput(format!("{what}: it is not UTF-8 text")))?;
    fleet::parse(text).map_err(|e| Error::InvalidInput(format!("{what}: {e}")))
}

/// An error of cluster `name`'s, named so.
fn of_cluster(name: &str, e: Error) -> Error {
    Error::InvalidInput(format!("cluster {name}: {e}"))
}

/// Each entry's token file (every one must have its `out`).
fn outs<'a>(entries: &'a [Entry], path: &Path) -> Result<Vec<&'a PathBuf>> {
    entries
        .iter()
        .map(|e| {
            e.out.as_ref().ok_or_else(|| {
                Error::InvalidInput(format!(
                    "the clusters file {}: cluster {} has no `out` (its token file)",
                    path.display(),
                    e.name
                ))
            })
        })
        .collect()
}

/// `write-token --clusters FILE`: every cluster's token file (and kubeconfig), once or
/// for ever with `--refresh`, on one schedule ([`keep`]). Every file is checked before
/// the first request (the clusters file names each once). With `--refresh`, a changed
/// clusters file (a ConfigMap's update) is read again: when it reads well, its clusters
/// replace the old ones; when not, the old ones go on and a line says why.
pub(crate) fn write(args: GetToken, w: &WriteFleet, env: &Env, log: &Log) -> Result<()> {
    let env = &args.effective_env(env);
    let api_version = api_version(args.print.format, env, log);
    let interactive = exec_credential::interactive(env.get("KUBERNETES_EXEC_INFO"));
    if w.refresh {
        // Before the fleet is made: a base that runs a program adds its stop to this.
        stop_on_signals()?;
    }
    let path = &w.clusters;
    let mut seen = stamp(path);
    let mut bytes = read(path)?;
    let mut entries = parse(path, &bytes)?;
    let prepare =
        |entries: &[Entry]| prepare(path, entries, &args, api_version, env, log, interactive);
    let (mut fleet, mut files) = prepare(&entries)?;
    let how = Writing {
        api_version,
        mode: w.mode,
        refresh: w.refresh,
        interval: w.refresh_interval,
    };
    let timeout = args.request.timeout;
    if !w.refresh {
        return keep(&mut fleet, &mut files, &how, timeout, log, None);
    }
    let mut reload = |old: &[Files]| {
        let now = stamp(path);
        // Gone (a ConfigMap deleted) or the same: the clusters go on as they are. A
        // change is read once: one that fails is read again when it changes again.
        if now.is_none() || now == seen {
            return None;
        }
        seen = now;
        let made = read(path).and_then(|new_bytes| {
            // The same bytes (kubelet swaps every key of a ConfigMap together).
            if new_bytes == bytes {
                return Ok(None);
            }
            bytes = new_bytes;
            let new = parse(path, &bytes)?;
            let (fleet, mut files) = prepare(&new)?;
            carry(&entries, old, &new, &mut files);
            Ok(Some((new, fleet, files)))
        });
        match made {
            Ok(None) => None,
            Ok(Some((new, fleet, files))) => {
                log_reload(log, path, Ok((&new, &entries)));
                entries = new;
                Some((fleet, files))
            }
            Err(e) => {
                log_reload(log, path, Err(&e));
                None
            }
        }
    };
    keep(
        &mut fleet,
        &mut files,
        &how,
        timeout,
        log,
        Some(&mut reload),
    )
}

/// The writing state of each cluster whose entry a new clusters file left as it was
/// (its schedule, its failures in a row, its file's validity, its kubeconfig written or
/// not): a change elsewhere in the file rewrites nothing early and resets no backoff.
fn carry(old_entries: &[Entry], old: &[Files], new_entries: &[Entry], new: &mut [Files]) {
    for (e, f) in new_entries.iter().zip(new.iter_mut()) {
        let Some(o) = old_entries
            .iter()
            .position(|x| x == e)
            .and_then(|j| old.get(j))
        else {
            continue;
        };
        f.due = o.due;
        f.failures = o.failures;
        f.valid_until = o.valid_until;
        f.kubeconfig.clone_from(&o.kubeconfig);
    }
}

/// What tells a changed clusters file: its device and inode (a ConfigMap's update
/// swaps in a new file), its size and its modification time.
#[derive(PartialEq)]
struct Stamp(u64, u64, u64, i64, i64);

fn stamp(path: &Path) -> Option<Stamp> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some(Stamp(m.dev(), m.ino(), m.size(), m.mtime(), m.mtime_nsec()))
}

/// The clusters `entries` of the file at `path`: each one's files checked and made
/// ready, and the fleet that makes their tokens (no request yet).
fn prepare<'e>(
    path: &Path,
    entries: &[Entry],
    args: &GetToken,
    api_version: Option<&'static str>,
    env: &'e Env,
    log: &Log,
    interactive: Option<bool>,
) -> Result<(eks_token::fleet::Fleet<'e>, Vec<Files>)> {
    let outs = outs(entries, path)?;
    let mut files = Vec::with_capacity(entries.len());
    for (e, out) in entries.iter().zip(&outs) {
        let name = Some(e.name.as_str());
        check_target(name, out, "token file")?;
        let kubeconfig = match &e.kubeconfig_out {
            None => None,
            Some(_) if api_version.is_some() => {
                return Err(Error::InvalidInput(format!(
                    "{}kubeconfigOut needs --output token (a kubeconfig's tokenFile holds \
                     the bare token)",
                    of(name)
                )))
            }
            Some(path) => {
                check_target(name, path, "kubeconfig")?;
                // Made now with the server and CA given, else once DescribeCluster tells.
                let body = match (&e.server, &e.ca_data) {
                    (Some(server), Some(ca)) => {
                        let k = KubeconfigOut {
                            path: path.clone(),
                            server: server.clone(),
                            ca: CaSource::Data(ca.clone()),
                        };
                        Some(render_kubeconfig(&k, &e.name, &e.name, out)?)
                    }
                    _ => None,
                };
                Some((path.clone(), body))
            }
        };
        files.push(Files::new(Some(e.name.clone()), (*out).clone(), kubeconfig));
    }
    let requests: Vec<Request> = entries.iter().map(|e| e.request(&args.request)).collect();
    let fleet = super::fleet(&requests, env, log, interactive)?;
    Ok((fleet, files))
}

/// The line of a clusters file read again: its clusters and those it no longer lists,
/// or why it is refused (the clusters of the file before go on).
fn log_reload(log: &Log, path: &Path, made: std::result::Result<(&[Entry], &[Entry]), &Error>) {
    let mut entry = json!({
        "time": now_rfc3339(),
        "event": "clusters-file",
        "file": path.display().to_string(),
    });
    match made {
        Ok((new, old)) => {
            entry["outcome"] = json!("reloaded");
            entry["clusters"] = new.iter().map(|e| e.name.as_str()).collect();
            // Their files are left as they are, no longer written.
            entry["removed"] = old
                .iter()
                .filter(|o| !new.iter().any(|e| e.name == o.name))
                .map(|o| o.name.as_str())
                .collect();
        }
        Err(e) => {
            entry["outcome"] = json!("error");
            entry["error"] = json!(format!("{e}: the clusters read before go on"));
        }
    }
    json_event(log, &entry);
}

/// `write-token --check --clusters FILE`: each cluster's token file, a JSON line for
/// each that passes; an error naming each that does not (exit 1) unless all pass.
pub(crate) fn check(path: &Path, c: &CheckToken, env: &Env, log: &Log) -> Result<()> {
    let entries = load(path)?;
    let mut failed = Vec::new();
    for e in &entries {
        let result = match &e.out {
            Some(out) => check_file(out, c, env, log, Some(&e.name)),
            None => Err(Error::InvalidInput(
                "it has no `out` (its token file)".into(),
            )),
        };
        if let Err(err) = result {
            failed.push(format!("{}: {err}", e.name));
        }
    }
    if failed.is_empty() {
        return Ok(());
    }
    Err(Error::InvalidInput(format!(
        "{} of {} token files fail the check: {}",
        failed.len(),
        entries.len(),
        failed.join("; ")
    )))
}

/// The user every cluster shares with `--shared-user`.
const SHARED_USER: &str = "eks-token";

/// `kubeconfig --clusters FILE`: a cluster, user and context for each entry (the
/// context named by its name), or with `--shared-user` one exec user for all.
pub(crate) fn kubeconfig(
    args: GetToken,
    k: &KubeconfigArgs,
    path: &Path,
    env: &Env,
    program: &Program,
    log: &Log,
) -> std::result::Result<String, Failure> {
    super::kubeconfig::check_out(k)?;
    let entries = load(path)?;
    let token_files = if k.token_files {
        outs(&entries, path)?
    } else {
        Vec::new()
    };
    let env = &args.effective_env(env);
    let requests: Vec<Request> = entries.iter().map(|e| e.request(&args.request)).collect();
    let mut fleet = super::fleet(&requests, env, log, None)?;
    let command = match (&k.command, k.token_files) {
        (_, true) => String::new(),
        (Some(c), _) => c.clone(),
        (None, _) => program.path()?,
    };
    let exec = |args: Vec<String>, provide: bool| {
        Auth::Exec(Exec {
            command: command.clone(),
            args,
            interactive_mode: Some("IfAvailable".into()),
            provide_cluster_info: Some(provide),
            ..Exec::default()
        })
    };
    let (mut clusters, mut users, mut contexts) = (Vec::new(), Vec::new(), Vec::new());
    if k.shared_user {
        // What every cluster shares goes on the command line; the rest is each
        // cluster's config, which kubectl hands the plugin.
        let mut shared = vec!["get-token".to_owned()];
        if let Some(p) = fleet.named_profile() {
            shared.extend(["--profile".to_owned(), p.to_owned()]);
        }
        if args.request.forward_session_name {
            shared.push("--forward-session-name".into());
        }
        users.push(User {
            name: SHARED_USER.into(),
            auth: exec(shared, true),
        });
    }
    for (i, e) in entries.iter().enumerate() {
        let (server, ca_data) = match (&e.server, &e.ca_data) {
            (Some(s), Some(c)) => (s.clone(), c.clone()),
            _ => {
                let c = fleet
                    .describe_cluster(i)
                    .map_err(|x| of_cluster(&e.name, x))?;
                (c.endpoint, c.ca_data)
            }
        };
        // The region its tokens are signed for (a token file's user needs none).
        let region = match (k.token_files, fleet.region(i)) {
            (true, _) => String::new(),
            (false, Some(r)) => r,
            (false, None) => {
                return Err(of_cluster(
                    &e.name,
                    Error::InvalidInput(
                        "no region for its user's tokens: give the entry a region, or --region"
                            .into(),
                    ),
                )
                .into())
            }
        };
        let user = if k.token_files {
            let out = token_files[i];
            Some(Auth::TokenFile(
                resolved(out).unwrap_or_else(|| absolute(out)),
            ))
        } else if k.shared_user {
            None
        } else {
            let chain = Chain::of(&requests[i], fleet.named_profile());
            let args = token_args(false, ("--cluster-name", &e.name), &region, &chain);
            Some(exec(args, false))
        };
        let exec_config = k
            .shared_user
            .then(|| ClusterConfig::json(&requests[i], &region));
        clusters.push(Cluster {
            name: e.name.clone(),
            server,
            ca_data,
            proxy_url: None,
            exec_config,
        });
        let user_name = match user {
            Some(auth) => {
                users.push(User {
                    name: e.name.clone(),
                    auth,
                });
                e.name.clone()
            }
            None => SHARED_USER.into(),
        };
        contexts.push(Context {
            name: e.name.clone(),
            cluster: e.name.clone(),
            user: user_name,
        });
    }
    let body = kubeconfig::json(&clusters, &users, &contexts, &entries[0].name);
    let what = format!("{} clusters", entries.len());
    super::kubeconfig::emit(k, body, &what, log)
}
