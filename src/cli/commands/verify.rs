//! `verify`: the rules EKS applies to a token, offline, and its replay to STS.

use eks_token::{verify, Env, Error, Log};
use time::OffsetDateTime;

use crate::cli::args::ArgError;
use crate::cli::args::VerifyArgs;
use crate::cli::failure::Failure;
use crate::cli::output::{terminal, vlog};
use eks_token::mapping::Identity;

/// The most `verify` reads from stdin (a token is at most 4 KiB).
const MAX_STDIN: u64 = 1 << 20;

/// `verify`: the report on stdout, and whether EKS would accept the token.
pub(crate) fn verify(v: &VerifyArgs, env: &Env, log: &Log) -> Result<(String, bool), Failure> {
    if v.online && v.cluster_id.is_none() {
        return Err(ArgError::Usage(
            "--online needs --cluster-name: STS checks the signature for that cluster".into(),
        )
        .into());
    }
    let token = match &v.token {
        Some(t) if t.expose() != "-" => t.expose().trim().to_owned(),
        _ => super::read_stdin(
            MAX_STDIN,
            v.timeout,
            "pipe the token in or give it as an argument (a token is at most 4 KiB)",
        )
        .map_err(|e| Error::Io {
            what: "cannot read the token from stdin".into(),
            source: e,
        })?,
    };
    log.hide(&token);
    let now = OffsetDateTime::now_utc();
    let report = verify::check_in(env, &token, now)?;
    if let (Some(json), Some(cluster)) = (v.authenticator, &v.cluster_id) {
        return authenticator_verify(env, log, &token, cluster, v, &report, json);
    }
    vlog!(
        log,
        "checked a {}-byte token against the EKS server's rules: {} broken",
        report.size,
        report.failures.len()
    );
    // The cluster name is not in the token (only the name of its header is signed):
    // only STS, asked with the name, can tell.
    let notes: &[(&str, &str)] = if v.online {
        &[]
    } else {
        &[(
            "cluster name",
            "not checked offline (only --online checks it)",
        )]
    };
    let mut out = describe(&report, now, notes);
    let mut online = None;
    if let (true, Some(cluster)) = (v.online, &v.cluster_id) {
        vlog!(
            log,
            "replaying the token to STS with x-k8s-aws-id: {cluster}"
        );
        match verify::replay(env, log, &token, cluster, v.timeout) {
            Ok(id) => {
                for (label, value) in [
                    ("identity", &id.arn),
                    ("account", &id.account),
                    ("user id", &id.user_id),
                ] {
                    out.push_str(&line(label, value));
                }
                online = Some(verify::Online::Accepted);
            }
            Err(e) => {
                let (why, what) = match &e {
                    Error::Service(se) => (
                        format!(
                            "STS refused the token for cluster {cluster}: {}: {}",
                            se.code, se.message
                        ),
                        verify::Online::Refused,
                    ),
                    other => (
                        format!("STS could not be asked: {other}"),
                        verify::Online::Unanswered,
                    ),
                };
                out.push_str(&line("FAIL", &format!("online: {why}")));
                online = Some(what);
            }
        }
    }
    // The verdict last, from everything checked.
    out.push_str(&verdict(&report, online));
    let confirmed = matches!(online, None | Some(verify::Online::Accepted));
    Ok((out, report.ok() && confirmed))
}

/// One `label  value` line of the report: what the value holds that a terminal would act
/// on (a token's text, STS's words) shown escaped, so that no value can start a line of
/// its own, least of all a second verdict.
fn line(label: &str, value: &str) -> String {
    format!("{label:<16}{}\n", terminal(value))
}

