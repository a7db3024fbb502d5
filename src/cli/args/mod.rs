//! The command line, in four dialects chosen by the name the binary was run as, one file
//! each:
//!
//! - [`eks_token`] (any other name): its own commands (`get-token`, `write-token`,
//!   `whoami`, `kubeconfig`, `verify`), and every other dialect's forms;
//! - [`aws`]: aws-cli's commands that eks-token stands in for, with aws-cli's options
//!   (and unique prefixes of them, as argparse allows), global options anywhere;
//! - [`authenticator`]: aws-iam-authenticator's `token`, `verify`, `version`;
//! - [`argocd`]: `argocd-k8s-auth aws`.
//!
//! Each command is a [`help::Spec`] whose option groups ([`options`]) both the
//! [`lexer`] and `--help` read. Parsing only: what the words mean for credentials is
//! the library's [`eks_token::Request`].

pub(crate) mod argocd;
pub(crate) mod authenticator;
pub(crate) mod aws;
pub(crate) mod eks_token;
#[rustfmt::skip]
pub(crate) mod groups;
pub(crate) mod help;
pub(crate) mod lexer;
pub(crate) mod options;
pub(crate) mod values;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use ::eks_token::{Env, Request, Secret};

use help::Spec;
use lexer::{Parsed, Rules};
use options::Key;

/// Why the command line was not accepted.
#[derive(Debug)]
pub(crate) enum ArgError {
    /// It cannot be parsed (exit code 2).
    Usage(String),
    /// A long option the command does not have (exit code 2): its name, without `--`,
    /// and the message.
    UnknownOption { long: String, message: String },
    /// A value parses but is out of range (exit code 1).
    Invalid(String),
}

impl ArgError {
    /// The exit code: 2 for usage errors, 1 for invalid values.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            ArgError::Usage(_) | ArgError::UnknownOption { .. } => 2,
            ArgError::Invalid(_) => 1,
        }
    }
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgError::Usage(m) | ArgError::UnknownOption { message: m, .. } => {
                write!(f, "{m} (see --help)")
            }
            ArgError::Invalid(m) => f.write_str(m),
        }
    }
}

pub(crate) type Result<T> = std::result::Result<T, ArgError>;

pub(crate) fn usage(msg: impl Into<String>) -> ArgError {
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
    /// The dialect of a program name (the file name of `argv[0]`).
    pub(crate) fn of_program(name: &str) -> Dialect {
        match name {
            "aws" => Dialect::Aws,
            "aws-iam-authenticator" => Dialect::Authenticator,
            "argocd-k8s-auth" => Dialect::ArgoCd,
            _ => Dialect::EksToken,
        }
    }

    /// The program name help shows.
    pub(crate) fn program(self) -> &'static str {
        match self {
            Dialect::EksToken => "eks-token",
            Dialect::Aws => "aws",
            Dialect::Authenticator => "aws-iam-authenticator",
            Dialect::ArgoCd => "argocd-k8s-auth",
        }
    }

    /// Every command of the dialect, its overview first.
    pub(crate) fn specs(self) -> &'static [&'static Spec] {
        match self {
            Dialect::EksToken => eks_token::SPECS,
            Dialect::Aws => aws::SPECS,
            Dialect::Authenticator => authenticator::SPECS,
            Dialect::ArgoCd => argocd::SPECS,
        }
    }
}

/// Which help to print: a dialect's command (`""`: the dialect's overview).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HelpTopic {
    pub(crate) dialect: Dialect,
    pub(crate) command: &'static str,
}

impl HelpTopic {
    /// The help text.
    pub(crate) fn text(self) -> String {
        let spec = self
            .dialect
            .specs()
            .iter()
            .find(|s| s.name == self.command)
            .unwrap_or(&self.dialect.specs()[0]);
        help::render(self.dialect.program(), spec)
    }
}

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    /// Print a token (an ExecCredential, or bare).
    GetToken(GetToken),
    /// Write the token to a file, once or keeping it fresh.
    WriteToken(GetToken, WriteToken),
    /// Check a token file (`write-token --check`, an exec probe).
    CheckToken(CheckToken),
    /// Who the credentials are after the chain.
    WhoAmI(GetToken),
    /// Print or write a kubeconfig for a cluster (EKS DescribeCluster).
    Kubeconfig(GetToken, KubeconfigArgs),
    /// Add a cluster to a kubeconfig, as `aws eks update-kubeconfig` does.
    UpdateKubeconfig(GetToken, UpdateKubeconfig),
    /// Check a token as EKS would.
    Verify(VerifyArgs),
    /// Walk the path from the credentials to the Kubernetes user.
    Doctor(GetToken, DoctorArgs),
    /// Print a help text.
    Help(HelpTopic),
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

