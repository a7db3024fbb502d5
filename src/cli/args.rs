//! The command line, drop-in for both anchors: `eks-token get-token ...`,
//! `eks-token eks get-token ...` (aws-cli's arguments, global options before or after
//! the subcommand, unique prefixes of long options as argparse allows, e.g. `--role`),
//! and `eks-token token -i ...` (aws-iam-authenticator's); and `eks-token write-token`,
//! the init-container and sidecar mode. Parsing only: what the words mean for
//! credentials is the library's [`eks_token::Request`].

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use eks_token::Request;

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
            ArgError::Usage(m) => write!(f, "{m} (see eks-token --help)"),
            ArgError::Invalid(m) => f.write_str(m),
        }
    }
}

type Result<T> = std::result::Result<T, ArgError>;

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    /// Print a token (or ExecCredential).
    GetToken(GetToken),
    /// Write the token to a file, once or keeping it fresh.
    WriteToken(GetToken, WriteToken),
    /// Who the credentials are after the chain (`--output text`: the ARN alone).
    WhoAmI(GetToken, bool),
    /// Write a kubeconfig for a cluster (EKS DescribeCluster).
    Kubeconfig(GetToken, KubeconfigArgs),
    /// Check a token as EKS would.
    Verify(VerifyArgs),
    /// Print the help text.
    Help,
    /// Print the version.
    Version,
}

/// How to print the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Output {
    /// ExecCredential JSON for kubectl.
    Json,
    /// The bare token and a newline.
    Token,
}

/// Options of `get-token` (and of the other commands that get credentials): the
/// library's request, and how to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GetToken {
    /// The cluster, roles, region, profile, cache, timeout, verbosity.
    pub(crate) request: Request,
    /// Output format.
    pub(crate) output: Output,
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

/// Options of `verify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VerifyArgs {
    /// The token (None: read it from stdin).
    pub(crate) token: Option<String>,
    /// `--cluster-name`: the cluster the token must be for (checked by STS, `--online`).
    pub(crate) cluster_id: Option<String>,
    /// `--online`: replay the token to STS.
    pub(crate) online: bool,
    /// `--timeout`.
    pub(crate) timeout: Duration,
    /// `-v`.
    pub(crate) verbose: bool,
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
}

/// Options of `kubeconfig` and `verify` only.
const COMMAND_ONLY: &[Key] = &[Key::Alias, Key::Force, Key::Command, Key::Online];

/// Options that only `write-token` takes.
const WRITE_ONLY: &[Key] = &[
    Key::Out,
    Key::Mode,
    Key::Refresh,
    Key::RefreshInterval,
    Key::KubeconfigOut,
    Key::Server,
    Key::CaFile,
    Key::CaData,
];

struct Opt {
    long: &'static str,
    short: Option<char>,
    takes_value: bool,
    key: Key,
}

