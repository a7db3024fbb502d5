//! The commands that print: `get-token`, `whoami`, `kubeconfig` and `verify`. Each
//! runs the library and formats its answer for a person, kubectl or a script.

use std::io::Read;

use eks_token::{files, format_rfc3339, human_duration as human, verify, Env, Error, Issuer};
use serde_json::json;
use time::OffsetDateTime;

use super::args::{Dialect, Format, GetToken, KubeconfigArgs, Print, VerifyArgs};
use super::{exec_credential, vlog, warn, ArgError, Failure};

/// The process environment with what global options set (`--ca-bundle`,
/// `--endpoint-url`).
pub(crate) fn effective_env(env: &Env, overrides: &[(&str, String)]) -> Env {
    let mut env = env.clone();
    for (k, v) in overrides {
        env.set(k, v);
    }
    env
}

/// JSON as aws-cli prints it: indented by four spaces.
fn aws_json(v: &impl serde::Serialize) -> String {
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    v.serialize(&mut ser).expect("plain JSON");
    String::from_utf8(out).expect("JSON is UTF-8") + "\n"
}

/// The answer of `--query PATH` (a field path) over `answer`, printed as aws-cli does:
/// `--output text` gives a string bare (`None` for a missing field), JSON otherwise.
fn queried(answer: &serde_json::Value, path: &[String], format: Format) -> String {
    let mut v = answer;
    for field in path {
        v = v.get(field).unwrap_or(&serde_json::Value::Null);
    }
    match (format, v) {
        (Format::Json, v) => aws_json(v),
        (_, serde_json::Value::String(s)) => format!("{s}\n"),
        (_, serde_json::Value::Null) => "None\n".into(),
        (_, v) => format!("{v}\n"),
    }
}

/// `get-token`: an ExecCredential for kubectl, or the bare token, as the dialect it was
/// asked in prints it.
pub(crate) fn get_token(mut args: GetToken, env: &Env) -> Result<String, Failure> {
    let env = effective_env(env, &args.env);
    let exec_info = env.get("KUBERNETES_EXEC_INFO");
    let (api_version, warning) = match args.print.dialect {
        // argocd-k8s-auth always answers v1beta1.
        Dialect::ArgoCd => (exec_credential::V1BETA1, None),
        _ => exec_credential::api_version(exec_info),
    };
    args.request.interactive = exec_credential::interactive(exec_info);
    let token = if args.print.dialect == Dialect::ArgoCd {
        argo_issue(&args.request, &env)?
    } else {
        let mut issuer = Issuer::new(&args.request, &env)?;
        configured_format(&mut args.print, &env, &issuer)?;
        let token = issuer.issue()?;
        // The process ends after printing: its memory goes back whole, not piece by
        // piece (the hot path of every kubectl call).
        std::mem::forget(issuer);
        token
    };
    let print = &args.print;
    if print.format != Format::Token {
        if let Some(w) = warning {
            warn(format_args!("{w}"));
        }
    }
    let credential = exec_credential::ExecCredential::new(api_version, &token);
    let mut out = match (print.dialect, print.format, &print.query) {
        (_, _, Some(path)) => {
            let answer = serde_json::to_value(&credential).expect("plain JSON");
            queried(&answer, path, print.format)
        }
        (_, Format::Token, None) => format!("{}\n", token.value),
        // Argo CD's tool prints the one line and no newline.
        (Dialect::ArgoCd, _, None) => serde_json::to_string(&credential).expect("plain JSON"),
        // aws-cli's text format: the scalars of each level, keys in order.
        (_, Format::Text, None) => format!(
            "{api_version}\tExecCredential\nSTATUS\t{}\t{}\n",
            format_rfc3339(token.expiration),
            token.value
        ),
        (Dialect::Aws, Format::Json, None) => aws_json(&credential),
        (_, Format::Json, None) => serde_json::to_string(&credential).expect("plain JSON") + "\n",
    };
    // aws-cli's `eks get-token` writes one more newline after whatever it printed.
    if print.dialect == Dialect::Aws {
        out.push('\n');
    }
    Ok(out)
}

