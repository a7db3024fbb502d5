//! Where the first credentials come from, one file per source, each behind one trait
//! ([`Source`]): keys given as they are (environment variables, a profile's keys), web
//! identity (IRSA), container agents (ECS, EKS Pod Identity), EC2 instance metadata,
//! `credential_process` and IAM Identity Center (SSO). Each reads its own configuration
//! and makes its own call; which one is used is decided by [`crate::plan`], and
//! [`crate::executor`] runs it (through the cache when the source says what to key it
//! by), then assumes the roles after it.

pub(crate) mod container;
pub(crate) mod environment;
pub(crate) mod imds;
pub(crate) mod process;
pub(crate) mod sso;
pub(crate) mod web_identity;

use std::time::Instant;

use crate::cache;
use crate::config_files::ProfileSet;
use crate::credentials::Credentials;
use crate::endpoint::Settings;
use crate::env::Env;
use crate::error::Result;
use crate::log::vlog;
use crate::runtime::MfaPrompt;
use crate::secret::Secret;
use crate::session::Session;

/// What a source (and the executor) needs of the run.
pub(crate) struct Context<'a> {
    pub(crate) env: &'a Env,
    pub(crate) profiles: &'a ProfileSet,
    /// The selected profile (its IMDS settings apply).
    pub(crate) profile: &'a str,
    pub(crate) session: &'a Session,
    pub(crate) cache: &'a cache::Lazy,
    /// How to ask for an MFA code, if anyone can be asked.
    pub(crate) mfa_prompt: Option<&'a MfaPrompt>,
}

/// What one fetch needs, read before it: the cache key of what it hands out, when that
/// is temporary credentials worth keeping across runs, and a secret it sends (a token
/// read from a file once, for the key and the call alike).
#[derive(Default)]
pub(crate) struct Prepared {
    pub(crate) key: Option<String>,
    pub(crate) secret: Option<Secret>,
}

/// Credentials a source gave, and what gave them (for `-v`, `whoami -v` and doctor).
pub(crate) struct Fetched {
    pub(crate) creds: Credentials,
    pub(crate) label: String,
}

/// A source of the first credentials of a chain.
pub(crate) trait Source: std::fmt::Debug {
    /// What it is, for messages, before anything is fetched.
    fn label(&self) -> String;

    /// The role its credentials are a session of, when the configuration names it
    /// (what the next role's trust policy must name).
    fn role_arn(&self) -> Option<&str> {
        None
    }

    /// Its settings that the endpoint settings refuse, reported before any request.
    fn check(&self, _settings: &Settings) -> Result<()> {
        Ok(())
    }

    /// Whether it runs a program (which a signal must end with the run).
    fn runs_a_program(&self) -> bool {
        false
    }

    /// Whether its keys were typed by a person (or printed by their script), and so may
    /// be swapped; the origin to name.
    fn typed_keys(&self) -> Option<String> {
        None
    }

    /// What the fetch needs, read first ([`Prepared`]); no network.
    fn prepare(&self, _ctx: &Context<'_>) -> Result<Prepared> {
        Ok(Prepared::default())
    }

    /// The credentials.
    fn fetch(&self, ctx: &Context<'_>, prepared: Prepared) -> Result<Fetched>;

    /// The source as what it is (the test hooks read its configuration).
    #[cfg(feature = "testkit")]
    fn as_any(&self) -> &dyn std::any::Any;
}

/// `-v`: a role assumed, as whom, for how long.
pub(crate) fn log_assumed(
    s: &Session,
    origin: &str,
    role_arn: &str,
    as_arn: &str,
    creds: &Credentials,
    started: Instant,
) {
    s.log().hide_credentials(creds);
    vlog!(
        s.log(),
        "{origin}: assumed {role_arn} as {as_arn} ({}) in {:.1} ms",
        validity(s, creds),
        started.elapsed().as_secs_f64() * 1000.0
    );
}

/// "valid 59m 12s more", for `-v`, on the servers' clock.
pub(crate) fn validity(s: &Session, creds: &Credentials) -> String {
    creds.expiration.map_or_else(
        || "no expiry".to_owned(),
        |e| {
            let secs = (e - s.clock().now()).whole_seconds();
            format!("valid {} more", crate::timefmt::human_duration(secs))
        },
    )
}
