//! eks-token: Kubernetes credentials for Amazon EKS without the AWS CLI or an AWS SDK.
//!
//! The data flows one way: resolve source credentials ([`credentials`]) -> assume each
//! role of the chain ([`chain`], over [`sts`]) -> presign the token ([`token`], with
//! [`sigv4`]) -> print it ([`exec_credential`]).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod chain;
pub mod cli;
pub mod credentials;
pub mod endpoint;
pub mod env;
pub mod error;
pub mod exec_credential;
pub mod http;
pub mod log;
pub mod retry;
pub mod secret;
pub mod sigv4;
pub mod sts;
pub mod timefmt;
pub mod token;
pub mod validate;
pub mod xml;

use std::time::Instant;

pub use error::{Error, Result};

use cli::{Command, GetToken, Output};
use env::Env;

/// Runs a parsed command; returns what goes to stdout.
pub fn run(cmd: &Command, env: &Env) -> Result<String> {
    match cmd {
        Command::Help => Ok(cli::HELP.to_owned()),
        Command::Version => Ok(format!("eks-token {}\n", env!("CARGO_PKG_VERSION"))),
        Command::GetToken(args) => {
            log::set_verbose(args.verbose);
            let (api_version, warning) =
                exec_credential::api_version(env.get("KUBERNETES_EXEC_INFO"));
            let token = get_token(args, env)?;
            Ok(match args.output {
                Output::Token => format!("{}\n", token.value),
                Output::Json => {
                    if let Some(w) = warning {
                        log::warn(format_args!("{w}"));
                    }
                    format!("{}\n", exec_credential::render(api_version, &token))
                }
            })
        }
    }
}

/// The region: `--region`, then `AWS_REGION`, then `AWS_DEFAULT_REGION`.
pub fn resolve_region(flag: Option<&str>, env: &Env) -> Option<String> {
    flag.filter(|r| !r.is_empty())
        .or_else(|| env.get("AWS_REGION"))
        .or_else(|| env.get("AWS_DEFAULT_REGION"))
        .map(|r| r.trim().to_owned())
}

/// Resolves credentials, assumes the chain and presigns the token.
pub fn get_token(args: &GetToken, env: &Env) -> Result<token::Token> {
    let started = Instant::now();
    validate::cluster_id(&args.cluster_id)?;
    args.chain.validate()?;
    let region = resolve_region(args.region.as_deref(), env);
    let endpoint = endpoint::resolve_sts(&endpoint::EndpointConfig::from_env(env, region)?)?;
    vlog!("STS endpoint {} ({})", endpoint.url("/"), endpoint.reason);
    let http = http::Client::new(env, args.timeout)?;
    let sts = sts::Sts::new(&http, &endpoint);
    let (source, _from) = credentials::resolve(&credentials::Context { env, sts: &sts })?;
    let creds = args.chain.assume(&sts, source)?;
    let now = time::OffsetDateTime::now_utc();
    let token = token::generate(&creds, &endpoint, &args.cluster_id, now)?;
    vlog!(
        "token for cluster {} signed by {} ({} bytes), expires {} ; total {:.1} ms",
        args.cluster_id,
        creds.access_key_id,
        token.value.len(),
        timefmt::format_rfc3339(token.expiration),
        started.elapsed().as_secs_f64() * 1000.0
    );
    Ok(token)
}