/// aws-cli's output format when `--output` is not given: `AWS_DEFAULT_OUTPUT`, else the
/// profile's `output`, else JSON. Of aws-cli's formats, `json` and `text` are printed;
/// `table` and unknown names are refused before any request.
fn configured_format(print: &mut Print, env: &Env, issuer: &Issuer<'_>) -> Result<(), Failure> {
    if !print.format_from_config {
        return Ok(());
    }
    let (value, origin) = match env.get("AWS_DEFAULT_OUTPUT") {
        Some(v) => (v.trim(), "AWS_DEFAULT_OUTPUT".to_owned()),
        None => match issuer.profile_value("output") {
            Some(v) => (v, "the profile's `output`".to_owned()),
            None => return Ok(()),
        },
    };
    print.format = match value {
        "json" => Format::Json,
        "text" => Format::Text,
        "table" => {
            return Err(Error::InvalidInput(format!(
                "{origin} is \"table\": eks-token, standing in for aws-cli, prints json or text; \
                 pass --output json or --output text"
            ))
            .into())
        }
        other => {
            return Err(Error::InvalidInput(format!(
                "{origin} is {other:?}, an unknown output type: use json or text"
            ))
            .into())
        }
    };
    Ok(())
}

/// argocd-k8s-auth's way: any failure is tried again every 5 s (a role's trust policy
/// takes seconds to reach STS after it changes; an IRSA token file may not be mounted
/// yet), the configuration read again each time, all within the run's timeout (60 s
/// unless `--timeout` says otherwise). A request that is invalid as written is not
/// retried.
fn argo_issue(request: &eks_token::Request, env: &Env) -> Result<eks_token::Token, Failure> {
    const INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);
    let deadline = std::time::Instant::now() + request.timeout;
    let mut attempt = request.clone();
    loop {
        let err = match Issuer::new(&attempt, env).and_then(|mut i| i.issue()) {
            Ok(token) => return Ok(token),
            Err(e) => e,
        };
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if matches!(err, Error::InvalidInput(_) | Error::InvalidUrl { .. }) || left <= INTERVAL {
            return Err(err.into());
        }
        vlog!("{err}; trying again in 5 s (as argocd-k8s-auth does)");
        std::thread::sleep(INTERVAL);
        attempt.timeout = left - INTERVAL;
    }
}

/// `whoami`: GetCallerIdentity with the chain's credentials (after each level with
/// `-v`), printed as `aws sts get-caller-identity` does; under eks-token,
/// `--output text` is the ARN alone.
pub(crate) fn whoami(mut args: GetToken, env: &Env) -> Result<String, Failure> {
    let env = effective_env(env, &args.env);
    let mut issuer = Issuer::new(&args.request, &env)?;
    configured_format(&mut args.print, &env, &issuer)?;
    let ids = issuer.identities(eks_token::verbose())?;
    for (label, id) in &ids {
        vlog!("identity after {label}: {}", id.arn);
    }
    let Some((_, id)) = ids.last() else {
        return Err(Error::InvalidInput("no identity".into()).into());
    };
    #[derive(serde::Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Identity<'a> {
        user_id: &'a str,
        account: &'a str,
        arn: &'a str,
    }
    let answer = Identity {
        user_id: &id.user_id,
        account: &id.account,
        arn: &id.arn,
    };
    let print = &args.print;
    Ok(match (print.dialect, print.format, &print.query) {
        (_, format, Some(path)) => queried(
            &serde_json::to_value(&answer).expect("plain JSON"),
            path,
            format,
        ),
        (Dialect::EksToken, Format::Text, None) => format!("{}\n", id.arn),
        // aws-cli's text format: the values in key order.
        (_, Format::Text, None) => format!("{}\t{}\t{}\n", id.account, id.arn, id.user_id),
        _ => aws_json(&answer),
    })
}

