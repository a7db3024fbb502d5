//! Hostile input: tokens nobody vouches for, extreme times, answers that are not what
//! they should be, helpers that never let go, locks someone else holds. No panic, no
//! wait past `--timeout`, no request a rule forbids.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::fault::{FaultServer, Reply};
use crate::common::*;

/// A well-formed token URL for `origin` (scheme://host[:port]) and `date`.
fn token_url(origin: &str, date: &str) -> String {
    format!(
        "{origin}/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Credential=AKIDEXAMPLE%2F20261129%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date={date}\
         &X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Signature={}",
        "0".repeat(64)
    )
}

#[test]
fn a_token_signed_in_the_year_9999_breaks_the_date_rule() {
    let env = TestEnv::new();
    let token = tokenize(&token_url("https://sts.amazonaws.com", "99991231T235959Z"));
    let r = env.run(&["verify", &token]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("FAIL            date:") && r.stdout.contains("no expiry"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("EKS would reject"), "{}", r.stdout);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

#[test]
fn credentials_expiring_at_the_end_of_time_sign_a_14_minute_token() {
    let mut env = TestEnv::new();
    env.static_creds("AKIAENDOFTIME0000001", "end/secret")
        .set("AWS_SESSION_TOKEN", "end-session")
        .set("AWS_CREDENTIAL_EXPIRATION", "9999-12-31T23:59:59Z")
        .set("AWS_REGION", "us-east-1");
    let r = env.run(&["get-token", "--cluster-name", "dev"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let exp = parse_rfc3339(v["status"]["expirationTimestamp"].as_str().unwrap()).unwrap();
    let left = exp - time::OffsetDateTime::now_utc();
    assert!(
        left > time::Duration::minutes(13) && left <= time::Duration::minutes(14),
        "{left}"
    );
    assert_verifies(&verify(
        &token_of(&r.stdout),
        "dev",
        None,
        &[("AKIAENDOFTIME0000001", "end/secret")],
    ));
}

/// A listener that must never be connected to.
struct Untouched(TcpListener);

impl Untouched {
    fn new() -> Self {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        Untouched(l)
    }
    fn origin(&self, scheme: &str) -> String {
        format!(
            "{scheme}://127.0.0.1:{}",
            self.0.local_addr().unwrap().port()
        )
    }
    fn assert_untouched(&self) {
        assert!(
            self.0.accept().is_err(),
            "the token's host was connected to"
        );
    }
}

#[test]
fn verify_online_asks_only_a_real_sts_host_or_exactly_the_override() {
    let listener = Untouched::new();
    let date = eks_token::sigv4::amz_date(time::OffsetDateTime::now_utc());
    for scheme in ["https", "http"] {
        let token = tokenize(&token_url(&listener.origin(scheme), &date));
        // No override: the host rule has failed, so nothing is sent.
        let env = TestEnv::new();
        let r = env.run(&["verify", &token, "--cluster-name", "dev", "--online"]);
        assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
        assert!(
            r.stdout.contains("not replaying the token")
                && r.stdout.contains("is not an STS endpoint"),
            "{}",
            r.stdout
        );
        // An override set to another host: only the override may be asked.
        let other = Untouched::new();
        let mut env = TestEnv::new();
        env.set("AWS_ENDPOINT_URL_STS", other.origin("http"));
        let r = env.run(&["verify", &token, "--cluster-name", "dev", "--online"]);
        assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
        assert!(
            r.stdout.contains("the override is the only host"),
            "{}",
            r.stdout
        );
        other.assert_untouched();
    }
    listener.assert_untouched();
}

#[test]
fn verify_online_fails_on_anything_but_a_caller_identity() {
    let answers = [
        (
            Reply::Http {
                status: 200,
                headers: vec![("Content-Type".into(), "text/html".into())],
                body: b"<html><body>Welcome to the proxy</body></html>".to_vec(),
            },
            "HTTP 200, text/html, 46 bytes",
        ),
        (
            Reply::xml(
                200,
                "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name>\
                 <Contents><Key>k</Key></Contents></ListBucketResult>",
            ),
            "HTTP 200, text/xml",
        ),
        (
            Reply::xml(
                200,
                "<GetCallerIdentityResponse><GetCallerIdentityResult><Account>1</Account>\
                 </GetCallerIdentityResult></GetCallerIdentityResponse>",
            ),
            "not a GetCallerIdentity result",
        ),
    ];
    for (answer, described) in answers {
        let server = FaultServer::start(vec![], answer);
        let mut env = TestEnv::new();
        env.static_creds("AKIAONLINEHTML000001", "html/secret")
            .set("AWS_ENDPOINT_URL_STS", &server.url)
            .set("AWS_REGION", "us-east-1");
        let r = env.run(&["get-token", "--cluster-name", "dev", "--output", "token"]);
        let token = r.stdout.trim().to_owned();
        let v = env.run(&["verify", &token, "--cluster-name", "dev", "--online"]);
        assert_eq!(v.code, 1, "{}{}", v.stdout, v.stderr);
        assert!(
            v.stdout.contains("FAIL            online:") && v.stdout.contains(described),
            "{described}: {}",
            v.stdout
        );
        assert!(!v.stdout.contains("identity  "), "{}", v.stdout);
        assert!(!v.stdout.contains("Welcome"), "the body is never echoed");
        assert_eq!(server.requests().len(), 1);
    }
}

/// The pids whose process group is `pgid`.
fn members_of_group(pgid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp ...: comm may hold spaces; fields follow the ')'.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .collect();
        if fields.get(2).and_then(|g| g.parse::<u32>().ok()) == Some(pgid)
            && fields.first() != Some(&"Z")
        {
            out.push(pid);
        }
    }
    out
}

#[test]
fn credential_process_with_a_background_child_ends_within_the_timeout() {
    let mut env = TestEnv::new();
    let pgid_file = env.home.join("pgid");
    let ok = env.home.join("bg-ok.sh");
    std::fs::write(
        &ok,
        format!(
            "#!/bin/sh\necho $$ > {}\nsleep 30 &\n\
             echo '{{\"Version\": 1, \"AccessKeyId\": \"AKIAPROCESSBG0000001\", \"SecretAccessKey\": \"bg/secret\"}}'\n",
            pgid_file.display()
        ),
    )
    .unwrap();
    let hang = env.home.join("bg-hang.sh");
    std::fs::write(
        &hang,
        format!(
            "#!/bin/sh\necho $$ > {}\nsleep 30 &\nsleep 30\n",
            pgid_file.display()
        ),
    )
    .unwrap();
    for f in [&ok, &hang] {
        std::fs::set_permissions(f, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    let config = env.home.join("config");
    env.set("AWS_CONFIG_FILE", config.display().to_string())
        .set("AWS_REGION", "us-east-1");
    for (script, succeeds) in [(&ok, true), (&hang, false)] {
        std::fs::write(
            &config,
            format!("[default]\ncredential_process = {}\n", script.display()),
        )
        .unwrap();
        let r = env.run(&["get-token", "--cluster-name", "dev", "--timeout", "3"]);
        assert!(
            r.elapsed < Duration::from_secs(4),
            "{script:?}: took {:?}",
            r.elapsed
        );
        if succeeds {
            assert_eq!(r.code, 0, "{}", r.stderr);
            assert_verifies(&verify(
                &token_of(&r.stdout),
                "dev",
                None,
                &[("AKIAPROCESSBG0000001", "bg/secret")],
            ));
        } else {
            assert_failed(&r, 1, &[]);
            assert!(
                r.stderr.contains("did not finish within 3 s"),
                "{}",
                r.stderr
            );
        }
        let pgid: u32 = std::fs::read_to_string(&pgid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let left = members_of_group(pgid);
        assert!(
            left.is_empty(),
            "{script:?}: processes left in the group: {left:?}"
        );
    }
}

#[test]
fn a_cache_lock_held_elsewhere_never_holds_a_run_past_its_timeout() {
    let m = moto();
    let mut env = TestEnv::new();
    env.irsa(
        "arn:aws:iam::111111111111:role/locked-irsa",
        "eyJhbGciOiJSUzI1NiJ9.locked.c2ln",
    );
    env.set("AWS_ENDPOINT_URL_STS", &m.url)
        .set("AWS_REGION", "us-east-1");
    let role = "arn:aws:iam::222222222222:role/testrole";
    let args = ["get-token", "--cluster-name", "dev", "--role-arn", role];
    assert_eq!(env.run(&args).code, 0);
    // Entries gone, their lock files held by another process.
    let dir = env.home.join(".cache/eks-token");
    let mut locks = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let p = e.path();
        match p.extension().and_then(|x| x.to_str()) {
            Some("json") => std::fs::remove_file(&p).unwrap(),
            Some("lock") => locks.push(p.display().to_string()),
            _ => {}
        }
    }
    assert_eq!(locks.len(), 2, "one lock per entry");
    let mut holder = Command::new("python3")
        .arg("-c")
        .arg(
            "import fcntl, sys, time\n\
             fs = [open(p, 'a') for p in sys.argv[1:]]\n\
             [fcntl.flock(f, fcntl.LOCK_EX) for f in fs]\n\
             print('held', flush=True)\n\
             time.sleep(60)",
        )
        .args(&locks)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(holder.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "held");
    let started = Instant::now();
    let mut timed = args.to_vec();
    timed.extend(["--timeout", "2", "-v"]);
    let r = env.run(&timed);
    let took = started.elapsed();
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert!(r.stderr.contains("holds the entry's lock"), "{}", r.stderr);
    assert_verifies(&verify(&token_of(&r.stdout), "dev", Some(&m.url), &[]));
}

#[test]
fn deeply_nested_sts_answers_are_refused_quickly() {
    for size in [256 * 1024, 1024 * 1024] {
        let depth = size / 7;
        let body = "<a>".repeat(depth) + &"</a>".repeat(depth);
        let server = FaultServer::start(vec![], Reply::xml(200, body));
        let mut env = TestEnv::new();
        env.irsa(
            "arn:aws:iam::111111111111:role/nested",
            "eyJhbGciOiJSUzI1NiJ9.nested.c2ln",
        );
        env.set("AWS_ENDPOINT_URL_STS", &server.url);
        let r = env.run(&["get-token", "--cluster-name", "dev", "--timeout", "5"]);
        assert_failed(&r, 1, &["eyJhbGciOiJSUzI1NiJ9.nested"]);
        assert!(r.stderr.contains("nest deeper"), "{}", r.stderr);
        assert!(
            r.elapsed < Duration::from_secs(3),
            "{size}: {:?}",
            r.elapsed
        );
    }
    // The parser's own time, in one run: 1 MiB of nesting costs about what 256 KiB
    // does (well under the 16x a quadratic parser would take).
    let ratio = eks_token::testkit::xml_nesting_time_ratio();
    assert!(ratio < 8.0, "1 MiB / 256 KiB of nesting: {ratio:.1}x");
}

#[test]
fn hostile_kubeconfigs_are_refused_quickly_and_left_as_they_are() {
    // Nothing may be asked of EKS: the endpoint is a listener that counts connections.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let eks = format!("http://{}", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    let mut env = TestEnv::new();
    env.static_creds("AKIAKUBECONFIGHOSTIL", "k")
        .set("AWS_ENDPOINT_URL_EKS", &eks)
        .set("AWS_REGION", "us-east-1");
    let config = env.home.join("kubeconfig");
    // Ten aliases of ten aliases ... nine levels deep: 10^9 nodes once expanded.
    let mut laughs = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        laughs.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    laughs.push_str("clusters: []\n");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("aliases", laughs.into_bytes(), "aliases"),
        (
            "block nesting",
            format!("clusters:\n{}x\n", "- ".repeat(500_000)).into_bytes(),
            "nests deeper than 100 levels",
        ),
        (
            "flow nesting",
            format!("clusters: {}{}\n", "[".repeat(200_000), "]".repeat(200_000)).into_bytes(),
            "not YAML",
        ),
        ("20 MiB", vec![b'a'; 20 << 20], "larger than"),
        ("not UTF-8", b"clusters: [\xff]\n".to_vec(), "not UTF-8"),
    ];
    let update = |config: &std::path::Path| {
        env.run(&[
            "eks",
            "update-kubeconfig",
            "--name",
            "dev",
            "--kubeconfig",
            config.to_str().unwrap(),
        ])
    };
    for (what, content, says) in cases {
        std::fs::write(&config, &content).unwrap();
        let started = Instant::now();
        let r = update(&config);
        assert_failed(&r, 1, &[]);
        assert!(r.stderr.contains(says), "{what}: {}", r.stderr);
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{what}: {:?}",
            started.elapsed()
        );
        assert!(
            std::fs::read(&config).unwrap() == content,
            "{what}: the file changed"
        );
    }
    // A kubeconfig that is an endless device is not read at all.
    std::fs::remove_file(&config).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &config).unwrap();
    let r = update(&config);
    assert_failed(&r, 1, &[]);
    assert!(
        r.stderr
            .contains("it is a character device, not a regular file"),
        "{}",
        r.stderr
    );
    assert!(listener.accept().is_err(), "EKS was asked");
}

/// A setting eks-token reads whose value is not UTF-8 is an error naming it (ignored,
/// AWS_PROFILE would pick other keys, AWS_SESSION_TOKEN would be dropped); another
/// variable (a proxy) is named in a warning. Never the value; write-token's log stays
/// JSON lines.
#[test]
fn a_variable_that_is_not_utf8_is_named_not_dropped_in_silence() {
    use std::os::unix::ffi::OsStrExt;
    let mut env = TestEnv::new();
    env.static_creds("AKIANOTUTF8000000001", "notutf8/secret")
        .set("AWS_REGION", "us-east-1");
    let out = env.home.join("token");
    let run = |args: &[&str], name: &str| {
        let mut c = env.command(&bin(), args);
        c.env(name, std::ffi::OsStr::from_bytes(b"value\xffhere"))
            .stdin(std::process::Stdio::null());
        run_killed_after(c, RUN_LIMIT)
    };
    for name in ["AWS_SESSION_TOKEN", "AWS_PROFILE"] {
        let r = run(&["get-token", "--cluster-name", "dev"], name);
        assert_failed(&r, 1, &["value"]);
        assert!(
            r.stderr.contains(&format!("{name} is not UTF-8 text")),
            "{}",
            r.stderr
        );
    }
    let r = run(&["get-token", "--cluster-name", "dev"], "no_proxy");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("warning: no_proxy is not UTF-8 text: ignored"),
        "{}",
        r.stderr
    );
    let r = run(
        &[
            "write-token",
            "--cluster-name",
            "dev",
            "--out",
            out.to_str().unwrap(),
        ],
        "no_proxy",
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    for line in r.stderr.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        assert!(
            v["event"] == "warning" || v["event"] == "write-token",
            "{line}"
        );
    }
    assert!(
        r.stderr.contains("no_proxy is not UTF-8 text"),
        "{}",
        r.stderr
    );
}

/// DescribeCluster's answer is checked before anything is written: an `arn` naming
/// another cluster (whose kubeconfig entry the answer's endpoint would replace), another
/// region or another account than the credentials', or an endpoint that is not https, is
/// refused naming the field, and the kubeconfig stays as it was (`aws eks
/// update-kubeconfig` and `eks-token kubeconfig --out`).
#[test]
fn a_describe_cluster_answer_for_another_cluster_is_refused() {
    let prod = "arn:aws:eks:us-east-1:222222222222:cluster/prod";
    let existing = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: {prod}\n  cluster:\n    \
         server: https://prod.example.com\n    certificate-authority-data: UFJPRA==\n\
         users: []\ncontexts: []\n"
    );
    for (arn, endpoint, field, why) in [
        (
            prod,
            "https://attacker.example.com",
            "arn",
            "names another cluster",
        ),
        (
            "arn:aws:eks:eu-west-1:222222222222:cluster/dev",
            "https://dev.example.com",
            "arn",
            "another region",
        ),
        (
            "arn:aws:eks:us-east-1:333333333333:cluster/dev",
            "https://dev.example.com",
            "arn",
            "another account",
        ),
        (
            "arn:aws:eks:us-east-1:222222222222:cluster/dev",
            "http://dev.example.com",
            "endpoint",
            "is not an https:// URL",
        ),
    ] {
        let eks = FaultServer::start(vec![], Reply::cluster(arn, endpoint));
        let mut env = TestEnv::new();
        env.static_creds("AKIADESCRIBEOTHER001", "describe/secret")
            .set("AWS_ACCOUNT_ID", "222222222222")
            .set("AWS_ENDPOINT_URL_EKS", &eks.url)
            .set("AWS_REGION", "us-east-1");
        let aws = as_program(&mut env, "aws");
        let config = env.home.join("kube/config");
        std::fs::create_dir_all(config.parent().unwrap()).unwrap();
        std::fs::write(&config, &existing).unwrap();
        let out = env.home.join("kube/dev.json");
        std::fs::write(&out, "{}\n").unwrap();
        let (c, o) = (config.to_str().unwrap(), out.to_str().unwrap());
        for (program, args) in [
            (
                &aws,
                vec![
                    "eks",
                    "update-kubeconfig",
                    "--name",
                    "dev",
                    "--kubeconfig",
                    c,
                ],
            ),
            (
                &bin(),
                vec!["kubeconfig", "--cluster-name", "dev", "--out", o, "--force"],
            ),
        ] {
            let asked = eks.requests().len();
            let r = run_as(&env, program, &args);
            assert_failed(&r, 1, &["describe/secret"]);
            assert_eq!(
                eks.requests().len(),
                asked + 1,
                "DescribeCluster was not asked: {}",
                r.stderr
            );
            assert!(
                r.stderr.contains(&format!("the answer's {field}")) && r.stderr.contains(why),
                "{arn} {endpoint}, {args:?}: {}",
                r.stderr
            );
            assert_eq!(std::fs::read_to_string(&config).unwrap(), existing);
            assert_eq!(std::fs::read_to_string(&out).unwrap(), "{}\n");
        }
    }
}
