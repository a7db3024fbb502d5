//! The issuer: a [`Request`] and the environment become a plan (configuration only, no
//! network), the executor runs it, and the credentials at the top sign tokens. Between
//! tokens the issuer keeps each level's credentials and renews only the levels near
//! expiry, so a sidecar does not call STS for every token.

use std::time::Instant;

use crate::config_files::{self, ProfileSet};
use crate::credentials::Credentials;
use crate::diagnose::{ChainFailure, ChainReport, LevelReport};
use crate::eks::{self, Cluster};
use crate::endpoint::{self, Service};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::executor::{self, Level, Reach};
use crate::log::{vlog, Log};
use crate::plan::{self, Plan};
use crate::request::Request;
use crate::runtime::{MfaPrompt, Runtime, Stop};
use crate::session::Session;
use crate::sources::Context;
use crate::sts::CallerIdentity;
use crate::token::{self, Token};
use crate::validate;
use crate::verify;
use crate::{cache, http, retry, timefmt};

/// Issues tokens and credentials for a [`Request`].
pub struct Issuer<'e> {
    env: &'e Env,
    request: Request,
    profiles: ProfileSet,
    profile: String,
    /// The profile was named (`--profile`, `AWS_PROFILE`, `AWS_DEFAULT_PROFILE`).
    profile_named: bool,
    plan: Plan,
    session: Session,
    cache: cache::Lazy,
    /// The credentials at each level of the plan, kept between tokens.
    state: executor::State,
    /// The deadline started by `new` has not been used by an operation yet: the first
    /// one keeps it, so that reading the config files and planning count too.
    first_deadline: bool,
    mfa_prompt: Option<MfaPrompt>,
}

impl<'e> Issuer<'e> {
    /// Validates the request, reads the config files and makes the plan; no network.
    /// The first operation's deadline (`request.timeout`) starts here. Logs nothing, and
    /// cannot be stopped nor ask for MFA: see [`Issuer::with`].
    pub fn new(request: &Request, env: &'e Env) -> Result<Self> {
        Self::with(request, env, Runtime::default())
    }

    /// [`Issuer::new`], in `runtime`: its log, its stop, its MFA prompt.
    pub fn with(request: &Request, env: &'e Env, runtime: Runtime) -> Result<Self> {
        let started = Instant::now();
        let Runtime {
            log,
            stop,
            mfa_prompt,
        } = runtime;
        env.check_utf8(&log)?;
        for k in [
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_SECURITY_TOKEN",
        ] {
            if let Some(v) = env.get(k) {
                log.hide(v);
            }
        }
        request.validate()?;
        let profiles = config_files::load(env)?;
        profiles.hide_secrets(&log);
        let (profile, named) = config_files::selected(request.profile.as_deref(), env);
        let region = match request.region.as_deref().filter(|r| !r.is_empty()) {
            Some(r) => Some(r.trim().to_owned()),
            None => profiles
                .setting_of(
                    env,
                    &profile,
                    &["AWS_REGION", "AWS_DEFAULT_REGION"],
                    "region",
                )
                .map(|(r, _)| r.trim().to_owned()),
        };
        let settings = endpoint::Settings::load(env, &profiles, &profile, region)?;
        // A refused STS endpoint override is reported before any request.
        settings.override_for(Service::Sts)?;
        let retry = retry::Policy::load(env, &profiles, &profile)?;
        let deadline = started + request.timeout;
        let plan = plan::make(&log, request, env, &profiles, &profile, named, deadline)?;
        plan.base.check(&settings)?;
        Ok(Issuer {
            env,
            request: request.clone(),
            plan,
            cache: cache::Lazy::new(request.cache_dir.as_deref(), request.no_cache, env, &log),
            session: Session::new(
                http::Client::new(env, request.timeout)
                    .with_connect_timeout(request.connect_timeout.unwrap_or(http::CONNECT_TIMEOUT)),
                settings,
                retry,
                log,
                stop,
            ),
            profiles,
            profile,
            profile_named: named != config_files::Named::Default,
            state: executor::State::default(),
            first_deadline: true,
            mfa_prompt,
        })
        .inspect(|issuer| issuer.session.http().set_deadline(deadline))
    }

