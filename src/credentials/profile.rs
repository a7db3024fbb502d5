//! Credentials from a profile of the shared config files: static keys, a chain of
//! `role_arn` profiles (`source_profile` / `credential_source`), web identity,
//! `credential_process` and SSO. The chain is resolved as the SDKs' shared
//! `assume-role-tests.json` describes; cycles and contradictions are errors that name
//! the profiles.

use super::{
    container, environment, imds, process, sso, web_identity, Context, Credentials, Loaded,
};
use crate::error::{Error, Result};
use crate::profile::{ProfileSet, Properties};
use crate::secret::Secret;
use crate::sts::AssumeRoleParams;
use crate::{chain, vlog};

/// Where a profile chain starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    /// `aws_access_key_id` and `aws_secret_access_key` (+ token, account id).
    AccessKey {
        /// The profile holding them.
        profile: String,
        /// `aws_access_key_id`.
        access_key_id: String,
        /// `aws_account_id`.
        account_id: Option<String>,
    },
    /// `credential_source`: Environment, Ec2InstanceMetadata or EcsContainer.
    NamedSource(String),
    /// `role_arn` + `web_identity_token_file`.
    WebIdentity {
        /// `role_arn`.
        role_arn: String,
        /// `web_identity_token_file`.
        token_file: String,
        /// `role_session_name`.
        session_name: Option<String>,
    },
    /// An SSO profile.
    Sso(sso::SsoProfile),
    /// `credential_process`.
    Process {
        /// The profile.
        profile: String,
        /// The command.
        command: String,
    },
}

/// One `role_arn` profile of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleHop {
    /// The profile that names the role.
    pub profile: String,
    /// `role_arn`.
    pub role_arn: String,
    /// `external_id`.
    pub external_id: Option<String>,
    /// `role_session_name`.
    pub session_name: Option<String>,
    /// `duration_seconds`.
    pub duration_seconds: Option<u32>,
    /// `mfa_serial`.
    pub mfa_serial: Option<String>,
}

/// A resolved profile chain: a base, then roles to assume in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileChain {
    /// Where the credentials start.
    pub base: Base,
    /// Roles, first to assume first.
    pub hops: Vec<RoleHop>,
}

/// Why a chain could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainError {
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
        (Some(id), Some(_)) => Ok(Some(Base::AccessKey {
            profile: name.to_owned(),
            access_key_id: id.to_owned(),
            account_id: prop(p, "aws_account_id").map(str::to_owned),
        })),
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
    Ok(Some(Base::Sso(sso::SsoProfile {
        profile: name.to_owned(),
        session_name,
        start_url: start_url.unwrap_or_default(),
        region: region.unwrap_or_default(),
        account_id: account_id.to_owned(),
        role_name: role_name.to_owned(),
    })))
}

fn leaf(
    set: &ProfileSet,
    name: &str,
    p: &Properties,
    root: bool,
) -> std::result::Result<Base, ChainError> {
    if let Some(s) = sso_base(set, name, p)? {
        return Ok(s);
    }
    if let Some(command) = prop(p, "credential_process") {
        return Ok(Base::Process {
            profile: name.to_owned(),
            command: command.to_owned(),
        });
    }
    if let Some(file) = prop(p, "web_identity_token_file") {
        let role_arn = prop(p, "role_arn").ok_or_else(|| {
            ChainError::Invalid(format!(
                "profile `{name}`: `web_identity_token_file` was specified but `role_arn` was missing"
            ))
        })?;
        return Ok(Base::WebIdentity {
            role_arn: role_arn.to_owned(),
            token_file: file.to_owned(),
            session_name: prop(p, "role_session_name").map(str::to_owned),
        });
    }
    match static_keys(name, p)? {
        Some(b) => Ok(b),
        None if root => Err(ChainError::NoCredentials(name.to_owned())),
        None => Err(ChainError::Invalid(format!(
            "profile `{name}` did not contain credential information"
        ))),
    }
}

