//! The command line, in four dialects chosen by the name the binary was run as:
//!
//! - `eks-token` (any other name): its own commands (`get-token`, `write-token`,
//!   `whoami`, `kubeconfig`, `verify`) and every other dialect's forms: aws-cli's
//!   `eks get-token`, `eks update-kubeconfig`, `sts get-caller-identity` with aws-cli's
//!   global options, aws-iam-authenticator's `token -i`, Argo CD's `aws`;
//! - `aws`: aws-cli's commands that eks-token stands in for, with aws-cli's options (and
//!   unique prefixes of them, as argparse allows), global options anywhere;
//! - `aws-iam-authenticator`: `token`, `verify`, `version` with that tool's flags and
//!   environment variables;
//! - `argocd-k8s-auth`: `aws --cluster-name NAME [--role-arn ARN] [--profile NAME]`.
//!
//! Parsing only: what the words mean for credentials is the library's
//! [`eks_token::Request`].

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use eks_token::{Env, Request};

/// Why the command line was not accepted.
#[derive(Debug)]
pub(crate) enum ArgError {
    /// It cannot be parsed (exit code 2).
    Usage(String),
    /// A value parses but is out of range (exit code 1).
    Invalid(String),
}

impl ArgError {
    /// The exit code: 2 for usage errors, 1 for invalid values.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            ArgError::Usage(_) => 2,
            ArgError::Invalid(_) => 1,
        }
    }
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgError::Usage(m) => write!(f, "{m} (see --help)"),
            ArgError::Invalid(m) => f.write_str(m),
        }
    }
}

type Result<T> = std::result::Result<T, ArgError>;

fn usage(msg: impl Into<String>) -> ArgError {
    ArgError::Usage(msg.into())
}

/// Whose command line to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    EksToken,
    Aws,
    Authenticator,
    ArgoCd,
}

impl Dialect {
    /// The dialect of the program name (`argv[0]`): its file name decides.
    pub(crate) fn of_program(argv0: &str) -> Dialect {
        let name = argv0.rsplit('/').next().unwrap_or(argv0);
        match name {
            "aws" => Dialect::Aws,
            "aws-iam-authenticator" => Dialect::Authenticator,
            "argocd-k8s-auth" => Dialect::ArgoCd,
            _ => Dialect::EksToken,
        }
    }
}

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    /// Print a token (an ExecCredential, or bare).
    GetToken(GetToken),
    /// Write the token to a file, once or keeping it fresh.
    WriteToken(GetToken, WriteToken),
    /// Who the credentials are after the chain.
    WhoAmI(GetToken),
    /// Print or write a kubeconfig for a cluster (EKS DescribeCluster).
    Kubeconfig(GetToken, KubeconfigArgs),
    /// Add a cluster to a kubeconfig, as `aws eks update-kubeconfig` does.
    UpdateKubeconfig(GetToken, UpdateKubeconfig),
    /// Check a token as EKS would.
    Verify(VerifyArgs),
    /// Print the help text of a dialect.
    Help(Dialect),
    /// Print the version, in a dialect's way.
    Version(VersionStyle),
}

/// How `--version` (or `version`) answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VersionStyle {
    EksToken,
    Aws,
    /// aws-iam-authenticator's `version`: JSON, YAML, or the number alone (`-s`).
    Authenticator {
        short: bool,
        yaml: bool,
    },
}

/// The format of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// JSON: an ExecCredential, an identity.
    Json,
    /// aws-cli's text format (under eks-token, `whoami`'s ARN alone).
    Text,
    /// The bare token.
    Token,
}

/// How a command prints its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Print {
    /// The dialect it was asked in (each prints as its anchor does).
    pub(crate) dialect: Dialect,
    pub(crate) format: Format,
    /// `--query`: a field path of the JSON answer (`status.token`, `Arn`).
    pub(crate) query: Option<Vec<String>>,
    /// The format is aws-cli's default, to be taken from `AWS_DEFAULT_OUTPUT` or the
    /// profile's `output` (under `aws`, without `--output`).
    pub(crate) format_from_config: bool,
}

/// Options of `get-token` (and of the other commands that get credentials): the
/// library's request, how to print, and environment settings of global options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GetToken {
    /// The cluster, roles, region, profile, cache, timeout, verbosity.
    pub(crate) request: Request,
    /// How to print.
    pub(crate) print: Print,
    /// Environment variables that global options set (`--ca-bundle`,
    /// `--endpoint-url`), over the process's own.
    pub(crate) env: Vec<(&'static str, String)>,
}

/// Options of `write-token` beyond those of `get-token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WriteToken {
    /// `--out`: the token file.
    pub(crate) out: PathBuf,
    /// `--mode`: permission bits of the files written.
    pub(crate) mode: u32,
    /// `--refresh`: keep running and rewrite the file before the token expires.
    pub(crate) refresh: bool,
    /// `--refresh-interval`.
    pub(crate) refresh_interval: Duration,
    /// `--kubeconfig-out` and its cluster.
    pub(crate) kubeconfig: Option<KubeconfigOut>,
}

/// Options of `kubeconfig`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KubeconfigArgs {
    /// `--alias`: the context name (default: the cluster ARN, as aws-cli).
    pub(crate) alias: Option<String>,
    /// `--out`: the file (default: stdout).
    pub(crate) out: Option<PathBuf>,
    /// `--force`: overwrite an existing file.
    pub(crate) force: bool,
    /// `--command`: the exec command (default: this binary's absolute path).
    pub(crate) command: Option<String>,
}

/// Options of `eks update-kubeconfig` (aws-cli's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UpdateKubeconfig {
    /// `--name`: the cluster.
    pub(crate) name: String,
    /// `--kubeconfig`: the file (else the first of `KUBECONFIG`, else
    /// `~/.kube/config`).
    pub(crate) kubeconfig: Option<PathBuf>,
    /// `--role-arn`: the role the kubeconfig's user assumes for its tokens.
    pub(crate) role_arn: Option<String>,
    /// `--proxy-url`: the cluster entry's `proxy-url`.
    pub(crate) proxy_url: Option<String>,
    /// `--dry-run`: print the merged kubeconfig, change nothing.
    pub(crate) dry_run: bool,
    /// `--verbose`: print the entries written.
    pub(crate) verbose: bool,
    /// `--alias`: the context's name (default: the user's).
    pub(crate) alias: Option<String>,
    /// `--user-alias`: the user's name (default: the cluster ARN).
    pub(crate) user_alias: Option<String>,
}

