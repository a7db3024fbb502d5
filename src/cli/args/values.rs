//! The option values that are more than a string, parsed in one place: durations,
//! timeouts, refresh intervals, whole seconds, file modes, `--query` paths.

use std::time::Duration;

use super::error::{usage, ArgError, Result};
use super::types::Format;

/// A file (to write, or for --check to read), as `flag` names it: a path whose last part is a file name (not
/// empty, `-`, a trailing `/`, `.` or `..`: [`eks_token::files::names_a_file`]).
pub(crate) fn file_path(flag: &str, s: &str) -> Result<std::path::PathBuf> {
    let path = std::path::PathBuf::from(s);
    if s.is_empty() {
        return Err(usage(format!("{flag} is empty: name a file")));
    }
    if s == "-" {
        return Err(usage(format!(
            "{flag} -: name a file (- is not stdout here)"
        )));
    }
    if !eks_token::files::names_a_file(&path) {
        let dir = s.trim_end_matches('/');
        return Err(usage(format!(
            "{flag} {s:?} names a directory, not a file: name the file (e.g. {dir}/token)"
        )));
    }
    Ok(path)
}

/// The most a `--timeout` or `--refresh-interval` may be.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// `30`, `30s`, `1500ms`, `5m`, `1h`, `1m30s`; `None` when malformed.
pub(crate) fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(secs) = s.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let part = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.checked_mul(60)?),
            "h" => Duration::from_secs(n.checked_mul(3600)?),
            _ => return None,
        };
        total = total.checked_add(part)?;
    }
    Some(total)
}

/// A deadline option: a duration of more than zero, at most 24 hours.
pub(crate) fn parse_timeout(v: &str, name: &str) -> Result<Duration> {
    let d = parse_duration(v)
        .ok_or_else(|| usage(format!("{name} {v:?} is not a duration (e.g. 30, 30s, 1m)")))?;
    if d.is_zero() || d > MAX_DURATION {
        return Err(ArgError::Invalid(format!(
            "{name} must be more than zero and at most 24h"
        )));
    }
    Ok(d)
}

/// `--refresh-interval`: 100 ms to 24 hours.
pub(crate) fn parse_interval(v: &str) -> Result<Duration> {
    let d = parse_duration(v).ok_or_else(|| {
        usage(format!(
            "--refresh-interval {v:?} is not a duration (e.g. 30s, 5m)"
        ))
    })?;
    if d < Duration::from_millis(100) || d > MAX_DURATION {
        return Err(ArgError::Invalid(
            "--refresh-interval must be between 100ms and 24h".into(),
        ));
    }
    Ok(d)
}

/// aws-cli's whole seconds (`--cli-read-timeout 20`).
pub(crate) fn parse_seconds(v: &str, name: &str) -> Result<u64> {
    v.trim()
        .parse::<u64>()
        .map_err(|_| usage(format!("{name} {v:?} is not a whole number of seconds")))
}

/// `--duration-seconds`: a whole number of seconds (its range is the library's check).
pub(crate) fn parse_duration_seconds(v: &str) -> Result<u32> {
    v.trim().parse::<u32>().map_err(|_| {
        usage(format!(
            "--duration-seconds {v:?} is not a whole number of seconds"
        ))
    })
}

/// An octal mode such as `0600`, `600` or `0o640`, that lets the owner read and write
/// and gives others nothing.
pub(crate) fn parse_mode(v: &str) -> Result<u32> {
    let digits = v.trim().trim_start_matches("0o");
    let mode = u32::from_str_radix(digits, 8)
        .map_err(|_| usage(format!("--mode {v:?} is not an octal mode (e.g. 0600)")))?;
    if mode > 0o777 {
        return Err(ArgError::Invalid(format!(
            "--mode {v} is not a permission mode: use 0600, 0640 or similar"
        )));
    }
    if mode & 0o600 != 0o600 {
        return Err(ArgError::Invalid(format!(
            "--mode {v} must let the owner read and write the file (0600 or more)"
        )));
    }
    if mode & 0o007 != 0 {
        return Err(ArgError::Invalid(format!(
            "--mode {v} gives other users access to a bearer token (whoever reads it acts as \
             the role); share it through the group instead, e.g. the pod's fsGroup and --mode 0640"
        )));
    }
    Ok(mode)
}

/// A field path for `--query`: identifiers joined by dots (`status.token`, `Arn`).
pub(crate) fn parse_query(q: &str) -> Result<Vec<String>> {
    let fields: Vec<String> = q.split('.').map(str::to_owned).collect();
    let ok = fields.iter().all(|f| {
        !f.is_empty()
            && f.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    });
    if ok {
        Ok(fields)
    } else {
        Err(usage(format!(
            "--query {q:?} is not supported: eks-token answers a field path such as \
             status.token (the bare token) or Arn, not other JMESPath expressions"
        )))
    }
}

/// `--output`: one of `choices` (the first when not given), else a usage error naming
/// them.
pub(crate) fn parse_output(given: Option<&str>, choices: &[(&str, Format)]) -> Result<Format> {
    let Some(given) = given else {
        return Ok(choices[0].1);
    };
    if let Some((_, f)) = choices.iter().find(|(name, _)| *name == given) {
        return Ok(*f);
    }
    let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
    let (last, rest) = names.split_last().expect("choices");
    Err(usage(format!(
        "--output {given:?} is not supported here: use {} or {last}",
        rest.join(", ")
    )))
}