impl Print {
    /// Printing in `format`, no `--query`.
    pub(crate) fn plain(dialect: Dialect, format: Format) -> Print {
        Print {
            dialect,
            format,
            query: None,
            format_from_config: false,
        }
    }
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
    /// `-v`: each step on stderr.
    pub(crate) verbose: bool,
}

impl GetToken {
    /// The process environment with what the global options set.
    pub(crate) fn effective_env(&self, env: &Env) -> Env {
        let mut env = env.clone();
        for (k, v) in &self.env {
            env.set(k, v);
        }
        env
    }
}

/// Options of `doctor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DoctorArgs {
    /// `--aws-auth`: the aws-auth ConfigMap (`-`: stdin).
    pub(crate) aws_auth: Option<PathBuf>,
    /// `--kubeconfig`: ask its cluster (SelfSubjectReview).
    pub(crate) kubeconfig: Option<PathBuf>,
    /// `--context`: the kubeconfig's context (default: its current-context).
    pub(crate) context: Option<String>,
}

/// `write-token --check`: the probe of a token file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CheckToken {
    /// `--out`: the token file.
    pub(crate) out: PathBuf,
    /// `--min-validity`: how long the token must stay valid.
    pub(crate) min_validity: Duration,
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
    /// The token (None: read it from stdin); never in Debug output.
    pub(crate) token: Option<Secret>,
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
/// Default `--refresh-interval`.
pub(crate) const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(300);
/// `write-token --check`'s default `--min-validity`: the sidecar rewrites the file at
/// the latest 2 minutes before the token expires.
pub(crate) const DEFAULT_MIN_VALIDITY: Duration = Duration::from_secs(120);
/// Default `--mode`.
pub(crate) const DEFAULT_MODE: u32 = 0o600;

/// Parses the arguments (without the program name) in `dialect`; `env` gives the
/// environment variables a dialect reads as defaults of its flags.
pub(crate) fn parse(dialect: Dialect, args: &[String], env: &Env) -> Result<Command> {
    match dialect {
        Dialect::EksToken => eks_token::parse(args),
        Dialect::Aws => aws::parse(args),
        Dialect::Authenticator => authenticator::parse(args, env),
        Dialect::ArgoCd => argocd::parse(args),
    }
}

/// Reads `args` as the command `spec` of `dialect` under `rules`; an option that
/// another command of the dialect has is named as that command's.
pub(crate) fn lex_as(
    dialect: Dialect,
    rules: Rules,
    spec: &Spec,
    args: &[String],
) -> Result<Parsed> {
    // eks-token's own lines: another command's option in full is that command's, not a
    // prefix of one of this one's (`get-token --out F`, not `--output F`).
    let reserved =
        |name: &str| rules == Rules::Gnu && owned_elsewhere(dialect, spec, name).is_some();
    lexer::lex_reserving(rules, args, spec.groups, &reserved).map_err(|e| match &e {
        ArgError::UnknownOption { long, .. } => owned_elsewhere(dialect, spec, long).unwrap_or(e),
        _ => e,
    })
}

/// Whether `spec` has the long option `name` (in full).
fn has_option(spec: &Spec, name: &str) -> bool {
    spec.groups
        .iter()
        .any(|g| !g.compact && g.opts.iter().any(|o| o.long == name))
}

/// The error for `--name`, which `spec` lacks, when other commands of `dialect` have it.
fn owned_elsewhere(dialect: Dialect, spec: &Spec, name: &str) -> Option<ArgError> {
    let owners: Vec<&str> = dialect
        .specs()
        .iter()
        .filter(|s| !s.name.is_empty() && s.name != spec.name && has_option(s, name))
        .map(|s| s.name)
        .collect();
    let listed = match owners.as_slice() {
        [] => return None,
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    };
    Some(usage(if spec.name.is_empty() {
        format!(
            "no command given: --{name} is an option of {listed}; name the command first \
             ({} {} --{name} ...)",
            dialect.program(),
            owners[0]
        )
    } else {
        format!("--{name} is an option of {listed}, not of {}", spec.name)
    }))
}

