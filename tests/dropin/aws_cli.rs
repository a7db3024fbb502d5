//! Each place eks-token differed from aws-cli, run side by side on the same files.

use super::*;

fn token_args(extra: &[&'static str]) -> Vec<&'static str> {
    let mut a = vec![
        "eks",
        "get-token",
        "--cluster-name",
        "dev",
        "--region",
        "us-east-1",
    ];
    a.extend_from_slice(extra);
    a
}

#[test]
fn an_explicit_profile_switches_environment_keys_off_as_in_aws_cli() {
    let mut env = TestEnv::new();
    write_aws_files(
        &mut env,
        "",
        "[dev]\naws_access_key_id = AKIAPROFILEDEV000001\naws_secret_access_key = p\n",
    );
    env.static_creds("AKIAENVKEYS000000001", "e");
    let aws = as_program(&mut env, "aws");
    for extra in [&["--profile", "dev"][..], &[]] {
        let args = token_args(extra);
        let ours = run_as(&env, &aws, &args);
        let theirs = aws_cli(&env, &args);
        assert_eq!(ours.code, 0, "{}", ours.stderr);
        assert_eq!(
            signer_of(&ours.stdout),
            signer_of(&theirs.stdout),
            "{extra:?}"
        );
    }
    assert_eq!(
        signer_of(&run_as(&env, &aws, &token_args(&["--profile", "dev"])).stdout),
        "AKIAPROFILEDEV000001"
    );
    // AWS_PROFILE does not switch them off (aws-cli: the keys still win)...
    env.set("AWS_PROFILE", "dev");
    let args = token_args(&[]);
    assert_eq!(
        signer_of(&run_as(&env, &aws, &args).stdout),
        signer_of(&aws_cli(&env, &args).stdout)
    );
    assert_eq!(
        signer_of(&run_as(&env, &aws, &args).stdout),
        "AKIAENVKEYS000000001"
    );
    // ...but a profile it names that does not exist is an error, keys or not.
    env.set("AWS_PROFILE", "nope");
    let ours = run_as(&env, &aws, &args);
    let theirs = aws_cli(&env, &args);
    assert_ne!(theirs.code, 0);
    assert_failed(&ours, 1, &[]);
    assert!(ours.stderr.contains("`nope`"), "{}", ours.stderr);
}

#[test]
fn any_cluster_id_that_can_travel_in_a_header_is_signed() {
    let mut env = TestEnv::new();
    env.static_creds("AKIACLUSTERIDS000001", "ids/secret");
    let keys = [("AKIACLUSTERIDS000001", "ids/secret")];
    for id in ["my-dev-cluster.example.com", "a.b", "team/dev cluster"] {
        for args in [
            vec!["token", "-i", id, "--region", "us-east-1"],
            vec![
                "eks",
                "get-token",
                "--cluster-name",
                id,
                "--region",
                "us-east-1",
            ],
        ] {
            let r = env.run(&args);
            assert_eq!(r.code, 0, "{id}: {}", r.stderr);
            assert_verifies(&verify(&token_of(&r.stdout), id, None, &keys));
            // aws-cli signs it too.
            let theirs = aws_cli(
                &env,
                &[
                    "eks",
                    "get-token",
                    "--cluster-name",
                    id,
                    "--region",
                    "us-east-1",
                ],
            );
            assert_eq!(theirs.code, 0, "{}", theirs.stderr);
        }
    }
    // What cannot travel in the header: refused in every form, before any request.
    let long = "x".repeat(1025);
    for id in ["", "a\nb", " dev", long.as_str()] {
        for args in [
            vec!["token", "-i", id],
            vec!["eks", "get-token", "--cluster-name", id],
            vec!["get-token", "--cluster-name", id],
            vec!["aws", "--cluster-name", id],
        ] {
            let r = env.run(&args);
            assert_failed(&r, 1, &[]);
            assert!(
                r.stderr.contains("cannot be signed into a token"),
                "{}",
                r.stderr
            );
        }
    }
}

#[test]
fn cluster_name_and_cluster_id_together_are_refused_as_in_aws_cli() {
    let mut env = TestEnv::new();
    env.static_creds("AKIABOTHNAMES0000001", "b");
    let args = [
        "eks",
        "get-token",
        "--cluster-name",
        "a",
        "--cluster-id",
        "b",
        "--region",
        "us-east-1",
    ];
    assert_ne!(aws_cli(&env, &args).code, 0);
    let r = env.run(&args);
    assert_failed(&r, 2, &[]);
    assert!(
        r.stderr.contains("--cluster-name and --cluster-id"),
        "{}",
        r.stderr
    );
}

#[test]
fn aws_cli_global_options_are_accepted_and_query_gives_the_bare_token() {
    let mut env = TestEnv::new();
    env.static_creds("AKIAGLOBALOPTIONS001", "g");
    let mut args = token_args(&[
        "--debug",
        "--no-cli-pager",
        "--no-paginate",
        "--color",
        "off",
        "--cli-read-timeout",
        "15",
        "--cli-connect-timeout",
        "5",
        "--cli-binary-format",
        "raw-in-base64-out",
        "--no-cli-auto-prompt",
        "--endpoint-url",
        "https://eks.example.com",
        "--query",
        "status.token",
        "--output",
        "text",
    ]);
    let r = env.run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 1);
    assert!(r.stdout.starts_with("k8s-aws-v1."));
    // The same form of aws-cli: the same kind of answer.
    // (aws-cli v1, the anchor installed here, lacks v2's pager, binary-format and
    // auto-prompt options; eks-token takes the options of both.)
    let v2_only = [
        "--debug",
        "--no-cli-pager",
        "--cli-binary-format",
        "raw-in-base64-out",
        "--no-cli-auto-prompt",
    ];
    args.retain(|a| !v2_only.contains(a));
    let theirs = aws_cli(&env, &args);
    assert!(
        theirs.stdout.starts_with("k8s-aws-v1."),
        "{}",
        theirs.stderr
    );
    // A field path of the answer, as JSON.
    let r = env.run(&token_args(&["--query", "status.expirationTimestamp"]));
    assert!(
        r.stdout.trim().starts_with('"') && r.stdout.trim().ends_with("Z\""),
        "{}",
        r.stdout
    );
    // Other JMESPath: a clear error.
    let r = env.run(&token_args(&["--query", "status.{t: token}"]));
    assert_failed(&r, 2, &[]);
    assert!(
        r.stderr.contains("--query") && r.stderr.contains("status.token"),
        "{}",
        r.stderr
    );
}

#[test]
fn keys_and_credential_process_in_one_profile_follow_botocores_order() {
    let m = moto();
    let process = |akid: &str| {
        format!(
            "credential_process = sh -c 'echo \"{{\\\"Version\\\": 1, \\\"AccessKeyId\\\": \\\"{akid}\\\", \\\"SecretAccessKey\\\": \\\"s\\\"}}\"'\n"
        )
    };
    let keys = |akid: &str| format!("aws_access_key_id = {akid}\naws_secret_access_key = k\n");
    // (config, credentials, the selected profile's signer, the source profile's signer)
    let cases = [
        // Keys in the credentials file come before credential_process...
        (
            format!("[profile p]\n{}", process("AKIAPROCESS000000001")),
            format!("[p]\n{}", keys("AKIACREDSFILE0000001")),
            "AKIACREDSFILE0000001",
        ),
        // ...keys in the config file after it.
        (
            format!(
                "[profile p]\n{}{}",
                process("AKIAPROCESS000000002"),
                keys("AKIACONFIGFILE000002")
            ),
            String::new(),
            "AKIAPROCESS000000002",
        ),
    ];
    for (config, credentials, want) in cases {
        let sts = StsRecorder::start(m.port);
        let mut env = TestEnv::new();
        let config = format!("{config}[profile hop]\nrole_arn = {DEV_ROLE}\nsource_profile = p\n");
        write_aws_files(&mut env, &config, &credentials);
        env.set("AWS_ENDPOINT_URL_STS", &sts.url);
        // The selected profile: the token's signer, ours and aws-cli's.
        let args = token_args(&["--profile", "p"]);
        let ours = env.run(&args);
        assert_eq!(ours.code, 0, "{}", ours.stderr);
        assert_eq!(signer_of(&ours.stdout), want);
        assert_eq!(signer_of(&aws_cli(&env, &args).stdout), want, "aws-cli");
        // A source profile: the same order, seen in who signed the AssumeRole.
        let r = env.run(&token_args(&["--profile", "hop", "--no-cache"]));
        assert_eq!(r.code, 0, "{}", r.stderr);
        let theirs = aws_cli(&env, &token_args(&["--profile", "hop"]));
        assert_eq!(theirs.code, 0, "{}", theirs.stderr);
        let signers: Vec<String> = sts
            .of("AssumeRole")
            .into_iter()
            .map(|c| c.signer.unwrap_or_default())
            .collect();
        assert_eq!(signers, [want, want], "ours, then aws-cli's");
    }
}

#[test]
fn the_legacy_aws_security_token_is_a_session_token() {
    let mut env = TestEnv::new();
    write_aws_files(
        &mut env,
        "",
        "[legacy]\naws_access_key_id = ASIALEGACYTOKEN00001\naws_secret_access_key = l\naws_security_token = legacy-session-token\n",
    );
    let args = token_args(&["--profile", "legacy"]);
    let ours = env.run(&args);
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    let url = eks_token::verify::decode(&token_of(&ours.stdout)).unwrap();
    assert!(
        url.contains("X-Amz-Security-Token=legacy-session-token"),
        "{url}"
    );
    let theirs = eks_token::verify::decode(&token_of(&aws_cli(&env, &args).stdout)).unwrap();
    assert!(
        theirs.contains("X-Amz-Security-Token=legacy-session-token"),
        "aws-cli: {theirs}"
    );
}

#[test]
fn the_sts_endpoint_is_the_one_aws_cli_presigns_for() {
    // botocore 1.43 (aws-cli 1.45) defaults sts_regional_endpoints to `regional`: the
    // legacy regions get their regional endpoint too; `legacy` brings the global one
    // back for them only; no region at all signs for the global endpoint.
    let origin = |stdout: &str| {
        let url = eks_token::verify::decode(&token_of(stdout)).unwrap();
        url.split("/?").next().unwrap().to_owned()
    };
    let mut env = TestEnv::new();
    env.static_creds("AKIAENDPOINTS0000001", "e");
    let cases: [(&[&str], Option<&str>, &str); 7] = [
        (
            &["--region", "us-west-1"],
            None,
            "https://sts.us-west-1.amazonaws.com",
        ),
        (
            &["--region", "us-east-1"],
            None,
            "https://sts.us-east-1.amazonaws.com",
        ),
        (
            &["--region", "eu-west-1"],
            None,
            "https://sts.eu-west-1.amazonaws.com",
        ),
        (
            &["--region", "af-south-1"],
            None,
            "https://sts.af-south-1.amazonaws.com",
        ),
        (&[], None, "https://sts.amazonaws.com"),
        (
            &["--region", "us-west-1"],
            Some("legacy"),
            "https://sts.amazonaws.com",
        ),
        (
            &["--region", "af-south-1"],
            Some("legacy"),
            "https://sts.af-south-1.amazonaws.com",
        ),
    ];
    for (extra, mode, want) in cases {
        match mode {
            Some(m) => env.set("AWS_STS_REGIONAL_ENDPOINTS", m),
            None => env.set("AWS_STS_REGIONAL_ENDPOINTS", ""),
        };
        let mut args = vec!["eks", "get-token", "--cluster-name", "dev"];
        args.extend_from_slice(extra);
        let ours = env.run(&args);
        assert_eq!(ours.code, 0, "{}", ours.stderr);
        let theirs = aws_cli(&env, &args);
        assert_eq!(theirs.code, 0, "{}", theirs.stderr);
        assert_eq!(
            origin(&ours.stdout),
            origin(&theirs.stdout),
            "{extra:?} {mode:?}"
        );
        assert_eq!(origin(&ours.stdout), want, "{extra:?} {mode:?}");
    }
}

#[test]
fn retry_settings_count_attempts_as_aws_cli_does() {
    use crate::common::fault::{FaultServer, Reply};
    // A role hop from static keys; STS always throttles.
    let config =
        |extra: &str| format!("[profile hop]\nrole_arn = {DEV_ROLE}\nsource_profile = p\n{extra}");
    let credentials = "[p]\naws_access_key_id = AKIARETRY00000000001\naws_secret_access_key = k\n";
    let assume_role_calls = |env: &TestEnv, server: &FaultServer, theirs: bool| {
        let before = server.requests().len();
        let args = token_args(&["--profile", "hop"]);
        let r = if theirs {
            aws_cli(env, &args)
        } else {
            env.run(&[&args[..], &["--no-cache"]].concat())
        };
        assert_ne!(r.code, 0, "{}", r.stdout);
        assert!(r.stdout.is_empty(), "{}", r.stdout);
        let calls = server.requests()[before..]
            .iter()
            .filter(|q| q.action().as_deref() == Some("AssumeRole"))
            .count();
        (calls, r.stderr)
    };
    let server = FaultServer::start(vec![], Reply::throttled(10));
    for (extra_config, var, want) in [
        ("", Some(("AWS_MAX_ATTEMPTS", "2")), 2),
        ("max_attempts = 3\n", None, 3),
        ("max_attempts = 3\n", Some(("AWS_MAX_ATTEMPTS", "1")), 1),
        (
            "retry_mode = standard\n",
            Some(("AWS_MAX_ATTEMPTS", "2")),
            2,
        ),
    ] {
        let mut env = TestEnv::new();
        write_aws_files(&mut env, &config(extra_config), credentials);
        env.set("AWS_ENDPOINT_URL_STS", &server.url);
        if let Some((k, v)) = var {
            env.set(k, v);
        }
        let (ours, stderr) = assume_role_calls(&env, &server, false);
        assert_eq!(ours, want, "eks-token, {extra_config:?} {var:?}: {stderr}");
        assert!(stderr.contains("Throttling"), "{stderr}");
        let (theirs, stderr) = assume_role_calls(&env, &server, true);
        assert_eq!(theirs, want, "aws-cli, {extra_config:?} {var:?}: {stderr}");
    }
    // Values botocore refuses: both refuse before any request.
    for (k, v) in [("AWS_MAX_ATTEMPTS", "0"), ("AWS_RETRY_MODE", "fast")] {
        let mut env = TestEnv::new();
        write_aws_files(&mut env, &config(""), credentials);
        env.set("AWS_ENDPOINT_URL_STS", &server.url).set(k, v);
        for theirs in [false, true] {
            let (calls, stderr) = assume_role_calls(&env, &server, theirs);
            assert_eq!(calls, 0, "{k}={v} (aws-cli: {theirs}): {stderr}");
        }
    }
}

/// The layout of `eks get-token`'s output, byte for byte but for what differs between
/// two runs: the token and its expiration (masked in text, left out of JSON).
fn layout(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| !l.contains("\"expirationTimestamp\"") && !l.contains("\"token\""))
        .map(|l| {
            l.split('\t')
                .map(|f| {
                    if f.starts_with("k8s-aws-v1.") || parse_rfc3339(f).is_some() {
                        "*"
                    } else {
                        f
                    }
                })
                .collect::<Vec<_>>()
                .join("\t")
        })
        .collect()
}