const OPTS: &[Opt] = &[
    Opt {
        long: "cluster-name",
        short: None,
        takes_value: true,
        key: Key::ClusterName,
    },
    Opt {
        long: "cluster-id",
        short: Some('i'),
        takes_value: true,
        key: Key::ClusterId,
    },
    Opt {
        long: "role-arn",
        short: Some('r'),
        takes_value: true,
        key: Key::RoleArn,
    },
    Opt {
        long: "session-name",
        short: Some('s'),
        takes_value: true,
        key: Key::SessionName,
    },
    Opt {
        long: "forward-session-name",
        short: None,
        takes_value: false,
        key: Key::ForwardSessionName,
    },
    Opt {
        long: "external-id",
        short: Some('e'),
        takes_value: true,
        key: Key::ExternalId,
    },
    Opt {
        long: "duration-seconds",
        short: None,
        takes_value: true,
        key: Key::DurationSeconds,
    },
    Opt {
        long: "region",
        short: None,
        takes_value: true,
        key: Key::Region,
    },
    Opt {
        long: "output",
        short: Some('o'),
        takes_value: true,
        key: Key::Output,
    },
    Opt {
        long: "verbose",
        short: Some('v'),
        takes_value: false,
        key: Key::Verbose,
    },
    Opt {
        long: "debug",
        short: None,
        takes_value: false,
        key: Key::Verbose,
    },
    Opt {
        long: "timeout",
        short: None,
        takes_value: true,
        key: Key::Timeout,
    },
    Opt {
        long: "token-only",
        short: None,
        takes_value: false,
        key: Key::TokenOnly,
    },
    Opt {
        long: "help",
        short: Some('h'),
        takes_value: false,
        key: Key::Help,
    },
    Opt {
        long: "version",
        short: None,
        takes_value: false,
        key: Key::Version,
    },
    Opt {
        long: "out",
        short: None,
        takes_value: true,
        key: Key::Out,
    },
    Opt {
        long: "mode",
        short: None,
        takes_value: true,
        key: Key::Mode,
    },
    Opt {
        long: "refresh",
        short: None,
        takes_value: false,
        key: Key::Refresh,
    },
    Opt {
        long: "refresh-interval",
        short: None,
        takes_value: true,
        key: Key::RefreshInterval,
    },
    Opt {
        long: "kubeconfig-out",
        short: None,
        takes_value: true,
        key: Key::KubeconfigOut,
    },
    Opt {
        long: "server",
        short: None,
        takes_value: true,
        key: Key::Server,
    },
    Opt {
        long: "ca-file",
        short: None,
        takes_value: true,
        key: Key::CaFile,
    },
    Opt {
        long: "ca-data",
        short: None,
        takes_value: true,
        key: Key::CaData,
    },
    Opt {
        long: "profile",
        short: None,
        takes_value: true,
        key: Key::Profile,
    },
    Opt {
        long: "cache-dir",
        short: None,
        takes_value: true,
        key: Key::CacheDir,
    },
    Opt {
        long: "no-cache",
        short: None,
        takes_value: false,
        key: Key::NoCache,
    },
    Opt {
        long: "alias",
        short: None,
        takes_value: true,
        key: Key::Alias,
    },
    Opt {
        long: "force",
        short: None,
        takes_value: false,
        key: Key::Force,
    },
    Opt {
        long: "command",
        short: None,
        takes_value: true,
        key: Key::Command,
    },
    Opt {
        long: "online",
        short: None,
        takes_value: false,
        key: Key::Online,
    },
];

/// The help text.
pub(crate) const HELP: &str = "\
eks-token: Kubernetes credentials for Amazon EKS, without the AWS CLI

