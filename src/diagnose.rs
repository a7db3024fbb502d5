//! The chain level by level, for `doctor`: how the source was chosen, who each level
//! is, and what failed (the cross-account path breaks at one hop, and the error alone
//! does not say whose policy is missing).

use crate::error::Error;
use crate::sts::CallerIdentity;

/// The credential chain of a request, walked as far as it goes
/// ([`crate::Issuer::diagnose`]).
#[derive(Debug)]
pub struct ChainReport {
    /// How the source was chosen: `the default chain`, or `profile NAME`.
    pub chosen_by: String,
    /// The sources the default chain skipped before it chose, each with why.
    pub skipped: Vec<String>,
    /// Each level reached, the source first, then one per role assumed.
    pub levels: Vec<LevelReport>,
    /// What stopped the walk: the source (when `levels` is empty) or the next hop.
    pub failure: Option<ChainFailure>,
}

/// One level of the chain: credentials and who they are.
#[derive(Debug)]
pub struct LevelReport {
    /// What gave these credentials: `environment variables (...)`, `hop 1 (ARN)`.
    pub label: String,
    /// The role these credentials are a session of, when known (web identity, a hop).
    pub role_arn: Option<String>,
    /// The access key id (not secret).
    pub access_key_id: String,
    /// GetCallerIdentity with these credentials.
    pub identity: Result<CallerIdentity, Error>,
}

/// Where the chain broke.
#[derive(Debug)]
pub struct ChainFailure {
    /// The source, or `hop N`.
    pub step: String,
    /// The role that was being assumed (`None` for the source).
    pub role_arn: Option<String>,
    /// The role of the credentials that called (what the target's trust policy must
    /// name), when known.
    pub caller_role_arn: Option<String>,
    /// The error.
    pub error: Error,
}
