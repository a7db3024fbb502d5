//! eks-token's own command line (any program name but the other dialects'): its
//! commands, under GNU-style rules, and the other tools' forms (`eks get-token`, `eks
//! update-kubeconfig`, `sts get-caller-identity` with aws-cli's rules; `token` with
//! aws-iam-authenticator's flags; `aws` for Argo CD).

use std::path::PathBuf;
use std::time::Duration;

use eks_token::Secret;

use super::groups as g;
use super::help::{self, Spec};
use super::lexer::{self, Parsed, Rules};
use super::options::{self as o, Key};
use super::values;
use super::{
    aws, help_or_version, lex_as, query, request, usage, verbose, ArgError, CaSource, CheckToken,
    Command, Dialect, DoctorArgs, Format, GetToken, HelpTopic, KubeconfigArgs, KubeconfigOut,
    Print, Result, VerifyArgs, VersionStyle, WriteToken, DEFAULT_MIN_VALIDITY, DEFAULT_MODE,
    DEFAULT_REFRESH_INTERVAL, DEFAULT_TIMEOUT,
};

const D: Dialect = Dialect::EksToken;

pub(crate) const OVERVIEW: Spec = Spec {
    name: "",
    usage: &[
        "get-token --cluster-name NAME [--role-arn ARN]... [options]",
        "write-token --cluster-name NAME --out PATH [--refresh] [options]",
        "write-token --check --out PATH [--min-validity DURATION]",
        "whoami [--role-arn ARN]... [-v] [--output json|text]",
        "kubeconfig --cluster-name NAME [--role-arn ARN]... [--out FILE]",
        "eks update-kubeconfig --name NAME [--role-arn ARN] [--kubeconfig FILE]",
        "verify [TOKEN] [--cluster-name NAME] [--online]",
        "doctor --cluster-name NAME [--role-arn ARN]... [--aws-auth FILE] [--kubeconfig FILE]",
        "eks get-token --cluster-name NAME [--role-arn ARN]   (aws-cli's arguments)",
        "token -i NAME [-r ARN] [-s SESSION] [--token-only]   (aws-iam-authenticator's)",
        "aws --cluster-name NAME [--role-arn ARN]             (argocd-k8s-auth's)",
    ],
    about: "\
Kubernetes credentials for Amazon EKS, without the AWS CLI. get-token prints an
ExecCredential for kubectl's exec plugin (or the bare token); write-token keeps a
token file fresh for an init container or a sidecar; whoami, kubeconfig,
eks update-kubeconfig and verify help set it up; doctor says why kubectl answers
Unauthorized.
`eks-token COMMAND --help` describes each command and names all its options.

Run as `aws`, `aws-iam-authenticator` or `argocd-k8s-auth` (a symlink or a copy), it
speaks that tool's command line.

Credentials (first found): AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY; the profile
(keys, role chains, web identity, credential_process, SSO); IRSA
(AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN); container credentials (ECS, EKS Pod
Identity); EC2 instance metadata. --role-arn hops are assumed after them.

Exit codes: 0 success, 1 failure, 2 command line not understood.",
    groups: &[&g::HELP],
};

const TOKEN_GROUPS: &[&o::Group] = &[
    &g::CLUSTER,
    &g::CHAIN,
    &g::WHERE,
    &g::GET_OUTPUT,
    &g::RUN,
    &g::AWS_GLOBALS,
    &g::HELP,
];

pub(crate) const GET_TOKEN: Spec = Spec {
    name: "get-token",
    usage: &["get-token --cluster-name NAME [--role-arn ARN]... [options]"],
    about: "\
Prints a token for the cluster: an ExecCredential for kubectl (the kubeconfig's exec
plugin, whose apiVersion it answers in), or the bare token with --output token. The
credentials come from the default chain, then each --role-arn is assumed in turn.",
    groups: TOKEN_GROUPS,
};

pub(crate) const TOKEN: Spec = Spec {
    name: "token",
    usage: &["token -i NAME [-r ARN] [-s SESSION] [-e ID] [--token-only] [options]"],
    about: "aws-iam-authenticator's form of get-token (the same options).",
    groups: TOKEN_GROUPS,
};

pub(crate) const ARGO: Spec = Spec {
    name: "aws",
    usage: &["aws --cluster-name NAME [--role-arn ARN] [--profile NAME] [options]"],
    about: "\
argocd-k8s-auth's form of get-token: one line of ExecCredential JSON (v1beta1), and
failures tried again every 5 s within 60 s, as Argo CD's tool does.",
    groups: TOKEN_GROUPS,
};

