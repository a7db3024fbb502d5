//! `verify`: the rules EKS applies to a token, offline, and its replay to STS.

use std::io::Read;

use eks_token::{verify, Env, Error};
use time::OffsetDateTime;

use crate::cli::args::VerifyArgs;
use crate::cli::{vlog, ArgError, Failure};

/// The most `verify` reads from stdin (a token is at most 4 KiB).
const MAX_STDIN: u64 = 1 << 20;

/// Standard input, trimmed, read within `timeout` and at most `max` bytes: a writer that
/// never writes nor closes (or a terminal nobody types on) ends in an error, not a wait.
/// (A thread reads, so that the wait is bounded whatever stdin is.)
fn read_stdin(max: u64, timeout: std::time::Duration) -> std::io::Result<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let read = std::io::stdin()
            .lock()
            .take(max + 1)
            .read_to_end(&mut bytes);
        let _ = tx.send(read.map(|_| bytes));
    });
    let bytes = match rx.recv_timeout(timeout) {
        Ok(read) => read?,
        Err(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                "nothing (or no end) arrived within {timeout:?} (--timeout); pipe the token in or \
                     give it as an argument"
            ),
            ))
        }
    };
    if bytes.len() as u64 > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "more than {} KiB arrived: a token is at most 4 KiB",
                max >> 10
            ),
        ));
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, "it is not UTF-8 text")
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "it was empty: pipe the token in or give it as an argument",
        ));
    }
    Ok(token.to_owned())
}

/// `verify`: the report on stdout, and whether EKS would accept the token.
pub(crate) fn verify(v: &VerifyArgs, env: &Env) -> Result<(String, bool), Failure> {
    if v.online && v.cluster_id.is_none() {
        return Err(ArgError::Usage(
            "--online needs --cluster-name: STS checks the signature for that cluster".into(),
        )
        .into());
    }
    let token = match &v.token {
        Some(t) if t != "-" => t.trim().to_owned(),
        _ => read_stdin(MAX_STDIN, v.timeout).map_err(|e| Error::Io {
            what: "cannot read the token from stdin".into(),
            source: e,
        })?,
    };
    let now = OffsetDateTime::now_utc();
    let report = verify::check_in(env, &token, now)?;
    if let (Some(json), Some(cluster)) = (v.authenticator, &v.cluster_id) {
        return authenticator_verify(env, &token, cluster, v, &report, json);
    }
    vlog!(
        "checked a {}-byte token against the EKS server's rules: {} broken",
        report.size,
        report.failures.len()
    );
    let mut out = report.describe(now);
    let mut accepted = report.ok();
    if let (true, Some(cluster)) = (v.online, &v.cluster_id) {
        vlog!("replaying the token to STS with x-k8s-aws-id: {cluster}");
        match verify::replay(env, &token, cluster, v.timeout, v.verbose) {
            Ok(id) => {
                for (label, value) in [
                    ("identity", &id.arn),
                    ("account", &id.account),
                    ("user id", &id.user_id),
                ] {
                    out.push_str(&format!("{label:<16}{value}\n"));
                }
            }
            Err(e) => {
                let why = match &e {
                    Error::Service(se) => format!(
                        "STS refused the token for cluster {cluster}: {}: {}",
                        se.code, se.message
                    ),
                    other => other.to_string(),
                };
                out.push_str(&format!("{:<16}online: {why}\n", "FAIL"));
                accepted = false;
            }
        }
    }
    Ok((out, accepted))
}

/// aws-iam-authenticator's `verify`: the token's rules, then STS; the identity as its
/// JSON (`-o json`) or its Go struct format.
fn authenticator_verify(
    env: &Env,
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
    let id = verify::replay(env, token, cluster, v.timeout, v.verbose)?;
    // arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION is the role
    // arn:aws:iam::ACCOUNT:role/ROLE; other ARNs are their own canonical form.
    let (canonical, session) = match id.arn.split_once(":assumed-role/") {
        Some((prefix, rest)) => {
            let (role, session) = rest.split_once('/').unwrap_or((rest, ""));
            (
                format!("{}:role/{role}", prefix.replacen(":sts:", ":iam:", 1)),
                session.to_owned(),
            )
        }
        None => (id.arn.clone(), String::new()),
    };
    let access_key_id = report.access_key_id.clone().unwrap_or_default();
    #[derive(serde::Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Identity<'a> {
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
    let out = Identity {
        arn: &id.arn,
        canonical_arn: &canonical,
        account_id: &id.account,
        user_id: &id.user_id,
        session_name: &session,
        access_key_id: &access_key_id,
    };
    let text = if json {
        let mut buf = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
        serde::Serialize::serialize(&out, &mut ser).expect("plain JSON");
        String::from_utf8(buf).expect("JSON is UTF-8") + "\n"
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
