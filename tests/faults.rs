//! Every fault of the fault server, for `get-token` and `write-token`, each run with -v:
//! retryable faults succeed once they clear, persistent ones fail clearly within the
//! deadline, none produces a token or a file, and no secret reaches stdout or stderr.

use std::time::Duration;

use crate::common::fault::{FaultServer, Reply};
use crate::common::*;

const ROLE_SECRET: &str = "role/SECRET/key+abc";
const ROLE_TOKEN: &str = "IQoJroleSESSIONtoken";
const STATIC_SECRET: &str = "static/SECRET/key";

fn role_ok() -> Reply {
    Reply::assumed(
        "AssumeRole",
        "ASIAFAULTROLE0000001",
        ROLE_SECRET,
        ROLE_TOKEN,
        &in_an_hour(),
    )
}

fn good_body() -> String {
    match role_ok() {
        Reply::Http { body, .. } => String::from_utf8(body).unwrap(),
        _ => unreachable!(),
    }
}

/// Static keys, then one AssumeRole against the fault server (no cache: every run
/// talks to STS).
fn env_for(server: &FaultServer) -> TestEnv {
    let mut env = TestEnv::new();
    env.static_creds("AKIAFAULTSTATIC00001", STATIC_SECRET)
        .set("AWS_ENDPOINT_URL_STS", &server.url)
        .set("AWS_REGION", "us-east-1");
    env
}

const SECRETS: &[&str] = &[ROLE_SECRET, ROLE_TOKEN, STATIC_SECRET];

/// stdout holds the token and nothing else secret; stderr no secret at all.
fn assert_no_secret_leak(r: &Run) {
    for s in SECRETS {
        assert!(!r.stderr.contains(s), "secret in stderr: {}", r.stderr);
        assert!(!r.stdout.contains(s), "secret in stdout: {}", r.stdout);
    }
}

fn get_token(env: &TestEnv, timeout: &str) -> Run {
    let r = env.run(&[
        "get-token",
        "--cluster-name",
        "dev",
        "--role-arn",
        DEV_ROLE,
        "--no-cache",
        "-v",
        "--timeout",
        timeout,
    ]);
    assert_no_secret_leak(&r);
    r
}