/// Options of `verify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VerifyArgs {
    /// The token (None: read it from stdin).
    pub(crate) token: Option<String>,
    /// The cluster the token must be for (checked by STS, `--online`).
    pub(crate) cluster_id: Option<String>,
    /// `--online`: replay the token to STS.
    pub(crate) online: bool,
    /// `--timeout`.
    pub(crate) timeout: Duration,
    /// `-v`.
    pub(crate) verbose: bool,
    /// aws-iam-authenticator's `verify`: print the identity (as JSON with `-o json`)
    /// instead of the report.
    pub(crate) authenticator: Option<bool>,
}

/// A kubeconfig to write whose user reads the token file (`tokenFile:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KubeconfigOut {
    /// Where to write it.
    pub(crate) path: PathBuf,
    /// The API server URL.
    pub(crate) server: String,
    /// The cluster's CA.
    pub(crate) ca: CaSource,
}

/// Where the cluster CA comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CaSource {
    /// `--ca-file`: a PEM file.
    File(PathBuf),
    /// `--ca-data`: base64 of the PEM, as in a kubeconfig.
    Data(String),
}

/// Default `--timeout`.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest `--timeout` and `--refresh-interval`.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);
/// Default `--refresh-interval`.
pub(crate) const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(300);
/// Default `--mode`.
pub(crate) const DEFAULT_MODE: u32 = 0o600;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Key {
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
    KubeconfigOut,
    Server,
    CaFile,
    CaData,
    Alias,
    Force,
    Command,
    Online,
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
    ProxyUrl,
    DryRun,
    UserAlias,
    AssumeRoleArn,
}

/// In eks-token's own dialect.
const E: u8 = 1;
/// One of aws-cli's options (unique prefixes match under `aws`).
const A: u8 = 2;
/// Also accepted under `aws`, by its exact name only.
const X: u8 = 4;

struct Opt {
    long: &'static str,
    short: Option<char>,
    takes_value: bool,
    key: Key,
    sets: u8,
}

const fn opt(
    long: &'static str,
    short: Option<char>,
    takes_value: bool,
    key: Key,
    sets: u8,
) -> Opt {
    Opt {
        long,
        short,
        takes_value,
        key,
        sets,
    }
}

const OPTS: &[Opt] = &[
    opt("cluster-name", None, true, Key::ClusterName, E | A),
    opt("cluster-id", Some('i'), true, Key::ClusterId, E | A),
    opt("role-arn", Some('r'), true, Key::RoleArn, E | A),
    opt("session-name", Some('s'), true, Key::SessionName, E),
    opt(
        "forward-session-name",
        None,
        false,
        Key::ForwardSessionName,
        E,
    ),
    opt("external-id", Some('e'), true, Key::ExternalId, E),
    opt("duration-seconds", None, true, Key::DurationSeconds, E),
    opt("region", None, true, Key::Region, E | A),
    opt("profile", None, true, Key::Profile, E | A),
    opt("output", Some('o'), true, Key::Output, E | A),
    opt("verbose", Some('v'), false, Key::Verbose, E | A),
    opt("debug", None, false, Key::Debug, E | A),
    opt("timeout", None, true, Key::Timeout, E | X),
    opt("token-only", None, false, Key::TokenOnly, E),
    opt("help", Some('h'), false, Key::Help, E | A),
    opt("version", None, false, Key::Version, E | A),
    opt("out", None, true, Key::Out, E),
    opt("mode", None, true, Key::Mode, E),
    opt("refresh", None, false, Key::Refresh, E),
    opt("refresh-interval", None, true, Key::RefreshInterval, E),
    opt("kubeconfig-out", None, true, Key::KubeconfigOut, E),
    opt("server", None, true, Key::Server, E),
    opt("ca-file", None, true, Key::CaFile, E),
    opt("ca-data", None, true, Key::CaData, E),
    opt("cache-dir", None, true, Key::CacheDir, E | X),
    opt("no-cache", None, false, Key::NoCache, E | X),
    opt("alias", None, true, Key::Alias, E | A),
    opt("force", None, false, Key::Force, E),
    opt("command", None, true, Key::Command, E),
    opt("online", None, false, Key::Online, E),
    opt("endpoint-url", None, true, Key::EndpointUrl, E | A),
    opt("no-verify-ssl", None, false, Key::NoVerifySsl, E | A),
    opt("no-paginate", None, false, Key::NoPaginate, E | A),
    opt("query", None, true, Key::Query, E | A),
    opt("color", None, true, Key::Color, E | A),
    opt("no-sign-request", None, false, Key::NoSignRequest, E | A),
    opt("ca-bundle", None, true, Key::CaBundle, E | A),
    opt("cli-read-timeout", None, true, Key::CliReadTimeout, E | A),
    opt(
        "cli-connect-timeout",
        None,
        true,
        Key::CliConnectTimeout,
        E | A,
    ),
    opt("no-cli-pager", None, false, Key::NoCliPager, E | A),
    opt("cli-binary-format", None, true, Key::CliBinaryFormat, E | A),
    opt("cli-auto-prompt", None, false, Key::CliAutoPrompt, E | A),
    opt(
        "no-cli-auto-prompt",
        None,
        false,
        Key::NoCliAutoPrompt,
        E | A,
    ),
    opt("name", None, true, Key::Name, E | A),
    opt("kubeconfig", None, true, Key::Kubeconfig, E | A),
    opt("proxy-url", None, true, Key::ProxyUrl, E | A),
    opt("dry-run", None, false, Key::DryRun, E | A),
    opt("user-alias", None, true, Key::UserAlias, E | A),
    opt("assume-role-arn", None, true, Key::AssumeRoleArn, E | A),
];

/// Options of one command only, with the command they belong to.
const COMMAND_ONLY: &[(Key, &str)] = &[
    (Key::Out, "write-token and kubeconfig"),
    (Key::Mode, "write-token"),
    (Key::Refresh, "write-token"),
    (Key::RefreshInterval, "write-token"),
    (Key::KubeconfigOut, "write-token"),
    (Key::Server, "write-token"),
    (Key::CaFile, "write-token"),
    (Key::CaData, "write-token"),
    (Key::Force, "kubeconfig"),
    (Key::Command, "kubeconfig"),
    (Key::Online, "verify"),
    (Key::Name, "eks update-kubeconfig"),
    (Key::Kubeconfig, "eks update-kubeconfig"),
    (Key::ProxyUrl, "eks update-kubeconfig"),
    (Key::DryRun, "eks update-kubeconfig"),
    (Key::UserAlias, "eks update-kubeconfig"),
    (Key::AssumeRoleArn, "eks update-kubeconfig"),
    (Key::Alias, "kubeconfig and eks update-kubeconfig"),
];