/// What the request of a command line says: the cluster, the role chain, where, the
/// cache and the deadline (shared by eks-token's and aws-cli's forms). `cluster`:
/// whether the command needs one. The deadline: `--timeout`, else aws-cli's
/// `--cli-read-timeout`, else `default_timeout`.
pub(crate) fn request(
    p: &Parsed,
    need_cluster: bool,
    default_timeout: Duration,
) -> Result<(Request, Vec<(&'static str, String)>)> {
    let cluster =
        match (p.last(Key::ClusterName), p.last(Key::ClusterId)) {
            (Some(_), Some(_)) => return Err(usage(
                "--cluster-name and --cluster-id cannot be given together: name the cluster once",
            )),
            (n, i) => n.or(i),
        };
    let cluster_id = match (cluster, need_cluster) {
        (Some(c), _) => c,
        (None, false) => String::new(),
        (None, true) => return Err(usage("missing --cluster-name NAME (or -i/--cluster-id)")),
    };
    let whole_seconds = |key: Key, name: &str| -> Result<Option<u64>> {
        p.last(key)
            .map(|v| values::parse_seconds(&v, name))
            .transpose()
    };
    // aws-cli's timeouts, in whole seconds: --cli-read-timeout bounds the run here (0:
    // ours); --cli-connect-timeout each connect (0: no limit of its own, the run's
    // deadline still holds).
    let timeout = match p.last(Key::Timeout) {
        Some(v) => values::parse_timeout(&v, "--timeout")?,
        None => match whole_seconds(Key::CliReadTimeout, "--cli-read-timeout")? {
            Some(secs) if secs > 0 => {
                values::parse_timeout(&secs.to_string(), "--cli-read-timeout")?
            }
            _ => default_timeout,
        },
    };
    let connect_timeout =
        whole_seconds(Key::CliConnectTimeout, "--cli-connect-timeout")?.map(|secs| match secs {
            0 => timeout,
            s => Duration::from_secs(s).min(values::MAX_DURATION),
        });
    if p.has(Key::NoCache) && p.given(Key::CacheDir) {
        return Err(usage(
            "--no-cache and --cache-dir contradict each other: give one",
        ));
    }
    if let Some(c) = p.last(Key::Color) {
        if !["on", "off", "auto"].contains(&c.as_str()) {
            return Err(usage(format!("--color {c:?}: use on, off or auto")));
        }
    }
    let mut env = Vec::new();
    if let Some(b) = p.last(Key::CaBundle) {
        env.push(("AWS_CA_BUNDLE", b));
    }
    let request = Request {
        cluster_id,
        role_arns: p.all(Key::RoleArn),
        session_name: p.last(Key::SessionName),
        forward_session_name: p.has(Key::ForwardSessionName),
        external_id: p.last(Key::ExternalId),
        duration_seconds: p
            .last(Key::DurationSeconds)
            .map(|v| values::parse_duration_seconds(&v))
            .transpose()?,
        region: p.last(Key::Region),
        profile: p.last(Key::Profile),
        cache_dir: p.last(Key::CacheDir).map(PathBuf::from),
        no_cache: p.has(Key::NoCache),
        timeout,
        connect_timeout,
    };
    Ok((request, env))
}

/// Whether the command line asks for each step on stderr (`-v`, `--verbose`, `--debug`).
pub(crate) fn verbose(p: &Parsed) -> bool {
    p.has(Key::Debug) || p.has(Key::Verbose)
}

/// The `--query` of a command line.
pub(crate) fn query(p: &Parsed) -> Result<Option<Vec<String>>> {
    p.last(Key::Query)
        .map(|q| values::parse_query(&q))
        .transpose()
}

/// The help or version a command line asks for, if it does: `-h`/`--help`, or the
/// word `help` (anywhere among the words: aws-cli puts it last, eks-token first);
/// `--version`.
pub(crate) fn help_or_version(
    dialect: Dialect,
    p: &Parsed,
    command: &'static str,
    version: VersionStyle,
) -> Option<Command> {
    // pflag's tools (cobra) take `help` as a word only as the root's command.
    let help_word = !matches!(dialect, Dialect::Authenticator | Dialect::ArgoCd)
        && p.words[..p.words_before_dashes].iter().any(|w| w == "help");
    if p.has(Key::Help) || help_word {
        return Some(Command::Help(HelpTopic { dialect, command }));
    }
    if p.has(Key::Version) {
        return Some(Command::Version(version));
    }
    None
}

#[cfg(test)]
mod tests;
