//! Bad input and STS failures: each gets exit 1 (2 for the command line), nothing on
//! stdout and no secret on stderr. STS faults come from a small fault server.

use std::time::Duration;

use crate::common::fault::{FaultServer, Reply};
use crate::common::*;

const IRSA_ROLE: &str = "arn:aws:iam::111111111111:role/irsa";
const WIT: &str = "eyJhbGciOiJSUzI1NiJ9.web-identity-SECRET-claims.sig";
const IRSA_SECRET: &str = "irsaSECRETkey/abc+def";
const IRSA_TOKEN: &str = "IQoJb3JpZ2luX2VjEIRSASESSIONTOKEN";

fn irsa_ok() -> Reply {
    Reply::assumed(
        "AssumeRoleWithWebIdentity",
        "ASIAIRSAFAULT0000001",
        IRSA_SECRET,
        IRSA_TOKEN,
        &in_an_hour(),
    )
}

fn role_ok(secret: &str, token: &str) -> Reply {
    Reply::assumed(
        "AssumeRole",
        "ASIAROLEFAULT0000001",
        secret,
        token,
        &in_an_hour(),
    )
}

/// IRSA against the fault server.
fn env_for(server: &FaultServer) -> TestEnv {
    let mut env = TestEnv::new();
    env.irsa(IRSA_ROLE, WIT);
    env.set("AWS_ENDPOINT_URL_STS", &server.url)
        .set("AWS_REGION", "us-east-1");
    env
}

const SECRETS: &[&str] = &[WIT, IRSA_SECRET, IRSA_TOKEN];

#[test]
fn missing_cluster_name_is_a_usage_error() {
    let env = TestEnv::new();
    for args in [
        &["get-token"][..],
        &["eks", "get-token", "--role-arn", DEV_ROLE],
        &["token", "-r", DEV_ROLE],
    ] {
        let r = env.run(args);
        assert_failed(&r, 2, &[]);
        assert!(r.stderr.contains("--cluster-name"), "{}", r.stderr);
        assert_eq!(r.stderr.lines().count(), 1, "one line: {}", r.stderr);
    }
}

#[test]
fn unparseable_command_lines_exit_2() {
    let env = TestEnv::new();
    for args in [
        &["get-token", "--cluster-name", "dev", "--timeout", "abc"][..],
        &["get-token", "--cluster-name", "dev", "--no-such-flag"],
        &[
            "get-token",
            "--cluster-name",
            "dev",
            "--duration-seconds",
            "lots",
        ],
        &["frobnicate"],
    ] {
        assert_failed(&env.run(args), 2, &[]);
    }
}

#[test]
fn malformed_role_arn_fails_before_any_network_call() {
    let server = FaultServer::start(vec![], irsa_ok());
    let env = env_for(&server);
    for bad in [
        "testrole",
        "arn:aws:iam::22222222222:role/testrole",
        "arn:aws:iam::222222222222:user/testrole",
    ] {
        let r = env.run(&["get-token", "--cluster-name", "dev", "--role-arn", bad]);
        assert_failed(&r, 1, SECRETS);
        assert!(
            r.stderr.contains(bad) && r.stderr.contains("role ARN"),
            "{}",
            r.stderr
        );
    }
    let r = env.run(&[
        "get-token",
        "--cluster-name",
        "dev",
        "--duration-seconds",
        "600",
    ]);
    assert_failed(&r, 1, SECRETS);
    // Any id is signed (aws-cli and aws-iam-authenticator sign DNS names and more), but
    // not one that cannot travel in a header.
    let r = env.run(&["get-token", "--cluster-name", "bad\nname"]);
    assert_failed(&r, 1, SECRETS);
    assert!(r.stderr.contains("control character"), "{}", r.stderr);
    let r = env.run(&[
        "get-token",
        "--cluster-name",
        "dev",
        "--region",
        "Not/A/Region",
    ]);
    assert_failed(&r, 1, SECRETS);
    assert!(server.requests().is_empty(), "no STS call expected");
}

