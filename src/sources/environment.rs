//! Static credentials from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
//! `AWS_SESSION_TOKEN` (or the legacy `AWS_SECURITY_TOKEN`), with an optional
//! `AWS_CREDENTIAL_EXPIRATION`.

use crate::credentials::Credentials;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::timefmt;

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
        return Err(Error::Source {
            source: "environment",
            message: format!("{why}: the credential provider was not enabled"),
        });
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