pub(crate) const WRITE_TOKEN: Spec = Spec {
    name: "write-token",
    usage: &[
        "write-token --cluster-name NAME --out PATH [--refresh] [options]",
        "write-token --check --out PATH [--min-validity DURATION]",
    ],
    about: "\
Writes the token to a file, atomically (a reader never sees a partial file): once, for
an init container (exit 1 and no file on failure), or with --refresh for ever, for a
sidecar, rewriting it before it expires; SIGTERM ends it. Each event is one JSON line
on stderr. For apps that read a token file (a kubeconfig's tokenFile) instead of
running an exec plugin. --check is the probe of a scratch image (no shell): exit 0 only
when the file holds an EKS token valid --min-validity more; the cluster it is for is
not in a token, so no probe can check it.",
    groups: &[
        &g::CLUSTER,
        &g::CHAIN,
        &g::WHERE,
        &g::WRITE,
        &g::RUN,
        &g::AWS_GLOBALS,
        &g::HELP,
    ],
};

pub(crate) const WHOAMI: Spec = Spec {
    name: "whoami",
    usage: &["whoami [--role-arn ARN]... [-v] [--output json|text] [options]"],
    about: "\
Who the credentials are after the chain (STS GetCallerIdentity), as
`aws sts get-caller-identity` prints it; with -v, also who they were after the
source and after each hop: where cross-account setups go wrong.",
    groups: &[
        &g::CHAIN,
        &g::WHERE,
        &g::WHOAMI_OUTPUT,
        &g::RUN,
        &g::AWS_GLOBALS,
        &g::HELP,
    ],
};

pub(crate) const KUBECONFIG: Spec = Spec {
    name: "kubeconfig",
    usage: &["kubeconfig --cluster-name NAME [--role-arn ARN]... [--out FILE [--force]] [options]"],
    about: "\
EKS DescribeCluster with the chain's credentials, then a kubeconfig (JSON) for the
cluster whose user runs this program with the same --role-arn, --region and
--profile arguments.",
    groups: &[
        &g::CLUSTER,
        &g::CHAIN,
        &g::WHERE,
        &g::KUBECONFIG,
        &g::RUN,
        &g::AWS_GLOBALS,
        &g::HELP,
    ],
};

pub(crate) const VERIFY: Spec = Spec {
    name: "verify",
    usage: &["verify [TOKEN] [--cluster-name NAME] [--online] [options]"],
    about: "\
Applies the rules EKS applies to a token (size, prefix, encoding, host, query, signed
headers, expiry) and names each one it breaks; exit 1 when EKS would reject it. The
token comes from the argument, or from stdin (it then stays out of ps and shell
history). The cluster name is not in a token (only its header name is signed): only
--online, which replays the token to STS as EKS does, checks it.",
    groups: &[&g::CLUSTER, &g::VERIFY, &g::HELP],
};

pub(crate) const DOCTOR: Spec = Spec {
    name: "doctor",
    usage: &[
        "doctor --cluster-name NAME [--role-arn ARN]... [--aws-auth FILE] [--kubeconfig FILE]",
    ],
    about: "\
Walks the path from the credentials to the Kubernetes user and says where it breaks:
the credential source (and why others were skipped), each role assumed (on AccessDenied,
the two policy statements that must exist), the token, the identity EKS derives from
it; with --aws-auth, the username and groups the aws-auth ConfigMap gives it, as
aws-iam-authenticator maps them; with --kubeconfig, what the cluster itself answers
(a SelfSubjectReview, as kubectl auth whoami). Exit 0 only when every step passes.",
    groups: &[
        &g::CLUSTER,
        &g::CHAIN,
        &g::WHERE,
        &g::DOCTOR,
        &g::RUN,
        &g::HELP,
    ],
};

/// Every command of the dialect, its overview first.
pub(crate) const SPECS: &[&Spec] = &[
    &OVERVIEW,
    &GET_TOKEN,
    &WRITE_TOKEN,
    &WHOAMI,
    &KUBECONFIG,
    &VERIFY,
    &DOCTOR,
    &aws::GET_TOKEN,
    &aws::UPDATE_KUBECONFIG,
    &aws::WHOAMI,
    &TOKEN,
    &ARGO,
];

