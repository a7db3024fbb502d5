//! eks-token's own command line (any program name but the other dialects'): its
//! commands, under GNU-style rules, and the other tools' forms (`eks get-token`, `eks
//! update-kubeconfig`, `sts get-caller-identity` with aws-cli's rules; `token` with
//! aws-iam-authenticator's flags; `aws` for Argo CD).

use std::path::PathBuf;
use std::time::Duration;

use eks_token::{Env, Secret};

use super::aws;
use super::error::{usage, ArgError, Result};
use super::groups as g;
use super::low::{Given, Low};
use super::options::{self as o, Key};
use super::request::{query, request};
use super::rules::{Rules, ARGPARSE};
use super::spec::{Extra, Spec};
use super::types::{
    CaSource, CheckToken, Checked, Command, Dialect, DoctorArgs, Format, GetToken, KubeconfigArgs,
    KubeconfigOut, Print, VerifyArgs, VersionStyle, WriteFleet, WriteToken, DEFAULT_MIN_VALIDITY,
    DEFAULT_MODE, DEFAULT_REFRESH_INTERVAL, DEFAULT_TIMEOUT,
};
use super::values;

const D: Dialect = Dialect::EksToken;

pub(crate) const OVERVIEW: Spec = Spec::new(
    "",
    &[
        "get-token --cluster-name NAME [--role-arn ARN]... [options]",
        "write-token --cluster-name NAME --out PATH [--refresh] [options]",
        "write-token --check --out PATH [--min-validity DURATION]",
        "write-token --clusters FILE [--refresh] [options]",
        "whoami [--role-arn ARN]... [-v] [--output json|text]",
        "kubeconfig --cluster-name NAME [--role-arn ARN]... [--out FILE]",
        "kubeconfig --clusters FILE [--token-files | --shared-user] [--out FILE]",
        "eks update-kubeconfig --name NAME [--role-arn ARN] [--kubeconfig FILE]",
        "verify [TOKEN] [--cluster-name NAME] [--online]",
        "doctor --cluster-name NAME [--role-arn ARN]... [--aws-auth FILE] [--kubeconfig FILE]",
        "eks get-token --cluster-name NAME [--role-arn ARN]  (aws-cli's)",
        "token -i NAME [-r ARN] [-s SESSION] [--token-only]  (aws-iam-authenticator's)",
        "aws --cluster-name NAME [--role-arn ARN]  (argocd-k8s-auth's)",
    ],
    "\
Kubernetes credentials for Amazon EKS, without the AWS CLI. get-token prints an
ExecCredential for kubectl's exec plugin (or the bare token); write-token keeps a
token file fresh for an init container or a sidecar; whoami, kubeconfig,
eks update-kubeconfig and verify help set it up; doctor says why kubectl answers
Unauthorized. `eks-token COMMAND --help` describes each command and its options.

Run as `aws`, `aws-iam-authenticator` or `argocd-k8s-auth` (a symlink or a copy),
it speaks that tool's command line.

Credentials (first found): AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY; the profile
(keys, role chains, web identity, credential_process, SSO); IRSA
(AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN); container credentials (ECS, EKS
Pod Identity); EC2 instance metadata. --role-arn hops are assumed after them.

Exit codes: 0 success, 1 failure, 2 command line not understood.",
    &[&g::HELP],
);

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
    build: Some(get_token),
    cluster_info: true,
    ..Spec::new(
        "get-token",
        &["get-token --cluster-name NAME [--role-arn ARN]... [options]"],
        "\
Prints a token for the cluster: an ExecCredential for kubectl (the kubeconfig's
exec plugin, whose apiVersion it answers in), or the bare token with --output
token. The credentials come from the default chain, then each --role-arn is
assumed in turn.",
        TOKEN_GROUPS,
    )
};

pub(crate) const TOKEN: Spec = Spec {
    build: Some(get_token),
    cluster_info: true,
    ..Spec::new(
        "token",
        &["token -i NAME [-r ARN] [-s SESSION] [-e ID] [--token-only] [options]"],
        "aws-iam-authenticator's form of get-token (the same options).",
        TOKEN_GROUPS,
    )
};

pub(crate) const ARGO: Spec = Spec {
    build: Some(argo_token),
    cluster_info: true,
    ..Spec::new(
        "aws",
        &["aws --cluster-name NAME [--role-arn ARN] [--profile NAME] [options]"],
        "\
argocd-k8s-auth's form of get-token: one line of ExecCredential JSON (v1beta1),
and failures tried again every 5 s within 60 s, as Argo CD's tool does.",
        TOKEN_GROUPS,
    )
};

