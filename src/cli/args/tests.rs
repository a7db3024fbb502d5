//! The dialects' edge cases: what each one's own parser (argparse, pflag and cobra,
//! eks-token's GNU rules) does with words, options where values go, prefixes, `--`,
//! `help` and extra arguments, and the one-line error each bad line gets.

use super::*;
use crate::cli::tests::{argv, p};
use ::eks_token::Env;

/// A command's words in one argument name no command (the fuzzer found
/// `eks-token "sts get-caller-identity"` reaching a parser that did not exist).
#[test]
fn command_words_in_one_argument_are_unknown() {
    for (dialect, args) in [
        (Dialect::EksToken, &["sts get-caller-identity"][..]),
        (Dialect::EksToken, &["eks update-kubeconfig", "--name", "c"]),
        (Dialect::EksToken, &["eks get-token", "--cluster-name", "c"]),
        (Dialect::Aws, &["eks get-token", "--cluster-name", "c"]),
        (Dialect::Aws, &["sts get-caller-identity"]),
        (Dialect::Authenticator, &["token -i", "c"]),
        (Dialect::ArgoCd, &["aws --cluster-name", "c"]),
    ] {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let e = parse(dialect, &args, &Env::default()).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{dialect:?} {args:?}: {e}");
    }
}

/// A line that names a command and then goes wrong says what is wrong with it, not
/// that the command is unknown; an option of another command is named as that one's.
#[test]
fn usage_errors_name_the_argument_at_fault() {
    for (line, says) in [
        (
            "get-token --cluster-name c --bogus 5m",
            "unknown option --bogus",
        ),
        (
            "get-token --cluster-name c extra",
            "unexpected argument \"extra\" to get-token",
        ),
        ("verify a b", "unexpected argument \"b\" to verify"),
        // (A token echoed here is hidden on its way to stderr, as every token is.)
        ("verify c k8s-aws-v1.aHR0cHM6Ly9zdHM", "to verify"),
        (
            "eks get-token --cluster-name c x",
            "unexpected argument \"x\" to eks get-token",
        ),
        (
            "whoami --aws-auth f",
            "--aws-auth is an option of doctor, not of whoami",
        ),
        (
            "verify --kubeconfig-out f t",
            "--kubeconfig-out is an option of write-token, not of verify",
        ),
        ("frob x", "unknown command \"frob x\""),
        ("--bogus", "unknown option --bogus"),
        (
            "--cluster-name c",
            "no command given: --cluster-name is an option of get-token",
        ),
        (
            "get-token --cluster-name -- --out F",
            "--out is an option of write-token and kubeconfig, not of get-token",
        ),
        (
            "get-token --cluster-name c --no-cache --cache-dir d",
            "--no-cache and --cache-dir contradict",
        ),
        (
            "get-token --cluster-name c --token-only --output json",
            "--token-only and --output contradict",
        ),
        ("--version --bogus", "unknown option --bogus"),
        ("version --bogus", "unknown option --bogus"),
        ("help bogus", "no help for \"bogus\""),
        // doctor takes no cache option: it says why rather than ignoring one.
        (
            "doctor --cluster-name c --no-cache",
            "doctor uses no credential cache",
        ),
        (
            "write-token --check --out f --cluster-name c",
            "cannot check the cluster name",
        ),
        (
            "get-token --cluster-name c --out f",
            "--out is an option of write-token and kubeconfig, not of get-token",
        ),
        (
            "write-token --cluster-name c --out f --refresh-interval 1s",
            "--refresh-interval goes with --refresh",
        ),
    ] {
        let e = p(&argv(line)).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{line}: {e}");
        assert!(e.to_string().contains(says), "{line}: {e}");
    }
    // After `--`, `help` is an argument (here, the token to verify).
    match p(&argv("verify -- help")) {
        Ok(Command::Verify(v)) => assert_eq!(v.token.as_ref().map(|t| t.expose()), Some("help")),
        other => panic!("{other:?}"),
    }
    // aws-cli's words for arguments its command does not take.
    let args: Vec<String> = argv("eks get-token --cluster-name c extra more")
        .iter()
        .map(|s| s.to_string())
        .collect();
    let e = parse(Dialect::Aws, &args, &Env::default()).unwrap_err();
    assert!(
        e.to_string().starts_with("Unknown options: extra,more"),
        "{e}"
    );
    let args: Vec<String> = argv("sts get-caller-identity x y z")
        .iter()
        .map(|s| s.to_string())
        .collect();
    let e = parse(Dialect::Aws, &args, &Env::default()).unwrap_err();
    assert!(e.to_string().starts_with("Unknown options: y, z, x"), "{e}");
}

