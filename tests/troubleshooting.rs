//! When something is wrong, the message says what and where: the cluster name offline
//! `verify` cannot check, FIPS without a region, a proxy that refuses, a path through a
//! file; container credentials never go through a proxy; `write-token --check` is a
//! probe, and every `write-token` log line is JSON.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::fault::{FaultServer, Reply};
use crate::common::*;

fn env_keys() -> TestEnv {
    let mut env = TestEnv::new();
    env.static_creds("AKIATROUBLE000000001", "trouble/secret")
        .set("AWS_REGION", "us-east-1");
    env
}

#[test]
fn offline_verify_says_the_cluster_name_is_not_checked() {
    let env = env_keys();
    let token = token_of(
        &env.run(&["get-token", "--cluster-name", "dev", "-o", "token"])
            .stdout,
    );
    for args in [
        vec!["verify", "--cluster-name", "deev", &token],
        vec!["verify", &token],
    ] {
        let r = env.run(&args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let line = r
            .stdout
            .lines()
            .find(|l| l.starts_with("cluster name"))
            .unwrap_or_else(|| panic!("no cluster name line: {}", r.stdout));
        assert!(
            line.ends_with("not checked offline (only --online checks it)"),
            "{line}"
        );
        let verdict = r.stdout.lines().position(|l| l.starts_with("verdict"));
        let cluster = r.stdout.lines().position(|l| l.starts_with("cluster name"));
        assert!(cluster < verdict, "{}", r.stdout);
    }
}

#[test]
fn fips_without_a_region_fails_before_any_request() {
    let sts = FaultServer::start(vec![], Reply::Reset);
    // Environment keys: the token is presigned locally, so nothing would be sent anyway;
    // the run must still refuse, naming the settings.
    let mut env = env_keys();
    env.unset("AWS_REGION").set("AWS_USE_FIPS_ENDPOINT", "true");
    let r = env.run(&["get-token", "--cluster-name", "dev", "-v"]);
    assert_failed(&r, 1, &["trouble/secret"]);
    let last = r.stderr.lines().last().unwrap();
    assert!(
        last.contains("AWS_USE_FIPS_ENDPOINT") && last.contains("AWS_REGION"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("aws-cli would presign for sts-fips.aws-global.amazonaws.com"),
        "the -v line says what aws-cli does: {}",
        r.stderr
    );
    // IRSA: no AssumeRoleWithWebIdentity is sent either.
    let mut env = TestEnv::new();
    env.irsa(
        "arn:aws:iam::111111111111:role/fips",
        &web_identity_token("fips"),
    );
    env.set("AWS_USE_FIPS_ENDPOINT", "true")
        .set("HTTPS_PROXY", &sts.url);
    let r = env.run(&["get-token", "--cluster-name", "dev", "--no-cache"]);
    assert_failed(&r, 1, &[]);
    assert!(r.stderr.contains("FIPS"), "{}", r.stderr);
    assert!(sts.requests().is_empty(), "{:?}", sts.requests());
}

#[test]
fn a_proxy_that_refuses_or_cannot_reach_sts_is_named() {
    let mut env = TestEnv::new();
    env.irsa(
        "arn:aws:iam::111111111111:role/proxied",
        &web_identity_token("proxied"),
    );
    let port = closed_port();
    // The real STS host; the proxy (a closed loopback port) is all that is asked.
    env.set("AWS_REGION", "us-east-1")
        .set("HTTPS_PROXY", format!("http://user:pa55@127.0.0.1:{port}"))
        .set("AWS_MAX_ATTEMPTS", "1");
    let r = env.run(&["get-token", "--cluster-name", "dev", "--no-cache"]);
    assert_failed(&r, 1, &["pa55"]);
    assert!(
        r.stderr.contains(&format!(
            "cannot connect to the proxy http://127.0.0.1:{port} (HTTPS_PROXY)"
        )),
        "{}",
        r.stderr
    );
    // A proxy that answers CONNECT with 502: the endpoint behind it failed.
    let proxy = bad_gateway_proxy();
    env.set("HTTPS_PROXY", format!("http://127.0.0.1:{proxy}"));
    let r = env.run(&["get-token", "--cluster-name", "dev", "--no-cache"]);
    assert_failed(&r, 1, &[]);
    assert!(
        r.stderr.contains(&format!(
            "the proxy http://127.0.0.1:{proxy} (HTTPS_PROXY) could not reach sts.us-east-1.amazonaws.com:443"
        )),
        "{}",
        r.stderr
    );
    // A proxy that wants credentials: said once, not retried.
    let proxy = refusing_proxy("407 Proxy Authentication Required");
    env.set("HTTPS_PROXY", format!("http://127.0.0.1:{proxy}"))
        .set("AWS_MAX_ATTEMPTS", "3");
    let r = env.run(&["get-token", "--cluster-name", "dev", "--no-cache"]);
    assert_failed(&r, 1, &[]);
    assert!(
        r.stderr.contains("asks for credentials (407"),
        "{}",
        r.stderr
    );
    // Credentials already in the proxy URL: the proxy refused those (not "write them
    // into the proxy URL"), in get-token's line and in doctor's step.
    env.set(
        "HTTPS_PROXY",
        format!("http://alice:pa55@127.0.0.1:{proxy}"),
    );
    let r = env.run(&["get-token", "--cluster-name", "dev", "--no-cache"]);
    assert_failed(&r, 1, &["pa55"]);
    let refused = format!(
        "the proxy http://127.0.0.1:{proxy} (HTTPS_PROXY) refused the credentials in its URL \
         (407 Proxy Authentication Required): check the user and password written there"
    );
    assert!(r.stderr.contains(&refused), "{}", r.stderr);
    let r = env.run(&["doctor", "--cluster-name", "dev", "-o", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let detail = doc["steps"][0]["detail"].as_str().unwrap();
    assert!(detail.contains(&refused), "{doc}");
    assert!(!r.stdout.contains("pa55") && !r.stdout.contains("write them into"));
}

/// A proxy that answers every CONNECT with 502 Bad Gateway (the fault no real proxy
/// gives on demand); its port.
fn bad_gateway_proxy() -> u16 {
    refusing_proxy("502 Bad Gateway")
}

/// A proxy that answers every CONNECT with `status`; its port.
fn refusing_proxy(status: &'static str) -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let mut reader = BufReader::new(conn);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let _ = reader
                .get_mut()
                .write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes());
        }
    });
    port
}

