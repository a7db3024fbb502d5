//! Runs a [`Plan`]: the base source, then each hop with the credentials below it. This
//! is the one place that assumes roles, for profile chains and `--role-arn` alike, and
//! the one place that consults the cache: every entry's key is made here, by
//! [`cache::key`], from the identity that asks (the access key id that signs, the
//! identity in a web identity token) and everything that shapes the session.

use std::time::Instant;

use ring::digest;

use crate::cache::{self, Key};
use crate::config_files::ProfileSet;
use crate::credentials::Credentials;
use crate::credentials::REFRESH_MARGIN;
use crate::endpoint::{self, Service};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::plan::{Base, Chosen, Hop, Plan, SessionName, DEFAULT_DURATION_SECONDS};
use crate::secret::Secret;
use crate::session::Session;
use crate::sources::{container, environment, imds, process, sso, web_identity};
use crate::sts::{self, AssumeRoleParams, CallerIdentity};
use crate::{log, timefmt, validate, vlog};

/// What the executor needs of the run.
pub(crate) struct Context<'a> {
    pub(crate) env: &'a Env,
    pub(crate) profiles: &'a ProfileSet,
    /// The selected profile (its IMDS settings apply).
    pub(crate) profile: &'a str,
    pub(crate) session: &'a Session,
    pub(crate) cache: &'a cache::Lazy,
    /// kubectl's `spec.interactive` (None outside kubectl): whether an MFA prompt may
    /// be shown.
    pub(crate) interactive: Option<bool>,
}

/// Credentials at one level of a plan, and what they are (for `-v` and `whoami`).
pub(crate) struct Level {
    pub(crate) creds: Credentials,
    pub(crate) label: String,
    /// The role these credentials are a session of, when the plan knows it (a web
    /// identity role, a hop): what a trust policy must name.
    pub(crate) role_arn: Option<String>,
}

/// What a run of a plan keeps between its tokens: the credentials at each level (the
/// base, then after each hop) and the forwarded session name, once asked for.
#[derive(Default)]
pub(crate) struct State {
    pub(crate) levels: Vec<Level>,
    forwarded: Option<String>,
}

/// The credentials at the top of `plan`, renewing only the levels that are near expiry
/// (a sidecar does not call STS for every token): the base, then each hop with the
/// credentials below it.
pub(crate) fn run(ctx: &Context<'_>, plan: &Plan, state: &mut State) -> Result<Credentials> {
    let now = time::OffsetDateTime::now_utc();
    let fresh = |l: &Level| l.creds.expiration.is_none_or(|e| e - now > REFRESH_MARGIN);
    let keep = state.levels.iter().take_while(|l| fresh(l)).count();
    state.levels.truncate(keep);
    if state.levels.is_empty() {
        state.levels.push(base(ctx, plan)?);
    }
    while state.levels.len() <= plan.hops.len() {
        let i = state.levels.len() - 1;
        let h = &plan.hops[i];
        let signer = &state.levels[i];
        let session_name = match &h.session_name {
            SessionName::Named(n) => n.clone(),
            SessionName::Forwarded => match &state.forwarded {
                Some(n) => n.clone(),
                None => {
                    let n = forwarded_session_name(ctx, signer)?;
                    state.forwarded = Some(n.clone());
                    n
                }
            },
        };
        let creds = hop(ctx, h, &session_name, signer)?;
        let label = format!("{} ({})", h.origin, h.role_arn);
        state.levels.push(Level {
            creds,
            label,
            role_arn: Some(h.role_arn.clone()),
        });
    }
    Ok(state.levels[state.levels.len() - 1].creds.clone())
}

