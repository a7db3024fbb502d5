//! The command line parser: the dialects, usage errors, write-token's options,
//! durations; the command lines in `examples/` parse.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::args::values::parse_duration;
use super::args::*;
use ::eks_token::Env;

/// `args` parsed as eks-token's own command line.
pub(crate) fn p(args: &[&str]) -> std::result::Result<Command, ArgError> {
    parse(
        Dialect::EksToken,
        &args.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        &Env::default(),
    )
}

/// A command line written as one string, split at spaces.
pub(crate) fn argv(line: &str) -> Vec<&str> {
    line.split(' ').collect()
}

fn gt(args: &[&str]) -> GetToken {
    match p(args).unwrap() {
        Command::GetToken(g) => g,
        other => panic!("{other:?}"),
    }
}

#[test]
fn aws_style_args() {
    let g = gt(&argv("--region eu-west-1 eks get-token --cluster-name dev --role arn:aws:iam::222222222222:role/testrole --output json"));
    assert_eq!(g.request.cluster_id, "dev");
    assert_eq!(g.request.region.as_deref(), Some("eu-west-1"));
    assert_eq!(
        g.request.role_arns,
        ["arn:aws:iam::222222222222:role/testrole"]
    );
    assert_eq!(g.print.format, Format::Json);
    let g = gt(&argv("eks get-token --cluster-name=dev --region=us-east-1"));
    assert_eq!(g.request.region.as_deref(), Some("us-east-1"));
}

#[test]
fn authenticator_style_args() {
    let g = gt(&argv(
        "token -i dev -r arn:aws:iam::222222222222:role/a -s sess -e ext-id --token-only",
    ));
    assert_eq!(g.request.cluster_id, "dev");
    assert_eq!(g.request.session_name.as_deref(), Some("sess"));
    assert_eq!(g.request.external_id.as_deref(), Some("ext-id"));
    assert_eq!(g.print.format, Format::Token);
    let g = gt(&["token", "-idev", "-v"]);
    assert_eq!(g.request.cluster_id, "dev");
    assert!(g.verbose);
}

#[test]
fn repeated_roles_form_a_chain() {
    let g = gt(&argv("get-token --cluster-name c --role-arn arn:aws:iam::111111111111:role/a --role-arn arn:aws:iam::222222222222:role/b --duration-seconds 900 --timeout 1m30s"));
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
        &argv("get-token --cluster-name c --duration-seconds 1h"),
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
    let help = |command| {
        Command::Help(HelpTopic {
            dialect: Dialect::EksToken,
            command,
        })
    };
    assert_eq!(p(&["--help"]).unwrap(), help(""));
    assert_eq!(
        p(&["eks", "get-token", "-h"]).unwrap(),
        help("eks get-token")
    );
    assert_eq!(
        p(&["--version"]).unwrap(),
        Command::Version(VersionStyle::EksToken)
    );
}

#[test]
fn write_token_args() {
    match p(&argv("write-token --cluster-name dev --out /t/token --refresh --refresh-interval 30s --mode 0640"))
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
    match p(&argv("write-token --cluster-name dev --out t --kubeconfig-out k --server https://x --ca-data QUJD"))
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
            &argv("write-token --cluster-name dev --out x --mode rw"),
            2,
        ),
        (
            &argv("write-token --cluster-name dev --out x --mode 0777777"),
            1,
        ),
        (
            &argv("write-token --cluster-name dev --out x --mode 0400"),
            1,
        ),
        (
            &argv("write-token --cluster-name dev --out x --kubeconfig-out k"),
            2,
        ),
        (
            &argv("write-token --cluster-name dev --out x --kubeconfig-out k --server https://x --ca-data QUJD --output json"),
            2,
        ),
        (
            &argv("write-token --cluster-name dev --out x --refresh --refresh-interval soon"),
            2,
        ),
        (
            &argv("write-token --cluster-name dev --out x --refresh --refresh-interval 10ms"),
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

fn example(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(name),
    )
    .unwrap()
}

/// The items of a YAML flow sequence such as `[a, "b c", --x]`.
fn flow_items(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('[').trim_end_matches(']');
    let mut items = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in inner.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                items.push(cur.trim().to_owned());
                cur.clear();
            }
            _ => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        items.push(cur.trim().to_owned());
    }
    items
}

