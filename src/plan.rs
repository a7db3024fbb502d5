//! From configuration to a plan: which source gives the first credentials (the base),
//! then which roles to assume in turn (the hops). A profile's `role_arn` chain and the
//! `--role-arn` hops of the request are hops of one type, run by one function
//! ([`crate::executor`]). Only local facts are read here (environment, config files):
//! the plan is made before any request, so a contradiction is reported before any
//! network call. Profile chains follow the SDKs' shared `assume-role-tests.json`;
//! cycles and contradictions are errors that name the profiles.

use crate::config_files::{Named, ProfileSet, Properties};
use crate::credentials::Credentials;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::log::{vlog, Log};
use crate::request::Request;
use crate::secret::Secret;
use crate::sources::container::{self, Container, UriError};
use crate::sources::environment::{self, Environment, StaticKeys};
use crate::sources::imds::{self, Instance};
use crate::sources::process::Process;
use crate::sources::sso::SsoProfile;
use crate::sources::web_identity::{self, WebIdentity};
use crate::sources::Source;
use crate::validate;

use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Instant;

/// Session name of the request's `--role-arn` hops when none is given: aws-cli's.
pub(crate) const DEFAULT_SESSION_NAME: &str = "EKSGetTokenAuth";
/// DurationSeconds of the request's hops when none is given.
pub(crate) const DEFAULT_DURATION_SECONDS: u32 = 3600;

/// Where the credentials start: one of [`crate::sources`].
pub(crate) type Base = Rc<dyn Source>;

/// The RoleSessionName of a hop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SessionName {
    Named(String),
    /// The session name of the identity below (`--forward-session-name`).
    Forwarded,
}

/// One role to assume with the credentials below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hop {
    pub(crate) role_arn: String,
    pub(crate) session_name: SessionName,
    pub(crate) external_id: Option<String>,
    /// DurationSeconds (None: STS's default, one hour).
    pub(crate) duration_seconds: Option<u32>,
    pub(crate) mfa_serial: Option<String>,
    /// Where it was configured, for messages: `profile dev`, or `hop 2` for the
    /// second `--role-arn`.
    pub(crate) origin: String,
}

/// How the base was chosen: by the default chain (with the sources skipped before it,
/// for the error when the last one, IMDS, has nothing), or by a profile (its own keys,
/// process, SSO or web identity, or its `credential_source`, which must then work).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Chosen {
    DefaultChain(Vec<String>),
    Profile(String),
}

/// A base, then hops, first to assume first.
#[derive(Clone)]
pub(crate) struct Plan {
    pub(crate) base: Base,
    pub(crate) chosen: Chosen,
    pub(crate) hops: Vec<Hop>,
}

/// The plan for `req`: the default chain's first configured source (environment,
/// profile, web identity, container, IMDS), then the request's `--role-arn` hops.
/// Planning must end by `deadline` (a profile chain may be very long).
pub(crate) fn make(
    log: &Log,
    req: &Request,
    env: &Env,
    profiles: &ProfileSet,
    profile: &str,
    named: Named,
    deadline: Instant,
) -> Result<Plan> {
    let mut plan = default_chain(log, env, profiles, profile, named, deadline)?;
    let n = req.role_arns.len();
    let session_name = match (&req.session_name, req.forward_session_name) {
        (Some(name), _) => SessionName::Named(name.clone()),
        (None, true) => SessionName::Forwarded,
        (None, false) => SessionName::Named(DEFAULT_SESSION_NAME.into()),
    };
    for (i, arn) in req.role_arns.iter().enumerate() {
        plan.hops.push(Hop {
            role_arn: arn.clone(),
            session_name: session_name.clone(),
            external_id: req.external_id.clone().filter(|_| i + 1 == n),
            duration_seconds: Some(req.duration_seconds.unwrap_or(DEFAULT_DURATION_SECONDS)),
            mfa_serial: None,
            origin: format!("hop {}", i + 1),
        });
    }
    Ok(plan)
}

/// Notes a source the default chain skipped, and why (for `-v`, and for the error that
/// lists where we looked).
fn skip(log: &Log, skipped: &mut Vec<String>, source: &str, why: &str) {
    vlog!(log, "credentials: skipped {source}: {why}");
    skipped.push(format!("{source} ({why})"));
}