/// The credentials of the plan's base.
pub(crate) fn base(ctx: &Context<'_>, plan: &Plan) -> Result<Level> {
    let role_arn = match &plan.base {
        Base::WebIdentity(w) => Some(w.role_arn.clone()),
        _ => None,
    };
    let (creds, label) = match &plan.base {
        Base::Environment => {
            let creds =
                environment::load(ctx.env).map_err(|e| named_source(plan, "Environment", e))?;
            let label = format!("environment variables (access key {})", creds.access_key_id);
            (creds, label)
        }
        Base::StaticKeys { profile, creds } => (creds.clone(), format!("profile {profile}")),
        Base::WebIdentity(w) => {
            check_role_arn(&w.role_arn)?;
            let token = web_identity::read_token_file(&w.token_file, &w.origin)?;
            let identity = web_identity::identity(&token);
            let endpoint = ctx.session.sts_endpoint()?;
            let key = cache::key(&Key {
                call: "AssumeRoleWithWebIdentity",
                caller: &identity,
                session: &[("role_arn", &w.role_arn), ("session_name", &w.session_name)],
                endpoint,
            });
            let what = format_args!("web identity role {}", w.role_arn);
            let creds = cached(ctx, &key, what, || {
                let started = Instant::now();
                let assumed = web_identity::assume(ctx.session, w, &token)?;
                log_assumed(
                    &w.origin,
                    &w.role_arn,
                    &assumed.assumed_role_arn,
                    &assumed.credentials,
                    started,
                );
                Ok(assumed.credentials)
            })?;
            (
                creds,
                format!("web identity token {} -> {}", w.token_file, w.role_arn),
            )
        }
        Base::Sso(p) => {
            if p.account_id.is_empty() || p.role_name.is_empty() {
                return Err(Error::Source {
                    source: "profile",
                    message: format!(
                        "profile `{}` names an SSO session but no sso_account_id and sso_role_name",
                        p.profile
                    ),
                });
            }
            let token = sso::access_token(ctx.env, p)?;
            let portal =
                endpoint::resolve(Service::SsoPortal, ctx.session.settings(), Some(&p.region))?;
            let caller = format!(
                "sso access token sha256:{}",
                hex::encode(digest::digest(&digest::SHA256, token.expose().as_bytes()))
            );
            let key = cache::key(&Key {
                call: "GetRoleCredentials",
                caller: &caller,
                session: &[
                    ("start_url", &p.start_url),
                    ("account_id", &p.account_id),
                    ("role_name", &p.role_name),
                ],
                endpoint: &portal,
            });
            let what = format_args!("profile {} SSO role {}", p.profile, p.role_name);
            let creds = cached(ctx, &key, what, || {
                sso::fetch(ctx.session.http(), &portal, p, &token)
            })?;
            (creds, format!("profile {} (SSO)", p.profile))
        }
        Base::Process { profile, command } => {
            let budget = ctx
                .session
                .http()
                .remaining()
                .min(std::time::Duration::from_secs(60));
            let creds = process::run(command, profile, budget)?;
            (creds, format!("profile {profile} (credential_process)"))
        }
        Base::Container => container::load(ctx.env, ctx.session.http())
            .map_err(|e| named_source(plan, "EcsContainer", e))?,
        Base::Imds => imds_base(ctx, plan)?,
    };
    // Keys a person typed (or a script of theirs printed) may be swapped.
    let typed = match &plan.base {
        Base::Environment => Some("AWS_ACCESS_KEY_ID"),
        Base::StaticKeys { .. } | Base::Process { .. } => Some(label.as_str()),
        _ => None,
    };
    if let Some(origin) = typed {
        validate::access_key_id(
            &creds.access_key_id,
            creds.secret_access_key.expose(),
            origin,
        )?;
    }
    vlog!("credentials: using {label}");
    Ok(Level {
        creds,
        label,
        role_arn,
    })
}

/// A profile's `credential_source` that does not work is that profile's error.
fn named_source(plan: &Plan, name: &str, e: Error) -> Error {
    match (&plan.chosen, e) {
        (Chosen::Profile(p), Error::Source { message, .. }) => Error::Source {
            source: "profile",
            message: format!(
                "profile `{p}`: credential_source {name}: the credential provider was not \
                 enabled ({message})"
            ),
        },
        (_, e) => e,
    }
}

fn imds_base(ctx: &Context<'_>, plan: &Plan) -> Result<(Credentials, String)> {
    let base = imds::endpoint(ctx.env, ctx.profiles, ctx.profile, None, None).map_err(|e| {
        Error::Source {
            source: "IMDS",
            message: e.to_string(),
        }
    })?;
    // A machine whose credentials come from IMDS is an EC2 instance: its region is the
    // default. It is learnt before anything resolves the STS endpoint.
    let want_region = ctx.session.region().is_none();
    match imds::load(ctx.session.http(), &base, want_region)? {
        imds::Loaded::Found(creds, from, region) => {
            if let Some(region) = region {
                vlog!("region {region} from instance metadata");
                ctx.session.set_region_hint(&region);
            }
            Ok((creds, from))
        }
        imds::Loaded::Absent(why) => Err(match &plan.chosen {
            Chosen::DefaultChain(skipped) => {
                let mut tried = skipped.clone();
                tried.push(format!("IMDS ({why})"));
                Error::NoCredentials(tried)
            }
            Chosen::Profile(p) => Error::Source {
                source: "profile",
                message: format!(
                    "profile `{p}`: credential_source Ec2InstanceMetadata: the credential \
                     provider was not enabled ({why})"
                ),
            },
        }),
    }
}

