//! IAM Identity Center (SSO) profiles: the access token that `aws sso login` caches
//! under `~/.aws/sso/cache/`, traded for role credentials at the SSO portal.

use ring::digest;

use super::Credentials;
use crate::endpoint;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::http::{self, Client};
use crate::secret::Secret;
use crate::timefmt;

const SOURCE: &str = "SSO";

/// What an SSO profile says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoProfile {
    /// The profile's name (for messages: `aws sso login --profile NAME`).
    pub profile: String,
    /// `sso_session`, when the profile uses an `[sso-session]` section.
    pub session_name: Option<String>,
    /// `sso_start_url`.
    pub start_url: String,
    /// `sso_region`.
    pub region: String,
    /// `sso_account_id`.
    pub account_id: String,
    /// `sso_role_name`.
    pub role_name: String,
}

/// The cache file `aws sso login` writes: SHA-1 of the session name, or of the start
/// URL for legacy profiles.
pub fn cache_file(env: &Env, p: &SsoProfile) -> Result<std::path::PathBuf> {
    let home = env.get("HOME").ok_or_else(|| Error::Source {
        source: SOURCE,
        message: "HOME is not set, so the token cache of `aws sso login` cannot be found".into(),
    })?;
    let key = p.session_name.as_deref().unwrap_or(&p.start_url);
    let hash = hex::encode(digest::digest(
        &digest::SHA1_FOR_LEGACY_USE_ONLY,
        key.as_bytes(),
    ));
    Ok(std::path::Path::new(home).join(format!(".aws/sso/cache/{hash}.json")))
}

/// The portal's base URL: `AWS_ENDPOINT_URL_SSO` / `AWS_ENDPOINT_URL`, else
/// `https://portal.sso[-fips].<region>.<suffix>` (dual-stack suffix when asked).
pub fn portal(env: &Env, region: &str) -> Result<String> {
    if !env.flag("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") {
        if let Some(url) = env
            .get("AWS_ENDPOINT_URL_SSO")
            .or_else(|| env.get("AWS_ENDPOINT_URL"))
        {
            let (scheme, host, base) = endpoint::parse_endpoint_url(url)?;
            return Ok(format!("{scheme}://{host}{base}"));
        }
    }
    endpoint::validate_region(region)?;
    let p = endpoint::partition(region);
    let fips = if env.flag("AWS_USE_FIPS_ENDPOINT") {
        "-fips"
    } else {
        ""
    };
    let suffix = if env.flag("AWS_USE_DUALSTACK_ENDPOINT") {
        p.dualstack_suffix
    } else {
        p.dns_suffix
    };
    Ok(format!("https://portal.sso{fips}.{region}.{suffix}"))
}

/// Role credentials for an SSO profile.
pub fn load(env: &Env, http: &Client, p: &SsoProfile) -> Result<Credentials> {
    let err = |m: String| Error::Source {
        source: SOURCE,
        message: m,
    };
    let login = format!("run `aws sso login --profile {}`", p.profile);
    let path = cache_file(env, p)?;
    let text = std::fs::read(&path)
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
    let token = Secret::new(token);
    let base = portal(env, &p.region)?;
    let mut query = String::from("account_id=");
    crate::sigv4::uri_encode(&p.account_id, false, &mut query);
    query.push_str("&role_name=");
    crate::sigv4::uri_encode(&p.role_name, false, &mut query);
    let url = format!("{base}/federation/credentials?{query}");
    let headers = [(
        "x-amz-sso_bearer_token".to_owned(),
        token.expose().to_owned(),
    )];
    let resp = http
        .send(&http::Request {
            method: "GET",
            url: &url,
            headers: &headers,
            body: b"",
            allow_http: base.starts_with("http://"),
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
    fn portal_hosts() {
        let plain = Env::default();
        assert_eq!(
            portal(&plain, "us-east-2").unwrap(),
            "https://portal.sso.us-east-2.amazonaws.com"
        );
        let both = Env::from_pairs([
            ("AWS_USE_FIPS_ENDPOINT", "true"),
            ("AWS_USE_DUALSTACK_ENDPOINT", "true"),
        ]);
        assert_eq!(
            portal(&both, "us-east-2").unwrap(),
            "https://portal.sso-fips.us-east-2.api.aws"
        );
        let over = Env::from_pairs([("AWS_ENDPOINT_URL_SSO", "http://127.0.0.1:9000/")]);
        assert_eq!(portal(&over, "us-east-2").unwrap(), "http://127.0.0.1:9000");
    }

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
