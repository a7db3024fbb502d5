//! Keys given as they are: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
//! `AWS_SESSION_TOKEN` (or the legacy `AWS_SECURITY_TOKEN`), with an optional
//! `AWS_CREDENTIAL_EXPIRATION`; or a profile's `aws_access_key_id` and
//! `aws_secret_access_key`.

use super::{Context, Fetched, Source};
use crate::credentials::Credentials;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::timefmt;

/// The environment's keys.
#[derive(Debug, Clone)]
pub(crate) struct Environment {
    /// The profile whose `credential_source = Environment` chose it, if one did.
    pub(crate) by_profile: Option<String>,
}

impl Source for Environment {
    fn label(&self) -> String {
        "environment variables".into()
    }

    fn typed_keys(&self) -> Option<String> {
        Some("AWS_ACCESS_KEY_ID".into())
    }

    fn fetch(&self, ctx: &Context<'_>, _: super::Prepared) -> Result<Fetched> {
        let creds = load(ctx.env).map_err(|e| match (&self.by_profile, e) {
            (Some(p), Error::Source { message, .. }) => Error::config(
                Some(p),
                format!(
                    "profile `{p}`: credential_source Environment: the credential provider \
                     was not enabled ({message})"
                ),
            ),
            (_, e) => e,
        })?;
        let label = format!("environment variables (access key {})", creds.access_key_id);
        Ok(Fetched { creds, label })
    }

    #[cfg(feature = "testkit")]
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// A profile's keys, read when the plan was made.
#[derive(Debug, Clone)]
pub(crate) struct StaticKeys {
    /// The profile holding them.
    pub(crate) profile: String,
    /// The keys (and session token, account id).
    pub(crate) creds: Credentials,
}

impl Source for StaticKeys {
    fn label(&self) -> String {
        format!("profile {}", self.profile)
    }

    fn typed_keys(&self) -> Option<String> {
        Some(self.label())
    }

    fn fetch(&self, _: &Context<'_>, _: super::Prepared) -> Result<Fetched> {
        Ok(Fetched {
            creds: self.creds.clone(),
            label: self.label(),
        })
    }

    #[cfg(feature = "testkit")]
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

// Whitespace alone counts as unset, as in the SDKs.
fn get<'e>(env: &'e Env, k: &str) -> Option<&'e str> {
    env.get(k).filter(|v| !v.trim().is_empty())
}

/// Why the environment holds no credentials, or `None` when it does.
pub(crate) fn not_configured(env: &Env) -> Option<&'static str> {
    match (
        get(env, "AWS_ACCESS_KEY_ID"),
        get(env, "AWS_SECRET_ACCESS_KEY"),
    ) {
        (Some(_), Some(_)) => None,
        (None, None) => Some("AWS_ACCESS_KEY_ID not set"),
        (Some(_), None) => Some("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"),
        (None, Some(_)) => Some("AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not"),
    }
}

/// The environment's credentials; an error names what is missing.
pub(crate) fn load(env: &Env) -> Result<Credentials> {
    if let Some(why) = not_configured(env) {
        return Err(Error::source(
            "environment",
            format!("{why}: the credential provider was not enabled"),
        ));
    }
    let id = get(env, "AWS_ACCESS_KEY_ID").unwrap_or_default().trim();
    let secret = get(env, "AWS_SECRET_ACCESS_KEY").unwrap_or_default().trim();
    let token = env
        .get("AWS_SESSION_TOKEN")
        .or_else(|| env.get("AWS_SECURITY_TOKEN"));
    let expiration = match env.get("AWS_CREDENTIAL_EXPIRATION") {
        None => None,
        Some(v) => Some(timefmt::parse_rfc3339(v).ok_or_else(|| {
            Error::InvalidInput(format!(
                "AWS_CREDENTIAL_EXPIRATION {v:?} is not an RFC 3339 timestamp (e.g. 2026-01-02T15:04:05Z)"
            ))
        })?),
    };
    Ok(Credentials {
        access_key_id: id.to_owned(),
        secret_access_key: Secret::new(secret),
        session_token: token.map(|t| Secret::new(t.trim())),
        expiration,
        account_id: get(env, "AWS_ACCOUNT_ID").map(|a| a.trim().to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_skips() {
        let env = Env::from_pairs([
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "SECRET"),
            ("AWS_SECURITY_TOKEN", "TOKEN"),
            ("AWS_CREDENTIAL_EXPIRATION", "2030-01-01T00:00:00Z"),
        ]);
        assert_eq!(not_configured(&env), None);
        let c = load(&env).unwrap();
        assert_eq!(c.access_key_id, "AKID");
        assert_eq!(c.session_token.unwrap().expose(), "TOKEN");
        assert!(c.expiration.is_some());
        let blank = Env::from_pairs([("AWS_ACCESS_KEY_ID", " "), ("AWS_SECRET_ACCESS_KEY", "")]);
        assert!(not_configured(&blank).is_some());
        assert!(load(&blank).is_err());
        let half = Env::from_pairs([("AWS_ACCESS_KEY_ID", "AKID")]);
        assert!(not_configured(&half)
            .unwrap()
            .contains("AWS_SECRET_ACCESS_KEY"));
        let bad = Env::from_pairs([
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "S"),
            ("AWS_CREDENTIAL_EXPIRATION", "soon"),
        ]);
        assert!(load(&bad).is_err());
    }
}
