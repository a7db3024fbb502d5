//! Differential test: hundreds of generated requests (odd paths, reserved and non-ASCII
//! query characters, repeated and space-padded headers, with and without session
//! tokens, header signing and presigning) signed by eks-token and by botocore.

use std::process::Command;

use eks_token::sigv4;
use eks_token::Credentials;
use eks_token::Secret;
use serde_json::{json, Value};

/// xorshift64*: deterministic cases from a seed, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const PATH_SEGMENTS: &[&str] = &[
    "a",
    "b c",
    "%41",
    "é",
    "ሴ",
    ".",
    "..",
    "",
    "~user",
    "x+y",
    "a=b",
    "@",
    "!$&'()*+,;=",
    ":",
    "2015-03-31",
    "arn:aws:lambda",
    "%2F",
    "日本",
    "-_.~",
    "%20",
    "a%b",
];
const QUERY_PIECES: &[&str] = &[
    "",
    "a",
    "Action",
    "b c",
    "&",
    "=",
    "+",
    "/",
    "?",
    "#",
    "%",
    "é",
    "ሴ",
    "~",
    "*",
    "'",
    "x y z",
    "AQoDYXdz+/=",
    "value1",
    "Param",
    "param",
    "日本語",
    ";",
    ",",
    "[]",
];
const HEADER_NAMES: &[&str] = &[
    "X-Custom",
    "x-custom",
    "Content-Type",
    "X-Amz-Meta-Data",
    "My-Header1",
    "my-header2",
    "User-Agent",
    "Connection",
    "X-Amzn-Trace-Id",
    "x-k8s-aws-id",
    "Accept",
];
const HEADER_VALUES: &[&str] = &[
    "value",
    "  padded  ",
    "a   b   c",
    "\ttabbed\tvalue ",
    "\"quoted  string\"",
    "",
    "application/json",
    "dev",
    "x,y",
    "a \t b",
    "UPPER lower",
];
const REGIONS: &[&str] = &[
    "us-east-1",
    "eu-west-1",
    "cn-north-1",
    "us-gov-west-1",
    "ap-southeast-4",
];
const SERVICES: &[&str] = &["sts", "eks", "service", "execute-api", "iam"];
const HOSTS: &[&str] = &[
    "sts.amazonaws.com",
    "sts.us-east-1.amazonaws.com",
    "example.amazonaws.com",
    "127.0.0.1:5000",
    "eks.eu-west-1.amazonaws.com",
];
const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"];