/// `kubeconfig`: DescribeCluster with the chain's credentials, then a kubeconfig (JSON)
/// whose user runs this binary with the same chain.
pub(crate) fn kubeconfig(args: GetToken, k: &KubeconfigArgs, env: &Env) -> Result<String, Failure> {
    if let Some(out) = &k.out {
        if out.exists() && !k.force {
            return Err(Error::InvalidInput(format!(
                "{} exists; use --force to overwrite it",
                out.display()
            ))
            .into());
        }
    }
    let env = &effective_env(env, &args.env);
    let r = &args.request;
    let mut issuer = Issuer::new(r, env)?;
    let region = issuer.region().ok_or_else(|| {
        Error::InvalidInput(
            "kubeconfig needs a region (EKS has no global endpoint): use --region or AWS_REGION"
                .into(),
        )
    })?;
    let command = match &k.command {
        Some(c) => c.clone(),
        None => std::env::current_exe()
            .map_err(|e| Error::Io {
                what: "cannot find this program's path (use --command)".into(),
                detail: e.to_string(),
            })?
            .display()
            .to_string(),
    };
    let cluster = issuer.describe_cluster(&r.cluster_id)?;

    let mut exec_args: Vec<String> = vec![
        "get-token".into(),
        "--cluster-name".into(),
        cluster.name.clone(),
        "--region".into(),
        region.clone(),
    ];
    for arn in &r.role_arns {
        exec_args.extend(["--role-arn".into(), arn.clone()]);
    }
    if let Some(s) = &r.session_name {
        exec_args.extend(["--session-name".into(), s.clone()]);
    }
    if r.forward_session_name {
        exec_args.push("--forward-session-name".into());
    }
    if let Some(e) = &r.external_id {
        exec_args.extend(["--external-id".into(), e.clone()]);
    }
    if let Some(d) = r.duration_seconds {
        exec_args.extend(["--duration-seconds".into(), d.to_string()]);
    }
    if let Some(p) = r
        .profile
        .clone()
        .or_else(|| env.get("AWS_PROFILE").map(str::to_owned))
    {
        exec_args.extend(["--profile".into(), p]);
    }
    let context = k.alias.clone().unwrap_or_else(|| cluster.arn.clone());
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster.arn, "cluster": {
            "server": cluster.endpoint,
            "certificate-authority-data": cluster.ca_data,
        }}],
        "contexts": [{"name": context, "context": {"cluster": cluster.arn, "user": cluster.arn}}],
        "current-context": context,
        "users": [{"name": cluster.arn, "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": command,
            "args": exec_args,
            "interactiveMode": "IfAvailable",
            "provideClusterInfo": false,
        }}}],
    });
    let body = serde_json::to_string_pretty(&config).expect("plain JSON") + "\n";
    match &k.out {
        None => Ok(body),
        Some(out) => {
            files::write_atomic(out, body.as_bytes(), 0o600).map_err(|e| Error::Io {
                what: format!("cannot write {}", out.display()),
                detail: e.to_string(),
            })?;
            eprintln!(
                "eks-token: wrote the kubeconfig of {} to {}",
                cluster.arn,
                out.display()
            );
            Ok(String::new())
        }
    }
}

/// The offline report as lines for a person.
fn render(r: &verify::Report, now: OffsetDateTime) -> String {
    let mut out = String::new();
    let mut line = |k: &str, v: String| out.push_str(&format!("{k:<16}{v}\n"));
    line("size", format!("{} bytes (EKS accepts up to 4096)", r.size));
    if let Some(region) = &r.region {
        line("region", region.clone());
    }
    if let Some(a) = &r.access_key_id {
        line("access key id", a.clone());
    }
    if let Some(d) = r.signed_at {
        line(
            "signed at",
            format!(
                "{} ({} ago)",
                format_rfc3339(d),
                human((now - d).whole_seconds())
            ),
        );
        line(
            "time left",
            match r.valid_until() {
                Some(until) if until > now => human((until - now).whole_seconds()),
                Some(until) => format!(
                    "none (expired {} ago)",
                    human((now - until).whole_seconds())
                ),
                None => "none (the date has no expiry)".into(),
            },
        );
    }
    if let Some(h) = &r.signed_headers {
        line("signed headers", h.clone());
    }
    line(
        "session token",
        r.session_token_len
            .map_or("none (long-term keys)".into(), |n| {
                format!("present ({n} bytes)")
            }),
    );
    for (rule, detail) in &r.failures {
        line("FAIL", format!("{rule}: {detail}"));
    }
    line(
        "verdict",
        if r.ok() {
            "EKS would accept this token (if STS accepts its signature)".into()
        } else {
            format!(
                "EKS would reject this token ({} rule(s) broken)",
                r.failures.len()
            )
        },
    );
    out
}

/// The most `verify` reads from stdin (a token is at most 4 KiB).
const MAX_STDIN: u64 = 1 << 20;

/// Standard input, trimmed, read within `timeout` and at most `max` bytes: a writer that
/// never writes nor closes (or a terminal nobody types on) ends in an error, not a wait.
/// (A thread reads, so that the wait is bounded whatever stdin is.)
fn read_stdin(max: u64, timeout: std::time::Duration) -> std::io::Result<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let read = std::io::stdin()
            .lock()
            .take(max + 1)
            .read_to_end(&mut bytes);
        let _ = tx.send(read.map(|_| bytes));
    });
    let bytes = match rx.recv_timeout(timeout) {
        Ok(read) => read?,
        Err(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "nothing (or no end) arrived within {} (--timeout); pipe the token in or \
                     give it as an argument",
                    human(timeout.as_secs() as i64)
                ),
            ))
        }
    };
    if bytes.len() as u64 > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "more than {} KiB arrived: a token is at most 4 KiB",
                max >> 10
            ),
        ));
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, "it is not UTF-8 text")
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "it was empty: pipe the token in or give it as an argument",
        ));
    }
    Ok(token.to_owned())
}

