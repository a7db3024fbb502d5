//! The command line, in four dialects chosen by the name the binary was run as:
//!
//! - [`eks_token`] (any other name): its own commands (`get-token`, `write-token`,
//!   `whoami`, `kubeconfig`, `verify`, `doctor`), and every other dialect's forms;
//! - [`aws`]: aws-cli's commands that eks-token stands in for, with aws-cli's options
//!   (and unique prefixes of them, as argparse allows), global options anywhere;
//! - [`authenticator`]: aws-iam-authenticator's `token`, `verify`, `version`;
//! - [`argocd`]: `argocd-k8s-auth aws`.
//!
//! Each command is a [`spec::Spec`]: its words, its one table of options (which the
//! [`lexer`], `--help` and the docs read), what it makes of a command line. One
//! dispatcher ([`parse`]) serves every dialect: one pass of the lexer, then help,
//! version, the command's mode, its words, its build. Parsing only: what the options
//! mean for credentials is the library's [`eks_token::Request`].

pub(crate) mod argocd;
pub(crate) mod authenticator;
pub(crate) mod aws;
pub(crate) mod dialect;
pub(crate) mod eks_token;
pub(crate) mod error;
#[rustfmt::skip]
pub(crate) mod groups;
pub(crate) mod help;
pub(crate) mod lexer;
pub(crate) mod low;
pub(crate) mod options;
pub(crate) mod request;
pub(crate) mod rules;
pub(crate) mod spec;
pub(crate) mod types;
pub(crate) mod values;

use ::eks_token::Env;

pub(crate) use error::{usage, ArgError, Result};
pub(crate) use types::*;

use lexer::{Lexed, Progress};
use low::Given;
use spec::{Extra, Spec};

/// Parses the arguments (without the program name) in `dialect`; `env` gives the
/// environment variables a dialect reads as defaults of its flags.
pub(crate) fn parse(dialect: Dialect, args: &[String], env: &Env) -> Result<Command> {
    parse_logged(dialect, args, env).0
}

/// [`parse`], and the event a `write-token` line logs as (`write-token`, or `check`
/// with `--check`), for the error line of a command line that does not parse.
pub(crate) fn parse_logged(
    dialect: Dialect,
    args: &[String],
    env: &Env,
) -> (Result<Command>, Option<&'static str>) {
    let reader = dialect::reader(dialect);
    let (lexed, progress) = match lexer::lex(&reader, args) {
        Ok(l) => {
            let progress = Progress {
                spec: Some(l.spec),
                mode: l.spec.mode.is_some_and(|(k, _)| l.low.given(k)),
            };
            (Ok(l), progress)
        }
        Err((e, progress)) => (Err(e), progress),
    };
    let event = progress
        .spec
        .filter(|s| s.name == eks_token::WRITE_TOKEN.name && dialect == Dialect::EksToken)
        .map(|_| {
            if progress.mode {
                "check"
            } else {
                "write-token"
            }
        });
    let command = lexed
        .map_err(|e| named_elsewhere(dialect, progress.spec, e))
        .and_then(|l| dispatch(dialect, l, env));
    (command, event)
}

