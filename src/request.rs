//! What a caller asks for: the cluster, the roles to assume after the default credential
//! chain, and how. The command line builds one; so can any program.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::validate;

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
    /// Longest a TCP connect may take, within `timeout` (`None`: 5 s).
    pub connect_timeout: Option<Duration>,
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
            connect_timeout: None,
        }
    }
}

impl Request {
    /// Checks every value before any network call.
    pub(crate) fn validate(&self) -> Result<()> {
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
            validate::external_id(id, "--external-id")?;
        }
        if let Some(d) = self.duration_seconds {
            validate::duration_seconds(d, "--duration-seconds")?;
        }
        if self.timeout.is_zero() {
            return Err(Error::InvalidInput(
                "the timeout must be more than zero".into(),
            ));
        }
        if self.connect_timeout.is_some_and(|t| t.is_zero()) {
            return Err(Error::InvalidInput(
                "the connect timeout must be more than zero".into(),
            ));
        }
        Ok(())
    }
}
