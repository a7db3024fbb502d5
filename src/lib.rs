//! eks-token: Kubernetes credentials for Amazon EKS without the AWS CLI or an AWS SDK.
//!
//! The data flows one way: resolve source credentials ([`credentials`]) -> assume each
//! role of the chain ([`chain`], over [`sts`]) -> presign the token ([`token`], with
//! [`sigv4`]) -> print it ([`exec_credential`]).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cache;
pub mod chain;
pub mod cli;
pub mod credentials;
pub mod eks;
pub mod endpoint;
pub mod env;
pub mod error;
pub mod exec_credential;
pub mod fsutil;
pub mod fuzzing;
pub mod http;
pub mod log;
pub mod profile;
pub mod retry;
pub mod secret;
pub mod sigv4;
pub mod sts;
pub mod timefmt;
pub mod token;
pub mod tools;
pub mod validate;
pub mod verify;
pub mod writer;
pub mod xml;

use std::time::Instant;

pub use error::{Error, Result};

use cli::{Command, GetToken, Output};
use env::Env;

/// Runs a parsed command; returns what goes to stdout and the exit code (`verify`
/// exits 1 with its report when the token would be rejected).
pub fn run(cmd: &Command, env: &Env) -> Result<(String, u8)> {
    match cmd {
        Command::Help => Ok((cli::HELP.to_owned(), 0)),
        Command::Version => Ok((format!("eks-token {}\n", env!("CARGO_PKG_VERSION")), 0)),
        Command::GetToken(args) => {
            log::set_verbose(args.verbose);
            let (api_version, warning) =
                exec_credential::api_version(env.get("KUBERNETES_EXEC_INFO"));
            let token = Issuer::new(args, env)?.issue()?;
            let out = match args.output {
                Output::Token => format!("{}\n", token.value),
                Output::Json => {
                    if let Some(w) = warning {
                        log::warn(format_args!("{w}"));
                    }
                    format!("{}\n", exec_credential::render(api_version, &token))
                }
            };
            Ok((out, 0))
        }
        Command::WriteToken(args, write) => {
            log::set_verbose(args.verbose);
            writer::run(args, write, env)?;
            Ok((String::new(), 0))
        }
        Command::WhoAmI(args, text) => {
            log::set_verbose(args.verbose);
            Ok((tools::whoami(args, *text, env)?, 0))
        }
        Command::Kubeconfig(args, k) => {
            log::set_verbose(args.verbose);
            Ok((tools::kubeconfig(args, k, env)?, 0))
        }
        Command::Verify(v) => {
            log::set_verbose(v.verbose);
            let (out, ok) = tools::verify(v, env)?;
            Ok((out, if ok { 0 } else { 1 }))
        }
    }
}

/// The region: `--region`, `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`.
/// (IMDS gives one later, when it is the credential source.)
pub fn resolve_region(
    flag: Option<&str>,
    env: &Env,
    profiles: &profile::ProfileSet,
    profile: &str,
) -> Option<String> {
    flag.filter(|r| !r.is_empty())
        .or_else(|| env.get("AWS_REGION"))
        .or_else(|| env.get("AWS_DEFAULT_REGION"))
        .or_else(|| profiles.get(profile, "region"))
        .map(|r| r.trim().to_owned())
}

/// Credentials are renewed when less than this remains, so that every token signed with
/// them gets its full 14 minutes.
pub const REFRESH_MARGIN: time::Duration = time::Duration::minutes(15);

/// Issues tokens: resolves the source credentials, assumes the chain, presigns. Keeps
/// the credentials of each level between calls and renews a level only when it nears
/// expiry, so a sidecar does not call STS for every token.
pub struct Issuer<'e> {
    env: &'e Env,
    args: GetToken,
    profiles: profile::ProfileSet,
    profile: (String, bool),
    interactive: Option<bool>,
    sts: sts::StsAccess,
    cache: cache::Lazy,
    source: Option<credentials::Credentials>,
    /// Where the source credentials came from: the source's identity in cache keys.
    source_id: String,
    session_name: Option<String>,
    hops: Vec<credentials::Credentials>,
}

impl<'e> Issuer<'e> {
    /// Validates the arguments (before any network call) and reads the config files.
    pub fn new(args: &GetToken, env: &'e Env) -> Result<Self> {
        // whoami and verify have no cluster.
        if !args.cluster_id.is_empty() {
            validate::cluster_id(&args.cluster_id)?;
        }
        args.chain.validate()?;
        let profiles = profile::load(env)?;
        let (name, explicit) = profile::selected(args.profile.as_deref(), env);
        let region = resolve_region(args.region.as_deref(), env, &profiles, &name);
        if let Some(r) = &region {
            endpoint::validate_region(r)?;
        }
        let cfg = endpoint::EndpointConfig::load(env, &profiles, &name, region)?;
        if let Some(url) = &cfg.override_url {
            endpoint::parse_endpoint_url(url)?;
        }
        let http = http::Client::new(env, args.timeout)?;
        Ok(Issuer {
            env,
            args: args.clone(),
            profiles,
            profile: (name, explicit),
            interactive: exec_credential::interactive(env.get("KUBERNETES_EXEC_INFO")),
            sts: sts::StsAccess::new(http, cfg),
            cache: cache::Lazy::new(args.cache_dir.as_deref(), args.no_cache, env),
            source: None,
            source_id: String::new(),
            session_name: None,
            hops: Vec::new(),
        })
    }

