//! The options of eks-token's commands and of aws-cli's, in groups that commands share;
//! one line an option (this file is left as written by rustfmt: a table).

use super::options::{exact, flag, group, value, Group, Key};

// eks-token's own commands.

pub(crate) const HELP: Group = group(&[
    flag("help", Some('h'), Key::Help, "this text"),
    flag("version", None, Key::Version, "the version"),
]);

pub(crate) const CLUSTER: Group = group(&[
    value("cluster-name", None, "NAME", Key::ClusterName, "the cluster, signed into the token as x-k8s-aws-id"),
    value("cluster-id", Some('i'), "ID", Key::ClusterId, "the same (an Outposts cluster's id)"),
]);

pub(crate) const CHAIN: Group = group(&[
    value("role-arn", Some('r'), "ARN", Key::RoleArn, "assume this role with the credentials so far; repeat: a chain"),
    value("session-name", Some('s'), "NAME", Key::SessionName, "RoleSessionName of every --role-arn hop [EKSGetTokenAuth]"),
    flag("forward-session-name", None, Key::ForwardSessionName, "use the source identity's session name for the hops"),
    value("external-id", Some('e'), "ID", Key::ExternalId, "ExternalId of the last hop"),
    value("duration-seconds", None, "N", Key::DurationSeconds, "session length of the hops, 900-43200 [3600]; 3600 after a role"),
]);

pub(crate) const WHERE: Group = group(&[
    value("region", None, "REGION", Key::Region, "STS region [AWS_REGION, AWS_DEFAULT_REGION, the profile's]"),
    value("profile", None, "NAME", Key::Profile, "profile of ~/.aws/config and ~/.aws/credentials [AWS_PROFILE]"),
]);

pub(crate) const RUN: Group = group(&[
    value("timeout", None, "DURATION", Key::Timeout, "deadline of the whole run: 30, 30s, 1m30s, up to 24h [30s]"),
    value("cache-dir", None, "DIR", Key::CacheDir, "credential cache [EKS_TOKEN_CACHE_DIR, ~/.cache/eks-token]"),
    flag("no-cache", None, Key::NoCache, "neither read nor write the credential cache"),
    flag("verbose", Some('v'), Key::Verbose, "each step and its duration on stderr (never a secret)"),
    flag("debug", None, Key::Debug, "the same as --verbose"),
]);

/// A run that uses no credential cache (doctor: the trust policies as they are now).
pub(crate) const RUN_UNCACHED: Group = group(&[
    value("timeout", None, "DURATION", Key::Timeout, "deadline of the whole run: 30, 30s, 1m30s, up to 24h [30s]"),
    flag("verbose", Some('v'), Key::Verbose, "each step and its duration on stderr (never a secret)"),
    flag("debug", None, Key::Debug, "the same as --verbose"),
]);

/// aws-cli's global options, accepted wherever eks-token answers for aws-cli.
pub(crate) const AWS_GLOBALS: Group = Group {
    title: "aws-cli's global options (see docs/commands.md for what each does here)",
    opts: &[
        value("endpoint-url", None, "URL", Key::EndpointUrl, "the command's service endpoint (EKS, STS)"),
        value("ca-bundle", None, "FILE", Key::CaBundle, "CA certificates for TLS (as AWS_CA_BUNDLE)"),
        value("cli-read-timeout", None, "SECONDS", Key::CliReadTimeout, "the run's deadline when --timeout is not given (0: ours)"),
        value("cli-connect-timeout", None, "SECONDS", Key::CliConnectTimeout, "each connection's deadline (0: the run's)"),
        flag("no-verify-ssl", None, Key::NoVerifySsl, "accepted; TLS is always verified"),
        flag("no-paginate", None, Key::NoPaginate, "accepted; no effect"),
        value("color", None, "on|off|auto", Key::Color, "accepted; no effect"),
        flag("no-sign-request", None, Key::NoSignRequest, "accepted; no effect"),
        flag("no-cli-pager", None, Key::NoCliPager, "accepted; no effect"),
        value("cli-binary-format", None, "FORMAT", Key::CliBinaryFormat, "accepted; no effect"),
        flag("cli-auto-prompt", None, Key::CliAutoPrompt, "accepted; no effect"),
        flag("no-cli-auto-prompt", None, Key::NoCliAutoPrompt, "accepted; no effect"),
    ],
    compact: true,
};

pub(crate) const GET_OUTPUT: Group = group(&[
    value("output", Some('o'), "json|token|text", Key::Output, "an ExecCredential [json], the bare token, or aws-cli's text"),
    value("query", None, "PATH", Key::Query, "a field of the answer, as aws-cli's --query: status.token"),
    flag("token-only", None, Key::TokenOnly, "the same as --output token"),
]);

pub(crate) const WRITE: Group = group(&[
    value("out", None, "PATH", Key::Out, "the token file (written atomically; new directories 0700)"),
    value("output", Some('o'), "token|json", Key::Output, "the bare token, no newline [token], or an ExecCredential (v1)"),
    value("mode", None, "OCTAL", Key::Mode, "the file's mode [0600]; 0640 for a group; none for others"),
    flag("refresh", None, Key::Refresh, "keep it fresh, rewriting it before the token expires (sidecar)"),
    value("refresh-interval", None, "DURATION", Key::RefreshInterval, "how often to rewrite it: 100ms to 24h [5m]"),
    flag("check", None, Key::Check, "a probe of the file instead (see write-token --check --help)"),
    value("kubeconfig-out", None, "PATH", Key::KubeconfigOut, "also write a kubeconfig whose user reads tokenFile: <--out>"),
    value("server", None, "URL", Key::Server, "its API server URL (with --kubeconfig-out)"),
    value("ca-file", None, "PEM", Key::CaFile, "its cluster CA, a PEM file (with --kubeconfig-out)"),
    value("ca-data", None, "BASE64", Key::CaData, "its cluster CA, as a kubeconfig's certificate-authority-data"),
    value("clusters", None, "FILE", Key::Clusters, "instead: each cluster of this file (YAML, JSON), one base"),
]);

