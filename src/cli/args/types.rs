//! What a command line asks for: the command and its typed options, as the commands
//! (`cli/commands/`) take them.

use std::path::PathBuf;
use std::time::Duration;

use eks_token::{Env, Request, Secret};

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
}

/// Which help to print: a dialect's command (`""`: the dialect's overview).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HelpTopic {
    pub(crate) dialect: Dialect,
    pub(crate) command: &'static str,
}

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    /// Print a token (an ExecCredential, or bare).
    GetToken(GetToken),
    /// Write the token to a file, once or keeping it fresh.
    WriteToken(GetToken, WriteToken),
    /// Write the token of each cluster of a clusters file, on one base.
    WriteFleet(GetToken, WriteFleet),
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
    /// The process environment with what the global options set (borrowed as it is
    /// when they set nothing, as on most runs).
    pub(crate) fn effective_env<'e>(&self, env: &'e Env) -> std::borrow::Cow<'e, Env> {
        if self.env.is_empty() {
            return std::borrow::Cow::Borrowed(env);
        }
        let mut env = env.clone();
        for (k, v) in &self.env {
            env.set(k, v);
        }
        std::borrow::Cow::Owned(env)
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

/// The token files `write-token --check` reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Checked {
    /// `--out`: one.
    File(PathBuf),
    /// `--clusters`: each cluster's `out` in that clusters file.
    Clusters(PathBuf),
}

/// `write-token --check`: the probe of a token file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CheckToken {
    /// The token files.
    pub(crate) files: Checked,
    /// `--min-validity`: how long the token must stay valid.
    pub(crate) min_validity: Duration,
    /// `--max-age`: only that the file was written within this long (a liveness probe:
    /// the writer is alive, whatever STS says); the token is not judged.
    pub(crate) max_age: Option<Duration>,
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

/// `write-token --clusters`: the token files of a clusters file (each cluster's `out`,
/// `kubeconfigOut`; its roles, region... in place of the command line's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WriteFleet {
    /// `--clusters`: the clusters file.
    pub(crate) clusters: PathBuf,
    /// `--mode`.
    pub(crate) mode: u32,
    /// `--refresh`.
    pub(crate) refresh: bool,
    /// `--refresh-interval`.
    pub(crate) refresh_interval: Duration,
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
    /// `--clusters`: a context for each cluster of this clusters file.
    pub(crate) clusters: Option<PathBuf>,
    /// `--token-files`: users that read each cluster's `out` (tokenFile).
    pub(crate) token_files: bool,
    /// `--shared-user`: one exec user for every cluster (provideClusterInfo).
    pub(crate) shared_user: bool,
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