/// The command words of a command line (options and their values left out).
fn command_words(args: &[String]) -> Vec<String> {
    command_words_split(args).0
}

/// [`command_words`], and how many came before a `--`.
fn command_words_split(args: &[String]) -> (Vec<String>, usize) {
    let tables: Vec<_> = SPECS.iter().map(|s| s.groups).collect();
    lexer::words_split(Rules::Gnu, args, &tables)
}

/// The log event of a `write-token` command line, found as [`parse`] finds the command
/// (`check` with `--check`); `None` for other commands. For the error line of a
/// command line that does not parse.
pub(crate) fn log_event(args: &[String]) -> Option<&'static str> {
    let words = command_words(args);
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    (spec_of(&words)?.name == WRITE_TOKEN.name).then(|| {
        if args.iter().any(|a| a == "--check") {
            "check"
        } else {
            "write-token"
        }
    })
}

/// Parses eks-token's command line.
pub(crate) fn parse(args: &[String]) -> Result<Command> {
    let (words, before_dashes) = command_words_split(args);
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    // `help [COMMAND]`, `COMMAND help` (a `help` after `--` is an argument).
    if words[..before_dashes].contains(&"help") {
        let rest: Vec<&str> = words.iter().filter(|w| **w != "help").copied().collect();
        let spec = spec_of(&rest);
        if spec.is_none() && !rest.is_empty() {
            return Err(usage(format!(
                "no help for {:?}: eks-token help lists the commands",
                rest.join(" ")
            )));
        }
        return Ok(Command::Help(HelpTopic {
            dialect: D,
            command: spec.map_or("", |s| s.name),
        }));
    }
    if words == ["version"] {
        lexer::lex(Rules::Gnu, args, OVERVIEW.groups)?;
        return Ok(Command::Version(VersionStyle::EksToken));
    }
    let Some(spec) = spec_of(&words) else {
        // Help and --version need no command; without one, an unknown option is the
        // error (`eks-token --bogus`).
        match lex_as(D, Rules::Gnu, &OVERVIEW, args) {
            Ok(p) => {
                if let Some(c) = help_or_version(D, &p, "", VersionStyle::EksToken) {
                    return Ok(c);
                }
            }
            Err(e) if words.is_empty() => return Err(e),
            Err(_) => {}
        }
        // `get-token --bogus VALUE`: the command's own reading names the option.
        // `get-token --cluster-name c extra`: the argument the command does not take.
        let named = (1..words.len())
            .rev()
            .find_map(|n| Some((n, spec_of(&words[..n])?)));
        if let Some((n, spec)) = named {
            if words[0] == "eks" || words[0] == "sts" {
                aws::parse_as(D, spec, args)?;
            } else {
                lex_as(D, Rules::Gnu, spec, args)?;
            }
            // A token is a bearer credential: named, not shown.
            let shown = if words[n].starts_with(eks_token::Token::PREFIX) {
                "(a token)".to_owned()
            } else {
                format!("{:?}", words[n])
            };
            return Err(usage(format!(
                "unexpected argument {shown} to {}",
                spec.name
            )));
        }
        return Err(if words.is_empty() {
            usage("no command given: use get-token, write-token, whoami, kubeconfig, verify or doctor")
        } else {
            usage(format!(
                "unknown command {:?}: use get-token, eks get-token, token, aws, write-token, \
                 whoami, kubeconfig, eks update-kubeconfig, verify or doctor",
                words.join(" ")
            ))
        });
    };
    // aws-cli's commands take aws-cli's command line, whatever the program's name.
    if words[0] == "eks" || words[0] == "sts" {
        return aws::parse_as(D, spec, args);
    }
    let p = lex_as(D, Rules::Gnu, spec, args)?;
    if let Some(c) = help_or_version(D, &p, spec.name, VersionStyle::EksToken) {
        return Ok(c);
    }
    match spec.name {
        "get-token" | "token" => get_token(&p, D),
        "aws" => get_token(&p, Dialect::ArgoCd),
        "write-token" => write_token(&p),
        "whoami" => whoami(&p),
        "kubeconfig" => kubeconfig(&p),
        "verify" => verify(&p),
        "doctor" => doctor(&p),
        other => unreachable!("a command without a parser: {other}"),
    }
}

/// The command the words name.
fn spec_of(words: &[&str]) -> Option<&'static Spec> {
    match words {
        // `verify TOKEN`: the token is a word too.
        ["verify", _] => Some(&VERIFY),
        w => help::named(SPECS, w),
    }
}

