//! The commands of a clusters file (`--clusters FILE`): `write-token` keeping every
//! cluster's token file fresh from one process, its `--check`, and `kubeconfig` with a
//! context for each cluster. The library's [`Fleet`] makes the tokens on one base; this
//! reads the file, writes the files and prints.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::json;
use time::OffsetDateTime;

use eks_token::fleet::{self, Entry, Fleet};
use eks_token::kubeconfig::{self, absolute, resolved, Auth, Cluster, Context, Exec, User};
use eks_token::{files, Env, Error, Log, Request, Runtime, Stop, Token};

use super::write_token::{
    check_file, log_error, log_ok, named, next_refresh, render_kubeconfig, retry_delay, same_file,
    stop_on_signals, write_options,
};
use crate::cli::args::WriteFleet;
use crate::cli::args::{CaSource, CheckToken, Format, GetToken, KubeconfigArgs, KubeconfigOut};
use crate::cli::exec_credential::{self, ClusterConfig};
use crate::cli::failure::Failure;
use crate::cli::kubeconfig::{token_args, Chain, Program};

type Result<T> = std::result::Result<T, Error>;

/// The clusters of the clusters file `path`.
fn load(path: &Path) -> Result<Vec<Entry>> {
    let what = || format!("the clusters file {}", path.display());
    let bytes = files::read_file(path, fleet::MAX_FILE_BYTES).map_err(|e| Error::Io {
        what: format!("cannot read {}", what()),
        source: e,
    })?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::InvalidInput(format!("{} is not UTF-8 text", what())))?;
    fleet::parse(&text).map_err(|e| Error::InvalidInput(format!("{}: {e}", what())))
}

/// An error of cluster `name`'s, named so.
fn of(name: &str, e: Error) -> Error {
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

/// The fleet of `requests`, in this process: the run's log, MFA codes asked on the
/// terminal, a stop that SIGINT and SIGTERM trigger when the base runs a program.
fn fleet<'e>(requests: &[Request], env: &'e Env, log: &Log) -> Result<Fleet<'e>> {
    let runtime = Runtime {
        log: log.clone(),
        stop: Stop::default(),
        mfa_prompt: Some(super::mfa_prompt(None)),
    };
    let fleet = Fleet::with(requests, env, runtime)?;
    if fleet.runs_a_program() {
        crate::cli::signals::stop_with_the_process(fleet.stop().clone()).map_err(|e| {
            Error::Io {
                what: "cannot handle SIGTERM and SIGINT".into(),
                source: e,
            }
        })?;
    }
    Ok(fleet)
}