Usage:
  eks-token get-token --cluster-name NAME [--role-arn ARN]... [options]
  eks-token eks get-token --cluster-name NAME [--role ARN] [options]   (aws-cli's arguments)
  eks-token token -i NAME [-r ARN] [-s SESSION] [-e ID] [--token-only] (aws-iam-authenticator's)
  eks-token write-token --cluster-name NAME --out PATH [--refresh] [options]
  eks-token whoami [--role-arn ARN]... [-v] [--output json|text]
  eks-token kubeconfig --cluster-name NAME [--role-arn ARN]... [--alias A] [--out FILE [--force]]
  eks-token verify TOKEN [--cluster-name NAME] [--online]

get-token prints an ExecCredential for kubectl (the kubeconfig's `exec` plugin), or the
bare token. write-token writes the token to a file (init container), and with --refresh
keeps rewriting it before it expires (sidecar).

Options:
  --cluster-name NAME       EKS cluster name, signed into the token as x-k8s-aws-id
  -i, --cluster-id ID       the same (an Outposts cluster's id)
  -r, --role-arn ARN        assume this role with the credentials so far; repeat for a
                            chain (--role is accepted, as in aws-cli)
  -s, --session-name NAME   RoleSessionName of every --role-arn hop [EKSGetTokenAuth]
  --forward-session-name    use the source identity's session name for the hops
  -e, --external-id ID      ExternalId of the last hop
  --duration-seconds N      session length of the --role-arn hops, 900-43200 [3600];
                            STS allows at most 3600 for a role assumed by a role
  --region REGION           STS region [AWS_REGION, AWS_DEFAULT_REGION, profile, else global]
  --profile NAME            profile of ~/.aws/config and ~/.aws/credentials [AWS_PROFILE]
  -o, --output json|token   ExecCredential JSON, or the token and a newline [json]
  --token-only              the same as --output token
  --timeout DURATION        deadline of the whole run: 30, 30s, 1m, 1m30s [30s]
  --cache-dir DIR           credential cache [EKS_TOKEN_CACHE_DIR, $XDG_CACHE_HOME/eks-token,
                            ~/.cache/eks-token; off when none can be made private]
  --no-cache                neither read nor write the credential cache
  -v, --verbose             each step and its duration on stderr (never a secret)
  -h, --help                this text
  --version                 the version

whoami: the identity (GetCallerIdentity) after the chain; -v shows it after each hop.
kubeconfig: EKS DescribeCluster, then a kubeconfig (JSON) whose user runs this binary
  with the same --role-arn, --region and --profile arguments.
  --alias NAME              context name [the cluster ARN]
  --out FILE                write there (atomically, 0600) instead of stdout
  --force                   overwrite an existing --out file
  --command PATH            the exec command [this binary's absolute path]
verify: the rules EKS applies to a token (from the argument or stdin); exit 1 when it
  would be rejected. --online replays it to STS (with x-k8s-aws-id: --cluster-name) and
  prints whom it identifies.

write-token options:
  --out PATH                the token file (written atomically; its directory is created 0700)
  -o, --output token|json   the bare token, no newline [token], or an ExecCredential (v1)
  --mode OCTAL              permission bits of the file [0600]; e.g. 0640 for a group
  --refresh                 keep running: rewrite the file every interval, and always at
                            least 2 minutes before the token expires; SIGTERM ends it
  --refresh-interval DUR    how often to rewrite the file: 30s, 5m [5m]
  --kubeconfig-out PATH     also write a kubeconfig whose user reads `tokenFile: <--out>`
  --server URL              its API server URL (with --kubeconfig-out)
  --ca-file PEM | --ca-data BASE64   its cluster CA (with --kubeconfig-out)

Credentials (first found): AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY [+ AWS_SESSION_TOKEN];
the profile (static keys, role chains, web identity, credential_process, SSO); IRSA:
AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN [+ AWS_ROLE_SESSION_NAME]; container credentials
(ECS, EKS Pod Identity); EC2 instance metadata (IMDSv2).
Endpoint: AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, AWS_USE_FIPS_ENDPOINT,
AWS_USE_DUALSTACK_ENDPOINT, AWS_STS_REGIONAL_ENDPOINTS. Network: HTTPS_PROXY, NO_PROXY,
AWS_CA_BUNDLE. kubectl's KUBERNETES_EXEC_INFO picks the ExecCredential apiVersion.

Exit codes: 0 success, 1 failure, 2 command line not understood.
";

fn usage(msg: impl Into<String>) -> ArgError {
    ArgError::Usage(msg.into())
}

fn find_long(name: &str) -> Result<&'static Opt> {
    if let Some(o) = OPTS.iter().find(|o| o.long == name) {
        return Ok(o);
    }
    let candidates: Vec<&Opt> = OPTS.iter().filter(|o| o.long.starts_with(name)).collect();
    match candidates.as_slice() {
        [one] => Ok(one),
        [] => Err(usage(format!("unknown option --{name}"))),
        many => {
            // `--debug` and `--verbose` share a key; other shared prefixes are ambiguous.
            let names: Vec<String> = many.iter().map(|o| format!("--{}", o.long)).collect();
            Err(usage(format!(
                "ambiguous option --{name} (could be {})",
                names.join(", ")
            )))
        }
    }
}

/// Parses the arguments (without the program name).
pub(crate) fn parse(args: &[String]) -> Result<Command> {
    let mut words: Vec<&str> = Vec::new();
    let mut values: Vec<(Key, String)> = Vec::new();
    let mut flags: Vec<Key> = Vec::new();
    let mut i = 0;
    let mut only_positional = false;
    while i < args.len() {
        let arg = args[i].as_str();
        i += 1;
        if only_positional || arg == "-" || !arg.starts_with('-') {
            words.push(arg);
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
                (find_long(name)?, inline, format!("--{name}"))
            } else {
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
            values.push((opt.key, value));
        } else {
            if inline.is_some() {
                return Err(usage(format!("option {shown} takes no value")));
            }
            flags.push(opt.key);
        }
    }
    if flags.contains(&Key::Help) || words.first() == Some(&"help") {
        return Ok(Command::Help);
    }
    if flags.contains(&Key::Version) || words == ["version"] {
        return Ok(Command::Version);
    }
    #[derive(PartialEq)]
    enum Kind {
        Get,
        Write,
        WhoAmI,
        Kubeconfig,
        Verify(Option<String>),
    }
    let kind = match words.as_slice() {
        ["get-token"] | ["eks", "get-token"] | ["token"] => Kind::Get,
        ["write-token"] => Kind::Write,
        ["whoami"] | ["sts", "get-caller-identity"] => Kind::WhoAmI,
        ["kubeconfig"] => Kind::Kubeconfig,
        ["verify"] => Kind::Verify(None),
        ["verify", token] => Kind::Verify(Some((*token).to_owned())),
        [] => return Err(usage("no command given: use get-token, write-token, whoami, kubeconfig or verify")),
        other => {
            return Err(usage(format!(
                "unknown command {:?}: use get-token, eks get-token, token, write-token, whoami, kubeconfig or verify",
                other.join(" ")
            )))
        }
    };
    let write = kind == Kind::Write;
    let allowed_here: &[Key] = match kind {
        Kind::Write => WRITE_ONLY,
        Kind::Kubeconfig => &[Key::Out, Key::Alias, Key::Force, Key::Command],
        Kind::Verify(_) => &[Key::Online],
        _ => &[],
    };
    let used = values
        .iter()
        .map(|(k, _)| *k)
        .chain(flags.iter().copied())
        .find(|k| {
            (WRITE_ONLY.contains(k) || COMMAND_ONLY.contains(k)) && !allowed_here.contains(k)
        });
    if let Some(k) = used {
        let name = OPTS.iter().find(|o| o.key == k).map_or("", |o| o.long);
        let of = match k {
            Key::Alias | Key::Force | Key::Command => "kubeconfig",
            Key::Online => "verify",
            Key::Out => "write-token and kubeconfig",
            _ => "write-token",
        };
        return Err(usage(format!("--{name} is an option of {of}")));
    }
    let last = |k: Key| {
        values
            .iter()
            .rev()
            .find(|(key, _)| *key == k)
            .map(|(_, v)| v.clone())
    };
    let cluster = values
        .iter()
        .rev()
        .find(|(k, _)| matches!(k, Key::ClusterName | Key::ClusterId))
        .map(|(_, v)| v.clone());
    let cluster_id = match (&kind, cluster) {
        (Kind::WhoAmI | Kind::Verify(_), c) => c.unwrap_or_default(),
        (_, Some(c)) => c,
        (_, None) => return Err(usage("missing --cluster-name NAME (or -i/--cluster-id)")),
    };
    let text_output = kind == Kind::WhoAmI && last(Key::Output).as_deref() == Some("text");
    let duration_seconds = last(Key::DurationSeconds)
        .map(|v| {
            v.trim().parse::<u32>().map_err(|_| {
                usage(format!(
                    "--duration-seconds {v:?} is not a whole number of seconds"
                ))
            })
        })
        .transpose()?;
    let output = match last(Key::Output).as_deref() {
        Some("text") if text_output => Output::Json,
        None if write => Output::Token,
        None | Some("json") => Output::Json,
        Some("token") => Output::Token,
        Some(other) => {
            return Err(usage(format!(
                "--output {other:?} is not supported: use json or token"
            )))
        }
    };
    let output = if flags.contains(&Key::TokenOnly) {
        Output::Token
    } else {
        output
    };
    let timeout = match last(Key::Timeout) {
        None => DEFAULT_TIMEOUT,
        Some(v) => parse_duration(&v).ok_or_else(|| {
            usage(format!(
                "--timeout {v:?} is not a duration (e.g. 30, 30s, 1m)"
            ))
        })?,
    };
    if timeout.is_zero() || timeout > MAX_DURATION {
        return Err(ArgError::Invalid(
            "--timeout must be more than zero and at most 24h".into(),
        ));
    }
    let args = GetToken {
        request: Request {
            cluster_id,
            role_arns: values
                .iter()
                .filter(|(k, _)| *k == Key::RoleArn)
                .map(|(_, v)| v.clone())
                .collect(),
            session_name: last(Key::SessionName),
            forward_session_name: flags.contains(&Key::ForwardSessionName),
            external_id: last(Key::ExternalId),
            duration_seconds,
            region: last(Key::Region),
            profile: last(Key::Profile),
            cache_dir: last(Key::CacheDir).map(PathBuf::from),
            no_cache: flags.contains(&Key::NoCache),
            timeout,
            interactive: None,
            verbose: flags.contains(&Key::Verbose),
        },
        output,
    };
    match kind {
        Kind::Get => Ok(Command::GetToken(args)),
        Kind::Write => {
            let write = parse_write(&values, &flags, args.output)?;
            Ok(Command::WriteToken(args, write))
        }
        Kind::WhoAmI => Ok(Command::WhoAmI(args, text_output)),
        Kind::Kubeconfig => Ok(Command::Kubeconfig(
            args,
            KubeconfigArgs {
                alias: last(Key::Alias),
                out: last(Key::Out).map(PathBuf::from),
                force: flags.contains(&Key::Force),
                command: last(Key::Command),
            },
        )),
        Kind::Verify(token) => Ok(Command::Verify(VerifyArgs {
            token,
            cluster_id: (!args.request.cluster_id.is_empty())
                .then(|| args.request.cluster_id.clone()),
            online: flags.contains(&Key::Online),
            timeout: args.request.timeout,
            verbose: args.request.verbose,
        })),
    }
}

fn parse_write(values: &[(Key, String)], flags: &[Key], output: Output) -> Result<WriteToken> {
    let last = |k: Key| {
        values
            .iter()
            .rev()
            .find(|(key, _)| *key == k)
            .map(|(_, v)| v.clone())
    };
    let out = last(Key::Out).ok_or_else(|| usage("write-token needs --out PATH"))?;
    let mode = match last(Key::Mode) {
        None => DEFAULT_MODE,
        Some(v) => parse_mode(&v)?,
    };
    let refresh_interval = match last(Key::RefreshInterval) {
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
    let kubeconfig = match last(Key::KubeconfigOut) {
        None => {
            if last(Key::Server).is_some()
                || last(Key::CaFile).is_some()
                || last(Key::CaData).is_some()
            {
                return Err(usage(
                    "--server, --ca-file and --ca-data go with --kubeconfig-out",
                ));
            }
            None
        }
        Some(path) => {
            if output != Output::Token {
                return Err(usage(
                    "--kubeconfig-out needs --output token (a kubeconfig's tokenFile holds the bare token)",
                ));
            }
            let server =
                last(Key::Server).ok_or_else(|| usage("--kubeconfig-out needs --server URL"))?;
            let ca = match (last(Key::CaFile), last(Key::CaData)) {
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
        refresh: flags.contains(&Key::Refresh),
        refresh_interval,
        kubeconfig,
    })
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
