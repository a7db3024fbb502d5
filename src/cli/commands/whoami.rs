//! `whoami` (`sts get-caller-identity`): who the credentials are.

use eks_token::{Env, Error, Log};

use super::{aws_json, configured_format, queried};
use crate::cli::args::{Dialect, Format, GetToken};
use crate::cli::failure::Failure;
use crate::cli::output::terminal;
use crate::cli::output::vlog;

/// `whoami`: GetCallerIdentity with the chain's credentials (after each level with
/// `-v`), printed as `aws sts get-caller-identity` does; under eks-token,
/// `--output text` is the ARN alone.
pub(crate) fn whoami(mut args: GetToken, env: &Env, log: &Log) -> Result<String, Failure> {
    let env = args.effective_env(env);
    let mut issuer = super::issuer(&args.request, &env, log, None)?;
    configured_format(&mut args.print, &issuer)?;
    let ids = issuer.identities(args.verbose)?;
    for (label, id) in &ids {
        vlog!(log, "identity after {label}: {}", id.arn);
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
        (Dialect::EksToken, Format::Text, None) => format!("{}\n", terminal(&id.arn)),
        // aws-cli's text format: the values in key order.
        (_, Format::Text, None) => format!(
            "{}\t{}\t{}\n",
            terminal(&id.account),
            terminal(&id.arn),
            terminal(&id.user_id)
        ),
        _ => aws_json(&answer),
    })
}
