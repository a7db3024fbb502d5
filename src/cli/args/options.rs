//! Each option one definition that parses and documents itself (as ripgrep's
//! `flags/defs.rs`): its names, its value, its one-line help. Commands are made of
//! groups of these; the lexer, `--help` and the flag tables in `docs/commands.md` all
//! read the same definitions. The groups of eks-token's and aws-cli's commands are in
//! `groups.rs`; their values are parsed in `values.rs`.

/// What an option sets.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Key {
    ClusterName,
    ClusterId,
    RoleArn,
    SessionName,
    ForwardSessionName,
    ExternalId,
    DurationSeconds,
    Region,
    Profile,
    CacheDir,
    NoCache,
    Output,
    Verbose,
    Debug,
    Timeout,
    TokenOnly,
    Help,
    Version,
    Out,
    Mode,
    Refresh,
    RefreshInterval,
    Check,
    MinValidity,
    MaxAge,
    KubeconfigOut,
    Server,
    CaFile,
    CaData,
    Alias,
    Force,
    Command,
    Online,
    Clusters,
    TokenFiles,
    SharedUser,
    // aws-cli's global options.
    EndpointUrl,
    NoVerifySsl,
    NoPaginate,
    Query,
    Color,
    NoSignRequest,
    CaBundle,
    CliReadTimeout,
    CliConnectTimeout,
    NoCliPager,
    CliBinaryFormat,
    CliAutoPrompt,
    NoCliAutoPrompt,
    // aws eks update-kubeconfig.
    Name,
    Kubeconfig,
    AwsAuth,
    Context,
    ProxyUrl,
    DryRun,
    UserAlias,
    AssumeRoleArn,
    // aws-iam-authenticator.
    Config,
    LogFormat,
    LogLevel,
    FeatureGates,
    Cache,
    Token,
    Partition,
    EndpointValidationMode,
    EndpointValidationFile,
    Short,
}

/// One option.
#[derive(Debug)]
pub(crate) struct Opt {
    pub(crate) long: &'static str,
    pub(crate) short: Option<char>,
    /// The value's name in help (`ARN`), or `None` for a flag.
    pub(crate) value: Option<&'static str>,
    pub(crate) key: Key,
    /// One line for `--help` and the docs.
    pub(crate) help: &'static str,
    /// Matched by its whole name only, never by a prefix (eks-token's own options
    /// among aws-cli's, where argparse's prefixes must mean what they mean to aws-cli).
    pub(crate) exact: bool,
}

/// A flag: `--long` (and `-s`), no value.
pub(crate) const fn flag(
    long: &'static str,
    short: Option<char>,
    key: Key,
    help: &'static str,
) -> Opt {
    opt(long, short, None, key, help)
}

/// An option with a value, shown as `meta` in help.
pub(crate) const fn value(
    long: &'static str,
    short: Option<char>,
    meta: &'static str,
    key: Key,
    help: &'static str,
) -> Opt {
    opt(long, short, Some(meta), key, help)
}

const fn opt(
    long: &'static str,
    short: Option<char>,
    value: Option<&'static str>,
    key: Key,
    help: &'static str,
) -> Opt {
    Opt {
        long,
        short,
        value,
        key,
        help,
        exact: false,
    }
}

/// `opt`, matched by its whole name only.
pub(crate) const fn exact(mut opt: Opt) -> Opt {
    opt.exact = true;
    opt
}

/// Options shown together; `compact` ones on one line of names in help.
#[derive(Debug)]
pub(crate) struct Group {
    pub(crate) title: &'static str,
    pub(crate) opts: &'static [Opt],
    pub(crate) compact: bool,
}

/// Options without a heading of their own, one to a line in help.
pub(crate) const fn group(opts: &'static [Opt]) -> Group {
    Group {
        title: "",
        opts,
        compact: false,
    }
}
