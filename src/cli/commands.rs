//! The commands that print: `get-token`, `whoami`, `kubeconfig` and `verify`. Each
//! runs the library and formats its answer for a person, kubectl or a script.

use std::io::Read;

use eks_token::{files, format_rfc3339, human_duration as human, verify, Env, Error, Issuer};
use serde_json::json;
use time::OffsetDateTime;

use super::args::{GetToken, KubeconfigArgs, Output, VerifyArgs};
use super::{exec_credential, vlog, warn, ArgError, Failure};

/// `get-token`: an ExecCredential for kubectl, or the bare token.
pub(crate) fn get_token(mut args: GetToken, env: &Env) -> Result<String, Failure> {
    let exec_info = env.get("KUBERNETES_EXEC_INFO");
    let (api_version, warning) = exec_credential::api_version(exec_info);
    args.request.interactive = exec_credential::interactive(exec_info);
    let token = Issuer::new(&args.request, env)?.issue()?;
    Ok(match args.output {
        Output::Token => format!("{}\n", token.value),
        Output::Json => {
            if let Some(w) = warning {
                warn(format_args!("{w}"));
            }
            format!("{}\n", exec_credential::render(api_version, &token))
        }
    })
}

fn quoted(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// `whoami`: GetCallerIdentity with the chain's credentials (after each level with
/// `-v`), printed as `aws sts get-caller-identity` does, or the ARN alone.
pub(crate) fn whoami(args: GetToken, text: bool, env: &Env) -> Result<String, Failure> {
    let mut issuer = Issuer::new(&args.request, env)?;
    let ids = issuer.identities(eks_token::verbose())?;
    for (label, id) in &ids {
        vlog!("identity after {label}: {}", id.arn);
    }
    let Some((_, id)) = ids.last() else {
        return Err(Error::InvalidInput("no identity".into()).into());
    };
    Ok(if text {
        format!("{}\n", id.arn)
    } else {
        format!(
            "{{\n    \"UserId\": {},\n    \"Account\": {},\n    \"Arn\": {}\n}}\n",
            quoted(&id.user_id),
            quoted(&id.account),
            quoted(&id.arn)
        )
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
        _ => {
            let mut s = String::new();
            std::io::stdin()
                .take(1 << 20)
                .read_to_string(&mut s)
                .map_err(|e| Error::Io {
                    what: "cannot read the token from stdin".into(),
                    detail: e.to_string(),
                })?;
            s.trim().to_owned()
        }
    };
    let now = OffsetDateTime::now_utc();
    let report = verify::check_in(env, &token, now)?;
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
