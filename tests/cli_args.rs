//! The command line parser (`src/cli/args.rs`, the binary's own module, included here):
//! the three argument dialects, usage errors, write-token's options, durations.

#[allow(dead_code, unreachable_pub)]
#[path = "../src/cli/args.rs"]
mod args;

use std::path::PathBuf;
use std::time::Duration;

use args::*;
use eks_token::Env;

fn p(args: &[&str]) -> Result<Command, ArgError> {
    parse(
        Dialect::EksToken,
        &args.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        &Env::default(),
    )
}

fn gt(args: &[&str]) -> GetToken {
    match p(args).unwrap() {
        Command::GetToken(g) => g,
        other => panic!("{other:?}"),
    }
}

#[test]
fn aws_style_args() {
    let g = gt(&[
        "--region",
        "eu-west-1",
        "eks",
        "get-token",
        "--cluster-name",
        "dev",
        "--role",
        "arn:aws:iam::222222222222:role/testrole",
        "--output",
        "json",
    ]);
    assert_eq!(g.request.cluster_id, "dev");
    assert_eq!(g.request.region.as_deref(), Some("eu-west-1"));
    assert_eq!(
        g.request.role_arns,
        ["arn:aws:iam::222222222222:role/testrole"]
    );
    assert_eq!(g.print.format, Format::Json);
    let g = gt(&[
        "eks",
        "get-token",
        "--cluster-name=dev",
        "--region=us-east-1",
    ]);
    assert_eq!(g.request.region.as_deref(), Some("us-east-1"));
}

#[test]
fn authenticator_style_args() {
    let g = gt(&[
        "token",
        "-i",
        "dev",
        "-r",
        "arn:aws:iam::222222222222:role/a",
        "-s",
        "sess",
        "-e",
        "ext-id",
        "--token-only",
    ]);
    assert_eq!(g.request.cluster_id, "dev");
    assert_eq!(g.request.session_name.as_deref(), Some("sess"));
    assert_eq!(g.request.external_id.as_deref(), Some("ext-id"));
    assert_eq!(g.print.format, Format::Token);
    let g = gt(&["token", "-idev", "-v"]);
    assert_eq!(g.request.cluster_id, "dev");
    assert!(g.request.verbose);
}

#[test]
fn repeated_roles_form_a_chain() {
    let g = gt(&[
        "get-token",
        "--cluster-name",
        "c",
        "--role-arn",
        "arn:aws:iam::111111111111:role/a",
        "--role-arn",
        "arn:aws:iam::222222222222:role/b",
        "--duration-seconds",
        "900",
        "--timeout",
        "1m30s",
    ]);
    assert_eq!(g.request.role_arns.len(), 2);
    assert_eq!(g.request.duration_seconds, Some(900));
    assert_eq!(g.request.timeout, Duration::from_secs(90));
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["get-token"][..],
        &["get-token", "--cluster-name"],
        &["get-token", "--cluster-name", "c", "--bogus"],
        &["get-token", "--cluster", "c"],
        &["get-token", "--cluster-name", "c", "--timeout", "abc"],
        &[
            "get-token",
            "--cluster-name",
            "c",
            "--duration-seconds",
            "1h",
        ],
        &["get-token", "--cluster-name", "c", "--output", "yaml"],
        &["get-token", "--cluster-name", "c", "-v=1"],
        &["eks", "--cluster-name", "c"],
        &[],
    ] {
        let e = p(args).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{args:?}: {e}");
    }
    assert_eq!(
        p(&["get-token", "--cluster-name", "c", "--timeout", "0"])
            .unwrap_err()
            .exit_code(),
        1
    );
    assert_eq!(
        p(&[
            "get-token",
            "--cluster-name",
            "c",
            "--timeout",
            "18446744073709551615"
        ])
        .unwrap_err()
        .exit_code(),
        1
    );
}

