//! Credential sources end to end through the binary: a profile role chain and IMDS
//! against moto, container credentials, credential_process, SSO, MFA, and a chain with
//! no source at all while IMDS hangs.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use crate::common::fault::{FaultServer, Reply};
use crate::common::*;
use serde_json::json;

#[test]
fn profile_chain_static_keys_to_role_a_to_role_b() {
    let m = moto();
    let mut env = TestEnv::new();
    write_aws_files(
        &mut env,
        &format!(
            "[profile a]\nrole_arn = arn:aws:iam::111111111111:role/sources-hub\nsource_profile = base\n\
             role_session_name = hub-session\n\n\
             [profile dev]\nrole_arn = arn:aws:iam::222222222222:role/sources-dev\nsource_profile = a\n\
             external_id = dev-ext\nregion = eu-west-1\n\
             [default]\nregion = us-east-1\n[profile base]\nsts_regional_endpoints = regional\n\
             [services local-sts]\nsts =\n  endpoint_url = {}\n",
            m.url
        ),
        "[base]\naws_access_key_id = AKIAPROFILEBASE00001\naws_secret_access_key = profile/base/secret\n",
    );
    // The STS endpoint comes from the environment here; the profile's `services`
    // section is checked below.
    env.set("AWS_ENDPOINT_URL_STS", &m.url);
    let r = env.run(&[
        "get-token",
        "--cluster-name",
        "dev",
        "--profile",
        "dev",
        "-v",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = verify(&token_of(&r.stdout), "dev", Some(&m.url), &[]);
    assert_verifies(&v);
    assert_eq!(
        v["arn"],
        "arn:aws:sts::222222222222:assumed-role/sources-dev/eks-token"
    );
    // The profile's region was used.
    assert_eq!(v["region"], "eu-west-1");
    let sessions = m.sessions();
    let hub = sessions
        .iter()
        .find(|s| {
            s["role_arn"] == "arn:aws:iam::111111111111:role/sources-hub"
                && s["session_name"] == "hub-session"
        })
        .expect("the hub hop");
    assert!(hub["external_id"].is_null());
    let dev = sessions
        .iter()
        .find(|s| s["access_key_id"] == v["access_key_id"])
        .unwrap();
    assert_eq!(dev["external_id"], "dev-ext");
    assert!(
        r.stderr
            .contains("profile dev: assumed arn:aws:iam::222222222222:role/sources-dev"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("profile/base/secret"));

    // A second run takes both hops from the cache: no new session at moto (the roles
    // are this test's own: other tests share moto).
    let count = |role: &str| {
        m.sessions()
            .iter()
            .filter(|s| s["role_arn"] == role)
            .count()
    };
    let (hubs, devs) = (
        count("arn:aws:iam::111111111111:role/sources-hub"),
        count("arn:aws:iam::222222222222:role/sources-dev"),
    );
    let r = env.run(&[
        "get-token",
        "--cluster-name",
        "dev",
        "--profile",
        "dev",
        "-v",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("cache hit: profile dev role arn:aws:iam::222222222222:role/sources-dev"),
        "{}",
        r.stderr
    );
    assert_eq!(count("arn:aws:iam::111111111111:role/sources-hub"), hubs);
    assert_eq!(count("arn:aws:iam::222222222222:role/sources-dev"), devs);
    assert_verifies(&verify(&token_of(&r.stdout), "dev", Some(&m.url), &[]));

    // A --role-arn hop runs after the profile's chain; AWS_PROFILE selects the profile.
    env.set("AWS_PROFILE", "a");
    let r = env.run(&[
        "get-token",
        "--cluster-name",
        "dev",
        "--role-arn",
        "arn:aws:iam::222222222222:role/sources-dev",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = verify(&token_of(&r.stdout), "dev", Some(&m.url), &[]);
    assert_verifies(&v);
    assert_eq!(
        v["arn"],
        "arn:aws:sts::222222222222:assumed-role/sources-dev/EKSGetTokenAuth"
    );
}

#[test]
fn profile_services_section_sets_the_sts_endpoint() {
    let m = moto();
    let mut env = TestEnv::new();
    write_aws_files(
        &mut env,
        &format!(
            "[profile svc]\nservices = local-sts\nregion = us-west-2\n\
             aws_access_key_id = AKIASERVICESSECTION1\naws_secret_access_key = svc-secret\n\
             [services local-sts]\nsts =\n  endpoint_url = {}\n",
            m.url
        ),
        "",
    );
    let r = env.run(&[
        "get-token",
        "--cluster-name",
        "dev",
        "--profile",
        "svc",
        "--role-arn",
        "arn:aws:iam::222222222222:role/testrole",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let url = eks_token::verify::decode(&token_of(&r.stdout)).unwrap();
    assert!(url.starts_with(&format!("{}/?", m.url)), "{url}");
}

#[test]
fn explicit_profile_that_does_not_exist_is_an_error() {
    let mut env = TestEnv::new();
    write_aws_files(&mut env, "[profile one]\nregion = us-east-1\n", "");
    let r = env.run(&["get-token", "--cluster-name", "dev", "--profile", "two"]);
    assert_failed(&r, 1, &[]);
    assert!(
        r.stderr.contains("`two`") && r.stderr.contains("not in the config files"),
        "{}",
        r.stderr
    );
    // A cycle names the profiles.
    write_aws_files(
        &mut env,
        "[profile x]\nrole_arn = arn:aws:iam::111111111111:role/x\nsource_profile = y\n\
         [profile y]\nrole_arn = arn:aws:iam::111111111111:role/y\nsource_profile = x\n",
        "",
    );
    let r = env.run(&["get-token", "--cluster-name", "dev", "--profile", "x"]);
    assert_failed(&r, 1, &[]);
    assert!(
        r.stderr.contains("infinite loop: x -> y -> x"),
        "{}",
        r.stderr
    );
}

#[test]
fn imds_source_against_moto() {
    let m = moto();
    let mut env = TestEnv::new();
    env.unset("AWS_EC2_METADATA_DISABLED")
        .set("AWS_EC2_METADATA_SERVICE_ENDPOINT", &m.url)
        .set("AWS_ENDPOINT_URL_STS", &m.url);
    let r = env.run(&["get-token", "--cluster-name", "dev", "-v"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("instance metadata role"), "{}", r.stderr);
    // No region configured: IMDS's placement/region was used.
    assert!(
        r.stderr.contains("region us-east-1 from instance metadata"),
        "{}",
        r.stderr
    );
    let v = verify(
        &token_of(&r.stdout),
        "dev",
        Some(&m.url),
        &[("test-key", "test-secret-key")],
    );
    assert_verifies(&v);
    assert_eq!(v["region"], "us-east-1");
    // The same through a profile's credential_source, then a role.
    write_aws_files(
        &mut env,
        "[profile ec2]\nrole_arn = arn:aws:iam::222222222222:role/testrole\ncredential_source = Ec2InstanceMetadata\nregion = us-east-1\n",
        "",
    );
    let r = env.run(&["get-token", "--cluster-name", "dev", "--profile", "ec2"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_verifies_as_dev_role(&token_of(&r.stdout), "dev", &m.url);
}

fn container_reply() -> Reply {
    Reply::Http {
        status: 200,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: json!({
            "AccessKeyId": "ASIACONTAINER0000001",
            "SecretAccessKey": "container/secret",
            "Token": "container-session-token",
            "Expiration": in_an_hour(),
            "AccountId": "111111111111",
        })
        .to_string()
        .into_bytes(),
    }
}

#[test]
fn container_credentials_with_a_rotating_token_file() {
    let agent = FaultServer::start(vec![], container_reply());
    let mut env = TestEnv::new();
    let token_file = env.home.join("eks-pod-identity-token");
    std::fs::write(&token_file, "pod-identity-jwt-1").unwrap();
    env.set(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        format!("{}/v1/credentials", agent.url),
    )
    .set(
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        token_file.display().to_string(),
    )
    .set(
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "ignored-when-a-file-is-set",
    )
    .set("AWS_REGION", "us-east-1");
    let r = env.run(&["get-token", "--cluster-name", "dev"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = verify(
        &token_of(&r.stdout),
        "dev",
        None,
        &[("ASIACONTAINER0000001", "container/secret")],
    );
    assert_verifies(&v);
    // kubelet rotates the file: the next run sends the new token.
    std::fs::write(&token_file, "pod-identity-jwt-2\n").unwrap();
    let r = env.run(&["get-token", "--cluster-name", "dev"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let reqs = agent.requests();
    assert_eq!(reqs[0].path, "/v1/credentials");
    assert_eq!(reqs[0].header("authorization"), Some("pod-identity-jwt-1"));
    assert_eq!(reqs[1].header("authorization"), Some("pod-identity-jwt-2"));
    assert_eq!(reqs[0].header("accept"), Some("application/json"));
    // A line break inside the token is refused before any request.
    std::fs::write(&token_file, "evil\r\nX-Injected: 1").unwrap();
    let r = env.run(&["get-token", "--cluster-name", "dev"]);
    assert_failed(&r, 1, &["evil"]);
    assert!(r.stderr.contains("line break"), "{}", r.stderr);
    assert_eq!(agent.requests().len(), 2);
    // Plain http to a host that is not loopback or the agent's is refused.
    env.set(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "http://192.0.2.10/creds",
    );
    let r = env.run(&["get-token", "--cluster-name", "dev"]);
    assert_failed(&r, 1, &[]);
    assert!(r.stderr.contains("not to 192.0.2.10"), "{}", r.stderr);
}

fn script(env: &TestEnv, name: &str, body: &str) -> String {
    let p = env.home.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p.display().to_string()
}

#[test]
fn credential_process_success_failure_bad_json_and_hang() {
    let mut env = TestEnv::new();
    env.set("AWS_REGION", "us-east-1");
    let ok = script(
        &env,
        "ok.sh",
        &format!(
            "echo 'fetching for' \"$1\" >&2\ncat <<EOF\n{{\"Version\": 1, \"AccessKeyId\": \"AKIAPROCESS000000001\", \"SecretAccessKey\": \"process/secret\", \"SessionToken\": \"process-token\", \"Expiration\": \"{}\"}}\nEOF",
            in_an_hour()
        ),
    );
    let fail = script(&env, "fail.sh", "echo 'vault says no' >&2\nexit 3");
    let bad = script(&env, "bad.sh", "echo 'SECRETSAUCE not json'");
    let hang = script(&env, "hang.sh", "sleep 30");
    write_aws_files(
        &mut env,
        &format!(
            "[profile ok]\ncredential_process = {ok} \"arg with space\"\n\
             [profile fail]\ncredential_process = {fail}\n\
             [profile bad]\ncredential_process = {bad}\n\
             [profile hang]\ncredential_process = {hang}\n"
        ),
        "",
    );
    let r = env.run(&["get-token", "--cluster-name", "dev", "--profile", "ok"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Its stderr passes through; the argument with a space arrived whole.
    assert!(
        r.stderr.contains("fetching for arg with space"),
        "{}",
        r.stderr
    );
    let v = verify(
        &token_of(&r.stdout),
        "dev",
        None,
        &[("AKIAPROCESS000000001", "process/secret")],
    );
    assert_verifies(&v);

    let r = env.run(&["get-token", "--cluster-name", "dev", "--profile", "fail"]);
    assert_failed(&r, 1, &[]);
    assert!(
        r.stderr.contains("vault says no") && r.stderr.contains("exit status: 3"),
        "{}",
        r.stderr
    );

    let r = env.run(&["get-token", "--cluster-name", "dev", "--profile", "bad"]);
    assert_failed(&r, 1, &["SECRETSAUCE"]);
    assert!(r.stderr.contains("not JSON"), "{}", r.stderr);

    let r = env.run(&[
        "get-token",
        "--cluster-name",
        "dev",
        "--profile",
        "hang",
        "--timeout",
        "2s",
    ]);
    assert_failed(&r, 1, &[]);
    assert!(r.stderr.contains("did not finish"), "{}", r.stderr);
    assert!(r.elapsed < Duration::from_secs(4), "{:?}", r.elapsed);
}

#[test]
fn sso_profile_with_a_cached_token_and_an_expired_one() {
    let portal = FaultServer::start(
        vec![],
        Reply::Http {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: json!({"roleCredentials": {
                "accessKeyId": "ASIASSO0000000000001",
                "secretAccessKey": "sso/secret",
                "sessionToken": "sso-session-token",
                "expiration": (time::OffsetDateTime::now_utc().unix_timestamp() + 3600) * 1000,
            }})
            .to_string()
            .into_bytes(),
        },
    );
    let mut env = TestEnv::new();
    write_aws_files(
        &mut env,
        "[profile sso]\nsso_session = corp\nsso_account_id = 222222222222\nsso_role_name = Deployer\nregion = us-east-1\n\
         [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n",
        "",
    );
    env.set("AWS_ENDPOINT_URL_SSO", &portal.url);
    // `aws sso login` caches the token under the SHA-1 of the session name.
    let cache = env.home.join(".aws/sso/cache");
    std::fs::create_dir_all(&cache).unwrap();
    let file = cache.join("6f1c7a5b8e9b53f03b2a3f0d5f1c1f4e4a1e9a2b.json");
    let sha1 = {
        let d = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, b"corp");
        hex::encode(d.as_ref())
    };
    let file = file.with_file_name(format!("{sha1}.json"));
    let write_cache = |expires: time::OffsetDateTime| {
        std::fs::write(
            &file,
            json!({"accessToken": "sso-bearer-SECRET", "expiresAt": eks_token::Token::rfc3339(expires),
                   "region": "eu-west-1", "startUrl": "https://corp.awsapps.com/start"})
            .to_string(),
        )
        .unwrap();
    };
    write_cache(time::OffsetDateTime::now_utc() + time::Duration::hours(2));
    let r = env.run(&["get-token", "--cluster-name", "dev", "--profile", "sso"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = verify(
        &token_of(&r.stdout),
        "dev",
        None,
        &[("ASIASSO0000000000001", "sso/secret")],
    );
    assert_verifies(&v);
    let req = &portal.requests()[0];
    assert_eq!(
        req.path,
        "/federation/credentials?account_id=222222222222&role_name=Deployer"
    );
    assert_eq!(
        req.header("x-amz-sso_bearer_token"),
        Some("sso-bearer-SECRET")
    );

    // Expired: a clear message, and the portal is not called.
    // (--no-cache: the role credentials of the first run are cached, valid for an hour.)
    write_cache(time::OffsetDateTime::now_utc() - time::Duration::minutes(1));
    let r = env.run(&[
        "get-token",
        "--cluster-name",
        "dev",
        "--profile",
        "sso",
        "--no-cache",
    ]);
    assert_failed(&r, 1, &["sso-bearer-SECRET"]);
    assert!(
        r.stderr.contains("expired") && r.stderr.contains("aws sso login --profile sso"),
        "{}",
        r.stderr
    );
    assert_eq!(portal.requests().len(), 1);

    // The portal refusing the token says the same.
    write_cache(time::OffsetDateTime::now_utc() + time::Duration::hours(2));
    portal.set(
        vec![],
        Reply::Http {
            status: 401,
            headers: vec![],
            body: b"{\"message\":\"Session token not found or invalid\"}".to_vec(),
        },
    );
    let r = env.run(&[
        "get-token",
        "--cluster-name",
        "dev",
        "--profile",
        "sso",
        "--no-cache",
    ]);
    assert_failed(&r, 1, &["sso-bearer-SECRET"]);
    assert!(
        r.stderr.contains("no longer valid") && r.stderr.contains("aws sso login"),
        "{}",
        r.stderr
    );
}

#[test]
fn mfa_without_a_terminal_says_what_to_do() {
    let m = moto();
    let mut env = TestEnv::new();
    write_aws_files(
        &mut env,
        "[profile mfa]\nrole_arn = arn:aws:iam::222222222222:role/testrole\nsource_profile = base\nmfa_serial = arn:aws:iam::111111111111:mfa/alice\n",
        "[base]\naws_access_key_id = AKIAMFABASE000000001\naws_secret_access_key = mfa/secret\n",
    );
    env.set("AWS_ENDPOINT_URL_STS", &m.url);
    // setsid: no controlling terminal, as under kubectl with interactiveMode Never.
    let out = env
        .command(
            std::path::Path::new("setsid"),
            &[
                "-w",
                bin().to_str().unwrap(),
                "get-token",
                "--cluster-name",
                "dev",
                "--profile",
                "mfa",
            ],
        )
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        stderr.contains("MFA") && stderr.contains("interactiveMode: IfAvailable"),
        "{stderr}"
    );
    // kubectl saying "not interactive" gets the same answer even with a terminal.
    env.set(
        "KUBERNETES_EXEC_INFO",
        r#"{"apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}"#,
    );
    let r = env.run(&["get-token", "--cluster-name", "dev", "--profile", "mfa"]);
    assert_failed(&r, 1, &["mfa/secret"]);
    assert!(r.stderr.contains("interactiveMode"), "{}", r.stderr);
}

#[test]
fn mfa_code_is_read_from_the_terminal() {
    require_tool("script", "util-linux's script(1) gives the run a terminal");
    let m = moto();
    let mut env = TestEnv::new();
    write_aws_files(
        &mut env,
        "[profile mfa]\nrole_arn = arn:aws:iam::222222222222:role/testrole\nsource_profile = base\nmfa_serial = arn:aws:iam::111111111111:mfa/alice\n",
        "[base]\naws_access_key_id = AKIAMFABASE000000002\naws_secret_access_key = mfa/secret\n",
    );
    env.set("AWS_ENDPOINT_URL_STS", &m.url);
    let out_file = env.home.join("token.out");
    let cmd = format!(
        "{} get-token --cluster-name dev --profile mfa --output token > {}",
        bin().display(),
        out_file.display()
    );
    // script(1) runs the command on a pseudo-terminal and types our stdin into it.
    let mut child = env
        .command(std::path::Path::new("script"), &["-qec", &cmd, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Typed once the prompt is on the terminal.
    let screen = collect_stdout(&mut child);
    wait_until("the MFA prompt", std::time::Duration::from_secs(10), || {
        String::from_utf8_lossy(&screen.lock().unwrap()).contains("Enter MFA code")
    });
    use std::io::Write;
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(b"123456\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let screen = String::from_utf8_lossy(&screen.lock().unwrap()).into_owned();
    assert!(out.status.success(), "{screen}");
    assert!(
        screen.contains("Enter MFA code for arn:aws:iam::111111111111:mfa/alice"),
        "{screen}"
    );
    let token = std::fs::read_to_string(&out_file).unwrap();
    assert_verifies_as_dev_role(token.trim(), "dev", &m.url);
}

#[test]
fn no_source_and_a_hanging_imds_fails_fast_listing_every_source() {
    let imds = FaultServer::start(vec![], Reply::Hang);
    let mut env = TestEnv::new();
    env.unset("AWS_EC2_METADATA_DISABLED")
        .set("AWS_EC2_METADATA_SERVICE_ENDPOINT", &imds.url);
    let r = env.run(&["get-token", "--cluster-name", "dev"]);
    assert_failed(&r, 1, &[]);
    for source in [
        "environment",
        "profile",
        "web identity",
        "container",
        "IMDS",
    ] {
        assert!(
            r.stderr.contains(&format!("{source} (")),
            "{source}: {}",
            r.stderr
        );
    }
    assert!(r.stderr.contains(&imds.url), "{}", r.stderr);
    assert!(r.elapsed < Duration::from_secs(3), "{:?}", r.elapsed);
    assert_eq!(
        imds.requests().len(),
        1,
        "one token request, no retries on a timeout"
    );
}
