//! The dialects' rules for reading options, as data:
//!
//! - [`GNU`] (eks-token's own commands): `--name value`, `--name=value`, a unique
//!   prefix of a name, `-x value`, `-xvalue`, `-x=value`; `--` ends options.
//! - [`ARGPARSE`] (aws-cli's commands): long options only (and `-h`), a unique prefix of
//!   one of aws-cli's own names (never of an option eks-token adds), `--name=value`.
//! - [`PFLAG`] (the Go tools, cobra's pflag): whole names only, `--flag=false` turns a
//!   flag off, `-abc` is three flags (the last may take the rest as its value).

/// How long names match.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Prefixes {
    /// Whole names only.
    None,
    /// A unique prefix of a name.
    Unique,
    /// A unique prefix of a name that is not [`Opt::exact`].
    UniqueButExact,
}

/// How short options read.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Shorts {
    /// `-x value`, `-xvalue`, `-x=value`; one flag an argument.
    Gnu,
    /// As GNU, and `-abc` is three flags.
    Clustered,
    /// Only `-h`.
    HelpOnly,
}

/// When the argument after an option that takes a value is an option instead.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Values {
    /// argparse: anything that starts with `-`, but a negative number or a string with
    /// a space.
    NotADash,
    /// A long option of the command's table, a prefix of some, or another command's.
    NotAnOption,
    /// Whatever follows.
    Any,
}

/// A dialect's rules, and the words of its errors.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Rules {
    pub(crate) prefixes: Prefixes,
    pub(crate) shorts: Shorts,
    pub(crate) values: Values,
    /// pflag reads a flag's `=value` as Go's `strconv.ParseBool`.
    pub(crate) bool_values: bool,
    /// Another command's long option, in full, is not a prefix of this command's
    /// (`get-token --out`: write-token's, not a short `--output`).
    pub(crate) reserve_others: bool,
    /// pflag's words ("unknown flag: --x") rather than ours ("unknown option --x").
    pub(crate) pflag_words: bool,
}

/// eks-token's own commands.
pub(crate) const GNU: Rules = Rules {
    prefixes: Prefixes::Unique,
    shorts: Shorts::Gnu,
    values: Values::NotAnOption,
    bool_values: false,
    reserve_others: true,
    pflag_words: false,
};

/// aws-cli's commands.
pub(crate) const ARGPARSE: Rules = Rules {
    prefixes: Prefixes::UniqueButExact,
    shorts: Shorts::HelpOnly,
    values: Values::NotADash,
    bool_values: false,
    reserve_others: false,
    pflag_words: false,
};

/// The Go tools (cobra's pflag).
pub(crate) const PFLAG: Rules = Rules {
    prefixes: Prefixes::None,
    shorts: Shorts::Clustered,
    values: Values::Any,
    bool_values: true,
    reserve_others: false,
    pflag_words: true,
};
