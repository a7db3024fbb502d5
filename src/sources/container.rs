//! Container credentials: ECS task roles and EKS Pod Identity.
//! `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (to 169.254.170.2) wins over
//! `AWS_CONTAINER_CREDENTIALS_FULL_URI` (https, or http to a loopback or agent address
//! only, decided on the parsed URL that is then requested). The `Authorization` header
//! comes from `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (re-read on every use; kubelet
//! rotates the Pod Identity token) or `AWS_CONTAINER_AUTHORIZATION_TOKEN`.

use std::time::Duration;

use super::{Context, Fetched, Prepared, Source};
use crate::credentials::{self, Credentials};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::http;
use crate::retry::Failed;
use crate::secret::Secret;
use crate::session::Session;
use crate::url::{self, Scheme, Url, UrlError};

/// ECS task role or EKS Pod Identity.
#[derive(Debug, Clone)]
pub(crate) struct Container {
    /// The profile whose `credential_source = EcsContainer` chose it, if one did.
    pub(crate) by_profile: Option<String>,
}

impl Source for Container {
    fn label(&self) -> String {
        "container credentials".into()
    }

    fn fetch(&self, ctx: &Context<'_>, _: Prepared) -> Result<Fetched> {
        let named = |e: Error| match (&self.by_profile, e) {
            (Some(p), Error::Source { message, .. }) => Error::config(
                Some(p),
                format!(
                    "profile `{p}`: credential_source EcsContainer: the credential provider \
                     was not enabled ({message})"
                ),
            ),
            (_, e) => e,
        };
        let uri = uri(ctx.env).map_err(|e| named(Error::source(SOURCE, e.to_string())))?;
        let auth = authorization(ctx.env).map_err(named)?;
        if let Some(a) = &auth {
            ctx.session.log().hide_secret(a);
        }
        let creds = fetch(ctx.session, &uri, auth.as_ref()).map_err(named)?;
        ctx.session.log().hide_credentials(&creds);
        Ok(Fetched {
            creds,
            label: format!("container credentials from {uri}"),
        })
    }

    #[cfg(feature = "testkit")]
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

const ECS_HOST: &str = "http://169.254.170.2";
const TIMEOUT: Duration = Duration::from_secs(5);
const SOURCE: &str = "container";

/// Why no URI could be had.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum UriError {
    /// Neither variable is set.
    NotConfigured,
    /// The URI is refused: which variable, what was written, why.
    Invalid(&'static str, String, UrlError),
    /// Plain http to a host that is not local.
    NotLocal(String),
}

impl std::fmt::Display for UriError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UriError::NotConfigured => f.write_str(
                "No environment variables were set to configure ECS provider \
                 (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, AWS_CONTAINER_CREDENTIALS_FULL_URI)",
            ),
            UriError::Invalid(var, text, UrlError::NoScheme | UrlError::NoHost) => write!(
                f,
                "{var} {:?}: URI did not specify a host (write http://HOST/... or https://HOST/...)",
                url::redacted(text)
            ),
            UriError::Invalid(var, text, why) => {
                write!(f, "{var} {:?}: {why}", url::redacted(text))
            }
            UriError::NotLocal(host) => write!(
                f,
                "AWS_CONTAINER_CREDENTIALS_FULL_URI: plain http is allowed only to a loopback \
                 address, 169.254.170.2, 169.254.170.23 or fd00:ec2::23, not to {host}; use https"
            ),
        }
    }
}

/// The URI to ask for credentials (the `ecs-tests.json` rules).
pub(crate) fn uri(env: &Env) -> std::result::Result<Url, UriError> {
    if let Some(rel) = env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
        let rel = rel.trim();
        let sep = if rel.starts_with('/') { "" } else { "/" };
        let text = format!("{ECS_HOST}{sep}{rel}");
        let u = url::parse(&text).map_err(|why| {
            UriError::Invalid(
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                rel.to_owned(),
                why,
            )
        })?;
        // A relative URI cannot move the request to another host.
        if u.origin() != ECS_HOST {
            return Err(UriError::Invalid(
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                rel.to_owned(),
                UrlError::BadHost,
            ));
        }
        return Ok(u);
    }
    let full = env
        .get("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .ok_or(UriError::NotConfigured)?
        .trim();
    let invalid =
        |why| UriError::Invalid("AWS_CONTAINER_CREDENTIALS_FULL_URI", full.to_owned(), why);
    let u = url::parse(full).map_err(invalid)?;
    match u.scheme {
        Scheme::Https => Ok(u),
        Scheme::Http if u.is_loopback() || u.host_is_one_of(&url::AGENT_ADDRESSES) => Ok(u),
        Scheme::Http => Err(UriError::NotLocal(u.host)),
    }
}

