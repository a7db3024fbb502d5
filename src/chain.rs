//! The `--role-arn` hops: each assumes the next role with the previous hop's
//! credentials, e.g. IRSA role in the pod's account -> role in the target account.

use crate::credentials::Credentials;
use crate::error::Result;
use crate::sts::{AssumeRoleParams, Sts};
use crate::{log, timefmt, validate, vlog};

/// Session name of the `--role-arn` hops when `--session-name` is not given; the same
/// fixed string as aws-cli, so a credential cache can key on it.
pub const DEFAULT_SESSION_NAME: &str = "EKSGetTokenAuth";

/// Default and bounds of `--duration-seconds`.
pub const DEFAULT_DURATION_SECONDS: u32 = 3600;

/// The roles to assume after the source credentials, and how.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleChain {
    /// Role ARNs, in order.
    pub role_arns: Vec<String>,
    /// RoleSessionName of every hop (default [`DEFAULT_SESSION_NAME`]).
    pub session_name: Option<String>,
    /// Use the source identity's session name for the hops (aws-iam-authenticator's
    /// `--forward-session-name`).
    pub forward_session_name: bool,
    /// ExternalId of the last hop.
    pub external_id: Option<String>,
    /// DurationSeconds of every hop (None: 3600).
    pub duration_seconds: Option<u32>,
}

impl RoleChain {
    /// Checks every value before any network call.
    pub fn validate(&self) -> Result<()> {
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
        Ok(())
    }

    /// The RoleSessionName of the hops: `--session-name`, the forwarded source session
    /// name, or the default.
    pub fn session_name(&self, sts: &Sts<'_>, source: &Credentials) -> Result<String> {
        match (&self.session_name, self.forward_session_name) {
            (Some(name), _) => Ok(name.clone()),
            (None, true) => forwarded_session_name(sts, source),
            (None, false) => Ok(DEFAULT_SESSION_NAME.to_owned()),
        }
    }

    /// Assumes hop `i` (0-based) with `creds`, the previous hop's credentials.
    pub fn assume_hop(
        &self,
        sts: &Sts<'_>,
        creds: &Credentials,
        i: usize,
        session_name: &str,
    ) -> Result<Credentials> {
        let role_arn = &self.role_arns[i];
        let last = i + 1 == self.role_arns.len();
        let started = std::time::Instant::now();
        let assumed = sts.assume_role(
            creds,
            &AssumeRoleParams {
                role_arn,
                session_name,
                external_id: if last {
                    self.external_id.as_deref()
                } else {
                    None
                },
                duration_seconds: Some(self.duration_seconds.unwrap_or(DEFAULT_DURATION_SECONDS)),
                mfa: None,
            },
        )?;
        if log::verbose() {
            vlog!(
                "hop {}: assumed {role_arn} as {} ({}) in {:.1} ms",
                i + 1,
                assumed.assumed_role_arn,
                validity(&assumed.credentials),
                started.elapsed().as_secs_f64() * 1000.0
            );
        }
        Ok(assumed.credentials)
    }
}

/// "valid 59m 12s more", for `-v`.
pub fn validity(creds: &Credentials) -> String {
    creds.expiration.map_or_else(
        || "no expiry".to_owned(),
        |e| {
            let secs = (e - time::OffsetDateTime::now_utc()).whole_seconds();
            format!("valid {} more", timefmt::human_duration(secs))
        },
    )
}

/// The source identity's session name (`UserId` is `AROA...:session`), for
/// `--forward-session-name`; falls back to the default for identities without one.
fn forwarded_session_name(sts: &Sts<'_>, source: &Credentials) -> Result<String> {
    let identity = sts.get_caller_identity(source)?;
    let name = identity
        .user_id
        .split_once(':')
        .map(|(_, s)| s.to_owned())
        .filter(|s| validate::session_name(s, "forwarded session name").is_ok());
    match name {
        Some(n) => {
            vlog!("forwarding session name {n:?} from {}", identity.arn);
            Ok(n)
        }
        None => {
            vlog!(
                "{} has no usable session name to forward; using {DEFAULT_SESSION_NAME}",
                identity.arn
            );
            Ok(DEFAULT_SESSION_NAME.to_owned())
        }
    }
}