fn default_chain(
    log: &Log,
    env: &Env,
    profiles: &ProfileSet,
    name: &str,
    named: Named,
    deadline: Instant,
) -> Result<Plan> {
    let mut skipped = Vec::new();
    let chosen = |skipped: &Vec<String>| Chosen::DefaultChain(skipped.clone());
    let simple = |base: Base, skipped: &Vec<String>| Plan {
        base,
        chosen: chosen(skipped),
        hops: Vec::new(),
    };
    // A profile someone named must exist, whatever else is configured (aws-cli: "The
    // config profile (x) could not be found").
    if named != Named::Default && !profiles.profiles.contains_key(name) {
        let by = if named == Named::Flag {
            "--profile"
        } else {
            "AWS_PROFILE"
        };
        return Err(Error::config(
            Some(name),
            format!(
                "the profile `{name}` ({by}) is not in the config files; check the name or \
                 AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE"
            ),
        ));
    }
    // `--profile` switches the environment's keys off, as in aws-cli; AWS_PROFILE does
    // not (the keys still win, as they do there).
    match environment::not_configured(env) {
        _ if named == Named::Flag => skip(
            log,
            &mut skipped,
            "environment",
            "--profile names a profile",
        ),
        None => return Ok(simple(Rc::new(Environment { by_profile: None }), &skipped)),
        Some(why) => skip(log, &mut skipped, "environment", why),
    }
    if profiles.profiles.contains_key(name) {
        match profile_chain(profiles, name, Some(deadline)) {
            Ok(p) => return Ok(p),
            Err(ChainError::NoCredentials(p)) => skip(
                log,
                &mut skipped,
                "profile",
                &format!("profile `{p}` did not contain credential information"),
            ),
            Err(ChainError::Invalid(m)) => return Err(Error::config(Some(name), m)),
        }
    } else {
        skip(
            log,
            &mut skipped,
            "profile",
            &format!("no `{name}` profile in the config files"),
        );
    }
    match (
        env.get("AWS_WEB_IDENTITY_TOKEN_FILE"),
        env.get("AWS_ROLE_ARN"),
    ) {
        (Some(file), Some(role_arn)) => {
            validate::role_arn(role_arn, "AWS_ROLE_ARN")?;
            let session_name = env
                .get("AWS_ROLE_SESSION_NAME")
                .unwrap_or(web_identity::DEFAULT_SESSION_NAME);
            validate::session_name(session_name, "AWS_ROLE_SESSION_NAME")?;
            let w = WebIdentity {
                role_arn: role_arn.to_owned(),
                token_file: file.to_owned(),
                session_name: session_name.to_owned(),
                origin: "AWS_WEB_IDENTITY_TOKEN_FILE".into(),
            };
            return Ok(simple(Rc::new(w), &skipped));
        }
        (Some(f), None) => {
            return Err(Error::config(
                None,
                format!(
                    "web identity credentials: AWS_WEB_IDENTITY_TOKEN_FILE is set ({f}) but \
                     AWS_ROLE_ARN is not; set the role to assume"
                ),
            ))
        }
        (None, _) => skip(
            log,
            &mut skipped,
            "web identity",
            "AWS_WEB_IDENTITY_TOKEN_FILE not set",
        ),
    }
    match container::uri(env) {
        Ok(_) => return Ok(simple(Rc::new(Container { by_profile: None }), &skipped)),
        Err(UriError::NotConfigured) => skip(
            log,
            &mut skipped,
            "container",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI not set",
        ),
        Err(e) => return Err(Error::config(None, format!("container credentials: {e}"))),
    }
    if imds::disabled(env) {
        skip(
            log,
            &mut skipped,
            "IMDS",
            "AWS_EC2_METADATA_DISABLED is set",
        );
        return Err(Error::NoCredentials(skipped));
    }
    let imds = Instance {
        by_profile: None,
        skipped: skipped.clone(),
    };
    Ok(simple(Rc::new(imds), &skipped))
}

/// Why a profile chain could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChainError {
    /// The selected profile holds no credential information (only settings such as
    /// `region`): the default chain moves on to the next source.
    NoCredentials(String),
    /// The profiles are inconsistent; the message names them.
    Invalid(String),
}

impl std::fmt::Display for ChainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainError::NoCredentials(p) => {
                write!(f, "profile `{p}` did not contain credential information")
            }
            ChainError::Invalid(m) => f.write_str(m),
        }
    }
}

fn prop<'a>(p: &'a Properties, k: &str) -> Option<&'a str> {
    p.get(k)
        .map(String::as_str)
        .filter(|v| !v.trim().is_empty())
        .map(str::trim)
}

