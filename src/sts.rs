//! STS over its Query API: AssumeRoleWithWebIdentity (unsigned), AssumeRole and
//! GetCallerIdentity (SigV4-signed form POSTs), with the standard retry mode, each a
//! call within a [`Session`].

use crate::credentials::Credentials;
use crate::endpoint::Endpoint;
use crate::error::{Error, HttpFailure, Result, ServiceError};
use crate::http;
use crate::log::vlog;
use crate::retry::Failed;
use crate::secret::Secret;
use crate::session::{Session, SKEW_THRESHOLD};
use crate::{sigv4, timefmt, xml};

const VERSION: &str = "2011-06-15";
/// Errors that mean "your clock is off" when the server's Date disagrees with ours.
const SKEW_CODES: &[&str] = &[
    "RequestTimeTooSkewed",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "AuthFailure",
    "RequestExpired",
];
const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// Credentials an STS call handed out, and whom they belong to.
pub(crate) struct AssumedRole {
    /// The new credentials.
    pub(crate) credentials: Credentials,
    /// `AssumedRoleUser/Arn`, e.g. `arn:aws:sts::222222222222:assumed-role/testrole/s`.
    pub(crate) assumed_role_arn: String,
}

/// Who a set of credentials is: the answer of GetCallerIdentity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    /// The caller's ARN.
    pub arn: String,
    /// The account id.
    pub account: String,
    /// The unique id (`AROA...:session` for a role session).
    pub user_id: String,
}

/// Parameters of one AssumeRole call.
pub(crate) struct AssumeRoleParams<'a> {
    /// The role to assume.
    pub(crate) role_arn: &'a str,
    /// RoleSessionName.
    pub(crate) session_name: &'a str,
    /// ExternalId, if the role's trust policy asks for one.
    pub(crate) external_id: Option<&'a str>,
    /// DurationSeconds (None: the STS default).
    pub(crate) duration_seconds: Option<u32>,
    /// SerialNumber and TokenCode of an MFA device, when the role requires MFA.
    pub(crate) mfa: Option<(&'a str, &'a str)>,
}

/// AssumeRoleWithWebIdentity: an unsigned call that trades a web identity token
/// (IRSA's service account token) for role credentials.
pub(crate) fn assume_role_with_web_identity(
    s: &Session,
    role_arn: &str,
    session_name: &str,
    token: &Secret,
    duration_seconds: Option<u32>,
) -> Result<AssumedRole> {
    let mut params = vec![
        ("RoleArn".to_owned(), role_arn.to_owned()),
        ("RoleSessionName".to_owned(), session_name.to_owned()),
        ("WebIdentityToken".to_owned(), token.expose().to_owned()),
    ];
    if let Some(d) = duration_seconds {
        params.push(("DurationSeconds".into(), d.to_string()));
    }
    let leaves = call(s, "AssumeRoleWithWebIdentity", role_arn, params, None)?;
    assumed_role("AssumeRoleWithWebIdentity", role_arn, &leaves)
}

/// AssumeRole, signed with `creds`.
pub(crate) fn assume_role(
    s: &Session,
    creds: &Credentials,
    p: &AssumeRoleParams<'_>,
) -> Result<AssumedRole> {
    let mut params = vec![
        ("RoleArn".to_owned(), p.role_arn.to_owned()),
        ("RoleSessionName".to_owned(), p.session_name.to_owned()),
    ];
    if let Some(id) = p.external_id {
        params.push(("ExternalId".into(), id.to_owned()));
    }
    if let Some(d) = p.duration_seconds {
        params.push(("DurationSeconds".into(), d.to_string()));
    }
    if let Some((serial, code)) = p.mfa {
        params.push(("SerialNumber".into(), serial.to_owned()));
        params.push(("TokenCode".into(), code.to_owned()));
    }
    let result = call(s, "AssumeRole", p.role_arn, params, Some(creds));
    let leaves = match result {
        Err(Error::Service(mut e)) => {
            // A role assumed with role credentials ("role chaining") is capped at
            // one hour, whatever the role's MaxSessionDuration says.
            if p.duration_seconds.is_some_and(|d| d > 3600)
                && creds.session_token.is_some()
                && e.code == "ValidationError"
            {
                e.hint = Some(
                    "a role assumed with role credentials (role chaining) is limited to \
                     3600 seconds: use --duration-seconds 3600 or less"
                        .into(),
                );
            }
            return Err(Error::Service(e));
        }
        other => other?,
    };
    assumed_role("AssumeRole", p.role_arn, &leaves)
}

