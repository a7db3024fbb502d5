//! The four dialects as data: each one's commands, rules, where it reads the word
//! `help`, and the words of its errors for a line that names no command it has, or
//! words its command does not take.

use super::error::{usage, ArgError};
use super::lexer::Reader;
use super::spec::Spec;
use super::types::{Dialect, HelpTopic};
use super::{argocd, authenticator, aws, eks_token, help};

/// Every command of `d`, its overview first.
pub(crate) fn specs(d: Dialect) -> &'static [&'static Spec] {
    match d {
        Dialect::EksToken => eks_token::SPECS,
        Dialect::Aws => aws::SPECS,
        Dialect::Authenticator => authenticator::SPECS,
        Dialect::ArgoCd => argocd::SPECS,
    }
}

/// How `d` reads a command line.
pub(crate) fn reader(d: Dialect) -> Reader<'static> {
    let (rules, help_anywhere) = match d {
        Dialect::EksToken => (eks_token::RULES, true),
        Dialect::Aws => (aws::RULES, true),
        // cobra: `help` is a word of the root only; after a command, an argument.
        Dialect::Authenticator => (authenticator::RULES, false),
        Dialect::ArgoCd => (argocd::RULES, false),
    };
    Reader {
        rules,
        specs: specs(d),
        help_anywhere,
    }
}

/// The error for `words`, which name no command of `d` (none given, when empty).
pub(crate) fn unknown(d: Dialect, words: &[String]) -> ArgError {
    match d {
        Dialect::EksToken if words.is_empty() => usage(
            "no command given: use get-token, write-token, whoami, kubeconfig, verify or doctor",
        ),
        Dialect::EksToken => usage(format!(
            "unknown command {:?}: use get-token, eks get-token, token, aws, write-token, \
             whoami, kubeconfig, eks update-kubeconfig, verify or doctor",
            words.join(" ")
        )),
        Dialect::Aws => aws::unknown(words),
        Dialect::Authenticator => authenticator::unknown(words),
        Dialect::ArgoCd => argocd::unknown(words),
    }
}

/// The error for `extra`, words `spec` does not take.
pub(crate) fn extra_words(d: Dialect, spec: &Spec, extra: &[String]) -> ArgError {
    if d == Dialect::Aws {
        return aws::extra_words(spec, extra);
    }
    usage(format!(
        "unexpected argument {:?} to {}",
        extra[0], spec.name
    ))
}

/// The help text of a topic.
pub(crate) fn help_text(topic: HelpTopic) -> String {
    let specs = specs(topic.dialect);
    let spec = specs
        .iter()
        .find(|s| s.name == topic.command)
        .unwrap_or(&specs[0]);
    help::render(topic.dialect.program(), spec)
}