pub(crate) const WRITE_TOKEN: Spec = Spec {
    build: Some(write_token),
    mode: Some((Key::Check, &CHECK)),
    ..Spec::new(
        "write-token",
        &[
            "write-token --cluster-name NAME --out PATH [--refresh] [options]",
            "write-token --clusters FILE [--refresh] [options]",
        ],
        "\
Writes the token to a file, atomically (a reader never sees a partial file):
once, for an init container (exit 1 and no file on failure), or with --refresh
for ever, for a sidecar, rewriting it before it expires; SIGTERM ends it. Each
event is one JSON line on stderr. For apps that read a token file (a
kubeconfig's tokenFile) instead of running an exec plugin. --check probes the
file instead: see write-token --check --help.
With --clusters, every cluster of a clusters file (docs/commands.md), on base
credentials obtained once for all.",
        &[
            &g::CLUSTER,
            &g::CHAIN,
            &g::WHERE,
            &g::WRITE,
            &g::RUN,
            &g::AWS_GLOBALS,
            &g::HELP,
        ],
    )
};

const NO_CLUSTER_IN_A_TOKEN: &str = "--check cannot check the cluster name: a token does \
     not hold it (only its header name is signed); drop --cluster-name";

/// `write-token --check`: the probe, which reads the file alone.
pub(crate) const CHECK: Spec = Spec {
    build: Some(check_token),
    instead: &[
        ("cluster-name", NO_CLUSTER_IN_A_TOKEN),
        ("cluster-id", NO_CLUSTER_IN_A_TOKEN),
    ],
    ..Spec::new(
        "write-token --check",
        &[
            "write-token --check --out PATH [--min-validity DURATION]",
            "write-token --check --out PATH --max-age DURATION",
            "write-token --check --clusters FILE [--min-validity DURATION]",
        ],
        "\
The probe of a scratch image (no shell): exit 0 only when the file holds an EKS
token valid --min-validity more (readiness, startup); with --max-age, only when
the writer wrote the file that recently (liveness: the sidecar is alive and
making progress, whatever STS says). The cluster a token is for is not in the
token, so no probe can check it. One JSON line on stderr either way; with
--clusters, one a file, and exit 0 only when every file passes.",
        &[&g::CHECK, &g::HELP],
    )
};

pub(crate) const WHOAMI: Spec = Spec {
    build: Some(whoami),
    ..Spec::new(
        "whoami",
        &["whoami [--role-arn ARN]... [-v] [--output json|text] [options]"],
        "\
Who the credentials are after the chain (STS GetCallerIdentity), as
`aws sts get-caller-identity` prints it; with -v, also who they were after the
source and after each hop: where cross-account setups go wrong.",
        &[
            &g::CHAIN,
            &g::WHERE,
            &g::WHOAMI_OUTPUT,
            &g::RUN,
            &g::AWS_GLOBALS,
            &g::HELP,
        ],
    )
};

pub(crate) const KUBECONFIG: Spec = Spec {
    build: Some(kubeconfig),
    ..Spec::new(
        "kubeconfig",
        &[
            "kubeconfig --cluster-name NAME [--role-arn ARN]... [--out FILE [--force]]",
            "kubeconfig --clusters FILE [--token-files | --shared-user] [--out FILE]",
        ],
        "\
EKS DescribeCluster with the chain's credentials, then a kubeconfig (JSON) for
the cluster whose user runs this program with the same --role-arn, --region and
--profile arguments. With --clusters, a context for each cluster of a clusters
file (docs/commands.md).",
        &[
            &g::CLUSTER,
            &g::CHAIN,
            &g::WHERE,
            &g::KUBECONFIG,
            &g::RUN,
            &g::AWS_GLOBALS,
            &g::HELP,
        ],
    )
};

pub(crate) const VERIFY: Spec = Spec {
    build: Some(verify),
    extra: Extra::One,
    ..Spec::new(
        "verify",
        &["verify [TOKEN] [--cluster-name NAME] [--online] [options]"],
        "\
Applies the rules EKS applies to a token (size, prefix, encoding, host, query,
signed headers, expiry) and names each one it breaks; exit 1 when EKS would
reject it. The token comes from the argument, or from stdin (it then stays out
of ps and shell history). The cluster name is not in a token (only its header
name is signed): only --online, which replays the token to STS as EKS does,
checks it.",
        &[&g::CLUSTER, &g::VERIFY, &g::HELP],
    )
};