pub(crate) const CHECK: Group = group(&[
    flag("check", None, Key::Check, "check the file, write nothing"),
    value("out", None, "PATH", Key::Out, "the token file to check"),
    value("min-validity", None, "DURATION", Key::MinValidity, "the token must stay valid this much longer [2m]"),
    value("max-age", None, "DURATION", Key::MaxAge, "instead: only that the file was written this recently (a liveness probe; the token is not judged)"),
    value("clusters", None, "FILE", Key::Clusters, "instead of --out: every out file of this clusters file"),
]);

pub(crate) const WHOAMI_OUTPUT: Group = group(&[
    value("output", Some('o'), "json|text", Key::Output, "aws sts get-caller-identity's JSON [json], or the ARN alone"),
    value("query", None, "PATH", Key::Query, "a field of the answer, as aws-cli's --query: Arn"),
]);

pub(crate) const KUBECONFIG: Group = group(&[
    value("alias", None, "NAME", Key::Alias, "the context's name [the cluster ARN]"),
    value("out", None, "FILE", Key::Out, "write there (atomically, 0600) instead of stdout"),
    flag("force", None, Key::Force, "overwrite an existing --out file"),
    value("command", None, "PATH", Key::Command, "the exec command [this program's absolute path]"),
    value("clusters", None, "FILE", Key::Clusters, "instead: a context for each cluster of this file"),
    flag("token-files", None, Key::TokenFiles, "with --clusters: users that read each out file (tokenFile)"),
    flag("shared-user", None, Key::SharedUser, "with --clusters: one exec user for all (provideClusterInfo)"),
]);

pub(crate) const DOCTOR: Group = group(&[
    value("aws-auth", None, "FILE|-", Key::AwsAuth, "the aws-auth ConfigMap (kubectl get cm aws-auth -n kube-system -o yaml)"),
    value("kubeconfig", None, "FILE", Key::Kubeconfig, "ask that kubeconfig's cluster who the token is (SelfSubjectReview)"),
    value("context", None, "NAME", Key::Context, "the kubeconfig's context [its current-context]"),
    value("output", Some('o'), "text|json", Key::Output, "a line per step [text], or one JSON object"),
]);

pub(crate) const VERIFY: Group = group(&[
    flag("online", None, Key::Online, "replay it to STS as EKS does (needs --cluster-name); print whom"),
    value("timeout", None, "DURATION", Key::Timeout, "deadline of reading stdin and of --online [30s]"),
    flag("verbose", Some('v'), Key::Verbose, "each step on stderr"),
    flag("debug", None, Key::Debug, "the same as --verbose"),
]);

// aws-cli's commands (argparse: unique prefixes of aws-cli's own options).

pub(crate) const AWS_RUN: Group = group(&[
    value("region", None, "REGION", Key::Region, "the region (also the token's STS region)"),
    value("profile", None, "NAME", Key::Profile, "the profile [AWS_PROFILE]"),
    value("output", None, "json|text", Key::Output, "the answer's format [AWS_DEFAULT_OUTPUT, the profile's, json]"),
    value("query", None, "PATH", Key::Query, "a field of the answer (status.token, Arn)"),
    flag("debug", None, Key::Debug, "each step on stderr (never a secret)"),
    exact(value("timeout", None, "DURATION", Key::Timeout, "eks-token's: deadline of the run [30s]")),
    exact(value("cache-dir", None, "DIR", Key::CacheDir, "eks-token's: the credential cache")),
    exact(flag("no-cache", None, Key::NoCache, "eks-token's: no credential cache")),
    flag("help", Some('h'), Key::Help, "this text (also: help)"),
    flag("version", None, Key::Version, "the version"),
]);

pub(crate) const AWS_GET_TOKEN: Group = group(&[
    value("cluster-name", None, "NAME", Key::ClusterName, "the cluster"),
    value("cluster-id", None, "ID", Key::ClusterId, "an Outposts cluster's id (not with --cluster-name)"),
    value("role-arn", None, "ARN", Key::RoleArn, "a role to assume for the token (--role works too)"),
]);

pub(crate) const AWS_UPDATE_KUBECONFIG: Group = group(&[
    value("name", None, "NAME", Key::Name, "the cluster (required)"),
    value("kubeconfig", None, "FILE", Key::Kubeconfig, "the file [the first of KUBECONFIG, ~/.kube/config]"),
    value("role-arn", None, "ARN", Key::RoleArn, "the role the user's exec assumes for its tokens"),
    value("assume-role-arn", None, "ARN", Key::AssumeRoleArn, "the role that describes the cluster"),
    value("alias", None, "NAME", Key::Alias, "the context's name [the user's name]"),
    value("user-alias", None, "NAME", Key::UserAlias, "the user's name [the cluster ARN]"),
    value("proxy-url", None, "URL", Key::ProxyUrl, "the cluster entry's proxy-url"),
    flag("dry-run", None, Key::DryRun, "print the merged kubeconfig; change nothing"),
    flag("verbose", None, Key::Verbose, "also print the entries written"),
]);

/// eks-token's own options where it answers `sts get-caller-identity`.
pub(crate) const AWS_WHOAMI: Group = group(&[
    exact(value("role-arn", None, "ARN", Key::RoleArn, "eks-token's: assume this role first; repeat for a chain")),
]);