/// How to print the answer of a token command.
fn token_print(p: &Parsed, dialect: Dialect) -> Result<Print> {
    if p.has(Key::TokenOnly) && p.given(Key::Output) {
        return Err(usage(
            "--token-only and --output contradict each other: give one",
        ));
    }
    let format = if p.has(Key::TokenOnly) {
        Format::Token
    } else {
        values::parse_output(
            p.last(Key::Output).as_deref(),
            &[
                ("json", Format::Json),
                ("token", Format::Token),
                ("text", Format::Text),
            ],
        )?
    };
    Ok(Print {
        dialect,
        format,
        query: query(p)?,
        format_from_config: false,
    })
}

fn get_token(p: &Parsed, dialect: Dialect) -> Result<Command> {
    // Argo CD's own retries span a minute.
    let timeout = if dialect == Dialect::ArgoCd {
        Duration::from_secs(60)
    } else {
        DEFAULT_TIMEOUT
    };
    let (request, env) = request(p, true, timeout)?;
    Ok(Command::GetToken(GetToken {
        request,
        print: token_print(p, dialect)?,
        env,
        verbose: verbose(p),
    }))
}

fn write_token(p: &Parsed) -> Result<Command> {
    if p.has(Key::Check) {
        return check_token(p);
    }
    if p.given(Key::MinValidity) {
        return Err(usage("--min-validity goes with --check"));
    }
    let (request, env) = request(p, true, DEFAULT_TIMEOUT)?;
    let format = values::parse_output(
        p.last(Key::Output).as_deref(),
        &[("token", Format::Token), ("json", Format::Json)],
    )?;
    let out = p
        .last(Key::Out)
        .ok_or_else(|| usage("write-token needs --out PATH"))?;
    let out = values::file_path("--out", &out)?;
    let mode = match p.last(Key::Mode) {
        None => DEFAULT_MODE,
        Some(v) => values::parse_mode(&v)?,
    };
    let refresh_interval = match p.last(Key::RefreshInterval) {
        None => DEFAULT_REFRESH_INTERVAL,
        Some(_) if !p.has(Key::Refresh) => {
            return Err(usage(
                "--refresh-interval goes with --refresh (without it, write-token writes once)",
            ))
        }
        Some(v) => values::parse_interval(&v)?,
    };
    let kubeconfig = match p.last(Key::KubeconfigOut) {
        None => {
            if [Key::Server, Key::CaFile, Key::CaData]
                .iter()
                .any(|k| p.given(*k))
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
            let server = p
                .last(Key::Server)
                .ok_or_else(|| usage("--kubeconfig-out needs --server URL"))?;
            let ca = match (p.last(Key::CaFile), p.last(Key::CaData)) {
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
            let path = values::file_path("--kubeconfig-out", &path)?;
            if same_file(&path, &out) {
                return Err(usage(
                    "--kubeconfig-out and --out name one file: the kubeconfig reads the \
                     token from --out, so give it a path of its own",
                ));
            }
            Some(KubeconfigOut { path, server, ca })
        }
    };
    let print = Print::plain(D, format);
    Ok(Command::WriteToken(
        GetToken {
            request,
            print,
            env,
            verbose: verbose(p),
        },
        WriteToken {
            out,
            mode,
            refresh: p.has(Key::Refresh),
            refresh_interval,
            kubeconfig,
        },
    ))
}

/// Whether two paths name one file: one file on disk, or (not there yet) one name in one
/// directory, each directory resolved as far as it exists (links and `..` included, as
/// the kernel resolves them).
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
        return (x.dev(), x.ino()) == (y.dev(), y.ino());
    }
    use eks_token::kubeconfig::resolved;
    matches!((resolved(a), resolved(b)), (Some(x), Some(y)) if x == y)
}