/// What a command line read asks for.
fn dispatch(dialect: Dialect, mut l: Lexed, env: &Env) -> Result<Command> {
    // The command's mode (`write-token --check`): its own table is the one that holds.
    let spec = match l.spec.mode {
        Some((key, mode)) if l.low.given(key) => {
            refuse_others(l.spec, mode, &l)?;
            mode
        }
        Some((_, mode)) => {
            refuse_others(mode, l.spec, &l)?;
            l.spec
        }
        None => l.spec,
    };
    let overview = spec.build.is_none();
    if l.low.help || l.help_word {
        // A line that names no command asks for the help of none.
        if overview && !l.unnamed.is_empty() {
            return Err(match dialect {
                Dialect::EksToken => usage(format!(
                    "no help for {:?}: eks-token help lists the commands",
                    l.unnamed.join(" ")
                )),
                Dialect::Aws if l.unnamed.len() <= 1 => {
                    return Ok(Command::Help(HelpTopic {
                        dialect,
                        command: "",
                    }))
                }
                _ => dialect::unknown(dialect, &l.unnamed),
            });
        }
        return Ok(Command::Help(HelpTopic {
            dialect,
            command: spec.name,
        }));
    }
    if l.low.version {
        return Ok(Command::Version(match dialect {
            Dialect::Aws => VersionStyle::Aws,
            Dialect::Authenticator => authenticator::version(&l.low)?,
            _ => VersionStyle::EksToken,
        }));
    }
    let Some(build) = spec.build else {
        return Err(dialect::unknown(dialect, &l.unnamed));
    };
    match (spec.extra, l.extra.len()) {
        (Extra::None, 0) | (Extra::One, 0 | 1) | (Extra::Any, _) => {}
        (Extra::None, _) => return Err(dialect::extra_words(dialect, spec, &l.extra)),
        (Extra::One, _) => return Err(dialect::extra_words(dialect, spec, &l.extra[1..])),
    }
    if spec.cluster_info {
        request::fill_cluster_info(&mut l.low, env)?;
    }
    let given = Given {
        dialect,
        name: spec.name,
        extra: &l.extra,
        low: &l.low,
    };
    build(&given, env)
}

/// Refuses each option given that `from`'s table has and `to`'s does not (`to` being
/// the command a mode flag chose, or not): named as the other's.
fn refuse_others(from: &Spec, to: &Spec, l: &Lexed) -> Result<()> {
    let Some((key, shown)) = l
        .low
        .given
        .iter()
        .find(|(k, _)| from.takes(*k) && !to.takes(*k))
    else {
        return Ok(());
    };
    let long = from
        .groups
        .iter()
        .flat_map(|g| g.opts.iter())
        .find(|o| o.key == *key)
        .map_or("", |o| o.long);
    if let Some((_, hint)) = to.instead.iter().find(|(name, _)| *name == long) {
        return Err(usage(*hint));
    }
    Err(usage(match (from.mode, to.mode) {
        // write-token's own option given with --check.
        (Some(_), None) => format!(
            "{shown} is an option of {}, not of {}: it reads the file alone",
            from.name, to.name
        ),
        _ => format!(
            "{shown} goes with {}",
            from.name.rsplit(' ').next().unwrap_or("")
        ),
    }))
}

/// An unknown option that another command of the dialect has is named as that one's
/// (`--out is an option of write-token and kubeconfig, not of get-token`), or what to
/// give instead when the command says.
fn named_elsewhere(dialect: Dialect, spec: Option<&'static Spec>, e: ArgError) -> ArgError {
    let ArgError::UnknownOption { long, .. } = &e else {
        return e;
    };
    if let Some(hint) = spec.and_then(|s| {
        s.instead
            .iter()
            .find(|(name, _)| name.starts_with(long.as_str()))
    }) {
        return usage(hint.1);
    }
    let spec_name = spec.map_or("", |s| s.name);
    let owners: Vec<&str> = dialect::specs(dialect)
        .iter()
        .filter(|s| {
            !s.name.is_empty()
                && s.name != spec_name
                && !s.name.contains(" --")
                && (lexer::has_option(s, long)
                    || s.mode.is_some_and(|(_, m)| lexer::has_option(m, long)))
        })
        .map(|s| s.name)
        .collect();
    let listed = match owners.as_slice() {
        [] => return e,
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    };
    usage(if spec_name.is_empty() {
        format!(
            "no command given: --{long} is an option of {listed}; name the command first \
             ({} {} --{long} ...)",
            dialect.program(),
            owners[0]
        )
    } else {
        format!("--{long} is an option of {listed}, not of {spec_name}")
    })
}

#[cfg(test)]
mod tests;
