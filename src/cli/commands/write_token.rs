//! `write-token`: the init container (write the token file once, exit non-zero on
//! failure) and the sidecar (`--refresh`: rewrite it before it expires, forever).
//!
//! Files are written atomically ([`fsutil::write_atomic`]); a failed refresh leaves the
//! old file alone and is retried with a bounded backoff; SIGTERM and SIGINT end the
//! sidecar at once with exit 0, also as PID 1, but never in the middle of a write.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;
use time::OffsetDateTime;

use eks_token::files::WriteOptions;
use eks_token::fleet::Fleet;
use eks_token::{files, verify, Env, Error, Log, Token};

use crate::cli::args::ArgError;
use crate::cli::args::{
    CaSource, CheckToken, Checked, Format, GetToken, KubeconfigOut, WriteToken,
};
use crate::cli::exec_credential;
use crate::cli::failure::Failure;
use crate::cli::output::json_event;
use eks_token::kubeconfig::{self, absolute, resolved, Auth, Cluster, Context, User};

type Result<T> = std::result::Result<T, Error>;

/// A refresh happens at the latest this long before the token expires.
pub(crate) const EXPIRY_SLACK: time::Duration = time::Duration::minutes(2);
/// Longest wait between retries after a failed refresh.
pub(crate) const MAX_RETRY_DELAY: Duration = Duration::from_secs(60);
/// First wait after a failed refresh (doubling up to [`MAX_RETRY_DELAY`]).
pub(crate) const FIRST_RETRY_DELAY: Duration = Duration::from_secs(5);

/// The most read of `--ca-file` (a whole system CA bundle is about 200 KiB).
const MAX_CA_FILE: u64 = 4 << 20;
/// The most read of a token file by `--check` (a token is at most 4 KiB; an
/// ExecCredential around it a little more).
const MAX_TOKEN_FILE: u64 = 64 << 10;

/// Runs `write-token`.
pub(crate) fn run(
    args: GetToken,
    w: &WriteToken,
    env: &Env,
    log: &Log,
) -> std::result::Result<(), Failure> {
    // One file for both is a command line that cannot work.
    if let Some(k) = &w.kubeconfig {
        if same_file(&k.path, &w.out) {
            return Err(Failure::Args(ArgError::Usage(
                "--kubeconfig-out and --out name one file: the kubeconfig reads the token \
                 from --out, so give it a path of its own"
                    .into(),
            )));
        }
    }
    Ok(write(args, w, env, log)?)
}

/// Writes the token file (and kubeconfig): once, or for ever with `--refresh`.
fn write(args: GetToken, w: &WriteToken, env: &Env, log: &Log) -> Result<()> {
    let env = &args.effective_env(env);
    let api_version = api_version(args.print.format, env, log);
    // Everything local is checked before the first STS call.
    check_target(None, &w.out, "token file")?;
    if let Some(k) = &w.kubeconfig {
        check_target(None, &k.path, "kubeconfig")?;
    }
    let kubeconfig = match &w.kubeconfig {
        Some(k) => Some((
            k.path.clone(),
            Some(render_kubeconfig(
                k,
                &args.request.cluster_id,
                "eks-token",
                &w.out,
            )?),
        )),
        None => None,
    };
    let interactive = exec_credential::interactive(env.get("KUBERNETES_EXEC_INFO"));
    if w.refresh {
        stop_on_signals()?;
    }
    let requests = std::slice::from_ref(&args.request);
    let mut fleet = super::fleet(requests, env, log, interactive)?;
    let mut files = vec![Files::new(None, w.out.clone(), kubeconfig)];
    let how = Writing {
        api_version,
        mode: w.mode,
        refresh: w.refresh,
        interval: w.refresh_interval,
    };
    keep(
        &mut fleet,
        &mut files,
        &how,
        args.request.timeout,
        log,
        None,
    )
}