/// Resolves the chain of `selected`.
pub fn resolve_chain(
    set: &ProfileSet,
    selected: &str,
) -> std::result::Result<ProfileChain, ChainError> {
    if set.profiles.is_empty() {
        return Err(ChainError::Invalid("No profiles were defined".into()));
    }
    let mut name = selected.to_owned();
    let mut visited: Vec<String> = Vec::new();
    let mut hops: Vec<RoleHop> = Vec::new();
    let base = loop {
        let p = set.profiles.get(&name).ok_or_else(|| {
            ChainError::Invalid(match visited.last() {
                Some(from) => {
                    format!("could not find source profile {name} referenced from {from}")
                }
                None => format!("profile `{name}` was not found"),
            })
        })?;
        if visited.contains(&name) {
            visited.push(name.clone());
            return Err(ChainError::Invalid(format!(
                "profile formed an infinite loop: {}",
                visited.join(" -> ")
            )));
        }
        visited.push(name.clone());
        // After the first profile, static keys end the chain.
        if visited.len() > 1 {
            if let Some(b) = static_keys(&name, p)? {
                break b;
            }
        }
        let role_arn = prop(p, "role_arn").filter(|_| prop(p, "web_identity_token_file").is_none());
        let Some(role_arn) = role_arn else {
            break leaf(set, &name, p, visited.len() == 1)?;
        };
        hops.push(RoleHop {
            profile: name.clone(),
            role_arn: role_arn.to_owned(),
            external_id: prop(p, "external_id").map(str::to_owned),
            session_name: prop(p, "role_session_name").map(str::to_owned),
            duration_seconds: match prop(p, "duration_seconds") {
                None => None,
                Some(d) => Some(d.parse().map_err(|_| {
                    ChainError::Invalid(format!(
                        "profile `{name}`: duration_seconds {d:?} is not a number"
                    ))
                })?),
            },
            mfa_serial: prop(p, "mfa_serial").map(str::to_owned),
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
            (None, Some(source)) => break Base::NamedSource(source.to_owned()),
        }
    };
    hops.reverse();
    Ok(ProfileChain { base, hops })
}

/// Loads credentials from the selected profile.
pub fn load(ctx: &Context<'_>) -> Result<Loaded> {
    let (name, explicit) = (ctx.profile, ctx.profile_explicit);
    if !ctx.profiles.profiles.contains_key(name) {
        if explicit {
            return Err(Error::Source {
                source: "profile",
                message: format!(
                    "the profile `{name}` (--profile / AWS_PROFILE) is not in the config files; \
                     check the name or AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE"
                ),
            });
        }
        return Ok(Loaded::NotConfigured(format!(
            "no `{name}` profile in the config files"
        )));
    }
    let chain = match resolve_chain(ctx.profiles, name) {
        Ok(c) => c,
        Err(ChainError::NoCredentials(p)) => {
            return Ok(Loaded::NotConfigured(format!(
                "profile `{p}` did not contain credential information"
            )))
        }
        Err(ChainError::Invalid(m)) => {
            return Err(Error::Source {
                source: "profile",
                message: m,
            })
        }
    };
    // Assumed credentials (web identity, SSO, each role) are cached across runs, keyed
    // by the base's identity and the roles before them; static keys never are.
    // Only a chain that assumes something opens the cache.
    let cache = match (&chain.base, chain.hops.is_empty()) {
        (Base::WebIdentity { .. } | Base::Sso(_), _) | (_, false) => ctx.cache.get(),
        _ => None,
    };
    let ep = match cache {
        Some(_) => Some(ctx.sts.endpoint()?),
        None => None,
    };
    let key = |kind: &str, path: &str, hop: Option<&RoleHop>| {
        let ep = ep.expect("resolved when there is a cache");
        let duration = hop.and_then(|h| h.duration_seconds).map(|d| d.to_string());
        crate::cache::Cache::key_at(
            ep,
            &[
                kind,
                path,
                hop.and_then(|h| h.external_id.as_deref()).unwrap_or(""),
                hop.and_then(|h| h.session_name.as_deref()).unwrap_or(""),
                duration.as_deref().unwrap_or(""),
            ],
        )
    };
    let mut path = base_identity(&chain.base);
    let mut creds = match (cache, &chain.base) {
        (Some(c), Base::WebIdentity { .. } | Base::Sso(_)) => c.get_or_fill(
            &key("profile-base", &path, None),
            &format!("profile {name} base credentials"),
            || base_credentials(ctx, &chain.base),
        )?,
        _ => base_credentials(ctx, &chain.base)?,
    };
    for hop in &chain.hops {
        path.push('\n');
        path.push_str(&hop.role_arn);
        let prev = creds;
        creds = match cache {
            Some(c) => c.get_or_fill(
                &key("profile-hop", &path, Some(hop)),
                &format!("profile {} role {}", hop.profile, hop.role_arn),
                || assume_hop(ctx, &prev, hop),
            )?,
            None => assume_hop(ctx, &prev, hop)?,
        };
    }
    Ok(Loaded::Found(creds, format!("profile {name}")))
}

/// What identifies a chain's base in cache keys (never a secret).
fn base_identity(base: &Base) -> String {
    match base {
        Base::AccessKey { access_key_id, .. } => format!("access-key {access_key_id}"),
        Base::NamedSource(s) => format!("credential_source {s}"),
        Base::WebIdentity {
            role_arn,
            token_file,
            session_name,
        } => format!(
            "web-identity {role_arn} {token_file} {}",
            session_name.as_deref().unwrap_or("")
        ),
        Base::Sso(s) => format!(
            "sso {} {} {} {}",
            s.start_url, s.region, s.account_id, s.role_name
        ),
        Base::Process { command, .. } => format!("credential_process {command}"),
    }
}

fn source_err(m: String) -> Error {
    Error::Source {
        source: "profile",
        message: m,
    }
}

fn base_credentials(ctx: &Context<'_>, base: &Base) -> Result<Credentials> {
    let p = |profile: &str, k: &str| ctx.profiles.get(profile, k).map(str::trim);
    match base {
        Base::AccessKey {
            profile,
            access_key_id,
            account_id,
        } => Ok(Credentials {
            access_key_id: access_key_id.clone(),
            secret_access_key: Secret::new(p(profile, "aws_secret_access_key").unwrap_or_default()),
            session_token: p(profile, "aws_session_token").map(Secret::new),
            expiration: None,
            account_id: account_id.clone(),
        }),
        Base::NamedSource(source) => {
            let loaded = match source.as_str() {
                "Environment" => environment::load(ctx)?,
                "Ec2InstanceMetadata" => imds::load(ctx)?,
                "EcsContainer" => container::load(ctx)?,
                other => {
                    return Err(source_err(format!(
                        "credential_source {other} is not supported: use Environment, \
                         Ec2InstanceMetadata or EcsContainer"
                    )))
                }
            };
            match loaded {
                Loaded::Found(c, _) => Ok(c),
                Loaded::NotConfigured(why) => Err(source_err(format!(
                    "credential_source {source}: the credential provider was not enabled ({why})"
                ))),
            }
        }
        Base::WebIdentity {
            role_arn,
            token_file,
            session_name,
        } => {
            check_role_arn(role_arn)?;
            let session = session_name
                .as_deref()
                .unwrap_or(web_identity::DEFAULT_SESSION_NAME);
            let token = web_identity::read_token_file(token_file)?;
            let assumed = ctx
                .sts
                .client()?
                .assume_role_with_web_identity(role_arn, session, &token, None)?;
            Ok(assumed.credentials)
        }
        Base::Sso(s) => {
            if s.account_id.is_empty() || s.role_name.is_empty() {
                return Err(source_err(format!(
                    "profile `{}` names an SSO session but no sso_account_id and sso_role_name",
                    s.profile
                )));
            }
            sso::load(ctx.env, ctx.sts.http(), s)
        }
        Base::Process { profile, command } => {
            let budget = ctx
                .sts
                .http()
                .remaining()
                .min(std::time::Duration::from_secs(60));
            process::run(command, profile, budget)
        }
    }
}

/// Profile role ARNs are only checked for shape: the SDKs' recorded scenarios use
/// accounts of other lengths, and STS has the last word.
fn check_role_arn(arn: &str) -> Result<()> {
    if arn.starts_with("arn:") && arn.contains(":role/") {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "role_arn {arn:?} in the config files is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"
        )))
    }
}

