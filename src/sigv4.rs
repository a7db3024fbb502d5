//! AWS Signature Version 4, split along the spec's own words: canonical request, string
//! to sign, signing key, signature. Signs requests with headers (`Authorization`) or
//! presigns them as URLs (query parameters), for any service and region.
//!
//! Internal to the library; public only to its own tests (feature `testkit`), which
//! check each step against the official vectors and botocore.
#![cfg_attr(not(feature = "testkit"), allow(unreachable_pub, dead_code))]

use ring::{digest, hmac};
use time::OffsetDateTime;

use crate::credentials::Credentials;

/// The only algorithm SigV4 defines.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Hex SHA-256 of the empty payload, used by every presigned STS URL.
pub const EMPTY_PAYLOAD_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Headers that are never signed (botocore's list, plus the `authorization` the signer
/// writes): proxies and HTTP stacks may change or drop them in transit.
const UNSIGNED_HEADERS: &[&str] = &[
    "authorization",
    "connection",
    "expect",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "x-amzn-trace-id",
];

/// A request to sign.
pub struct Request<'a> {
    /// HTTP method, e.g. `POST`.
    pub method: &'a str,
    /// The `Host` header value: host, plus `:port` when it is not the scheme's default.
    pub host: &'a str,
    /// The path as it is sent on the wire; it is URI-encoded once more for the canonical
    /// request, as every service but S3 requires.
    pub path: &'a str,
    /// Query parameters, not yet encoded.
    pub query: &'a [(String, String)],
    /// Headers other than `host`; repeated names are allowed.
    pub headers: &'a [(String, String)],
    /// The payload.
    pub body: &'a [u8],
}

/// Where the signature applies: time, region and service.
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    /// Signing time (UTC).
    pub time: OffsetDateTime,
    /// Signing region, e.g. `us-east-1`.
    pub region: &'a str,
    /// Signing service name, e.g. `sts`.
    pub service: &'a str,
}

/// Options where services differ.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Remove `.`/`..` segments and empty segments from the path (false only for S3).
    pub normalize_path: bool,
    /// Add the session token after signing instead of signing it (a few services,
    /// e.g. IoT, want that); false everywhere eks-token signs.
    pub session_token_after_signing: bool,
    /// Add and sign `x-amz-content-sha256` (header signing only).
    pub content_sha256_header: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            normalize_path: true,
            session_token_after_signing: false,
            content_sha256_header: false,
        }
    }
}

/// The intermediate products of one signature, for tests and verification.
/// No `Debug`: the canonical request may hold a session token.
pub struct Signature {
    /// The canonical request.
    pub canonical_request: String,
    /// The string to sign.
    pub string_to_sign: String,
    /// The hex signature.
    pub signature: String,
}

/// A header-signed request: the headers to add, in order.
pub struct SignedHeaders {
    /// `x-amz-date`, `x-amz-security-token`, `x-amz-content-sha256` and `authorization`,
    /// as applicable.
    pub headers: Vec<(String, String)>,
    /// How the signature was made.
    pub parts: Signature,
}

/// A presigned request: the complete query, in the order it goes on the wire.
pub struct Presigned {
    /// The request's own parameters, then `X-Amz-Algorithm`, `X-Amz-Credential`,
    /// `X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders`, `X-Amz-Security-Token`
    /// and last `X-Amz-Signature` (botocore's order).
    pub query: Vec<(String, String)>,
    /// `query` encoded, `k=v&k=v` in that order: the URL's query (each pair encoded
    /// once, for the canonical query and the URL alike).
    pub encoded: String,
    /// How the signature was made.
    pub parts: Signature,
}