/// `write-token --clusters FILE`: every cluster's token file (and kubeconfig), once or
/// for ever with `--refresh`, on one schedule. A cluster that fails is logged (naming
/// it), its file left as it was, and tried again on the usual backoff; the others go on.
pub(crate) fn write(args: GetToken, w: &WriteFleet, env: &Env, log: &Log) -> Result<()> {
    let env = &args.effective_env(env);
    let entries = load(&w.clusters)?;
    let outs = outs(&entries, &w.clusters)?;
    let api_version = match args.print.format {
        Format::Token => None,
        _ => Some(exec_credential::V1),
    };
    // Every file is checked before the first request: where it goes, and that no two
    // entries write one file (through a link, or named two ways).
    let mut targets: Vec<(&Path, &str)> = Vec::new();
    for (e, out) in entries.iter().zip(&outs) {
        targets.push((out, &e.name));
        if let Some(k) = &e.kubeconfig_out {
            if api_version.is_some() {
                return Err(of(
                    &e.name,
                    Error::InvalidInput(
                        "kubeconfigOut needs --output token (a kubeconfig's tokenFile holds \
                         the bare token)"
                            .into(),
                    ),
                ));
            }
            targets.push((k, &e.name));
        }
    }
    for (i, (path, name)) in targets.iter().enumerate() {
        files::check_target(path, files::Links::Refuse).map_err(|e| Error::Io {
            what: format!("cluster {name}: cannot write {}", path.display()),
            source: e,
        })?;
        if let Some((_, other)) = targets[..i].iter().find(|(p, _)| same_file(p, path)) {
            return Err(Error::InvalidInput(format!(
                "cluster {name}: {} is a file of cluster {other} too",
                path.display()
            )));
        }
    }
    // Kubeconfigs of entries with server and caData are made now; the others once
    // DescribeCluster answers.
    let mut kubeconfigs: Vec<Option<(PathBuf, Option<String>)>> = Vec::new();
    for (e, out) in entries.iter().zip(&outs) {
        kubeconfigs.push(match (&e.kubeconfig_out, &e.server, &e.ca_data) {
            (None, ..) => None,
            (Some(path), Some(server), Some(ca)) => {
                let body = render(path, server, ca, &e.name, out).map_err(|x| of(&e.name, x))?;
                Some((path.clone(), Some(body)))
            }
            (Some(path), ..) => Some((path.clone(), None)),
        });
    }
    if w.refresh {
        stop_on_signals()?;
    }
    let requests: Vec<Request> = entries.iter().map(|e| e.request(&args.request)).collect();
    let mut fleet = fleet(&requests, env, log)?;
    let sweep_until = Instant::now() + args.request.timeout / 4;
    for out in &outs {
        files::remove_stale_temps(out, Some(sweep_until));
    }
    let n = entries.len();
    let mut due = vec![Instant::now(); n];
    let mut failures = vec![0u32; n];
    let mut valid_until: Vec<Option<OffsetDateTime>> = vec![None; n];
    loop {
        let round = Instant::now();
        let mut failed: Vec<(usize, Error)> = Vec::new();
        let mut ready = Vec::new();
        for i in (0..n).filter(|&i| due[i] <= round) {
            if let Some((path, body @ None)) = &mut kubeconfigs[i] {
                let (e, out) = (&entries[i], outs[i]);
                match fleet
                    .describe_cluster(i)
                    .and_then(|c| render(path, &c.endpoint, &c.ca_data, &e.name, out))
                {
                    Ok(b) => *body = Some(b),
                    Err(x) => {
                        failed.push((i, x));
                        continue;
                    }
                }
            }
            ready.push(i);
        }
        let tokens = fleet.issue(&ready);
        for (&i, token) in ready.iter().zip(tokens) {
            let out = outs[i];
            let written = token.and_then(|t| {
                let body = match api_version {
                    Some(v) => exec_credential::render(v, &t),
                    None => t.value.clone(),
                };
                write_file(out, &body, w.mode, "token file")?;
                // The kubeconfig is written once, after its token file.
                if let Some((path, body)) = kubeconfigs[i].take() {
                    let body = body.unwrap_or_default();
                    if let Err(e) = write_file(&path, &body, w.mode, "kubeconfig") {
                        kubeconfigs[i] = Some((path, Some(body)));
                        return Err(e);
                    }
                }
                Ok(t)
            });
            match written {
                Ok(t) => {
                    failures[i] = 0;
                    valid_until[i] = Some(t.expiration);
                    let wait =
                        next_refresh(w.refresh_interval, t.expiration, OffsetDateTime::now_utc());
                    due[i] = round + wait;
                    let next = w.refresh.then_some(wait);
                    log_ok(log, Some(&entries[i].name), out, &t, round, next);
                }
                Err(e) => failed.push((i, e)),
            }
        }
        for (i, e) in &failed {
            let i = *i;
            failures[i] += 1;
            let wait = retry_delay(failures[i], w.refresh_interval);
            due[i] = round + wait;
            let retry = w.refresh.then_some(wait);
            log_error(
                log,
                Some(&entries[i].name),
                outs[i],
                e,
                round,
                retry,
                valid_until[i],
            );
            if w.refresh {
                // The loop runs: a liveness probe on the file's age sees it.
                let _ = files::touch(outs[i]);
            }
        }
        if !w.refresh {
            if failed.is_empty() {
                return Ok(());
            }
            let mut names: Vec<&str> = failed
                .iter()
                .map(|(i, _)| entries[*i].name.as_str())
                .collect();
            names.sort_unstable();
            return Err(Error::InvalidInput(format!(
                "{} of {n} clusters got no token: {} (each one's error is logged above)",
                names.len(),
                names.join(", ")
            )));
        }
        let next = due.iter().min().copied().unwrap_or(round);
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
}

/// The tokenFile kubeconfig of cluster `name` (written at `path`, reading `out`).
fn render(path: &Path, server: &str, ca: &str, name: &str, out: &Path) -> Result<String> {
    let k = KubeconfigOut {
        path: path.to_owned(),
        server: server.to_owned(),
        ca: CaSource::Data(ca.to_owned()),
    };
    render_kubeconfig(&k, name, name, out)
}

fn write_file(path: &Path, body: &str, mode: u32, what: &str) -> Result<()> {
    let _writing = crate::cli::signals::writing();
    files::write_atomic_with(path, body.as_bytes(), write_options(mode)).map_err(|e| Error::Io {
        what: format!("cannot write the {what} {}", path.display()),
        source: e,
    })
}

/// `write-token --check --clusters FILE`: each cluster's token file, a JSON line each;
/// an error (exit 1) unless every one passes.
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
            let mut line = json!({
                "time": Token::rfc3339(OffsetDateTime::now_utc()),
                "event": "check",
                "outcome": "error",
                "error": err.to_string(),
            });
            if let Some(out) = &e.out {
                line["file"] = json!(out.display().to_string());
            }
            named(&mut line, Some(&e.name));
            crate::cli::output::json_event(log, &line);
            failed.push(e.name.as_str());
        }
    }
    if failed.is_empty() {
        return Ok(());
    }
    Err(Error::InvalidInput(format!(
        "{} of {} token files fail the check: {}",
        failed.len(),
        entries.len(),
        failed.join(", ")
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
    let entries = load(path)?;
    let token_files = if k.token_files {
        outs(&entries, path)?
    } else {
        Vec::new()
    };
    let env = &args.effective_env(env);
    let requests: Vec<Request> = entries.iter().map(|e| e.request(&args.request)).collect();
    let mut fleet = fleet(&requests, env, log)?;
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
                let c = fleet.describe_cluster(i).map_err(|x| of(&e.name, x))?;
                (c.endpoint, c.ca_data)
            }
        };
        let region = || {
            fleet.region(i).ok_or_else(|| {
                of(
                    &e.name,
                    Error::InvalidInput(
                        "no region for its user's tokens: give the entry a region, or --region"
                            .into(),
                    ),
                )
            })
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
            let args = token_args(false, ("--cluster-name", &e.name), &region()?, &chain);
            Some(exec(args, false))
        };
        let exec_config = match k.shared_user {
            true => Some(ClusterConfig::json(&requests[i], &region()?)),
            false => None,
        };
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
