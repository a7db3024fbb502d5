//! Runs a [`Plan`]: the base source, then each hop with the credentials below it. This
//! is the one place that assumes roles, for profile chains and `--role-arn` alike, and
//! the one place that consults the cache: every entry's key is made by [`cache::key`],
//! from the identity that asks (the access key id that signs, the identity in a web
//! identity token) and everything that shapes the session.

use std::time::Instant;

use ring::digest;
use time::OffsetDateTime;

use crate::cache::{self, Key};
use crate::credentials::Credentials;
use crate::credentials::REFRESH_MARGIN;
use crate::error::{Error, Result};
use crate::log::vlog;
use crate::plan::{Hop, Plan, SessionName, DEFAULT_DURATION_SECONDS};
use crate::secret::Secret;
use crate::session::Session;
use crate::sources::{Context, Prepared};
use crate::sts::{self, AssumeRoleParams, CallerIdentity};
use crate::{timefmt, validate};

/// Credentials at one level of a plan, and what they are (for `-v` and `whoami`).
#[derive(Clone)]
pub(crate) struct Level {
    pub(crate) creds: Credentials,
    pub(crate) label: String,
    /// The role these credentials are a session of, when the plan knows it (a web
    /// identity role, a hop): what a trust policy must name.
    pub(crate) role_arn: Option<String>,
    /// The cache key they are kept under, when they are kept: who they are to the
    /// level above (its key's caller), known before they are.
    key: Option<String>,
}

/// What a run of a plan keeps between its tokens: the credentials at each level (the
/// base, then after each hop) and the forwarded session name, once asked for.
#[derive(Default)]
pub(crate) struct State {
    pub(crate) levels: Vec<Level>,
    forwarded: Option<String>,
    /// The top level, found in the cache by its key alone while `levels` is empty: a
    /// warm run reads one entry, not one per level. The levels below are read only when
    /// something needs them ([`Reach::Every`]) or the top nears expiry.
    top: Option<Level>,
}

impl State {
    /// The level whose credentials sign.
    pub(crate) fn top(&self) -> Option<&Level> {
        self.top.as_ref().or(self.levels.last())
    }
}

/// What a run of the plan must leave in [`State`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    /// The credentials at the top, however they are found.
    Top,
    /// Every level's credentials (who each level is: `whoami --each-level`, doctor).
    Every,
}

/// Whether `level` is far enough from its expiry at `now` to be used as it is.
fn fresh(level: &Level, now: OffsetDateTime) -> bool {
    level
        .creds
        .expiration
        .is_none_or(|e| e - now > REFRESH_MARGIN)
}

impl State {
    /// Its first `n` levels, when it holds them all and each is fresh at `now`.
    pub(crate) fn fresh_levels(&self, n: usize, now: OffsetDateTime) -> Option<&[Level]> {
        let levels = self.levels.get(..n)?;
        levels.iter().all(|l| fresh(l, now)).then_some(levels)
    }

    /// Takes `shared` (the first levels of another run of the same plan's bottom, a
    /// fleet's base) unless its own are all there and fresh: the levels above its own
    /// go with them, as [`run`] drops what was assumed with credentials it renews.
    pub(crate) fn share(&mut self, shared: &[Level], now: OffsetDateTime) {
        if shared.is_empty()
            || self.fresh_levels(shared.len(), now).is_some()
            || !shared.iter().all(|l| fresh(l, now))
        {
            return;
        }
        self.levels.clear();
        self.levels.extend_from_slice(shared);
    }
}

/// The credentials at the top of `plan`, renewing only the levels that are near expiry
/// (a sidecar does not call STS for every token): the base, then each hop with the
/// credentials below it.
pub(crate) fn run(
    ctx: &Context<'_>,
    plan: &Plan,
    state: &mut State,
    reach: Reach,
) -> Result<Credentials> {
    let now = ctx.session.clock().now();
    match state.top.take() {
        Some(top) if reach == Reach::Top && fresh(&top, now) => {
            let creds = top.creds.clone();
            state.top = Some(top);
            return Ok(creds);
        }
        _ => {}
    }
    let keep = state.levels.iter().take_while(|l| fresh(l, now)).count();
    state.levels.truncate(keep);
    if state.levels.is_empty() {
        let prepared = plan.base.prepare(ctx)?;
        if reach == Reach::Top {
            if let Some(top) = cached_top(ctx, plan, prepared.key.as_deref()) {
                let creds = top.creds.clone();
                state.top = Some(top);
                return Ok(creds);
            }
        }
        state.levels.push(base(ctx, plan, prepared)?);
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
        let key = hop_key(ctx, h, &session_name, signer)?;
        let creds = hop(ctx, h, &session_name, signer, &key)?;
        state.levels.push(Level {
            creds,
            label: hop_label(h),
            role_arn: Some(h.role_arn.clone()),
            key: Some(key),
        });
    }
    Ok(state.levels[state.levels.len() - 1].creds.clone())
}

fn hop_label(h: &Hop) -> String {
    format!("{} ({})", h.origin, h.role_arn)
}

