//! Chains built to be slow, signals that would dump memory, credentials that expired.

use super::*;

/// A config of `depth` profiles, each the source of the one before; the last has
/// `bottom`.
fn deep_chain(dir: &Path, depth: usize, bottom: &str) -> PathBuf {
    let mut text = String::with_capacity(depth * 100);
    for i in 0..depth - 1 {
        text.push_str(&format!(
            "[profile p{i}]\nrole_arn = arn:aws:iam::111111111111:role/r{i}\nsource_profile = p{}\n",
            i + 1
        ));
    }
    text.push_str(&format!(
        "[profile p{}]\nrole_arn = arn:aws:iam::111111111111:role/last\n{bottom}\n",
        depth - 1
    ));
    let p = dir.join(format!("config-{depth}"));
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn deep_profile_chains_are_planned_in_linear_time_within_the_deadline() {
    let mut env = TestEnv::new();
    env.set("AWS_PROFILE", "p0")
        .set("AWS_REGION", "us-east-1")
        .set("AWS_ENDPOINT_URL_STS", &moto().url);
    // 50,000 roles to assume, with keys at the bottom: the deadline ends it.
    let keys = "aws_access_key_id = AKIADEEPCHAIN0000001\naws_secret_access_key = s";
    let config = deep_chain(
        env.home.path(),
        50_000,
        &format!("source_profile = keys\n[profile keys]\n{keys}"),
    );
    env.set("AWS_CONFIG_FILE", config.display().to_string());
    let r = env.run(&["get-token", "--cluster-name", "dev", "--timeout", "3"]);
    assert_failed(&r, 1, &[]);
    assert!(r.elapsed < Duration::from_secs(4), "{:?}", r.elapsed);
    assert!(r.stderr.contains("deadline"), "{}", r.stderr);

    // Planning alone (the bottom fails at once, before any request): linear. Timed
    // in CPU seconds (GNU time's user + system), which a loaded machine's waiting
    // does not inflate as it does wall time; three runs summed.
    let plan_time = |depth: usize| {
        let config = deep_chain(env.home.path(), depth, "credential_source = Environment");
        let mut e = TestEnv::new();
        e.set("AWS_PROFILE", "p0")
            .set("AWS_CONFIG_FILE", config.display().to_string());
        let bin = bin().display().to_string();
        let args = [
            "-f",
            "cpu %U %S",
            &bin,
            "get-token",
            "--cluster-name",
            "dev",
            "--timeout",
            "30",
        ];
        (0..3)
            .map(|_| {
                let out = e
                    .command(Path::new("/usr/bin/time"), &args)
                    .output()
                    .unwrap();
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert_eq!(out.status.code(), Some(1), "{stderr}");
                assert!(stderr.contains("credential_source Environment"), "{stderr}");
                let cpu = stderr.lines().last().and_then(|l| l.strip_prefix("cpu "));
                cpu.unwrap_or_else(|| panic!("no CPU time in {stderr}"))
                    .split(' ')
                    .map(|t| t.parse::<f64>().unwrap())
                    .sum::<f64>()
            })
            .sum::<f64>()
            .max(0.01)
    };
    // Five times the profiles: linear is at most 5x (less: start-up is shared), a
    // quadratic search 25x; the wide gap absorbs the 10 ms resolution of the times.
    let (fifth, full) = (plan_time(10_000), plan_time(50_000));
    assert!(
        full / fifth < 12.0,
        "planning 50,000 took {full:.2} CPU s, 10,000 {fifth:.2} CPU s (three runs each)"
    );
}

/// Whether this machine writes core files into the working directory (the test below
/// is meaningful only if a process that may dump core does).
fn core_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("core"))
        .collect()
}

