//! aws-cli's command line, for the commands eks-token stands in for (`eks get-token`,
//! `eks update-kubeconfig`, `sts get-caller-identity`): argparse's rules (long options,
//! unique prefixes of aws-cli's own names), aws-cli's global options anywhere.

use eks_token::Env;

use super::error::{usage, ArgError, Result};
use super::groups as g;
use super::low::{Given, Low};
use super::request::{query, request};
use super::rules::{Rules, ARGPARSE};
use super::spec::Spec;
use super::types::{Command, Dialect, Format, GetToken, Print, UpdateKubeconfig, DEFAULT_TIMEOUT};
use super::values;

/// The commands eks-token has under the name `aws`.
const COMMANDS: &str = "eks get-token, eks update-kubeconfig, sts get-caller-identity";

/// The rules of aws-cli's commands.
pub(crate) const RULES: Rules = ARGPARSE;

pub(crate) const OVERVIEW: Spec = Spec::new(
    "",
    &[
        "[--region R] [--profile P] eks get-token --cluster-name NAME [--role-arn ARN]",
        "eks update-kubeconfig --name NAME [--role-arn ARN] [--kubeconfig FILE]",
        "sts get-caller-identity [--output json|text] [--query Arn]",
    ],
    "\
This `aws` is eks-token standing in for the AWS CLI, with aws-cli's options and
output for these three commands only. `aws eks get-token help` (or --help) names
each command's options.",
    &[&g::AWS_RUN, &g::AWS_GLOBALS],
);

pub(crate) const GET_TOKEN: Spec = Spec {
    build: Some(build),
    cluster_info: true,
    ..Spec::new(
        "eks get-token",
        &["[--region R] eks get-token --cluster-name NAME [--role-arn ARN] [options]"],
        "\
aws-cli's `eks get-token`: an ExecCredential for kubectl, with aws-cli's
arguments, output and exit status.",
        &[&g::AWS_GET_TOKEN, &g::AWS_RUN, &g::AWS_GLOBALS],
    )
};

pub(crate) const UPDATE_KUBECONFIG: Spec = Spec {
    build: Some(build),
    instead: &[
        (
            "cluster-name",
            "eks update-kubeconfig names the cluster with --name NAME",
        ),
        (
            "cluster-id",
            "eks update-kubeconfig names the cluster with --name NAME",
        ),
    ],
    ..Spec::new(
        "eks update-kubeconfig",
        &["eks update-kubeconfig --name NAME [--role-arn ARN] [--kubeconfig FILE] [options]"],
        "\
aws-cli's `eks update-kubeconfig`: DescribeCluster, then the cluster, a user that
gets tokens and a context are merged into the kubeconfig, and the context made
current. Every other entry stays as kubectl reads it; the file is replaced
atomically under kubectl's lock, keeping its mode, owner and group.",
        &[&g::AWS_UPDATE_KUBECONFIG, &g::AWS_RUN, &g::AWS_GLOBALS],
    )
};

pub(crate) const WHOAMI: Spec = Spec {
    build: Some(build),
    ..Spec::new(
        "sts get-caller-identity",
        &["sts get-caller-identity [--output json|text] [--query Arn] [options]"],
        "aws-cli's `sts get-caller-identity`: who the credentials are.",
        &[&g::AWS_WHOAMI, &g::AWS_RUN, &g::AWS_GLOBALS],
    )
};

/// Every command of the dialect, its overview first.
pub(crate) const SPECS: &[&Spec] = &[&OVERVIEW, &GET_TOKEN, &UPDATE_KUBECONFIG, &WHOAMI];

/// A command line that names no command of this `aws`, or one it does not have.
pub(crate) fn unknown(words: &[String]) -> ArgError {
    if words.is_empty() {
        return usage(format!(
            "no command given; this `aws` is eks-token and has: {COMMANDS}"
        ));
    }
    let shown: Vec<&str> = words.iter().take(2).map(String::as_str).collect();
    usage(format!(
        "`aws {}` is not available: this `aws` is eks-token standing in for the AWS CLI, \
         and it has only {COMMANDS}",
        shown.join(" ")
    ))
}