fn write_token(env: &TestEnv, timeout: &str) -> (Run, std::path::PathBuf) {
    let out = env.home.join("out/token");
    let r = env.run(&[
        "write-token",
        "--cluster-name",
        "dev",
        "--role-arn",
        DEV_ROLE,
        "--no-cache",
        "-v",
        "--timeout",
        timeout,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_no_secret_leak(&r);
    (r, out)
}

/// A fault that clears: the run succeeds within 3 attempts.
fn clears(fault: Reply, attempts_before_ok: usize) {
    let server = FaultServer::start(vec![fault; attempts_before_ok], role_ok());
    let env = env_for(&server);
    let r = get_token(&env, "10");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(token_of(&r.stdout).starts_with("k8s-aws-v1."));
    assert_eq!(server.requests().len(), attempts_before_ok + 1);
}

/// A fault that persists: exit 1, a message containing `needle`, within the deadline,
/// and neither a token nor a file.
fn persists(fault: Reply, needle: &str, timeout: &str, max: Duration) {
    let server = FaultServer::start(vec![], fault);
    let env = env_for(&server);
    let r = get_token(&env, timeout);
    assert_failed(&r, 1, SECRETS);
    assert!(r.stderr.contains(needle), "{needle:?} not in {}", r.stderr);
    assert!(r.elapsed < max, "took {:?}", r.elapsed);
    let (w, out) = write_token(&env, timeout);
    assert_eq!(w.code, 1, "{}", w.stderr);
    assert!(!out.exists(), "a fault must not produce a file");
}

fn http(status: u16, body: &str) -> Reply {
    Reply::Http {
        status,
        headers: vec![("Content-Type".into(), "text/html".into())],
        body: body.as_bytes().to_vec(),
    }
}

#[test]
fn throttling_clears_and_persists() {
    clears(Reply::sts_error(400, "Throttling", "Rate exceeded"), 2);
    persists(
        Reply::sts_error(400, "Throttling", "Rate exceeded"),
        "Throttling: Rate exceeded",
        "10",
        Duration::from_secs(8),
    );
}

#[test]
fn server_errors_clear_and_persist() {
    for status in [500, 502, 503, 504] {
        clears(http(status, "<html>oops</html>"), 1);
    }
    persists(
        http(503, "<html>down</html>"),
        "HTTP 503",
        "10",
        Duration::from_secs(8),
    );
}

#[test]
fn connection_reset_clears_and_persists() {
    clears(Reply::Reset, 2);
    persists(Reply::Reset, "AssumeRole", "10", Duration::from_secs(8));
}

#[test]
fn a_server_that_never_answers_is_bounded_by_the_deadline() {
    // Clears: the first attempt may use half of the deadline, the retry succeeds.
    let server = FaultServer::start(vec![Reply::Hang], role_ok());
    let env = env_for(&server);
    let r = get_token(&env, "6");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.elapsed < Duration::from_secs(6), "{:?}", r.elapsed);
    persists(Reply::Hang, "AssumeRole", "5", Duration::from_secs(6));
}

#[test]
fn a_trickling_body_is_bounded_by_the_deadline() {
    let trickle = Reply::Trickle {
        reply: Box::new(role_ok()),
        interval: Duration::from_secs(1),
    };
    persists(trickle, "AssumeRole", "5", Duration::from_secs(6));
}

#[test]
fn malformed_answers_are_errors_not_tokens() {
    let good = good_body();
    let huge = format!(
        "<AssumeRoleResponse>{}</AssumeRoleResponse>",
        "A".repeat(10 << 20)
    );
    for (body, needle) in [
        (good[..good.len() / 2].to_owned(), "malformed"),
        (
            good.replace(&format!("<SessionToken>{ROLE_TOKEN}</SessionToken>"), ""),
            "no Credentials/SessionToken",
        ),
        (good.replace(&in_an_hour()[..4], "tomorrow"), "Expiration"),
        (huge, "larger than 1024 KiB"),
    ] {
        persists(Reply::xml(200, body), needle, "10", Duration::from_secs(8));
    }
    let mut bad_utf8 = good.into_bytes();
    bad_utf8.splice(10..10, [0xff, 0xfe, 0xfd]);
    persists(
        Reply::Http {
            status: 200,
            headers: vec![],
            body: bad_utf8,
        },
        "not UTF-8",
        "10",
        Duration::from_secs(8),
    );
    persists(
        http(502, "<html><body><h1>502 Bad Gateway</h1></body></html>"),
        "not an STS error document",
        "10",
        Duration::from_secs(8),
    );
}

#[test]
fn a_server_clock_20_minutes_ahead_is_corrected_once() {
    let server = FaultServer::start(
        vec![],
        Reply::Skewed {
            ahead_secs: 20 * 60,
            ok: Box::new(role_ok()),
        },
    );
    let env = env_for(&server);
    let r = get_token(&env, "10");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("clock skew") && r.stderr.contains("re-signing"),
        "{}",
        r.stderr
    );
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2, "one re-sign");
    // The token is signed on the server's clock, so STS (and EKS) accept it...
    let url = eks_token::verify::decode(&token_of(&r.stdout)).unwrap();
    let date = url.split("X-Amz-Date=").nth(1).unwrap()[..16].to_owned();
    let signed = time::PrimitiveDateTime::parse(
        &date,
        time::macros::format_description!("[year][month][day]T[hour][minute][second]Z"),
    )
    .unwrap()
    .assume_utc();
    let server_now = time::OffsetDateTime::now_utc() + time::Duration::minutes(20);
    assert!(
        (signed - server_now).abs() < time::Duration::minutes(1),
        "{signed} vs {server_now}"
    );
    // ...and its expiry is in our own clock, which kubectl compares it with.
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    let exp = parse_rfc3339(v["status"]["expirationTimestamp"].as_str().unwrap()).unwrap();
    let left = exp - time::OffsetDateTime::now_utc();
    assert!(
        left > time::Duration::minutes(13) && left <= time::Duration::minutes(14),
        "{left}"
    );
}

