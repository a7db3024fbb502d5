//! The official SigV4 test suite (`tests/data/sigv4-test-suite/v4`), one test per case:
//! canonical request, string to sign and signature, for header signing and presigning.

use std::path::PathBuf;

use eks_token::sigv4;
use eks_token::Credentials;
use eks_token::Secret;

fn suite_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/sigv4-test-suite/v4");
    assert!(
        dir.is_dir(),
        "SigV4 test suite not found at {}",
        dir.display()
    );
    dir
}

fn read(case: &str, file: &str) -> String {
    let p = suite_dir().join(case).join(file);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

struct ParsedRequest {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

fn parse_request(text: &str) -> ParsedRequest {
    let (head, body) = match text.split_once("\n\n") {
        Some((h, b)) => (h, b.as_bytes().to_vec()),
        None => (text.trim_end_matches('\n'), Vec::new()),
    };
    let mut lines = head.lines();
    let request_line = lines.next().unwrap();
    let (method, rest) = request_line.split_once(' ').unwrap();
    let target = rest.strip_suffix(" HTTP/1.1").unwrap_or(rest);
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    // SOURCE.md: request.txt writes the path's space as %20 (a request line cannot hold
    // one); the path to sign has the space itself.
    let path = path.replace("%20", " ");
    let query = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            // Continuation of the previous header's value.
            let last = headers.last_mut().unwrap();
            last.1.push('\n');
            last.1.push_str(line);
        } else {
            let (n, v) = line.split_once(':').unwrap();
            headers.push((n.to_owned(), v.to_owned()));
        }
    }
    ParsedRequest {
        method: method.to_owned(),
        path,
        query,
        headers,
        body,
    }
}

