//! A command: the words that name it, its help, its one table of options (which the
//! lexer, `--help` and the docs all read), what it makes of a command line, and its
//! modes (a flag that makes it another command with a table of its own).

use eks_token::Env;

use super::error::Result;
use super::low::Given;
use super::options::{Group, Key};
use super::rules::Rules;
use super::types::Command;

/// How many words a command takes after its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Extra {
    /// None (a word there is an error).
    None,
    /// One (`verify TOKEN`).
    One,
    /// Any, ignored (cobra's commands without an argument rule).
    Any,
}

/// What a command makes of a command line read by its table (`env`: the variables a
/// dialect reads as defaults of its flags).
pub(crate) type Build = fn(&Given<'_>, &Env) -> Result<Command>;

/// A command.
pub(crate) struct Spec {
    /// The words that name it (`get-token`, `eks update-kubeconfig`; empty for a
    /// program's own overview; a mode is named by its command and flag,
    /// `write-token --check`).
    pub(crate) name: &'static str,
    /// Usage lines, after the program's name.
    pub(crate) usage: &'static [&'static str],
    /// What it does, in a few lines.
    pub(crate) about: &'static str,
    /// Its options.
    pub(crate) groups: &'static [&'static Group],
    /// Its own rules, when not its dialect's (aws-cli's commands under eks-token's name).
    pub(crate) rules: Option<Rules>,
    /// What it makes of the command line; `None`: an overview (help and version only).
    pub(crate) build: Option<Build>,
    /// Words it takes after its own.
    pub(crate) extra: Extra,
    /// A mode of it: with the flag `Key`, it is that command, which takes only the
    /// options of its own table.
    pub(crate) mode: Option<(Key, &'static Spec)>,
    /// Options it does not take but a user may reach for, and what to give instead.
    pub(crate) instead: &'static [(&'static str, &'static str)],
    /// It makes a token for kubectl: what provideClusterInfo tells fills what its
    /// command line leaves out ([`super::request::fill_cluster_info`]).
    pub(crate) cluster_info: bool,
}

impl std::fmt::Debug for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Spec({:?})", self.name)
    }
}

impl Spec {
    /// A spec with nothing but its words, help and table (the rest filled in with
    /// struct update syntax).
    pub(crate) const fn new(
        name: &'static str,
        usage: &'static [&'static str],
        about: &'static str,
        groups: &'static [&'static Group],
    ) -> Spec {
        Spec {
            name,
            usage,
            about,
            groups,
            rules: None,
            build: None,
            extra: Extra::None,
            mode: None,
            instead: &[],
            cluster_info: false,
        }
    }

    /// Whether its table has an option of `key`.
    pub(crate) fn takes(&self, key: Key) -> bool {
        self.groups
            .iter()
            .any(|g| g.opts.iter().any(|o| o.key == key))
    }
}

/// The command of `specs` that `words` name, word for word (one argument holding
/// `sts get-caller-identity` names nothing); never an overview, nor a mode.
pub(crate) fn named(specs: &[&'static Spec], words: &[&str]) -> Option<&'static Spec> {
    specs.iter().copied().find(|s| {
        !s.name.is_empty() && !s.name.contains(" --") && s.name.split(' ').eq(words.iter().copied())
    })
}
