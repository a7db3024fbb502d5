//! IAM Identity Center (SSO) profiles: the access token that `aws sso login` caches
//! under `~/.aws/sso/cache/`, traded for role credentials at the SSO portal.

use ring::digest;

use super::{Context, Fetched, Prepared, Source};
use crate::cache::{self, Key};
use crate::credentials::Credentials;
use crate::endpoint::{self, Endpoint, Service, Settings};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::http;
use crate::secret::Secret;
use crate::session::Session;
use crate::timefmt;

const SOURCE: &str = "SSO";

/// What an SSO profile says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SsoProfile {
    /// The profile's name (for messages: `aws sso login --profile NAME`).
    pub(crate) profile: String,
    /// `sso_session`, when the profile uses an `[sso-session]` section.
    pub(crate) session_name: Option<String>,
    /// `sso_start_url`.
    pub(crate) start_url: String,
    /// `sso_region`.
    pub(crate) region: String,
    /// `sso_account_id`.
    pub(crate) account_id: String,
    /// `sso_role_name`.
    pub(crate) role_name: String,
}

impl Source for SsoProfile {
    fn label(&self) -> String {
        format!("profile {} (SSO)", self.profile)
    }

    fn check(&self, settings: &Settings) -> Result<()> {
        settings.override_for(Service::SsoPortal).map(|_| ())
    }

    fn prepare(&self, ctx: &Context<'_>) -> Result<Prepared> {
        if self.account_id.is_empty() || self.role_name.is_empty() {
            return Err(Error::config(
                Some(&self.profile),
                format!(
                    "profile `{}` names an SSO session but no sso_account_id and sso_role_name",
                    self.profile
                ),
            ));
        }
        let token = access_token(ctx.env, self)?;
        ctx.session.log().hide_secret(&token);
        let caller = format!(
            "sso access token sha256:{}",
            crate::url::hex(digest::digest(&digest::SHA256, token.expose().as_bytes()).as_ref())
        );
        let key = cache::key(&Key {
            call: "GetRoleCredentials",
            caller: &caller,
            session: &[
                ("start_url", &self.start_url),
                ("account_id", &self.account_id),
                ("role_name", &self.role_name),
            ],
            endpoint: &self.portal(ctx.session)?,
        });
        Ok(Prepared {
            key: Some(key),
            secret: Some(token),
        })
    }

    fn fetch(&self, ctx: &Context<'_>, prepared: Prepared) -> Result<Fetched> {
        let token = match prepared.secret {
            Some(t) => t,
            None => access_token(ctx.env, self)?,
        };
        let creds = fetch(ctx.session, &self.portal(ctx.session)?, self, &token)?;
        ctx.session.log().hide_credentials(&creds);
        Ok(Fetched {
            creds,
            label: self.label(),
        })
    }

    #[cfg(feature = "testkit")]
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl SsoProfile {
    fn portal(&self, s: &Session) -> Result<Endpoint> {
        endpoint::resolve(Service::SsoPortal, s.settings(), Some(&self.region))
    }
}

/// The cache file `aws sso login` writes: SHA-1 of the session name, or of the start
/// URL for legacy profiles.
pub(crate) fn cache_file(env: &Env, p: &SsoProfile) -> Result<std::path::PathBuf> {
    let home = env.get("HOME").ok_or_else(|| {
        Error::source(
            SOURCE,
            "HOME is not set, so the token cache of `aws sso login` cannot be found",
        )
    })?;
    let key = p.session_name.as_deref().unwrap_or(&p.start_url);
    let hash =
        crate::url::hex(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, key.as_bytes()).as_ref());
    Ok(std::path::Path::new(home).join(format!(".aws/sso/cache/{hash}.json")))
}

fn err(m: String) -> Error {
    Error::source(SOURCE, m)
}

