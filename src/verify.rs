//! Checking a token as EKS does: the rules the EKS server (aws-iam-authenticator)
//! applies to a bearer token, offline ([`check`]); and the token replayed to STS as EKS
//! replays it, to learn whom it identifies ([`replay`]). A token is untrusted input:
//! every rule works on any bytes, and the replay goes only to a real STS host (or to
//! exactly the configured endpoint override), never to whatever host a token names.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use time::OffsetDateTime;

use crate::config_files::ProfileSet;
use crate::endpoint::{self, Service};
use crate::env::Env;
use crate::error::{Error, HttpFailure, Result};
use crate::log::{vlog, Log};
use crate::sts::{self, CallerIdentity};
use crate::token::{CLUSTER_ID_HEADER, MAX_TOKEN_BYTES, PREFIX};
use crate::url::{self, Scheme, Url};
use crate::{http, timefmt, xml};

const ALLOWED_KEYS: [&str; 9] = [
    "action",
    "version",
    "x-amz-algorithm",
    "x-amz-credential",
    "x-amz-date",
    "x-amz-expires",
    "x-amz-security-token",
    "x-amz-signature",
    "x-amz-signedheaders",
];

/// Tokens this much larger than EKS accepts are not decoded at all.
const MAX_DECODED: usize = 16 * MAX_TOKEN_BYTES;
/// Broken rules reported at most (a crafted token can break one per parameter).
const MAX_FAILURES: usize = 32;

/// What came of replaying a token to STS ([`replay`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Online {
    /// STS answered GetCallerIdentity: the signature holds for the cluster.
    Accepted,
    /// STS refused it (a service error: the signature, the cluster name, expiry).
    Refused,
    /// STS could not be asked (the network, a timeout): nothing is known.
    Unanswered,
}

/// What a token says and which rules it breaks.
#[derive(Debug, Default)]
pub struct Report {
    /// Token size in bytes.
    pub size: usize,
    /// The presigned URL (None when it could not be decoded).
    pub url: Option<String>,
    /// The URL's host, with its port if it names one (None when it could not be parsed).
    pub host: Option<String>,
    /// Region of the credential scope.
    pub region: Option<String>,
    /// Access key id of the credential scope.
    pub access_key_id: Option<String>,
    /// `X-Amz-Date`.
    pub signed_at: Option<OffsetDateTime>,
    /// `X-Amz-SignedHeaders`.
    pub signed_headers: Option<String>,
    /// Length of `X-Amz-Security-Token`, if any (never its value).
    pub session_token_len: Option<usize>,
    /// Each broken rule: `(rule, detail)`.
    pub failures: Vec<(&'static str, String)>,
}

impl Report {
    /// Whether EKS would accept the token (signature aside: only STS can check that).
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }

    /// When EKS stops accepting the token: 15 minutes after signing.
    pub fn valid_until(&self) -> Option<OffsetDateTime> {
        self.signed_at?.checked_add(time::Duration::minutes(15))
    }
}