    /// The signing credentials, renewing only the levels that are near expiry.
    pub fn credentials(&mut self) -> Result<credentials::Credentials> {
        let now = time::OffsetDateTime::now_utc();
        let fresh =
            |c: &credentials::Credentials| c.expiration.is_none_or(|e| e - now > REFRESH_MARGIN);
        if !self.source.as_ref().is_some_and(fresh) {
            let (source, from) = credentials::resolve(&credentials::Context {
                env: self.env,
                sts: &self.sts,
                profiles: &self.profiles,
                profile: &self.profile.0,
                profile_explicit: self.profile.1,
                interactive: self.interactive,
                cache: &self.cache,
            })?;
            self.source = Some(source);
            self.source_id = from;
            self.hops.clear();
        }
        let source = self.source.as_ref().expect("resolved above");
        let keep = self.hops.iter().take_while(|c| fresh(c)).count();
        self.hops.truncate(keep);
        if keep == self.args.chain.role_arns.len() {
            return Ok(self.hops.last().unwrap_or(source).clone());
        }
        let sts = self.sts.client()?;
        if self.session_name.is_none() {
            self.session_name = Some(self.args.chain.session_name(&sts, source)?);
        }
        let session_name = self.session_name.as_deref().unwrap_or_default();
        let chain = &self.args.chain;
        while self.hops.len() < chain.role_arns.len() {
            let i = self.hops.len();
            let prev = if i == 0 { source } else { &self.hops[i - 1] };
            let assume = || chain.assume_hop(&sts, prev, i, session_name);
            let next = match self.cache.get() {
                Some(cache) => {
                    let ep = sts.endpoint();
                    let last = i + 1 == chain.role_arns.len();
                    let duration = chain
                        .duration_seconds
                        .unwrap_or(chain::DEFAULT_DURATION_SECONDS)
                        .to_string();
                    let key = cache::Cache::key_at(
                        ep,
                        &[
                            "role-hop",
                            &self.source_id,
                            &chain.role_arns[..=i].join("\n"),
                            if last {
                                chain.external_id.as_deref().unwrap_or("")
                            } else {
                                ""
                            },
                            session_name,
                            &duration,
                        ],
                    );
                    cache.get_or_fill(
                        &key,
                        &format!("hop {} {}", i + 1, chain.role_arns[i]),
                        assume,
                    )?
                }
                None => assume()?,
            };
            self.hops.push(next);
        }
        Ok(self.hops.last().unwrap_or(source).clone())
    }

    /// Starts a fresh `--timeout` deadline.
    pub fn start(&self) {
        self.sts.http().start_deadline(self.args.timeout);
    }

    /// HTTP and STS.
    pub fn sts(&self) -> &sts::StsAccess {
        &self.sts
    }

    /// The config files and the selected profile.
    pub fn profiles(&self) -> (&profile::ProfileSet, &str) {
        (&self.profiles, &self.profile.0)
    }

    /// The region known so far.
    pub fn region(&self) -> Option<String> {
        self.sts.region()
    }

    /// The credentials at each level after [`Issuer::credentials`]: the source, then
    /// each `--role-arn` hop.
    pub fn levels(&self) -> Vec<(String, credentials::Credentials)> {
        let mut out = Vec::new();
        if let Some(s) = &self.source {
            out.push((format!("the source ({})", self.source_id), s.clone()));
        }
        for (i, h) in self.hops.iter().enumerate() {
            out.push((
                format!("hop {} ({})", i + 1, self.args.chain.role_arns[i]),
                h.clone(),
            ));
        }
        out
    }

    /// A new token, within a fresh `--timeout` deadline.
    pub fn issue(&mut self) -> Result<token::Token> {
        let started = Instant::now();
        self.sts.http().start_deadline(self.args.timeout);
        let creds = self.credentials()?;
        let http = self.sts.http();
        let token = token::generate(
            &creds,
            self.sts.endpoint()?,
            &self.args.cluster_id,
            http.now(),
            time::OffsetDateTime::now_utc(),
        )?;
        vlog!(
            "token for cluster {} signed by {} ({} bytes), expires {}; total {:.1} ms",
            self.args.cluster_id,
            creds.access_key_id,
            token.value.len(),
            timefmt::format_rfc3339(token.expiration),
            started.elapsed().as_secs_f64() * 1000.0
        );
        Ok(token)
    }
}
