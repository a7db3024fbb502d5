//! The binary as `aws`, `aws-iam-authenticator` and `argocd-k8s-auth`: each one's argv, output and exit codes.

use super::*;

#[test]
fn as_aws_it_speaks_aws_cli() {
    let m = moto();
    let mut env = TestEnv::new();
    env.static_creds("AKIAASAWS00000000001", "as-aws/secret");
    let aws = as_program(&mut env, "aws");
    let r = run_as(
        &env,
        &aws,
        &[
            "--region",
            "us-east-1",
            "eks",
            "get-token",
            "--cluster-name",
            "dev",
            "--output",
            "json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Printed as aws-cli prints it: indented JSON, kind first.
    assert!(r.stdout.starts_with("{\n    \"kind\": \"ExecCredential\",\n    \"apiVersion\": \"client.authentication.k8s.io/v1beta1\""), "{}", r.stdout);
    let keys = [("AKIAASAWS00000000001", "as-aws/secret")];
    assert_verifies(&verify(&token_of(&r.stdout), "dev", None, &keys));
    // Global options anywhere, aws-cli's prefixes, the forms scripts use.
    let r = run_as(
        &env,
        &aws,
        &[
            "eks",
            "get-token",
            "--cluster-name",
            "dev",
            "--region",
            "us-east-1",
            "--out",
            "text",
            "--query",
            "status.token",
            "--no-cli-pager",
            "--color",
            "off",
            "--cli-read-timeout",
            "20",
            "--cli-connect-timeout",
            "5",
            "--no-paginate",
            "--no-verify-ssl",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The token, then the blank line aws-cli's `eks get-token` always adds.
    assert!(r.stdout.starts_with("k8s-aws-v1.") && r.stdout.ends_with("\n\n"));
    assert_eq!(r.stdout.trim_end().lines().count(), 1);
    assert_verifies(&verify(r.stdout.trim(), "dev", None, &keys));
    // --output text without a query: aws-cli's text format.
    let r = run_as(
        &env,
        &aws,
        &[
            "eks",
            "get-token",
            "--cluster-name",
            "dev",
            "--region",
            "us-east-1",
            "--output",
            "text",
        ],
    );
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "client.authentication.k8s.io/v1beta1\tExecCredential"
    );
    assert!(
        lines[1].starts_with("STATUS\t") && lines[1].contains("\tk8s-aws-v1."),
        "{}",
        r.stdout
    );
    // Under `aws`, --out is --output (aws-cli's options only), not write-token's --out.
    let r = run_as(
        &env,
        &aws,
        &["eks", "get-token", "--cluster-name", "dev", "--out", "yaml"],
    );
    assert_failed(&r, 2, &[]);
    assert!(r.stderr.contains("--output"), "{}", r.stderr);
    // Another service: one line saying what this is.
    for args in [
        &["s3", "ls"][..],
        &["s3", "cp", "a", "b", "--recursive"],
        &["ec2", "describe-instances"],
    ] {
        let r = run_as(&env, &aws, args);
        assert_failed(&r, 2, &[]);
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert!(
            r.stderr.contains("eks-token standing in for the AWS CLI")
                && r.stderr
                    .contains("eks get-token, eks update-kubeconfig, sts get-caller-identity"),
            "{}",
            r.stderr
        );
    }
    // sts get-caller-identity: JSON, aws-cli's text, --query.
    env.set("AWS_ENDPOINT_URL_STS", &m.url);
    let r = run_as(
        &env,
        &aws,
        &["sts", "get-caller-identity", "--region", "us-east-1"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let theirs = aws_cli(
        &env,
        &["sts", "get-caller-identity", "--region", "us-east-1"],
    );
    assert_eq!(v, serde_json::from_str::<Value>(&theirs.stdout).unwrap());
    for args in [
        &["--output", "text"][..],
        &["--query", "Arn", "--output", "text"],
    ] {
        let mut all = vec!["sts", "get-caller-identity", "--region", "us-east-1"];
        all.extend_from_slice(args);
        let ours = run_as(&env, &aws, &all);
        let theirs = aws_cli(&env, &all);
        assert_eq!(ours.stdout, theirs.stdout, "{args:?}");
    }
    // `aws --version` as tools parse it (`aws-cli/X.Y.Z`, on stdout): eksctl, for one,
    // writes `aws eks get-token` into kubeconfigs only from aws-cli 1.16.156.
    let r = run_as(&env, &aws, &["--version"]);
    assert_eq!(r.code, 0);
    let claimed = r
        .stdout
        .strip_prefix("aws-cli/")
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    let parts: Vec<u32> = claimed.split('.').map(|p| p.parse().unwrap()).collect();
    assert!(
        parts.len() == 3 && parts >= vec![1, 16, 156],
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains(" eks-token/"), "{}", r.stdout);
}

#[test]
fn as_aws_iam_authenticator_it_speaks_its_token_verify_and_version() {
    let m = moto();
    let mut env = irsa_env("authenticator");
    let authenticator = as_program(&mut env, "aws-iam-authenticator");
    let r = run_as(&env, &authenticator, &["token", "-i", "dev"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = verify(&token_of(&r.stdout), "dev", Some(&m.url), &[]);
    assert_verifies(&v);
    assert!(
        v["arn"]
            .as_str()
            .unwrap()
            .contains("assumed-role/authenticator/"),
        "{v}"
    );
    let r = run_as(
        &env,
        &authenticator,
        &["token", "-i", "dev", "-r", DEV_ROLE, "--token-only"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("k8s-aws-v1."));
    assert_verifies_as_dev_role(r.stdout.trim(), "dev", &m.url);
    // Its environment variables: the cluster and the role.
    env.set(
        "KUBERNETES_AWS_AUTHENTICATOR_CLUSTER_ID",
        "my-dev-cluster.example.com",
    )
    .set("DEFAULT_ROLE", DEV_ROLE);
    let r = run_as(&env, &authenticator, &["token", "--token-only"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = verify(
        r.stdout.trim(),
        "my-dev-cluster.example.com",
        Some(&m.url),
        &[],
    );
    assert_verifies(&v);
    assert!(v["arn"]
        .as_str()
        .unwrap()
        .contains("assumed-role/testrole/"));
    // Its global flags (its source: cmd/aws-iam-authenticator/root.go): --loglevel debug
    // shows the steps; the server's settings are accepted.
    let r = run_as(
        &env,
        &authenticator,
        &[
            "--loglevel",
            "debug",
            "-l",
            "json",
            "--feature-gates",
            "SSORoleMatch=true",
            "token",
            "-i",
            "dev",
            "--token-only",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with("k8s-aws-v1.") && !r.stderr.is_empty(),
        "{}",
        r.stderr
    );
    let r = run_as(
        &env,
        &authenticator,
        &["token", "-i", "dev", "--token-only"],
    );
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    // Its refusals.
    let r = run_as(
        &env,
        &authenticator,
        &["token", "-i", "dev", "-s", "x1", "--forward-session-name"],
    );
    assert_failed(&r, 2, &[]);
    // verify: the identity, asked of STS (moto behind a front that passes the replayed
    // presigned GET on in the form moto routes).
    let sts = StsRecorder::start(m.port);
    env.set("AWS_ENDPOINT_URL_STS", &sts.url);
    let token = r_token(&run_as(
        &env,
        &authenticator,
        &["token", "-i", "dev", "--token-only"],
    ));
    let r = run_as(
        &env,
        &authenticator,
        &["verify", "-i", "dev", "-t", &token, "-o", "json"],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let id: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(
        id["ARN"]
            .as_str()
            .unwrap()
            .contains("assumed-role/testrole/"),
        "{id}"
    );
    assert_eq!(id["CanonicalARN"], DEV_ROLE);
    assert_eq!(id["AccountID"], "222222222222");
    // version
    let r = run_as(&env, &authenticator, &["version"]);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["Version"], env!("CARGO_PKG_VERSION"));
    let r = run_as(&env, &authenticator, &["version", "-s"]);
    assert_eq!(r.stdout.trim(), env!("CARGO_PKG_VERSION"));
    let r = run_as(&env, &authenticator, &["init"]);
    assert_failed(&r, 2, &[]);
}

fn r_token(r: &Run) -> String {
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout.trim().to_owned()
}

#[test]
fn as_argocd_k8s_auth_and_argos_form_under_any_name() {
    let m = moto();
    let mut env = irsa_env("argocd");
    let argocd = as_program(&mut env, "argocd-k8s-auth");
    for (program, args) in [
        (
            argocd.clone(),
            vec!["aws", "--cluster-name", "dev", "--role-arn", DEV_ROLE],
        ),
        (
            bin(),
            vec!["aws", "--cluster-name", "dev", "--role-arn", DEV_ROLE],
        ),
    ] {
        // Argo CD asks for v1beta1 whatever kubectl would.
        env.set(
            "KUBERNETES_EXEC_INFO",
            r#"{"apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}"#,
        );
        let r = run_as(&env, &program, &args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let ec: Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(ec["apiVersion"], "client.authentication.k8s.io/v1beta1");
        assert_eq!(ec["kind"], "ExecCredential");
        assert!(
            !r.stdout.ends_with('\n'),
            "argocd-k8s-auth prints no newline"
        );
        assert_verifies_as_dev_role(ec["status"]["token"].as_str().unwrap(), "dev", &m.url);
    }
    let r = run_as(&env, &argocd, &["gcp"]);
    assert_failed(&r, 2, &[]);
    let r = run_as(&env, &argocd, &["aws", "--cluster-name", "dev", "--bogus"]);
    assert_failed(&r, 2, &[]);
}

#[test]
fn argos_form_tries_again_every_5_s_as_argocd_k8s_auth_does() {
    let m = moto();
    // The pod starts before its IRSA token file is mounted: the file appears after the
    // first attempt failed (Argo's form under eks-token's name, whose -v says so).
    let mut env = irsa_env("argo-retry");
    let token_file = env.home.join("web-identity-token");
    std::fs::remove_file(&token_file).unwrap();
    let argocd = as_program(&mut env, "argocd-k8s-auth");
    let log = env.home.join("argo.log");
    let mut child = env
        .command(
            &bin(),
            &["aws", "--cluster-name", "dev", "--role-arn", DEV_ROLE, "-v"],
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    wait_until(
        "a failed first attempt",
        std::time::Duration::from_secs(20),
        || std::fs::read_to_string(&log).is_ok_and(|l| l.contains("trying again in 5 s")),
    );
    std::fs::write(&token_file, "eyJhbGciOiJSUzI1NiJ9.argo-retry.c2ln").unwrap();
    let mut stdout = Vec::new();
    std::io::Read::read_to_end(child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
    let status = child.wait().unwrap();
    let elapsed = started.elapsed();
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(
        elapsed >= std::time::Duration::from_secs(4),
        "the first attempt failed, the second came 5 s later: {elapsed:?}"
    );
    let ec: Value = serde_json::from_slice(&stdout).unwrap();
    assert_verifies_as_dev_role(ec["status"]["token"].as_str().unwrap(), "dev", &m.url);

    // A failure that persists ends within the timeout, with the last error.
    std::fs::remove_file(&token_file).unwrap();
    let r = run_as(
        &env,
        &bin(),
        &[
            "aws",
            "--cluster-name",
            "dev",
            "--role-arn",
            DEV_ROLE,
            "--timeout",
            "7",
            "-v",
        ],
    );
    assert_failed(&r, 1, &[]);
    assert!(r.stderr.contains("web-identity-token"), "{}", r.stderr);
    assert_eq!(
        r.stderr.matches("trying again in 5 s").count(),
        1,
        "{}",
        r.stderr
    );
    assert!(
        r.elapsed >= std::time::Duration::from_secs(5)
            && r.elapsed < std::time::Duration::from_secs(8),
        "{:?}",
        r.elapsed
    );
    // A request invalid as written is not tried again.
    let r = run_as(
        &env,
        &argocd,
        &["aws", "--cluster-name", "dev", "--role-arn", "not-an-arn"],
    );
    assert_failed(&r, 1, &[]);
    assert!(
        r.elapsed < std::time::Duration::from_secs(2),
        "{:?}",
        r.elapsed
    );
}
