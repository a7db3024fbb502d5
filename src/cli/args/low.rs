//! What a command line gave, typed (ripgrep's `LowArgs`): each option's value as written
//! (the last one of a value, every one of a repeatable option), each flag, and every
//! option given in order, as it was written (for a mode's table to refuse what it does
//! not take). The lexer applies each option here once, by its [`Key`]; the commands'
//! builders read fields, not a bag of pairs.

use super::options::Key;
use super::types::Dialect;

/// What a command's build reads of its command line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Given<'a> {
    /// The dialect it was asked in.
    pub(crate) dialect: Dialect,
    /// The command's name (`eks get-token`).
    pub(crate) name: &'static str,
    /// The words after the command's own.
    pub(crate) extra: &'a [String],
    /// Its options.
    pub(crate) low: &'a Low,
}

/// The options of one command line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Low {
    pub(crate) cluster_name: Option<String>,
    pub(crate) cluster_id: Option<String>,
    /// Every `--role-arn` (eks-token: a chain; aws-cli's `eks get-token`: the last).
    pub(crate) role_arns: Vec<String>,
    pub(crate) session_name: Option<String>,
    pub(crate) forward_session_name: bool,
    pub(crate) external_id: Option<String>,
    pub(crate) duration_seconds: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) profile: Option<String>,
    pub(crate) cache_dir: Option<String>,
    pub(crate) no_cache: bool,
    pub(crate) output: Option<String>,
    pub(crate) verbose: bool,
    pub(crate) debug: bool,
    pub(crate) timeout: Option<String>,
    pub(crate) token_only: bool,
    pub(crate) help: bool,
    pub(crate) version: bool,
    pub(crate) out: Option<String>,
    pub(crate) mode: Option<String>,
    pub(crate) refresh: bool,
    pub(crate) refresh_interval: Option<String>,
    pub(crate) check: bool,
    pub(crate) min_validity: Option<String>,
    pub(crate) max_age: Option<String>,
    pub(crate) kubeconfig_out: Option<String>,
    pub(crate) server: Option<String>,
    pub(crate) ca_file: Option<String>,
    pub(crate) ca_data: Option<String>,
    pub(crate) alias: Option<String>,
    pub(crate) force: bool,
    pub(crate) command: Option<String>,
    pub(crate) online: bool,
    pub(crate) clusters: Option<String>,
    pub(crate) token_files: bool,
    pub(crate) shared_user: bool,
    pub(crate) endpoint_url: Option<String>,
    pub(crate) query: Option<String>,
    pub(crate) color: Option<String>,
    pub(crate) ca_bundle: Option<String>,
    pub(crate) cli_read_timeout: Option<String>,
    pub(crate) cli_connect_timeout: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) kubeconfig: Option<String>,
    pub(crate) aws_auth: Option<String>,
    pub(crate) context: Option<String>,
    pub(crate) proxy_url: Option<String>,
    pub(crate) dry_run: bool,
    pub(crate) user_alias: Option<String>,
    pub(crate) assume_role_arn: Option<String>,
    pub(crate) log_level: Option<String>,
    pub(crate) token: Option<String>,
    pub(crate) short: bool,
    /// The roles provideClusterInfo's config names, when the command line names none.
    pub(crate) cluster_roles: Vec<String>,
    /// Every option given, in order: its key and how it was written (`--out`, `-o`).
    pub(crate) given: Vec<(Key, String)>,
}

impl Low {
    /// Sets what the option `key` (written `shown`) says: `value` for an option that
    /// takes one; for a flag, `on` (pflag's `--flag=false` turns one off again).
    pub(crate) fn apply(&mut self, key: Key, shown: &str, value: Option<String>, on: bool) {
        self.given.push((key, shown.to_owned()));
        let v = value;
        let slot: &mut Option<String> = match key {
            // Flags.
            Key::ForwardSessionName => return self.forward_session_name = on,
            Key::NoCache => return self.no_cache = on,
            Key::Verbose => return self.verbose = on,
            Key::Debug => return self.debug = on,
            Key::TokenOnly => return self.token_only = on,
            Key::Help => return self.help = on,
            Key::Version => return self.version = on,
            Key::Refresh => return self.refresh = on,
            Key::Check => return self.check = on,
            Key::Force => return self.force = on,
            Key::Online => return self.online = on,
            Key::TokenFiles => return self.token_files = on,
            Key::SharedUser => return self.shared_user = on,
            Key::DryRun => return self.dry_run = on,
            Key::Short => return self.short = on,
            // Accepted where they do nothing here: aws-cli's and the authenticator's.
            Key::NoVerifySsl
            | Key::NoPaginate
            | Key::NoSignRequest
            | Key::NoCliPager
            | Key::CliAutoPrompt
            | Key::NoCliAutoPrompt
            | Key::Cache
            | Key::CliBinaryFormat
            | Key::Config
            | Key::LogFormat
            | Key::FeatureGates
            | Key::Partition
            | Key::EndpointValidationMode
            | Key::EndpointValidationFile => return,
            // Repeatable.
            Key::RoleArn => {
                self.role_arns.extend(v);
                return;
            }
            // Values: the last one given.
            Key::ClusterName => &mut self.cluster_name,
            Key::ClusterId => &mut self.cluster_id,
            Key::SessionName => &mut self.session_name,
            Key::ExternalId => &mut self.external_id,
            Key::DurationSeconds => &mut self.duration_seconds,
            Key::Region => &mut self.region,
            Key::Profile => &mut self.profile,
            Key::CacheDir => &mut self.cache_dir,
            Key::Output => &mut self.output,
            Key::Timeout => &mut self.timeout,
            Key::Out => &mut self.out,
            Key::Mode => &mut self.mode,
            Key::RefreshInterval => &mut self.refresh_interval,
            Key::MinValidity => &mut self.min_validity,
            Key::MaxAge => &mut self.max_age,
            Key::KubeconfigOut => &mut self.kubeconfig_out,
            Key::Server => &mut self.server,
            Key::CaFile => &mut self.ca_file,
            Key::CaData => &mut self.ca_data,
            Key::Alias => &mut self.alias,
            Key::Command => &mut self.command,
            Key::Clusters => &mut self.clusters,
            Key::EndpointUrl => &mut self.endpoint_url,
            Key::Query => &mut self.query,
            Key::Color => &mut self.color,
            Key::CaBundle => &mut self.ca_bundle,
            Key::CliReadTimeout => &mut self.cli_read_timeout,
            Key::CliConnectTimeout => &mut self.cli_connect_timeout,
            Key::Name => &mut self.name,
            Key::Kubeconfig => &mut self.kubeconfig,
            Key::AwsAuth => &mut self.aws_auth,
            Key::Context => &mut self.context,
            Key::ProxyUrl => &mut self.proxy_url,
            Key::UserAlias => &mut self.user_alias,
            Key::AssumeRoleArn => &mut self.assume_role_arn,
            Key::LogLevel => &mut self.log_level,
            Key::Token => &mut self.token,
        };
        if v.is_some() {
            *slot = v;
        }
    }

    /// Whether `key` was given at all.
    pub(crate) fn given(&self, key: Key) -> bool {
        self.given.iter().any(|(k, _)| *k == key)
    }

    /// Each step on stderr: `-v`, `--verbose`, `--debug`.
    pub(crate) fn verbose(&self) -> bool {
        self.verbose || self.debug
    }
}
