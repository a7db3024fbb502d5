//! aws-cli's command line, for the commands eks-token stands in for (`eks get-token`,
//! `eks update-kubeconfig`, `sts get-caller-identity`): argparse's rules (long options,
//! unique prefixes of aws-cli's own names), aws-cli's global options anywhere.

use super::groups as g;
use super::help::{self, Spec};
use super::lexer::{self, Rules};
use super::options::Key;
use super::values;
use super::{
    help_or_version, lex_as, query, request, usage, ArgError, Command, Dialect, Format, GetToken,
    HelpTopic, Print, Result, UpdateKubeconfig, VersionStyle, DEFAULT_TIMEOUT,
};

/// The commands eks-token has under the name `aws`.
const COMMANDS: &str = "eks get-token, eks update-kubeconfig, sts get-caller-identity";

pub(crate) const OVERVIEW: Spec = Spec {
    name: "",
    usage: &[
        "[--region R] [--profile P] eks get-token --cluster-name NAME [--role-arn ARN]",
        "eks update-kubeconfig --name NAME [--role-arn ARN] [--kubeconfig FILE]",
        "sts get-caller-identity [--output json|text] [--query Arn]",
    ],
    about: "\
This `aws` is eks-token standing in for the AWS CLI, with aws-cli's options and
output for these three commands only. `aws eks get-token help` (or --help) names
each command's options.",
    groups: &[&g::AWS_RUN, &g::AWS_GLOBALS],
};

pub(crate) const GET_TOKEN: Spec = Spec {
    name: "eks get-token",
    usage: &["[--region R] eks get-token --cluster-name NAME [--role-arn ARN] [options]"],
    about: "\
aws-cli's `eks get-token`: an ExecCredential for kubectl, with aws-cli's arguments,
output and exit status.",
    groups: &[&g::AWS_GET_TOKEN, &g::AWS_RUN, &g::AWS_GLOBALS],
};

pub(crate) const UPDATE_KUBECONFIG: Spec = Spec {
    name: "eks update-kubeconfig",
    usage: &["eks update-kubeconfig --name NAME [--role-arn ARN] [--kubeconfig FILE] [options]"],
    about: "\
aws-cli's `eks update-kubeconfig`: DescribeCluster, then the cluster, a user that gets
tokens and a context are merged into the kubeconfig, and the context made current.
Every other entry stays as kubectl reads it; the file is replaced atomically under
kubectl's lock, keeping its mode, owner and group.",
    groups: &[&g::AWS_UPDATE_KUBECONFIG, &g::AWS_RUN, &g::AWS_GLOBALS],
};

pub(crate) const WHOAMI: Spec = Spec {
    name: "sts get-caller-identity",
    usage: &["sts get-caller-identity [--output json|text] [--query Arn] [options]"],
    about: "aws-cli's `sts get-caller-identity`: who the credentials are.",
    groups: &[&g::AWS_WHOAMI, &g::AWS_RUN, &g::AWS_GLOBALS],
};

pub(crate) const SPECS: &[&Spec] = &[&OVERVIEW, &GET_TOKEN, &UPDATE_KUBECONFIG, &WHOAMI];

/// Parses an `aws` command line.
pub(crate) fn parse(args: &[String]) -> Result<Command> {
    let tables: Vec<_> = SPECS.iter().map(|s| s.groups).collect();
    let words = lexer::words(Rules::Argparse, args, &tables);
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let named: Vec<&str> = words.iter().filter(|w| **w != "help").copied().collect();
    let spec = help::named(SPECS, &named);
    // `aws help`, `aws eks help`, `aws eks get-token help`.
    if words.contains(&"help") && (spec.is_some() || named.len() <= 1) {
        return Ok(Command::Help(HelpTopic {
            dialect: Dialect::Aws,
            command: spec.map_or("", |s| s.name),
        }));
    }
    match spec {
        Some(spec) => parse_as(Dialect::Aws, spec, args),
        None => {
            if let Ok(p) = lexer::lex(Rules::Argparse, args, OVERVIEW.groups) {
                if let Some(c) = help_or_version(Dialect::Aws, &p, "", VersionStyle::Aws) {
                    return Ok(c);
                }
            }
            // `aws eks get-token --cluster-name c extra`: aws-cli's own words.
            let command = (1..named.len())
                .rev()
                .find_map(|n| Some((n, help::named(SPECS, &named[..n])?)));
            if let Some((n, spec)) = command {
                parse_as(Dialect::Aws, spec, args)?;
                // As aws-cli lists them: its eks commands joined by ",", an operation's
                // (sts) by ", " with the first last.
                let extra = &named[n..];
                let listed = if spec.name == WHOAMI.name {
                    let mut e: Vec<&str> = extra[1..].to_vec();
                    e.push(extra[0]);
                    e.join(", ")
                } else {
                    extra.join(",")
                };
                return Err(usage(format!("Unknown options: {listed}")));
            }
            if words.is_empty() {
                Err(usage(format!(
                    "no command given; this `aws` is eks-token and has: {COMMANDS}"
                )))
            } else {
                Err(not_available(&words))
            }
        }
    }
}

