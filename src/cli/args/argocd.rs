//! Argo CD's `argocd-k8s-auth aws --cluster-name NAME [--role-arn ARN] [--profile P]`
//! (cobra, pflag's rules).

use std::time::Duration;

use eks_token::Request;

use super::groups::HELP;
use super::help::Spec;
use super::lexer::{self, Rules};
use super::options::{group, value, Group, Key};
use super::{
    help_or_version, lex_as, usage, Command, Dialect, Format, GetToken, HelpTopic, Print, Result,
    VersionStyle,
};

const D: Dialect = Dialect::ArgoCd;

#[rustfmt::skip]
const AWS_FLAGS: Group = group(&[
    value("cluster-name", None, "NAME", Key::ClusterName, "the cluster"),
    value("role-arn", None, "ARN", Key::RoleArn, "a role to assume for the token"),
    value("profile", None, "NAME", Key::Profile, "the AWS profile"),
]);

pub(crate) const OVERVIEW: Spec = Spec {
    name: "",
    usage: &["aws --cluster-name NAME [--role-arn ARN] [--profile NAME]"],
    about: "\
This `argocd-k8s-auth` is eks-token standing in for it: `aws` prints one line of
ExecCredential JSON, and tries a failure again every 5 s within 60 s.",
    groups: &[&HELP],
};

pub(crate) const AWS: Spec = Spec {
    name: "aws",
    usage: &["aws --cluster-name NAME [--role-arn ARN] [--profile NAME]"],
    about: OVERVIEW.about,
    groups: &[&AWS_FLAGS, &HELP],
};

pub(crate) const SPECS: &[&Spec] = &[&OVERVIEW, &AWS];

/// Parses an `argocd-k8s-auth` command line.
pub(crate) fn parse(args: &[String]) -> Result<Command> {
    let tables: Vec<_> = SPECS.iter().map(|s| s.groups).collect();
    let words = lexer::words(Rules::Pflag, args, &tables);
    let named: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .filter(|w| *w != "help")
        .collect();
    // cobra: `help [aws]` is the root's command; after `aws`, a word is its argument.
    if words.first().is_some_and(|w| w == "help") && named.len() <= 1 {
        return Ok(Command::Help(HelpTopic {
            dialect: D,
            command: if named == ["aws"] { "aws" } else { "" },
        }));
    }
    if words.as_slice() == ["version"] {
        return Ok(Command::Version(VersionStyle::EksToken));
    }
    // cobra lets a subcommand without an argument rule take any arguments: `aws` reads
    // its flags (an unknown one is the error) and ignores the rest, as the real one does.
    if named.first() != Some(&"aws") {
        if let Ok(p) = lexer::lex(Rules::Pflag, args, OVERVIEW.groups) {
            if let Some(c) = help_or_version(D, &p, "", VersionStyle::EksToken) {
                return Ok(c);
            }
        }
        return Err(if named.is_empty() {
            usage(
                "no command given; this argocd-k8s-auth is eks-token and has: aws --cluster-name \
                 NAME [--role-arn ARN] [--profile NAME]",
            )
        } else {
            usage(format!(
                "`{}` is not available: this argocd-k8s-auth is eks-token standing in for it, \
                 and it has only `aws`",
                named.join(" ")
            ))
        });
    }
    let p = lex_as(D, Rules::Pflag, &AWS, args)?;
    if let Some(c) = help_or_version(D, &p, "aws", VersionStyle::EksToken) {
        return Ok(c);
    }
    let cluster_id = p
        .last(Key::ClusterName)
        .ok_or_else(|| usage("missing --cluster-name NAME"))?;
    Ok(Command::GetToken(GetToken {
        request: Request {
            cluster_id,
            role_arns: p.last(Key::RoleArn).into_iter().collect(),
            profile: p.last(Key::Profile),
            // Argo CD's own retries span a minute.
            timeout: Duration::from_secs(60),
            ..Request::default()
        },
        print: Print::plain(D, Format::Json),
        env: Vec::new(),
        verbose: false,
    }))
}