pub(crate) const DOCTOR: Spec = Spec {
    build: Some(doctor),
    instead: &[
        ("no-cache", DOCTOR_HAS_NO_CACHE),
        ("cache-dir", DOCTOR_HAS_NO_CACHE),
    ],
    ..Spec::new(
        "doctor",
        &["doctor --cluster-name NAME [--role-arn ARN]... [--aws-auth FILE] [--kubeconfig FILE]"],
        "\
Walks the path from the credentials to the Kubernetes user and says where it
breaks: the credential source (and why others were skipped), each role assumed
(on AccessDenied, the two policy statements that must exist), the token, the
identity EKS derives from it, the cluster's authentication mode and access
entry (EKS's API, in --region); with --aws-auth, the username and groups the
aws-auth ConfigMap gives it; with --kubeconfig, its exec entry and what the
cluster itself answers (a SelfSubjectReview, as kubectl auth whoami). Exit 0
only when no step fails and one shows the identity mapped.",
        &[
            &g::CLUSTER,
            &g::CHAIN,
            &g::WHERE,
            &g::DOCTOR,
            &g::RUN_UNCACHED,
            &g::HELP,
        ],
    )
};

const DOCTOR_HAS_NO_CACHE: &str = "doctor uses no credential cache (it asks STS as the \
     trust policies are now): drop --no-cache and --cache-dir";

pub(crate) const VERSION: Spec = Spec {
    build: Some(|_: &Given<'_>, _| Ok(Command::Version(VersionStyle::EksToken))),
    ..Spec::new("version", &["version"], "The version.", &[&g::HELP])
};

/// aws-cli's commands, read by aws-cli's rules under eks-token's name too.
const fn aws_form(spec: &'static Spec) -> Spec {
    Spec {
        rules: Some(ARGPARSE),
        ..*spec
    }
}

pub(crate) const AWS_GET_TOKEN: Spec = aws_form(&aws::GET_TOKEN);
pub(crate) const AWS_UPDATE_KUBECONFIG: Spec = aws_form(&aws::UPDATE_KUBECONFIG);
pub(crate) const AWS_WHOAMI: Spec = aws_form(&aws::WHOAMI);

/// Every command of the dialect, its overview first.
pub(crate) const SPECS: &[&Spec] = &[
    &OVERVIEW,
    &GET_TOKEN,
    &WRITE_TOKEN,
    &CHECK,
    &WHOAMI,
    &KUBECONFIG,
    &VERIFY,
    &DOCTOR,
    &VERSION,
    &AWS_GET_TOKEN,
    &AWS_UPDATE_KUBECONFIG,
    &AWS_WHOAMI,
    &TOKEN,
    &ARGO,
];

/// The rules of eks-token's own commands.
pub(crate) const RULES: Rules = super::rules::GNU;

/// How to print the answer of a token command.
fn token_print(low: &Low, dialect: Dialect) -> Result<Print> {
    if low.token_only && low.given(Key::Output) {
        return Err(usage(
            "--token-only and --output contradict each other: give one",
        ));
    }
    let format = if low.token_only {
        Format::Token
    } else {
        values::parse_output(
            low.output.as_deref(),
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
        query: query(low)?,
        format_from_config: false,
    })
}

fn get_token(l: &Given<'_>, _: &Env) -> Result<Command> {
    token_command(l.low, D, DEFAULT_TIMEOUT)
}

/// Argo CD's form: its own retries span a minute.
fn argo_token(l: &Given<'_>, _: &Env) -> Result<Command> {
    token_command(l.low, Dialect::ArgoCd, Duration::from_secs(60))
}

fn token_command(low: &Low, dialect: Dialect, timeout: Duration) -> Result<Command> {
    let (mut request, env) = request(low, true, timeout)?;
    if !low.cluster_roles.is_empty() {
        request.role_arns = low.cluster_roles.clone();
    }
    Ok(Command::GetToken(GetToken {
        request,
        print: token_print(low, dialect)?,
        env,
        verbose: low.verbose(),
    }))
}

/// `write-token`'s `--mode` and `--refresh-interval`.
fn mode_and_interval(low: &Low) -> Result<(u32, Duration)> {
    let mode = match &low.mode {
        None => DEFAULT_MODE,
        Some(v) => values::parse_mode(v)?,
    };
    let refresh_interval = match &low.refresh_interval {
        None => DEFAULT_REFRESH_INTERVAL,
        Some(_) if !low.refresh => {
            return Err(usage(
                "--refresh-interval goes with --refresh (without it, write-token writes once)",
            ))
        }
        Some(v) => values::parse_interval(v)?,
    };
    Ok((mode, refresh_interval))
}

fn write_format(low: &Low) -> Result<Format> {
    values::parse_output(
        low.output.as_deref(),
        &[("token", Format::Token), ("json", Format::Json)],
    )
}

fn write_token(l: &Given<'_>, _: &Env) -> Result<Command> {
    let low = l.low;
    if let Some(file) = &low.clusters {
        return write_fleet(low, file);
    }
    let (request, env) = request(low, true, DEFAULT_TIMEOUT)?;
    let format = write_format(low)?;
    let out = low
        .out
        .as_deref()
        .ok_or_else(|| usage("write-token needs --out PATH (or --clusters FILE)"))?;
    let out = values::file_path("--out", out)?;
    let (mode, refresh_interval) = mode_and_interval(low)?;
    let kubeconfig = match &low.kubeconfig_out {
        None => {
            if low.server.is_some() || low.ca_file.is_some() || low.ca_data.is_some() {
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
            let server = low
                .server
                .clone()
                .ok_or_else(|| usage("--kubeconfig-out needs --server URL"))?;
            let ca = match (&low.ca_file, &low.ca_data) {
                (Some(f), None) => CaSource::File(PathBuf::from(f)),
                (None, Some(d)) => CaSource::Data(d.clone()),
                (None, None) => {
                    return Err(usage(
                        "--kubeconfig-out needs --ca-file PEM or --ca-data BASE64",
                    ))
                }
                (Some(_), Some(_)) => {
                    return Err(usage("give either --ca-file or --ca-data, not both"))
                }
            };
            let path = values::file_path("--kubeconfig-out", path)?;
            Some(KubeconfigOut { path, server, ca })
        }
    };
    Ok(Command::WriteToken(
        GetToken {
            request,
            print: Print::plain(D, format),
            env,
            verbose: low.verbose(),
        },
        WriteToken {
            out,
            mode,
            refresh: low.refresh,
            refresh_interval,
            kubeconfig,
        },
    ))
}

/// `write-token --clusters FILE`: what the file says of each cluster is not given on the
/// command line, which gives the rest (roles, region, ... for the entries without).
fn write_fleet(low: &Low, file: &str) -> Result<Command> {
    let own = [
        &low.out,
        &low.cluster_name,
        &low.cluster_id,
        &low.kubeconfig_out,
        &low.server,
        &low.ca_file,
        &low.ca_data,
    ];
    if own.iter().any(|o| o.is_some()) {
        return Err(usage(
            "--out, --cluster-name, --kubeconfig-out, --server and the CA are each cluster's \
             own with --clusters: write them in the clusters file (out, name, kubeconfigOut, \
             server, caData)",
        ));
    }
    let (request, env) = request(low, false, DEFAULT_TIMEOUT)?;
    let (mode, refresh_interval) = mode_and_interval(low)?;
    Ok(Command::WriteFleet(
        GetToken {
            request,
            print: Print::plain(D, write_format(low)?),
            env,
            verbose: low.verbose(),
        },
        WriteFleet {
            clusters: values::file_path("--clusters", file)?,
            mode,
            refresh: low.refresh,
            refresh_interval,
        },
    ))
}

/// `write-token --check --out FILE [--min-validity D | --max-age D]` (or `--clusters
/// FILE`: each cluster's file): only the files are read (its table refuses the options
/// that say how to make a token).
fn check_token(l: &Given<'_>, _: &Env) -> Result<Command> {
    let low = l.low;
    let files = match (&low.out, &low.clusters) {
        (Some(out), None) => Checked::File(values::file_path("--out", out)?),
        (None, Some(file)) => Checked::Clusters(values::file_path("--clusters", file)?),
        (Some(_), Some(_)) => {
            return Err(usage(
                "--out and --clusters both name what to check: give one",
            ))
        }
        (None, None) => return Err(usage(
            "write-token --check needs --out FILE (the token file to check), or --clusters FILE",
        )),
    };
    let duration = |v: &str, name: &str| {
        values::parse_duration(v)
            .ok_or_else(|| usage(format!("{name} {v:?} is not a duration (e.g. 2m, 90s)")))
    };
    let min_validity = match &low.min_validity {
        None => DEFAULT_MIN_VALIDITY,
        Some(v) => duration(v, "--min-validity")?,
    };
    if min_validity.is_zero() || min_validity > Duration::from_secs(15 * 60) {
        return Err(ArgError::Invalid(
            "--min-validity must be more than zero and at most 15m: EKS accepts a token \
             for 15 minutes after it is signed"
                .into(),
        ));
    }
    let max_age = match &low.max_age {
        None => None,
        Some(_) if low.min_validity.is_some() => {
            return Err(usage(
                "--max-age and --min-validity are two probes: give one (liveness: --max-age; \
                 readiness: --min-validity)",
            ))
        }
        Some(v) => {
            let d = duration(v, "--max-age")?;
            if d.is_zero() || d > values::MAX_DURATION {
                return Err(ArgError::Invalid(
                    "--max-age must be more than zero and at most 24h".into(),
                ));
            }
            Some(d)
        }
    };
    Ok(Command::CheckToken(CheckToken {
        files,
        min_validity,
        max_age,
    }))
}

fn whoami(l: &Given<'_>, _: &Env) -> Result<Command> {
    let low = l.low;
    let (request, mut env) = request(low, false, DEFAULT_TIMEOUT)?;
    let format = values::parse_output(
        low.output.as_deref(),
        &[("json", Format::Json), ("text", Format::Text)],
    )?;
    if let Some(u) = &low.endpoint_url {
        env.push(("AWS_ENDPOINT_URL_STS", u.clone()));
    }
    Ok(Command::WhoAmI(GetToken {
        request,
        print: Print {
            dialect: D,
            format,
            query: query(low)?,
            format_from_config: false,
        },
        env,
        verbose: low.verbose(),
    }))
}

fn kubeconfig(l: &Given<'_>, _: &Env) -> Result<Command> {
    let low = l.low;
    let fleet = low.clusters.is_some();
    if (low.token_files || low.shared_user) && (!fleet || low.token_files == low.shared_user) {
        return Err(usage(
            "--token-files or --shared-user (one) goes with --clusters",
        ));
    }
    if fleet && (low.cluster_name.is_some() || low.cluster_id.is_some() || low.alias.is_some()) {
        return Err(usage(
            "with --clusters, the clusters file names each cluster and context: drop \
             --cluster-name and --alias",
        ));
    }
    let (request, mut env) = request(low, !fleet, DEFAULT_TIMEOUT)?;
    if let Some(u) = &low.endpoint_url {
        env.push(("AWS_ENDPOINT_URL_EKS", u.clone()));
    }
    Ok(Command::Kubeconfig(
        GetToken {
            request,
            print: Print::plain(D, Format::Json),
            env,
            verbose: low.verbose(),
        },
        KubeconfigArgs {
            alias: low.alias.clone(),
            out: match &low.out {
                Some(o) => Some(values::file_path("--out", o)?),
                None => None,
            },
            force: low.force,
            command: low.command.clone(),
            clusters: match &low.clusters {
                Some(c) => Some(values::file_path("--clusters", c)?),
                None => None,
            },
            token_files: low.token_files,
            shared_user: low.shared_user,
        },
    ))
}

fn doctor(l: &Given<'_>, _: &Env) -> Result<Command> {
    let low = l.low;
    let (request, env) = request(low, true, DEFAULT_TIMEOUT)?;
    let format = values::parse_output(
        low.output.as_deref(),
        &[("text", Format::Text), ("json", Format::Json)],
    )?;
    if low.context.is_some() && low.kubeconfig.is_none() {
        return Err(usage("--context goes with --kubeconfig"));
    }
    if low.kubeconfig.as_deref() == Some("-") {
        return Err(usage(
            "--kubeconfig takes a file (stdin is for --aws-auth -)",
        ));
    }
    Ok(Command::Doctor(
        GetToken {
            request,
            print: Print::plain(D, format),
            env,
            verbose: low.verbose(),
        },
        DoctorArgs {
            aws_auth: low.aws_auth.as_ref().map(PathBuf::from),
            kubeconfig: low.kubeconfig.as_ref().map(PathBuf::from),
            context: low.context.clone(),
        },
    ))
}

fn verify(l: &Given<'_>, _: &Env) -> Result<Command> {
    let low = l.low;
    let (request, _) = request(low, false, DEFAULT_TIMEOUT)?;
    Ok(Command::Verify(VerifyArgs {
        token: l.extra.first().map(|t| Secret::new(t.as_str())),
        cluster_id: (!request.cluster_id.is_empty()).then(|| request.cluster_id.clone()),
        online: low.online,
        timeout: request.timeout,
        verbose: low.verbose(),
        authenticator: None,
    }))
}