#[test]
fn web_identity_token_file_problems_name_the_file_never_its_content() {
    let server = FaultServer::start(vec![], irsa_ok());
    let mut env = env_for(&server);
    let missing = env.home.join("missing-token");
    let empty = env.home.join("empty-token");
    std::fs::write(&empty, "\n").unwrap();
    let dir = env.home.join("a-directory");
    std::fs::create_dir(&dir).unwrap();
    let binary = env.home.join("binary-token");
    std::fs::write(&binary, [0xff, 0xfe, b'S', b'E', b'C', b'R', b'E', b'T']).unwrap();
    for (path, why) in [
        (&missing, "No such file"),
        (&empty, "empty"),
        (&dir, "directory"),
        (&binary, "UTF-8"),
    ] {
        env.set("AWS_WEB_IDENTITY_TOKEN_FILE", path.display().to_string());
        let r = env.run(&["get-token", "--cluster-name", "dev", "--role-arn", DEV_ROLE]);
        assert_failed(&r, 1, &[WIT, "SECRET"]);
        assert!(
            r.stderr.contains(&path.display().to_string()),
            "{}",
            r.stderr
        );
        assert!(r.stderr.contains(why), "{why}: {}", r.stderr);
    }
    assert!(server.requests().is_empty());
}

#[test]
fn no_credentials_lists_where_it_looked() {
    let env = TestEnv::new();
    let r = env.run(&["get-token", "--cluster-name", "dev"]);
    assert_failed(&r, 1, &[]);
    for place in [
        "environment",
        "AWS_ACCESS_KEY_ID",
        "web identity",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ] {
        assert!(r.stderr.contains(place), "{place}: {}", r.stderr);
    }
    assert_eq!(r.stderr.lines().count(), 1);
}

#[test]
fn sts_access_denied_is_shown_and_not_retried() {
    let server = FaultServer::start(
        vec![
            irsa_ok(),
            Reply::sts_error(
                403,
                "AccessDenied",
                "User: arn:aws:sts::111111111111:assumed-role/irsa/eks-token is not authorized to perform: sts:AssumeRole",
            ),
        ],
        role_ok("unused", "unused"),
    );
    let env = env_for(&server);
    let r = env.run(&["get-token", "--cluster-name", "dev", "--role-arn", DEV_ROLE]);
    assert_failed(&r, 1, SECRETS);
    assert!(
        r.stderr.contains(&format!(
            "AssumeRole {DEV_ROLE} failed: AccessDenied: User: arn:aws:sts::111111111111"
        )),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("(request id req-AccessDenied)"),
        "{}",
        r.stderr
    );
    let actions: Vec<_> = server
        .requests()
        .iter()
        .filter_map(|q| q.action())
        .collect();
    assert_eq!(actions, ["AssumeRoleWithWebIdentity", "AssumeRole"]);
    // The AssumeRole call was signed with the IRSA session; the web identity call was not.
    let reqs = server.requests();
    assert!(reqs[0].header("authorization").is_none());
    assert!(reqs[1]
        .header("authorization")
        .unwrap()
        .starts_with("AWS4-HMAC-SHA256 Credential=ASIAIRSAFAULT0000001/"));
    assert_eq!(reqs[1].header("x-amz-security-token"), Some(IRSA_TOKEN));
}

#[test]
fn invalid_identity_token_is_shown_and_not_retried() {
    let server = FaultServer::start(
        vec![],
        Reply::sts_error(400, "InvalidIdentityToken", "Incorrect token audience"),
    );
    let env = env_for(&server);
    let r = env.run(&["get-token", "--cluster-name", "dev"]);
    assert_failed(&r, 1, SECRETS);
    assert!(
        r.stderr.contains(&format!(
            "AssumeRoleWithWebIdentity {IRSA_ROLE} failed: InvalidIdentityToken: Incorrect token audience (request id req-InvalidIdentityToken)"
        )),
        "{}",
        r.stderr
    );
    assert_eq!(server.requests().len(), 1);
    // The token went in the form body, URL-encoded.
    assert!(server.requests()[0]
        .body
        .contains("WebIdentityToken=eyJhbGciOiJSUzI1NiJ9.web-identity-SECRET-claims.sig"));
}

