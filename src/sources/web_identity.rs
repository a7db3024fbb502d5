//! Web identity: a token file (IRSA's projected service account token, or a profile's
//! `web_identity_token_file`) traded with STS AssumeRoleWithWebIdentity. The file is read
//! on every use because kubelet rotates it. Both ways of configuring it end here: one
//! call, one reader.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::digest;

use super::{Context, Fetched, Prepared, Source};
use crate::cache::{self, Key};
use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::sts;

/// Session name when none is configured. A fixed string, not a timestamp, so that a
/// credential cache can key on it.
pub(crate) const DEFAULT_SESSION_NAME: &str = "eks-token";

/// A web identity role to assume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WebIdentity {
    /// The role.
    pub(crate) role_arn: String,
    /// The token file.
    pub(crate) token_file: String,
    /// RoleSessionName.
    pub(crate) session_name: String,
    /// Where it was configured, for messages: `AWS_WEB_IDENTITY_TOKEN_FILE` or
    /// ``web_identity_token_file of profile `x` ``.
    pub(crate) origin: String,
}

impl Source for WebIdentity {
    fn label(&self) -> String {
        format!(
            "web identity token {} -> {}",
            self.token_file, self.role_arn
        )
    }

    fn role_arn(&self) -> Option<&str> {
        Some(&self.role_arn)
    }

    /// The token, read once, and the key: who it speaks for, and the role and session.
    fn prepare(&self, ctx: &Context<'_>) -> Result<Prepared> {
        crate::validate::config_role_arn(&self.role_arn)?;
        let token = read_token_file(&self.token_file, &self.origin)?;
        ctx.session.log().hide_secret(&token);
        let key = cache::key(&Key {
            call: "AssumeRoleWithWebIdentity",
            caller: &identity(&token),
            session: &[
                ("role_arn", &self.role_arn),
                ("session_name", &self.session_name),
            ],
            endpoint: ctx.session.sts_endpoint()?,
        });
        Ok(Prepared {
            key: Some(key),
            secret: Some(token),
        })
    }

    fn fetch(&self, ctx: &Context<'_>, prepared: Prepared) -> Result<Fetched> {
        let token = match prepared.secret {
            Some(t) => t,
            None => read_token_file(&self.token_file, &self.origin)?,
        };
        let started = std::time::Instant::now();
        let assumed = sts::assume_role_with_web_identity(
            ctx.session,
            &self.role_arn,
            &self.session_name,
            &token,
            None,
        )?;
        super::log_assumed(
            ctx.session,
            &self.origin,
            &self.role_arn,
            &assumed.assumed_role_arn,
            &assumed.credentials,
            started,
        );
        Ok(Fetched {
            creds: assumed.credentials,
            label: self.label(),
        })
    }

    #[cfg(feature = "testkit")]
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// Reads a web identity token file; errors name the file, never its content.
pub(crate) fn read_token_file(path: &str, origin: &str) -> Result<Secret> {
    let err = |detail: String, cause: Option<Error>| Error::Source {
        source: "web identity",
        message: format!("cannot use the token file {path} ({origin}): {detail}"),
        cause: cause.map(Box::new),
    };
    let buf = crate::fsutil::read_file(
        std::path::Path::new(path),
        crate::fsutil::cap::WEB_IDENTITY_TOKEN,
    )
    .map_err(|e| {
        let detail = e.to_string();
        err(
            detail,
            Some(Error::Io {
                what: format!("cannot read {path}"),
                source: e,
            }),
        )
    })?;
    let text = String::from_utf8(buf).map_err(|_| err("it is not UTF-8 text".into(), None))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(err("it is empty".into(), None));
    }
    Ok(Secret::new(token))
}

/// Who a token speaks for, for cache keys: the issuer, subject and audience claims of
/// a JWT, read without verifying (STS verifies; this only tells tokens of different
/// identities apart, and stays the same when kubelet rotates the token). A token that
/// is not a readable JWT is named by its SHA-256 instead.
pub(crate) fn identity(token: &Secret) -> String {
    let claims = token
        .expose()
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p.trim_end_matches('=')).ok())
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .filter(serde_json::Value::is_object);
    let Some(c) = claims else {
        let d = digest::digest(&digest::SHA256, token.expose().as_bytes());
        return format!("token sha256:{}", crate::url::hex(d.as_ref()));
    };
    // Each claim as JSON, so that no value can imitate the separators.
    let claim = |k: &str| c.get(k).map_or("null".into(), |v| v.to_string());
    format!(
        "iss={} sub={} aud={}",
        claim("iss"),
        claim("sub"),
        claim("aud")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> Secret {
        Secret::new(format!(
            "eyJhbGciOiJSUzI1NiJ9.{}.c2lnbmF0dXJl",
            URL_SAFE_NO_PAD.encode(claims)
        ))
    }

    #[test]
    fn identity_is_the_claims_not_the_token() {
        let a1 = jwt(
            r#"{"iss":"https://oidc","sub":"system:serviceaccount:ci:a","aud":["sts.amazonaws.com"],"exp":1}"#,
        );
        let a2 = jwt(
            r#"{"iss":"https://oidc","sub":"system:serviceaccount:ci:a","aud":["sts.amazonaws.com"],"exp":2}"#,
        );
        let b = jwt(
            r#"{"iss":"https://oidc","sub":"system:serviceaccount:ci:b","aud":["sts.amazonaws.com"],"exp":1}"#,
        );
        assert_eq!(
            identity(&a1),
            identity(&a2),
            "a rotated token is the same identity"
        );
        assert_ne!(identity(&a1), identity(&b));
        assert!(identity(&a1).contains("system:serviceaccount:ci:a"));
        // Not a JWT: its digest, never its text.
        let opaque = Secret::new("opaque-secret-token");
        assert!(identity(&opaque).starts_with("token sha256:"));
        assert!(!identity(&opaque).contains("opaque"));
        assert_ne!(identity(&opaque), identity(&Secret::new("other-token")));
    }

    #[test]
    fn token_file_errors_name_the_file_not_the_content() {
        let dir = std::env::temp_dir().join(format!("eks-token-wi-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty");
        std::fs::write(&empty, "  \n").unwrap();
        let origin = "AWS_WEB_IDENTITY_TOKEN_FILE";
        let e = read_token_file(empty.to_str().unwrap(), origin)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("empty") && e.contains(empty.to_str().unwrap()) && e.contains(origin),
            "{e}"
        );
        let missing = dir.join("missing");
        let e = read_token_file(missing.to_str().unwrap(), origin)
            .unwrap_err()
            .to_string();
        assert!(e.contains(missing.to_str().unwrap()), "{e}");
        let good = dir.join("good");
        std::fs::write(&good, "eyJhbGciOiJSUzI1NiJ9.secret-part\n").unwrap();
        assert_eq!(
            read_token_file(good.to_str().unwrap(), origin)
                .unwrap()
                .expose(),
            "eyJhbGciOiJSUzI1NiJ9.secret-part"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