fn gen_case(rng: &mut Rng, i: usize) -> Value {
    let presign = i % 2 == 1;
    let mut path = String::new();
    for _ in 0..rng.below(5) {
        path.push('/');
        path.push_str(rng.pick(PATH_SEGMENTS));
    }
    if path.is_empty() || rng.chance(20) {
        path.push('/');
    }
    let mut query: Vec<(String, String)> = Vec::new();
    for _ in 0..rng.below(5) {
        let key = format!("{}{}", rng.pick(QUERY_PIECES), rng.pick(QUERY_PIECES));
        let key = if key.is_empty() { "k".to_owned() } else { key };
        let value = format!("{}{}", rng.pick(QUERY_PIECES), rng.pick(QUERY_PIECES));
        // Presigning puts parameters in a dict (botocore): keys must be unique there.
        if presign && query.iter().any(|(k, _)| *k == key) {
            continue;
        }
        query.push((key.clone(), value));
        // Repeated keys with different values, sorted by value.
        if !presign && rng.chance(20) {
            query.push((key, rng.pick(QUERY_PIECES).to_owned()));
        }
    }
    let mut headers: Vec<(String, String)> = Vec::new();
    for _ in 0..rng.below(6) {
        headers.push((
            rng.pick(HEADER_NAMES).into(),
            rng.pick(HEADER_VALUES).into(),
        ));
    }
    let body = if presign || rng.chance(40) {
        String::new()
    } else {
        format!(
            "Action=AssumeRole&RoleArn={}&X={}",
            rng.pick(QUERY_PIECES),
            rng.next()
        )
    };
    let token = if rng.chance(50) {
        Some(format!(
            "FwoGZXIvYXdz{}+/tok=={}",
            rng.next(),
            rng.pick(QUERY_PIECES)
        ))
    } else {
        None
    };
    let t = 1_400_000_000 + (rng.next() % 500_000_000);
    let time = time::OffsetDateTime::from_unix_timestamp(t as i64).unwrap();
    json!({
        "mode": if presign { "query" } else { "header" },
        "method": rng.pick(METHODS),
        "host": rng.pick(HOSTS),
        "path": path,
        "query": query,
        "headers": headers,
        "body": body,
        "access_key_id": format!("AKIA{:016X}", rng.next()),
        "secret": format!("{:x}/{:x}+secret", rng.next(), rng.next()),
        "token": token,
        "region": rng.pick(REGIONS),
        "service": rng.pick(SERVICES),
        "timestamp": sigv4::amz_date(time),
        "unix": t,
        "expires": 1 + rng.next() % 604_800,
    })
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_owned(),
                p[1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn sign_ours(case: &Value) -> (String, String, String) {
    let creds = Credentials {
        access_key_id: case["access_key_id"].as_str().unwrap().into(),
        secret_access_key: Secret::new(case["secret"].as_str().unwrap()),
        session_token: case["token"].as_str().map(Secret::new),
        expiration: None,
        account_id: None,
    };
    let query = pairs(&case["query"]);
    let headers = pairs(&case["headers"]);
    let request = sigv4::Request {
        method: case["method"].as_str().unwrap(),
        host: case["host"].as_str().unwrap(),
        path: case["path"].as_str().unwrap(),
        query: &query,
        headers: &headers,
        body: case["body"].as_str().unwrap().as_bytes(),
    };
    let scope = sigv4::Scope {
        time: time::OffsetDateTime::from_unix_timestamp(case["unix"].as_i64().unwrap()).unwrap(),
        region: case["region"].as_str().unwrap(),
        service: case["service"].as_str().unwrap(),
    };
    let parts = if case["mode"] == "query" {
        let p = sigv4::presign(
            &request,
            &creds,
            scope,
            case["expires"].as_u64().unwrap(),
            sigv4::Settings::default(),
        );
        // The URL's query, its pairs encoded once for the canonical query and the URL:
        // the pairs in their order, encoded as a form is.
        assert_eq!(p.encoded, sigv4::encode_query(&p.query));
        p.parts
    } else {
        sigv4::sign_headers(&request, &creds, scope, sigv4::Settings::default()).parts
    };
    (
        parts.canonical_request,
        parts.string_to_sign,
        parts.signature,
    )
}

#[test]
fn signatures_match_botocore() {
    let seed: u64 = std::env::var("SIGV4_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_CAFE_F00D_0001);
    let count: usize = std::env::var("SIGV4_DIFF_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    let mut rng = Rng(seed);
    let cases: Vec<Value> = (0..count).map(|i| gen_case(&mut rng, i)).collect();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("botocore-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("cases.json");
    std::fs::write(&input, serde_json::to_vec(&cases).unwrap()).unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/support/botocore_sign.py"
    );
    let out = Command::new("python3")
        .arg(script)
        .arg(&input)
        .output()
        .expect("python3 with botocore (pip install botocore)");
    assert!(
        out.status.success(),
        "botocore signer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(theirs.len(), cases.len());
    let (mut presigned, mut with_token, mut matched) = (0, 0, 0);
    for (case, reference) in cases.iter().zip(&theirs) {
        let (cr, sts, sig) = sign_ours(case);
        assert_eq!(
            cr, reference["canonical_request"],
            "canonical request differs (seed {seed:#x}) for case {case}"
        );
        assert_eq!(
            sts, reference["string_to_sign"],
            "string to sign differs for {case}"
        );
        assert_eq!(sig, reference["signature"], "signature differs for {case}");
        matched += 1;
        presigned += usize::from(case["mode"] == "query");
        with_token += usize::from(!case["token"].is_null());
    }
    std::fs::remove_dir_all(&dir).ok();
    assert!(matched >= 300, "only {matched} cases");
    assert!(
        presigned >= 100 && with_token >= 100,
        "{presigned} presigned, {with_token} with token"
    );
    eprintln!("{matched} signatures match botocore ({presigned} presigned, {with_token} with a session token)");
}