/// The commands eks-token has under the name `aws`.
const AWS_COMMANDS: &str = "eks get-token, eks update-kubeconfig, sts get-caller-identity";

/// The help text of eks-token's own dialect.
pub(crate) const HELP: &str = "\
eks-token: Kubernetes credentials for Amazon EKS, without the AWS CLI

Usage:
  eks-token get-token --cluster-name NAME [--role-arn ARN]... [options]
  eks-token eks get-token --cluster-name NAME [--role ARN] [options]   (aws-cli's arguments)
  eks-token token -i NAME [-r ARN] [-s SESSION] [-e ID] [--token-only] (aws-iam-authenticator's)
  eks-token aws --cluster-name NAME [--role-arn ARN] [--profile P]     (argocd-k8s-auth's)
  eks-token write-token --cluster-name NAME --out PATH [--refresh] [options]
  eks-token whoami [--role-arn ARN]... [-v] [--output json|text]
  eks-token kubeconfig --cluster-name NAME [--role-arn ARN]... [--alias A] [--out FILE [--force]]
  eks-token eks update-kubeconfig --name NAME [--role-arn ARN] [--assume-role-arn ARN]
                            [--kubeconfig FILE] [--alias A] [--user-alias U] [--dry-run]
  eks-token verify [TOKEN] [--cluster-name NAME] [--online]   (TOKEN or stdin)

Run as `aws`, `aws-iam-authenticator` or `argocd-k8s-auth` (a symlink or a copy), it
speaks that tool's command line.

get-token prints an ExecCredential for kubectl (the kubeconfig's `exec` plugin), or the
bare token. write-token writes the token to a file (init container), and with --refresh
keeps rewriting it before it expires (sidecar).

Options:
  --cluster-name NAME       the cluster, signed into the token as x-k8s-aws-id
  -i, --cluster-id ID       the same (an Outposts cluster's id; not with --cluster-name)
  -r, --role-arn ARN        assume this role with the credentials so far; repeat for a
                            chain (--role is accepted, as in aws-cli)
  -s, --session-name NAME   RoleSessionName of every --role-arn hop [EKSGetTokenAuth]
  --forward-session-name    use the source identity's session name for the hops
  -e, --external-id ID      ExternalId of the last hop
  --duration-seconds N      session length of the --role-arn hops, 900-43200 [3600];
                            STS allows at most 3600 for a role assumed by a role
  --region REGION           STS region [AWS_REGION, AWS_DEFAULT_REGION, profile, else global]
  --profile NAME            profile of ~/.aws/config and ~/.aws/credentials [AWS_PROFILE]
  -o, --output json|token|text   ExecCredential JSON [json], the token and a newline, or
                            aws-cli's text format
  --query PATH              a field of the answer, as aws-cli's --query: status.token
  --token-only              the same as --output token
  --timeout DURATION        deadline of the whole run: 30, 30s, 1m, 1m30s, up to 24h [30s]
  --cache-dir DIR           credential cache [EKS_TOKEN_CACHE_DIR, $XDG_CACHE_HOME/eks-token,
                            ~/.cache/eks-token]
  --no-cache                neither read nor write the credential cache
  -v, --verbose, --debug    each step and its duration on stderr (never a secret)
  -h, --help                this text
  --version                 the version
aws-cli's other global options (--endpoint-url, --ca-bundle, --cli-read-timeout,
--no-cli-pager, ...) are accepted; see the README for what each does here.

whoami: the identity (GetCallerIdentity) after the chain; -v shows it after each hop.
kubeconfig: EKS DescribeCluster, then a kubeconfig (JSON) whose user runs this binary
  with the same --role-arn, --region and --profile arguments.
  --alias NAME              context name [the cluster ARN]
  --out FILE                write there (atomically, 0600) instead of stdout
  --force                   overwrite an existing --out file
  --command PATH            the exec command [this binary's absolute path]
eks update-kubeconfig: aws-cli's: merge the cluster, a user and a context into a
  kubeconfig and make the context current; every other entry stays as it was.
verify: the rules EKS applies to a token (from the argument or stdin); exit 1 when it
  would be rejected. --online replays it to STS (with x-k8s-aws-id: --cluster-name) and
  prints whom it identifies.

write-token options:
  --out PATH                the token file (written atomically; its directory is created 0700)
  -o, --output token|json   the bare token, no newline [token], or an ExecCredential (v1)
  --mode OCTAL              permission bits of the file [0600]; 0640 for a group; no bits
                            for others
  --refresh                 keep running: rewrite the file every interval, and always at
                            least 2 minutes before the token expires; SIGTERM ends it
  --refresh-interval DUR    how often to rewrite the file: 100ms to 24h [5m]
  --kubeconfig-out PATH     also write a kubeconfig whose user reads `tokenFile: <--out>`
  --server URL              its API server URL (with --kubeconfig-out)
  --ca-file PEM | --ca-data BASE64   its cluster CA (with --kubeconfig-out)

Credentials (first found): AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY [+ AWS_SESSION_TOKEN];
the profile (static keys, role chains, web identity, credential_process, SSO); IRSA:
AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN [+ AWS_ROLE_SESSION_NAME]; container credentials
(ECS, EKS Pod Identity); EC2 instance metadata (IMDSv2). --profile skips the environment's
keys, as aws-cli does.
Endpoint: AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, AWS_USE_FIPS_ENDPOINT,
AWS_USE_DUALSTACK_ENDPOINT, AWS_STS_REGIONAL_ENDPOINTS. Network: HTTPS_PROXY, NO_PROXY,
AWS_CA_BUNDLE. kubectl's KUBERNETES_EXEC_INFO picks the ExecCredential apiVersion.

Exit codes: 0 success, 1 failure, 2 command line not understood.
";

/// The help text under the name `aws`.
pub(crate) const AWS_HELP: &str = "\
This `aws` is eks-token standing in for the AWS CLI. It has:
  aws [--region R] [--profile P] eks get-token --cluster-name NAME [--role-arn ARN]
      [--output json|text] [--query status.token]
  aws eks update-kubeconfig --name NAME [--role-arn ARN] [--assume-role-arn ARN]
      [--kubeconfig FILE] [--alias A] [--user-alias U] [--proxy-url URL] [--dry-run] [--verbose]
  aws sts get-caller-identity [--output json|text] [--query Arn]
aws-cli's global options are accepted anywhere (--debug, --endpoint-url, --no-cli-pager, ...).
";

/// The help text under the name `aws-iam-authenticator`.
pub(crate) const AUTHENTICATOR_HELP: &str = "\
This `aws-iam-authenticator` is eks-token standing in for it. It has:
  aws-iam-authenticator token -i CLUSTER [-r ROLE] [-e EXTERNAL_ID] [-s SESSION]
      [--forward-session-name] [--region R] [--token-only]
  aws-iam-authenticator verify -i CLUSTER -t TOKEN [-o json]
  aws-iam-authenticator version [-s] [-o json|yaml]
Environment: DEFAULT_ROLE (-r), KUBERNETES_AWS_AUTHENTICATOR_CLUSTER_ID (-i).
--loglevel debug (or trace) shows each step on stderr.
";

/// The help text under the name `argocd-k8s-auth`.
pub(crate) const ARGOCD_HELP: &str = "\
This `argocd-k8s-auth` is eks-token standing in for it. It has:
  argocd-k8s-auth aws --cluster-name NAME [--role-arn ARN] [--profile NAME]
";

/// Parses the arguments (without the program name) in `dialect`; `env` gives the
/// environment variables a dialect reads as defaults of its flags.
pub(crate) fn parse(dialect: Dialect, args: &[String], env: &Env) -> Result<Command> {
    match dialect {
        Dialect::EksToken | Dialect::Aws => parse_main(dialect, args),
        Dialect::Authenticator => parse_authenticator(args, env),
        Dialect::ArgoCd => parse_argocd(args),
    }
}

/// The option named `name` (without `--`): exact, else a unique prefix among the
/// options of the dialect.
fn find_long(dialect: Dialect, name: &str) -> Result<&'static Opt> {
    let (exact, prefix) = match dialect {
        Dialect::Aws => (A | X, A),
        _ => (E, E),
    };
    if let Some(o) = OPTS.iter().find(|o| o.long == name && o.sets & exact != 0) {
        return Ok(o);
    }
    let candidates: Vec<&Opt> = OPTS
        .iter()
        .filter(|o| o.sets & prefix != 0 && o.long.starts_with(name) && !name.is_empty())
        .collect();
    match candidates.as_slice() {
        [one] => Ok(one),
        [] => Err(usage(format!("unknown option --{name}"))),
        many => {
            let names: Vec<String> = many.iter().map(|o| format!("--{}", o.long)).collect();
            Err(usage(format!(
                "ambiguous option --{name} (could be {})",
                names.join(", ")
            )))
        }
    }
}

/// Words, option values and flags, in order.
#[derive(Default)]
struct Tokens<'a> {
    words: Vec<&'a str>,
    values: Vec<(Key, String)>,
    flags: Vec<Key>,
}

impl Tokens<'_> {
    fn last(&self, k: Key) -> Option<String> {
        self.values
            .iter()
            .rev()
            .find(|(key, _)| *key == k)
            .map(|(_, v)| v.clone())
    }

    fn all(&self, k: Key) -> Vec<String> {
        self.values
            .iter()
            .filter(|(key, _)| *key == k)
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn has(&self, k: Key) -> bool {
        self.flags.contains(&k)
    }

    fn used(&self) -> impl Iterator<Item = Key> + '_ {
        self.values
            .iter()
            .map(|(k, _)| *k)
            .chain(self.flags.iter().copied())
    }
}

/// Splits `args` into words and options of `dialect`'s table.
fn tokenize(dialect: Dialect, args: &[String]) -> Result<Tokens<'_>> {
    let mut t = Tokens::default();
    let mut i = 0;
    let mut only_positional = false;
    while i < args.len() {
        let arg = args[i].as_str();
        i += 1;
        if only_positional || arg == "-" || !arg.starts_with('-') {
            t.words.push(arg);
            continue;
        }
        if arg == "--" {
            only_positional = true;
            continue;
        }
        let (opt, inline, shown): (&Opt, Option<&str>, String) =
            if let Some(long) = arg.strip_prefix("--") {
                let (name, inline) = match long.split_once('=') {
                    Some((n, v)) => (n, Some(v)),
                    None => (long, None),
                };
                (find_long(dialect, name)?, inline, format!("--{name}"))
            } else {
                if dialect == Dialect::Aws {
                    return Err(usage(format!("unknown option {arg}")));
                }
                let mut chars = arg[1..].chars();
                let c = chars.next().unwrap_or('-');
                let rest = chars.as_str();
                let opt = OPTS
                    .iter()
                    .find(|o| o.short == Some(c))
                    .ok_or_else(|| usage(format!("unknown option -{c}")))?;
                let inline = if rest.is_empty() {
                    None
                } else if opt.takes_value {
                    Some(rest.strip_prefix('=').unwrap_or(rest))
                } else {
                    return Err(usage(format!("option -{c} takes no value (got {arg})")));
                };
                (opt, inline, format!("-{c}"))
            };
        if opt.takes_value {
            let value = match inline {
                Some(v) => v.to_owned(),
                None => {
                    let v = args
                        .get(i)
                        .ok_or_else(|| usage(format!("option {shown} needs a value")))?;
                    i += 1;
                    v.clone()
                }
            };
            t.values.push((opt.key, value));
        } else {
            if inline.is_some() {
                return Err(usage(format!("option {shown} takes no value")));
            }
            t.flags.push(opt.key);
        }
    }
    Ok(t)
}

#[derive(Clone, PartialEq)]
enum Kind {
    Get,
    /// Argo CD's `aws` form.
    ArgoGet,
    Write,
    WhoAmI,
    Kubeconfig,
    UpdateKubeconfig,
    Verify(Option<String>),
}

fn parse_main(dialect: Dialect, args: &[String]) -> Result<Command> {
    let aws = dialect == Dialect::Aws;
    let t = match tokenize(dialect, args) {
        Ok(t) => t,
        // Under `aws`, another service's options are not ours: say what this is.
        Err(e) if aws => {
            let words: Vec<&str> = args
                .iter()
                .map(String::as_str)
                .filter(|a| !a.starts_with('-'))
                .take(2)
                .collect();
            if !words.is_empty() && aws_kind(&words).is_none() {
                return Err(not_an_aws_command(&words));
            }
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    if t.has(Key::Help) || t.words.first() == Some(&"help") {
        return Ok(Command::Help(dialect));
    }
    if t.has(Key::Version) || (!aws && t.words == ["version"]) {
        return Ok(Command::Version(if aws {
            VersionStyle::Aws
        } else {
            VersionStyle::EksToken
        }));
    }
    let kind =
        if aws {
            match aws_kind(&t.words) {
                Some(k) => k,
                None if t.words.is_empty() => {
                    return Err(usage(format!(
                        "no command given; this `aws` is eks-token and has: {AWS_COMMANDS}"
                    )))
                }
                None => return Err(not_an_aws_command(&t.words)),
            }
        } else {
            match t.words.as_slice() {
                ["get-token"] | ["eks", "get-token"] | ["token"] => Kind::Get,
                ["aws"] => Kind::ArgoGet,
                ["write-token"] => Kind::Write,
                ["whoami"] | ["sts", "get-caller-identity"] => Kind::WhoAmI,
                ["kubeconfig"] => Kind::Kubeconfig,
                ["eks", "update-kubeconfig"] => Kind::UpdateKubeconfig,
                ["verify"] => Kind::Verify(None),
                ["verify", token] => Kind::Verify(Some((*token).to_owned())),
                [] => return Err(usage(
                    "no command given: use get-token, write-token, whoami, kubeconfig or verify",
                )),
                other => {
                    return Err(usage(format!(
                    "unknown command {:?}: use get-token, eks get-token, token, aws, write-token, \
                     whoami, kubeconfig, eks update-kubeconfig or verify",
                    other.join(" ")
                )))
                }
            }
        };
    check_options_fit(&kind, &t)?;
    assemble(dialect, kind, &t)
}

/// The command of an `aws` command line.
fn aws_kind(words: &[&str]) -> Option<Kind> {
    match words {
        ["eks", "get-token"] => Some(Kind::Get),
        ["eks", "update-kubeconfig"] => Some(Kind::UpdateKubeconfig),
        ["sts", "get-caller-identity"] => Some(Kind::WhoAmI),
        _ => None,
    }
}

fn not_an_aws_command(words: &[&str]) -> ArgError {
    usage(format!(
        "`aws {}` is not available: this `aws` is eks-token standing in for the AWS CLI, \
         and it has only {AWS_COMMANDS}",
        words.join(" ")
    ))
}

/// Refuses the options of one command given to another.
fn check_options_fit(kind: &Kind, t: &Tokens<'_>) -> Result<()> {
    let allowed: &[Key] = match kind {
        Kind::Write => &[
            Key::Out,
            Key::Mode,
            Key::Refresh,
            Key::RefreshInterval,
            Key::KubeconfigOut,
            Key::Server,
            Key::CaFile,
            Key::CaData,
        ],
        Kind::Kubeconfig => &[Key::Out, Key::Alias, Key::Force, Key::Command],
        Kind::UpdateKubeconfig => &[
            Key::Name,
            Key::Kubeconfig,
            Key::ProxyUrl,
            Key::DryRun,
            Key::UserAlias,
            Key::AssumeRoleArn,
            Key::Alias,
        ],
        Kind::Verify(_) => &[Key::Online],
        _ => &[],
    };
    for k in t.used() {
        if let Some((_, of)) = COMMAND_ONLY.iter().find(|(key, _)| *key == k) {
            if !allowed.contains(&k) {
                let name = OPTS.iter().find(|o| o.key == k).map_or("", |o| o.long);
                return Err(usage(format!("--{name} is an option of {of}")));
            }
        }
    }
    if *kind == Kind::UpdateKubeconfig {
        // update-kubeconfig names the cluster with --name, as aws-cli.
        for k in [Key::ClusterName, Key::ClusterId] {
            if t.used().any(|u| u == k) {
                return Err(usage(
                    "eks update-kubeconfig names the cluster with --name NAME",
                ));
            }
        }
    }
    Ok(())
}

/// A field path for `--query`: identifiers joined by dots (`status.token`, `Arn`).
fn parse_query(q: &str) -> Result<Vec<String>> {
    let fields: Vec<String> = q.split('.').map(str::to_owned).collect();
    let ok = fields.iter().all(|f| {
        !f.is_empty()
            && f.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    });
    if ok {
        Ok(fields)
    } else {
        Err(usage(format!(
            "--query {q:?} is not supported: eks-token answers a field path such as \
             status.token (the bare token) or Arn, not other JMESPath expressions"
        )))
    }
}

fn parse_timeout(v: &str, name: &str) -> Result<Duration> {
    let d = parse_duration(v)
        .ok_or_else(|| usage(format!("{name} {v:?} is not a duration (e.g. 30, 30s, 1m)")))?;
    if d.is_zero() || d > MAX_DURATION {
        return Err(ArgError::Invalid(format!(
            "{name} must be more than zero and at most 24h"
        )));
    }
    Ok(d)
}

fn assemble(dialect: Dialect, kind: Kind, t: &Tokens<'_>) -> Result<Command> {
    let aws = dialect == Dialect::Aws;
    // The cluster: --cluster-name or --cluster-id, not both (as aws-cli).
    let (name, id) = (t.last(Key::ClusterName), t.last(Key::ClusterId));
    let cluster =
        match (name, id) {
            (Some(_), Some(_)) => return Err(usage(
                "--cluster-name and --cluster-id cannot be given together: name the cluster once",
            )),
            (n, i) => n.or(i),
        };
    let cluster_id = match (&kind, cluster) {
        (Kind::WhoAmI | Kind::Verify(_) | Kind::UpdateKubeconfig, c) => c.unwrap_or_default(),
        (_, Some(c)) => c,
        (_, None) => return Err(usage("missing --cluster-name NAME (or -i/--cluster-id)")),
    };
    let duration_seconds = t
        .last(Key::DurationSeconds)
        .map(|v| {
            v.trim().parse::<u32>().map_err(|_| {
                usage(format!(
                    "--duration-seconds {v:?} is not a whole number of seconds"
                ))
            })
        })
        .transpose()?;
    let query = t.last(Key::Query).map(|q| parse_query(&q)).transpose()?;
    let format = match t.last(Key::Output).as_deref() {
        None if kind == Kind::Write => Format::Token,
        None | Some("json") => Format::Json,
        Some("text") if kind != Kind::Write => Format::Text,
        Some("token") if !aws && kind != Kind::WhoAmI => Format::Token,
        Some(other) => {
            let valid = if aws {
                "json or text"
            } else {
                "json, token or text"
            };
            return Err(usage(format!(
                "--output {other:?} is not supported here: use {valid}"
            )));
        }
    };
    let format = if t.has(Key::TokenOnly) {
        Format::Token
    } else {
        format
    };
    // aws-cli's timeouts, in whole seconds: --cli-read-timeout bounds the run here (0:
    // ours); --cli-connect-timeout each connect (0: no limit of its own, the run's
    // deadline still holds).
    let whole_seconds = |key: Key, name: &str| -> Result<Option<u64>> {
        t.last(key)
            .map(|v| {
                v.trim()
                    .parse::<u64>()
                    .map_err(|_| usage(format!("{name} {v:?} is not a whole number of seconds")))
            })
            .transpose()
    };
    let timeout = match (t.last(Key::Timeout), kind == Kind::ArgoGet) {
        (Some(v), _) => parse_timeout(&v, "--timeout")?,
        (None, argo) => match whole_seconds(Key::CliReadTimeout, "--cli-read-timeout")? {
            Some(secs) if secs > 0 => parse_timeout(&secs.to_string(), "--cli-read-timeout")?,
            _ if argo => Duration::from_secs(60),
            _ => DEFAULT_TIMEOUT,
        },
    };
    let connect_timeout =
        whole_seconds(Key::CliConnectTimeout, "--cli-connect-timeout")?.map(|secs| match secs {
            0 => timeout,
            s => Duration::from_secs(s).min(MAX_DURATION),
        });
    if let Some(c) = t.last(Key::Color) {
        if !["on", "off", "auto"].contains(&c.as_str()) {
            return Err(usage(format!("--color {c:?}: use on, off or auto")));
        }
    }
    // --no-verify-ssl is accepted, but TLS is always verified (a private CA is given
    // with --ca-bundle or AWS_CA_BUNDLE); the other global options change nothing here.
    let verbose = t.has(Key::Debug) || (!aws && t.has(Key::Verbose));
    let mut env = Vec::new();
    if let Some(b) = t.last(Key::CaBundle) {
        env.push(("AWS_CA_BUNDLE", b));
    }
    if let Some(u) = t.last(Key::EndpointUrl) {
        // As in aws-cli, --endpoint-url is the command's own service: EKS for
        // update-kubeconfig, STS for get-caller-identity; get-token does not use it.
        match kind {
            Kind::UpdateKubeconfig | Kind::Kubeconfig => env.push(("AWS_ENDPOINT_URL_EKS", u)),
            Kind::WhoAmI => env.push(("AWS_ENDPOINT_URL_STS", u)),
            _ => {}
        }
    }
    let mut request = Request {
        cluster_id,
        role_arns: t.all(Key::RoleArn),
        session_name: t.last(Key::SessionName),
        forward_session_name: t.has(Key::ForwardSessionName),
        external_id: t.last(Key::ExternalId),
        duration_seconds,
        region: t.last(Key::Region),
        profile: t.last(Key::Profile),
        cache_dir: t.last(Key::CacheDir).map(PathBuf::from),
        no_cache: t.has(Key::NoCache),
        timeout,
        connect_timeout,
        interactive: None,
        verbose,
    };
    let print = Print {
        dialect: if kind == Kind::ArgoGet {
            Dialect::ArgoCd
        } else {
            dialect
        },
        format,
        query,
        format_from_config: aws && t.last(Key::Output).is_none(),
    };
    match kind {
        Kind::Get | Kind::ArgoGet => Ok(Command::GetToken(GetToken {
            request,
            print,
            env,
        })),
        Kind::Write => {
            let write = parse_write(t, print.format)?;
            Ok(Command::WriteToken(
                GetToken {
                    request,
                    print,
                    env,
                },
                write,
            ))
        }
        Kind::WhoAmI => Ok(Command::WhoAmI(GetToken {
            request,
            print,
            env,
        })),
        Kind::Kubeconfig => Ok(Command::Kubeconfig(
            GetToken {
                request,
                print,
                env,
            },
            KubeconfigArgs {
                alias: t.last(Key::Alias),
                out: t.last(Key::Out).map(PathBuf::from),
                force: t.has(Key::Force),
                command: t.last(Key::Command),
            },
        )),
        Kind::UpdateKubeconfig => {
            let name = t
                .last(Key::Name)
                .ok_or_else(|| usage("eks update-kubeconfig needs --name NAME"))?;
            // The user's role goes into the kubeconfig; DescribeCluster is made with the
            // credentials of the default chain, or of --assume-role-arn.
            let role_arn = request.role_arns.last().cloned();
            request.role_arns = t.all(Key::AssumeRoleArn);
            request.session_name = Some("EKSDescribeClusterSession".into());
            request.cluster_id = name.clone();
            Ok(Command::UpdateKubeconfig(
                GetToken {
                    request,
                    print,
                    env,
                },
                UpdateKubeconfig {
                    name,
                    kubeconfig: t.last(Key::Kubeconfig).map(PathBuf::from),
                    role_arn,
                    proxy_url: t.last(Key::ProxyUrl),
                    dry_run: t.has(Key::DryRun),
                    verbose: t.has(Key::Verbose),
                    alias: t.last(Key::Alias),
                    user_alias: t.last(Key::UserAlias),
                },
            ))
        }
        Kind::Verify(token) => Ok(Command::Verify(VerifyArgs {
            token,
            cluster_id: (!request.cluster_id.is_empty()).then(|| request.cluster_id.clone()),
            online: t.has(Key::Online),
            timeout: request.timeout,
            verbose: request.verbose,
            authenticator: None,
        })),
    }
}

fn parse_write(t: &Tokens<'_>, format: Format) -> Result<WriteToken> {
    let out = t
        .last(Key::Out)
        .ok_or_else(|| usage("write-token needs --out PATH"))?;
    let mode = match t.last(Key::Mode) {
        None => DEFAULT_MODE,
        Some(v) => parse_mode(&v)?,
    };
    let refresh_interval = match t.last(Key::RefreshInterval) {
        None => DEFAULT_REFRESH_INTERVAL,
        Some(v) => parse_duration(&v).ok_or_else(|| {
            usage(format!(
                "--refresh-interval {v:?} is not a duration (e.g. 30s, 5m)"
            ))
        })?,
    };
    if refresh_interval < Duration::from_millis(100) || refresh_interval > MAX_DURATION {
        return Err(ArgError::Invalid(
            "--refresh-interval must be between 100ms and 24h".into(),
        ));
    }
    if format == Format::Text {
        return Err(usage("write-token writes --output token or json"));
    }
    let kubeconfig = match t.last(Key::KubeconfigOut) {
        None => {
            if t.last(Key::Server).is_some()
                || t.last(Key::CaFile).is_some()
                || t.last(Key::CaData).is_some()
            {
                return Err(usage(
                    "--server, --ca-file and --ca-data go with --kubeconfig-out",
                ));
            }
            None
        }
        Some(path) => {
            if format != Format::Token {
                return Err(usage(
                    "--kubeconfig-out needs --output token (a kubeconfig's tokenFile holds the bare token)",
                ));
            }
            let server = t
                .last(Key::Server)
                .ok_or_else(|| usage("--kubeconfig-out needs --server URL"))?;
            let ca = match (t.last(Key::CaFile), t.last(Key::CaData)) {
                (Some(f), None) => CaSource::File(PathBuf::from(f)),
                (None, Some(d)) => CaSource::Data(d),
                (None, None) => {
                    return Err(usage(
                        "--kubeconfig-out needs --ca-file PEM or --ca-data BASE64",
                    ))
                }
                (Some(_), Some(_)) => {
                    return Err(usage("give either --ca-file or --ca-data, not both"))
                }
            };
            Some(KubeconfigOut {
                path: PathBuf::from(path),
                server,
                ca,
            })
        }
    };
    Ok(WriteToken {
        out: PathBuf::from(out),
        mode,
        refresh: t.has(Key::Refresh),
        refresh_interval,
        kubeconfig,
    })
}

/// A flag of a cobra command line (aws-iam-authenticator's, Argo CD's): no prefixes;
/// `--name value`, `--name=value`, `-x value`, `-xvalue`.
struct Flag {
    long: &'static str,
    short: Option<char>,
    takes_value: bool,
}

const fn flag(long: &'static str, short: Option<char>, takes_value: bool) -> Flag {
    Flag {
        long,
        short,
        takes_value,
    }
}

/// Each flag's value by its long name, in the order given.
type FlagValues = Vec<(&'static str, String)>;

/// Splits a cobra command line: the command word(s), then each flag's values by its
/// long name (flags without a value record "true").
fn cobra<'a>(args: &'a [String], flags: &[Flag]) -> Result<(Vec<&'a str>, FlagValues)> {
    let mut words = Vec::new();
    let mut values = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        i += 1;
        if arg == "--" {
            words.extend(args[i..].iter().map(String::as_str));
            break;
        }
        let (f, inline) = if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (long, None),
            };
            let f = flags
                .iter()
                .find(|f| f.long == name)
                .ok_or_else(|| usage(format!("unknown flag: --{name}")))?;
            (f, inline)
        } else if let Some(short) = arg.strip_prefix('-').filter(|s| !s.is_empty()) {
            let mut chars = short.chars();
            let c = chars.next().unwrap_or('-');
            let rest = chars.as_str();
            let f = flags
                .iter()
                .find(|f| f.short == Some(c))
                .ok_or_else(|| usage(format!("unknown shorthand flag: '{c}' in {arg}")))?;
            let inline =
                (!rest.is_empty()).then(|| rest.strip_prefix('=').unwrap_or(rest).to_owned());
            (f, inline)
        } else {
            words.push(arg);
            continue;
        };
        let value = if f.takes_value {
            match inline {
                Some(v) => v,
                None => {
                    let v = args
                        .get(i)
                        .ok_or_else(|| usage(format!("flag needs an argument: --{}", f.long)))?;
                    i += 1;
                    v.clone()
                }
            }
        } else {
            match inline.as_deref() {
                None | Some("true") => "true".to_owned(),
                Some("false") => continue,
                Some(v) => return Err(usage(format!("--{} takes no value (got {v:?})", f.long))),
            }
        };
        values.push((f.long, value));
    }
    Ok((words, values))
}

