//! EC2 instance metadata (IMDSv2): a session token (PUT), then the role name and its
//! credentials (GET). Short timeouts and few attempts, so that a machine without IMDS
//! is not slowed down: a connection that is refused or not answered within a second
//! means "no IMDS here".

use std::time::Duration;

use super::{Context, Fetched, Prepared, Source};
use crate::config_files::ProfileSet;
use crate::credentials::{self, Credentials};
use crate::env::Env;
use crate::error::{Error, HttpFailure, Result};
use crate::http;
use crate::log::vlog;
use crate::retry::Failed;
use crate::session::Session;
use crate::url::{self, Url};

/// The EC2 instance role.
#[derive(Debug, Clone)]
pub(crate) struct Instance {
    /// The profile whose `credential_source = Ec2InstanceMetadata` chose it, if one did.
    pub(crate) by_profile: Option<String>,
    /// Else the sources the default chain skipped before it, each with why (for the
    /// error when IMDS has nothing either).
    pub(crate) skipped: Vec<String>,
}

impl Source for Instance {
    fn label(&self) -> String {
        "instance metadata".into()
    }

    fn fetch(&self, ctx: &Context<'_>, _: Prepared) -> Result<Fetched> {
        let base = endpoint(ctx.env, ctx.profiles, ctx.profile, None, None)
            .map_err(|e| Error::config(None, e.to_string()))?;
        // A machine whose credentials come from IMDS is an EC2 instance: its region is
        // the default. It is learnt before anything resolves the STS endpoint.
        let want_region = ctx.session.region().is_none();
        match load(ctx.session, &base, want_region)? {
            Loaded::Found(creds, label, region) => {
                if let Some(region) = region {
                    vlog!(ctx.session.log(), "region {region} from instance metadata");
                    ctx.session.set_region_hint(&region);
                }
                Ok(Fetched { creds, label })
            }
            Loaded::Absent(why) => Err(match &self.by_profile {
                None => {
                    let mut tried = self.skipped.clone();
                    tried.push(format!("IMDS ({why})"));
                    Error::NoCredentials(tried)
                }
                Some(p) => Error::config(
                    Some(p),
                    format!(
                        "profile `{p}`: credential_source Ec2InstanceMetadata: the credential \
                         provider was not enabled ({why})"
                    ),
                ),
            }),
        }
    }

    #[cfg(feature = "testkit")]
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

const TIMEOUT: Duration = Duration::from_secs(1);
const ATTEMPTS: u32 = 3;
const SOURCE: &str = "IMDS";

/// Whether `AWS_EC2_METADATA_DISABLED` turns IMDS off.
pub(crate) fn disabled(env: &Env) -> bool {
    env.flag("AWS_EC2_METADATA_DISABLED")
}

/// Why the IMDS endpoint settings cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EndpointError {
    Url {
        origin: String,
        text: String,
        why: url::UrlError,
    },
    Mode(String),
}

impl std::fmt::Display for EndpointError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EndpointError::Url { origin, text, why } => write!(
                f,
                "{origin} {:?} is not a valid IMDS endpoint URI: {why}",
                url::redacted(text)
            ),
            EndpointError::Mode(m) => {
                write!(f, "`{m}` is not a valid endpoint mode (use IPv4 or IPv6)")
            }
        }
    }
}

/// The IMDS base URL: an explicit override, `AWS_EC2_METADATA_SERVICE_ENDPOINT`, the
/// profile's `ec2_metadata_service_endpoint`, else by mode (explicit, then
/// `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE`, then the profile's
/// `ec2_metadata_service_endpoint_mode`): IPv4 `http://169.254.169.254` or IPv6
/// `http://[fd00:ec2::254]`.
pub(crate) fn endpoint(
    env: &Env,
    profiles: &ProfileSet,
    profile: &str,
    endpoint_override: Option<&str>,
    mode_override: Option<&str>,
) -> std::result::Result<Url, EndpointError> {
    let configured = match endpoint_override {
        Some(u) => Some((u.to_owned(), "the IMDS endpoint override".to_owned())),
        None => profiles.setting(
            env,
            profile,
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            "ec2_metadata_service_endpoint",
        ),
    };
    if let Some((text, origin)) = configured {
        return url::parse(&text)
            .and_then(Url::without_query)
            .map_err(|why| EndpointError::Url {
                origin,
                text: text.trim().to_owned(),
                why,
            });
    }
    let mode = mode_override.map(str::to_owned).or_else(|| {
        profiles
            .setting(
                env,
                profile,
                "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
                "ec2_metadata_service_endpoint_mode",
            )
            .map(|s| s.0)
    });
    let base = match mode
        .as_deref()
        .map(|m| m.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("ipv4") => "http://169.254.169.254",
        Some("ipv6") => "http://[fd00:ec2::254]",
        Some(_) => return Err(EndpointError::Mode(mode.unwrap_or_default().trim().into())),
    };
    Ok(url::parse(base).expect("a valid constant"))
}