    fn context(&self) -> Context<'_> {
        Context {
            env: self.env,
            profiles: &self.profiles,
            profile: &self.profile,
            session: &self.session,
            cache: &self.cache,
            mfa_prompt: self.mfa_prompt.as_ref(),
        }
    }

    /// The run's log.
    pub fn log(&self) -> &Log {
        self.session.log()
    }

    /// The run's stop.
    pub fn stop(&self) -> &Stop {
        self.session.stop()
    }

    /// Whether getting credentials runs a program (`credential_process`): a caller that
    /// ends on a signal should then [`Stop::stop`] the run first, which ends it.
    pub fn runs_a_program(&self) -> bool {
        self.plan.base.runs_a_program()
    }

    /// The servers' clock minus this machine's, when a server's answer (in this run, or
    /// in the run that made a cached session) told it; `None` when no server was asked
    /// (keys used as they are sign on this machine's clock, whatever it says).
    pub fn clock_skew(&self) -> Option<time::Duration> {
        self.session.clock().skew()
    }

    /// A setting as the SDKs read it (e.g. aws-cli's output format): the environment
    /// variable `var`, else the selected profile's `key`; with where it came from, for
    /// messages (`AWS_DEFAULT_OUTPUT`, "output of profile `dev`").
    pub fn setting(&self, var: &str, key: &str) -> Option<(String, String)> {
        self.profiles.setting(self.env, &self.profile, var, key)
    }

    /// The profile the request or the environment named (`--profile`, else
    /// `AWS_PROFILE`, else `AWS_DEFAULT_PROFILE`); `None` for the default one.
    pub fn named_profile(&self) -> Option<&str> {
        self.profile_named.then_some(self.profile.as_str())
    }

    /// The region known so far (configured, or learnt from IMDS once it gave
    /// credentials).
    pub fn region(&self) -> Option<String> {
        self.session.region()
    }

    /// The cluster its tokens are for.
    pub(crate) fn cluster_id(&self) -> &str {
        &self.request.cluster_id
    }

    /// How many levels of its plan come before the request's own role hops: the
    /// source and a profile's role chain, which a fleet's clusters share.
    pub(crate) fn base_depth(&self) -> usize {
        1 + self.plan.hops.len() - self.request.role_arns.len()
    }

    /// Its first `n` levels, when it holds them and each is fresh.
    pub(crate) fn fresh_levels(&self, n: usize) -> Option<&[Level]> {
        self.state.fresh_levels(n, self.session.clock().now())
    }

    /// Takes `shared`, another issuer's first levels, unless its own are fresh, and the
    /// region their source told (IMDS's), which this one would have learnt getting them.
    pub(crate) fn share_levels(&mut self, shared: &[Level], region: Option<&str>) {
        let now = self.session.clock().now();
        self.state.share(shared, now);
        if let Some(r) = region {
            self.session.set_region_hint(r);
        }
    }

    /// The region a source of this issuer's told (IMDS's), if one did.
    pub(crate) fn region_told(&self) -> Option<String> {
        self.session.region_hint()
    }

    /// Each operation from now on, the first too, has a deadline of its own (a fleet's
    /// issuers are made together, and used one after another).
    pub(crate) fn own_deadlines(&mut self) {
        self.first_deadline = false;
    }

    /// The credentials that sign tokens, within a fresh deadline (the first operation:
    /// within the one `new` started).
    pub fn credentials(&mut self) -> Result<Credentials> {
        self.reach(Reach::Top)
    }

    /// The credentials of the plan's levels, as far as `reach` asks, within a fresh
    /// deadline (the first operation: within the one `new` started).
    fn reach(&mut self, reach: Reach) -> Result<Credentials> {
        if !std::mem::replace(&mut self.first_deadline, false) {
            self.session
                .http()
                .set_deadline(Instant::now() + self.request.timeout);
        }
        // The state is taken out while the context borrows the rest.
        let mut state = std::mem::take(&mut self.state);
        let creds = executor::run(&self.context(), &self.plan, &mut state, reach);
        self.state = state;
        creds
    }

    /// A new token, within a fresh deadline.
    pub fn issue(&mut self) -> Result<Token> {
        // A token names its cluster: an empty id is refused before any request.
        validate::cluster_id(&self.request.cluster_id)?;
        let started = Instant::now();
        let creds = self.credentials()?;
        let log = self.session.log();
        let token = token::generate(
            log,
            &creds,
            self.session.sts_endpoint()?,
            &self.request.cluster_id,
            self.session.clock().now(),
            time::OffsetDateTime::now_utc(),
        )?;
        log.hide(&token.value);
        if log.verbose() && self.session.clock().skew().is_none() {
            vlog!(
                log,
                "clock: no server was asked, so the token is signed on this machine's clock \
                 as it is (a skew cannot be learnt from keys used as they are)"
            );
        }
        vlog!(
            log,
            "token for cluster {} signed by {} ({} bytes), expires {}; total {:.1} ms",
            self.request.cluster_id,
            creds.access_key_id,
            token.value.len(),
            timefmt::format_rfc3339(token.expiration),
            started.elapsed().as_secs_f64() * 1000.0
        );
        Ok(token)
    }

    /// [`verify::check`] of a token this issuer made: the STS endpoint override it signs
    /// for (the environment's, else the profile's `endpoint_url`) is accepted in place
    /// of a real STS host.
    pub fn check(&self, token: &str, now: time::OffsetDateTime) -> Result<verify::Report> {
        let o = self.session.settings().override_for(Service::Sts)?;
        Ok(verify::check(token, now, o.map(|u| u.origin()).as_deref()))
    }

    /// Who the signing credentials are (GetCallerIdentity), within a fresh deadline;
    /// with `each_level`, also who they were after the source and after each hop,
    /// labelled (where cross-account setups go wrong).
    pub fn identities(&mut self, each_level: bool) -> Result<Vec<(String, CallerIdentity)>> {
        let levels: Vec<&Level> = if each_level {
            self.reach(Reach::Every)?;
            self.state.levels.iter().collect()
        } else {
            self.reach(Reach::Top)?;
            self.state.top().into_iter().collect()
        };
        let mut out = Vec::new();
        for (i, level) in levels.into_iter().enumerate() {
            let id = executor::caller_identity(&self.context(), level)?;
            let label = if each_level && i == 0 {
                format!("the source ({})", level.label)
            } else {
                level.label.clone()
            };
            out.push((label, id));
        }
        Ok(out)
    }

    /// The chain walked as far as it goes, within a fresh deadline: how the source was
    /// chosen, who each level is (GetCallerIdentity), and what failed, if anything.
    /// Afterwards, when nothing failed, [`Issuer::issue`] signs with the top level.
    pub fn diagnose(&mut self) -> ChainReport {
        let (chosen_by, skipped) = match &self.plan.chosen {
            plan::Chosen::DefaultChain(skipped) => ("the default chain".into(), skipped.clone()),
            plan::Chosen::Profile(p) => (format!("profile {p}"), Vec::new()),
        };
        let failure = self.reach(Reach::Every).err().map(|error| {
            let reached = self.state.levels.len();
            match reached.checked_sub(1).and_then(|i| self.plan.hops.get(i)) {
                Some(hop) => ChainFailure {
                    step: format!("{} ({})", hop.origin, hop.role_arn),
                    role_arn: Some(hop.role_arn.clone()),
                    caller_role_arn: self.state.levels[reached - 1].role_arn.clone(),
                    error,
                },
                None => ChainFailure {
                    step: "the source".into(),
                    role_arn: None,
                    caller_role_arn: None,
                    error,
                },
            }
        });
        let ctx = self.context();
        let levels = self
            .state
            .levels
            .iter()
            .map(|level| LevelReport {
                label: level.label.clone(),
                role_arn: level.role_arn.clone(),
                access_key_id: level.creds.access_key_id.clone(),
                identity: executor::caller_identity(&ctx, level),
            })
            .collect();
        ChainReport {
            chosen_by,
            skipped,
            levels,
            failure,
        }
    }

    /// EKS DescribeCluster of `name` with the signing credentials, within a fresh
    /// deadline. Needs a configured region.
    pub fn describe_cluster(&mut self, name: &str) -> Result<Cluster> {
        let (ep, creds) = self.eks("DescribeCluster")?;
        eks::describe_cluster(&self.session, &ep, &creds, name)
    }

    /// What calls of the EKS API (`operation`, for messages) need, within a fresh
    /// deadline: the region's EKS endpoint and the signing credentials (with time left
    /// to sign). Needs a configured region. The calls take [`Issuer::session`].
    pub(crate) fn eks(&mut self, operation: &str) -> Result<(endpoint::Endpoint, Credentials)> {
        let region = self.session.settings().region.clone().ok_or_else(|| {
            Error::InvalidInput(
                "EKS has no global endpoint: give a region (--region or AWS_REGION)".into(),
            )
        })?;
        let ep = endpoint::resolve(Service::Eks, self.session.settings(), Some(&region))?;
        vlog!(
            self.session.log(),
            "EKS endpoint {} ({})",
            ep.join("/"),
            ep.reason
        );
        let creds = self.credentials()?;
        if let Some(top) = self.state.top() {
            executor::check_can_sign(&self.session, top, operation)?;
        }
        Ok((ep, creds))
    }

    /// The run's session (its HTTP client, clock, log), for calls made with
    /// [`Issuer::eks`].
    pub(crate) fn session(&self) -> &Session {
        &self.session
    }

    /// Whether tokens are signed with keys used as they are (no role, no STS call in the
    /// chain): nothing then tells get-token the servers' clock, so it signs on this
    /// machine's.
    pub(crate) fn keys_as_they_are(&self) -> bool {
        self.plan.hops.is_empty() && self.plan.base.typed_keys().is_some()
    }

    /// Now on the servers' clock (this machine's, corrected by the skew learnt).
    pub(crate) fn now(&self) -> time::OffsetDateTime {
        self.session.clock().now()
    }
}
