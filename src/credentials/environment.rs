//! Static credentials from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
//! `AWS_SESSION_TOKEN` (or the legacy `AWS_SECURITY_TOKEN`), with an optional
//! `AWS_CREDENTIAL_EXPIRATION`.

use super::{Context, Credentials, Loaded};
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::timefmt;

/// Loads environment credentials.
pub fn load(ctx: &Context<'_>) -> Result<Loaded> {
    from_env(ctx.env)
}

/// The same, from an environment alone.
pub fn from_env(env: &crate::env::Env) -> Result<Loaded> {
    // Whitespace alone counts as unset, as in the SDKs.
    let get = |k: &str| env.get(k).filter(|v| !v.trim().is_empty());
    let (id, secret) = match (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")) {
        (Some(id), Some(secret)) => (id, secret),
        (None, None) => return Ok(Loaded::NotConfigured("AWS_ACCESS_KEY_ID not set".into())),
        (Some(_), None) => {
            return Ok(Loaded::NotConfigured(
                "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not".into(),
            ))
        }
        (None, Some(_)) => {
            return Ok(Loaded::NotConfigured(
                "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not".into(),
            ))
        }
    };
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
    Ok(Loaded::Found(
        Credentials {
            access_key_id: id.trim().to_owned(),
            secret_access_key: Secret::new(secret.trim()),
            session_token: token.map(|t| Secret::new(t.trim())),
            expiration,
            account_id: get("AWS_ACCOUNT_ID").map(|a| a.trim().to_owned()),
        },
        format!("environment variables (access key {})", id.trim()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::Env;

    #[test]
    fn reads_and_skips() {
        let env = Env::from_pairs([
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "SECRET"),
            ("AWS_SECURITY_TOKEN", "TOKEN"),
            ("AWS_CREDENTIAL_EXPIRATION", "2030-01-01T00:00:00Z"),
        ]);
        let Loaded::Found(c, _) = from_env(&env).unwrap() else {
            panic!("expected credentials")
        };
        assert_eq!(c.access_key_id, "AKID");
        assert_eq!(c.session_token.unwrap().expose(), "TOKEN");
        assert!(c.expiration.is_some());
        let blank = Env::from_pairs([("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", "")]);
        assert!(matches!(
            from_env(&blank).unwrap(),
            Loaded::NotConfigured(_)
        ));
        let half = Env::from_pairs([("AWS_ACCESS_KEY_ID", "AKID")]);
        assert!(matches!(from_env(&half).unwrap(), Loaded::NotConfigured(_)));
        let bad = Env::from_pairs([
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "S"),
            ("AWS_CREDENTIAL_EXPIRATION", "soon"),
        ]);
        assert!(from_env(&bad).is_err());
    }
}