fn static_keys(name: &str, p: &Properties) -> std::result::Result<Option<Base>, ChainError> {
    match (
        prop(p, "aws_access_key_id"),
        prop(p, "aws_secret_access_key"),
    ) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(ChainError::Invalid(format!(
            "profile missing aws_secret_access_key (profile `{name}` has aws_access_key_id)"
        ))),
        (None, Some(_)) => Err(ChainError::Invalid(format!(
            "profile missing aws_access_key_id (profile `{name}` has aws_secret_access_key)"
        ))),
        (Some(id), Some(secret)) => Ok(Some(Rc::new(StaticKeys {
            profile: name.to_owned(),
            creds: Credentials {
                access_key_id: id.to_owned(),
                secret_access_key: Secret::new(secret),
                // `aws_security_token` is the legacy name botocore still reads.
                session_token: prop(p, "aws_session_token")
                    .or_else(|| prop(p, "aws_security_token"))
                    .map(Secret::new),
                expiration: None,
                account_id: prop(p, "aws_account_id").map(str::to_owned),
            },
        }))),
    }
}

fn sso_base(
    set: &ProfileSet,
    name: &str,
    p: &Properties,
) -> std::result::Result<Option<Base>, ChainError> {
    let keys = [
        "sso_account_id",
        "sso_role_name",
        "sso_region",
        "sso_session",
        "sso_start_url",
    ];
    if keys.iter().all(|k| prop(p, k).is_none()) {
        return Ok(None);
    }
    let invalid = |m: String| ChainError::Invalid(format!("profile `{name}`: {m}"));
    let mut region = prop(p, "sso_region").map(str::to_owned);
    let mut start_url = prop(p, "sso_start_url").map(str::to_owned);
    let session_name = prop(p, "sso_session").map(str::to_owned);
    if let Some(session) = &session_name {
        let s = set.sso_sessions.get(session).ok_or_else(|| {
            invalid(format!(
                "sso-session named `{session}` (referenced by profile `{name}`) was not found"
            ))
        })?;
        let (s_region, s_url) = (prop(s, "sso_region"), prop(s, "sso_start_url"));
        if region.is_some() && region.as_deref() != s_region {
            return Err(invalid("`sso_region` can only be specified in the [sso-session] config when a session name is given".into()));
        }
        if start_url.is_some() && start_url.as_deref() != s_url {
            return Err(invalid("`sso_start_url` can only be specified in the [sso-session] config when a session name is given".into()));
        }
        region = s_region.map(str::to_owned);
        start_url = s_url.map(str::to_owned);
    }
    let (account_id, role_name) = match (prop(p, "sso_account_id"), prop(p, "sso_role_name")) {
        (Some(_), None) => {
            return Err(invalid(
                "if `sso_account_id` is set, then `sso_role_name` must also be set".into(),
            ))
        }
        (None, Some(_)) => {
            return Err(invalid(
                "if `sso_role_name` is set, then `sso_account_id` must also be set".into(),
            ))
        }
        (a, r) => (a.unwrap_or_default(), r.unwrap_or_default()),
    };
    Ok(Some(Rc::new(SsoProfile {
        profile: name.to_owned(),
        session_name,
        start_url: start_url.unwrap_or_default(),
        region: region.unwrap_or_default(),
        account_id: account_id.to_owned(),
        role_name: role_name.to_owned(),
    })))
}

/// The credentials of a profile that assumes no role itself, in botocore's order of
/// providers (for the selected profile and a source profile alike): web identity, SSO,
/// keys of the credentials file, `credential_process`, keys of the config file.
fn leaf(
    set: &ProfileSet,
    name: &str,
    p: &Properties,
    root: bool,
) -> std::result::Result<Base, ChainError> {
    if let Some(file) = prop(p, "web_identity_token_file") {
        let role_arn = prop(p, "role_arn").ok_or_else(|| {
            ChainError::Invalid(format!(
                "profile `{name}`: `web_identity_token_file` was specified but `role_arn` was missing"
            ))
        })?;
        return Ok(Rc::new(WebIdentity {
            role_arn: role_arn.to_owned(),
            token_file: file.to_owned(),
            session_name: prop(p, "role_session_name")
                .unwrap_or(web_identity::DEFAULT_SESSION_NAME)
                .to_owned(),
            origin: format!("web_identity_token_file of profile `{name}`"),
        }));
    }
    if let Some(s) = sso_base(set, name, p)? {
        return Ok(s);
    }
    let keys = static_keys(name, p)?;
    if set.keys_in_credentials_file.contains(name) {
        if let Some(k) = keys {
            return Ok(k);
        }
    }
    if let Some(command) = prop(p, "credential_process") {
        return Ok(Rc::new(Process {
            profile: name.to_owned(),
            command: command.to_owned(),
        }));
    }
    match keys {
        Some(b) => Ok(b),
        None if root => Err(ChainError::NoCredentials(name.to_owned())),
        None => Err(ChainError::Invalid(format!(
            "profile `{name}` did not contain credential information"
        ))),
    }
}

