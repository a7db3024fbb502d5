//! The command line, drop-in for both anchors: `eks-token get-token ...`,
//! `eks-token eks get-token ...` (aws-cli's arguments, global options before or after
//! the subcommand, unique prefixes of long options as argparse allows, e.g. `--role`),
//! and `eks-token token -i ...` (aws-iam-authenticator's).

use std::time::Duration;

use crate::chain::RoleChain;
use crate::error::{Error, Result};

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Print a token (or ExecCredential).
    GetToken(GetToken),
    /// Print the help text.
    Help,
    /// Print the version.
    Version,
}

/// How to print the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// ExecCredential JSON for kubectl.
    Json,
    /// The bare token and a newline.
    Token,
}

/// Options of `get-token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetToken {
    /// Cluster name (or Outposts cluster id): the signed `x-k8s-aws-id`.
    pub cluster_id: String,
    /// Roles to assume after the source credentials.
    pub chain: RoleChain,
    /// `--region`.
    pub region: Option<String>,
    /// Output format.
    pub output: Output,
    /// `-v`.
    pub verbose: bool,
    /// The whole run's deadline.
    pub timeout: Duration,
}

/// Default `--timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Key {
    ClusterName,
    ClusterId,
    RoleArn,
    SessionName,
    ForwardSessionName,
    ExternalId,
    DurationSeconds,
    Region,
    Output,
    Verbose,
    Timeout,
    TokenOnly,
    Help,
    Version,
}

struct Opt {
    long: &'static str,
    short: Option<char>,
    takes_value: bool,
    key: Key,
}

const OPTS: &[Opt] = &[
    Opt {
        long: "cluster-name",
        short: None,
        takes_value: true,
        key: Key::ClusterName,
    },
    Opt {
        long: "cluster-id",
        short: Some('i'),
        takes_value: true,
        key: Key::ClusterId,
    },
    Opt {
        long: "role-arn",
        short: Some('r'),
        takes_value: true,
        key: Key::RoleArn,
    },
    Opt {
        long: "session-name",
        short: Some('s'),
        takes_value: true,
        key: Key::SessionName,
    },
    Opt {
        long: "forward-session-name",
        short: None,
        takes_value: false,
        key: Key::ForwardSessionName,
    },
    Opt {
        long: "external-id",
        short: Some('e'),
        takes_value: true,
        key: Key::ExternalId,
    },
    Opt {
        long: "duration-seconds",
        short: None,
        takes_value: true,
        key: Key::DurationSeconds,
    },
    Opt {
        long: "region",
        short: None,
        takes_value: true,
        key: Key::Region,
    },
    Opt {
        long: "output",
        short: Some('o'),
        takes_value: true,
        key: Key::Output,
    },
    Opt {
        long: "verbose",
        short: Some('v'),
        takes_value: false,
        key: Key::Verbose,
    },
    Opt {
        long: "debug",
        short: None,
        takes_value: false,
        key: Key::Verbose,
    },
    Opt {
        long: "timeout",
        short: None,
        takes_value: true,
        key: Key::Timeout,
    },
    Opt {
        long: "token-only",
        short: None,
        takes_value: false,
        key: Key::TokenOnly,
    },
    Opt {
        long: "help",
        short: Some('h'),
        takes_value: false,
        key: Key::Help,
    },
    Opt {
        long: "version",
        short: None,
        takes_value: false,
        key: Key::Version,
    },
];

/// The help text.
pub const HELP: &str = "\
eks-token: Kubernetes credentials for Amazon EKS, without the AWS CLI

