//! `whoami`, `kubeconfig` and `verify`.

use crate::common::fault::{FaultServer, Reply};
use crate::common::*;
use base64::Engine;
use eks_token::{Credentials, Secret};
use serde_json::Value;

fn chain_env(tag: &str) -> TestEnv {
    let mut env = irsa_env(tag);
    // DescribeCluster too: every service at moto.
    env.set("AWS_ENDPOINT_URL", &moto().url);
    env
}

#[test]
fn kubeconfig_for_a_moto_cluster_is_read_by_kubectl() {
    create_cluster("tools-dev", DEV_ROLE);
    let env = chain_env("tools-kubeconfig");
    let out = env.home.join("kube/config");
    let r = env.run(&[
        "kubeconfig",
        "--cluster-name",
        "tools-dev",
        "--role-arn",
        DEV_ROLE,
        "--out",
        out.to_str().unwrap(),
        "--alias",
        "dev",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.is_empty());
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&out).unwrap().mode() & 0o777, 0o600);
    let view = env
        .command(
            std::path::Path::new("kubectl"),
            &[
                "config",
                "view",
                "--raw",
                "-o",
                "json",
                "--kubeconfig",
                out.to_str().unwrap(),
            ],
        )
        .output()
        .unwrap();
    assert!(
        view.status.success(),
        "{}",
        String::from_utf8_lossy(&view.stderr)
    );
    let cfg: Value = serde_json::from_slice(&view.stdout).unwrap();
    assert_eq!(cfg["current-context"], "dev");
    assert_eq!(
        cfg["clusters"][0]["name"],
        "arn:aws:eks:us-east-1:222222222222:cluster/tools-dev"
    );
    assert!(cfg["clusters"][0]["cluster"]["server"]
        .as_str()
        .unwrap()
        .starts_with("https://"));
    let exec = &cfg["users"][0]["user"]["exec"];
    assert_eq!(exec["apiVersion"], "client.authentication.k8s.io/v1beta1");
    assert_eq!(exec["interactiveMode"], "IfAvailable");
    assert_eq!(
        exec["command"],
        std::fs::canonicalize(bin()).unwrap().display().to_string()
    );
    let args: Vec<&str> = exec["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        args,
        [
            "get-token",
            "--cluster-name",
            "tools-dev",
            "--region",
            "us-east-1",
            "--role-arn",
            DEV_ROLE
        ]
    );
    // The exec args are ones eks-token itself runs: they give a token of the chain.
    let r = env.run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_verifies_as_dev_role(&token_of(&r.stdout), "tools-dev", &moto().url);
    // An existing file is not overwritten without --force.
    let before = std::fs::read(&out).unwrap();
    let r = env.run(&[
        "kubeconfig",
        "--cluster-name",
        "tools-dev",
        "--role-arn",
        DEV_ROLE,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_failed(&r, 1, &[]);
    assert!(r.stderr.contains("--force"), "{}", r.stderr);
    assert_eq!(std::fs::read(&out).unwrap(), before);
    let r = env.run(&[
        "kubeconfig",
        "--cluster-name",
        "tools-dev",
        "--role-arn",
        DEV_ROLE,
        "--out",
        out.to_str().unwrap(),
        "--force",
        "--command",
        "eks-token",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .contains("\"command\": \"eks-token\""));
    // A link at --out (a dotfiles repository's) is written through, and stays a link;
    // a directory there is refused before any request.
    let link = out.with_file_name("linked-config");
    std::os::unix::fs::symlink(&out, &link).unwrap();
    let mut args = vec![
        "kubeconfig",
        "--cluster-name",
        "tools-dev",
        "--role-arn",
        DEV_ROLE,
        "--force",
        "--command",
        "through-the-link",
        "--out",
    ];
    let r = env.run(&[&args[..], &[link.to_str().unwrap()]].concat());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .contains("through-the-link"));
    let dir = out.with_file_name("a-directory");
    std::fs::create_dir(&dir).unwrap();
    args.push(dir.to_str().unwrap());
    let r = env.run(&args);
    assert_failed(&r, 1, &[]);
    assert!(r.stderr.contains("it is a directory"), "{}", r.stderr);
    // Without --out: the kubeconfig on stdout.
    let r = env.run(&[
        "kubeconfig",
        "--cluster-name",
        "tools-dev",
        "--role-arn",
        DEV_ROLE,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["kind"], "Config");
}

#[test]
fn eks_errors_are_clear_and_leave_no_file() {
    let env = chain_env("tools-missing");
    let out = env.home.join("kubeconfig");
    let r = env.run(&[
        "kubeconfig",
        "--cluster-name",
        "no-such-cluster",
        "--role-arn",
        DEV_ROLE,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_failed(&r, 1, &[]);
    assert!(
        r.stderr
            .contains("DescribeCluster no-such-cluster failed: ResourceNotFoundException"),
        "{}",
        r.stderr
    );
    assert!(!out.exists());
    // AccessDenied, as EKS answers it, from a stand-in.
    let eks = FaultServer::start(
        vec![],
        Reply::Http {
            status: 403,
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("x-amzn-ErrorType".into(), "AccessDeniedException:http://internal.amazon.com/coral/".into()),
            ],
            body: br#"{"message":"User: arn:aws:sts::222222222222:assumed-role/testrole/x is not authorized to perform: eks:DescribeCluster"}"#.to_vec(),
        },
    );
    let mut env = chain_env("tools-denied");
    env.set("AWS_ENDPOINT_URL_STS", &moto().url)
        .set("AWS_ENDPOINT_URL_EKS", &eks.url);
    let r = env.run(&[
        "kubeconfig",
        "--cluster-name",
        "dev",
        "--role-arn",
        DEV_ROLE,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_failed(&r, 1, &[]);
    assert!(
        r.stderr
            .contains("AccessDeniedException: User: arn:aws:sts::222222222222"),
        "{}",
        r.stderr
    );
    assert!(!out.exists());
    // The request was SigV4-signed for service eks.
    let req = &eks.requests()[0];
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("GET", "/clusters/dev")
    );
    assert!(req
        .header("authorization")
        .unwrap()
        .contains("/us-east-1/eks/aws4_request"));
}

#[test]
fn whoami_prints_the_identity_after_the_chain_and_each_hop() {
    let env = chain_env("tools-whoami");
    let r = env.run(&["whoami", "--role-arn", DEV_ROLE]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["Account"], "222222222222");
    assert_eq!(
        v["Arn"],
        "arn:aws:sts::222222222222:assumed-role/testrole/EKSGetTokenAuth"
    );
    assert!(v["UserId"].as_str().unwrap().ends_with(":EKSGetTokenAuth"));
    let r = env.run(&["whoami", "--role-arn", DEV_ROLE, "--output", "text", "-v"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "arn:aws:sts::222222222222:assumed-role/testrole/EKSGetTokenAuth\n"
    );
    assert!(
        r.stderr.contains("identity after the source")
            && r.stderr.contains("assumed-role/tools-whoami/eks-token"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("identity after hop 1") && r.stderr.contains("assumed-role/testrole/"),
        "{}",
        r.stderr
    );
}

fn creds(token: Option<&str>) -> Credentials {
    Credentials {
        access_key_id: "AKIDEXAMPLE".into(),
        secret_access_key: Secret::new("secret"),
        session_token: token.map(Secret::new),
        expiration: None,
        account_id: None,
    }
}

/// A token URL presigned at `host` for us-west-2.
fn presigned(creds: &Credentials, host: &str, now: time::OffsetDateTime) -> String {
    eks_token::testkit::presigned_url_at(creds, &format!("https://{host}"), "us-west-2", "dev", now)
}

fn verify_cmd(env: &TestEnv, token: &str) -> Run {
    env.run(&["verify", token])
}

#[test]
fn verify_accepts_tokens_of_eks_token_and_aws_cli() {
    let mut env = TestEnv::new();
    env.static_creds("AKIAVERIFY0000000001", "verify/secret")
        .set("AWS_REGION", "us-west-2");
    let r = env.run(&["get-token", "--cluster-name", "dev", "--output", "token"]);
    let v = verify_cmd(&env, r.stdout.trim());
    assert_eq!(v.code, 0, "{}", v.stdout);
    for field in [
        "region          us-west-2",
        "access key id   AKIAVERIFY0000000001",
        "signed headers  host;x-k8s-aws-id",
        "time left",
        "EKS would accept",
    ] {
        assert!(v.stdout.contains(field), "{field}: {}", v.stdout);
    }
    let aws = env
        .command(
            std::path::Path::new("aws"),
            &[
                "eks",
                "get-token",
                "--cluster-name",
                "dev",
                "--output",
                "json",
            ],
        )
        .output()
        .unwrap();
    assert!(aws.status.success());
    let token = token_of(&String::from_utf8_lossy(&aws.stdout));
    let v = verify_cmd(&env, &token);
    assert_eq!(v.code, 0, "{}", v.stdout);
    // The session token is described, never shown.
    env.set("AWS_SESSION_TOKEN", "SESSION-SECRET-VALUE");
    let r = env.run(&["get-token", "--cluster-name", "dev", "--output", "token"]);
    let v = verify_cmd(&env, r.stdout.trim());
    assert!(
        v.stdout.contains("session token   present (20 bytes)")
            && !v.stdout.contains("SESSION-SECRET"),
        "{}",
        v.stdout
    );
    // The token can come from stdin.
    let mut child = env
        .command(&bin(), &["verify", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(r.stdout.as_bytes())
        .unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
}

#[test]
fn verify_names_each_broken_rule() {
    let env = TestEnv::new();
    let now = time::OffsetDateTime::now_utc();
    let good_url = presigned(&creds(None), "sts.us-west-2.amazonaws.com", now);
    assert_eq!(verify_cmd(&env, &tokenize(&good_url)).code, 0);

    let extra = good_url.replace("&X-Amz-Signature=", "&Foo=bar&X-Amz-Signature=");
    let wrong_host = presigned(&creds(None), "sts.evil.example.com", now);
    let expired = presigned(
        &creds(None),
        "sts.us-west-2.amazonaws.com",
        now - time::Duration::minutes(20),
    );
    let unbound = {
        let q = [
            ("Action".to_owned(), "GetCallerIdentity".to_owned()),
            ("Version".to_owned(), "2011-06-15".to_owned()),
        ];
        let p = eks_token::sigv4::presign(
            &eks_token::sigv4::Request {
                method: "GET",
                host: "sts.us-west-2.amazonaws.com",
                path: "/",
                query: &q,
                headers: &[],
                body: b"",
            },
            &creds(None),
            eks_token::sigv4::Scope {
                time: now,
                region: "us-west-2",
                service: "sts",
            },
            60,
            eks_token::sigv4::Settings::default(),
        );
        format!(
            "https://sts.us-west-2.amazonaws.com/?{}",
            eks_token::sigv4::encode_query(&p.query)
        )
    };
    let huge = presigned(
        &creds(Some(&"T".repeat(4000))),
        "sts.us-west-2.amazonaws.com",
        now,
    );
    // Padded base64, as a standard encoder writes it.
    let padded = format!(
        "k8s-aws-v1.{}",
        base64::engine::general_purpose::URL_SAFE.encode(format!("{good_url}&"))
    );
    assert!(padded.ends_with('='));
    for (token, rule) in [
        (
            tokenize(&extra),
            // Quoted: a crafted name must not be able to write its own report lines.
            "FAIL            query: parameter \"Foo\" is not allowed",
        ),
        (
            tokenize(&wrong_host),
            "FAIL            host: sts.evil.example.com is not an STS endpoint",
        ),
        (tokenize(&expired), "FAIL            date: signed at"),
        (
            tokenize(&unbound),
            "FAIL            signed-headers: x-k8s-aws-id is not signed",
        ),
        (padded, "FAIL            base64: padding"),
        (tokenize(&huge), "FAIL            size:"),
    ] {
        let r = verify_cmd(&env, &token);
        assert_eq!(r.code, 1, "{rule}: {}", r.stdout);
        assert!(r.stdout.contains(rule), "{rule}: {}", r.stdout);
        assert!(r.stdout.contains("EKS would reject"), "{}", r.stdout);
    }
}

#[test]
fn verify_online_replays_the_token_as_eks_does() {
    let sts = FaultServer::start(
        vec![],
        Reply::xml(
            200,
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult>\
             <Arn>arn:aws:sts::222222222222:assumed-role/testrole/alice</Arn><UserId>AROAEXAMPLE:alice</UserId>\
             <Account>222222222222</Account></GetCallerIdentityResult></GetCallerIdentityResponse>",
        ),
    );
    let mut env = TestEnv::new();
    env.static_creds("AKIAONLINE0000000001", "online/secret")
        .set("AWS_ENDPOINT_URL_STS", &sts.url)
        .set("AWS_REGION", "us-east-1");
    let r = env.run(&["get-token", "--cluster-name", "dev", "--output", "token"]);
    let token = r.stdout.trim().to_owned();
    let v = env.run(&["verify", &token, "--cluster-name", "dev", "--online"]);
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
    assert!(
        v.stdout
            .contains("identity        arn:aws:sts::222222222222:assumed-role/testrole/alice"),
        "{}",
        v.stdout
    );
    // The verdict comes last, from everything checked.
    assert_eq!(
        v.stdout.lines().last(),
        Some("verdict         EKS would accept this token (STS accepted it)"),
        "{}",
        v.stdout
    );
    let req = &sts.requests()[0];
    assert_eq!(req.method, "GET");
    assert!(
        req.path
            .starts_with("/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm="),
        "{}",
        req.path
    );
    assert_eq!(req.header("x-k8s-aws-id"), Some("dev"));
    // STS refusing the signature (e.g. a token made for another cluster).
    sts.set(
        vec![],
        Reply::sts_error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match",
        ),
    );
    let v = env.run(&["verify", &token, "--cluster-name", "prod", "--online"]);
    assert_eq!(v.code, 1);
    assert!(
        v.stdout
            .contains("STS refused the token for cluster prod: SignatureDoesNotMatch"),
        "{}",
        v.stdout
    );
    assert_eq!(
        v.stdout.lines().last(),
        Some("verdict         EKS would reject this token (STS refused it)"),
        "{}",
        v.stdout
    );
    assert_eq!(v.stdout.matches("verdict").count(), 1, "{}", v.stdout);
    // STS not there at all: nothing is known, which is not an acceptance.
    env.set(
        "AWS_ENDPOINT_URL_STS",
        format!("http://127.0.0.1:{}", closed_port()),
    );
    let r = env.run(&["get-token", "--cluster-name", "dev", "--output", "token"]);
    let token = r.stdout.trim().to_owned();
    let v = env.run(&["verify", &token, "--cluster-name", "dev", "--online"]);
    assert_eq!(v.code, 1, "{}{}", v.stdout, v.stderr);
    assert_eq!(
        v.stdout.lines().last(),
        Some("verdict         not known: the rules hold, but STS could not be asked"),
        "{}",
        v.stdout
    );
    // --online without a cluster is a usage error.
    assert_eq!(env.run(&["verify", &token, "--online"]).code, 2);
}