/// The apiVersion of the ExecCredential to write (`KUBERNETES_EXEC_INFO`'s, else v1), or
/// `None` for the bare token.
pub(crate) fn api_version(format: Format, env: &Env, log: &Log) -> Option<&'static str> {
    if format == Format::Token {
        return None;
    }
    let info = env.get("KUBERNETES_EXEC_INFO");
    let (v, warning) = exec_credential::api_version_or(info, exec_credential::V1);
    if let Some(w) = warning {
        log.warn(format_args!("{w}"));
    }
    Some(v)
}

/// Refuses, before any request, a file that cannot be written at `path` (a link, a
/// FIFO, a directory...), naming cluster `name`'s when it is a clusters file's.
pub(crate) fn check_target(name: Option<&str>, path: &Path, what: &str) -> Result<()> {
    files::check_target(path, files::Links::Refuse).map_err(|e| Error::Io {
        what: format!("{}cannot write the {what} {}", of(name), path.display()),
        source: e,
    })
}

/// `cluster NAME: ` before a clusters file's cluster's messages.
pub(crate) fn of(name: Option<&str>) -> String {
    name.map_or_else(String::new, |n| format!("cluster {n}: "))
}

/// One cluster's files: its token file and, when asked for, its kubeconfig (made, or
/// `None` until DescribeCluster tells its server and CA); `name` for a clusters file's
/// cluster (its log lines and errors carry it).
pub(crate) struct Files {
    pub(crate) name: Option<String>,
    pub(crate) out: PathBuf,
    pub(crate) kubeconfig: Option<(PathBuf, Option<String>)>,
    /// When it is written next; failures in a row; until when its file's token is good.
    pub(crate) due: Option<Instant>,
    pub(crate) failures: u32,
    pub(crate) valid_until: Option<OffsetDateTime>,
}

impl Files {
    /// The files of cluster `name` (none for a single cluster's).
    pub(crate) fn new(
        name: Option<String>,
        out: PathBuf,
        kubeconfig: Option<(PathBuf, Option<String>)>,
    ) -> Files {
        Files {
            name,
            out,
            kubeconfig,
            due: None,
            failures: 0,
            valid_until: None,
        }
    }
}

/// How the files are written.
pub(crate) struct Writing {
    /// An ExecCredential of this apiVersion, or the bare token.
    pub(crate) api_version: Option<&'static str>,
    pub(crate) mode: u32,
    pub(crate) refresh: bool,
    pub(crate) interval: Duration,
}

