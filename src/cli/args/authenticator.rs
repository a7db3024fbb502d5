//! aws-iam-authenticator's command line (cobra, pflag's rules): `token`, `verify`,
//! `version`, its global flags (accepted where they do not apply) and the environment
//! variables its `token` command reads.

use eks_token::{Env, Request, Secret};

use super::help::Spec;
use super::lexer::{self, Parsed, Rules};
use super::options::{flag, group, value, Group, Key};
use super::{
    help_or_version, lex_as, usage, Command, Dialect, Format, GetToken, HelpTopic, Print, Result,
    VerifyArgs, VersionStyle, DEFAULT_TIMEOUT,
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

pub(crate) const OVERVIEW: Spec = Spec {
    name: "",
    usage: &[
        "token -i CLUSTER [-r ROLE] [-e EXTERNAL_ID] [-s SESSION] [--token-only]",
        "verify -i CLUSTER -t TOKEN [-o json]",
        "version [-s] [-o json|yaml]",
    ],
    about: "\
This `aws-iam-authenticator` is eks-token standing in for it: its client commands,
flags and output. `aws-iam-authenticator token --help` names each command's flags.",
    groups: &[&GLOBAL],
};

pub(crate) const TOKEN: Spec = Spec {
    name: "token",
    usage: &["token -i CLUSTER [-r ROLE] [-e EXTERNAL_ID] [-s SESSION] [--token-only] [flags]"],
    about: "An ExecCredential (or the bare token) for the cluster, as the tool prints it.",
    groups: &[&TOKEN_FLAGS, &GLOBAL],
};

pub(crate) const VERIFY: Spec = Spec {
    name: "verify",
    usage: &["verify -i CLUSTER -t TOKEN [-o json] [flags]"],
    about: "\
Checks the token as the server would, replays it to STS, and prints the identity it
stands for (as the tool prints it; JSON with -o json).",
    groups: &[&VERIFY_FLAGS, &GLOBAL],
};

pub(crate) const VERSION: Spec = Spec {
    name: "version",
    usage: &["version [-s] [-o json|yaml]"],
    about: "The version.",
    groups: &[&VERSION_FLAGS, &GLOBAL],
};

pub(crate) const SPECS: &[&Spec] = &[&OVERVIEW, &TOKEN, &VERIFY, &VERSION];

/// Parses an `aws-iam-authenticator` command line.
pub(crate) fn parse(args: &[String], env: &Env) -> Result<Command> {
    let tables: Vec<_> = SPECS.iter().map(|s| s.groups).collect();
    let words = lexer::words(Rules::Pflag, args, &tables);
    // cobra: `help [COMMAND]` is the root's command; a `help` after a command is one
    // of its arguments (which `token` ignores, as the real one does).
    let help = words.first().is_some_and(|w| w == "help");
    let command = words.get(usize::from(help)).map(String::as_str);
    let spec = SPECS
        .iter()
        .skip(1)
        .copied()
        .find(|s| Some(s.name) == command);
    if help && (spec.is_some() || command.is_none()) {
        return Ok(Command::Help(HelpTopic {
            dialect: D,
            command: spec.map_or("", |s| s.name),
        }));
    }
    let Some(spec) = spec else {
        if let Ok(p) = lexer::lex(Rules::Pflag, args, OVERVIEW.groups) {
            if let Some(c) = help_or_version(D, &p, "", version(&p)?) {
                return Ok(c);
            }
        }
        return Err(match command {
            None => usage(
                "no command given; this aws-iam-authenticator is eks-token and has: token, \
                 verify, version",
            ),
            Some(_) => usage(format!(
                "`{}` is not available: this aws-iam-authenticator is eks-token standing in \
                 for it, and it has only token, verify and version",
                words.join(" ")
            )),
        });
    };
    let p = lex_as(D, Rules::Pflag, spec, args)?;
    if let Some(c) = help_or_version(D, &p, spec.name, version(&p)?) {
        return Ok(c);
    }
    let verbose = p
        .last(Key::LogLevel)
        .is_some_and(|v| v == "debug" || v == "trace");
    let cluster_id = p.last(Key::ClusterId).or_else(|| {
        env.get("KUBERNETES_AWS_AUTHENTICATOR_CLUSTER_ID")
            .map(str::to_owned)
    });
    let cluster = || {
        cluster_id
            .clone()
            .ok_or_else(|| usage("cluster ID not specified (-i, --cluster-id)"))
    };
    match spec.name {
        "token" => {
            let session_name = p.last(Key::SessionName);
            let forward = p.has(Key::ForwardSessionName);
            if forward && session_name.is_some() {
                return Err(usage(
                    "cannot specify both --forward-session-name and --session-name parameter",
                ));
            }
            let role = p
                .last(Key::RoleArn)
                .or_else(|| env.get("DEFAULT_ROLE").map(str::to_owned));
            let request = Request {
                cluster_id: cluster()?,
                role_arns: role.into_iter().collect(),
                session_name,
                forward_session_name: forward,
                external_id: p.last(Key::ExternalId),
                region: p.last(Key::Region),
                timeout: DEFAULT_TIMEOUT,
                ..Request::default()
            };
            let format = if p.has(Key::TokenOnly) {
                Format::Token
            } else {
                Format::Json
            };
            Ok(Command::GetToken(GetToken {
                request,
                print: Print::plain(D, format),
                env: Vec::new(),
                verbose,
            }))
        }
        "verify" => {
            let token = p
                .last(Key::Token)
                .filter(|t| !t.is_empty())
                .ok_or_else(|| usage("token not specified (-t, --token)"))?;
            Ok(Command::Verify(VerifyArgs {
                token: Some(Secret::new(token)),
                cluster_id: Some(cluster()?),
                online: true,
                timeout: DEFAULT_TIMEOUT,
                verbose,
                authenticator: Some(p.last(Key::Output).as_deref() == Some("json")),
            }))
        }
        _ => Ok(Command::Version(version(&p)?)),
    }
}

/// How `version` (or `--version`) answers: `-s`, `-o json|yaml`.
fn version(p: &Parsed) -> Result<VersionStyle> {
    let yaml = match p.last(Key::Output).as_deref() {
        None | Some("json") => false,
        Some("yaml") => true,
        Some(other) => return Err(usage(format!("--output {other:?}: use json or yaml"))),
    };
    Ok(VersionStyle::Authenticator {
        short: p.has(Key::Short),
        yaml,
    })
}