fn assume_hop(ctx: &Context<'_>, creds: &Credentials, hop: &RoleHop) -> Result<Credentials> {
    check_role_arn(&hop.role_arn)?;
    let code = match &hop.mfa_serial {
        Some(serial) => Some(mfa_code(serial, &hop.profile, ctx.interactive)?),
        None => None,
    };
    let session = hop
        .session_name
        .as_deref()
        .unwrap_or(web_identity::DEFAULT_SESSION_NAME);
    let assumed = ctx.sts.client()?.assume_role(
        creds,
        &AssumeRoleParams {
            role_arn: &hop.role_arn,
            session_name: session,
            external_id: hop.external_id.as_deref(),
            duration_seconds: hop.duration_seconds,
            mfa: hop
                .mfa_serial
                .as_deref()
                .zip(code.as_ref().map(|c| c.expose())),
        },
    )?;
    vlog!(
        "profile {}: assumed {} ({})",
        hop.profile,
        hop.role_arn,
        chain::validity(&assumed.credentials)
    );
    Ok(assumed.credentials)
}

/// Asks for an MFA code on the terminal (`/dev/tty`, not stdin: kubectl owns that).
fn mfa_code(serial: &str, profile: &str, interactive: Option<bool>) -> Result<Secret> {
    use std::io::{BufRead, BufReader, Write};
    let no_terminal = || {
        Error::Source {
        source: "profile",
        message: format!(
            "profile `{profile}` needs an MFA code for {serial} but there is no terminal to ask \
             on: run interactively, or set `interactiveMode: IfAvailable` in the kubeconfig's exec section"
        ),
    }
    };
    if interactive == Some(false) {
        return Err(no_terminal());
    }
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|_| no_terminal())?;
    let mut w = &tty;
    write!(w, "Enter MFA code for {serial}: ").map_err(|_| no_terminal())?;
    let _ = w.flush();
    let mut line = String::new();
    BufReader::new(&tty)
        .read_line(&mut line)
        .map_err(|_| no_terminal())?;
    let code = line.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::InvalidInput(format!(
            "the MFA code for {serial} must be 6 digits"
        )));
    }
    Ok(Secret::new(code))
}
