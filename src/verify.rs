//! `eks-token verify`: the rules the EKS server (aws-iam-authenticator) applies to a
//! bearer token, checked offline; with `--online`, the token replayed to STS as EKS
//! does, to learn whom it identifies.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use time::OffsetDateTime;

use crate::token::{MAX_TOKEN_BYTES, PREFIX};
use crate::{endpoint, timefmt};

const ALLOWED_KEYS: &[&str] = &[
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

/// What a token says and which rules it breaks.
#[derive(Debug, Default)]
pub struct Report {
    /// Token size in bytes.
    pub size: usize,
    /// The presigned URL (None when it could not be decoded).
    pub url: Option<String>,
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

/// Applies every rule to `token` at time `now`. `allowed_override` is a
/// `scheme://host` accepted in place of the real-STS-host rule (an endpoint override).
pub fn check(token: &str, now: OffsetDateTime, allowed_override: Option<&str>) -> Report {
    let mut r = Report {
        size: token.len(),
        ..Report::default()
    };
    let mut fail = |rule: &'static str, detail: String| r.failures.push((rule, detail));
    if token.len() > MAX_TOKEN_BYTES {
        fail(
            "size",
            format!(
                "{} bytes, over the {MAX_TOKEN_BYTES}-byte limit",
                token.len()
            ),
        );
    }
    let Some(b64) = token.strip_prefix(PREFIX) else {
        fail("prefix", format!("the token does not start with {PREFIX}"));
        return r;
    };
    if b64.contains('=') {
        fail("base64", "padding ('=') is not allowed".into());
        return r;
    }
    let Some(url) = URL_SAFE_NO_PAD
        .decode(b64)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
    else {
        fail("base64", "not unpadded base64url of a UTF-8 URL".into());
        return r;
    };
    r.url = Some(url.clone());
    let (scheme, rest) = url.split_once("://").unwrap_or(("", &url));
    let (authority, path_query) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
    let is_override = allowed_override
        .map(|o| o.trim_end_matches('/'))
        .is_some_and(|o| o.eq_ignore_ascii_case(&format!("{scheme}://{authority}")));
    if !is_override {
        if scheme != "https" {
            fail("scheme", format!("{scheme} is not https"));
        }
        if !is_sts_host(authority) {
            fail("host", format!("{authority} is not an STS endpoint"));
        }
    }
    if path != "/" {
        fail("path", format!("{path:?} is not /"));
    }
    let mut seen: Vec<(String, String)> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (Some(k), Some(v)) = (percent_decode(k), percent_decode(v)) else {
            fail("query", "bad percent-encoding".into());
            continue;
        };
        let lk = k.to_ascii_lowercase();
        if !ALLOWED_KEYS.contains(&lk.as_str()) {
            fail("query", format!("parameter {k} is not allowed"));
        }
        if seen.iter().any(|(s, _)| *s == lk) {
            fail("query", format!("parameter {k} appears more than once"));
        }
        seen.push((lk, v));
    }
    let get = |k: &str| seen.iter().find(|(s, _)| s == k).map(|(_, v)| v.as_str());
    if get("action") != Some("GetCallerIdentity") {
        fail("action", "Action is not GetCallerIdentity".into());
    }
    let signed = get("x-amz-signedheaders").unwrap_or("");
    r.signed_headers = Some(signed.to_owned());
    if !signed.split(';').any(|h| h == "x-k8s-aws-id") {
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
    let date = get("x-amz-date").and_then(|d| {
        let p = time::format_description::parse_borrowed::<2>(
            "[year][month][day]T[hour][minute][second]Z",
        )
        .ok()?;
        time::PrimitiveDateTime::parse(d, &p)
            .ok()
            .map(|t| t.assume_utc())
    });
    match date {
        None => fail("date", "X-Amz-Date is missing or malformed".into()),
        Some(d) => {
            r.signed_at = Some(d);
            if now > d + time::Duration::minutes(15) {
                fail(
                    "date",
                    format!(
                        "signed at {}, more than 15 minutes ago",
                        timefmt::format_rfc3339(d)
                    ),
                );
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
    r
}

/// The report as lines for a person.
pub fn render(r: &Report, now: OffsetDateTime) -> String {
    let mut out = String::new();
    let mut line = |k: &str, v: String| out.push_str(&format!("{k:<16}{v}\n"));
    line(
        "size",
        format!("{} bytes (EKS accepts up to {MAX_TOKEN_BYTES})", r.size),
    );
    if let Some(region) = &r.region {
        line("region", region.clone());
    }
    if let Some(a) = &r.access_key_id {
        line("access key id", a.clone());
    }
    if let Some(d) = r.signed_at {
        let age = (now - d).whole_seconds();
        line(
            "signed at",
            format!(
                "{} ({} ago)",
                timefmt::format_rfc3339(d),
                timefmt::human_duration(age)
            ),
        );
        let left = (d + time::Duration::minutes(15) - now).whole_seconds();
        line(
            "time left",
            if left > 0 {
                timefmt::human_duration(left)
            } else {
                format!("none (expired {} ago)", timefmt::human_duration(-left))
            },
        );
    }
    if let Some(h) = &r.signed_headers {
        line("signed headers", h.clone());
    }
    line(
        "session token",
        r.session_token_len
            .map_or("none (long-term keys)".into(), |n| {
                format!("present ({n} bytes)")
            }),
    );
    for (rule, detail) in &r.failures {
        line("FAIL", format!("{rule}: {detail}"));
    }
    line(
        "verdict",
        if r.ok() {
            "EKS would accept this token (if STS accepts its signature)".into()
        } else {
            format!(
                "EKS would reject this token ({} rule(s) broken)",
                r.failures.len()
            )
        },
    );
    out
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
}