/// Words after the command's own, as aws-cli lists them: its eks commands' joined by
/// ",", an operation's (sts) by ", " with the first last.
pub(crate) fn extra_words(spec: &Spec, extra: &[String]) -> ArgError {
    let listed = if spec.name == WHOAMI.name {
        let mut e: Vec<&str> = extra[1..].iter().map(String::as_str).collect();
        e.push(&extra[0]);
        e.join(", ")
    } else {
        extra.join(",")
    };
    usage(format!("Unknown options: {listed}"))
}

/// Builds aws-cli's commands, under the name they were asked in (eks-token takes these
/// forms too, and prints as itself).
fn build(l: &Given<'_>, _: &Env) -> Result<Command> {
    let (low, name, dialect) = (l.low, l.name, l.dialect);
    let aws = dialect == Dialect::Aws;
    // Under eks-token's own name, `eks get-token` also prints the bare token.
    let choices: &[(&str, Format)] = if !aws && name == GET_TOKEN.name {
        &[
            ("json", Format::Json),
            ("text", Format::Text),
            ("token", Format::Token),
        ]
    } else {
        &[("json", Format::Json), ("text", Format::Text)]
    };
    let format = values::parse_output(low.output.as_deref(), choices)?;
    let print = Print {
        dialect,
        format,
        query: query(low)?,
        format_from_config: aws && low.output.is_none(),
    };
    let need_cluster = name == GET_TOKEN.name;
    let (mut request, mut env) = request(low, need_cluster, DEFAULT_TIMEOUT)?;
    // aws-cli's own --role-arn (eks get-token's) is argparse's: the last one, not a
    // chain. (sts get-caller-identity's is eks-token's, a chain when repeated.)
    if name == GET_TOKEN.name {
        request.role_arns = low.role_arns.last().cloned().into_iter().collect();
    }
    if !low.cluster_roles.is_empty() {
        request.role_arns = low.cluster_roles.clone();
    }
    // aws-cli's --verbose is update-kubeconfig's "print the entries", not -v.
    let verbose = low.debug;
    // As in aws-cli, --endpoint-url is the command's own service.
    let service = match name {
        "sts get-caller-identity" => Some("AWS_ENDPOINT_URL_STS"),
        "eks update-kubeconfig" => Some("AWS_ENDPOINT_URL_EKS"),
        _ => None,
    };
    if let (Some(u), Some(service)) = (&low.endpoint_url, service) {
        env.push((service, u.clone()));
    }
    let g = |request| GetToken {
        request,
        print: print.clone(),
        env: env.clone(),
        verbose,
    };
    if name == WHOAMI.name {
        return Ok(Command::WhoAmI(g(request)));
    }
    if name == GET_TOKEN.name {
        return Ok(Command::GetToken(g(request)));
    }
    update_kubeconfig(low, request).map(|(request, u)| Command::UpdateKubeconfig(g(request), u))
}

/// `eks update-kubeconfig`: the user's role goes into the kubeconfig; DescribeCluster is
/// made with the credentials of the default chain, or of --assume-role-arn.
fn update_kubeconfig(
    low: &Low,
    mut request: eks_token::Request,
) -> Result<(eks_token::Request, UpdateKubeconfig)> {
    let name = low
        .name
        .clone()
        .ok_or_else(|| usage("eks update-kubeconfig needs --name NAME"))?;
    let role_arn = request.role_arns.last().cloned();
    request.role_arns = low.assume_role_arn.clone().into_iter().collect();
    request.session_name = Some("EKSDescribeClusterSession".into());
    request.cluster_id = name.clone();
    let u = UpdateKubeconfig {
        name,
        kubeconfig: match &low.kubeconfig {
            Some(k) => Some(values::file_path("--kubeconfig", k)?),
            None => None,
        },
        role_arn,
        proxy_url: low.proxy_url.clone(),
        dry_run: low.dry_run,
        verbose: low.verbose,
        alias: low.alias.clone(),
        user_alias: low.user_alias.clone(),
    };
    Ok((request, u))
}