#[test]
fn malformed_or_truncated_xml_is_an_error_not_a_token() {
    let good = match role_ok("s3cr3t", "t0k3n") {
        Reply::Http { body, .. } => String::from_utf8(body).unwrap(),
        _ => unreachable!(),
    };
    let truncated = good[..good.len() / 2].to_owned();
    let cut_between_tags = good[..good.find("</Credentials>").unwrap()].to_owned();
    let no_token = good.replace("<SessionToken>t0k3n</SessionToken>", "");
    let bad_expiry = good.replace(&in_an_hour()[..4], "never");
    for (body, what) in [
        (truncated.as_str(), "malformed"),
        (cut_between_tags.as_str(), "ends inside"),
        ("<html><body>200 OK from a proxy</body>", "malformed"),
        ("not xml at all", "malformed"),
        (no_token.as_str(), "SessionToken"),
        (bad_expiry.as_str(), "Expiration"),
    ] {
        let server = FaultServer::start(vec![irsa_ok(), Reply::xml(200, body)], Reply::Reset);
        let env = env_for(&server);
        let r = env.run(&["get-token", "--cluster-name", "dev", "--role-arn", DEV_ROLE]);
        assert_failed(&r, 1, &[WIT, IRSA_SECRET, IRSA_TOKEN, "s3cr3t", "t0k3n"]);
        assert!(r.stderr.contains(what), "{what}: {}", r.stderr);
        assert!(
            r.stderr.contains(&format!("AssumeRole {DEV_ROLE} failed")),
            "{}",
            r.stderr
        );
        assert_eq!(server.requests().len(), 2, "a malformed 200 is not retried");
    }
}

#[test]
fn sts_unreachable_fails_after_bounded_retries() {
    let mut env = TestEnv::new();
    env.irsa(IRSA_ROLE, WIT);
    let port = closed_port();
    env.set("AWS_ENDPOINT_URL_STS", format!("http://127.0.0.1:{port}"));
    let r = env.run(&["get-token", "--cluster-name", "dev"]);
    assert_failed(&r, 1, SECRETS);
    assert!(
        r.stderr.contains("AssumeRoleWithWebIdentity"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!("127.0.0.1:{port}")),
        "{}",
        r.stderr
    );
    assert!(r.elapsed < Duration::from_secs(10), "{:?}", r.elapsed);
}