#[test]
fn container_credentials_never_go_through_a_proxy() {
    let agent = FaultServer::start(
        vec![],
        Reply::Http {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: json!({
                "AccessKeyId": "ASIACONTAINERPROXY01",
                "SecretAccessKey": "container/secret",
                "Token": "container-session-token",
                "Expiration": in_an_hour(),
            })
            .to_string()
            .into_bytes(),
        },
    );
    let mut env = TestEnv::new();
    let refusing = format!("http://127.0.0.1:{}", closed_port());
    env.set(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        format!("{}/v1/credentials", agent.url),
    )
    .set("AWS_CONTAINER_AUTHORIZATION_TOKEN", "pod-identity-jwt")
    .set("HTTP_PROXY", &refusing)
    .set("HTTPS_PROXY", &refusing)
    .set("ALL_PROXY", &refusing)
    .set("AWS_REGION", "us-east-1");
    let r = env.run(&["get-token", "--cluster-name", "dev"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = verify(
        &token_of(&r.stdout),
        "dev",
        None,
        &[("ASIACONTAINERPROXY01", "container/secret")],
    );
    assert_verifies(&v);
    assert_eq!(agent.requests()[0].method, "GET", "asked directly");
}

#[test]
fn a_file_where_a_directory_should_be_is_named() {
    let env = env_keys();
    let file = env.home.join("a");
    std::fs::write(&file, "").unwrap();
    let out = file.join("b/token");
    let r = env.run(&[
        "write-token",
        "--cluster-name",
        "dev",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_failed(&r, 1, &["trouble/secret"]);
    let line: Value = serde_json::from_str(r.stderr.trim()).expect("a JSON line");
    let error = line["error"].as_str().unwrap();
    assert!(
        error.contains(&format!(
            "{} is a regular file, not a directory",
            file.display()
        )),
        "{error}"
    );
}

fn json_lines(stderr: &str) -> Vec<Value> {
    stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not a JSON line: {l:?}")))
        .collect()
}

#[test]
fn write_token_check_is_a_probe_of_the_file() {
    let env = env_keys();
    let dir = env.home.join("run/eks");
    let bare = dir.join("token");
    let exec = dir.join("exec.json");
    let check = |path: &std::path::Path, extra: &[&str]| {
        let mut args = vec!["write-token", "--check", "--out", path.to_str().unwrap()];
        args.extend(extra);
        let r = env.run(&args);
        assert!(r.stdout.is_empty(), "{}", r.stdout);
        json_lines(&r.stderr);
        r
    };
    for (path, output) in [(&bare, "token"), (&exec, "json")] {
        let r = env.run(&[
            "write-token",
            "--cluster-name",
            "dev",
            "--out",
            path.to_str().unwrap(),
            "-o",
            output,
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let r = check(path, &[]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        // A fresh token has less than 15 minutes left (14 for an ExecCredential).
        let r = check(path, &["--min-validity", "15m"]);
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(
            r.stderr.contains("less than --min-validity"),
            "{}",
            r.stderr
        );
    }
    // Missing, not a token, expired.
    assert_eq!(check(&dir.join("missing"), &[]).code, 1);
    let junk = dir.join("junk");
    std::fs::write(&junk, "{\"not\": \"a token\"}").unwrap();
    assert_eq!(check(&junk, &[]).code, 1);
    let old = time::OffsetDateTime::now_utc() - time::Duration::minutes(20);
    let creds = eks_token::Credentials {
        access_key_id: "AKIATROUBLE000000001".into(),
        secret_access_key: eks_token::Secret::new("trouble/secret"),
        session_token: None,
        expiration: None,
        account_id: None,
    };
    let url = eks_token::testkit::presigned_url_at(
        &creds,
        "https://sts.us-east-1.amazonaws.com",
        "us-east-1",
        "dev",
        old,
    );
    let expired = dir.join("expired");
    std::fs::write(&expired, tokenize(&url)).unwrap();
    let r = check(&expired, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    // Signed 10 minutes ahead (a clock far off): refused.
    let ahead = time::OffsetDateTime::now_utc() + time::Duration::minutes(10);
    let url = eks_token::testkit::presigned_url_at(
        &creds,
        "https://sts.us-east-1.amazonaws.com",
        "us-east-1",
        "dev",
        ahead,
    );
    let future = dir.join("future");
    std::fs::write(&future, tokenize(&url)).unwrap();
    let r = check(&future, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("signed in the future"), "{}", r.stderr);
    // No token lives 16 minutes, and none is valid for none: well-formed values out of
    // range (exit 1, as every such value), one message for both.
    for v in ["16m", "0"] {
        let r = env.run(&[
            "write-token",
            "--check",
            "--out",
            bare.to_str().unwrap(),
            "--min-validity",
            v,
        ]);
        assert_failed(&r, 1, &[]);
        assert!(
            r.stderr
                .contains("--min-validity must be more than zero and at most 15m"),
            "{}",
            r.stderr
        );
    }
    // The probe cannot check a cluster name, and says so.
    let r = env.run(&[
        "write-token",
        "--check",
        "--out",
        bare.to_str().unwrap(),
        "--cluster-name",
        "dev",
    ]);
    assert_failed(&r, 2, &[]);
    assert!(r.stderr.contains("cluster name"), "{}", r.stderr);
}

#[test]
fn every_write_token_log_line_is_json() {
    // Success, init failure, a usage error, the sidecar's failures and its stop.
    let env = env_keys();
    let out = env.home.join("t/token");
    let r = env.run(&[
        "write-token",
        "--cluster-name",
        "dev",
        "--out",
        out.to_str().unwrap(),
        "-v",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines = json_lines(&r.stderr);
    assert!(lines.iter().any(|l| l["outcome"] == "ok"), "{lines:?}");
    assert!(lines.iter().any(|l| l["event"] == "verbose"), "{lines:?}");
    let r = env.run(&["write-token", "--out", out.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert_eq!(json_lines(&r.stderr)[0]["outcome"], "error");
    // The command found as the parser finds it (an option may come first).
    let r = env.run(&[
        "-v",
        "write-token",
        "--out",
        out.to_str().unwrap(),
        "--bogus",
    ]);
    assert_eq!(r.code, 2);
    assert_eq!(
        json_lines(&r.stderr)[0]["event"],
        "write-token",
        "{}",
        r.stderr
    );
    let mut broken = TestEnv::new();
    broken.set("AWS_REGION", "us-east-1");
    let r = broken.run(&[
        "write-token",
        "--cluster-name",
        "dev",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1);
    let lines = json_lines(&r.stderr);
    assert_eq!(lines.last().unwrap()["outcome"], "error", "{lines:?}");
    // The sidecar that cannot write: a JSON line per failure, then its stop.
    let sts = FaultServer::start(vec![], Reply::Reset);
    let mut sidecar = TestEnv::new();
    sidecar.irsa(
        "arn:aws:iam::111111111111:role/sidecar",
        &web_identity_token("sidecar"),
    );
    sidecar
        .set("AWS_ENDPOINT_URL_STS", &sts.url)
        .set("AWS_REGION", "us-east-1");
    let mut c = sidecar.command(
        &bin(),
        &[
            "write-token",
            "--cluster-name",
            "dev",
            "--out",
            out.to_str().unwrap(),
            "--refresh",
            "--timeout",
            "2",
        ],
    );
    let log = sidecar.home.join("sidecar.log");
    c.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    let mut child = c.spawn().unwrap();
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    wait_until("a failed refresh", Duration::from_secs(20), || {
        json_lines(&read()).iter().any(|l| l["outcome"] == "error")
    });
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    child.wait().unwrap();
    let stderr = read();
    let lines = json_lines(&stderr);
    assert!(lines.iter().any(|l| l["outcome"] == "error"), "{stderr}");
    assert_eq!(lines.last().unwrap()["event"], "stop", "{stderr}");
}