/// Who signs with `creds`, for cache keys: the access key id, and a digest of the
/// secret key, so that only the holder of the secret finds the entry.
fn signer_identity(creds: &Credentials) -> String {
    let d = digest::digest(&digest::SHA256, creds.secret_access_key.expose().as_bytes());
    format!("{} secret-sha256:{}", creds.access_key_id, hex::encode(d))
}

/// The longest one signed call is allowed to take when deciding whether credentials
/// last long enough to sign it (a call that needs longer fails on its own deadline).
const ONE_CALL: std::time::Duration = std::time::Duration::from_secs(60);

/// Refuses credentials that will have expired before the call they are about to sign
/// can end (within the run's deadline, at most [`ONE_CALL`]): STS would answer
/// ExpiredToken, or worse, accept a request that then outlives them. The error names
/// where they came from and when they expire.
/// Who `level`'s credentials are (GetCallerIdentity), once they are checked to be
/// valid long enough to sign the call.
pub(crate) fn caller_identity(ctx: &Context<'_>, level: &Level) -> Result<CallerIdentity> {
    check_can_sign(ctx, level, "GetCallerIdentity")?;
    sts::get_caller_identity(ctx.session, &level.creds)
}

pub(crate) fn check_can_sign(ctx: &Context<'_>, signer: &Level, call: &str) -> Result<()> {
    let Some(exp) = signer.creds.expiration else {
        return Ok(());
    };
    let now = time::OffsetDateTime::now_utc();
    let budget = ctx.session.http().remaining().min(ONE_CALL);
    let needed = time::Duration::try_from(budget).unwrap_or_default();
    if exp > now + needed {
        return Ok(());
    }
    let when = if exp <= now {
        format!(
            "expired at {} ({} ago)",
            timefmt::format_rfc3339(exp),
            timefmt::human_duration((now - exp).whole_seconds())
        )
    } else {
        format!(
            "expire at {}, in {}: before {call} could end",
            timefmt::format_rfc3339(exp),
            timefmt::human_duration((exp - now).whole_seconds())
        )
    };
    Err(Error::Source {
        source: "signing",
        message: format!(
            "the credentials ({}) {when}; nothing was signed with them. Refresh them at \
             their source and retry",
            signer.label
        ),
    })
}

/// Assumes `hop` with the credentials of `signer`, the level below, through the cache.
fn hop(ctx: &Context<'_>, hop: &Hop, session_name: &str, signer: &Level) -> Result<Credentials> {
    let signer_creds = &signer.creds;
    check_role_arn(&hop.role_arn)?;
    let endpoint = ctx.session.sts_endpoint()?;
    let duration = hop
        .duration_seconds
        .unwrap_or(DEFAULT_DURATION_SECONDS)
        .to_string();
    let caller = signer_identity(signer_creds);
    let key = cache::key(&Key {
        call: "AssumeRole",
        caller: &caller,
        session: &[
            ("role_arn", &hop.role_arn),
            ("session_name", session_name),
            ("external_id", hop.external_id.as_deref().unwrap_or("")),
            ("duration_seconds", &duration),
            ("mfa_serial", hop.mfa_serial.as_deref().unwrap_or("")),
        ],
        endpoint,
    });
    let what = format_args!("{} role {}", hop.origin, hop.role_arn);
    cached(ctx, &key, what, || assume(ctx, hop, session_name, signer))
}

fn assume(ctx: &Context<'_>, hop: &Hop, session_name: &str, signer: &Level) -> Result<Credentials> {
    check_can_sign(ctx, signer, "AssumeRole")?;
    let creds = &signer.creds;
    // The code is asked for only when STS is really called (not on a cache hit).
    let code = match &hop.mfa_serial {
        Some(serial) => Some(mfa_code(serial, &hop.origin, ctx.interactive)?),
        None => None,
    };
    let started = Instant::now();
    let assumed = sts::assume_role(
        ctx.session,
        creds,
        &AssumeRoleParams {
            role_arn: &hop.role_arn,
            session_name,
            external_id: hop.external_id.as_deref(),
            duration_seconds: hop.duration_seconds,
            mfa: hop
                .mfa_serial
                .as_deref()
                .zip(code.as_ref().map(|c| c.expose())),
        },
    )
    .map_err(|e| match e {
        Error::Service(mut se) if se.code.starts_with("AccessDenied") && se.hint.is_none() => {
            se.hint = Some(access_denied_hint(
                signer.role_arn.as_deref(),
                &hop.role_arn,
            ));
            Error::Service(se)
        }
        other => other,
    })?;
    log_assumed(
        &hop.origin,
        &hop.role_arn,
        &assumed.assumed_role_arn,
        &assumed.credentials,
        started,
    );
    Ok(assumed.credentials)
}