/// GetCallerIdentity, signed with `creds`: who these credentials are.
pub(crate) fn get_caller_identity(s: &Session, creds: &Credentials) -> Result<CallerIdentity> {
    let leaves = call(s, "GetCallerIdentity", "", Vec::new(), Some(creds))?;
    let get = |k: &str| -> Result<String> {
        leaves
            .get(&format!("GetCallerIdentityResult/{k}"))
            .map(str::to_owned)
            .ok_or_else(|| malformed("GetCallerIdentity", "", &format!("it has no {k}")))
    };
    Ok(CallerIdentity {
        arn: get("Arn")?,
        account: get("Account")?,
        user_id: get("UserId")?,
    })
}

/// One STS action with retries; returns the leaves of a 200 answer. Every answer's
/// `Date` tells the session the servers' time; a signature refused on a skewed clock is
/// made again at the corrected time, once.
fn call(
    s: &Session,
    op: &'static str,
    role_arn: &str,
    params: Vec<(String, String)>,
    creds: Option<&Credentials>,
) -> Result<xml::Leaves> {
    let mut form = vec![
        ("Action".to_owned(), op.to_owned()),
        ("Version".to_owned(), VERSION.to_owned()),
    ];
    form.extend(params);
    let body = sigv4::encode_query(&form);
    let endpoint = s.sts_endpoint()?;
    let what = if role_arn.is_empty() {
        op.to_owned()
    } else {
        format!("{op} {role_arn}")
    };
    let log = s.log();
    let mut skew_retried = false;
    s.retrying(s.retry().max_attempts, &what, |attempt| loop {
        let headers = headers(s, endpoint, &body, creds);
        let started = std::time::Instant::now();
        let sent_at = time::OffsetDateTime::now_utc();
        let sent = s.http().send(&http::Request {
            method: "POST",
            url: &endpoint.url,
            path_and_query: "/",
            headers: &headers,
            body: body.as_bytes(),
            allow_http: endpoint.overridden,
            direct: false,
            timeout: Some(attempt.timeout),
        });
        let took = started.elapsed().as_secs_f64() * 1000.0;
        let n = attempt.number;
        let resp = match sent {
            Ok(resp) => resp,
            Err(f) => {
                vlog!(log, "{what}: {f} after {took:.1} ms (attempt {n})");
                let f = f.at(&format!("endpoint {}", endpoint.join("/")));
                return Err(f.during(what.clone()).into());
            }
        };
        let skew = resp.header("date").and_then(|d| {
            s.clock()
                .observe_date(log, d, sent_at, time::OffsetDateTime::now_utc())
        });
        if resp.status == 200 {
            vlog!(log, "{what}: HTTP 200 in {took:.1} ms (attempt {n})");
            return xml::parse(&resp.body)
                .map_err(|why| malformed(op, role_arn, &why.to_string()).into());
        }
        let e = sts_error(op, role_arn, &resp);
        // A signature made on a wrong clock: re-sign at the server's time, once.
        if creds.is_some()
            && !skew_retried
            && SKEW_CODES.contains(&e.code.as_str())
            && skew.is_some_and(|s| s.abs() > SKEW_THRESHOLD)
        {
            vlog!(log, "{what}: {} with a skewed clock; re-signing", e.code);
            skew_retried = true;
            continue;
        }
        vlog!(
            log,
            "{what}: HTTP {} {} in {took:.1} ms (attempt {n})",
            resp.status,
            e.code
        );
        return Err(Failed {
            error: Error::Service(Box::new(e)),
            retry_after: resp.header("x-amz-retry-after").map(str::to_owned),
        });
    })
}

