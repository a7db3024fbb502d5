//! `get-token`: an ExecCredential for kubectl, or the bare token.

use eks_token::{Env, Log, Retry, Token};

use super::{aws_json, configured_format, queried};
use crate::cli::args::{Dialect, Format, GetToken};
use crate::cli::exec_credential;
use crate::cli::failure::Failure;
use crate::cli::output::vlog;

/// `get-token`: an ExecCredential for kubectl, or the bare token, as the dialect it was
/// asked in prints it.
pub(crate) fn get_token(mut args: GetToken, env: &Env, log: &Log) -> Result<String, Failure> {
    let env = args.effective_env(env);
    let exec_info = env.get("KUBERNETES_EXEC_INFO");
    let (api_version, warning) = match args.print.dialect {
        // argocd-k8s-auth always answers v1beta1.
        Dialect::ArgoCd => (exec_credential::V1BETA1, None),
        _ => exec_credential::api_version(exec_info),
    };
    let interactive = exec_credential::interactive(exec_info);
    let token = if args.print.dialect == Dialect::ArgoCd {
        argo_issue(&args.request, &env, log)?
    } else {
        let mut issuer = super::issuer(&args.request, &env, log, interactive)?;
        configured_format(&mut args.print, &issuer)?;
        let token = issuer.issue()?;
        // The process ends after printing: its memory goes back whole, not piece by
        // piece (the hot path of every kubectl call).
        std::mem::forget(issuer);
        token
    };
    let print = &args.print;
    if print.format != Format::Token {
        if let Some(w) = warning {
            log.warn(format_args!("{w}"));
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
            Token::rfc3339(token.expiration),
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

/// argocd-k8s-auth's way: any failure is tried again every 5 s (a role's trust policy
/// takes seconds to reach STS after it changes; an IRSA token file may not be mounted
/// yet), the configuration read again each time, all within the run's timeout (60 s
/// unless `--timeout` says otherwise). A request that is invalid as written is not
/// retried, nor is a configuration that cannot be used.
fn argo_issue(
    request: &eks_token::Request,
    env: &Env,
    log: &Log,
) -> Result<eks_token::Token, Failure> {
    const INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);
    let deadline = std::time::Instant::now() + request.timeout;
    let mut attempt = request.clone();
    loop {
        let err = match super::issuer(&attempt, env, log, Some(false)).and_then(|mut i| i.issue()) {
            Ok(token) => return Ok(token),
            Err(e) => e,
        };
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if err.retry() == Retry::Never || left <= INTERVAL {
            return Err(err.into());
        }
        vlog!(log, "{err}; trying again in 5 s (as argocd-k8s-auth does)");
        std::thread::sleep(INTERVAL);
        attempt.timeout = left - INTERVAL;
    }
}