fn not_available(words: &[&str]) -> ArgError {
    let shown: Vec<&str> = words.iter().take(2).copied().collect();
    usage(format!(
        "`aws {}` is not available: this `aws` is eks-token standing in for the AWS CLI, \
         and it has only {COMMANDS}",
        shown.join(" ")
    ))
}

/// Parses `args` as aws-cli's command `spec`, under `dialect`'s name (eks-token takes
/// these forms too, and prints as itself).
pub(crate) fn parse_as(dialect: Dialect, spec: &'static Spec, args: &[String]) -> Result<Command> {
    let aws = dialect == Dialect::Aws;
    if spec.name == UPDATE_KUBECONFIG.name
        && args
            .iter()
            .any(|a| a.starts_with("--cluster-name") || a.starts_with("--cluster-id"))
    {
        return Err(usage(
            "eks update-kubeconfig names the cluster with --name NAME",
        ));
    }
    let p = lex_as(dialect, Rules::Argparse, spec, args)?;
    let version = if aws {
        VersionStyle::Aws
    } else {
        VersionStyle::EksToken
    };
    if let Some(c) = help_or_version(dialect, &p, spec.name, version) {
        return Ok(c);
    }
    // Under eks-token's own name, `eks get-token` also prints the bare token.
    let choices: &[(&str, Format)] = if !aws && spec.name == GET_TOKEN.name {
        &[
            ("json", Format::Json),
            ("text", Format::Text),
            ("token", Format::Token),
        ]
    } else {
        &[("json", Format::Json), ("text", Format::Text)]
    };
    let format = values::parse_output(p.last(Key::Output).as_deref(), choices)?;
    let print = Print {
        dialect,
        format,
        query: query(&p)?,
        format_from_config: aws && p.last(Key::Output).is_none(),
    };
    let need_cluster = spec.name == GET_TOKEN.name;
    let (mut request, mut env) = request(&p, need_cluster, DEFAULT_TIMEOUT)?;
    // aws-cli's own --role-arn (eks get-token's) is argparse's: the last one, not a
    // chain. (sts get-caller-identity's is eks-token's, a chain when repeated.)
    if spec.name == GET_TOKEN.name {
        request.role_arns = p.last(Key::RoleArn).into_iter().collect();
    }
    // aws-cli's --verbose is update-kubeconfig's "print the entries", not -v.
    let verbose = p.has(Key::Debug);
    let endpoint = p.last(Key::EndpointUrl);
    // As in aws-cli, --endpoint-url is the command's own service.
    let service = match spec.name {
        "sts get-caller-identity" => "AWS_ENDPOINT_URL_STS",
        "eks update-kubeconfig" => "AWS_ENDPOINT_URL_EKS",
        _ => "",
    };
    if let (Some(u), false) = (endpoint, service.is_empty()) {
        env.push((service, u));
    }
    match spec.name {
        "eks get-token" => Ok(Command::GetToken(GetToken {
            request,
            print,
            env,
            verbose,
        })),
        "sts get-caller-identity" => Ok(Command::WhoAmI(GetToken {
            request,
            print,
            env,
            verbose,
        })),
        "eks update-kubeconfig" => {
            let name = p
                .last(Key::Name)
                .ok_or_else(|| usage("eks update-kubeconfig needs --name NAME"))?;
            // The user's role goes into the kubeconfig; DescribeCluster is made with
            // the credentials of the default chain, or of --assume-role-arn.
            let role_arn = request.role_arns.last().cloned();
            request.role_arns = p.last(Key::AssumeRoleArn).into_iter().collect();
            request.session_name = Some("EKSDescribeClusterSession".into());
            request.cluster_id = name.clone();
            Ok(Command::UpdateKubeconfig(
                GetToken {
                    request,
                    print,
                    env,
                    verbose,
                },
                UpdateKubeconfig {
                    name,
                    kubeconfig: match p.last(Key::Kubeconfig) {
                        Some(k) => Some(values::file_path("--kubeconfig", &k)?),
                        None => None,
                    },
                    role_arn,
                    proxy_url: p.last(Key::ProxyUrl),
                    dry_run: p.has(Key::DryRun),
                    verbose: p.has(Key::Verbose),
                    alias: p.last(Key::Alias),
                    user_alias: p.last(Key::UserAlias),
                },
            ))
        }
        other => unreachable!("a command without a parser: {other}"),
    }
}