fn headers(
    s: &Session,
    endpoint: &Endpoint,
    body: &str,
    creds: Option<&Credentials>,
) -> Vec<(String, String)> {
    let mut headers = vec![("content-type".to_owned(), FORM.to_owned())];
    if let Some(creds) = creds {
        let signed = sigv4::sign_headers(
            &sigv4::Request {
                method: "POST",
                host: &endpoint.host(),
                path: &endpoint.path("/"),
                query: &[],
                headers: &headers,
                body: body.as_bytes(),
            },
            creds,
            sigv4::Scope {
                time: s.clock().now(),
                region: &endpoint.signing_region,
                service: "sts",
            },
            sigv4::Settings::default(),
        );
        headers.extend(signed.headers);
    }
    headers
}

fn malformed(op: &str, role_arn: &str, why: &str) -> Error {
    let what = if role_arn.is_empty() {
        op.to_owned()
    } else {
        format!("{op} {role_arn}")
    };
    HttpFailure::BadAnswer(format!("STS sent a malformed {op} response: {why}")).during(what)
}

fn assumed_role(op: &'static str, role_arn: &str, leaves: &xml::Leaves) -> Result<AssumedRole> {
    let get = |k: &str| -> Result<&str> {
        leaves
            .get(k)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| malformed(op, role_arn, &format!("it has no {k}")))
    };
    let expiration = get("Credentials/Expiration")?;
    let expiration = timefmt::parse_rfc3339(expiration).ok_or_else(|| {
        malformed(
            op,
            role_arn,
            &format!("Expiration {expiration:?} is not an RFC 3339 timestamp"),
        )
    })?;
    Ok(AssumedRole {
        credentials: Credentials {
            access_key_id: get("Credentials/AccessKeyId")?.to_owned(),
            secret_access_key: Secret::new(get("Credentials/SecretAccessKey")?),
            session_token: Some(Secret::new(get("Credentials/SessionToken")?)),
            expiration: Some(expiration),
            account_id: leaves
                .get("AssumedRoleUser/Arn")
                .and_then(|arn| arn.split(':').nth(4))
                .filter(|a| !a.is_empty())
                .map(str::to_owned),
        },
        assumed_role_arn: leaves.get("AssumedRoleUser/Arn").unwrap_or("").to_owned(),
    })
}

fn sts_error(op: &'static str, role_arn: &str, resp: &http::Response) -> ServiceError {
    decode_error(
        op,
        role_arn,
        resp.status,
        &resp.body,
        resp.header("x-amzn-requestid").unwrap_or(""),
        resp.header("content-type").unwrap_or("no content type"),
    )
}

/// Reads an answer of a successful AssumeRole-like call (for tests and fuzzing).
#[cfg(feature = "fuzzing")]
pub(crate) fn decode_assumed_role(op: &'static str, body: &[u8]) -> Result<AssumedRole> {
    let leaves = xml::parse(body).map_err(|why| malformed(op, "", &why.to_string()))?;
    assumed_role(op, "", &leaves)
}

/// Reads an error answer: an STS `ErrorResponse`, or whatever a proxy sent instead.
pub(crate) fn decode_error(
    op: &'static str,
    role_arn: &str,
    status: u16,
    body: &[u8],
    request_id_header: &str,
    content_type: &str,
) -> ServiceError {
    let header_id = request_id_header.to_owned();
    match xml::parse(body) {
        Ok(l) if l.get("Error/Code").is_some() => ServiceError {
            operation: op,
            subject: role_arn.to_owned(),
            status,
            code: l.get("Error/Code").unwrap_or("").to_owned(),
            message: l.get("Error/Message").unwrap_or("").to_owned(),
            request_id: l.get("RequestId").map(str::to_owned).unwrap_or(header_id),
            hint: None,
        },
        // Not an STS error document: a proxy's or load balancer's page. We do not echo
        // the body: a misbehaving server could reflect the request (and its token).
        _ => ServiceError {
            operation: op,
            subject: role_arn.to_owned(),
            status,
            code: format!("HTTP {status}"),
            message: format!(
                "the answer is not an STS error document ({content_type}, {} bytes)",
                body.len()
            ),
            request_id: header_id,
            hint: None,
        },
    }
}