Usage:
  eks-token get-token --cluster-name NAME [--role-arn ARN]... [options]
  eks-token eks get-token --cluster-name NAME [--role ARN] [options]   (aws-cli's arguments)
  eks-token token -i NAME [-r ARN] [-s SESSION] [-e ID] [--token-only] (aws-iam-authenticator's)

Prints an ExecCredential for kubectl (the kubeconfig's `exec` plugin), or the bare token.

Options:
  --cluster-name NAME       EKS cluster name, signed into the token as x-k8s-aws-id
  -i, --cluster-id ID       the same (an Outposts cluster's id)
  -r, --role-arn ARN        assume this role with the credentials so far; repeat for a
                            chain (--role is accepted, as in aws-cli)
  -s, --session-name NAME   RoleSessionName of every --role-arn hop [EKSGetTokenAuth]
  --forward-session-name    use the source identity's session name for the hops
  -e, --external-id ID      ExternalId of the last hop
  --duration-seconds N      session length of the --role-arn hops, 900-43200 [3600];
                            STS allows at most 3600 for a role assumed by a role
  --region REGION           STS region [AWS_REGION, AWS_DEFAULT_REGION, else global]
  -o, --output json|token   ExecCredential JSON, or the token and a newline [json]
  --token-only              the same as --output token
  --timeout DURATION        deadline of the whole run: 30, 30s, 1m, 1m30s [30s]
  -v, --verbose             each step and its duration on stderr (never a secret)
  -h, --help                this text
  --version                 the version

Credentials (first found): AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY [+ AWS_SESSION_TOKEN];
IRSA: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN [+ AWS_ROLE_SESSION_NAME].
Endpoint: AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, AWS_USE_FIPS_ENDPOINT,
AWS_USE_DUALSTACK_ENDPOINT, AWS_STS_REGIONAL_ENDPOINTS. Network: HTTPS_PROXY, NO_PROXY,
AWS_CA_BUNDLE. kubectl's KUBERNETES_EXEC_INFO picks the ExecCredential apiVersion.

Exit codes: 0 success, 1 failure, 2 command line not understood.
";

fn usage(msg: impl Into<String>) -> Error {
    Error::Usage(msg.into())
}

fn find_long(name: &str) -> Result<&'static Opt> {
    if let Some(o) = OPTS.iter().find(|o| o.long == name) {
        return Ok(o);
    }
    let candidates: Vec<&Opt> = OPTS.iter().filter(|o| o.long.starts_with(name)).collect();
    match candidates.as_slice() {
        [one] => Ok(one),
        [] => Err(usage(format!("unknown option --{name}"))),
        many => {
            // `--debug` and `--verbose` share a key; other shared prefixes are ambiguous.
            let names: Vec<String> = many.iter().map(|o| format!("--{}", o.long)).collect();
            Err(usage(format!(
                "ambiguous option --{name} (could be {})",
                names.join(", ")
            )))
        }
    }
}

/// Parses the arguments (without the program name).
pub fn parse(args: &[String]) -> Result<Command> {
    let mut words: Vec<&str> = Vec::new();
    let mut values: Vec<(Key, String)> = Vec::new();
    let mut flags: Vec<Key> = Vec::new();
    let mut i = 0;
    let mut only_positional = false;
    while i < args.len() {
        let arg = args[i].as_str();
        i += 1;
        if only_positional || arg == "-" || !arg.starts_with('-') {
            words.push(arg);
            continue;
        }
        if arg == "--" {
            only_positional = true;
            continue;
        }
        let (opt, inline, shown): (&Opt, Option<&str>, String) =
            if let Some(long) = arg.strip_prefix("--") {
                let (name, inline) = match long.split_once('=') {
                    Some((n, v)) => (n, Some(v)),
                    None => (long, None),
                };
                (find_long(name)?, inline, format!("--{name}"))
            } else {
                let mut chars = arg[1..].chars();
                let c = chars.next().unwrap_or('-');
                let rest = chars.as_str();
                let opt = OPTS
                    .iter()
                    .find(|o| o.short == Some(c))
                    .ok_or_else(|| usage(format!("unknown option -{c}")))?;
                let inline = if rest.is_empty() {
                    None
                } else if opt.takes_value {
                    Some(rest.strip_prefix('=').unwrap_or(rest))
                } else {
                    return Err(usage(format!("option -{c} takes no value (got {arg})")));
                };
                (opt, inline, format!("-{c}"))
            };
        if opt.takes_value {
            let value = match inline {
                Some(v) => v.to_owned(),
                None => {
                    let v = args
                        .get(i)
                        .ok_or_else(|| usage(format!("option {shown} needs a value")))?;
                    i += 1;
                    v.clone()
                }
            };
            values.push((opt.key, value));
        } else {
            if inline.is_some() {
                return Err(usage(format!("option {shown} takes no value")));
            }
            flags.push(opt.key);
        }
    }
    if flags.contains(&Key::Help) || words.first() == Some(&"help") {
        return Ok(Command::Help);
    }
    if flags.contains(&Key::Version) || words == ["version"] {
        return Ok(Command::Version);
    }
    match words.as_slice() {
        ["get-token"] | ["eks", "get-token"] | ["token"] => {}
        [] => return Err(usage("no command given: use get-token")),
        other => {
            return Err(usage(format!(
                "unknown command {:?}: use get-token, eks get-token or token",
                other.join(" ")
            )))
        }
    }
    let last = |k: Key| {
        values
            .iter()
            .rev()
            .find(|(key, _)| *key == k)
            .map(|(_, v)| v.clone())
    };
    let cluster_id = values
        .iter()
        .rev()
        .find(|(k, _)| matches!(k, Key::ClusterName | Key::ClusterId))
        .map(|(_, v)| v.clone())
        .ok_or_else(|| usage("missing --cluster-name NAME (or -i/--cluster-id)"))?;
    let duration_seconds = last(Key::DurationSeconds)
        .map(|v| {
            v.trim().parse::<u32>().map_err(|_| {
                usage(format!(
                    "--duration-seconds {v:?} is not a whole number of seconds"
                ))
            })
        })
        .transpose()?;
    let output = match last(Key::Output).as_deref() {
        None | Some("json") => Output::Json,
        Some("token") => Output::Token,
        Some(other) => {
            return Err(usage(format!(
                "--output {other:?} is not supported: use json or token"
            )))
        }
    };
    let output = if flags.contains(&Key::TokenOnly) {
        Output::Token
    } else {
        output
    };
    let timeout = match last(Key::Timeout) {
        None => DEFAULT_TIMEOUT,
        Some(v) => parse_duration(&v).ok_or_else(|| {
            usage(format!(
                "--timeout {v:?} is not a duration (e.g. 30, 30s, 1m)"
            ))
        })?,
    };
    if timeout.is_zero() {
        return Err(Error::InvalidInput(
            "--timeout must be more than zero".into(),
        ));
    }
    Ok(Command::GetToken(GetToken {
        cluster_id,
        chain: RoleChain {
            role_arns: values
                .iter()
                .filter(|(k, _)| *k == Key::RoleArn)
                .map(|(_, v)| v.clone())
                .collect(),
            session_name: last(Key::SessionName),
            forward_session_name: flags.contains(&Key::ForwardSessionName),
            external_id: last(Key::ExternalId),
            duration_seconds,
        },
        region: last(Key::Region),
        output,
        verbose: flags.contains(&Key::Verbose),
        timeout,
    }))
}

/// Parses `30`, `30s`, `1500ms`, `5m`, `1h`, `1m30s`; `None` when malformed.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(secs) = s.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        total += match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.checked_mul(60)?),
            "h" => Duration::from_secs(n.checked_mul(3600)?),
            _ => return None,
        };
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Command> {
        parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
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
        assert_eq!(g.cluster_id, "dev");
        assert_eq!(g.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            g.chain.role_arns,
            ["arn:aws:iam::222222222222:role/testrole"]
        );
        assert_eq!(g.output, Output::Json);
        let g = gt(&[
            "eks",
            "get-token",
            "--cluster-name=dev",
            "--region=us-east-1",
        ]);
        assert_eq!(g.region.as_deref(), Some("us-east-1"));
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
        assert_eq!(g.cluster_id, "dev");
        assert_eq!(g.chain.session_name.as_deref(), Some("sess"));
        assert_eq!(g.chain.external_id.as_deref(), Some("ext-id"));
        assert_eq!(g.output, Output::Token);
        let g = gt(&["token", "-idev", "-v"]);
        assert_eq!(g.cluster_id, "dev");
        assert!(g.verbose);
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
        assert_eq!(g.chain.role_arns.len(), 2);
        assert_eq!(g.chain.duration_seconds, Some(900));
        assert_eq!(g.timeout, Duration::from_secs(90));
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
    }

    #[test]
    fn help_and_version() {
        assert_eq!(p(&["--help"]).unwrap(), Command::Help);
        assert_eq!(p(&["eks", "get-token", "-h"]).unwrap(), Command::Help);
        assert_eq!(p(&["--version"]).unwrap(), Command::Version);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("1500ms"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("abc"), None);
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_duration("m"), None);
        assert_eq!(parse_duration(""), None);
    }
}
