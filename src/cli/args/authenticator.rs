//! aws-iam-authenticator's command line (cobra, pflag's rules): `token`, `verify`,
//! `version`, its global flags (accepted where they do not apply) and the environment
//! variables its `token` command reads.

use eks_token::{Env, Request, Secret};

use super::error::{usage, ArgError, Result};
use super::low::Given;
use super::low::Low;
use super::options::{flag, group, value, Group, Key};
use super::request::duration_seconds;
use super::rules::{Rules, PFLAG};
use super::spec::{Extra, Spec};
use super::types::{
    Command, Dialect, Format, GetToken, Print, VerifyArgs, VersionStyle, DEFAULT_TIMEOUT,
};

const D: Dialect = Dialect::Authenticator;

/// The tool's persistent (global) flags.
#[rustfmt::skip]
const GLOBAL: Group = group(&[
    value("cluster-id", Some('i'), "ID", Key::ClusterId, "the cluster [KUBERNETES_AWS_AUTHENTICATOR_CLUSTER_ID]"),
    value("config", Some('c'), "FILE", Key::Config, "accepted (the server's configuration)"),
    value("log-format", Some('l'), "FORMAT", Key::LogFormat, "accepted"),
    value("loglevel", None, "LEVEL", Key::LogLevel, "debug or trace: each step on stderr"),
    value("feature-gates", None, "GATES", Key::FeatureGates, "accepted"),
    flag("help", Some('h'), Key::Help, "this text"),
    flag("version", None, Key::Version, "the version"),
]);

#[rustfmt::skip]
const TOKEN_FLAGS: Group = group(&[
    value("role", Some('r'), "ARN", Key::RoleArn, "a role to assume [DEFAULT_ROLE]"),
    value("external-id", Some('e'), "ID", Key::ExternalId, "its ExternalId"),
    value("session-name", Some('s'), "NAME", Key::SessionName, "its RoleSessionName"),
    flag("forward-session-name", None, Key::ForwardSessionName, "the source identity's session name"),
    value("region", None, "REGION", Key::Region, "the STS region"),
    flag("token-only", None, Key::TokenOnly, "the bare token, not an ExecCredential"),
    flag("cache", None, Key::Cache, "accepted (eks-token caches credentials always)"),
]);

#[rustfmt::skip]
const VERIFY_FLAGS: Group = group(&[
    value("token", Some('t'), "TOKEN", Key::Token, "the token to verify"),
    value("output", Some('o'), "json", Key::Output, "the identity as JSON"),
    value("partition", None, "NAME", Key::Partition, "accepted"),
    value("endpoint-validation-mode", None, "MODE", Key::EndpointValidationMode, "accepted"),
    value("endpoint-validation-file", None, "FILE", Key::EndpointValidationFile, "accepted"),
]);

#[rustfmt::skip]
const VERSION_FLAGS: Group = group(&[
    flag("short", Some('s'), Key::Short, "the version number alone"),
    value("output", Some('o'), "json|yaml", Key::Output, "the format [json]"),
]);

/// The tool's rules: cobra's pflag.
pub(crate) const RULES: Rules = PFLAG;

pub(crate) const OVERVIEW: Spec = Spec::new(
    "",
    &[
        "token -i CLUSTER [-r ROLE] [-e EXTERNAL_ID] [-s SESSION] [--token-only]",
        "verify -i CLUSTER -t TOKEN [-o json]",
        "version [-s] [-o json|yaml]",
    ],
    "\
This `aws-iam-authenticator` is eks-token standing in for it: its client
commands, flags and output. `aws-iam-authenticator token --help` names each
command's flags.",
    &[&GLOBAL],
);

/// cobra lets a command without an argument rule take any words (and ignores them).
pub(crate) const TOKEN: Spec = Spec {
    build: Some(token),
    cluster_info: true,
    extra: Extra::Any,
    ..Spec::new(
        "token",
        &["token -i CLUSTER [-r ROLE] [-e EXTERNAL_ID] [-s SESSION] [--token-only]"],
        "An ExecCredential (or the bare token) for the cluster, as the tool prints it.",
        &[&TOKEN_FLAGS, &GLOBAL],
    )
};