/// The Kustomize component's command lines, its `$(VAR)`s expanded as Kubernetes
/// expands them from the ConfigMap: an init container's write, the sidecar's, the probes.
#[test]
fn kustomize_component_commands_parse() {
    let patch = example("kustomize/eks-token/sidecar.yaml")
        .replace("$(CLUSTER_NAME)", "dev")
        .replace(
            "$(ROLE_ARN)",
            "arn:aws:iam::222222222222:role/eks-dev-deployer",
        );
    let (mut writes, mut checks) = (0, 0);
    for line in patch.lines() {
        let line = line.trim();
        let argv = match (line.strip_prefix("args: "), line.strip_prefix("command: ")) {
            (Some(a), _) => flow_items(a),
            (_, Some(c)) => flow_items(c)[1..].to_vec(),
            _ => continue,
        };
        match parse(Dialect::EksToken, &argv, &Env::default()) {
            Ok(Command::WriteToken(g, w)) => {
                assert_eq!(g.request.role_arns.len(), 1);
                assert_eq!(w.out, Path::new("/var/run/eks/token"));
                writes += 1;
            }
            Ok(Command::CheckToken(c)) => {
                assert_eq!(c.files, Checked::File("/var/run/eks/token".into()));
                checks += 1;
            }
            other => panic!("{argv:?}: {other:?}"),
        }
    }
    assert_eq!((writes, checks), (2, 3));
}

#[test]
fn pod_manifest_commands_parse() {
    let pod = example("pod.yaml");
    let mut seen = 0;
    for line in pod.lines() {
        let Some(rest) = line.trim().strip_prefix("args: ") else {
            continue;
        };
        let args = flow_items(rest);
        match parse(Dialect::EksToken, &args, &Env::default()) {
            Ok(Command::WriteToken(g, w)) => {
                assert_eq!(g.request.cluster_id, "dev");
                assert_eq!(w.out, Path::new("/var/run/eks/token"));
                seen += 1;
            }
            other => panic!("{args:?}: {other:?}"),
        }
    }
    assert_eq!(seen, 2, "the init container and the sidecar");
    assert!(pod.contains("--refresh"));
    // The sidecar's probes: `write-token --check` on the file it writes.
    let mut probes = 0;
    for line in pod.lines() {
        let Some(rest) = line.trim().strip_prefix("command: ") else {
            continue;
        };
        let argv = flow_items(rest);
        assert_eq!(
            argv[0], "/usr/local/bin/eks-token",
            "the image's path of the binary"
        );
        match parse(Dialect::EksToken, &argv[1..], &Env::default()) {
            Ok(Command::CheckToken(c)) => {
                assert_eq!(c.files, Checked::File("/var/run/eks/token".into()));
                probes += 1;
            }
            other => panic!("{argv:?}: {other:?}"),
        }
    }
    assert_eq!(probes, 3, "the startup, readiness and liveness probes");
}

/// The fleet examples: the shared-services pod's and the fleet component's command lines
/// (init container, sidecar, probes) parse as the clusters file's commands, and their
/// clusters files (the ConfigMap's, the kustomization's) are read by the library;
/// the Argo CD example's exec arguments parse, one cluster each.
#[test]
fn fleet_example_commands_and_clusters_files_parse() {
    let file = "/etc/eks-token/clusters.yaml";
    for name in [
        "shared-services.yaml",
        "kustomize/eks-token-fleet/sidecar.yaml",
    ] {
        let text = example(name);
        let (mut writes, mut checks) = (0, 0);
        for line in text.lines() {
            let line = line.trim();
            let argv = match (line.strip_prefix("args: "), line.strip_prefix("command: ")) {
                (Some(a), _) => flow_items(a),
                (_, Some(c)) => flow_items(c)[1..].to_vec(),
                _ => continue,
            };
            match parse(Dialect::EksToken, &argv, &Env::default()) {
                Ok(Command::WriteFleet(_, w)) => {
                    assert_eq!(w.clusters, Path::new(file));
                    writes += 1;
                }
                Ok(Command::CheckToken(c)) => {
                    assert_eq!(c.files, Checked::Clusters(file.into()));
                    checks += 1;
                }
                other => panic!("{name}: {argv:?}: {other:?}"),
            }
        }
        assert_eq!((writes, checks), (2, 3), "{name}");
    }
    // The ConfigMap's clusters file, and the kustomization's.
    let pod = example("shared-services.yaml");
    let data = pod
        .split("clusters.yaml: |\n")
        .nth(1)
        .unwrap()
        .split("\n---")
        .next()
        .unwrap();
    let data: String = data
        .lines()
        .map(|l| format!("{}\n", l.get(4..).unwrap_or("")))
        .collect();
    for text in [data, example("kustomize/fleet-example/clusters.yaml")] {
        let entries = ::eks_token::fleet::parse(&text).unwrap();
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["dev", "qa", "prod"]);
        assert!(entries
            .iter()
            .all(|e| e.out.is_some() && e.kubeconfig_out.is_some()));
    }
    // Argo CD's Secrets: one get-token each.
    let argo = example("argocd-clusters.yaml");
    let mut clusters = Vec::new();
    for config in argo.split("config: |").skip(1) {
        let json = config.split("\n---").next().unwrap();
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        let args: Vec<String> = v["execProviderConfig"]["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect();
        match parse(Dialect::EksToken, &args, &Env::default()) {
            Ok(Command::GetToken(g)) => clusters.push(g.request.cluster_id),
            other => panic!("{args:?}: {other:?}"),
        }
    }
    assert_eq!(clusters, ["dev", "qa", "prod"]);
}

