//! Who signs decides what the cache serves. The STS stand-in is moto's server behind a
//! front that records the access key id signing each call: a change of identity below a
//! cached hop makes the next run assume the hop again, signed by the new identity; a
//! change of any other part of a key misses too; switching back may hit.

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;

use crate::common::fault::{FaultServer, Reply};
use crate::common::recorder::{ConnectProxy, StsRecorder};
use crate::common::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;

const ROLE: &str = "arn:aws:iam::222222222222:role/testrole";

/// A clean environment whose STS is a recording front for moto.
fn case() -> (TestEnv, StsRecorder) {
    let sts = StsRecorder::start(moto().port);
    let mut env = TestEnv::new();
    env.set("AWS_ENDPOINT_URL_STS", &sts.url)
        .set("AWS_REGION", "us-east-1");
    (env, sts)
}

/// `get-token --cluster-name dev ARGS`: must succeed with a token EKS accepts (the
/// verifier replays it through the front the environment names, which passes it to
/// moto).
fn token(env: &TestEnv, args: &[&str]) -> String {
    let mut all = vec!["get-token", "--cluster-name", "dev", "--output", "token"];
    all.extend_from_slice(args);
    let r = env.run(&all);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let t = token_of(&r.stdout);
    let sts = env
        .vars()
        .iter()
        .find(|(k, _)| k == "AWS_ENDPOINT_URL_STS")
        .map(|(_, v)| v.clone());
    assert_verifies(&verify(&t, "dev", sts.as_deref(), &[]));
    t
}

/// The access key id a token was signed with.
fn token_signer(token: &str) -> String {
    let url = eks_token::verify::decode(token).unwrap();
    let cred = url.split("X-Amz-Credential=").nth(1).unwrap();
    cred.split("%2F").next().unwrap().to_owned()
}

/// Who signed each AssumeRole of `role`, in order.
fn signers(sts: &StsRecorder, role: &str) -> Vec<String> {
    sts.of("AssumeRole")
        .into_iter()
        .filter(|c| c.role_arn.as_deref() == Some(role))
        .map(|c| c.signer.unwrap_or_default())
        .collect()
}