/// An IMDSv2 session.
struct Imds<'a> {
    s: &'a Session,
    base: &'a Url,
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
    s: &Session,
    method: &'static str,
    base: &Url,
    path: &str,
    headers: &[(String, String)],
) -> Result<Answer> {
    let what = base.join(path);
    s.retrying(ATTEMPTS, &what, |attempt| {
        match s.http().send(&http::Request {
            method,
            url: base,
            path_and_query: path,
            headers,
            body: b"",
            // The metadata service speaks plain http; its address is configuration.
            allow_http: true,
            direct: true,
            timeout: Some(TIMEOUT.min(attempt.timeout)),
        }) {
            Ok(r) if r.status == 200 => {
                Ok(Answer::Ok(String::from_utf8_lossy(&r.body).into_owned()))
            }
            // A server error is asked again; the last one is the answer.
            Ok(r) if r.status >= 500 && attempt.number < ATTEMPTS => Err(Failed::from(
                HttpFailure::Connection(format!("HTTP {}", r.status)).during(what.clone()),
            )),
            Ok(r) => Ok(Answer::Status(r.status)),
            // Refused or unanswered: IMDS is not there; trying again only costs time.
            Err(f @ (HttpFailure::Timeout(_) | HttpFailure::Connection(_))) => {
                Ok(Answer::Absent(f.to_string()))
            }
            Err(f) => Err(Failed::from(source_err(format!("{what}: {f}")))),
        }
    })
}

/// A session, or why no IMDS answers.
enum Connected<'a> {
    Session(Imds<'a>),
    Absent(String),
}

fn source_err(message: String) -> Error {
    Error::source(SOURCE, message)
}

impl<'a> Imds<'a> {
    /// Opens a session (PUT `/latest/api/token`), or says why none answers.
    fn connect(s: &'a Session, base: &'a Url) -> Result<Connected<'a>> {
        let path = "/latest/api/token";
        let headers = [(
            "x-aws-ec2-metadata-token-ttl-seconds".to_owned(),
            "21600".to_owned(),
        )];
        match call(s, "PUT", base, path, &headers)? {
            Answer::Ok(token) => Ok(Connected::Session(Imds {
                s,
                base,
                token: token.trim().to_owned(),
            })),
            Answer::Absent(why) => Ok(Connected::Absent(format!(
                "no instance metadata service at {base} ({why})"
            ))),
            Answer::Status(403) => Err(source_err(format!(
                "{} answered HTTP 403: request forbidden: IMDS is disabled on this instance",
                base.join(path)
            ))),
            Answer::Status(s) => Err(source_err(format!(
                "{} answered HTTP {s} to the session token request",
                base.join(path)
            ))),
        }
    }

    /// GETs a metadata path; `None` for 404.
    fn get(&self, path: &str) -> Result<Option<String>> {
        let headers = [("x-aws-ec2-metadata-token".to_owned(), self.token.clone())];
        match call(self.s, "GET", self.base, path, &headers)? {
            Answer::Ok(body) => Ok(Some(body)),
            Answer::Status(404) => Ok(None),
            Answer::Status(s) => Err(source_err(format!(
                "{} answered HTTP {s}",
                self.base.join(path)
            ))),
            Answer::Absent(why) => Err(source_err(format!("{}: {why}", self.base.join(path)))),
        }
    }

    /// The instance role's credentials; `Ok(None)` when no role is attached.
    fn credentials(&self) -> Result<Option<(String, Credentials)>> {
        let Some(list) = self.get("/latest/meta-data/iam/security-credentials/")? else {
            return Ok(None);
        };
        let Some(role) = list.lines().map(str::trim).find(|l| !l.is_empty()) else {
            return Ok(None);
        };
        // An IAM role name; anything else must not shape the path we ask next.
        if !role
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
            || role.len() > 64
        {
            return Err(source_err(
                "the instance metadata names a role that is not an IAM role name".into(),
            ));
        }
        let path = format!("/latest/meta-data/iam/security-credentials/{role}");
        let body = self.get(&path)?.ok_or_else(|| {
            source_err(format!(
                "the credentials of role {role} are not in the instance metadata"
            ))
        })?;
        let json: serde_json::Value =
            serde_json::from_str(&body).map_err(|_| source_err(format!("{path} is not JSON")))?;
        if let Some(code) = json.get("Code").and_then(|c| c.as_str()) {
            if code != "Success" {
                return Err(source_err(format!(
                    "the instance role's credentials are not available: Code {code}"
                )));
            }
        }
        let creds =
            credentials::from_json(&json, "Token").map_err(|m| source_err(m.to_string()))?;
        Ok(Some((role.to_owned(), creds)))
    }

    /// The instance's region.
    fn region(&self) -> Option<String> {
        self.get("/latest/meta-data/placement/region")
            .ok()
            .flatten()
            .map(|r| r.trim().to_owned())
            .filter(|r| crate::endpoint::validate_region(r).is_ok())
    }
}

/// What IMDS gave.
pub(crate) enum Loaded {
    /// The instance role's credentials, where they came from, and the instance's region
    /// when `want_region` asked for it.
    Found(Credentials, String, Option<String>),
    /// No IMDS, or no role attached: why.
    Absent(String),
}

/// The instance role's credentials from IMDS at `base`, and the instance's region
/// when `want_region`.
pub(crate) fn load(s: &Session, base: &Url, want_region: bool) -> Result<Loaded> {
    let imds = match Imds::connect(s, base)? {
        Connected::Session(imds) => imds,
        Connected::Absent(why) => return Ok(Loaded::Absent(why)),
    };
    let Some((role, creds)) = imds.credentials()? else {
        return Ok(Loaded::Absent(format!(
            "no IAM role is attached to this instance ({base}): the credential provider was not enabled"
        )));
    };
    s.log().hide_credentials(&creds);
    let region = if want_region { imds.region() } else { None };
    Ok(Loaded::Found(
        creds,
        format!("instance metadata role {role} ({base})"),
        region,
    ))
}