/// `write-token --check --out FILE [--min-validity D]`: only the file is read, so the
/// options that say how to make a token are refused rather than ignored.
fn check_token(p: &Parsed) -> Result<Command> {
    let out = p
        .last(Key::Out)
        .ok_or_else(|| usage("write-token --check needs --out FILE (the token file to check)"))?;
    if p.given(Key::ClusterName) || p.given(Key::ClusterId) {
        return Err(usage(
            "--check cannot check the cluster name: a token does not hold it (only its \
             header name is signed); drop --cluster-name",
        ));
    }
    let writing = [
        Key::Refresh,
        Key::RefreshInterval,
        Key::KubeconfigOut,
        Key::Server,
        Key::CaFile,
        Key::CaData,
        Key::Mode,
        Key::Output,
        Key::RoleArn,
        Key::SessionName,
        Key::ForwardSessionName,
        Key::ExternalId,
        Key::DurationSeconds,
        Key::Region,
        Key::Profile,
        Key::CacheDir,
        Key::NoCache,
    ];
    if writing.iter().any(|k| p.given(*k)) {
        return Err(usage(
            "--check only reads --out: it takes --min-validity, not the options that make a token",
        ));
    }
    let min_validity = match p.last(Key::MinValidity) {
        None => DEFAULT_MIN_VALIDITY,
        Some(v) => values::parse_duration(&v).ok_or_else(|| {
            usage(format!(
                "--min-validity {v:?} is not a duration (e.g. 2m, 90s)"
            ))
        })?,
    };
    if min_validity.is_zero() || min_validity > std::time::Duration::from_secs(15 * 60) {
        return Err(ArgError::Invalid(
            "--min-validity must be more than zero and at most 15m: EKS accepts a token \
             for 15 minutes after it is signed"
                .into(),
        ));
    }
    Ok(Command::CheckToken(CheckToken {
        out: values::file_path("--out", &out)?,
        min_validity,
    }))
}

fn whoami(p: &Parsed) -> Result<Command> {
    let (request, mut env) = request(p, false, DEFAULT_TIMEOUT)?;
    let format = values::parse_output(
        p.last(Key::Output).as_deref(),
        &[("json", Format::Json), ("text", Format::Text)],
    )?;
    if let Some(u) = p.last(Key::EndpointUrl) {
        env.push(("AWS_ENDPOINT_URL_STS", u));
    }
    Ok(Command::WhoAmI(GetToken {
        request,
        print: Print {
            dialect: D,
            format,
            query: query(p)?,
            format_from_config: false,
        },
        env,
        verbose: verbose(p),
    }))
}

fn kubeconfig(p: &Parsed) -> Result<Command> {
    let (request, mut env) = request(p, true, DEFAULT_TIMEOUT)?;
    if let Some(u) = p.last(Key::EndpointUrl) {
        env.push(("AWS_ENDPOINT_URL_EKS", u));
    }
    Ok(Command::Kubeconfig(
        GetToken {
            request,
            print: Print::plain(D, Format::Json),
            env,
            verbose: verbose(p),
        },
        KubeconfigArgs {
            alias: p.last(Key::Alias),
            out: match p.last(Key::Out) {
                Some(o) => Some(values::file_path("--out", &o)?),
                None => None,
            },
            force: p.has(Key::Force),
            command: p.last(Key::Command),
        },
    ))
}

fn doctor(p: &Parsed) -> Result<Command> {
    let (request, env) = request(p, true, DEFAULT_TIMEOUT)?;
    let format = values::parse_output(
        p.last(Key::Output).as_deref(),
        &[("text", Format::Text), ("json", Format::Json)],
    )?;
    if p.given(Key::Context) && !p.given(Key::Kubeconfig) {
        return Err(usage("--context goes with --kubeconfig"));
    }
    if p.last(Key::Kubeconfig).as_deref() == Some("-") {
        return Err(usage(
            "--kubeconfig takes a file (stdin is for --aws-auth -)",
        ));
    }
    Ok(Command::Doctor(
        GetToken {
            request,
            print: Print::plain(D, format),
            env,
            verbose: verbose(p),
        },
        DoctorArgs {
            aws_auth: p.last(Key::AwsAuth).map(PathBuf::from),
            kubeconfig: p.last(Key::Kubeconfig).map(PathBuf::from),
            context: p.last(Key::Context),
        },
    ))
}

fn verify(p: &Parsed) -> Result<Command> {
    let (request, _) = request(p, false, DEFAULT_TIMEOUT)?;
    let token = match p.words.as_slice() {
        [_, token] => Some(Secret::new(token.as_str())),
        _ => None,
    };
    Ok(Command::Verify(VerifyArgs {
        token,
        cluster_id: (!request.cluster_id.is_empty()).then(|| request.cluster_id.clone()),
        online: p.has(Key::Online),
        timeout: request.timeout,
        verbose: verbose(p),
        authenticator: None,
    }))
}
