//! Argo CD's `argocd-k8s-auth aws --cluster-name NAME [--role-arn ARN] [--profile P]`
//! (cobra, pflag's rules).

use std::time::Duration;

use eks_token::{Env, Request};

use super::error::{usage, ArgError, Result};
use super::groups::HELP;
use super::low::Given;
use super::options::{group, value, Group, Key};
use super::request::duration_seconds;
use super::rules::{Rules, PFLAG};
use super::spec::{Extra, Spec};
use super::types::{Command, Dialect, Format, GetToken, Print, VersionStyle};

const D: Dialect = Dialect::ArgoCd;

#[rustfmt::skip]
const AWS_FLAGS: Group = group(&[
    value("cluster-name", None, "NAME", Key::ClusterName, "the cluster"),
    value("role-arn", None, "ARN", Key::RoleArn, "a role to assume for the token"),
    value("profile", None, "NAME", Key::Profile, "the AWS profile"),
]);

/// The tool's rules: cobra's pflag.
pub(crate) const RULES: Rules = PFLAG;

const ABOUT: &str = "\
This `argocd-k8s-auth` is eks-token standing in for it: `aws` prints one line of
ExecCredential JSON, and tries a failure again every 5 s within 60 s.";

pub(crate) const OVERVIEW: Spec = Spec::new(
    "",
    &["aws --cluster-name NAME [--role-arn ARN] [--profile NAME]"],
    ABOUT,
    &[&HELP],
);

/// cobra lets a command without an argument rule take any words: `aws` reads its flags
/// (an unknown one is the error) and ignores the rest, as the real one does.
pub(crate) const AWS: Spec = Spec {
    build: Some(aws),
    cluster_info: true,
    extra: Extra::Any,
    ..Spec::new(
        "aws",
        &["aws --cluster-name NAME [--role-arn ARN] [--profile NAME]"],
        ABOUT,
        &[&AWS_FLAGS, &HELP],
    )
};

pub(crate) const VERSION: Spec = Spec {
    build: Some(|_: &Given<'_>, _| Ok(Command::Version(VersionStyle::EksToken))),
    ..Spec::new("version", &["version"], "The version.", &[&HELP])
};

/// Every command of the tool, its overview first.
pub(crate) const SPECS: &[&Spec] = &[&OVERVIEW, &AWS, &VERSION];

/// A command line that names no command of this tool, or one it does not have.
pub(crate) fn unknown(words: &[String]) -> ArgError {
    if words.is_empty() {
        return usage(
            "no command given; this argocd-k8s-auth is eks-token and has: aws --cluster-name \
             NAME [--role-arn ARN] [--profile NAME]",
        );
    }
    usage(format!(
        "`{}` is not available: this argocd-k8s-auth is eks-token standing in for it, and it \
         has only `aws`",
        words.join(" ")
    ))
}

fn aws(l: &Given<'_>, _: &Env) -> Result<Command> {
    let low = l.low;
    let cluster_id = low
        .cluster_name
        .clone()
        .ok_or_else(|| usage("missing --cluster-name NAME"))?;
    Ok(Command::GetToken(GetToken {
        request: Request {
            cluster_id,
            role_arns: match low.role_arns.last() {
                Some(r) => vec![r.clone()],
                None => low.cluster_roles.clone(),
            },
            region: low.region.clone(),
            session_name: low.session_name.clone(),
            external_id: low.external_id.clone(),
            duration_seconds: duration_seconds(low)?,
            profile: low.profile.clone(),
            // Argo CD's own retries span a minute.
            timeout: Duration::from_secs(60),
            ..Request::default()
        },
        print: Print::plain(D, Format::Json),
        env: Vec::new(),
        verbose: false,
    }))
}