/// The top level of `plan` from the cache, found by key alone when the base is kept
/// under `base_key` and every hop's session name is known without asking STS (each
/// hop's key names the key of the level below as its caller); `None` to walk the levels.
fn cached_top(ctx: &Context<'_>, plan: &Plan, base_key: Option<&str>) -> Option<Level> {
    let cache = ctx.cache.get()?;
    let last = plan.hops.last()?;
    let mut key = base_key?.to_owned();
    for h in &plan.hops {
        let SessionName::Named(name) = &h.session_name else {
            return None;
        };
        key = session_key(ctx, h, name, &format!("cached session {key}")).ok()?;
    }
    let label = hop_label(last);
    let creds = cache.peek(ctx.session, &key, format_args!("{label}"))?;
    ctx.session.log().hide_credentials(&creds);
    Some(Level {
        creds,
        label,
        role_arn: Some(last.role_arn.clone()),
        key: Some(key),
    })
}

/// The credentials of the plan's base: its source, through the cache when the source
/// names a key.
fn base(ctx: &Context<'_>, plan: &Plan, prepared: Prepared) -> Result<Level> {
    let source = &plan.base;
    let key = prepared.key.clone();
    let label = source.label();
    let (creds, label) = match prepared.key.clone() {
        Some(key) => {
            let creds = cached(ctx, &key, format_args!("{label}"), || {
                source.fetch(ctx, prepared).map(|f| f.creds)
            })?;
            (creds, label)
        }
        None => {
            let f = source.fetch(ctx, prepared)?;
            (f.creds, f.label)
        }
    };
    ctx.session.log().hide_credentials(&creds);
    // Keys a person typed (or a script of theirs printed) may be swapped.
    if let Some(origin) = source.typed_keys() {
        let origin = if origin == "AWS_ACCESS_KEY_ID" {
            origin
        } else {
            label.clone()
        };
        validate::access_key_id(
            &creds.access_key_id,
            creds.secret_access_key.expose(),
            &origin,
        )?;
    }
    vlog!(ctx.session.log(), "credentials: using {label}");
    Ok(Level {
        creds,
        label,
        role_arn: source.role_arn().map(str::to_owned),
        key,
    })
}

/// Who signs with `creds`, for cache keys: the access key id, and a digest of the
/// secret key, so that only the holder of the secret finds the entry.
fn signer_identity(creds: &Credentials) -> String {
    let d = digest::digest(&digest::SHA256, creds.secret_access_key.expose().as_bytes());
    format!(
        "{} secret-sha256:{}",
        creds.access_key_id,
        crate::url::hex(d.as_ref())
    )
}

/// The longest one signed call is allowed to take when deciding whether credentials
/// last long enough to sign it (a call that needs longer fails on its own deadline).
const ONE_CALL: std::time::Duration = std::time::Duration::from_secs(60);

/// Who `level`'s credentials are (GetCallerIdentity), once they are checked to be
/// valid long enough to sign the call.
pub(crate) fn caller_identity(ctx: &Context<'_>, level: &Level) -> Result<CallerIdentity> {
    check_can_sign(ctx.session, level, "GetCallerIdentity")?;
    sts::get_caller_identity(ctx.session, &level.creds)
}

/// Refuses credentials that will have expired before the call they are about to sign
/// can end (within the run's deadline, at most [`ONE_CALL`]): STS would answer
/// ExpiredToken, or worse, accept a request that then outlives them. The error names
/// where they came from and when they expire.
pub(crate) fn check_can_sign(s: &Session, signer: &Level, call: &str) -> Result<()> {
    let Some(exp) = signer.creds.expiration else {
        return Ok(());
    };
    let now = s.clock().now();
    let budget = s.http().remaining().min(ONE_CALL);
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
    Err(Error::source(
        "signing",
        format!(
            "the credentials ({}) {when}; nothing was signed with them. Refresh them at \
             their source and retry",
            signer.label
        ),
    ))
}

/// The cache key of `hop` assumed by `signer`: who asks is the key `signer` is kept
/// under, when it is kept (so the top of a chain is found without reading the levels
/// below), else its access key id and a digest of its secret.
fn hop_key(ctx: &Context<'_>, hop: &Hop, session_name: &str, signer: &Level) -> Result<String> {
    let caller = match &signer.key {
        Some(k) => format!("cached session {k}"),
        None => signer_identity(&signer.creds),
    };
    session_key(ctx, hop, session_name, &caller)
}

/// The cache key of `hop` asked by `caller`.
fn session_key(ctx: &Context<'_>, hop: &Hop, session_name: &str, caller: &str) -> Result<String> {
    let endpoint = ctx.session.sts_endpoint()?;
    let duration = hop
        .duration_seconds
        .unwrap_or(DEFAULT_DURATION_SECONDS)
        .to_string();
    Ok(cache::key(&Key {
        call: "AssumeRole",
        caller,
        session: &[
            ("role_arn", &hop.role_arn),
            ("session_name", session_name),
            ("external_id", hop.external_id.as_deref().unwrap_or("")),
            ("duration_seconds", &duration),
            ("mfa_serial", hop.mfa_serial.as_deref().unwrap_or("")),
        ],
        endpoint,
    }))
}

