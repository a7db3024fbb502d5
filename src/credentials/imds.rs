//! EC2 instance metadata (IMDSv2): a session token (PUT), then the role name and its
//! credentials (GET). Short timeouts and few attempts, so that a machine without IMDS
//! is not slowed down: a connection that is refused or not answered within a second
//! means "no IMDS here".

use std::time::Duration;

use super::{Context, Credentials, Loaded};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::http::{self, Client};
use crate::profile::ProfileSet;

const TIMEOUT: Duration = Duration::from_secs(1);
const ATTEMPTS: u32 = 3;
const SOURCE: &str = "IMDS";

/// Whether `AWS_EC2_METADATA_DISABLED` turns IMDS off.
pub fn disabled(env: &Env) -> bool {
    env.flag("AWS_EC2_METADATA_DISABLED")
}

/// The IMDS base URL: an explicit override, `AWS_EC2_METADATA_SERVICE_ENDPOINT`, the
/// profile's `ec2_metadata_service_endpoint`, else by mode (explicit, then
/// `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE`, then the profile's
/// `ec2_metadata_service_endpoint_mode`): IPv4 `http://169.254.169.254` or IPv6
/// `http://[fd00:ec2::254]`.
pub fn endpoint(
    env: &Env,
    profiles: &ProfileSet,
    profile: &str,
    endpoint_override: Option<&str>,
    mode_override: Option<&str>,
) -> std::result::Result<String, String> {
    let url = endpoint_override
        .or_else(|| env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT"))
        .or_else(|| profiles.get(profile, "ec2_metadata_service_endpoint"));
    if let Some(url) = url {
        let url = url.trim();
        let valid = (url.starts_with("http://") || url.starts_with("https://"))
            && url.len() > "https://".len()
            && !url
                .bytes()
                .any(|b| b.is_ascii_whitespace() || b.is_ascii_control());
        if !valid {
            return Err(format!(
                "IMDS endpoint {url:?} is not a valid URI (invalid uri character or scheme)"
            ));
        }
        return Ok(url.trim_end_matches('/').to_owned());
    }
    let mode = mode_override
        .or_else(|| env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"))
        .or_else(|| profiles.get(profile, "ec2_metadata_service_endpoint_mode"));
    match mode.map(|m| m.trim().to_ascii_lowercase()).as_deref() {
        None | Some("ipv4") => Ok("http://169.254.169.254".into()),
        Some("ipv6") => Ok("http://[fd00:ec2::254]".into()),
        Some(_) => Err(format!(
            "`{}` is not a valid endpoint mode (use IPv4 or IPv6)",
            mode.unwrap_or_default().trim()
        )),
    }
}

/// An IMDSv2 session.
pub struct Imds<'a> {
    http: &'a Client,
    base: String,
    token: String,
}

/// What a request to IMDS gave.
enum Answer {
    Ok(String),
    Status(u16),
    /// Nothing answered: no IMDS here.
    Absent(String),
}

fn call(
    http: &Client,
    method: &'static str,
    url: &str,
    headers: &[(String, String)],
) -> std::result::Result<Answer, Error> {
    let mut last = Answer::Absent(String::new());
    for _ in 0..ATTEMPTS {
        match http.send(&http::Request {
            method,
            url,
            headers,
            body: b"",
            allow_http: true,
            timeout: Some(TIMEOUT),
        }) {
            Ok(r) if r.status == 200 => {
                return Ok(Answer::Ok(String::from_utf8_lossy(&r.body).into_owned()))
            }
            Ok(r) if r.status >= 500 => last = Answer::Status(r.status),
            Ok(r) => return Ok(Answer::Status(r.status)),
            // Refused or unanswered: IMDS is not there; trying again only costs time.
            Err(f) if matches!(f, http::Failure::Timeout(_) | http::Failure::Connection(_)) => {
                return Ok(Answer::Absent(f.to_string()))
            }
            Err(f) => {
                return Err(Error::Source {
                    source: SOURCE,
                    message: format!("{url}: {f}"),
                })
            }
        }
    }
    Ok(last)
}

impl<'a> Imds<'a> {
    /// Opens a session (PUT `/latest/api/token`); `Ok(None)` when no IMDS answers.
    pub fn connect(http: &'a Client, base: &str) -> Result<std::result::Result<Self, String>> {
        let url = format!("{base}/latest/api/token");
        let headers = [(
            "x-aws-ec2-metadata-token-ttl-seconds".to_owned(),
            "21600".to_owned(),
        )];
        match call(http, "PUT", &url, &headers)? {
            Answer::Ok(token) => Ok(Ok(Imds {
                http,
                base: base.to_owned(),
                token: token.trim().to_owned(),
            })),
            Answer::Absent(why) => Ok(Err(format!(
                "no instance metadata service at {base} ({why})"
            ))),
            Answer::Status(403) => Err(Error::Source {
                source: SOURCE,
                message: format!(
                    "{url} answered HTTP 403: request forbidden: IMDS is disabled on this instance"
                ),
            }),
            Answer::Status(s) => Err(Error::Source {
                source: SOURCE,
                message: format!("{url} answered HTTP {s} to the session token request"),
            }),
        }
    }

    /// GETs a metadata path; `None` for 404.
    pub fn get(&self, path: &str) -> Result<Option<String>> {
        let url = format!("{}{path}", self.base);
        let headers = [("x-aws-ec2-metadata-token".to_owned(), self.token.clone())];
        match call(self.http, "GET", &url, &headers)? {
            Answer::Ok(body) => Ok(Some(body)),
            Answer::Status(404) => Ok(None),
            Answer::Status(s) => Err(Error::Source {
                source: SOURCE,
                message: format!("{url} answered HTTP {s}"),
            }),
            Answer::Absent(why) => Err(Error::Source {
                source: SOURCE,
                message: format!("{url}: {why}"),
            }),
        }
    }

    /// The instance role's credentials; `Ok(None)` when no role is attached.
    pub fn credentials(&self) -> Result<Option<(String, Credentials)>> {
        let Some(list) = self.get("/latest/meta-data/iam/security-credentials/")? else {
            return Ok(None);
        };
        let Some(role) = list.lines().map(str::trim).find(|l| !l.is_empty()) else {
            return Ok(None);
        };
        let path = format!("/latest/meta-data/iam/security-credentials/{role}");
        let body = self.get(&path)?.ok_or_else(|| Error::Source {
            source: SOURCE,
            message: format!("the credentials of role {role} are not in the instance metadata"),
        })?;
        let json: serde_json::Value = serde_json::from_str(&body).map_err(|_| Error::Source {
            source: SOURCE,
            message: format!("{path} is not JSON"),
        })?;
        if let Some(code) = json.get("Code").and_then(|c| c.as_str()) {
            if code != "Success" {
                return Err(Error::Source {
                    source: SOURCE,
                    message: format!(
                        "the instance role's credentials are not available: Code {code}"
                    ),
                });
            }
        }
        let creds = super::from_json(&json, "Token").map_err(|m| Error::Source {
            source: SOURCE,
            message: m,
        })?;
        Ok(Some((role.to_owned(), creds)))
    }

    /// The instance's region.
    pub fn region(&self) -> Option<String> {
        self.get("/latest/meta-data/placement/region")
            .ok()
            .flatten()
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty())
    }
}

/// Loads the instance role's credentials, if this is an instance with one.
pub fn load(ctx: &Context<'_>) -> Result<Loaded> {
    if disabled(ctx.env) {
        return Ok(Loaded::NotConfigured(
            "AWS_EC2_METADATA_DISABLED is set".into(),
        ));
    }
    let base =
        endpoint(ctx.env, ctx.profiles, ctx.profile, None, None).map_err(|m| Error::Source {
            source: SOURCE,
            message: m,
        })?;
    let imds = match Imds::connect(ctx.sts.http(), &base)? {
        Ok(i) => i,
        Err(why) => return Ok(Loaded::NotConfigured(why)),
    };
    let Some((role, creds)) = imds.credentials()? else {
        return Ok(Loaded::NotConfigured(format!(
            "no IAM role is attached to this instance ({base}): the credential provider was not enabled"
        )));
    };
    // A machine whose only source is IMDS is an EC2 instance: its region is the default.
    if ctx.sts.region().is_none() {
        if let Some(region) = imds.region() {
            crate::vlog!("region {region} from instance metadata");
            ctx.sts.set_region_hint(&region);
        }
    }
    Ok(Loaded::Found(
        creds,
        format!("instance metadata role {role} ({base})"),
    ))
}