/// Writes each cluster's files (`files[i]` is the fleet's cluster `i`): once, or with
/// `refresh` for ever, on one schedule: a round writes every cluster that is due. A
/// cluster that fails is logged (named), its token file left as it was (its time
/// marked, for a liveness probe), and tried again on the backoff while the others go
/// on. Once: every cluster tried, and an error when one got no token (a single
/// unnamed one's own error). `reload`, asked before each round (and at least every
/// [`WATCH`]), hands over a new fleet and its files when the clusters file changed.
pub(crate) fn keep<'e>(
    fleet: &mut Fleet<'e>,
    files: &mut Vec<Files>,
    how: &Writing,
    timeout: Duration,
    log: &Log,
    mut reload: Option<Reload<'_, 'e>>,
) -> Result<()> {
    // Dead writers' temporary files: a bounded look, a quarter of the deadline at most.
    let sweep = |files: &[Files]| {
        let until = Instant::now() + timeout / 4;
        for f in files {
            files::remove_stale_temps(&f.out, Some(until));
        }
    };
    sweep(files);
    // One cluster of its own (not a clusters file's), once: its error is the run's.
    let alone = !how.refresh && files.len() == 1 && files[0].name.is_none();
    loop {
        if let Some((new_fleet, new_files)) = reload.as_mut().and_then(|r| r(files)) {
            // A cluster that is new (or changed) is written at once; one left as it was
            // keeps its schedule; a file of a cluster no longer listed is left as it is.
            *fleet = new_fleet;
            *files = new_files;
            sweep(files);
        }
        let round = Instant::now();
        let mut ready = Vec::new();
        for (i, f) in files.iter_mut().enumerate() {
            if f.due.is_some_and(|d| d > round) {
                continue;
            }
            if let Some((path, body @ None)) = &mut f.kubeconfig {
                let name = f.name.as_deref().unwrap_or_default();
                let described = fleet.describe_cluster(i).and_then(|c| {
                    let k = KubeconfigOut {
                        path: path.clone(),
                        server: c.endpoint,
                        ca: CaSource::Data(c.ca_data),
                    };
                    render_kubeconfig(&k, name, name, &f.out)
                });
                match described {
                    Ok(b) => *body = Some(b),
                    Err(e) => {
                        failed(f, &e, round, how, log);
                        continue;
                    }
                }
            }
            ready.push(i);
        }
        let tokens = fleet.issue(&ready);
        for (&i, token) in ready.iter().zip(tokens) {
            let f = &mut files[i];
            let written = token.and_then(|t| {
                let body = match how.api_version {
                    Some(v) => exec_credential::render(v, &t),
                    None => t.value.clone(),
                };
                write_file(&f.out, &body, how.mode, "token file")?;
                // The kubeconfig is written once, after its token file.
                if let Some((path, Some(body))) = &f.kubeconfig {
                    write_file(path, body, how.mode, "kubeconfig")?;
                    f.kubeconfig = None;
                }
                Ok(t)
            });
            match written {
                Ok(t) => {
                    f.failures = 0;
                    f.valid_until = Some(t.expiration);
                    let wait = next_refresh(how.interval, t.expiration, OffsetDateTime::now_utc());
                    f.due = Some(round + wait);
                    let next = how.refresh.then_some(wait);
                    log_ok(log, f.name.as_deref(), &f.out, &t, round, next);
                }
                Err(e) if alone => return Err(e),
                Err(e) => failed(f, &e, round, how, log),
            }
        }
        if !how.refresh {
            // Once: those that failed (in the file's order) fail the run.
            let names: Vec<&str> = files
                .iter()
                .filter(|f| f.failures > 0)
                .filter_map(|f| f.name.as_deref())
                .collect();
            if names.is_empty() {
                return Ok(());
            }
            return Err(Error::InvalidInput(format!(
                "{} of {} clusters got no token: {} (each one's error is logged above)",
                names.len(),
                files.len(),
                names.join(", ")
            )));
        }
        let mut next = files.iter().filter_map(|f| f.due).min().unwrap_or(round);
        if reload.is_some() {
            next = next.min(Instant::now() + WATCH);
        }
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
}

/// How often a writer looks whether its clusters file changed (a ConfigMap's update
/// reaches a pod within a minute or two).
pub(crate) const WATCH: Duration = Duration::from_secs(10);

/// Asked before each round, with the files being written: a new fleet and its files
/// when the clusters file changed (and reads well), else `None`.
pub(crate) type Reload<'a, 'e> = &'a mut dyn FnMut(&[Files]) -> Option<(Fleet<'e>, Vec<Files>)>;

/// Cluster `f`'s write in the round that started at `round` failed with `e`: logged
/// (named), its file marked, tried again on the backoff.
fn failed(f: &mut Files, e: &Error, round: Instant, how: &Writing, log: &Log) {
    f.failures += 1;
    let wait = retry_delay(f.failures, how.interval);
    f.due = Some(round + wait);
    let retry = how.refresh.then_some(wait);
    log_error(
        log,
        f.name.as_deref(),
        &f.out,
        e,
        round,
        retry,
        f.valid_until,
    );
    if how.refresh {
        // The loop runs: a liveness probe on the file's age sees it (the token in it is
        // unchanged, and readiness judges that).
        let _ = files::touch(&f.out);
    }
}

fn write_file(path: &Path, body: &str, mode: u32, what: &str) -> Result<()> {
    let _writing = crate::cli::signals::writing();
    files::write_atomic_with(path, body.as_bytes(), write_options(mode)).map_err(|e| Error::Io {
        what: format!("cannot write the {what} {}", path.display()),
        source: e,
    })
}

