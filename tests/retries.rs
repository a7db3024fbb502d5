//! Errors have kinds, and the kind alone decides what is tried again: the standard
//! loop (inside each call, the SDKs' mode) retries throttling and 5xx at once; Argo
//! CD's loop (`argocd-k8s-auth`: every 5 s within 60 s) also retries what may clear
//! later (AccessDenied while a trust policy reaches STS); an invalid request or
//! configuration (a profile loop, a missing profile, a malformed file) is retried by
//! neither: it fails at once, in every dialect.

use std::path::Path;
use std::time::Duration;

use crate::common::fault::{FaultServer, Reply};
use crate::common::*;

/// The binary as `argocd-k8s-auth` in `env`, run with `args` (killed after 15 s: a run
/// retrying for Argo's whole minute fails its test).
fn argo(env: &mut TestEnv, args: &[&str]) -> Run {
    let program = as_program(env, "argocd-k8s-auth");
    let mut c = env.command(&program, args);
    c.stdin(std::process::Stdio::null());
    run_killed_after(c, Duration::from_secs(15))
}

fn role_ok() -> Reply {
    Reply::assumed(
        "AssumeRole",
        "ASIARETRYKINDS000001",
        "retry/role/secret",
        "retry-session-token",
        &in_an_hour(),
    )
}

#[test]
fn an_invalid_configuration_fails_at_once_under_argos_form() {
    let loop_config = "[profile a]\nrole_arn = arn:aws:iam::111111111111:role/a\n\
                       source_profile = b\n[profile b]\n\
                       role_arn = arn:aws:iam::111111111111:role/b\nsource_profile = a\n";
    for (what, config, says) in [
        ("a profile loop", loop_config, "a -> b -> a"),
        (
            "a missing profile",
            "[profile other]\nregion = us-east-1\n",
            "the profile `a` (--profile) is not in the config files",
        ),
        (
            "a malformed config file",
            "garbage line\n[profile a]\nregion = us-east-1\n",
            "cannot parse the AWS config file",
        ),
    ] {
        let mut env = TestEnv::new();
        let file = env.home.join("config");
        std::fs::write(&file, config).unwrap();
        env.set("AWS_CONFIG_FILE", file.display().to_string())
            .set("AWS_REGION", "us-east-1");
        let r = argo(
            &mut env,
            &["aws", "--cluster-name", "dev", "--profile", "a"],
        );
        assert_failed(&r, 1, &[]);
        assert!(
            r.elapsed < Duration::from_secs(1),
            "{what}: {:?}",
            r.elapsed
        );
        assert!(r.stderr.contains(says), "{what}: {}", r.stderr);
    }
}

/// One AssumeRole whose first answer is `first` and the next a success, in the native
/// form and in Argo's: whether each succeeded, and how many requests each made.
fn both_loops(first: Reply) -> [(Run, usize); 2] {
    let mut out = Vec::new();
    for argos in [false, true] {
        let sts = FaultServer::start(vec![first.clone()], role_ok());
        let mut env = TestEnv::new();
        env.static_creds("AKIARETRYKINDS000001", "retry/static/secret")
            .set("AWS_ENDPOINT_URL_STS", &sts.url)
            .set("AWS_REGION", "us-east-1");
        let r = if argos {
            argo(
                &mut env,
                &["aws", "--cluster-name", "dev", "--role-arn", DEV_ROLE],
            )
        } else {
            run_as(
                &env,
                Path::new(&bin()),
                &[
                    "get-token",
                    "--cluster-name",
                    "dev",
                    "--role-arn",
                    DEV_ROLE,
                    "--no-cache",
                ],
            )
        };
        for s in ["retry/static/secret", "retry/role/secret"] {
            assert!(!r.stderr.contains(s), "{}", r.stderr);
        }
        out.push((r, sts.requests().len()));
    }
    out.try_into().unwrap()
}

#[test]
fn each_error_kind_is_retried_by_the_loop_it_may_clear_in() {
    // Retry now: throttling and 5xx are retried by the standard loop in both forms,
    // at once (Argo's 5 s are not waited).
    for fault in [
        Reply::throttled(10),
        Reply::sts_error(503, "ServiceUnavailable", "try again"),
    ] {
        for (r, requests) in both_loops(fault.clone()) {
            assert_eq!(r.code, 0, "{fault:?}: {}", r.stderr);
            assert_eq!(requests, 2, "{fault:?}");
            assert!(r.elapsed < Duration::from_secs(4), "{:?}", r.elapsed);
        }
    }
    // Retry later: AccessDenied fails the native form at once, and Argo's loop tries
    // again 5 s later.
    let [(native, n), (argo, a)] = both_loops(Reply::sts_error(
        403,
        "AccessDenied",
        "not authorized to perform sts:AssumeRole",
    ));
    assert_failed(&native, 1, &[]);
    assert_eq!(n, 1, "AccessDenied was retried by the standard loop");
    assert!(native.stderr.contains("AccessDenied"), "{}", native.stderr);
    assert_eq!(argo.code, 0, "{}", argo.stderr);
    assert_eq!(a, 2);
    assert!(argo.elapsed >= Duration::from_secs(5), "{:?}", argo.elapsed);
    // Never: a request STS calls invalid, an answer that is not STS's, are not retried
    // by either loop.
    for (fault, says) in [
        (
            Reply::sts_error(400, "ValidationError", "1 validation error detected"),
            "ValidationError",
        ),
        (
            Reply::xml(200, "<html><body>a portal</body></html>"),
            "AssumeRole",
        ),
    ] {
        for (r, requests) in both_loops(fault) {
            assert_failed(&r, 1, &[]);
            assert_eq!(requests, 1, "{says}: retried: {}", r.stderr);
            assert!(r.elapsed < Duration::from_secs(1), "{:?}", r.elapsed);
            assert!(r.stderr.contains(says), "{}", r.stderr);
        }
    }
}