/// Starts `program args` with core dumps allowed (`ulimit -c unlimited`) in `dir`.
fn spawn_dumpable(env: &TestEnv, dir: &Path, program: &Path, args: &[&str]) -> std::process::Child {
    // SIGQUIT back to its default first: a job started in the background by a
    // non-interactive shell (a CI runner's) inherits it ignored, and no shell can undo that.
    let mut all = vec![
        "--default-signal=QUIT",
        "sh",
        "-c",
        "ulimit -c unlimited && exec \"$0\" \"$@\"",
        program.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    env.command(Path::new("env"), &all)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn sigquit(child: &mut std::process::Child) -> std::process::ExitStatus {
    let st = Command::new("kill")
        .args(["-QUIT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    child.wait().unwrap()
}

#[test]
fn a_quit_signal_leaves_no_core_file_with_secrets() {
    // The control: on this machine a process that may dump core leaves one.
    let env = TestEnv::new();
    let control = TempDir::new("core-control");
    let mut sleeper = spawn_dumpable(&env, control.path(), Path::new("sleep"), &["30"]);
    // Signalled once the shell has become `sleep` (a fixed pause was too short for a
    // loaded machine, and the shell outlived the signal).
    let comm = format!("/proc/{}/comm", sleeper.id());
    wait_until("sleep to run", Duration::from_secs(10), || {
        std::fs::read_to_string(&comm).is_ok_and(|c| c.trim() == "sleep")
    });
    let st = sigquit(&mut sleeper);
    assert!(st.core_dumped(), "control: no core dump ({st:?})");
    assert!(
        !core_files(control.path()).is_empty(),
        "this machine writes no core files in the working directory (see \
         /proc/sys/kernel/core_pattern): the test cannot tell"
    );

    // get-token while its STS call hangs.
    let sts = FaultServer::start(vec![], Reply::Hang);
    let mut env = TestEnv::new();
    env.static_creds("AKIACORE000000000001", "core/SECRETKEY")
        .set("AWS_SESSION_TOKEN", "core-SESSIONTOKEN")
        .set("AWS_ENDPOINT_URL_STS", &sts.url)
        .set("AWS_REGION", "us-east-1");
    let dir = TempDir::new("core-get-token");
    let mut child = spawn_dumpable(
        &env,
        dir.path(),
        &bin(),
        &[
            "get-token",
            "--cluster-name",
            "dev",
            "--role-arn",
            DEV_ROLE,
            "--timeout",
            "20",
        ],
    );
    wait_until("an STS call", Duration::from_secs(10), || {
        !sts.requests().is_empty()
    });
    let st = sigquit(&mut child);
    assert_eq!(st.signal(), Some(3), "{st:?}");
    assert!(!st.core_dumped(), "{st:?}");
    assert!(
        core_files(dir.path()).is_empty(),
        "{:?}",
        core_files(dir.path())
    );

    // The sidecar, after its first write.
    let dir = TempDir::new("core-sidecar");
    let out = dir.join("token");
    env.unset("AWS_ENDPOINT_URL_STS");
    let mut child = spawn_dumpable(
        &env,
        dir.path(),
        &bin(),
        &[
            "write-token",
            "--cluster-name",
            "dev",
            "--refresh",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    wait_until("a token written", Duration::from_secs(10), || out.exists());
    let st = sigquit(&mut child);
    assert_eq!(st.signal(), Some(3), "{st:?}");
    assert!(!st.core_dumped(), "{st:?}");
    assert!(
        core_files(dir.path()).is_empty(),
        "{:?}",
        core_files(dir.path())
    );
}

fn past(minutes: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc() - time::Duration::minutes(minutes)
}

#[test]
fn expired_credentials_sign_nothing_hops_included() {
    let sts = FaultServer::start(vec![], Reply::sts_error(500, "ShouldNotBeCalled", "no"));
    let hop = [
        "get-token",
        "--cluster-name",
        "dev",
        "--role-arn",
        DEV_ROLE,
        "--no-cache",
    ];
    let expired = eks_token::Token::rfc3339(past(5));
    let base_env = || {
        let mut env = TestEnv::new();
        env.set("AWS_ENDPOINT_URL_STS", &sts.url)
            .set("AWS_REGION", "us-east-1");
        env
    };

    // credential_process.
    let mut env = base_env();
    let script = env.home.join("creds.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho '{}'\n",
            json!({"Version": 1, "AccessKeyId": "AKIAEXPIREDPROCESS01",
                   "SecretAccessKey": "expired/secret", "SessionToken": "t",
                   "Expiration": expired})
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = env.home.join("config");
    std::fs::write(
        &config,
        format!(
            "[profile proc]\ncredential_process = {}\n",
            script.display()
        ),
    )
    .unwrap();
    env.set("AWS_CONFIG_FILE", config.display().to_string())
        .set("AWS_PROFILE", "proc");
    let r = env.run(&hop);
    assert_failed(&r, 1, &["expired/secret"]);
    assert!(
        r.stderr.contains("credential_process")
            && r.stderr.contains(&format!("expired at {expired}")),
        "{}",
        r.stderr
    );

    // Container credentials.
    let agent = FaultServer::start(
        vec![],
        Reply::Http {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body:
                json!({"AccessKeyId": "ASIAEXPIREDCONTAINER", "SecretAccessKey": "expired/secret",
                         "Token": "t", "Expiration": expired})
                .to_string()
                .into_bytes(),
        },
    );
    let mut env = base_env();
    env.set(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        format!("{}/creds", agent.url),
    );
    let r = env.run(&hop);
    assert_failed(&r, 1, &["expired/secret"]);
    assert!(
        r.stderr.contains("container credentials") && r.stderr.contains("expired at"),
        "{}",
        r.stderr
    );

    // SSO role credentials.
    let portal = FaultServer::start(
        vec![],
        Reply::Http {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: json!({"roleCredentials": {"accessKeyId": "ASIAEXPIREDSSO000001",
                "secretAccessKey": "expired/secret", "sessionToken": "t",
                "expiration": past(5).unix_timestamp() * 1000}})
            .to_string()
            .into_bytes(),
        },
    );
    let mut env = base_env();
    let config = env.home.join("config");
    std::fs::write(
        &config,
        "[profile sso]\nsso_session = corp\nsso_account_id = 222222222222\n\
         sso_role_name = Deployer\n[sso-session corp]\n\
         sso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n",
    )
    .unwrap();
    let cache = env.home.join(".aws/sso/cache");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::write(
        cache.join(sso_cache_name("corp")),
        json!({"accessToken": "sso-bearer", "region": "eu-west-1",
               "expiresAt": eks_token::Token::rfc3339(time::OffsetDateTime::now_utc() + time::Duration::hours(1))})
        .to_string(),
    )
    .unwrap();
    env.set("AWS_CONFIG_FILE", config.display().to_string())
        .set("AWS_PROFILE", "sso")
        .set("AWS_ENDPOINT_URL_SSO", &portal.url);
    let r = env.run(&hop);
    assert_failed(&r, 1, &["expired/secret"]);
    assert!(
        r.stderr.contains("SSO") && r.stderr.contains("expired at"),
        "{}",
        r.stderr
    );
    assert_eq!(portal.requests().len(), 1);

    assert!(
        sts.requests().is_empty(),
        "STS was called: {:?}",
        sts.requests()
    );
}

#[test]
fn credentials_are_checked_before_every_call_they_sign_within_one_calls_time() {
    let sts = FaultServer::start(vec![], Reply::sts_error(500, "ShouldNotBeCalled", "no"));
    let mut env = TestEnv::new();
    env.static_creds("ASIAEXPIREDENV000001", "expired/secret")
        .set("AWS_SESSION_TOKEN", "expired-session")
        .set(
            "AWS_CREDENTIAL_EXPIRATION",
            eks_token::Token::rfc3339(past(60)),
        )
        .set("AWS_ENDPOINT_URL_STS", &sts.url)
        .set("AWS_ENDPOINT_URL_EKS", &sts.url)
        .set("AWS_REGION", "us-east-1");
    // No hop: GetCallerIdentity and DescribeCluster are not signed with them either.
    let r = env.run(&["whoami"]);
    assert_failed(&r, 1, &["expired/secret"]);
    assert!(r.stderr.contains("expired at"), "{}", r.stderr);
    let kube = env.home.join("kube");
    let r = env.run(&[
        "eks",
        "update-kubeconfig",
        "--name",
        "x",
        "--dry-run",
        "--kubeconfig",
        kube.to_str().unwrap(),
    ]);
    assert_failed(&r, 1, &["expired/secret"]);
    assert!(r.stderr.contains("expired at"), "{}", r.stderr);
    assert!(sts.requests().is_empty(), "{:?}", sts.requests());
    // Valid for two hours: enough for one call, whatever --timeout says.
    let m = moto();
    env.set(
        "AWS_CREDENTIAL_EXPIRATION",
        eks_token::Token::rfc3339(time::OffsetDateTime::now_utc() + time::Duration::hours(2)),
    )
    .set("AWS_ENDPOINT_URL_STS", &m.url);
    let r = env.run(&[
        "get-token",
        "--cluster-name",
        "dev",
        "--role-arn",
        DEV_ROLE,
        "--timeout",
        "3h",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}