/// Signs `req` with an `Authorization` header.
pub fn sign_headers(
    req: &Request<'_>,
    creds: &Credentials,
    scope: Scope<'_>,
    settings: Settings,
) -> SignedHeaders {
    let amz_date = amz_date(scope.time);
    let cred_scope = scope_string(&amz_date, scope);
    let mut added: Vec<(String, String)> = vec![("x-amz-date".into(), amz_date.clone())];
    let token = creds.session_token.as_ref().map(|t| t.expose());
    if let (Some(token), false) = (token, settings.session_token_after_signing) {
        added.push(("x-amz-security-token".into(), token.to_owned()));
    }
    let payload_hash = match find_header(req.headers, "x-amz-content-sha256") {
        Some(v) => v.to_owned(),
        None => payload_sha256(req.body),
    };
    if settings.content_sha256_header && find_header(req.headers, "x-amz-content-sha256").is_none()
    {
        added.push(("x-amz-content-sha256".into(), payload_hash.clone()));
    }
    // The date and token we add replace any the caller passed.
    let headers: Vec<(&str, &str)> = req
        .headers
        .iter()
        .filter(|(n, _)| {
            !(n.eq_ignore_ascii_case("x-amz-date")
                || (n.eq_ignore_ascii_case("x-amz-security-token") && token.is_some()))
        })
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .chain(added.iter().map(|(n, v)| (n.as_str(), v.as_str())))
        .collect();
    let (canonical_headers, signed_names) = canonical_headers(req.host, &headers);
    let canonical_request = canonical_request(
        req.method,
        &canonical_uri(req.path, settings.normalize_path),
        &canonical_query(req.query.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        &canonical_headers,
        &signed_names,
        &payload_hash,
    );
    let parts = finish(creds, scope, &amz_date, &cred_scope, canonical_request);
    if let (Some(token), true) = (token, settings.session_token_after_signing) {
        added.push(("x-amz-security-token".into(), token.to_owned()));
    }
    added.push((
        "authorization".into(),
        format!(
            "{ALGORITHM} Credential={}/{}, SignedHeaders={signed_names}, Signature={}",
            creds.access_key_id, cred_scope, parts.signature
        ),
    ));
    SignedHeaders {
        headers: added,
        parts,
    }
}

/// Presigns `req` as a URL valid for `expires_secs` seconds. The payload hash is that
/// of `req.body` (the empty payload for a GET).
pub fn presign(
    req: &Request<'_>,
    creds: &Credentials,
    scope: Scope<'_>,
    expires_secs: u64,
    settings: Settings,
) -> Presigned {
    let amz_date = amz_date(scope.time);
    let cred_scope = scope_string(&amz_date, scope);
    let headers: Vec<(&str, &str)> = req
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let (canonical_headers, signed_names) = canonical_headers(req.host, &headers);
    let mut query: Vec<(String, String)> = req.query.to_vec();
    query.push(("X-Amz-Algorithm".into(), ALGORITHM.into()));
    query.push((
        "X-Amz-Credential".into(),
        format!("{}/{cred_scope}", creds.access_key_id),
    ));
    query.push(("X-Amz-Date".into(), amz_date.clone()));
    query.push(("X-Amz-Expires".into(), expires_secs.to_string()));
    query.push(("X-Amz-SignedHeaders".into(), signed_names.clone()));
    let token = creds.session_token.as_ref().map(|t| t.expose().to_owned());
    if let (Some(token), false) = (&token, settings.session_token_after_signing) {
        query.push(("X-Amz-Security-Token".into(), token.clone()));
    }
    let payload_hash = payload_sha256(req.body);
    let mut pairs = encode_pairs(query.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let canonical_request = canonical_request(
        req.method,
        &canonical_uri(req.path, settings.normalize_path),
        &canonical_of(&pairs),
        &canonical_headers,
        &signed_names,
        &payload_hash,
    );
    let parts = finish(creds, scope, &amz_date, &cred_scope, canonical_request);
    if let (Some(token), true) = (token, settings.session_token_after_signing) {
        pairs.extend(encode_pairs(
            [("X-Amz-Security-Token", token.as_str())].into_iter(),
        ));
        query.push(("X-Amz-Security-Token".into(), token));
    }
    // Hex: nothing to encode.
    pairs.push(("X-Amz-Signature".into(), parts.signature.clone()));
    query.push(("X-Amz-Signature".into(), parts.signature.clone()));
    let encoded = join_pairs(pairs.iter());
    Presigned {
        query,
        encoded,
        parts,
    }
}

fn finish(
    creds: &Credentials,
    scope: Scope<'_>,
    amz_date: &str,
    cred_scope: &str,
    canonical_request: String,
) -> Signature {
    let string_to_sign = string_to_sign(amz_date, cred_scope, &canonical_request);
    let key = derive_signing_key(
        creds.secret_access_key.expose(),
        &amz_date[..8],
        scope.region,
        scope.service,
    );
    let signature = crate::url::hex(hmac::sign(&key, string_to_sign.as_bytes()).as_ref());
    Signature {
        canonical_request,
        string_to_sign,
        signature,
    }
}

/// `YYYYMMDDTHHMMSSZ`, the form of `X-Amz-Date`: RFC 3339's without its separators.
pub fn amz_date(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `date/region/service/aws4_request`.
pub fn credential_scope(scope: Scope<'_>) -> String {
    scope_string(&amz_date(scope.time), scope)
}

/// The credential scope of a request signed at `amz_date` (its date once formatted).
fn scope_string(amz_date: &str, scope: Scope<'_>) -> String {
    format!(
        "{}/{}/{}/aws4_request",
        &amz_date[..8],
        scope.region,
        scope.service
    )
}

/// The canonical request: method, URI, query, headers, signed header names, payload hash.
pub fn canonical_request(
    method: &str,
    canonical_uri: &str,
    canonical_query: &str,
    canonical_headers: &str,
    signed_headers: &str,
    payload_hash: &str,
) -> String {
    format!(
        "{method}\n{canonical_uri}\n{canonical_query}\n{canonical_headers}\n{signed_headers}\n{payload_hash}"
    )
}

/// The hex SHA-256 of a payload; the empty one's, which every token's request has, known.
fn payload_sha256(body: &[u8]) -> String {
    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    if body.is_empty() {
        return EMPTY.to_owned();
    }
    crate::url::hex(digest::digest(&digest::SHA256, body).as_ref())
}

/// The string to sign for a canonical request.
pub fn string_to_sign(amz_date: &str, credential_scope: &str, canonical_request: &str) -> String {
    let hash =
        crate::url::hex(digest::digest(&digest::SHA256, canonical_request.as_bytes()).as_ref());
    format!("{ALGORITHM}\n{amz_date}\n{credential_scope}\n{hash}")
}

/// The canonical URI: the path with dot and empty segments removed (when `normalize`),
/// then URI-encoded with `/` kept.
pub fn canonical_uri(path: &str, normalize: bool) -> String {
    let path = if normalize {
        remove_dot_segments(path)
    } else if path.is_empty() {
        "/".to_owned()
    } else {
        path.to_owned()
    };
    let mut out = String::with_capacity(path.len() + 8);
    uri_encode(&path, true, &mut out);
    out
}

/// RFC 3986 section 5.2.4, with empty segments dropped as AWS services require
/// (the same rule as botocore's `remove_dot_segments`).
fn remove_dot_segments(path: &str) -> String {
    if path.is_empty() {
        return "/".to_owned();
    }
    let mut out: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let mut s = String::with_capacity(path.len());
    if path.starts_with('/') {
        s.push('/');
    }
    s.push_str(&out.join("/"));
    if path.ends_with('/') && !out.is_empty() {
        s.push('/');
    }
    if s.is_empty() {
        s.push('/');
    }
    s
}

/// The canonical query string: each key and value encoded, sorted by key then value.
pub fn canonical_query<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    canonical_of(&encode_pairs(pairs))
}

/// Each key and value URI-encoded, in order.
fn encode_pairs<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<(String, String)> {
    pairs
        .map(|(k, v)| {
            // Sized by `uri_encode`, once.
            let (mut ek, mut ev) = (String::new(), String::new());
            uri_encode(k, false, &mut ek);
            uri_encode(v, false, &mut ev);
            (ek, ev)
        })
        .collect()
}

/// Encoded pairs as the canonical query: sorted by key then value.
fn canonical_of(encoded: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = encoded.iter().collect();
    sorted.sort();
    join_pairs(sorted.into_iter())
}

/// Encoded pairs as `k=v&k=v`.
fn join_pairs<'a>(pairs: impl Iterator<Item = &'a (String, String)> + Clone) -> String {
    let len = pairs.clone().map(|(k, v)| k.len() + v.len() + 2).sum();
    let mut out = String::with_capacity(len);
    for (i, (k, v)) in pairs.enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// Encodes pairs in the given order as `k=v&k=v`, with the same encoding as the
/// canonical query (and as a form body, space as `%20`).
pub fn encode_query(pairs: &[(String, String)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        uri_encode(k, false, &mut out);
        out.push('=');
        uri_encode(v, false, &mut out);
    }
    out
}

/// Canonical headers (`name:value\n` each, sorted) and the signed header names
/// (`a;b;c`). `host` is added unless present; repeated names are joined with `,`.
pub fn canonical_headers(host: &str, headers: &[(&str, &str)]) -> (String, String) {
    let mut list: Vec<(String, String)> = Vec::with_capacity(headers.len() + 1);
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        list.push(("host".into(), host.to_owned()));
    }
    for (name, value) in headers {
        let name = name.trim().to_ascii_lowercase();
        if UNSIGNED_HEADERS.contains(&name.as_str()) {
            continue;
        }
        list.push((name, trim_all(value)));
    }
    // Stable sort keeps repeated headers in the order they were given.
    list.sort_by(|a, b| a.0.cmp(&b.0));
    let len: usize = list.iter().map(|(n, v)| n.len() + v.len() + 2).sum();
    let mut canonical = String::with_capacity(len);
    let mut names = String::with_capacity(len);
    let mut prev: Option<&str> = None;
    for (name, value) in &list {
        if prev == Some(name.as_str()) {
            canonical.pop(); // the '\n' of the previous value
            canonical.push(',');
        } else {
            if prev.is_some() {
                names.push(';');
            }
            names.push_str(name);
            canonical.push_str(name);
            canonical.push(':');
        }
        canonical.push_str(value);
        canonical.push('\n');
        prev = Some(name);
    }
    (canonical, names)
}

/// Trims a header value and collapses inner whitespace runs (spaces, tabs, line breaks)
/// to one space.
fn trim_all(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for word in value.split_ascii_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// URI-encodes every byte but the unreserved `A-Za-z0-9-_.~` (and `/` when `keep_slash`).
pub fn uri_encode(s: &str, keep_slash: bool, out: &mut String) {
    crate::url::uri_encode(s, keep_slash, out)
}

/// The signing key: HMAC chain `"AWS4"+secret` -> date (`YYYYMMDD`) -> region ->
/// service -> `aws4_request`. Derived for each signature: five HMACs cost less than a
/// cache lookup would (which hashes the secret), and a cache would outlive the run.
fn derive_signing_key(secret: &str, date: &str, region: &str, service: &str) -> hmac::Key {
    let mut k = format!("AWS4{secret}").into_bytes();
    for part in [date, region, service, "aws4_request"] {
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &k), part.as_bytes());
        k.iter_mut().for_each(|b| *b = 0);
        k = tag.as_ref().to_vec();
    }
    hmac::Key::new(hmac::HMAC_SHA256, &k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_empty_payloads_hash_is_sha256_of_nothing() {
        let computed = crate::url::hex(digest::digest(&digest::SHA256, b"").as_ref());
        assert_eq!(payload_sha256(b""), computed);
        assert_eq!(
            payload_sha256(b"Action=GetCallerIdentity&Version=2011-06-15"),
            crate::url::hex(
                digest::digest(
                    &digest::SHA256,
                    b"Action=GetCallerIdentity&Version=2011-06-15"
                )
                .as_ref()
            )
        );
    }

    #[test]
    fn dot_segments_follow_botocore() {
        for (input, want) in [
            ("", "/"),
            ("/", "/"),
            ("//", "/"),
            ("/./", "/"),
            ("/example/..", "/"),
            ("/example1/example2/../..", "/"),
            ("//example//", "/example/"),
            ("/./example", "/example"),
            ("/a/b/../c/", "/a/c/"),
            ("/../../a", "/a"),
        ] {
            assert_eq!(remove_dot_segments(input), want, "{input:?}");
        }
    }

    #[test]
    fn encoding_keeps_only_unreserved() {
        let mut out = String::new();
        uri_encode("a b/c+d=é~", false, &mut out);
        assert_eq!(out, "a%20b%2Fc%2Bd%3D%C3%A9~");
        let mut out = String::new();
        uri_encode("/a b/%41", true, &mut out);
        assert_eq!(out, "/a%20b/%2541");
    }

    #[test]
    fn repeated_headers_join_in_order_and_unsigned_are_skipped() {
        let (c, n) = canonical_headers(
            "h",
            &[
                ("X-B", " 2  3 "),
                ("User-Agent", "x"),
                ("x-a", "1"),
                ("X-B", "1"),
            ],
        );
        assert_eq!(c, "host:h\nx-a:1\nx-b:2 3,1\n");
        assert_eq!(n, "host;x-a;x-b");
    }

    fn signing_key(secret: &str, scope: Scope<'_>) -> hmac::Key {
        derive_signing_key(
            secret,
            &amz_date(scope.time)[..8],
            scope.region,
            scope.service,
        )
    }

    #[test]
    fn the_key_is_the_scopes() {
        let scope = Scope {
            time: OffsetDateTime::from_unix_timestamp(1_440_938_160).unwrap(),
            region: "us-east-1",
            service: "service",
        };
        let a = hmac::sign(&signing_key("secret", scope), b"x");
        let c = hmac::sign(
            &derive_signing_key("secret", "20150830", "us-east-1", "service"),
            b"x",
        );
        let d = hmac::sign(&signing_key("other", scope), b"x");
        assert_eq!(a.as_ref(), c.as_ref());
        assert_ne!(a.as_ref(), d.as_ref());
    }
}