/// Assumes `hop` with the credentials of `signer`, the level below, through the cache
/// (under `key`).
fn hop(
    ctx: &Context<'_>,
    hop: &Hop,
    session_name: &str,
    signer: &Level,
    key: &str,
) -> Result<Credentials> {
    crate::validate::config_role_arn(&hop.role_arn)?;
    let what = format_args!("{} role {}", hop.origin, hop.role_arn);
    cached(ctx, key, what, || assume(ctx, hop, session_name, signer))
}

fn assume(ctx: &Context<'_>, hop: &Hop, session_name: &str, signer: &Level) -> Result<Credentials> {
    check_can_sign(ctx.session, signer, "AssumeRole")?;
    let creds = &signer.creds;
    // The code is asked for only when STS is really called (not on a cache hit).
    let code = match &hop.mfa_serial {
        Some(serial) => Some(mfa_code(ctx, serial, &hop.origin)?),
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
    crate::sources::log_assumed(
        ctx.session,
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
             on {role_arn}"
        ),
        None => format!(
            "both policies must allow it: the trust policy of {role_arn} must name the caller \
             (the identity of the credentials below it) as a principal, and the caller needs \
             a policy allowing sts:AssumeRole on {role_arn}"
        ),
    }
}

/// The cached credentials for `key`, or `fill()`'s, cached then (with the servers'
/// clock as this run knows it).
fn cached(
    ctx: &Context<'_>,
    key: &str,
    what: std::fmt::Arguments<'_>,
    fill: impl FnOnce() -> Result<Credentials>,
) -> Result<Credentials> {
    match ctx.cache.get() {
        // Waiting for another process (and housekeeping) may take a quarter of what is
        // left: a lock held for long never holds the run past its deadline.
        Some(cache) => cache.get_or_fill(ctx.session, key, what, fill),
        None => fill(),
    }
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
    let log = ctx.session.log();
    match name {
        Some(n) => {
            vlog!(log, "forwarding session name {n:?} from {}", identity.arn);
            Ok(n)
        }
        None => {
            vlog!(
                log,
                "{} has no usable session name to forward; using {default}",
                identity.arn
            );
            Ok(default.to_owned())
        }
    }
}

/// The MFA code for `serial`, asked of the caller's prompt.
fn mfa_code(ctx: &Context<'_>, serial: &str, origin: &str) -> Result<Secret> {
    let no_prompt = |why: String| {
        Error::source(
            "profile",
            format!("{origin} needs an MFA code for {serial}, and none could be asked for ({why})"),
        )
    };
    let prompt = ctx
        .mfa_prompt
        .ok_or_else(|| no_prompt("no one to ask".into()))?;
    let code = prompt(serial).map_err(|e| no_prompt(e.to_string()))?;
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::InvalidInput(format!(
            "the MFA code for {serial} must be 6 digits"
        )));
    }
    Ok(Secret::new(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(akid: &str, expires_in: Option<time::Duration>, now: OffsetDateTime) -> Level {
        Level {
            creds: Credentials {
                access_key_id: akid.into(),
                secret_access_key: Secret::new("s"),
                session_token: None,
                expiration: expires_in.map(|d| now + d),
                account_id: None,
            },
            label: akid.into(),
            role_arn: None,
            key: None,
        }
    }

    fn keys(s: &State) -> Vec<&str> {
        s.levels
            .iter()
            .map(|l| l.creds.access_key_id.as_str())
            .collect()
    }

    #[test]
    fn a_fleets_base_is_taken_only_in_place_of_a_stale_or_missing_one() {
        let now = OffsetDateTime::now_utc();
        let hour = Some(time::Duration::hours(1));
        let shared = [level("BASE2", hour, now)];
        // Nothing yet: the shared base, and the hops to assume above it.
        let mut s = State::default();
        s.share(&shared, now);
        assert_eq!(keys(&s), ["BASE2"]);
        // Its own base is fresh: kept, with its hop.
        let mut s = State {
            levels: vec![level("BASE1", hour, now), level("HOP1", hour, now)],
            ..State::default()
        };
        s.share(&shared, now);
        assert_eq!(keys(&s), ["BASE1", "HOP1"]);
        assert!(s.fresh_levels(1, now).is_some() && s.fresh_levels(3, now).is_none());
        // Its own base nears expiry: the shared one, and the hop goes (assumed again with it).
        let soon = Some(time::Duration::minutes(10));
        s.levels[0] = level("BASE1", soon, now);
        s.share(&shared, now);
        assert_eq!(keys(&s), ["BASE2"]);
        // A shared base near expiry is not taken; keys without expiry are always fresh.
        let mut s = State::default();
        s.share(&[level("OLD", soon, now)], now);
        assert!(s.levels.is_empty());
        s.share(&[level("KEYS", None, now)], now);
        assert_eq!(keys(&s), ["KEYS"]);
    }
}