/// Whether two paths name one file: one file on disk, or (not there yet) one name in one
/// directory, each directory resolved as far as it exists (links and `..` included, as
/// the kernel resolves them).
pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
        return (x.dev(), x.ino()) == (y.dev(), y.ino());
    }
    matches!((resolved(a), resolved(b)), (Some(x), Some(y)) if x == y)
}

/// When to write next: after `interval`, but at least [`EXPIRY_SLACK`] before the token
/// expires (and not sooner than a second from now).
pub(crate) fn next_refresh(
    interval: Duration,
    expiration: OffsetDateTime,
    now: OffsetDateTime,
) -> Duration {
    let before_expiry = (expiration - now - EXPIRY_SLACK).max(time::Duration::seconds(1));
    let before_expiry = Duration::try_from(before_expiry).unwrap_or(Duration::from_secs(1));
    interval.min(before_expiry)
}

/// The wait after the `failures`-th failure in a row: 5 s doubling to 60 s, never longer
/// than the refresh interval.
pub(crate) fn retry_delay(failures: u32, interval: Duration) -> Duration {
    let exp = FIRST_RETRY_DELAY.saturating_mul(1 << failures.saturating_sub(1).min(8));
    exp.min(MAX_RETRY_DELAY).min(interval)
}

pub(crate) fn stop_on_signals() -> Result<()> {
    crate::cli::signals::on_stop(|sig| {
        // The stop line holds nothing secret: it is written as it is.
        let line = json!({"time": now_rfc3339(), "event": "stop", "signal": sig});
        json_event(&Log::default(), &line);
        0
    })
    .map_err(|e| Error::Io {
        what: "cannot handle SIGTERM".into(),
        source: e,
    })
}

pub(crate) fn now_rfc3339() -> String {
    Token::rfc3339(OffsetDateTime::now_utc())
}

fn ms(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 10_000.0).round() / 10.0
}

pub(crate) fn log_ok(
    log: &Log,
    cluster: Option<&str>,
    out: &Path,
    token: &Token,
    started: Instant,
    next: Option<Duration>,
) {
    let mut entry = json!({
        "time": now_rfc3339(),
        "event": "write-token",
        "outcome": "ok",
        "file": out.display().to_string(),
        "token_expires": Token::rfc3339(token.expiration),
        "duration_ms": ms(started),
    });
    if let Some(next) = next {
        entry["next_refresh"] = json!(Token::rfc3339(OffsetDateTime::now_utc() + next));
    }
    named(&mut entry, cluster);
    json_event(log, &entry);
}

pub(crate) fn log_error(
    log: &Log,
    cluster: Option<&str>,
    out: &Path,
    e: &Error,
    started: Instant,
    retry: Option<Duration>,
    valid_until: Option<OffsetDateTime>,
) {
    let mut entry = json!({
        "time": now_rfc3339(),
        "event": "write-token",
        "outcome": "error",
        "file": out.display().to_string(),
        "error": e.to_string(),
        "duration_ms": ms(started),
    });
    if let Some(retry) = retry {
        entry["retry_at"] = json!(Token::rfc3339(OffsetDateTime::now_utc() + retry));
    }
    if let Some(v) = valid_until {
        entry["file_valid_until"] = json!(Token::rfc3339(v));
    }
    named(&mut entry, cluster);
    json_event(log, &entry);
}

/// `write-token --check`: whether the file holds an EKS token that EKS would accept for
/// at least `min_validity` more (its rules as `verify` applies them; for an
/// ExecCredential, also its `expirationTimestamp`). One JSON line either way; exit 1
/// when not.
pub(crate) fn check(c: &CheckToken, env: &Env, log: &Log) -> Result<()> {
    match &c.files {
        Checked::File(out) => check_file(out, c, env, log, None),
        Checked::Clusters(file) => super::fleet::check(file, c, env, log),
    }
}