fn get<'a>(values: &'a [(&'static str, String)], name: &str) -> Option<&'a str> {
    values
        .iter()
        .rev()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
}

/// aws-iam-authenticator's command line: `token`, `verify`, `version`, with its global
/// flags (accepted where they do not apply) and the environment variables its `token`
/// command reads.
fn parse_authenticator(args: &[String], env: &Env) -> Result<Command> {
    const FLAGS: &[Flag] = &[
        // Global (persistent) flags.
        flag("config", Some('c'), true),
        flag("log-format", Some('l'), true),
        flag("loglevel", None, true),
        flag("cluster-id", Some('i'), true),
        flag("feature-gates", None, true),
        flag("help", Some('h'), false),
        // token
        flag("region", None, true),
        flag("role", Some('r'), true),
        flag("external-id", Some('e'), true),
        flag("session-name", Some('s'), true),
        flag("token-only", None, false),
        flag("forward-session-name", None, false),
        flag("cache", None, false),
        // verify
        flag("token", Some('t'), true),
        flag("output", Some('o'), true),
        flag("partition", None, true),
        flag("endpoint-validation-mode", None, true),
        flag("endpoint-validation-file", None, true),
        // version
        flag("short", None, false),
    ];
    // `-s` is `--session-name` for `token` and `--short` for `version`.
    let is_version = args.first().map(String::as_str) == Some("version");
    let args: Vec<String> = if is_version {
        args.iter()
            .map(|a| {
                if a == "-s" {
                    "--short".to_owned()
                } else {
                    a.clone()
                }
            })
            .collect()
    } else {
        args.to_vec()
    };
    let (words, values) = cobra(&args, FLAGS)?;
    if get(&values, "help").is_some() {
        return Ok(Command::Help(Dialect::Authenticator));
    }
    let verbose = get(&values, "loglevel").is_some_and(|v| v == "debug" || v == "trace");
    let cluster_id = get(&values, "cluster-id").map(str::to_owned).or_else(|| {
        env.get("KUBERNETES_AWS_AUTHENTICATOR_CLUSTER_ID")
            .map(str::to_owned)
    });
    let only = |cmd: &str, allowed: &[&str]| -> Result<()> {
        const GLOBAL: &[&str] = &[
            "config",
            "log-format",
            "loglevel",
            "cluster-id",
            "feature-gates",
        ];
        for (name, _) in &values {
            if !GLOBAL.contains(name) && !allowed.contains(name) {
                return Err(usage(format!("unknown flag: --{name} (for {cmd})")));
            }
        }
        Ok(())
    };
    match words.as_slice() {
        ["token"] => {
            only(
                "token",
                &["region", "role", "external-id", "session-name", "token-only", "forward-session-name", "cache"],
            )?;
            let cluster_id =
                cluster_id.ok_or_else(|| usage("cluster ID not specified (-i, --cluster-id)"))?;
            let session_name = get(&values, "session-name").map(str::to_owned);
            let forward = get(&values, "forward-session-name").is_some();
            if forward && session_name.is_some() {
                return Err(usage(
                    "cannot specify both --forward-session-name and --session-name parameter",
                ));
            }
            let role = get(&values, "role")
                .map(str::to_owned)
                .or_else(|| env.get("DEFAULT_ROLE").map(str::to_owned));
            let request = Request {
                cluster_id,
                role_arns: role.into_iter().collect(),
                session_name,
                forward_session_name: forward,
                external_id: get(&values, "external-id").map(str::to_owned),
                region: get(&values, "region").map(str::to_owned),
                timeout: DEFAULT_TIMEOUT,
                verbose,
                ..Request::default()
            };
            let format = if get(&values, "token-only").is_some() {
                Format::Token
            } else {
                Format::Json
            };
            Ok(Command::GetToken(GetToken {
                request,
                print: Print {
                    dialect: Dialect::Authenticator,
                    format,
                    query: None,
                    format_from_config: false,
                },
                env: Vec::new(),
            }))
        }
        ["verify"] => {
            only(
                "verify",
                &["token", "output", "partition", "endpoint-validation-mode", "endpoint-validation-file"],
            )?;
            let token = get(&values, "token")
                .filter(|t| !t.is_empty())
                .ok_or_else(|| usage("token not specified (-t, --token)"))?;
            let cluster_id =
                cluster_id.ok_or_else(|| usage("cluster ID not specified (-i, --cluster-id)"))?;
            Ok(Command::Verify(VerifyArgs {
                token: Some(token.to_owned()),
                cluster_id: Some(cluster_id),
                online: true,
                timeout: DEFAULT_TIMEOUT,
                verbose,
                authenticator: Some(get(&values, "output") == Some("json")),
            }))
        }
        ["version"] => {
            only("version", &["short", "output"])?;
            let yaml = match get(&values, "output") {
                None | Some("json") => false,
                Some("yaml") => true,
                Some(other) => {
                    return Err(usage(format!("--output {other:?}: use json or yaml")))
                }
            };
            Ok(Command::Version(VersionStyle::Authenticator {
                short: get(&values, "short").is_some(),
                yaml,
            }))
        }
        [] => Err(usage(
            "no command given; this aws-iam-authenticator is eks-token and has: token, verify, version",
        )),
        other => Err(usage(format!(
            "`{}` is not available: this aws-iam-authenticator is eks-token standing in for \
             it, and it has only token, verify and version",
            other.join(" ")
        ))),
    }
}

/// Argo CD's `argocd-k8s-auth aws --cluster-name NAME [--role-arn ARN] [--profile P]`.
fn parse_argocd(args: &[String]) -> Result<Command> {
    const FLAGS: &[Flag] = &[
        flag("cluster-name", None, true),
        flag("role-arn", None, true),
        flag("profile", None, true),
        flag("help", Some('h'), false),
    ];
    let (words, values) = cobra(args, FLAGS)?;
    if get(&values, "help").is_some() {
        return Ok(Command::Help(Dialect::ArgoCd));
    }
    if words.is_empty() {
        return Err(usage(
            "no command given; this argocd-k8s-auth is eks-token and has: aws --cluster-name NAME \
             [--role-arn ARN] [--profile NAME]",
        ));
    }
    if words != ["aws"] {
        return Err(usage(format!(
            "`{}` is not available: this argocd-k8s-auth is eks-token standing in for it, \
             and it has only `aws`",
            words.join(" ")
        )));
    }
    let cluster_id = get(&values, "cluster-name")
        .map(str::to_owned)
        .ok_or_else(|| usage("missing --cluster-name NAME"))?;
    Ok(Command::GetToken(GetToken {
        request: Request {
            cluster_id,
            role_arns: get(&values, "role-arn")
                .map(str::to_owned)
                .into_iter()
                .collect(),
            profile: get(&values, "profile").map(str::to_owned),
            // Argo CD's own retries span a minute.
            timeout: Duration::from_secs(60),
            ..Request::default()
        },
        print: Print {
            dialect: Dialect::ArgoCd,
            format: Format::Json,
            query: None,
            format_from_config: false,
        },
        env: Vec::new(),
    }))
}

/// Parses an octal mode such as `0600`, `600` or `0o640`.
pub(crate) fn parse_mode(v: &str) -> Result<u32> {
    let digits = v.trim().trim_start_matches("0o");
    let mode = u32::from_str_radix(digits, 8)
        .map_err(|_| usage(format!("--mode {v:?} is not an octal mode (e.g. 0600)")))?;
    if mode > 0o777 {
        return Err(ArgError::Invalid(format!(
            "--mode {v} is not a permission mode: use 0600, 0640 or similar"
        )));
    }
    if mode & 0o600 != 0o600 {
        return Err(ArgError::Invalid(format!(
            "--mode {v} must let the owner read and write the file (0600 or more)"
        )));
    }
    if mode & 0o007 != 0 {
        return Err(ArgError::Invalid(format!(
            "--mode {v} gives other users access to a bearer token (whoever reads it acts as \
             the role); share it through the group instead, e.g. the pod's fsGroup and --mode 0640"
        )));
    }
    Ok(mode)
}

/// Parses `30`, `30s`, `1500ms`, `5m`, `1h`, `1m30s`; `None` when malformed.
pub(crate) fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(secs) = s.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let part = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.checked_mul(60)?),
            "h" => Duration::from_secs(n.checked_mul(3600)?),
            _ => return None,
        };
        total = total.checked_add(part)?;
    }
    Some(total)
}