#[test]
fn help_and_version() {
    assert_eq!(p(&["--help"]).unwrap(), Command::Help(Dialect::EksToken));
    assert_eq!(
        p(&["eks", "get-token", "-h"]).unwrap(),
        Command::Help(Dialect::EksToken)
    );
    assert_eq!(
        p(&["--version"]).unwrap(),
        Command::Version(VersionStyle::EksToken)
    );
}

#[test]
fn write_token_args() {
    match p(&[
        "write-token",
        "--cluster-name",
        "dev",
        "--out",
        "/t/token",
        "--refresh",
        "--refresh-interval",
        "30s",
        "--mode",
        "0640",
    ])
    .unwrap()
    {
        Command::WriteToken(g, w) => {
            assert_eq!(g.print.format, Format::Token);
            assert_eq!(w.out, PathBuf::from("/t/token"));
            assert!(w.refresh);
            assert_eq!(w.refresh_interval, Duration::from_secs(30));
            assert_eq!(w.mode, 0o640);
            assert!(w.kubeconfig.is_none());
        }
        other => panic!("{other:?}"),
    }
    match p(&[
        "write-token",
        "--cluster-name",
        "dev",
        "--out",
        "t",
        "--kubeconfig-out",
        "k",
        "--server",
        "https://x",
        "--ca-data",
        "QUJD",
    ])
    .unwrap()
    {
        Command::WriteToken(_, w) => {
            let k = w.kubeconfig.unwrap();
            assert_eq!(k.ca, CaSource::Data("QUJD".into()));
            assert_eq!(w.mode, 0o600);
            assert_eq!(w.refresh_interval, DEFAULT_REFRESH_INTERVAL);
        }
        other => panic!("{other:?}"),
    }
    for (args, code) in [
        (&["write-token", "--cluster-name", "dev"][..], 2),
        (&["get-token", "--cluster-name", "dev", "--out", "x"], 2),
        (
            &[
                "write-token",
                "--cluster-name",
                "dev",
                "--out",
                "x",
                "--mode",
                "rw",
            ],
            2,
        ),
        (
            &[
                "write-token",
                "--cluster-name",
                "dev",
                "--out",
                "x",
                "--mode",
                "0777777",
            ],
            1,
        ),
        (
            &[
                "write-token",
                "--cluster-name",
                "dev",
                "--out",
                "x",
                "--mode",
                "0400",
            ],
            1,
        ),
        (
            &[
                "write-token",
                "--cluster-name",
                "dev",
                "--out",
                "x",
                "--kubeconfig-out",
                "k",
            ],
            2,
        ),
        (
            &[
                "write-token",
                "--cluster-name",
                "dev",
                "--out",
                "x",
                "--kubeconfig-out",
                "k",
                "--server",
                "https://x",
                "--ca-data",
                "QUJD",
                "--output",
                "json",
            ],
            2,
        ),
        (
            &[
                "write-token",
                "--cluster-name",
                "dev",
                "--out",
                "x",
                "--refresh-interval",
                "soon",
            ],
            2,
        ),
        (
            &[
                "write-token",
                "--cluster-name",
                "dev",
                "--out",
                "x",
                "--refresh-interval",
                "10ms",
            ],
            1,
        ),
    ] {
        assert_eq!(p(args).unwrap_err().exit_code(), code, "{args:?}");
    }
}

#[test]
fn durations() {
    assert_eq!(parse_duration("30"), Some(Duration::from_secs(30)));
    assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
    assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
    assert_eq!(parse_duration("1500ms"), Some(Duration::from_millis(1500)));
    assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
    assert_eq!(parse_duration("abc"), None);
    // Found by the fuzzer: sums that overflow are malformed, not a panic.
    assert_eq!(parse_duration("18446744073709551615s1s"), None);
    assert_eq!(parse_duration("5124095576030432h"), None);
    assert_eq!(parse_duration("5x"), None);
    assert_eq!(parse_duration("m"), None);
    assert_eq!(parse_duration(""), None);
}