/// [`check`] of one file, `cluster`'s when it is a clusters file's (its line says so).
pub(crate) fn check_file(
    out: &Path,
    c: &CheckToken,
    env: &Env,
    log: &Log,
    cluster: Option<&str>,
) -> Result<()> {
    let now = OffsetDateTime::now_utc();
    let what = || format!("cannot read the token file {}", out.display());
    let (bytes, meta) = files::read_file_meta(out, MAX_TOKEN_FILE).map_err(|e| Error::Io {
        what: what(),
        source: e,
    })?;
    if let Some(max_age) = c.max_age {
        return check_age(out, &meta, max_age, log, cluster);
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::InvalidInput(format!("{}: the token file is not text", what())))?;
    let (token, expires) = token_in_file(text.trim()).ok_or_else(|| {
        Error::InvalidInput(format!(
            "{} holds neither a token nor an ExecCredential with one",
            out.display()
        ))
    })?;
    let report = verify::check_in(env, &token, now)?;
    if let Some((rule, detail)) = report.failures.first() {
        return Err(Error::InvalidInput(format!(
            "{} holds a token EKS would refuse: {rule}: {detail}",
            out.display()
        )));
    }
    // A token signed in the future (a clock far ahead) is refused by STS until then.
    if report
        .signed_at
        .is_some_and(|t| t > now + time::Duration::minutes(5))
    {
        return Err(Error::InvalidInput(format!(
            "the token in {} is signed in the future: is this machine's clock, or the \
             writer's, wrong?",
            out.display()
        )));
    }
    let until = match (report.valid_until(), expires) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).ok_or_else(|| {
            Error::InvalidInput(format!("{}: the token has no signing time", out.display()))
        })?,
    };
    let left = until - now;
    let wanted = time::Duration::try_from(c.min_validity).unwrap_or(time::Duration::MAX);
    if left < wanted {
        return Err(Error::InvalidInput(format!(
            "the token in {} is valid until {} ({} s more), less than --min-validity {} s: \
             is the sidecar writing it? (its log says why not)",
            out.display(),
            Token::rfc3339(until),
            left.whole_seconds().max(0),
            wanted.whole_seconds()
        )));
    }
    let mut line = json!({
        "time": Token::rfc3339(now),
        "event": "check",
        "outcome": "ok",
        "file": out.display().to_string(),
        "token_valid_until": Token::rfc3339(until),
    });
    named(&mut line, cluster);
    json_event(log, &line);
    Ok(())
}

/// `--max-age`: whether the file was written within `max_age` (by its modification
/// time): the writer is alive and making progress, whatever STS says of the token.
fn check_age(
    out: &Path,
    meta: &std::fs::Metadata,
    max_age: Duration,
    log: &Log,
    cluster: Option<&str>,
) -> Result<()> {
    let written: OffsetDateTime =
        meta.modified()
            .map(OffsetDateTime::from)
            .map_err(|e| Error::Io {
                what: format!("cannot read when {} was written", out.display()),
                source: e,
            })?;
    let age = OffsetDateTime::now_utc() - written;
    let max = time::Duration::try_from(max_age).unwrap_or(time::Duration::MAX);
    if age > max {
        return Err(Error::InvalidInput(format!(
            "{} was last written {} ago, more than --max-age {}: the writer is not \
             rewriting it (its log says why)",
            out.display(),
            human(age.whole_seconds()),
            human(max.whole_seconds())
        )));
    }
    let mut line = json!({
        "time": Token::rfc3339(OffsetDateTime::now_utc()),
        "event": "check",
        "outcome": "ok",
        "file": out.display().to_string(),
        "written": Token::rfc3339(written),
    });
    named(&mut line, cluster);
    json_event(log, &line);
    Ok(())
}

/// A log line of a clusters file's cluster names it.
pub(crate) fn named(line: &mut serde_json::Value, cluster: Option<&str>) {
    if let Some(name) = cluster {
        line["cluster"] = json!(name);
    }
}

/// `90` seconds as `1m30s`.
fn human(secs: i64) -> String {
    let secs = secs.max(0);
    match (secs / 3600, secs % 3600 / 60, secs % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, s) => format!("{h}h{m:02}m{s:02}s"),
    }
}