fn named_source(profile: &str, source: &str) -> std::result::Result<Base, ChainError> {
    let by_profile = Some(profile.to_owned());
    match source {
        "Environment" => Ok(Rc::new(Environment { by_profile })),
        "Ec2InstanceMetadata" => Ok(Rc::new(Instance {
            by_profile,
            skipped: Vec::new(),
        })),
        "EcsContainer" => Ok(Rc::new(Container { by_profile })),
        other => Err(ChainError::Invalid(format!(
            "profile `{profile}`: credential_source {other} is not supported: use Environment, \
             Ec2InstanceMetadata or EcsContainer"
        ))),
    }
}

/// `a -> b -> c`, with the middle of a long chain left out.
fn chain_text(names: &[String]) -> String {
    const SHOWN: usize = 5;
    if names.len() <= 2 * SHOWN + 1 {
        return names.join(" -> ");
    }
    format!(
        "{} -> ({} more) -> {}",
        names[..SHOWN].join(" -> "),
        names.len() - 2 * SHOWN,
        names[names.len() - SHOWN..].join(" -> ")
    )
}

/// The chain of profile `selected`: its base, then its roles, first to assume first.
/// Linear in the chain's length; with a `deadline`, a chain still unresolved then is an
/// error.
pub(crate) fn profile_chain(
    set: &ProfileSet,
    selected: &str,
    deadline: Option<Instant>,
) -> std::result::Result<Plan, ChainError> {
    if set.profiles.is_empty() {
        return Err(ChainError::Invalid("No profiles were defined".into()));
    }
    let mut name = selected.to_owned();
    // In order (for the message of a loop), and as a set (to find one).
    let mut visited: Vec<String> = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut hops: Vec<Hop> = Vec::new();
    let base = loop {
        let p = set.profiles.get(&name).ok_or_else(|| {
            ChainError::Invalid(match visited.last() {
                Some(from) => {
                    format!("could not find source profile {name} referenced from {from}")
                }
                None => format!("profile `{name}` was not found"),
            })
        })?;
        if !seen.insert(name.clone()) {
            visited.push(name.clone());
            return Err(ChainError::Invalid(format!(
                "profile formed an infinite loop: {}",
                chain_text(&visited)
            )));
        }
        visited.push(name.clone());
        if visited.len().is_multiple_of(1024) && deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(ChainError::Invalid(format!(
                "the profile chain from `{selected}` was still not resolved after {} profiles \
                 when the deadline (--timeout) passed; shorten the chain of source_profile",
                visited.len()
            )));
        }
        // After the first profile, a profile with keys ends the chain (its role_arn is
        // not assumed), its credentials found in the same order as for any profile.
        if visited.len() > 1 && static_keys(&name, p)?.is_some() {
            break leaf(set, &name, p, false)?;
        }
        let role_arn = prop(p, "role_arn").filter(|_| prop(p, "web_identity_token_file").is_none());
        let Some(role_arn) = role_arn else {
            break leaf(set, &name, p, visited.len() == 1)?;
        };
        hops.push(Hop {
            role_arn: role_arn.to_owned(),
            session_name: SessionName::Named(
                prop(p, "role_session_name")
                    .unwrap_or(web_identity::DEFAULT_SESSION_NAME)
                    .to_owned(),
            ),
            external_id: prop(p, "external_id").map(str::to_owned),
            duration_seconds: match prop(p, "duration_seconds") {
                None => None,
                Some(d) => Some(d.parse().map_err(|_| {
                    ChainError::Invalid(format!(
                        "profile `{name}`: duration_seconds {d:?} is not a number"
                    ))
                })?),
            },
            mfa_serial: prop(p, "mfa_serial").map(str::to_owned),
            origin: format!("profile {name}"),
        });
        match (prop(p, "source_profile"), prop(p, "credential_source")) {
            (Some(_), Some(_)) => {
                return Err(ChainError::Invalid(format!(
                    "profile contained both source_profile and credential_source (profile `{name}`): keep one"
                )))
            }
            (None, None) => {
                return Err(ChainError::Invalid(format!(
                    "profile `{name}` has role_arn: the profile must contain `source_profile` or `credential_source`"
                )))
            }
            (Some(src), None) if src == name => {
                break static_keys(&name, p)?.ok_or_else(|| {
                    ChainError::Invalid(format!(
                        "profile `{name}` is its own source_profile but has no static keys"
                    ))
                })?;
            }
            (Some(src), None) => name = src.to_owned(),
            (None, Some(source)) => break named_source(&name, source)?,
        }
    };
    hops.reverse();
    Ok(Plan {
        base,
        chosen: Chosen::Profile(selected.to_owned()),
        hops,
    })
}
