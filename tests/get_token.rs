//! `get-token` end to end against moto's STS server: static credentials, the IRSA ->
//! AssumeRole chain, the three command-line forms, ExecCredential versions. Every token
//! is verified as EKS would (rules, signature recomputed by botocore, identity from STS).

use crate::common::*;
use serde_json::Value;

fn exec_credential(stdout: &str) -> Value {
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout:?}"))
}

#[test]
fn static_env_credentials_token_verifies() {
    let m = moto();
    let mut env = TestEnv::new();
    env.static_creds("AKIASTATICTEST000001", "static/secret+key")
        .set("AWS_ENDPOINT_URL_STS", &m.url)
        .set("AWS_REGION", "eu-west-1");
    let before = time::OffsetDateTime::now_utc();
    let r = env.run(&["get-token", "--cluster-name", "dev"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ec = exec_credential(&r.stdout);
    assert_eq!(ec["kind"], "ExecCredential");
    assert_eq!(ec["apiVersion"], "client.authentication.k8s.io/v1beta1");
    let exp = parse_rfc3339(ec["status"]["expirationTimestamp"].as_str().unwrap()).unwrap();
    let lifetime = (exp - before).whole_seconds();
    assert!((13 * 60..=14 * 60 + 5).contains(&lifetime), "{lifetime}");
    let token = token_of(&r.stdout);
    let v = verify(
        &token,
        "dev",
        Some(&m.url),
        &[("AKIASTATICTEST000001", "static/secret+key")],
    );
    assert_verifies(&v);
    assert_eq!(v["region"], "eu-west-1");
    assert!(
        v["arn"].as_str().is_some_and(|a| a.starts_with("arn:aws:")),
        "{v}"
    );
    // The same token does not verify for another cluster.
    let other = verify(
        &token,
        "prod",
        None,
        &[("AKIASTATICTEST000001", "static/secret+key")],
    );
    assert_eq!(other["ok"], false);
}

#[test]
fn irsa_then_assume_role_into_the_dev_account() {
    let m = moto();
    let env = irsa_env("irsa-chain");
    let wit = web_identity_token("irsa-chain");
    let r = env.run(&["get-token", "--cluster-name", "dev", "--role-arn", DEV_ROLE]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let token = token_of(&r.stdout);
    let v = verify(&token, "dev", Some(&m.url), &[]);
    assert_verifies(&v);
    let arn = v["arn"].as_str().unwrap();
    assert!(
        arn.starts_with("arn:aws:sts::222222222222:assumed-role/testrole/"),
        "{arn}"
    );
    // The token is signed by the dev-account session, itself assumed with the IRSA one.
    let session = m.session(v["access_key_id"].as_str().unwrap()).unwrap();
    assert_eq!(session["role_arn"], DEV_ROLE);
    assert_eq!(session["session_name"], "EKSGetTokenAuth");
    assert!(m.sessions().iter().any(|s| s["role_arn"]
        == "arn:aws:iam::111111111111:role/irsa-chain"
        && s["session_name"] == "eks-token"));
    assert!(!r.stderr.contains(&wit));
}

#[test]
fn three_hop_chain_with_session_name_and_external_id() {
    let m = moto();
    let mut env = irsa_env("irsa-three");
    env.set("AWS_ROLE_SESSION_NAME", "pod-session");
    let hop1 = "arn:aws:iam::333333333333:role/hub";
    let r = env.run(&[
        "get-token",
        "--cluster-name",
        "qa",
        "--role-arn",
        hop1,
        "--role-arn",
        DEV_ROLE,
        "--session-name",
        "ci-deployer",
        "--external-id",
        "ext-123",
        "--duration-seconds",
        "1800",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = verify(&token_of(&r.stdout), "qa", Some(&m.url), &[]);
    assert_verifies(&v);
    assert_eq!(
        v["arn"],
        "arn:aws:sts::222222222222:assumed-role/testrole/ci-deployer"
    );
    let sessions = m.sessions();
    let last = sessions
        .iter()
        .find(|s| s["access_key_id"] == v["access_key_id"])
        .unwrap();
    assert_eq!(last["external_id"], "ext-123");
    // The external id applies to the last hop only.
    assert!(sessions.iter().any(|s| s["role_arn"] == hop1
        && s["session_name"] == "ci-deployer"
        && s["external_id"].is_null()));
    assert!(sessions.iter().any(|s| s["session_name"] == "pod-session"
        && s["role_arn"] == "arn:aws:iam::111111111111:role/irsa-three"));
}

#[test]
fn forward_session_name_uses_the_source_session() {
    let m = moto();
    let mut env = irsa_env("irsa-forward");
    env.set("AWS_ROLE_SESSION_NAME", "alice@example.com");
    let r = env.run(&[
        "token",
        "-i",
        "dev",
        "-r",
        DEV_ROLE,
        "--forward-session-name",
        "--token-only",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = verify(&token_of(&r.stdout), "dev", Some(&m.url), &[]);
    assert_verifies(&v);
    assert_eq!(
        v["arn"],
        "arn:aws:sts::222222222222:assumed-role/testrole/alice@example.com"
    );
}

#[test]
fn aws_cli_style_arguments_work_unchanged() {
    let m = moto();
    let env = irsa_env("irsa-awsstyle");
    // As `aws eks update-kubeconfig --role-arn` writes them, with global options on
    // both sides of the subcommand and aws-cli's `--role` abbreviation.
    let r = env.run(&strs(&aws_exec_args("us-west-2", "dev", Some(DEV_ROLE))));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = verify(&token_of(&r.stdout), "dev", Some(&m.url), &[]);
    assert_verifies(&v);
    assert_eq!(v["region"], "us-west-2");
    assert!(v["arn"]
        .as_str()
        .unwrap()
        .contains("222222222222:assumed-role/testrole"));
}

#[test]
fn authenticator_style_token_only() {
    let m = moto();
    let env = irsa_env("irsa-authn");
    let r = env.run(&[
        "token",
        "-i",
        "dev",
        "-r",
        DEV_ROLE,
        "-s",
        "authn-session",
        "--token-only",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("k8s-aws-v1.") && r.stdout.ends_with('\n'));
    assert_eq!(r.stdout.matches('\n').count(), 1);
    let v = verify(r.stdout.trim(), "dev", Some(&m.url), &[]);
    assert_verifies(&v);
    assert!(v["arn"]
        .as_str()
        .unwrap()
        .ends_with("/testrole/authn-session"));
    let r = env.run(&["get-token", "--cluster-name", "dev", "--output", "token"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("k8s-aws-v1."));
}

#[test]
fn exec_credential_api_version_follows_kubernetes_exec_info() {
    let mut env = TestEnv::new();
    env.static_creds("AKIAEXECINFO00000001", "secret");
    let cases = [
        (
            r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}"#,
            "client.authentication.k8s.io/v1",
            false,
        ),
        (
            r#"{"apiVersion":"client.authentication.k8s.io/v1beta1"}"#,
            "client.authentication.k8s.io/v1beta1",
            false,
        ),
        (
            r#"{"apiVersion":"client.authentication.k8s.io/v1alpha1"}"#,
            "client.authentication.k8s.io/v1alpha1",
            true,
        ),
        ("not json", "client.authentication.k8s.io/v1beta1", true),
        (
            r#"{"apiVersion":"client.authentication.k8s.io/v9"}"#,
            "client.authentication.k8s.io/v1beta1",
            true,
        ),
    ];
    for (info, want, warns) in cases {
        env.set("KUBERNETES_EXEC_INFO", info);
        let r = env.run(&["get-token", "--cluster-name", "dev"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(exec_credential(&r.stdout)["apiVersion"], want, "{info}");
        assert_eq!(r.stderr.contains("warning"), warns, "{info}: {}", r.stderr);
        assert_eq!(
            r.stderr.lines().count(),
            usize::from(warns),
            "one line: {}",
            r.stderr
        );
    }
}

#[test]
fn expiry_never_outlives_the_signing_credentials() {
    let mut env = TestEnv::new();
    let exp = time::OffsetDateTime::now_utc() + time::Duration::minutes(5);
    env.static_creds("ASIAEXPIRING00000001", "secret")
        .set("AWS_SESSION_TOKEN", "session-token")
        .set("AWS_CREDENTIAL_EXPIRATION", eks_token::Token::rfc3339(exp));
    let r = env.run(&["get-token", "--cluster-name", "dev"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let got = parse_rfc3339(
        exec_credential(&r.stdout)["status"]["expirationTimestamp"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert!(got <= exp, "{got} > {exp}");
    assert!(got >= exp - time::Duration::minutes(1) - time::Duration::seconds(1));
}

#[test]
fn verbose_shows_each_step_and_no_secret() {
    let m = moto();
    let env = irsa_env("irsa-verbose");
    let wit = web_identity_token("irsa-verbose");
    let r = env.run(&[
        "get-token",
        "--cluster-name",
        "dev",
        "--role-arn",
        DEV_ROLE,
        "-v",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for step in [
        "STS endpoint",
        "skipped environment",
        "AssumeRoleWithWebIdentity",
        "hop 1: assumed",
        "token for cluster dev",
    ] {
        assert!(r.stderr.contains(step), "missing {step:?} in {}", r.stderr);
    }
    assert!(r.stderr.contains(" ms]"));
    let token = token_of(&r.stdout);
    let v = verify(&token, "dev", Some(&m.url), &[]);
    let session = m.session(v["access_key_id"].as_str().unwrap()).unwrap();
    for secret in [
        wit.as_str(),
        session["secret_access_key"].as_str().unwrap(),
        session["session_token"].as_str().unwrap(),
        &token,
    ] {
        assert!(!r.stderr.contains(secret), "secret in stderr");
    }
    // Every IRSA session of this role: none of their secrets either.
    for s in m.sessions() {
        assert!(!r.stderr.contains(s["secret_access_key"].as_str().unwrap()));
    }
}

#[test]
fn same_url_as_aws_cli_for_the_same_signing_time() {
    // aws-cli presigns with botocore; for the same credentials, region and X-Amz-Date
    // our URL must be byte-for-byte the same.
    let mut env = TestEnv::new();
    env.static_creds("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
        .set("AWS_SESSION_TOKEN", "FwoGZXIvYXdz/+token==")
        .set("AWS_DEFAULT_REGION", "ap-southeast-2")
        .set("AWS_STS_REGIONAL_ENDPOINTS", "regional");
    let aws = env
        .command(
            std::path::Path::new("aws"),
            &["eks", "get-token", "--cluster-name", "dev-1"],
        )
        .output()
        .expect("aws-cli (pip install awscli)");
    assert!(
        aws.status.success(),
        "{}",
        String::from_utf8_lossy(&aws.stderr)
    );
    let theirs =
        eks_token::verify::decode(&token_of(&String::from_utf8_lossy(&aws.stdout))).unwrap();
    let date = theirs.split("X-Amz-Date=").nth(1).unwrap()[..16].to_owned();
    let t = time::PrimitiveDateTime::parse(
        &date,
        time::macros::format_description!("[year][month][day]T[hour][minute][second]Z"),
    )
    .unwrap()
    .assume_utc();
    let creds = eks_token::Credentials {
        access_key_id: "AKIDEXAMPLE".into(),
        secret_access_key: eks_token::Secret::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        session_token: Some(eks_token::Secret::new("FwoGZXIvYXdz/+token==")),
        expiration: None,
        account_id: None,
    };
    let ours = eks_token::testkit::presigned_url(
        &eks_token::Env::default(),
        "ap-southeast-2",
        &creds,
        "dev-1",
        t,
    )
    .unwrap();
    assert_eq!(ours, theirs);
}

/// The TLS eks-token speaks (src/tls.rs): TLS 1.2 with ECDHE and AES-GCM is enough; a
/// server offering only ChaCha20-Poly1305 (which no AWS endpoint is) is refused at the
/// handshake, once, with a TLS error (aws-cli, with OpenSSL's suites, would connect).
#[test]
fn tls_is_aes_gcm_over_ecdhe_in_tls_1_2_and_1_3() {
    let m = moto();
    for (ciphers, ok) in [
        ("ECDHE+AESGCM", true),
        ("ECDHE-RSA-CHACHA20-POLY1305", false),
    ] {
        let front = TlsFront::start_tls12(&m.url, ciphers);
        let mut env = irsa_env("irsa-tls12");
        env.set("AWS_ENDPOINT_URL_STS", &front.url)
            .set("AWS_CA_BUNDLE", front.ca.display().to_string());
        let r = env.run(&[
            "get-token",
            "--cluster-name",
            "dev",
            "--role-arn",
            DEV_ROLE,
            "-v",
        ]);
        if ok {
            assert_eq!(r.code, 0, "{ciphers}: {}", r.stderr);
            continue;
        }
        assert_failed(&r, 1, &[]);
        assert!(
            r.stderr.contains("share no TLS version or cipher suite")
                && !r.stderr.contains("AWS_CA_BUNDLE"),
            "{ciphers}: {}",
            r.stderr
        );
        assert_eq!(r.stderr.matches("(attempt ").count(), 1, "{}", r.stderr);
    }
}

#[test]
fn https_sts_with_a_private_ca_from_aws_ca_bundle() {
    let m = moto();
    let front = TlsFront::start(&m.url);
    let mut env = irsa_env("irsa-tls");
    env.set("AWS_ENDPOINT_URL_STS", &front.url);
    // Without the CA: the bundled Mozilla roots do not trust it; not retried.
    let r = env.run(&[
        "get-token",
        "--cluster-name",
        "dev",
        "--role-arn",
        DEV_ROLE,
        "-v",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stdout.is_empty());
    assert!(
        r.stderr.to_lowercase().contains("certificate") || r.stderr.contains("UnknownIssuer"),
        "{}",
        r.stderr
    );
    assert_eq!(
        r.stderr.matches("(attempt ").count(),
        1,
        "a TLS failure is not retried: {}",
        r.stderr
    );
    // With AWS_CA_BUNDLE naming it: the whole chain runs over TLS.
    env.set("AWS_CA_BUNDLE", front.ca.display().to_string());
    let r = env.run(&["get-token", "--cluster-name", "dev", "--role-arn", DEV_ROLE]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let token = token_of(&r.stdout);
    let url = eks_token::verify::decode(&token).unwrap();
    assert!(
        url.starts_with(&format!("{}/?Action=GetCallerIdentity", front.url)),
        "{url}"
    );
    // The verifier allows the TLS front as the loopback STS and asks it who signed.
    let v = verify_trusting(&token, "dev", Some(&front.url), &[], Some(&front.ca));
    assert_verifies(&v);
    assert!(
        v["arn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:sts::222222222222:assumed-role/testrole/"),
        "{v}"
    );
    // A file that is not PEM is a clear error.
    let junk = env.home.join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    env.set("AWS_CA_BUNDLE", junk.display().to_string());
    let r = env.run(&["get-token", "--cluster-name", "dev", "--no-cache"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("AWS_CA_BUNDLE") && r.stderr.contains("junk.pem"),
        "{}",
        r.stderr
    );
}