fn run_case(case: &str) {
    let ctx: serde_json::Value = serde_json::from_str(&read(case, "context.json")).unwrap();
    let c = &ctx["credentials"];
    let creds = Credentials {
        access_key_id: c["access_key_id"].as_str().unwrap().into(),
        secret_access_key: Secret::new(c["secret_access_key"].as_str().unwrap()),
        session_token: c["token"].as_str().map(Secret::new),
        expiration: None,
        account_id: None,
    };
    let time = time::OffsetDateTime::parse(
        ctx["timestamp"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let scope = sigv4::Scope {
        time,
        region: ctx["region"].as_str().unwrap(),
        service: ctx["service"].as_str().unwrap(),
    };
    let settings = sigv4::Settings {
        normalize_path: ctx["normalize"].as_bool().unwrap(),
        session_token_after_signing: ctx["omit_session_token"].as_bool().unwrap_or(false),
        content_sha256_header: ctx["sign_body"].as_bool().unwrap(),
    };
    let req = parse_request(&read(case, "request.txt"));
    let host = req
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.clone())
        .unwrap();
    let request = sigv4::Request {
        method: &req.method,
        host: &host,
        path: &req.path,
        query: &req.query,
        headers: &req.headers,
        body: &req.body,
    };

    let signed = sigv4::sign_headers(&request, &creds, scope, settings);
    assert_eq!(
        signed.parts.canonical_request,
        read(case, "header-canonical-request.txt"),
        "{case}: header canonical request"
    );
    assert_eq!(
        signed.parts.string_to_sign,
        read(case, "header-string-to-sign.txt"),
        "{case}: header string to sign"
    );
    assert_eq!(
        signed.parts.signature,
        read(case, "header-signature.txt").trim(),
        "{case}: header signature"
    );
    let auth = &signed.headers.last().unwrap().1;
    assert!(
        auth.ends_with(&format!("Signature={}", signed.parts.signature)),
        "{auth}"
    );

    // Presigning signs every header but the date, which moves to the query.
    let expires = ctx["expiration_in_seconds"].as_u64().unwrap();
    let presigned = sigv4::presign(&request, &creds, scope, expires, settings);
    assert_eq!(
        presigned.parts.canonical_request,
        read(case, "query-canonical-request.txt"),
        "{case}: query canonical request"
    );
    assert_eq!(
        presigned.parts.string_to_sign,
        read(case, "query-string-to-sign.txt"),
        "{case}: query string to sign"
    );
    assert_eq!(
        presigned.parts.signature,
        read(case, "query-signature.txt").trim(),
        "{case}: query signature"
    );
    assert_eq!(
        presigned.query.last().unwrap(),
        &(
            "X-Amz-Signature".to_owned(),
            presigned.parts.signature.clone()
        )
    );
}

macro_rules! vectors {
    ($($name:ident => $case:literal,)*) => {
        $(
            #[test]
            fn $name() {
                run_case($case);
            }
        )*
    };
}

vectors! {
    get_header_key_duplicate => "get-header-key-duplicate",
    get_header_value_multiline => "get-header-value-multiline",
    get_header_value_order => "get-header-value-order",
    get_header_value_trim => "get-header-value-trim",
    get_relative_normalized => "get-relative-normalized",
    get_relative_relative_normalized => "get-relative-relative-normalized",
    get_slash_dot_slash_normalized => "get-slash-dot-slash-normalized",
    get_slash_normalized => "get-slash-normalized",
    get_slash_pointless_dot_normalized => "get-slash-pointless-dot-normalized",
    get_slashes_normalized => "get-slashes-normalized",
    get_space_normalized => "get-space-normalized",
    get_unreserved => "get-unreserved",
    get_utf8 => "get-utf8",
    get_vanilla => "get-vanilla",
    get_vanilla_empty_query_key => "get-vanilla-empty-query-key",
    get_vanilla_query => "get-vanilla-query",
    get_vanilla_query_order_encoded => "get-vanilla-query-order-encoded",
    get_vanilla_query_order_key_case => "get-vanilla-query-order-key-case",
    get_vanilla_query_unreserved => "get-vanilla-query-unreserved",
    get_vanilla_utf8_query => "get-vanilla-utf8-query",
    get_vanilla_with_session_token => "get-vanilla-with-session-token",
    post_header_key_case => "post-header-key-case",
    post_header_key_sort => "post-header-key-sort",
    post_header_value_case => "post-header-value-case",
    post_sts_header_after => "post-sts-header-after",
    post_sts_header_before => "post-sts-header-before",
    post_vanilla => "post-vanilla",
    post_vanilla_empty_query_value => "post-vanilla-empty-query-value",
    post_vanilla_query => "post-vanilla-query",
    post_x_www_form_urlencoded => "post-x-www-form-urlencoded",
    post_x_www_form_urlencoded_parameters => "post-x-www-form-urlencoded-parameters",
    // S3-style cases (no path normalisation): not required, but the signer supports them.
    get_relative_unnormalized => "get-relative-unnormalized",
    get_relative_relative_unnormalized => "get-relative-relative-unnormalized",
    get_slash_dot_slash_unnormalized => "get-slash-dot-slash-unnormalized",
    get_slash_pointless_dot_unnormalized => "get-slash-pointless-dot-unnormalized",
    get_slash_unnormalized => "get-slash-unnormalized",
    get_slashes_unnormalized => "get-slashes-unnormalized",
    get_space_unnormalized => "get-space-unnormalized",
}

/// Every case folder with a `context.json` has a test above.
#[test]
fn every_case_is_covered() {
    let listed = include_str!("sigv4_vectors.rs");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(suite_dir()).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if entry.path().join("context.json").exists() && !listed.contains(&format!("=> \"{name}\""))
        {
            missing.push(name);
        }
    }
    assert!(missing.is_empty(), "cases without a test: {missing:?}");
}

/// The older cases without `context.json` show that a path that is already encoded is
/// encoded again (every service but S3); their canonical URI line must match.
#[test]
fn double_encode_cases_encode_the_path_again() {
    for case in ["double-encode-path", "double-url-encode"] {
        let req = parse_request(&read(case, "request.txt"));
        let want = read(case, "header-canonical-request.txt");
        let want_uri = want.lines().nth(1).unwrap();
        assert_eq!(sigv4::canonical_uri(&req.path, true), want_uri, "{case}");
    }
}
