//! Every command, with -v, in success: no secret access key, session token or web
//! identity token in stderr, nor in stdout outside the token itself. (The failure paths
//! are checked the same way in failures.rs, faults.rs and sources.rs.)

use crate::common::*;

const WIT: &str = "eyJhbGciOiJSUzI1NiJ9.hygiene-WEB-IDENTITY.c2ln";

#[test]
fn no_command_leaks_a_secret() {
    let m = moto();
    create_cluster("hygiene", DEV_ROLE);
    let mut env = TestEnv::new();
    env.irsa("arn:aws:iam::111111111111:role/hygiene-irsa", WIT);
    env.set("AWS_ENDPOINT_URL", &m.url)
        .set("AWS_REGION", "us-east-1");
    let out = env.home.join("token");
    let kubeconfig = env.home.join("kubeconfig");
    let mut runs = Vec::new();
    for args in [
        vec![
            "get-token",
            "--cluster-name",
            "hygiene",
            "--role-arn",
            DEV_ROLE,
            "-v",
        ],
        vec![
            "get-token",
            "--cluster-name",
            "hygiene",
            "--role-arn",
            DEV_ROLE,
            "-v",
            "--no-cache",
            "--output",
            "token",
        ],
        vec![
            "token",
            "-i",
            "hygiene",
            "-r",
            DEV_ROLE,
            "-v",
            "--token-only",
        ],
        vec![
            "write-token",
            "--cluster-name",
            "hygiene",
            "--role-arn",
            DEV_ROLE,
            "-v",
            "--out",
            out.to_str().unwrap(),
        ],
        vec!["whoami", "--role-arn", DEV_ROLE, "-v"],
        vec![
            "kubeconfig",
            "--cluster-name",
            "hygiene",
            "--role-arn",
            DEV_ROLE,
            "-v",
            "--out",
            kubeconfig.to_str().unwrap(),
        ],
    ] {
        let r = env.run(&args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        runs.push((args, r));
    }
    let token = std::fs::read_to_string(&out).unwrap();
    let r = env.run(&["verify", &token, "-v"]);
    runs.push((vec!["verify"], r));
    // Every secret moto issued in this run, and the web identity token.
    let mut secrets: Vec<String> = vec![WIT.to_owned()];
    // (Other tests' sessions may be listed half-made, without their keys: skipped.)
    for s in m.sessions() {
        for field in ["secret_access_key", "session_token"] {
            secrets.extend(s[field].as_str().map(str::to_owned));
        }
    }
    assert!(secrets.len() > 2, "moto issued no secrets");
    for (args, r) in &runs {
        // stdout minus the token (which carries the URL-encoded session token).
        let mut stdout = r.stdout.clone();
        let printed_token = token_of(&r.stdout);
        if printed_token.starts_with("k8s-aws-v1.") {
            stdout = stdout.replace(&printed_token, "<token>");
        }
        for s in &secrets {
            assert!(
                !r.stderr.contains(s.as_str()),
                "{args:?}: a secret in stderr"
            );
            assert!(!stdout.contains(s.as_str()), "{args:?}: a secret in stdout");
        }
        // write-token logs JSON lines; the others, `eks-token: [ms] ...`.
        assert!(
            r.stderr.contains("eks-token: [") || r.stderr.contains("\"event\":\"verbose\""),
            "{args:?}: -v printed nothing"
        );
    }
    // The files hold the token, never the secret key or the web identity token.
    for f in [&out, &kubeconfig] {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(!text.contains(WIT));
        for s in m.sessions() {
            assert!(!text.contains(s["secret_access_key"].as_str().unwrap()));
        }
    }
}

/// The secret key where the key id should be (the keys swapped, a common slip): refused
/// before anything is logged or signed, without showing either, in the environment and
/// in a profile alike.
#[test]
fn swapped_keys_are_refused_without_showing_the_secret() {
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let mut env = TestEnv::new();
    env.static_creds(SECRET, "AKIAHYGIENE000000001")
        .set("AWS_REGION", "us-east-1");
    let r = env.run(&["get-token", "--cluster-name", "dev", "-v"]);
    assert_failed(&r, 1, &[SECRET]);
    assert!(r.stderr.contains("AWS_ACCESS_KEY_ID"), "{}", r.stderr);
    assert!(r.stderr.contains("swapped"), "{}", r.stderr);
    let mut env = TestEnv::new();
    write_aws_files(
        &mut env,
        "",
        &format!(
            "[default]\naws_access_key_id = {SECRET}\naws_secret_access_key = AKIAHYGIENE000000001\n"
        ),
    );
    env.set("AWS_REGION", "us-east-1");
    let r = env.run(&["get-token", "--cluster-name", "dev", "-v"]);
    assert_failed(&r, 1, &[SECRET]);
    assert!(r.stderr.contains("profile default"), "{}", r.stderr);
    // A secret of letters and digits alone: the key id in the secret's place tells.
    const PLAIN: &str = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY12";
    let mut env = TestEnv::new();
    env.static_creds(PLAIN, "AKIAHYGIENE000000001")
        .set("AWS_REGION", "us-east-1");
    let r = env.run(&["get-token", "--cluster-name", "dev", "-v"]);
    assert_failed(&r, 1, &[PLAIN]);
    assert!(r.stderr.contains("swapped"), "{}", r.stderr);
}

/// A secret pasted into the wrong argument is not echoed back in the error: the
/// environment's secret key and session token, an EKS token, a web identity token.
/// And a reader of stderr gone (a closed pipe) ends no run in a panic.
#[test]
fn secrets_pasted_into_arguments_are_not_echoed() {
    const SECRET: &str = "echoed/SECRET/key0000000000000000000000";
    const SESSION: &str = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN";
    let mut env = TestEnv::new();
    env.static_creds("AKIAHYGIENE000000002", SECRET)
        .set("AWS_SESSION_TOKEN", SESSION)
        .set("AWS_REGION", "us-east-1");
    let r = env.run(&["get-token", "--cluster-name", "dev", "--output", "token"]);
    let token = r.stdout.trim().to_owned();
    assert!(token.starts_with("k8s-aws-v1."), "{}", r.stderr);
    for pasted in [SECRET, SESSION, &token, WIT] {
        for args in [
            vec!["get-token", "--cluster-name", "dev", "--role-arn", pasted],
            vec!["get-token", "--cluster-name", "dev", "--region", pasted],
            vec!["get-token", "--cluster-name", "dev", pasted],
            vec![pasted],
        ] {
            let r = env.run(&args);
            assert_ne!(r.code, 0);
            assert_failed(&r, r.code, &[pasted]);
        }
    }
    let script = format!(
        "\"{}\" get-token --bogus 2>&1 | true; echo ${{PIPESTATUS[0]}}",
        bin().display()
    );
    let mut c = env.command(std::path::Path::new("/bin/bash"), &["-c", &script]);
    c.stdin(std::process::Stdio::null());
    let r = run_killed_after(c, RUN_LIMIT);
    assert_eq!(
        r.stdout.trim(),
        "2",
        "exit code with stderr closed: {}",
        r.stderr
    );
}