/// `5m 3s`, `1h 2m` or `40s` (how `-v` writes a duration) in seconds.
fn seconds_of(human: &str) -> i64 {
    human
        .split_whitespace()
        .map(|part| {
            let (n, unit) = part.split_at(part.len() - 1);
            let n: i64 = n
                .parse()
                .unwrap_or_else(|_| panic!("not a duration: {human}"));
            n * match unit {
                "h" => 3600,
                "m" => 60,
                _ => 1,
            }
        })
        .sum()
}

/// The credential cache entries of `env` (JSON).
fn cache_entries(env: &TestEnv) -> Vec<serde_json::Value> {
    std::fs::read_dir(env.home.join(".cache/eks-token"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect()
}

/// STS (moto behind a front on another clock) 20 minutes ahead of this machine, then 20
/// minutes behind, and EKS on the same clock as STS (the verifying server with
/// `--clock-offset`): the cold run learns the skew and signs on STS's clock, the cache
/// entry records it, and the warm run (a cache hit, no STS call) adopts it: both tokens
/// are accepted, and the cached session's validity is judged on STS's clock.
#[test]
fn cold_and_warm_tokens_are_signed_on_the_servers_clock() {
    for (ahead, role) in [
        (20 * 60, "arn:aws:iam::222222222222:role/skew-ahead"),
        (-20 * 60, "arn:aws:iam::222222222222:role/skew-behind"),
    ] {
        let front = crate::common::fault::SkewedFront::start(moto().port, ahead);
        let eks = Verifier::builder("dev", &front.url)
            .clock_offset(ahead)
            .start();
        let mut env = TestEnv::new();
        env.static_creds("AKIASKEWEDBASE000001", STATIC_SECRET)
            .set("AWS_ENDPOINT_URL_STS", &front.url)
            .set("AWS_REGION", "us-east-1");
        let args = [
            "get-token",
            "--cluster-name",
            "dev",
            "--role-arn",
            role,
            "-v",
        ];
        let cold = env.run(&args);
        assert_eq!(cold.code, 0, "{ahead}: {}", cold.stderr);
        assert!(cold.stderr.contains("clock skew"), "{}", cold.stderr);
        let sessions = moto().sessions().len();
        let warm = env.run(&args);
        assert_eq!(warm.code, 0, "{ahead}: {}", warm.stderr);
        assert_eq!(moto().sessions().len(), sessions, "the warm run asked STS");
        for (run, r) in [("cold", &cold), ("warm", &warm)] {
            let user = eks.whoami(&token_of(&r.stdout));
            let verdict = eks.verdicts().pop().unwrap();
            assert!(
                user.is_ok() && verdict["ok"] == true,
                "STS {ahead:+} s off our clock, {run} run: EKS refused the token: {verdict}"
            );
        }
        // The skew is the cached session's, and the warm run says it adopted it.
        let entries = cache_entries(&env);
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert!(
            entries[0]["skew_seconds"]
                .as_i64()
                .is_some_and(|s| (s - ahead).abs() < 30),
            "{ahead}: the cache entry records no skew: {}",
            entries[0]
        );
        assert!(
            warm.stderr.contains("as the cached session recorded it"),
            "{ahead}: {}",
            warm.stderr
        );
        // The session was issued for an hour of STS's clock: that is what is left.
        let valid = warm
            .stderr
            .split("cache hit: ")
            .nth(1)
            .and_then(|l| l.split("(valid ").nth(1))
            .and_then(|l| l.split(" more)").next())
            .unwrap_or_else(|| panic!("no cache hit: {}", warm.stderr));
        let left = seconds_of(valid);
        assert!(
            (55 * 60..=60 * 60).contains(&left),
            "{ahead}: valid {valid}"
        );
    }
}
