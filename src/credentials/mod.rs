//! AWS credentials and the sources they come from, tried in the SDKs' order.
//! Each source says either "here are credentials", "not configured here" (and why, for
//! `-v` and for the error that lists where we looked), or fails: a source that is
//! configured but broken stops the chain, as in the SDKs, rather than silently falling
//! through to another identity.

pub mod container;
pub mod environment;
pub mod imds;
pub mod process;
pub mod profile;
pub mod sso;
pub mod web_identity;

use std::fmt;

use time::OffsetDateTime;

use crate::env::Env;
use crate::error::{Error, Result};
use crate::profile::ProfileSet;
use crate::secret::Secret;
use crate::sts::StsAccess;
use crate::vlog;

/// A set of AWS credentials.
#[derive(Clone)]
pub struct Credentials {
    /// Access key id (not secret: it appears in every signature's scope).
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: Secret,
    /// Session token of temporary credentials.
    pub session_token: Option<Secret>,
    /// When temporary credentials expire.
    pub expiration: Option<OffsetDateTime>,
    /// The account the credentials belong to, when the source says.
    pub account_id: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key)
            .field("session_token", &self.session_token)
            .field("expiration", &self.expiration)
            .field("account_id", &self.account_id)
            .finish()
    }
}

/// Reads `AccessKeyId`, `SecretAccessKey`, the session token (field `token_field`:
/// `Token` for containers and IMDS, `SessionToken` for credential_process),
/// `Expiration` and `AccountId` from a JSON credentials document. Messages name
/// fields, never values.
pub fn from_json(
    json: &serde_json::Value,
    token_field: &str,
) -> std::result::Result<Credentials, String> {
    let get = |k: &str| {
        json.get(k)
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let need = |k: &str| get(k).ok_or_else(|| format!("the credentials have no {k}"));
    let expiration = match get("Expiration") {
        None => None,
        Some(e) => Some(crate::timefmt::parse_rfc3339(e).ok_or_else(|| {
            "the credentials' Expiration is not an RFC 3339 timestamp".to_owned()
        })?),
    };
    Ok(Credentials {
        access_key_id: need("AccessKeyId")?.to_owned(),
        secret_access_key: Secret::new(need("SecretAccessKey")?),
        session_token: get(token_field).map(Secret::new),
        expiration,
        account_id: get("AccountId").map(str::to_owned),
    })
}

/// What the sources need.
pub struct Context<'a> {
    /// Environment variables.
    pub env: &'a Env,
    /// HTTP and STS (its endpoint resolved on first use).
    pub sts: &'a StsAccess,
    /// The shared config and credentials files.
    pub profiles: &'a ProfileSet,
    /// The selected profile.
    pub profile: &'a str,
    /// Whether the profile was named (`--profile`, `AWS_PROFILE`) rather than `default`.
    pub profile_explicit: bool,
    /// kubectl's `spec.interactive` (None outside kubectl): whether an MFA prompt may
    /// be shown.
    pub interactive: Option<bool>,
    /// The credential cache (opened when a source first needs it).
    pub cache: &'a crate::cache::Lazy,
}

/// The result of asking one source.
pub enum Loaded {
    /// Credentials, and a description of where they came from (no secrets).
    Found(Credentials, String),
    /// The source is not configured; the reason names what was missing.
    NotConfigured(String),
}

type Loader = fn(&Context<'_>) -> Result<Loaded>;

/// The default chain, in the SDKs' order.
const CHAIN: &[(&str, Loader)] = &[
    ("environment", environment::load),
    ("profile", profile::load),
    ("web identity", web_identity::load),
    ("container", container::load),
    ("IMDS", imds::load),
];

/// Credentials from the first configured source, and where they came from.
pub fn resolve(ctx: &Context<'_>) -> Result<(Credentials, String)> {
    let mut tried = Vec::new();
    for (name, load) in CHAIN {
        match load(ctx)? {
            Loaded::Found(creds, from) => {
                vlog!("credentials: using {from}");
                return Ok((creds, from));
            }
            Loaded::NotConfigured(why) => {
                vlog!("credentials: skipped {name}: {why}");
                tried.push(format!("{name} ({why})"));
            }
        }
    }
    Err(Error::NoCredentials(tried))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_secrets() {
        let c = Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            session_token: Some(Secret::new("FwoGZXIvYXdzEXAMPLETOKEN")),
            expiration: None,
            account_id: None,
        };
        let d = format!("{c:?}");
        assert!(d.contains("AKIDEXAMPLE"));
        assert!(!d.contains("wJalr"));
        assert!(!d.contains("FwoG"));
    }
}