#[test]
fn throttling_twice_then_success_produces_a_token() {
    let server = FaultServer::start(
        vec![
            irsa_ok(),
            Reply::sts_error(400, "Throttling", "Rate exceeded"),
            Reply::sts_error(400, "Throttling", "Rate exceeded"),
            role_ok("final/secret", "final-token"),
        ],
        Reply::Reset,
    );
    let env = env_for(&server);
    let r = env.run(&[
        "get-token",
        "--cluster-name",
        "dev",
        "--role-arn",
        DEV_ROLE,
        "-v",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = verify(
        &token_of(&r.stdout),
        "dev",
        None,
        &[("ASIAROLEFAULT0000001", "final/secret")],
    );
    // The fault server is the loopback STS: allow its host as the verifier does moto's.
    assert!(
        v["errors"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e.as_str().unwrap().starts_with("host:")
                || e.as_str().unwrap().starts_with("scheme:")),
        "{v}"
    );
    let actions: Vec<_> = server
        .requests()
        .iter()
        .filter_map(|q| q.action())
        .collect();
    assert_eq!(
        actions,
        [
            "AssumeRoleWithWebIdentity",
            "AssumeRole",
            "AssumeRole",
            "AssumeRole"
        ]
    );
    assert!(r.stderr.contains("retrying"), "{}", r.stderr);
}

#[test]
fn server_errors_are_retried_and_other_4xx_are_not() {
    let server = FaultServer::start(
        vec![
            Reply::xml(503, "<html>Service Unavailable</html>"),
            irsa_ok(),
            Reply::sts_error(400, "MalformedPolicyDocument", "bad policy"),
        ],
        role_ok("x", "y"),
    );
    let env = env_for(&server);
    let r = env.run(&["get-token", "--cluster-name", "dev", "--role-arn", DEV_ROLE]);
    assert_failed(&r, 1, SECRETS);
    assert!(
        r.stderr.contains("MalformedPolicyDocument: bad policy"),
        "{}",
        r.stderr
    );
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn persistent_proxy_errors_fail_with_a_clear_message() {
    let server = FaultServer::start(
        vec![],
        Reply::Http {
            status: 502,
            headers: vec![("Content-Type".into(), "text/html".into())],
            body: b"<html><body>Bad Gateway</body></html>".to_vec(),
        },
    );
    let env = env_for(&server);
    let r = env.run(&["get-token", "--cluster-name", "dev"]);
    assert_failed(&r, 1, SECRETS);
    assert!(
        r.stderr.contains("HTTP 502") && r.stderr.contains("not an STS error"),
        "{}",
        r.stderr
    );
    assert_eq!(server.requests().len(), 3, "3 attempts in all");
}

#[test]
fn chained_duration_over_an_hour_gets_a_hint() {
    let server = FaultServer::start(
        vec![
            irsa_ok(),
            Reply::sts_error(
                400,
                "ValidationError",
                "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
            ),
        ],
        Reply::Reset,
    );
    let env = env_for(&server);
    let r = env.run(&[
        "get-token",
        "--cluster-name",
        "dev",
        "--role-arn",
        DEV_ROLE,
        "--duration-seconds",
        "7200",
    ]);
    assert_failed(&r, 1, SECRETS);
    assert!(
        r.stderr.contains("ValidationError") && r.stderr.contains("--duration-seconds 3600"),
        "{}",
        r.stderr
    );
    assert!(server.requests()[1].body.contains("DurationSeconds=7200"));
}

#[test]
fn oversized_token_gets_a_warning() {
    let huge = "A".repeat(4000);
    let server = FaultServer::start(vec![irsa_ok(), role_ok("s", &huge)], Reply::Reset);
    let env = env_for(&server);
    let r = env.run(&["get-token", "--cluster-name", "dev", "--role-arn", DEV_ROLE]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(token_of(&r.stdout).len() > 4096);
    assert!(
        r.stderr.contains("4096") && r.stderr.contains("EKS rejects"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains(&huge));
}

#[test]
fn timeout_bounds_a_hanging_sts() {
    let server = FaultServer::start(vec![], Reply::Hang);
    let env = env_for(&server);
    let r = env.run(&["get-token", "--cluster-name", "dev", "--timeout", "2s"]);
    assert_failed(&r, 1, SECRETS);
    assert!(r.elapsed < Duration::from_secs(4), "{:?}", r.elapsed);
    assert!(
        r.stderr.contains("timed out") || r.stderr.contains("deadline"),
        "{}",
        r.stderr
    );
}

#[test]
fn http_proxy_is_used_and_no_proxy_bypasses_it() {
    // The "proxy" is the fault server: it answers the proxied request itself.
    let proxy = FaultServer::start(vec![], irsa_ok());
    let target_port = closed_port();
    let target = format!("http://127.0.0.2:{target_port}");
    let mut env = TestEnv::new();
    env.irsa(IRSA_ROLE, WIT);
    env.set("AWS_ENDPOINT_URL_STS", &target)
        .set("HTTP_PROXY", &proxy.url)
        .set("HTTPS_PROXY", "http://127.0.0.1:9");
    let r = env.run(&["get-token", "--cluster-name", "dev"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let reqs = proxy.requests();
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    assert_eq!(reqs[0].method, "CONNECT");
    assert_eq!(reqs[0].path, format!("127.0.0.2:{target_port}"));
    assert_eq!(
        reqs[1].action().as_deref(),
        Some("AssumeRoleWithWebIdentity")
    );
    env.set("NO_PROXY", "localhost,127.0.0.2");
    let r = env.run(&[
        "get-token",
        "--cluster-name",
        "dev",
        "--timeout",
        "3",
        "--no-cache",
    ]);
    assert_failed(&r, 1, SECRETS);
    assert_eq!(
        proxy.requests().len(),
        2,
        "NO_PROXY host must bypass the proxy"
    );
}

/// IRSA, then `throttles` throttled AssumeRole answers, then a good one; returns the
/// exit code and how many AssumeRole calls were made.
fn assume_role_attempts(throttles: usize, setup: impl FnOnce(&mut TestEnv)) -> (i32, usize) {
    let mut script = vec![irsa_ok()];
    script.extend(std::iter::repeat_n(Reply::throttled(10), throttles));
    script.push(role_ok("final/secret", "final-token"));
    let server = FaultServer::start(script, Reply::Reset);
    let mut env = env_for(&server);
    setup(&mut env);
    let r = env.run(&["get-token", "--cluster-name", "dev", "--role-arn", DEV_ROLE]);
    if r.code != 0 {
        assert_failed(&r, 1, SECRETS);
        assert!(r.stderr.contains("Throttling"), "{}", r.stderr);
    }
    let calls = server
        .requests()
        .iter()
        .filter(|q| q.action().as_deref() == Some("AssumeRole"))
        .count();
    (r.code, calls)
}

#[test]
fn max_attempts_and_retry_mode_bound_the_retries_as_in_botocore() {
    // The standard mode's default: 3 attempts.
    assert_eq!(assume_role_attempts(2, |_| {}), (0, 3));
    assert_eq!(assume_role_attempts(3, |_| {}), (1, 3));
    // AWS_MAX_ATTEMPTS counts every attempt, the first included.
    assert_eq!(
        assume_role_attempts(4, |e| {
            e.set("AWS_MAX_ATTEMPTS", "5");
        }),
        (0, 5)
    );
    assert_eq!(
        assume_role_attempts(1, |e| {
            e.set("AWS_MAX_ATTEMPTS", "1");
        }),
        (1, 1)
    );
    // The profile's max_attempts, below the environment variable.
    let config = |body: &'static str| {
        move |e: &mut TestEnv| {
            let path = e.home.join("config");
            std::fs::write(&path, body).unwrap();
            e.set("AWS_CONFIG_FILE", path.display().to_string());
        }
    };
    assert_eq!(
        assume_role_attempts(2, config("[default]\nmax_attempts = 2\n")),
        (1, 2)
    );
    assert_eq!(
        assume_role_attempts(2, |e| {
            config("[default]\nmax_attempts = 2\n")(e);
            e.set("AWS_MAX_ATTEMPTS", "3");
        }),
        (0, 3)
    );
    // botocore's legacy mode makes 5 attempts; adaptive is standard's count.
    assert_eq!(
        assume_role_attempts(4, config("[default]\nretry_mode = legacy\n")),
        (0, 5)
    );
    assert_eq!(
        assume_role_attempts(3, |e| {
            e.set("AWS_RETRY_MODE", "adaptive");
        }),
        (1, 3)
    );
}

#[test]
fn invalid_retry_settings_are_refused_before_any_request() {
    for (var, value, named) in [
        ("AWS_MAX_ATTEMPTS", "0", "AWS_MAX_ATTEMPTS"),
        ("AWS_MAX_ATTEMPTS", "abc", "AWS_MAX_ATTEMPTS"),
        ("AWS_RETRY_MODE", "fast", "AWS_RETRY_MODE"),
    ] {
        let server = FaultServer::start(vec![], irsa_ok());
        let mut env = env_for(&server);
        env.set(var, value);
        let r = env.run(&["get-token", "--cluster-name", "dev"]);
        assert_failed(&r, 1, SECRETS);
        assert!(
            r.stderr.contains(named) && r.stderr.contains(&format!("{value:?}")),
            "{}",
            r.stderr
        );
        assert!(server.requests().is_empty(), "{var}={value}");
    }
    let server = FaultServer::start(vec![], irsa_ok());
    let mut env = env_for(&server);
    let path = env.home.join("config");
    std::fs::write(&path, "[profile dev]\nmax_attempts = -1\n").unwrap();
    env.set("AWS_CONFIG_FILE", path.display().to_string())
        .set("AWS_PROFILE", "dev");
    let r = env.run(&["get-token", "--cluster-name", "dev"]);
    assert_failed(&r, 1, SECRETS);
    assert!(
        r.stderr.contains("max_attempts of profile `dev`"),
        "{}",
        r.stderr
    );
    assert!(server.requests().is_empty());
}

/// A listener whose accept queue is full: a further connect is never answered (its
/// SYN is dropped), as with a firewalled host, while traffic stays on loopback.
fn unanswered_port() -> (std::net::TcpListener, Vec<std::net::TcpStream>, u16) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // The backlog is 128: fill it (and the SYN queue behind it) without accepting.
    let mut held = Vec::new();
    for _ in 0..200 {
        match std::net::TcpStream::connect_timeout(
            &format!("127.0.0.1:{port}").parse().unwrap(),
            Duration::from_millis(200),
        ) {
            Ok(s) => held.push(s),
            Err(_) => break,
        }
    }
    (listener, held, port)
}

#[test]
fn cli_connect_timeout_bounds_each_connect() {
    let (_listener, held, port) = unanswered_port();
    assert!(held.len() < 200, "the accept queue never filled");
    let mut env = TestEnv::new();
    env.irsa(IRSA_ROLE, WIT);
    env.set("AWS_ENDPOINT_URL_STS", format!("http://127.0.0.1:{port}"))
        .set("AWS_REGION", "us-east-1")
        .set("AWS_MAX_ATTEMPTS", "1");
    let args = ["get-token", "--cluster-name", "dev", "--timeout", "20"];
    // The default: a connect may take 5 s.
    let r = env.run(&args);
    assert_failed(&r, 1, SECRETS);
    assert!(r.elapsed >= Duration::from_secs(4), "{:?}", r.elapsed);
    // aws-cli's --cli-connect-timeout, in both dialects.
    let r = env.run(&[&args[..], &["--cli-connect-timeout", "1"]].concat());
    assert_failed(&r, 1, SECRETS);
    assert!(r.stderr.contains("timed out"), "{}", r.stderr);
    assert!(
        r.elapsed >= Duration::from_millis(900) && r.elapsed < Duration::from_secs(3),
        "{:?}",
        r.elapsed
    );
    let aws = TempDir::new("aws-dialect");
    let link = aws.join("aws");
    std::os::unix::fs::symlink(bin(), &link).unwrap();
    let out = env
        .command(
            &link,
            &[
                "eks",
                "get-token",
                "--cluster-name",
                "dev",
                "--cli-connect-timeout",
                "1",
                "--cli-read-timeout",
                "20",
            ],
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("timed out"), "{stderr}");
    // 0 is aws-cli's "no limit of its own": the run's deadline ends it.
    let r = env.run(&[
        "get-token",
        "--cluster-name",
        "dev",
        "--timeout",
        "2",
        "--cli-connect-timeout",
        "0",
    ]);
    assert_failed(&r, 1, SECRETS);
    assert!(
        r.elapsed >= Duration::from_millis(1500) && r.elapsed < Duration::from_secs(4),
        "{:?}",
        r.elapsed
    );
    drop(held);
}

/// A token that cannot reach stdout (a full device) is an error, exit 1. (A closed
/// stdout cannot be told from `>/dev/null`: Rust's runtime opens /dev/null on a closed
/// descriptor 0, 1 or 2 before main.)
#[test]
fn a_token_that_cannot_be_written_to_stdout_is_an_error() {
    let mut env = TestEnv::new();
    env.static_creds("AKIASTDOUT0000000001", "stdout/secret")
        .set("AWS_REGION", "us-east-1");
    let program = bin();
    let script = "exec \"$0\" get-token --cluster-name dev >/dev/full";
    let mut c = env.command(
        std::path::Path::new("/bin/sh"),
        &["-c", script, program.to_str().unwrap()],
    );
    c.stdin(std::process::Stdio::null());
    let r = run_killed_after(c, RUN_LIMIT);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("cannot write to stdout"), "{}", r.stderr);
    assert!(!r.stderr.contains("stdout/secret"), "{}", r.stderr);
}