/// The access token `aws sso login` cached for the profile; an expired one is refused
/// here, without asking the portal.
pub(crate) fn access_token(env: &Env, p: &SsoProfile) -> Result<Secret> {
    let login = format!("run `aws sso login --profile {}`", p.profile);
    let path = cache_file(env, p)?;
    let text = crate::fsutil::read_file(&path, crate::fsutil::cap::SSO_CACHE)
        .map_err(|e| err(format!("failed to read `{}`: {e}; {login}", path.display())))?;
    let json: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|_| err(format!("`{}` is not JSON; {login}", path.display())))?;
    let token = json
        .get("accessToken")
        .and_then(|v| v.as_str())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| err(format!("`{}` has no accessToken; {login}", path.display())))?;
    let expires = json
        .get("expiresAt")
        .and_then(|v| v.as_str())
        .and_then(timefmt::parse_rfc3339)
        .ok_or_else(|| {
            err(format!(
                "`{}` has no valid expiresAt; {login}",
                path.display()
            ))
        })?;
    if expires <= time::OffsetDateTime::now_utc() {
        return Err(err(format!(
            "the SSO session for {} expired at {}; {login}",
            p.start_url,
            timefmt::format_rfc3339(expires)
        )));
    }
    Ok(Secret::new(token))
}

/// GetRoleCredentials at the portal `endpoint` with `token`.
pub(crate) fn fetch(
    s: &Session,
    portal: &Endpoint,
    p: &SsoProfile,
    token: &Secret,
) -> Result<Credentials> {
    let login = format!("run `aws sso login --profile {}`", p.profile);
    let base = portal.join("");
    let mut query = String::from("/federation/credentials?account_id=");
    crate::sigv4::uri_encode(&p.account_id, false, &mut query);
    query.push_str("&role_name=");
    crate::sigv4::uri_encode(&p.role_name, false, &mut query);

    let headers = [(
        "x-amz-sso_bearer_token".to_owned(),
        token.expose().to_owned(),
    )];
    let resp = s
        .http()
        .send(&http::Request {
            method: "GET",
            url: &portal.url,
            path_and_query: &query,
            headers: &headers,
            body: b"",
            allow_http: portal.overridden,
            direct: false,
            timeout: None,
        })
        .map_err(|f| err(format!("GetRoleCredentials at {base} failed: {f}")))?;
    match resp.status {
        200 => {}
        401 | 403 => {
            return Err(err(format!(
                "the SSO access token is no longer valid (HTTP {}, UnauthorizedException); {login}",
                resp.status
            )))
        }
        s => {
            return Err(err(format!(
                "GetRoleCredentials for account {} role {} failed with HTTP {s}: an error occurred \
                 while loading credentials from {base}",
                p.account_id, p.role_name
            )))
        }
    }
    let json: serde_json::Value = serde_json::from_slice(&resp.body)
        .map_err(|_| err("GetRoleCredentials answered with a body that is not JSON".into()))?;
    let rc = &json["roleCredentials"];
    let get = |k: &str| {
        rc.get(k)
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| err(format!("GetRoleCredentials answered without {k}")))
    };
    let expiration = rc
        .get("expiration")
        .and_then(|v| v.as_i64())
        .and_then(|ms| time::OffsetDateTime::from_unix_timestamp(ms / 1000).ok());
    Ok(Credentials {
        access_key_id: get("accessKeyId")?.to_owned(),
        secret_access_key: Secret::new(get("secretAccessKey")?),
        session_token: Some(Secret::new(get("sessionToken")?)),
        expiration,
        account_id: Some(p.account_id.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_key_is_sha1_of_start_url_or_session() {
        let env = Env::from_pairs([("HOME", "/home")]);
        let mut p = SsoProfile {
            profile: "sso-test".into(),
            session_name: None,
            start_url: "https://ssotest.awsapps.com/start".into(),
            region: "us-east-2".into(),
            account_id: "123456789".into(),
            role_name: "MySsoRole".into(),
        };
        // The file name of the shared test scenarios.
        assert_eq!(
            cache_file(&env, &p).unwrap(),
            std::path::Path::new(
                "/home/.aws/sso/cache/dace00cba5f8355ec9d274ceb2bcebdfbeed0e12.json"
            )
        );
        p.session_name = Some("my-sso".into());
        assert!(!cache_file(&env, &p)
            .unwrap()
            .ends_with("dace00cba5f8355ec9d274ceb2bcebdfbeed0e12.json"));
    }
}