/// The report for a person: one line each (size, region, access key id, signing time,
/// time left, signed headers, session token), each broken rule, then `notes`.
fn describe(r: &verify::Report, now: OffsetDateTime, notes: &[(&str, &str)]) -> String {
    use eks_token::Token;
    // "45s", "14m 2s", "3h 5m"; a date ahead of ours shows as negative.
    let human = |secs: i64| {
        let sign = if secs < 0 { "-" } else { "" };
        match secs.unsigned_abs() {
            s @ 0..=59 => format!("{sign}{s}s"),
            s @ 60..=3599 => format!("{sign}{}m {}s", s / 60, s % 60),
            s => format!("{sign}{}h {}m", s / 3600, s % 3600 / 60),
        }
    };
    let mut out = String::new();
    out.push_str(&line(
        "size",
        &format!("{} bytes (EKS accepts up to 4096)", r.size),
    ));
    if let Some(region) = &r.region {
        out.push_str(&line("region", region));
    }
    if let Some(a) = &r.access_key_id {
        out.push_str(&line("access key id", a));
    }
    if let Some(d) = r.signed_at {
        out.push_str(&line(
            "signed at",
            &format!(
                "{} ({} ago)",
                Token::rfc3339(d),
                human((now - d).whole_seconds())
            ),
        ));
        let left = match r.valid_until() {
            Some(until) if until > now => human((until - now).whole_seconds()),
            Some(until) => format!(
                "none (expired {} ago)",
                human((now - until).whole_seconds())
            ),
            None => "none (the date has no expiry)".into(),
        };
        out.push_str(&line("time left", &left));
    }
    if let Some(h) = &r.signed_headers {
        out.push_str(&line("signed headers", h));
    }
    let session = r
        .session_token_len
        .map_or("none (long-term keys)".into(), |n| {
            format!("present ({n} bytes)")
        });
    out.push_str(&line("session token", &session));
    for (rule, detail) in &r.failures {
        out.push_str(&line("FAIL", &format!("{rule}: {detail}")));
    }
    for (label, value) in notes {
        out.push_str(&line(label, value));
    }
    out
}

/// The verdict line, last: whether EKS would accept the token, with what came of
/// replaying it to STS, if it was.
fn verdict(r: &verify::Report, online: Option<verify::Online>) -> String {
    use verify::Online;
    let v = match (r.ok(), online) {
        (true, None) => "EKS would accept this token (if STS accepts its signature)".into(),
        (true, Some(Online::Accepted)) => "EKS would accept this token (STS accepted it)".into(),
        (true, Some(Online::Refused)) => "EKS would reject this token (STS refused it)".into(),
        (true, Some(Online::Unanswered)) => {
            "not known: the rules hold, but STS could not be asked".into()
        }
        (false, _) => format!(
            "EKS would reject this token ({} rule(s) broken)",
            r.failures.len()
        ),
    };
    line("verdict", &v)
}

/// aws-iam-authenticator's `verify`: the token's rules, then STS; the identity as its
/// JSON (`-o json`) or its Go struct format.
fn authenticator_verify(
    env: &Env,
    log: &Log,
    token: &str,
    cluster: &str,
    v: &VerifyArgs,
    report: &verify::Report,
    json: bool,
) -> Result<(String, bool), Failure> {
    if let Some((rule, detail)) = report.failures.first() {
        return Err(
            Error::InvalidInput(format!("could not verify token: {rule}: {detail}")).into(),
        );
    }
    let caller = verify::replay(env, log, token, cluster, v.timeout)?;
    let access_key_id = report.access_key_id.clone().unwrap_or_default();
    // As the authenticator derives it: the canonical ARN, the session name.
    let id = Identity::new(
        &caller.arn,
        &caller.account,
        &caller.user_id,
        &access_key_id,
    )
    .map_err(Error::InvalidInput)?;
    #[derive(serde::Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Printed<'a> {
        #[serde(rename = "ARN")]
        arn: &'a str,
        #[serde(rename = "CanonicalARN")]
        canonical_arn: &'a str,
        #[serde(rename = "AccountID")]
        account_id: &'a str,
        #[serde(rename = "UserID")]
        user_id: &'a str,
        session_name: &'a str,
        #[serde(rename = "AccessKeyID")]
        access_key_id: &'a str,
    }
    let out = Printed {
        arn: &id.arn,
        canonical_arn: &id.canonical_arn,
        account_id: &id.account,
        user_id: &id.user_id,
        session_name: &id.session_name,
        access_key_id: &id.access_key_id,
    };
    let text = if json {
        super::aws_json(&out)
    } else {
        format!(
            "&{{ARN:{} CanonicalARN:{} AccountID:{} UserID:{} SessionName:{} AccessKeyID:{}}}\n",
            out.arn,
            out.canonical_arn,
            out.account_id,
            out.user_id,
            out.session_name,
            out.access_key_id
        )
    };
    Ok((text, true))
}