/// `verify`: the report on stdout, and whether EKS would accept the token.
pub(crate) fn verify(v: &VerifyArgs, env: &Env) -> Result<(String, bool), Failure> {
    eks_token::set_verbose(v.verbose);
    if v.online && v.cluster_id.is_none() {
        return Err(ArgError::Usage(
            "--online needs --cluster-name: STS checks the signature for that cluster".into(),
        )
        .into());
    }
    let token = match &v.token {
        Some(t) if t != "-" => t.trim().to_owned(),
        _ => read_stdin(MAX_STDIN, v.timeout).map_err(|e| Error::Io {
            what: "cannot read the token from stdin".into(),
            detail: e.to_string(),
        })?,
    };
    let now = OffsetDateTime::now_utc();
    let report = verify::check_in(env, &token, now)?;
    if let (Some(json), Some(cluster)) = (v.authenticator, &v.cluster_id) {
        return authenticator_verify(env, &token, cluster, v, &report, json);
    }
    vlog!(
        "checked a {}-byte token against the EKS server's rules: {} broken",
        report.size,
        report.failures.len()
    );
    let mut out = render(&report, now);
    let mut accepted = report.ok();
    if let (true, Some(cluster)) = (v.online, &v.cluster_id) {
        vlog!("replaying the token to STS with x-k8s-aws-id: {cluster}");
        match verify::replay(env, &token, cluster, v.timeout) {
            Ok(id) => {
                for (label, value) in [
                    ("identity", &id.arn),
                    ("account", &id.account),
                    ("user id", &id.user_id),
                ] {
                    out.push_str(&format!("{label:<16}{value}\n"));
                }
            }
            Err(e) => {
                let why = match &e {
                    Error::Service(se) => format!(
                        "STS refused the token for cluster {cluster}: {}: {}",
                        se.code, se.message
                    ),
                    other => other.to_string(),
                };
                out.push_str(&format!("{:<16}online: {why}\n", "FAIL"));
                accepted = false;
            }
        }
    }
    Ok((out, accepted))
}

/// aws-iam-authenticator's `verify`: the token's rules, then STS; the identity as its
/// JSON (`-o json`) or its Go struct format.
fn authenticator_verify(
    env: &Env,
    token: &str,
    cluster: &str,
    v: &VerifyArgs,
    report: &verify::Report,
    json: bool,
) -> Result<(String, bool), Failure> {
    if let Some((rule, detail)) = report.failures.first() {
        return Err(
            Error::InvalidInput(format!("could not verify token: {rule}: {detail}")).into(),
        );
    }
    let id = verify::replay(env, token, cluster, v.timeout)?;
    // arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION is the role
    // arn:aws:iam::ACCOUNT:role/ROLE; other ARNs are their own canonical form.
    let (canonical, session) = match id.arn.split_once(":assumed-role/") {
        Some((prefix, rest)) => {
            let (role, session) = rest.split_once('/').unwrap_or((rest, ""));
            (
                format!("{}:role/{role}", prefix.replacen(":sts:", ":iam:", 1)),
                session.to_owned(),
            )
        }
        None => (id.arn.clone(), String::new()),
    };
    let access_key_id = report.access_key_id.clone().unwrap_or_default();
    #[derive(serde::Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Identity<'a> {
        #[serde(rename = "ARN")]
        arn: &'a str,
        #[serde(rename = "CanonicalARN")]
        canonical_arn: &'a str,
        #[serde(rename = "AccountID")]
        account_id: &'a str,
        #[serde(rename = "UserID")]
        user_id: &'a str,
        session_name: &'a str,
        #[serde(rename = "AccessKeyID")]
        access_key_id: &'a str,
    }
    let out = Identity {
        arn: &id.arn,
        canonical_arn: &canonical,
        account_id: &id.account,
        user_id: &id.user_id,
        session_name: &session,
        access_key_id: &access_key_id,
    };
    let text = if json {
        let mut buf = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
        serde::Serialize::serialize(&out, &mut ser).expect("plain JSON");
        String::from_utf8(buf).expect("JSON is UTF-8") + "\n"
    } else {
        format!(
            "&{{ARN:{} CanonicalARN:{} AccountID:{} UserID:{} SessionName:{} AccessKeyID:{}}}\n",
            out.arn,
            out.canonical_arn,
            out.account_id,
            out.user_id,
            out.session_name,
            out.access_key_id
        )
    };
    Ok((text, true))
}
