//! The operator tools: `whoami`, `kubeconfig` and `verify`.

use std::io::Read;

use serde_json::json;

use crate::cli::{GetToken, KubeconfigArgs, VerifyArgs};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::{eks, fsutil, http, log, sts, verify, vlog, Issuer};

fn quoted(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// `whoami`: GetCallerIdentity with the chain's credentials (after each hop with `-v`),
/// printed as `aws sts get-caller-identity` does, or the ARN alone.
pub fn whoami(args: &GetToken, text: bool, env: &Env) -> Result<String> {
    let mut issuer = Issuer::new(args, env)?;
    issuer.start();
    let last = issuer.credentials()?;
    let client = issuer.sts().client()?;
    if log::verbose() {
        for (label, creds) in issuer.levels() {
            let id = client.get_caller_identity(&creds)?;
            vlog!("identity after {label}: {}", id.arn);
        }
    }
    let id = client.get_caller_identity(&last)?;
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
pub fn kubeconfig(args: &GetToken, k: &KubeconfigArgs, env: &Env) -> Result<String> {
    if let Some(out) = &k.out {
        if out.exists() && !k.force {
            return Err(Error::InvalidInput(format!(
                "{} exists; use --force to overwrite it",
                out.display()
            )));
        }
    }
    let mut issuer = Issuer::new(args, env)?;
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
    issuer.start();
    let creds = issuer.credentials()?;
    let (profiles, profile) = issuer.profiles();
    let ep = eks::endpoint(env, profiles, profile, &region)?;
    vlog!("EKS endpoint {} ({})", ep.url("/"), ep.reason);
    let cluster = eks::describe_cluster(issuer.sts().http(), &ep, &creds, &args.cluster_id)?;

    let mut exec_args: Vec<String> = vec![
        "get-token".into(),
        "--cluster-name".into(),
        cluster.name.clone(),
        "--region".into(),
        region.clone(),
    ];
    for arn in &args.chain.role_arns {
        exec_args.extend(["--role-arn".into(), arn.clone()]);
    }
    if let Some(s) = &args.chain.session_name {
        exec_args.extend(["--session-name".into(), s.clone()]);
    }
    if args.chain.forward_session_name {
        exec_args.push("--forward-session-name".into());
    }
    if let Some(e) = &args.chain.external_id {
        exec_args.extend(["--external-id".into(), e.clone()]);
    }
    if let Some(d) = args.chain.duration_seconds {
        exec_args.extend(["--duration-seconds".into(), d.to_string()]);
    }
    if let Some(p) = args
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
            fsutil::write_atomic(out, body.as_bytes(), 0o600).map_err(|e| Error::Io {
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

/// `verify`: the report on stdout, and whether EKS would accept the token.
pub fn verify(v: &VerifyArgs, env: &Env) -> Result<(String, bool)> {
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
    let override_url = env
        .get("AWS_ENDPOINT_URL_STS")
        .or_else(|| env.get("AWS_ENDPOINT_URL"))
        .and_then(|u| crate::endpoint::parse_endpoint_url(u).ok())
        .map(|(scheme, host, _)| format!("{scheme}://{host}"));
    let now = time::OffsetDateTime::now_utc();
    let report = verify::check(&token, now, override_url.as_deref());
    vlog!(
        "checked a {}-byte token against the EKS server's rules: {} broken",
        report.size,
        report.failures.len()
    );
    let mut out = verify::render(&report, now);
    let mut accepted = report.ok();
    if v.online {
        let cluster = v.cluster_id.as_deref().ok_or_else(|| {
            Error::Usage(
                "--online needs --cluster-name: STS checks the signature for that cluster".into(),
            )
        })?;
        let Some(url) = &report.url else {
            return Ok((out, false));
        };
        let http = http::Client::new(env, v.timeout)?;
        let headers = [("x-k8s-aws-id".to_owned(), cluster.to_owned())];
        vlog!("replaying the token to STS with x-k8s-aws-id: {cluster}");
        let resp = http
            .send(&http::Request {
                method: "GET",
                url,
                headers: &headers,
                body: b"",
                allow_http: override_url.is_some(),
                timeout: None,
            })
            .map_err(|f| Error::Http {
                what: "replaying the token to STS".into(),
                detail: f.to_string(),
            })?;
        if resp.status == 200 {
            let leaves = crate::xml::parse(&resp.body).map_err(|why| Error::Http {
                what: "replaying the token to STS".into(),
                detail: format!("STS answered with malformed XML: {why}"),
            })?;
            for (label, key) in [
                ("identity", "Arn"),
                ("account", "Account"),
                ("user id", "UserId"),
            ] {
                out.push_str(&format!(
                    "{label:<16}{}\n",
                    leaves
                        .get(&format!("GetCallerIdentityResult/{key}"))
                        .unwrap_or("?")
                ));
            }
        } else {
            let e = sts::decode_error(
                "GetCallerIdentity",
                "",
                resp.status,
                &resp.body,
                resp.header("x-amzn-requestid").unwrap_or(""),
                resp.header("content-type").unwrap_or("no content type"),
            );
            out.push_str(&format!(
                "{:<16}online: STS refused the token for cluster {cluster}: {}: {}\n",
                "FAIL", e.code, e.message
            ));
            accepted = false;
        }
    }
    Ok((out, accepted))
}