/// The token in a token file (bare, or an ExecCredential's `status.token`), and the
/// ExecCredential's expiry if it has one.
fn token_in_file(text: &str) -> Option<(String, Option<OffsetDateTime>)> {
    if !text.starts_with('{') {
        return (!text.is_empty()).then(|| (text.to_owned(), None));
    }
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let token = v["status"]["token"].as_str()?.to_owned();
    let expires = v["status"]["expirationTimestamp"].as_str().and_then(|t| {
        OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
    });
    Some((token, expires))
}

/// A kubeconfig whose user reads the token file, for apps that take a kubeconfig but
/// cannot run an exec plugin. client-go rereads `tokenFile` periodically. The user is
/// named `user` (a clusters file's kubeconfigs, merged in KUBECONFIG, each need their
/// own).
pub(crate) fn render_kubeconfig(
    k: &KubeconfigOut,
    cluster: &str,
    user: &str,
    out: &Path,
) -> Result<String> {
    if !k.server.starts_with("https://") {
        return Err(Error::InvalidInput(format!(
            "--server {:?} must be an https:// URL: kubectl sends no token over plain http",
            k.server
        )));
    }
    let ca_data = match &k.ca {
        CaSource::File(path) => {
            let pem = files::read_file(path, MAX_CA_FILE).map_err(|e| Error::Io {
                what: format!("cannot read --ca-file {}", path.display()),
                source: e,
            })?;
            if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
                return Err(Error::InvalidInput(format!(
                    "--ca-file {} holds no PEM certificate",
                    path.display()
                )));
            }
            STANDARD.encode(pem)
        }
        CaSource::Data(data) => {
            let pem = STANDARD.decode(data.trim()).map_err(|_| {
                Error::InvalidInput(
                    "--ca-data is not base64 (give the cluster's certificateAuthority.data)".into(),
                )
            })?;
            if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
                return Err(Error::InvalidInput(
                    "--ca-data does not decode to a PEM certificate".into(),
                ));
            }
            data.trim().to_owned()
        }
    };
    // The file as the kernel reaches it (`lnk/../t` through a link is not `./t`).
    let token_file = resolved(out).unwrap_or_else(|| absolute(out));
    let user = User {
        name: user.into(),
        auth: Auth::TokenFile(token_file),
    };
    let context = Context {
        name: cluster.into(),
        cluster: cluster.into(),
        user: user.name.clone(),
    };
    let entry = Cluster {
        name: cluster.into(),
        server: k.server.clone(),
        ca_data,
        proxy_url: None,
        exec_config: None,
    };
    Ok(kubeconfig::json(&[entry], &[user], &[context], cluster))
}

/// How the files are written: `mode` exactly, in new directories that let the group in
/// when `mode` does (0640 makes 0750 directories: the group the mode is for can reach
/// the file).
pub(crate) fn write_options(mode: u32) -> WriteOptions {
    let group = if mode & 0o060 != 0 { 0o050 } else { 0 };
    WriteOptions {
        dir_mode: 0o700 | group,
        ..WriteOptions::mode(mode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_schedule() {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let exp = now + time::Duration::minutes(14);
        assert_eq!(
            next_refresh(Duration::from_secs(300), exp, now),
            Duration::from_secs(300)
        );
        // Never later than expiry - 2 min.
        assert_eq!(
            next_refresh(Duration::from_secs(3600), exp, now),
            Duration::from_secs(720)
        );
        // A token about to die: refresh in a second.
        let soon = now + time::Duration::seconds(30);
        assert_eq!(
            next_refresh(Duration::from_secs(300), soon, now),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn retries_back_off_within_bounds() {
        let i = Duration::from_secs(300);
        assert_eq!(retry_delay(1, i), Duration::from_secs(5));
        assert_eq!(retry_delay(2, i), Duration::from_secs(10));
        assert_eq!(retry_delay(5, i), Duration::from_secs(60));
        assert_eq!(retry_delay(50, i), Duration::from_secs(60));
        assert_eq!(
            retry_delay(3, Duration::from_secs(1)),
            Duration::from_secs(1)
        );
    }
}