/// What AccessDenied from AssumeRole means: two policies in two accounts must agree.
pub(crate) fn access_denied_hint(caller_role: Option<&str>, role_arn: &str) -> String {
    match caller_role {
        Some(caller) => format!(
            "both policies must allow it: the trust policy of {role_arn} must allow \
             sts:AssumeRole to the principal {{\"AWS\": \"{caller}\"}} (the role's ARN, not its \
             assumed-role session ARN), and {caller} needs a policy allowing sts:AssumeRole \
             on {role_arn}; eks-token doctor prints both statements"
        ),
        None => format!(
            "both policies must allow it: the trust policy of {role_arn} must name the caller \
             (eks-token whoami says who that is) as a principal, and the caller needs a policy \
             allowing sts:AssumeRole on {role_arn}; eks-token doctor prints both statements"
        ),
    }
}

fn log_assumed(origin: &str, role_arn: &str, as_arn: &str, creds: &Credentials, started: Instant) {
    if log::verbose() {
        vlog!(
            "{origin}: assumed {role_arn} as {as_arn} ({}) in {:.1} ms",
            validity(creds),
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
}

/// The cached credentials for `key`, or `fill()`'s, cached then.
fn cached(
    ctx: &Context<'_>,
    key: &str,
    what: std::fmt::Arguments<'_>,
    fill: impl FnOnce() -> Result<Credentials>,
) -> Result<Credentials> {
    match ctx.cache.get() {
        // Waiting for another process (and housekeeping) may take a quarter of what is
        // left: a lock held for long never holds the run past its deadline.
        Some(cache) => cache.get_or_fill(key, what, || ctx.session.http().remaining(), fill),
        None => fill(),
    }
}

/// "valid 59m 12s more", for `-v`.
pub(crate) fn validity(creds: &Credentials) -> String {
    creds.expiration.map_or_else(
        || "no expiry".to_owned(),
        |e| {
            let secs = (e - time::OffsetDateTime::now_utc()).whole_seconds();
            format!("valid {} more", timefmt::human_duration(secs))
        },
    )
}

/// The session name of the identity `creds` (`UserId` is `AROA...:session`), for
/// `--forward-session-name`; the default for identities without one.
fn forwarded_session_name(ctx: &Context<'_>, signer: &Level) -> Result<String> {
    let identity = caller_identity(ctx, signer)?;
    let name = identity
        .user_id
        .split_once(':')
        .map(|(_, s)| s.to_owned())
        .filter(|s| validate::session_name(s, "forwarded session name").is_ok());
    let default = crate::plan::DEFAULT_SESSION_NAME;
    match name {
        Some(n) => {
            vlog!("forwarding session name {n:?} from {}", identity.arn);
            Ok(n)
        }
        None => {
            vlog!(
                "{} has no usable session name to forward; using {default}",
                identity.arn
            );
            Ok(default.to_owned())
        }
    }
}

/// Role ARNs of the config files are only checked for shape: the SDKs' recorded
/// scenarios use accounts of other lengths, and STS has the last word. (`--role-arn`
/// values were checked in full when the plan was made.)
fn check_role_arn(arn: &str) -> Result<()> {
    if arn.starts_with("arn:") && arn.contains(":role/") {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "role_arn {arn:?} in the config files is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"
        )))
    }
}

/// Asks for an MFA code on the terminal (`/dev/tty`, not stdin: kubectl owns that).
fn mfa_code(serial: &str, origin: &str, interactive: Option<bool>) -> Result<Secret> {
    use std::io::{BufRead, BufReader, Write};
    let no_terminal = || Error::Source {
        source: "profile",
        message: format!(
            "{origin} needs an MFA code for {serial} but there is no terminal to ask on: run \
             interactively, or set `interactiveMode: IfAvailable` in the kubeconfig's exec section"
        ),
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
