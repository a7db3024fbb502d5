//! The issuer: a [`Request`] and the environment become a plan (configuration only, no
//! network), the executor runs it, and the credentials at the top sign tokens. Between
//! tokens the issuer keeps each level's credentials and renews only the levels near
//! expiry, so a sidecar does not call STS for every token.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::config_files::{self, ProfileSet};
use crate::credentials::{Credentials, REFRESH_MARGIN};
use crate::eks::{self, Cluster};
use crate::endpoint::{self, Service};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::executor::{self, Context, Level};
use crate::plan::{self, Plan, SessionName};
use crate::sts::{CallerIdentity, Sts};
use crate::token::{self, Token};
use crate::{cache, http, log, timefmt, validate, vlog};

/// What the caller asks for: the cluster, the roles to assume after the default
/// credential chain, and how. The command line builds one; so can any program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The cluster name (or Outposts cluster id) signed into tokens as `x-k8s-aws-id`;
    /// empty when no token is made (`whoami`).
    pub cluster_id: String,
    /// Roles to assume, in order, after the source credentials (`--role-arn`).
    pub role_arns: Vec<String>,
    /// RoleSessionName of those hops (default `EKSGetTokenAuth`, as aws-cli).
    pub session_name: Option<String>,
    /// Use the source identity's session name for those hops instead.
    pub forward_session_name: bool,
    /// ExternalId of the last of those hops.
    pub external_id: Option<String>,
    /// DurationSeconds of those hops (default 3600).
    pub duration_seconds: Option<u32>,
    /// The region (else `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`).
    pub region: Option<String>,
    /// The profile (else `AWS_PROFILE`, `AWS_DEFAULT_PROFILE`, `default`).
    pub profile: Option<String>,
    /// The credential cache directory (else `EKS_TOKEN_CACHE_DIR`,
    /// `$XDG_CACHE_HOME/eks-token`, `~/.cache/eks-token`).
    pub cache_dir: Option<PathBuf>,
    /// Neither read nor write the credential cache.
    pub no_cache: bool,
    /// Deadline of each token (or other operation) from its start.
    pub timeout: Duration,
    /// Whether an MFA prompt may be shown (kubectl's `spec.interactive`; `None`
    /// outside kubectl: when there is a terminal).
    pub interactive: Option<bool>,
    /// Each step and its duration on stderr (never a secret).
    pub verbose: bool,
}

impl Default for Request {
    fn default() -> Self {
        Request {
            cluster_id: String::new(),
            role_arns: Vec::new(),
            session_name: None,
            forward_session_name: false,
            external_id: None,
            duration_seconds: None,
            region: None,
            profile: None,
            cache_dir: None,
            no_cache: false,
            timeout: Duration::from_secs(30),
            interactive: None,
            verbose: false,
        }
    }
}

impl Request {
    /// Checks every value before any network call.
    fn validate(&self) -> Result<()> {
        if !self.cluster_id.is_empty() {
            validate::cluster_id(&self.cluster_id)?;
        }
        for arn in &self.role_arns {
            validate::role_arn(arn, "--role-arn")?;
        }
        if let Some(name) = &self.session_name {
            validate::session_name(name, "--session-name")?;
        }
        if let Some(id) = &self.external_id {
            validate::external_id(id)?;
        }
        if let Some(d) = self.duration_seconds {
            validate::duration_seconds(d)?;
        }
        if self.timeout.is_zero() {
            return Err(Error::InvalidInput(
                "the timeout must be more than zero".into(),
            ));
        }
        Ok(())
    }
}

/// Issues tokens and credentials for a [`Request`].
pub struct Issuer<'e> {
    env: &'e Env,
    request: Request,
    profiles: ProfileSet,
    profile: String,
    plan: Plan,
    sts: Sts,
    cache: cache::Lazy,
    /// The credentials at each level: the base, then after each hop.
    levels: Vec<Level>,
    /// The forwarded session name, once asked for.
    forwarded: Option<String>,
}

impl<'e> Issuer<'e> {
    /// Validates the request, reads the config files and makes the plan; no network.
    pub fn new(request: &Request, env: &'e Env) -> Result<Self> {
        log::set_verbose(request.verbose);
        request.validate()?;
        let profiles = config_files::load(env)?;
        let (profile, explicit) = config_files::selected(request.profile.as_deref(), env);
        let region = request
            .region
            .as_deref()
            .filter(|r| !r.is_empty())
            .or_else(|| env.get("AWS_REGION"))
            .or_else(|| env.get("AWS_DEFAULT_REGION"))
            .or_else(|| profiles.get(&profile, "region"))
            .map(|r| r.trim().to_owned());
        let settings = endpoint::Settings::load(env, &profiles, &profile, region)?;
        // A refused STS endpoint override is reported before any request.
        settings.override_for(Service::Sts)?;
        let plan = plan::make(request, env, &profiles, &profile, explicit)?;
        if let plan::Base::Sso(_) = plan.base {
            settings.override_for(Service::SsoPortal)?;
        }
        Ok(Issuer {
            env,
            request: request.clone(),
            plan,
            sts: Sts::new(http::Client::new(env, request.timeout), settings),
            cache: cache::Lazy::new(request.cache_dir.as_deref(), request.no_cache, env),
            profiles,
            profile,
            levels: Vec::new(),
            forwarded: None,
        })
    }