#[test]
fn the_default_output_comes_from_aws_default_output_or_the_profile_as_in_aws_cli() {
    let m = moto();
    let sts = ["sts", "get-caller-identity", "--region", "us-east-1"];
    let token = [
        "eks",
        "get-token",
        "--cluster-name",
        "dev",
        "--region",
        "us-east-1",
    ];
    // (profile's output, AWS_DEFAULT_OUTPUT, extra arguments)
    let cases: [(Option<&str>, Option<&str>, &[&str]); 8] = [
        (None, None, &[]),
        (None, None, &["--query", "status.token", "--output", "text"]),
        (None, Some("text"), &[]),
        (Some("text"), None, &[]),
        (Some("text"), Some("json"), &[]),
        (None, Some("text"), &["--output", "json"]),
        (Some("json"), None, &["--output", "text"]),
        (Some("text"), None, &["--query", "Arn"]),
    ];
    // The cases at once: each waits on two programs, not on the others.
    std::thread::scope(|scope| {
        for (profile_output, var, extra) in cases {
            let (sts, token, m) = (&sts, &token, &m);
            scope.spawn(move || {
                let mut env = TestEnv::new();
                let config =
                    profile_output.map_or(String::new(), |o| format!("[default]\noutput = {o}\n"));
                write_aws_files(&mut env, &config, "");
                env.static_creds("AKIAOUTPUT0000000001", "output/secret")
                    .set("AWS_ENDPOINT_URL_STS", &m.url);
                if let Some(v) = var {
                    env.set("AWS_DEFAULT_OUTPUT", v);
                }
                let aws = as_program(&mut env, "aws");
                let what = format!("{profile_output:?} {var:?} {extra:?}");
                // get-caller-identity: byte for byte what aws-cli prints.
                let args = [&sts[..], extra].concat();
                let ours = run_as(&env, &aws, &args);
                let theirs = aws_cli(&env, &args);
                assert_eq!(ours.code, 0, "{what}: {}", ours.stderr);
                assert_eq!(theirs.code, 0, "{what}: {}", theirs.stderr);
                assert_eq!(ours.stdout, theirs.stdout, "{what}");
                // get-token: the same layout (the tokens differ by their signing time).
                let args = [&token[..], extra].concat();
                let ours = run_as(&env, &aws, &args);
                let theirs = aws_cli(&env, &args);
                assert_eq!(ours.code, 0, "{what}: {}", ours.stderr);
                assert_eq!(layout(&ours.stdout), layout(&theirs.stdout), "{what}");
            });
        }
    });
    // Formats eks-token does not print, and unknown names: both tools refuse, nothing on
    // stdout; eks-token before any request.
    for (profile_output, var) in [(None, Some("table")), (Some("foo"), None)] {
        let mut env = TestEnv::new();
        let config = profile_output.map_or(String::new(), |o| format!("[default]\noutput = {o}\n"));
        write_aws_files(&mut env, &config, "");
        env.static_creds("AKIAOUTPUT0000000001", "output/secret")
            .set("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9");
        if let Some(v) = var {
            env.set("AWS_DEFAULT_OUTPUT", v);
        }
        let aws = as_program(&mut env, "aws");
        let ours = run_as(&env, &aws, &sts);
        assert_failed(&ours, 1, &["output/secret"]);
        let named = if var.is_some() {
            "AWS_DEFAULT_OUTPUT"
        } else {
            "`output`"
        };
        assert!(ours.stderr.contains(named), "{}", ours.stderr);
        assert!(
            !ours.stderr.contains("127.0.0.1:9"),
            "no request: {}",
            ours.stderr
        );
        if var == Some("foo") || profile_output == Some("foo") {
            let theirs = aws_cli(&env, &sts);
            assert_ne!(theirs.code, 0);
            assert!(theirs.stdout.is_empty(), "{}", theirs.stdout);
        }
    }
}

#[test]
fn a_repeated_role_arn_is_the_last_one_as_in_aws_cli() {
    let mut env = TestEnv::new();
    env.static_creds("AKIAREPEATEDROLE0001", "r")
        .set("AWS_ENDPOINT_URL_STS", &moto().url);
    let aws = as_program(&mut env, "aws");
    let (first, last) = (
        "arn:aws:iam::111111111111:role/repeated-first",
        "arn:aws:iam::111111111111:role/repeated-last",
    );
    let args = token_args(&["--role-arn", first, "--role-arn", last]);
    let theirs = aws_cli(&env, &args);
    assert_eq!(theirs.code, 0, "{}", theirs.stderr);
    assert_eq!((sessions_of(first), sessions_of(last)), (0, 1), "aws-cli");
    let ours = run_as(&env, &aws, &args);
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    assert_eq!((sessions_of(first), sessions_of(last)), (0, 2), "eks-token");
}