pub(crate) const VERIFY: Spec = Spec {
    build: Some(verify),
    extra: Extra::Any,
    ..Spec::new(
        "verify",
        &["verify -i CLUSTER -t TOKEN [-o json] [flags]"],
        "\
Checks the token as the server would, replays it to STS, and prints the
identity it stands for (as the tool prints it; JSON with -o json).",
        &[&VERIFY_FLAGS, &GLOBAL],
    )
};

pub(crate) const VERSION: Spec = Spec {
    build: Some(|l: &Given<'_>, _| Ok(Command::Version(version(l.low)?))),
    extra: Extra::Any,
    ..Spec::new(
        "version",
        &["version [-s] [-o json|yaml]"],
        "The version.",
        &[&VERSION_FLAGS, &GLOBAL],
    )
};

/// Every command of the tool, its overview first.
pub(crate) const SPECS: &[&Spec] = &[&OVERVIEW, &TOKEN, &VERIFY, &VERSION];

/// A command line that names no command of this tool, or one it does not have.
pub(crate) fn unknown(words: &[String]) -> ArgError {
    if words.is_empty() {
        return usage(
            "no command given; this aws-iam-authenticator is eks-token and has: token, \
             verify, version",
        );
    }
    usage(format!(
        "`{}` is not available: this aws-iam-authenticator is eks-token standing in for it, \
         and it has only token, verify and version",
        words.join(" ")
    ))
}

/// `--loglevel debug` (or trace): each step on stderr.
fn verbose(low: &Low) -> bool {
    low.log_level
        .as_deref()
        .is_some_and(|v| v == "debug" || v == "trace")
}

/// The cluster: `-i`, else the one provideClusterInfo names, else
/// `KUBERNETES_AWS_AUTHENTICATOR_CLUSTER_ID`.
fn cluster(low: &Low, env: &Env) -> Result<String> {
    low.cluster_id
        .clone()
        .or_else(|| low.cluster_name.clone())
        .or_else(|| {
            env.get("KUBERNETES_AWS_AUTHENTICATOR_CLUSTER_ID")
                .map(str::to_owned)
        })
        .ok_or_else(|| usage("cluster ID not specified (-i, --cluster-id)"))
}

fn token(l: &Given<'_>, env: &Env) -> Result<Command> {
    let low = l.low;
    let forward = low.forward_session_name;
    if forward && low.session_name.is_some() {
        return Err(usage(
            "cannot specify both --forward-session-name and --session-name parameter",
        ));
    }
    // pflag keeps the last of a repeated flag: one role (provideClusterInfo's may be a
    // chain).
    let role = low.role_arns.last().cloned();
    let role_arns = match (role, low.cluster_roles.is_empty()) {
        (Some(r), _) => vec![r],
        (None, false) => low.cluster_roles.clone(),
        (None, true) => env
            .get("DEFAULT_ROLE")
            .map(str::to_owned)
            .into_iter()
            .collect(),
    };
    let request = Request {
        cluster_id: cluster(low, env)?,
        role_arns,
        session_name: low.session_name.clone(),
        forward_session_name: forward,
        external_id: low.external_id.clone(),
        region: low.region.clone(),
        duration_seconds: duration_seconds(low)?,
        timeout: DEFAULT_TIMEOUT,
        ..Request::default()
    };
    let format = if low.token_only {
        Format::Token
    } else {
        Format::Json
    };
    Ok(Command::GetToken(GetToken {
        request,
        print: Print::plain(D, format),
        env: Vec::new(),
        verbose: verbose(low),
    }))
}

fn verify(l: &Given<'_>, env: &Env) -> Result<Command> {
    let low = l.low;
    let token = low
        .token
        .clone()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| usage("token not specified (-t, --token)"))?;
    Ok(Command::Verify(VerifyArgs {
        token: Some(Secret::new(token)),
        cluster_id: Some(cluster(low, env)?),
        online: true,
        timeout: DEFAULT_TIMEOUT,
        verbose: verbose(low),
        authenticator: Some(low.output.as_deref() == Some("json")),
    }))
}

/// How `version` (or `--version`) answers: `-s`, `-o json|yaml`.
pub(crate) fn version(low: &Low) -> Result<VersionStyle> {
    let yaml = match low.output.as_deref() {
        None | Some("json") => false,
        Some("yaml") => true,
        Some(other) => return Err(usage(format!("--output {other:?}: use json or yaml"))),
    };
    Ok(VersionStyle::Authenticator {
        short: low.short,
        yaml,
    })
}