    fn context(&self) -> Context<'_> {
        Context {
            env: self.env,
            profiles: &self.profiles,
            profile: &self.profile,
            sts: &self.sts,
            cache: &self.cache,
            interactive: self.request.interactive,
        }
    }

    /// The region known so far (configured, or learnt from IMDS once it gave
    /// credentials).
    pub fn region(&self) -> Option<String> {
        self.sts.region()
    }

    /// The credentials that sign tokens, within a fresh deadline.
    pub fn credentials(&mut self) -> Result<Credentials> {
        self.sts.http().start_deadline(self.request.timeout);
        self.top()
    }

    /// The signing credentials, renewing only the levels that are near expiry.
    fn top(&mut self) -> Result<Credentials> {
        let now = time::OffsetDateTime::now_utc();
        let fresh = |l: &Level| l.creds.expiration.is_none_or(|e| e - now > REFRESH_MARGIN);
        let keep = self.levels.iter().take_while(|l| fresh(l)).count();
        self.levels.truncate(keep);
        if self.levels.is_empty() {
            let base = executor::base(&self.context(), &self.plan)?;
            self.levels.push(base);
        }
        while self.levels.len() <= self.plan.hops.len() {
            let i = self.levels.len() - 1;
            let hop = &self.plan.hops[i];
            let signer = &self.levels[i].creds;
            let session_name = match &hop.session_name {
                SessionName::Named(n) => n.clone(),
                SessionName::Forwarded => match &self.forwarded {
                    Some(n) => n.clone(),
                    None => {
                        let n = executor::forwarded_session_name(&self.context(), signer)?;
                        self.forwarded = Some(n.clone());
                        n
                    }
                },
            };
            let creds = executor::hop(&self.context(), hop, &session_name, signer)?;
            let label = format!("{} ({})", hop.origin, hop.role_arn);
            self.levels.push(Level { creds, label });
        }
        Ok(self.levels[self.levels.len() - 1].creds.clone())
    }

    /// A new token, within a fresh deadline.
    pub fn issue(&mut self) -> Result<Token> {
        let started = Instant::now();
        let creds = self.credentials()?;
        let http = self.sts.http();
        let token = token::generate(
            &creds,
            self.sts.endpoint()?,
            &self.request.cluster_id,
            http.now(),
            time::OffsetDateTime::now_utc(),
        )?;
        vlog!(
            "token for cluster {} signed by {} ({} bytes), expires {}; total {:.1} ms",
            self.request.cluster_id,
            creds.access_key_id,
            token.value.len(),
            timefmt::format_rfc3339(token.expiration),
            started.elapsed().as_secs_f64() * 1000.0
        );
        Ok(token)
    }

    /// Who the signing credentials are (GetCallerIdentity), within a fresh deadline;
    /// with `each_level`, also who they were after the source and after each hop,
    /// labelled (where cross-account setups go wrong).
    pub fn identities(&mut self, each_level: bool) -> Result<Vec<(String, CallerIdentity)>> {
        self.credentials()?;
        let levels: Vec<&Level> = if each_level {
            self.levels.iter().collect()
        } else {
            self.levels.last().into_iter().collect()
        };
        let mut out = Vec::new();
        for (i, level) in levels.into_iter().enumerate() {
            let id = self.sts.get_caller_identity(&level.creds)?;
            let label = if each_level && i == 0 {
                format!("the source ({})", level.label)
            } else {
                level.label.clone()
            };
            out.push((label, id));
        }
        Ok(out)
    }

    /// EKS DescribeCluster of `name` with the signing credentials, within a fresh
    /// deadline. Needs a configured region.
    pub fn describe_cluster(&mut self, name: &str) -> Result<Cluster> {
        let region = self.sts.settings().region.clone().ok_or_else(|| {
            Error::InvalidInput(
                "EKS has no global endpoint: give a region (--region or AWS_REGION)".into(),
            )
        })?;
        let ep = endpoint::resolve(Service::Eks, self.sts.settings(), Some(&region))?;
        vlog!("EKS endpoint {} ({})", ep.join("/"), ep.reason);
        let creds = self.credentials()?;
        eks::describe_cluster(self.sts.http(), &ep, &creds, name)
    }
}
