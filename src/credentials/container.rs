//! Container credentials: ECS task roles and EKS Pod Identity.
//! `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (to 169.254.170.2) wins over
//! `AWS_CONTAINER_CREDENTIALS_FULL_URI` (https, or http to a loopback or link-local
//! agent address only). The `Authorization` header comes from
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (re-read on every use; kubelet rotates the
//! Pod Identity token) or `AWS_CONTAINER_AUTHORIZATION_TOKEN`.

use std::time::Duration;

use super::{Context, Credentials, Loaded};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::http::{self, Client};
use crate::secret::Secret;

const ECS_HOST: &str = "http://169.254.170.2";
const TIMEOUT: Duration = Duration::from_secs(5);
const SOURCE: &str = "container";

/// Why no URI could be had.
#[derive(Debug, PartialEq, Eq)]
pub enum UriError {
    /// Neither variable is set.
    NotConfigured,
    /// The full URI is not acceptable; the message says why.
    Invalid(String),
}

impl std::fmt::Display for UriError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UriError::NotConfigured => f.write_str(
                "No environment variables were set to configure ECS provider \
                 (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, AWS_CONTAINER_CREDENTIALS_FULL_URI)",
            ),
            UriError::Invalid(m) => f.write_str(m),
        }
    }
}

/// The URI to ask for credentials (the `ecs-tests.json` rules).
pub fn uri(env: &Env) -> std::result::Result<String, UriError> {
    if let Some(rel) = env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
        let rel = rel.trim();
        let sep = if rel.starts_with('/') { "" } else { "/" };
        return Ok(format!("{ECS_HOST}{sep}{rel}"));
    }
    let full = env
        .get("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .ok_or(UriError::NotConfigured)?
        .trim();
    let invalid = |why: String| {
        UriError::Invalid(format!(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI {full:?}: {why}"
        ))
    };
    let Some((scheme, rest)) = full.split_once("://") else {
        return Err(invalid("URI did not specify a host".into()));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("").to_owned()
    } else {
        authority.split(':').next().unwrap_or("").to_owned()
    };
    if host.is_empty() {
        return Err(invalid("URI did not specify a host".into()));
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(full.to_owned()),
        "http" if is_allowed_http_host(&host) => Ok(full.to_owned()),
        "http" => Err(invalid(format!(
            "plain http is allowed only to a loopback address, 169.254.170.2, 169.254.170.23 \
             or fd00:ec2::23, not to {host}; use https"
        ))),
        other => Err(invalid(format!("unsupported scheme {other}"))),
    }
}

fn is_allowed_http_host(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    if host == "localhost" {
        return true;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) if ip.is_loopback() => true,
        Ok(ip) => ["169.254.170.2", "169.254.170.23", "fd00:ec2::23"]
            .iter()
            .any(|a| a.parse::<std::net::IpAddr>().ok() == Some(ip)),
        Err(_) => false,
    }
}

/// The `Authorization` header value, if any; read from the token file on every call.
pub fn authorization(env: &Env) -> Result<Option<Secret>> {
    let token = if let Some(path) = env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
        let bytes = std::fs::read(path).map_err(|e| Error::Source {
            source: SOURCE,
            message: format!("cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE {path}: {e}"),
        })?;
        String::from_utf8(bytes).map_err(|_| Error::Source {
            source: SOURCE,
            message: format!("the authorization token file {path} is not UTF-8 text"),
        })?
    } else if let Some(t) = env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN") {
        t.to_owned()
    } else {
        return Ok(None);
    };
    let token = token.trim_end_matches(['\r', '\n']);
    if token.contains(['\r', '\n']) {
        return Err(Error::Source {
            source: SOURCE,
            message: "the container authorization token contains a line break (CR or LF); \
                      refusing to send it as a header"
                .into(),
        });
    }
    Ok(Some(Secret::new(token)))
}

/// Loads container credentials, if configured.
pub fn load(ctx: &Context<'_>) -> Result<Loaded> {
    let uri = match uri(ctx.env) {
        Ok(u) => u,
        Err(UriError::NotConfigured) => {
            return Ok(Loaded::NotConfigured(
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI not set".into(),
            ))
        }
        Err(e) => {
            return Err(Error::Source {
                source: SOURCE,
                message: e.to_string(),
            })
        }
    };
    let creds = fetch(ctx.sts.http(), &uri, authorization(ctx.env)?.as_ref())?;
    Ok(Loaded::Found(
        creds,
        format!("container credentials from {uri}"),
    ))
}

/// GETs and parses the credentials JSON (two attempts on transient failures).
pub fn fetch(http: &Client, uri: &str, auth: Option<&Secret>) -> Result<Credentials> {
    let mut headers = vec![("accept".to_owned(), "application/json".to_owned())];
    if let Some(a) = auth {
        headers.push(("authorization".to_owned(), a.expose().to_owned()));
    }
    let err = |m: String| Error::Source {
        source: SOURCE,
        message: m,
    };
    let mut attempt = 0;
    let resp = loop {
        attempt += 1;
        let r = http.send(&http::Request {
            method: "GET",
            url: uri,
            headers: &headers,
            body: b"",
            allow_http: true,
            timeout: Some(TIMEOUT),
        });
        match r {
            Ok(resp) if resp.status >= 500 && attempt < 2 => continue,
            Ok(resp) => break resp,
            Err(f) if f.is_retryable() && attempt < 2 => continue,
            Err(f) => return Err(err(format!("cannot reach {uri}: {f}"))),
        }
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
    super::from_json(&json, "Token").map_err(|m| err(format!("{uri}: {m}")))
}