#[test]
fn kubeconfig_example_is_read_by_kubectl_and_its_args_parse() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/kubeconfig.yaml");
    let out = std::process::Command::new("kubectl")
        .args(["config", "view", "--raw", "-o", "json", "--kubeconfig"])
        .arg(&path)
        .env("HOME", std::env::temp_dir())
        .output()
        .expect("kubectl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cfg: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let users = cfg["users"].as_array().unwrap();
    assert_eq!(users.len(), 2);
    for u in users {
        let exec = &u["user"]["exec"];
        assert_eq!(exec["command"], "eks-token");
        let args: Vec<String> = exec["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect();
        assert!(
            matches!(
                parse(Dialect::EksToken, &args, &Env::default()),
                Ok(Command::GetToken(_))
            ),
            "{args:?}"
        );
    }
}

/// Every command of every dialect: its help names each option it takes, every option
/// its help names is one it takes, it fits a screen (70 lines of at most 80 columns),
/// and `COMMAND --help` prints it.
#[test]
fn each_commands_help_names_exactly_the_options_it_takes() {
    use super::args::dialect::{help_text, specs};
    use super::args::lexer::{find_long, table};
    for dialect in [
        Dialect::EksToken,
        Dialect::Aws,
        Dialect::Authenticator,
        Dialect::ArgoCd,
    ] {
        let rules = super::args::dialect::reader(dialect).rules;
        for spec in specs(dialect) {
            let text = help_text(HelpTopic {
                dialect,
                command: spec.name,
            });
            let lines = text.lines().count();
            assert!(lines <= 70, "{dialect:?} {}: {lines} lines", spec.name);
            for line in text.lines() {
                assert!(
                    line.chars().count() <= 80,
                    "{dialect:?} {}: a line of {} columns: {line:?}",
                    spec.name,
                    line.chars().count()
                );
            }
            assert!(
                text.starts_with(&format!("Usage: {} ", dialect.program())),
                "{dialect:?} {}: {text}",
                spec.name
            );
            for g in spec.groups {
                for o in g.opts {
                    assert!(
                        text.contains(&format!("--{}", o.long)),
                        "{dialect:?} {}: --{} missing from its help",
                        spec.name,
                        o.long
                    );
                }
            }
            // Each `--name` the help shows (outside the usage lines of other forms).
            for word in text.split(|c: char| c.is_whitespace() || c == ',' || c == '[') {
                let Some(name) = word.strip_prefix("--") else {
                    continue;
                };
                let name = name.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
                if name.is_empty() {
                    continue;
                }
                let taken = find_long(rules, spec.groups, name).is_ok_and(|o| o.long == name);
                // The overview's usage lines name other commands' options; a command's
                // about names its mode's flag.
                let other_form = spec.name.is_empty()
                    || text.contains(&format!("({name}"))
                    || find_long(rules, &table(spec), name).is_ok_and(|o| o.long == name)
                    || spec.mode.is_some();
                assert!(
                    taken || other_form || ["role"].contains(&name),
                    "{dialect:?} {}: its help names --{name}, which it does not take",
                    spec.name
                );
            }
            // And the parser agrees: `--help` of the command is that help.
            let mut args: Vec<String> = spec.name.split_whitespace().map(str::to_owned).collect();
            args.push("--help".into());
            assert_eq!(
                parse(dialect, &args, &Env::default()).unwrap(),
                Command::Help(HelpTopic {
                    dialect,
                    command: spec.name
                }),
                "{dialect:?} {args:?}"
            );
        }
    }
}

/// A mode's table is the whole of what it takes: `write-token --check` refuses every
/// option of write-token it does not use (exit 2, naming it), and write-token refuses
/// the check's own.
#[test]
fn a_modes_table_refuses_every_option_it_does_not_take() {
    for extra in [
        "--endpoint-url http://x",
        "--ca-bundle ca.pem",
        "--role-arn arn:aws:iam::111111111111:role/r",
        "--timeout 5s",
        "--refresh",
        "--no-cache",
        "-v",
    ] {
        let line = format!("write-token --check --out f {extra}");
        let e = p(&argv(&line)).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{line}: {e}");
        let name = extra.split(' ').next().unwrap();
        assert!(
            e.to_string().contains(&format!(
                "{name} is an option of write-token, not of write-token --check"
            )),
            "{line}: {e}"
        );
    }
    match p(&argv("write-token --out f --check --max-age 10m")).unwrap() {
        Command::CheckToken(c) => assert_eq!(c.max_age, Some(Duration::from_secs(600))),
        other => panic!("{other:?}"),
    }
    for (line, says) in [
        (
            "write-token --cluster-name c --out f --min-validity 1m",
            "--min-validity goes with --check",
        ),
        (
            "write-token --cluster-name c --out f --max-age 1m",
            "--max-age goes with --check",
        ),
        (
            "write-token --check --out f --max-age 1m --min-validity 1m",
            "two probes",
        ),
    ] {
        let e = p(&argv(line)).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{line}: {e}");
        assert!(e.to_string().contains(says), "{line}: {e}");
    }
}

/// `help` and `--version` answer alike in every dialect.
#[test]
fn help_and_version_in_every_dialect() {
    let run = |d: Dialect, args: &[&str]| {
        parse(
            d,
            &args.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            &Env::default(),
        )
    };
    for d in [
        Dialect::EksToken,
        Dialect::Aws,
        Dialect::Authenticator,
        Dialect::ArgoCd,
    ] {
        for args in [&["help"][..], &["--help"], &["-h"]] {
            assert!(
                matches!(run(d, args), Ok(Command::Help(_))),
                "{d:?} {args:?}"
            );
        }
        assert!(
            matches!(run(d, &["--version"]), Ok(Command::Version(_))),
            "{d:?}"
        );
    }
    assert!(matches!(
        run(Dialect::Aws, &["eks", "help"]),
        Ok(Command::Help(_))
    ));
    assert!(matches!(
        run(Dialect::Aws, &["eks", "get-token", "help"]),
        Ok(Command::Help(HelpTopic {
            command: "eks get-token",
            ..
        }))
    ));
    // The aws form under eks-token's name takes aws-cli's argv: --out is --output.
    match p(&["eks", "get-token", "--cluster-name", "dev", "--out", "json"]).unwrap() {
        Command::GetToken(g) => assert_eq!(g.print.format, Format::Json),
        other => panic!("{other:?}"),
    }
}

/// The option tables of `docs/commands.md` are the parser's (`EKS_TOKEN_WRITE_DOCS=1
/// cargo test --bins` rewrites them).
#[test]
fn the_docs_flag_tables_are_the_parsers() {
    use super::args::{dialect::specs, help};
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/commands.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut want = text.clone();
    // Each table once: where its command first appears (eks-token's name takes
    // aws-cli's commands; `token` and `aws` are get-token's table).
    let mut seen: Vec<*const ()> = Vec::new();
    for dialect in [
        Dialect::EksToken,
        Dialect::Aws,
        Dialect::Authenticator,
        Dialect::ArgoCd,
    ] {
        for spec in specs(dialect).iter().filter(|s| !s.name.is_empty()) {
            let id = spec.groups.as_ptr() as *const ();
            let marker = format!("<!-- options: {} {} -->\n", dialect.program(), spec.name);
            if seen.contains(&id) {
                assert!(
                    !text.contains(&marker),
                    "{marker:?} documents a table twice"
                );
                continue;
            }
            seen.push(id);
            let start = want
                .find(&marker)
                .unwrap_or_else(|| panic!("docs/commands.md has no {marker:?}"))
                + marker.len();
            let end = start + want[start..].find("<!-- end -->").expect("an end marker");
            want.replace_range(start..end, &help::markdown(spec));
        }
    }
    if std::env::var_os("EKS_TOKEN_WRITE_DOCS").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    assert!(
        text == want,
        "docs/commands.md's tables differ from the parser's: run \
         EKS_TOKEN_WRITE_DOCS=1 cargo test --bins the_docs_flag_tables"
    );
}