/// The `Authorization` header value, if any; read from the token file on every call.
pub(crate) fn authorization(env: &Env) -> Result<Option<Secret>> {
    let token = if let Some(path) = env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
        let bytes = crate::fsutil::read_file(
            std::path::Path::new(path),
            crate::fsutil::cap::CONTAINER_TOKEN,
        )
        .map_err(|e| Error::Source {
            source: SOURCE,
            message: format!("cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE {path}: {e}"),
            cause: Some(Box::new(Error::Io {
                what: format!("cannot read {path}"),
                source: e,
            })),
        })?;
        String::from_utf8(bytes).map_err(|_| {
            Error::source(
                SOURCE,
                format!("the authorization token file {path} is not UTF-8 text"),
            )
        })?
    } else if let Some(t) = env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN") {
        t.to_owned()
    } else {
        return Ok(None);
    };
    let token = token.trim_end_matches(['\r', '\n']);
    if token.contains(['\r', '\n']) {
        return Err(Error::source(
            SOURCE,
            "the container authorization token contains a line break (CR or LF); refusing \
             to send it as a header",
        ));
    }
    Ok(Some(Secret::new(token)))
}

/// GETs and parses the credentials JSON (two attempts on transient failures).
fn fetch(s: &Session, uri: &Url, auth: Option<&Secret>) -> Result<Credentials> {
    let mut headers = vec![("accept".to_owned(), "application/json".to_owned())];
    if let Some(a) = auth {
        headers.push(("authorization".to_owned(), a.expose().to_owned()));
    }
    let err = |m: String| Error::source(SOURCE, m);
    let what = format!("container credentials from {uri}");
    const ATTEMPTS: u32 = 2;
    let resp = s.retrying(ATTEMPTS, &what, |attempt| {
        // `uri` passed the host rules above: plain http here means a local agent.
        let resp = s
            .http()
            .send(&http::Request {
                method: "GET",
                url: uri,
                path_and_query: "",
                headers: &headers,
                body: b"",
                allow_http: true,
                direct: true,
                timeout: Some(TIMEOUT.min(attempt.timeout)),
            })
            .map_err(|f| Failed::from(f.during(format!("reaching {uri}"))))?;
        // A server error is tried again; the last one is read as it is.
        if resp.status >= 500 && attempt.number < ATTEMPTS {
            return Err(Failed::from(
                crate::error::HttpFailure::Connection(format!("HTTP {}", resp.status))
                    .during(format!("{uri} answered")),
            ));
        }
        Ok(resp)
    });
    let resp = match resp {
        Ok(r) => r,
        Err(Error::Http { failure, .. }) => {
            return Err(Error::Source {
                source: SOURCE,
                message: format!("cannot reach {uri}: {failure}"),
                cause: None,
            })
        }
        Err(e) => return Err(e),
    };
    let json: serde_json::Value = serde_json::from_slice(&resp.body).map_err(|_| {
        err(format!(
            "{uri} answered HTTP {} with a body that is not JSON",
            resp.status
        ))
    })?;
    if resp.status != 200 {
        let field = |k: &str| json.get(k).and_then(|v| v.as_str()).unwrap_or("");
        return Err(err(format!(
            "{uri} answered HTTP {}: {} {}",
            resp.status,
            field("Code"),
            field("Message")
        )));
    }
    credentials::from_json(&json, "Token").map_err(|m| err(format!("{uri}: {m}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(v: &str) -> std::result::Result<Url, UriError> {
        uri(&Env::from_pairs([(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            v,
        )]))
    }

    #[test]
    fn host_rules_run_on_the_parsed_url() {
        assert!(full("http://169.254.170.23/v1/credentials").is_ok());
        assert!(full("http://[fd00:ec2::23]/v1/credentials").is_ok());
        assert!(full("http://127.0.0.1:8080/creds").is_ok());
        assert!(full("https://creds.example.com/x").is_ok());
        assert!(matches!(
            full("http://creds.example.com/x"),
            Err(UriError::NotLocal(_))
        ));
        // The host is other-host, whatever the text before '@' says.
        let e = full("http://localhost:80@other-host/").unwrap_err();
        assert!(
            matches!(e, UriError::Invalid(_, _, UrlError::UserInfo)),
            "{e}"
        );
        assert!(e.to_string().contains("AWS_CONTAINER_CREDENTIALS_FULL_URI"));
        assert!(full("http://127.0.0.1#@other-host/").is_err());
        let rel = |v: &str| {
            uri(&Env::from_pairs([(
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                v,
            )]))
        };
        let with_query = rel("/v2/credentials?id=1").unwrap();
        assert_eq!(with_query.query.as_deref(), Some("id=1"));
        // Shown without its query, which may hold a credential.
        assert_eq!(
            with_query.to_string(),
            "http://169.254.170.2/v2/credentials?***"
        );
        // Whatever it holds, a relative URI stays on the ECS agent's host.
        assert_eq!(rel("@evil.example/x").unwrap().host, "169.254.170.2");
        assert!(rel("/x y").is_err());
    }
}