/// The access key id moto issued last for `role`.
fn issued_for(role: &str) -> String {
    moto()
        .sessions()
        .iter()
        .rev()
        .find(|s| s["role_arn"] == role)
        .map(|s| s["access_key_id"].as_str().unwrap().to_owned())
        .unwrap()
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

fn config_files(env: &mut TestEnv) -> (std::path::PathBuf, std::path::PathBuf) {
    let (c, k) = (env.home.join("config"), env.home.join("credentials"));
    env.set("AWS_CONFIG_FILE", c.display().to_string())
        .set("AWS_SHARED_CREDENTIALS_FILE", k.display().to_string());
    (c, k)
}

#[test]
fn profile_static_keys_switched_below_a_cached_hop() {
    let (mut env, sts) = case();
    let (_, creds) = config_files(&mut env);
    let keys = |akid: &str| {
        format!("[default]\naws_access_key_id = {akid}\naws_secret_access_key = secret-{akid}\n")
    };
    let (a, b) = ("AKIAAAAAAAAAAAAAAAAA", "AKIABBBBBBBBBBBBBBBB");
    write(&creds, &keys(a));
    let t1 = token(&env, &["--role-arn", ROLE]);
    write(&creds, &keys(b));
    let t2 = token(&env, &["--role-arn", ROLE]);
    assert_eq!(
        signers(&sts, ROLE),
        [a, b],
        "B's run assumes the role itself"
    );
    assert_ne!(token_signer(&t1), token_signer(&t2));
    // Back to A, whose session is still cached: no call.
    write(&creds, &keys(a));
    let t3 = token(&env, &["--role-arn", ROLE]);
    assert_eq!(signers(&sts, ROLE).len(), 2);
    assert_eq!(token_signer(&t3), token_signer(&t1));
}

#[test]
fn environment_keys_switched_below_a_cached_hop() {
    let (mut env, sts) = case();
    let (a, b) = ("AKIAENVAAAAAAAAAAAAA", "AKIAENVBBBBBBBBBBBBB");
    env.static_creds(a, "secret-a");
    token(&env, &["--role-arn", ROLE]);
    token(&env, &["--role-arn", ROLE]);
    env.static_creds(b, "secret-b");
    token(&env, &["--role-arn", ROLE]);
    assert_eq!(signers(&sts, ROLE), [a, b]);
    // The same access key id with another secret is another signer, too: only the
    // holder of the secret finds the entry.
    env.static_creds(b, "another-secret");
    token(&env, &["--role-arn", ROLE]);
    assert_eq!(signers(&sts, ROLE), [a, b, b]);
}

#[test]
fn credential_process_output_switched_below_a_cached_hop() {
    let (mut env, sts) = case();
    let (config, _) = config_files(&mut env);
    let akid_file = env.home.join("akid");
    let script = env.home.join("creds.sh");
    write(
        &script,
        &format!(
            "#!/bin/sh\nprintf '{{\"Version\":1,\"AccessKeyId\":\"%s\",\"SecretAccessKey\":\"s\"}}' \"$(cat {})\"\n",
            akid_file.display()
        ),
    );
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    write(
        &config,
        &format!("[default]\ncredential_process = {}\n", script.display()),
    );
    let (a, b) = ("AKIAPROCAAAAAAAAAAAA", "AKIAPROCBBBBBBBBBBBB");
    write(&akid_file, a);
    token(&env, &["--role-arn", ROLE]);
    token(&env, &["--role-arn", ROLE]);
    write(&akid_file, b);
    token(&env, &["--role-arn", ROLE]);
    assert_eq!(signers(&sts, ROLE), [a, b]);
    write(&akid_file, a);
    token(&env, &["--role-arn", ROLE]);
    assert_eq!(signers(&sts, ROLE), [a, b], "A's entry is still valid");
}

/// A JWT (unsigned: moto accepts any) with these claims.
fn jwt(sub: &str, exp: u64) -> String {
    let claims = json!({"iss": "https://oidc.eks.us-east-1.amazonaws.com/id/TEST",
        "sub": sub, "aud": ["sts.amazonaws.com"], "exp": exp});
    format!(
        "eyJhbGciOiJSUzI1NiJ9.{}.c2lnbmF0dXJl",
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

#[test]
fn web_identity_token_of_another_subject_at_the_same_path() {
    let (mut env, sts) = case();
    let irsa = "arn:aws:iam::111111111111:role/keys-irsa";
    let file = env.irsa(irsa, &jwt("system:serviceaccount:ci:a", 1));
    token(&env, &["--role-arn", ROLE]);
    assert_eq!(sts.of("AssumeRoleWithWebIdentity").len(), 1);
    let first = issued_for(irsa);
    // kubelet rotates the token of the same service account: the cache still serves.
    write(&file, &jwt("system:serviceaccount:ci:a", 2));
    token(&env, &["--role-arn", ROLE]);
    assert_eq!(sts.of("AssumeRoleWithWebIdentity").len(), 1);
    assert_eq!(signers(&sts, ROLE), std::slice::from_ref(&first));
    // Another service account's token at the same path: both hops again, the role
    // signed by the new web identity session.
    write(&file, &jwt("system:serviceaccount:ci:b", 1));
    token(&env, &["--role-arn", ROLE]);
    assert_eq!(sts.of("AssumeRoleWithWebIdentity").len(), 2);
    let second = issued_for(irsa);
    assert_ne!(first, second);
    assert_eq!(signers(&sts, ROLE), [first, second]);
}

fn sso_reply(akid: &str) -> Reply {
    Reply::Http {
        status: 200,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: json!({"roleCredentials": {
            "accessKeyId": akid,
            "secretAccessKey": format!("secret-{akid}"),
            "sessionToken": "sso-session-token",
            "expiration": (time::OffsetDateTime::now_utc().unix_timestamp() + 3600) * 1000,
        }})
        .to_string()
        .into_bytes(),
    }
}

#[test]
fn sso_account_or_role_switched_below_a_cached_hop() {
    let (mut env, sts) = case();
    let akids = [
        "ASIASSOACCOUNT000001",
        "ASIASSOACCOUNT000002",
        "ASIASSOACCOUNT000003",
    ];
    let portal = FaultServer::start(
        vec![sso_reply(akids[0]), sso_reply(akids[1])],
        sso_reply(akids[2]),
    );
    let (config, _) = config_files(&mut env);
    env.set("AWS_ENDPOINT_URL_SSO", &portal.url);
    let profile = |account: &str, role: &str| {
        format!(
            "[default]\nsso_session = corp\nsso_account_id = {account}\nsso_role_name = {role}\n\
             [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n"
        )
    };
    let cache = env.home.join(".aws/sso/cache");
    std::fs::create_dir_all(&cache).unwrap();
    let sha1 = hex::encode(ring::digest::digest(
        &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        b"corp",
    ));
    write(
        &cache.join(format!("{sha1}.json")),
        &json!({"accessToken": "sso-bearer", "expiresAt": eks_token::Token::rfc3339(
            time::OffsetDateTime::now_utc() + time::Duration::hours(2))})
        .to_string(),
    );
    write(&config, &profile("111111111111", "Deployer"));
    token(&env, &["--role-arn", ROLE]);
    token(&env, &["--role-arn", ROLE]);
    assert_eq!(portal.requests().len(), 1);
    write(&config, &profile("333333333333", "Deployer"));
    token(&env, &["--role-arn", ROLE]);
    write(&config, &profile("333333333333", "Admin"));
    token(&env, &["--role-arn", ROLE]);
    let asked: Vec<String> = portal.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        asked,
        [
            "/federation/credentials?account_id=111111111111&role_name=Deployer",
            "/federation/credentials?account_id=333333333333&role_name=Deployer",
            "/federation/credentials?account_id=333333333333&role_name=Admin",
        ]
    );
    assert_eq!(signers(&sts, ROLE), akids);
}

#[test]
fn middle_role_of_a_source_profile_chain_switched() {
    let (mut env, sts) = case();
    let (config, creds) = config_files(&mut env);
    let base = "AKIACHAINBASE0000001";
    write(
        &creds,
        &format!("[base]\naws_access_key_id = {base}\naws_secret_access_key = s\n"),
    );
    let chain = |mid: &str| {
        format!(
            "[profile mid]\nrole_arn = {mid}\nsource_profile = base\n\
             [profile top]\nrole_arn = {ROLE}\nsource_profile = mid\n"
        )
    };
    let (m1, m2) = (
        "arn:aws:iam::111111111111:role/keys-mid-1",
        "arn:aws:iam::111111111111:role/keys-mid-2",
    );
    write(&config, &chain(m1));
    token(&env, &["--profile", "top"]);
    token(&env, &["--profile", "top"]);
    let s1 = issued_for(m1);
    assert_eq!(signers(&sts, m1), [base]);
    assert_eq!(signers(&sts, ROLE), std::slice::from_ref(&s1));
    write(&config, &chain(m2));
    token(&env, &["--profile", "top"]);
    let s2 = issued_for(m2);
    assert_eq!(signers(&sts, m2), [base]);
    assert_eq!(
        signers(&sts, ROLE),
        [s1, s2],
        "the top role, signed by the new middle"
    );
}

/// Runs a baseline twice (one AssumeRole), then with `change` applied; `check` looks at
/// the front's calls.
fn changing_misses(
    change: impl FnOnce(&mut TestEnv, &mut Vec<String>),
    check: impl FnOnce(&StsRecorder),
) {
    let (mut env, sts) = case();
    env.static_creds("AKIAFIELDS0000000001", "fields/secret");
    let mut args: Vec<String> = [
        "--role-arn",
        ROLE,
        "-s",
        "first-session",
        "-e",
        "ext-1",
        // Over 15 minutes: an entry is used while 15 minutes of it remain.
        "--duration-seconds",
        "1800",
    ]
    .map(String::from)
    .to_vec();
    let run = |env: &TestEnv, a: &[String]| {
        token(env, &a.iter().map(String::as_str).collect::<Vec<_>>());
    };
    run(&env, &args);
    run(&env, &args);
    assert_eq!(sts.of("AssumeRole").len(), 1, "unchanged: one call");
    change(&mut env, &mut args);
    run(&env, &args);
    check(&sts);
}

/// The second AssumeRole at `sts`: the baseline made the first.
fn second_call(sts: &StsRecorder) -> crate::common::recorder::Call {
    let calls = sts.of("AssumeRole");
    assert_eq!(calls.len(), 2, "the changed key must miss the cache");
    calls[1].clone()
}

fn body_has(sts: &StsRecorder, param: &str) {
    let c = second_call(sts);
    assert!(
        c.request.body.contains(param),
        "{param} not in {}",
        c.request.body
    );
}

fn signed_for(sts: &StsRecorder, region: &str) {
    let c = second_call(sts);
    let auth = c.request.header("authorization").unwrap();
    assert!(
        auth.contains(&format!("/{region}/sts/aws4_request")),
        "{auth}"
    );
}

#[test]
fn another_role_misses() {
    let other = "arn:aws:iam::222222222222:role/other-role";
    changing_misses(
        |_, a| set_arg(a, "--role-arn", other),
        |sts| assert_eq!(second_call(sts).role_arn.as_deref(), Some(other)),
    );
}

#[test]
fn another_session_name_misses() {
    changing_misses(
        |_, a| set_arg(a, "-s", "second-session"),
        |sts| body_has(sts, "RoleSessionName=second-session"),
    );
}

#[test]
fn another_external_id_misses() {
    changing_misses(
        |_, a| set_arg(a, "-e", "ext-2"),
        |sts| body_has(sts, "ExternalId=ext-2"),
    );
}

#[test]
fn another_duration_misses() {
    changing_misses(
        |_, a| set_arg(a, "--duration-seconds", "2700"),
        |sts| body_has(sts, "DurationSeconds=2700"),
    );
}

#[test]
fn another_region_misses() {
    changing_misses(
        |env, _| {
            env.set("AWS_REGION", "us-west-2");
        },
        |sts| signed_for(sts, "us-west-2"),
    );
}

#[test]
fn another_partition_misses() {
    changing_misses(
        |env, _| {
            env.set("AWS_REGION", "cn-north-1");
        },
        |sts| signed_for(sts, "cn-north-1"),
    );
}

#[test]
fn another_endpoint_override_misses() {
    let second = StsRecorder::start(moto().port);
    let url = second.url.clone();
    changing_misses(
        move |env, _| {
            env.set("AWS_ENDPOINT_URL_STS", &url);
        },
        |sts| assert_eq!(sts.of("AssumeRole").len(), 1),
    );
    assert_eq!(
        second.of("AssumeRole").len(),
        1,
        "asked at the new endpoint"
    );
}

#[test]
fn another_mfa_serial_misses() {
    require_tool("script", "util-linux's script(1) gives the run a terminal");
    let (mut env, sts) = case();
    let (config, creds) = config_files(&mut env);
    write(
        &creds,
        "[base]\naws_access_key_id = AKIAMFAKEYS000000001\naws_secret_access_key = s\n",
    );
    let profile = |serial: &str| {
        format!("[profile mfa]\nrole_arn = {ROLE}\nsource_profile = base\nmfa_serial = {serial}\n")
    };
    let (alice, bob) = (
        "arn:aws:iam::111111111111:mfa/alice",
        "arn:aws:iam::111111111111:mfa/bob",
    );
    write(&config, &profile(alice));
    // Fill the cache on a terminal, typing the code.
    let out_file = env.home.join("token.out");
    let cmd = format!(
        "{} get-token --cluster-name dev --profile mfa --output token > {}",
        bin().display(),
        out_file.display()
    );
    let mut child = env
        .command(Path::new("script"), &["-qec", &cmd, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Typed once the prompt is on the terminal.
    let screen = collect_stdout(&mut child);
    wait_until("the MFA prompt", std::time::Duration::from_secs(10), || {
        String::from_utf8_lossy(&screen.lock().unwrap()).contains("Enter MFA code")
    });
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(b"123456\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&screen.lock().unwrap())
    );
    assert_eq!(sts.of("AssumeRole").len(), 1);
    // Without a terminal: the same serial is a hit, another serial needs a code.
    env.set(
        "KUBERNETES_EXEC_INFO",
        r#"{"apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}"#,
    );
    token(&env, &["--profile", "mfa"]);
    write(&config, &profile(bob));
    let r = env.run(&["get-token", "--cluster-name", "dev", "--profile", "mfa"]);
    assert_failed(&r, 1, &[]);
    assert!(
        r.stderr
            .contains("MFA code for arn:aws:iam::111111111111:mfa/bob"),
        "{}",
        r.stderr
    );
    assert_eq!(sts.of("AssumeRole").len(), 1);
}

/// A listener that must never be connected to.
struct Untouched(TcpListener);

impl Untouched {
    fn new() -> Self {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        Untouched(l)
    }
    /// A URL whose text names localhost but whose host is this listener.
    fn behind_at(&self) -> String {
        format!(
            "http://localhost:80@127.0.0.1:{}/",
            self.0.local_addr().unwrap().port()
        )
    }
    fn assert_untouched(&self, what: &str) {
        assert!(
            self.0.accept().is_err(),
            "{what}: the host behind '@' was connected to"
        );
    }
}

#[test]
fn urls_with_a_user_part_are_refused_before_any_request() {
    let listener = Untouched::new();
    let url = listener.behind_at();
    type Setup<'a> = Box<dyn Fn(&mut TestEnv) + 'a>;
    let cases: Vec<(&str, Setup)> = vec![
        (
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            Box::new(|e| {
                e.set("AWS_CONTAINER_CREDENTIALS_FULL_URI", &url);
            }),
        ),
        (
            "AWS_ENDPOINT_URL_STS",
            Box::new(|e| {
                e.static_creds("AKIAUSERINFO00000001", "s")
                    .set("AWS_ENDPOINT_URL_STS", &url);
            }),
        ),
        (
            "AWS_ENDPOINT_URL",
            Box::new(|e| {
                e.static_creds("AKIAUSERINFO00000001", "s")
                    .set("AWS_ENDPOINT_URL", &url);
            }),
        ),
        (
            "endpoint_url of `sts` in [services local] (profile `default`)",
            Box::new(|e| {
                let (config, _) = config_files(e);
                write(
                    &config,
                    &format!(
                        "[default]\naws_access_key_id = AKIAUSERINFO00000001\naws_secret_access_key = s\n\
                         services = local\n[services local]\nsts =\n  endpoint_url = {url}\n"
                    ),
                );
            }),
        ),
        (
            "endpoint_url of profile `default`",
            Box::new(|e| {
                let (config, _) = config_files(e);
                write(
                    &config,
                    &format!(
                        "[default]\naws_access_key_id = AKIAUSERINFO00000001\naws_secret_access_key = s\n\
                         endpoint_url = {url}\n"
                    ),
                );
            }),
        ),
        (
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            Box::new(|e| {
                e.unset("AWS_EC2_METADATA_DISABLED")
                    .set("AWS_EC2_METADATA_SERVICE_ENDPOINT", &url);
            }),
        ),
        (
            "ec2_metadata_service_endpoint of profile `default`",
            Box::new(|e| {
                let (config, _) = config_files(e);
                write(
                    &config,
                    &format!("[default]\nec2_metadata_service_endpoint = {url}\n"),
                );
                e.unset("AWS_EC2_METADATA_DISABLED")
                    .unset("AWS_EC2_METADATA_SERVICE_ENDPOINT");
            }),
        ),
    ];
    for (origin, set) in cases {
        let mut env = TestEnv::new();
        env.unset("AWS_REGION");
        set(&mut env);
        let r = env.run(&["get-token", "--cluster-name", "dev", "--role-arn", ROLE]);
        assert_failed(&r, 1, &[]);
        assert!(
            r.stderr.contains(origin) && r.stderr.contains("user part"),
            "{origin}: {}",
            r.stderr
        );
        assert!(!r.stderr.contains("localhost:80@"), "{}", r.stderr);
        listener.assert_untouched(origin);
    }
}

#[test]
fn instance_metadata_region_picks_the_regional_sts_endpoint_with_and_without_the_cache() {
    // Real STS hosts are reached through a CONNECT proxy that tunnels every
    // connection to moto's TLS front on loopback, and records the host asked for.
    let m = moto();
    let front = TlsFront::start_as(
        &m.url,
        &["sts.us-east-1.amazonaws.com", "sts.amazonaws.com"],
    );
    let proxy = ConnectProxy::start(front.port);
    let mut env = TestEnv::new();
    let (config, _) = config_files(&mut env);
    write(
        &config,
        &format!("[profile ec2]\nrole_arn = {ROLE}\ncredential_source = Ec2InstanceMetadata\n"),
    );
    env.unset("AWS_EC2_METADATA_DISABLED")
        .set("AWS_EC2_METADATA_SERVICE_ENDPOINT", &m.url)
        .set("AWS_PROFILE", "ec2")
        .set("HTTPS_PROXY", &proxy.url)
        .set("AWS_CA_BUNDLE", front.ca.display().to_string());
    let regional = "sts.us-east-1.amazonaws.com:443";
    for (i, extra) in [&[][..], &["--no-cache"]].iter().enumerate() {
        let mut args = vec![
            "get-token",
            "--cluster-name",
            "dev",
            "--output",
            "token",
            "-v",
        ];
        args.extend_from_slice(extra);
        let r = env.run(&args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stderr.contains("region us-east-1 from instance metadata"),
            "{}",
            r.stderr
        );
        assert_eq!(proxy.targets().len(), i + 1, "{:?}", proxy.targets());
        assert_eq!(proxy.targets()[i], regional);
        let url = eks_token::verify::decode(r.stdout.trim()).unwrap();
        assert!(
            url.starts_with("https://sts.us-east-1.amazonaws.com/?"),
            "{url}"
        );
        assert!(url.contains("%2Fus-east-1%2Fsts%2F"), "{url}");
    }
    // Warm: the role comes from the cache, IMDS still gives the region.
    let r = env.run(&["get-token", "--cluster-name", "dev", "--output", "token"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(proxy.targets().len(), 2, "a warm run calls no STS");
    let url = eks_token::verify::decode(r.stdout.trim()).unwrap();
    assert!(
        url.starts_with("https://sts.us-east-1.amazonaws.com/?"),
        "{url}"
    );
}