/// The presigned URL inside a token.
pub fn decode(token: &str) -> Result<String> {
    let bad = |why: &str| Error::InvalidInput(format!("not an EKS token: {why}"));
    let b64 = token
        .strip_prefix(PREFIX)
        .ok_or_else(|| bad("it does not start with k8s-aws-v1."))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(b64)
        .map_err(|_| bad("the part after the prefix is not unpadded base64url"))?;
    String::from_utf8(bytes).map_err(|_| bad("the URL is not UTF-8"))
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Whether `host` is a real STS endpoint: `sts.amazonaws.com`, or
/// `sts[-fips].<region>.<partition suffix or dual-stack suffix>` for a region of that
/// partition.
pub fn is_sts_host(host: &str) -> bool {
    if host == "sts.amazonaws.com" {
        return true;
    }
    let rest = host
        .strip_prefix("sts-fips.")
        .or_else(|| host.strip_prefix("sts."));
    let Some(rest) = rest else { return false };
    let Some((region, suffix)) = rest.split_once('.') else {
        return false;
    };
    let p = endpoint::partition(region);
    endpoint::is_known_region_form(region)
        && (suffix == p.dns_suffix || suffix == p.dualstack_suffix)
}

/// The STS endpoint override of the environment, if one is set (and not ignored).
fn override_url(env: &Env) -> Result<Option<Url>> {
    endpoint::Settings::load(env, &ProfileSet::default(), "default", None)?
        .override_for(Service::Sts)
}

/// Applies every rule to `token` at time `now`. `allowed_override` is an endpoint
/// override whose scheme and host are accepted in place of the real-STS-host rule.
pub fn check(token: &str, now: OffsetDateTime, allowed_override: Option<&str>) -> Report {
    let mut r = Report {
        size: token.len(),
        ..Report::default()
    };
    let mut failures: Vec<(&'static str, String)> = Vec::new();
    let mut fail = |rule: &'static str, detail: String| {
        if failures.len() < MAX_FAILURES {
            failures.push((rule, detail));
        }
    };
    check_into(&mut r, token, now, allowed_override, &mut fail);
    r.failures = failures;
    r
}

fn check_into(
    r: &mut Report,
    token: &str,
    now: OffsetDateTime,
    allowed_override: Option<&str>,
    fail: &mut dyn FnMut(&'static str, String),
) {
    if token.len() > MAX_TOKEN_BYTES {
        fail(
            "size",
            format!(
                "{} bytes, over the {MAX_TOKEN_BYTES}-byte limit",
                token.len()
            ),
        );
        if token.len() > MAX_DECODED {
            return;
        }
    }
    let Some(b64) = token.strip_prefix(PREFIX) else {
        fail("prefix", format!("the token does not start with {PREFIX}"));
        return;
    };
    if b64.contains('=') {
        fail("base64", "padding ('=') is not allowed".into());
        return;
    }
    let Some(text) = URL_SAFE_NO_PAD
        .decode(b64)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
    else {
        fail("base64", "not unpadded base64url of a UTF-8 URL".into());
        return;
    };
    r.url = Some(text.clone());
    let parsed = url::parse(&text);
    let is_override = match (&parsed, allowed_override) {
        (Ok(u), Some(o)) => url::parse(o).is_ok_and(|o| o.origin() == u.origin()),
        _ => false,
    };
    let query = match &parsed {
        Err(e) => {
            fail("url", format!("the token's URL cannot be parsed: {e}"));
            text.split_once('?').map_or("", |(_, q)| q).to_owned()
        }
        Ok(u) => {
            r.host = Some(u.authority());
            if !is_override {
                if u.scheme != Scheme::Https {
                    fail("scheme", format!("{} is not https", u.scheme.as_str()));
                }
                if u.port.is_some() || !is_sts_host(&u.host) {
                    fail("host", format!("{} is not an STS endpoint", u.authority()));
                }
            }
            if u.path != "/" {
                fail("path", format!("{:?} is not /", u.path));
            }
            u.query.clone().unwrap_or_default()
        }
    };
    // Each allowed key's value, once; every other key is a broken rule.
    let mut seen: [Option<String>; ALLOWED_KEYS.len()] = Default::default();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (Some(k), Some(v)) = (percent_decode(k), percent_decode(v)) else {
            fail("query", "bad percent-encoding".into());
            continue;
        };
        let lk = k.to_ascii_lowercase();
        match ALLOWED_KEYS.iter().position(|a| *a == lk) {
            None => fail("query", format!("parameter {k:?} is not allowed")),
            Some(i) if seen[i].is_some() => {
                fail("query", format!("parameter {k} appears more than once"))
            }
            Some(i) => seen[i] = Some(v),
        }
    }
    let get = |k: &str| {
        ALLOWED_KEYS
            .iter()
            .position(|a| *a == k)
            .and_then(|i| seen[i].as_deref())
    };
    if get("action") != Some("GetCallerIdentity") {
        fail("action", "Action is not GetCallerIdentity".into());
    }
    let signed = get("x-amz-signedheaders").unwrap_or("");
    r.signed_headers = Some(signed.to_owned());
    if !signed.split(';').any(|h| h == CLUSTER_ID_HEADER) {
        fail(
            "signed-headers",
            "x-k8s-aws-id is not signed: the token is not bound to a cluster".into(),
        );
    }
    match get("x-amz-expires").map(str::parse::<i64>) {
        Some(Ok(e)) if (0..=900).contains(&e) => {}
        Some(Ok(e)) => fail("expires", format!("X-Amz-Expires {e} is not in 0..900")),
        _ => fail("expires", "X-Amz-Expires is missing or not a number".into()),
    }
    match get("x-amz-date").and_then(timefmt::parse_amz_date) {
        None => fail("date", "X-Amz-Date is missing or malformed".into()),
        Some(d) => {
            r.signed_at = Some(d);
            match d.checked_add(time::Duration::minutes(15)) {
                Some(until) if now > until => fail(
                    "date",
                    format!(
                        "signed at {}, more than 15 minutes ago",
                        timefmt::format_rfc3339(d)
                    ),
                ),
                Some(_) => {}
                None => fail(
                    "date",
                    "X-Amz-Date is so far in the future that it has no expiry".into(),
                ),
            }
        }
    }
    let cred: Vec<&str> = get("x-amz-credential").unwrap_or("").split('/').collect();
    if cred.len() == 5 && cred[3] == "sts" && cred[4] == "aws4_request" {
        r.access_key_id = Some(cred[0].to_owned());
        r.region = Some(cred[2].to_owned());
    } else {
        fail("credential", "X-Amz-Credential is malformed".into());
    }
    if get("x-amz-signature")
        .is_none_or(|s| s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        fail(
            "signature",
            "X-Amz-Signature is missing or not 64 hex digits".into(),
        );
    }
    r.session_token_len = get("x-amz-security-token").map(str::len);
}

/// [`check`] with the environment's STS endpoint override (`AWS_ENDPOINT_URL_STS`,
/// `AWS_ENDPOINT_URL`) accepted in place of a real STS host.
pub fn check_in(env: &Env, token: &str, now: OffsetDateTime) -> Result<Report> {
    let o = override_url(env)?.map(|u| u.origin());
    Ok(check(token, now, o.as_deref()))
}

/// Replays `token` to STS with `x-k8s-aws-id: cluster`, as EKS does, and returns whom it
/// identifies. The request goes to the token's host only when that host is a real STS
/// endpoint over https; with an endpoint override set, only to the override. Anything
/// but a GetCallerIdentity result with an ARN is an error.
/// The token is hidden in every line of `log` from now on.
pub fn replay(
    env: &Env,
    log: &Log,
    token: &str,
    cluster: &str,
    timeout: Duration,
) -> Result<CallerIdentity> {
    log.hide(token);
    let refuse = |why: String| Error::InvalidInput(format!("not replaying the token: {why}"));
    let text = decode(token)?;
    let u = url::parse(&text).map_err(|e| refuse(format!("its URL cannot be parsed: {e}")))?;
    let target = match override_url(env)? {
        Some(o) => {
            if o.origin() != u.origin() {
                return Err(refuse(format!(
                    "it names {}, but the STS endpoint override is {}; the override is the \
                     only host asked while one is set",
                    u.origin(),
                    o.origin()
                )));
            }
            o
        }
        None => {
            if u.scheme != Scheme::Https || u.port.is_some() || !is_sts_host(&u.host) {
                return Err(refuse(format!(
                    "{} is not an STS endpoint (https://sts[.REGION].amazonaws.com and the \
                     other partitions' hosts); set AWS_ENDPOINT_URL_STS to replay to a \
                     stand-in",
                    u.origin()
                )));
            }
            u.clone()
        }
    };
    let path_and_query = format!("{}?{}", u.path, u.query.as_deref().unwrap_or(""));
    let client = http::Client::new(env, timeout);
    let headers = [(CLUSTER_ID_HEADER.to_owned(), cluster.to_owned())];
    let what = || "replaying the token to STS".to_owned();
    let resp = client
        .send(&http::Request {
            method: "GET",
            url: &Url {
                path: String::new(),
                ..target.clone()
            },
            path_and_query: &path_and_query,
            headers: &headers,
            body: b"",
            allow_http: target.scheme == Scheme::Http,
            direct: false,
            timeout: None,
        })
        .map_err(|f| f.during(what()))?;
    vlog!(log, "{}: HTTP {}", what(), resp.status);
    let content_type = resp.header("content-type").unwrap_or("no content type");
    let described = || {
        format!(
            "the answer is not a GetCallerIdentity result (HTTP {}, {content_type}, {} bytes)",
            resp.status,
            resp.body.len()
        )
    };
    if resp.status != 200 {
        let e = sts::decode_error(
            "GetCallerIdentity",
            "",
            resp.status,
            &resp.body,
            resp.header("x-amzn-requestid").unwrap_or(""),
            content_type,
        );
        return Err(Error::Service(Box::new(e)));
    }
    let leaves =
        xml::parse(&resp.body).map_err(|_| HttpFailure::BadAnswer(described()).during(what()))?;
    let get = |k: &str| {
        leaves
            .get(&format!(
                "GetCallerIdentityResponse/GetCallerIdentityResult/{k}"
            ))
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    match (get("Arn"), get("Account"), get("UserId")) {
        (Some(arn), account, user_id) => Ok(CallerIdentity {
            arn,
            account: account.unwrap_or_default(),
            user_id: user_id.unwrap_or_default(),
        }),
        _ => Err(HttpFailure::BadAnswer(described()).during(what())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_sts_hosts() {
        for ok in [
            "sts.amazonaws.com",
            "sts.us-east-1.amazonaws.com",
            "sts-fips.us-west-2.amazonaws.com",
            "sts.eu-west-1.api.aws",
            "sts.cn-north-1.amazonaws.com.cn",
            "sts.us-gov-west-1.amazonaws.com",
        ] {
            assert!(is_sts_host(ok), "{ok}");
        }
        for bad in [
            "sts.evil.com",
            "sts.us-east-1.amazonaws.com.evil.com",
            "evil.us-east-1.amazonaws.com",
            "sts.cn-north-1.amazonaws.com",
            "127.0.0.1:5000",
            "sts.amazonaws.com:443",
        ] {
            assert!(!is_sts_host(bad), "{bad}");
        }
    }

    fn token_for(url: &str) -> String {
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(url))
    }

    #[test]
    fn extreme_dates_break_a_rule_and_never_panic() {
        let now = OffsetDateTime::now_utc();
        for date in ["99991231T235959Z", "00000101T000000Z", "99991231T999999Z"] {
            let t = token_for(&format!(
                "https://sts.amazonaws.com/?Action=GetCallerIdentity&X-Amz-Date={date}"
            ));
            let r = check(&t, now, None);
            assert!(
                r.failures.iter().any(|(rule, _)| *rule == "date"),
                "{date}: {r:?}"
            );
        }
    }

    #[test]
    fn crafted_tokens_stay_bounded() {
        let many = token_for(&format!(
            "https://sts.amazonaws.com/?{}",
            "a=1&".repeat(3000)
        ));
        let r = check(&many, OffsetDateTime::now_utc(), None);
        assert_eq!(r.failures.len(), MAX_FAILURES);
        let huge = "k8s-aws-v1.".to_owned() + &"A".repeat(MAX_DECODED + 1);
        let r = check(&huge, OffsetDateTime::now_utc(), None);
        assert_eq!(r.failures.len(), 1);
        assert!(r.url.is_none());
        let userinfo =
            token_for("https://sts.amazonaws.com@evil.example/?Action=GetCallerIdentity");
        let r = check(&userinfo, OffsetDateTime::now_utc(), None);
        assert!(r.failures.iter().any(|(rule, _)| *rule == "url"), "{r:?}");
    }
}