/// An option where a value should be, booleans and extra words, as each dialect's
/// own parser (argparse, pflag/cobra) reads them.
#[test]
fn values_booleans_and_extra_words_per_dialect() {
    let run = |d: Dialect, line: &str| {
        let args: Vec<String> = argv(line).iter().map(|s| s.to_string()).collect();
        parse(d, &args, &Env::default())
    };
    let refused = |d: Dialect, line: &str, says: &str| {
        let e = run(d, line).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{line}: {e}");
        assert!(e.to_string().contains(says), "{line}: {e}");
    };
    let cluster = |d: Dialect, line: &str| match run(d, line) {
        Ok(Command::GetToken(g)) => g.request.cluster_id,
        other => panic!("{line}: {other:?}"),
    };
    // argparse: anything that starts with - but a negative number is an option.
    refused(
        Dialect::Aws,
        "eks get-token --cluster-name --debug",
        "argument --cluster-name: expected one argument",
    );
    refused(
        Dialect::Aws,
        "eks get-token --cluster-name -x",
        "expected one argument",
    );
    assert_eq!(
        cluster(Dialect::Aws, "eks get-token --cluster-name -5"),
        "-5"
    );
    let spaced: Vec<String> = ["eks", "get-token", "--cluster-name", "-a b"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert!(matches!(
        parse(Dialect::Aws, &spaced, &Env::default()),
        Ok(Command::GetToken(g)) if g.request.cluster_id == "-a b"
    ));
    // eks-token: a long option of the command is not taken as a value, unless joined.
    refused(
        Dialect::EksToken,
        "get-token --cluster-name --region",
        "--cluster-name=--region",
    );
    assert_eq!(
        cluster(Dialect::EksToken, "get-token --cluster-name=--region"),
        "--region"
    );
    // Another command's option, or a prefix of this one's, is not a value either.
    refused(
        Dialect::EksToken,
        "get-token --cluster-name c --role-arn arn:aws:iam::1:role/r --external-id --force",
        "--external-id=--force",
    );
    refused(
        Dialect::EksToken,
        "write-token --cluster-name c --out --refres",
        "--out=--refres",
    );
    match run(
        Dialect::EksToken,
        "get-token --cluster-name c --role-arn arn:aws:iam::1:role/r --external-id=--force",
    ) {
        Ok(Command::GetToken(g)) => assert_eq!(g.request.external_id.as_deref(), Some("--force")),
        other => panic!("{other:?}"),
    }
    // pflag takes whatever follows; booleans read as strconv.ParseBool does.
    for yes in ["1", "t", "T", "true", "TRUE", "True"] {
        let line = format!("token -i c --token-only={yes}");
        assert!(matches!(
            run(Dialect::Authenticator, &line),
            Ok(Command::GetToken(g)) if g.print.format == Format::Token
        ));
    }
    for no in ["0", "f", "F", "false", "FALSE", "False"] {
        let line = format!("token -i c --token-only={no}");
        assert!(matches!(
            run(Dialect::Authenticator, &line),
            Ok(Command::GetToken(g)) if g.print.format != Format::Token
        ));
    }
    refused(
        Dialect::Authenticator,
        "token -i c --token-only=yes",
        "strconv.ParseBool",
    );
    assert!(matches!(
        run(Dialect::Authenticator, "version -s=true"),
        Ok(Command::Version(_))
    ));
    // sts get-caller-identity's --role-arn is eks-token's: repeated, a chain.
    match run(
        Dialect::Aws,
        "sts get-caller-identity --role-arn arn:aws:iam::1:role/x --role-arn arn:aws:iam::1:role/y",
    ) {
        Ok(Command::WhoAmI(g)) => assert_eq!(
            g.request.role_arns,
            ["arn:aws:iam::1:role/x", "arn:aws:iam::1:role/y"]
        ),
        other => panic!("{other:?}"),
    }
    // argparse keeps the last of a repeated option: aws-cli assumes one role.
    for d in [Dialect::Aws, Dialect::EksToken] {
        match run(d, "eks get-token --cluster-name c --role-arn arn:aws:iam::1:role/x --role-arn arn:aws:iam::1:role/y") {
            Ok(Command::GetToken(g)) => {
                assert_eq!(g.request.role_arns, ["arn:aws:iam::1:role/y"], "{d:?}")
            }
            other => panic!("{other:?}"),
        }
    }
    // update-kubeconfig's --kubeconfig names a file.
    refused(
        Dialect::Aws,
        "eks update-kubeconfig --name c --kubeconfig dir/",
        "names a directory",
    );
    // cobra: `help` is a word of the root only; after a command, it is an argument.
    assert_eq!(cluster(Dialect::Authenticator, "token -i c help"), "c");
    assert_eq!(cluster(Dialect::ArgoCd, "aws --cluster-name c help"), "c");
    assert!(matches!(
        run(Dialect::Authenticator, "help token"),
        Ok(Command::Help(h)) if h.command == "token"
    ));
    // cobra: `aws` takes extra words; an unknown flag is the error.
    assert_eq!(cluster(Dialect::ArgoCd, "aws --cluster-name c extra"), "c");
    refused(
        Dialect::ArgoCd,
        "aws --cluster-name c --bogus x",
        "unknown flag: --bogus",
    );
}

/// provideClusterInfo: with no cluster on the command line, get-token in every dialect
/// takes the cluster, region, roles (a chain), session name, external id and duration
/// from the cluster's config in `KUBERNETES_EXEC_INFO`; the command line wins where it
/// speaks; a config key of the wrong kind is an error (exit 1).
#[test]
fn provide_cluster_info_fills_what_the_command_line_leaves_out() {
    let info = |config: &str| {
        let mut env = Env::default();
        env.set(
            "KUBERNETES_EXEC_INFO",
            &format!(
                r#"{{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{{"cluster":{{"server":"https://x","config":{config}}},"interactive":false}}}}"#
            ),
        );
        env
    };
    let a = "arn:aws:iam::111111111111:role/hub";
    let b = "arn:aws:iam::222222222222:role/dev";
    let env = info(&format!(
        r#"{{"clusterName":"dev","region":"eu-west-1","roleArn":["{a}","{b}"],"sessionName":"ci-run","externalId":"ext-1","durationSeconds":900,"other":{{"x":1}}}}"#
    ));
    let get = |dialect, line: &str, env: &Env| {
        let args: Vec<String> = line.split(' ').map(str::to_owned).collect();
        match parse(dialect, &args, env) {
            Ok(Command::GetToken(g)) => Ok(g.request),
            Ok(other) => panic!("{other:?}"),
            Err(e) => Err(e),
        }
    };
    for (dialect, line) in [
        (Dialect::EksToken, "get-token"),
        (Dialect::EksToken, "token"),
        (Dialect::EksToken, "eks get-token"),
        (Dialect::EksToken, "aws"),
        (Dialect::Aws, "eks get-token"),
        (Dialect::Authenticator, "token"),
        (Dialect::ArgoCd, "aws"),
    ] {
        let r = get(dialect, line, &env).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(r.cluster_id, "dev", "{dialect:?} {line}");
        assert_eq!(r.region.as_deref(), Some("eu-west-1"), "{line}");
        assert_eq!(r.role_arns, [a, b], "{dialect:?} {line}: the whole chain");
        assert_eq!(r.session_name.as_deref(), Some("ci-run"), "{line}");
        assert_eq!(r.external_id.as_deref(), Some("ext-1"), "{line}");
        assert_eq!(r.duration_seconds, Some(900), "{line}");
    }
    // The command line wins where it speaks.
    let r = get(
        Dialect::EksToken,
        "get-token --cluster-name qa --region us-west-2 --role-arn arn:aws:iam::333333333333:role/qa",
        &env,
    )
    .unwrap();
    assert_eq!(r.cluster_id, "qa");
    assert_eq!(r.region.as_deref(), Some("us-west-2"));
    assert_eq!(r.role_arns, ["arn:aws:iam::333333333333:role/qa"]);
    assert_eq!(r.session_name.as_deref(), Some("ci-run"));
    let r = get(Dialect::Authenticator, "token -i qa", &env).unwrap();
    assert_eq!(r.cluster_id, "qa");
    // clusterId and cluster name it too; one role as a string.
    for key in ["clusterId", "cluster"] {
        let env = info(&format!(r#"{{"{key}":"ops","roleArn":"{b}"}}"#));
        let r = get(Dialect::EksToken, "get-token", &env).unwrap();
        assert_eq!(
            (r.cluster_id.as_str(), r.role_arns.as_slice()),
            ("ops", [b.to_owned()].as_slice())
        );
    }
    // Wrong kinds are errors; no config and no cluster is the usual usage error.
    for config in [
        r#"{"clusterName":"dev","roleArn":5}"#,
        r#"{"clusterName":["dev"]}"#,
    ] {
        let e = get(Dialect::EksToken, "get-token", &info(config)).unwrap_err();
        assert_eq!(e.exit_code(), 1, "{e}");
        assert!(e.to_string().contains("KUBERNETES_EXEC_INFO"), "{e}");
    }
    let e = get(Dialect::EksToken, "get-token", &info("{}")).unwrap_err();
    assert!(e.to_string().contains("missing --cluster-name"), "{e}");
    let e = get(Dialect::EksToken, "get-token", &Env::default()).unwrap_err();
    assert_eq!(e.exit_code(), 2);
}
