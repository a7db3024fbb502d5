//! `credential_process`: runs a command (without a shell) and reads its Version 1 JSON.
//! Its stderr passes through to ours; a hang is ended by the run's deadline, and the
//! command's whole process group with it.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::{Context, Fetched, Prepared, Source};
use crate::credentials::{self, Credentials, JsonError};
use crate::error::{Error, Result};
use crate::runtime::Stop;

/// A profile's `credential_process`.
#[derive(Debug, Clone)]
pub(crate) struct Process {
    /// The profile.
    pub(crate) profile: String,
    /// The command.
    pub(crate) command: String,
}

impl Source for Process {
    fn label(&self) -> String {
        format!("profile {} (credential_process)", self.profile)
    }

    fn runs_a_program(&self) -> bool {
        true
    }

    fn typed_keys(&self) -> Option<String> {
        Some(self.label())
    }

    fn fetch(&self, ctx: &Context<'_>, _: Prepared) -> Result<Fetched> {
        let budget = ctx
            .session
            .http()
            .remaining()
            .min(std::time::Duration::from_secs(60));
        let creds = run(&self.command, &self.profile, budget, ctx.session.stop())?;
        ctx.session.log().hide_credentials(&creds);
        Ok(Fetched {
            creds,
            label: self.label(),
        })
    }

    #[cfg(feature = "testkit")]
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

const MAX_OUTPUT: u64 = 1 << 20;

/// Why a command line cannot be split into words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SplitError {
    UnclosedSingleQuote,
    UnclosedDoubleQuote,
    TrailingBackslash,
}

impl std::fmt::Display for SplitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SplitError::UnclosedSingleQuote => "unclosed single quote",
            SplitError::UnclosedDoubleQuote => "unclosed double quote",
            SplitError::TrailingBackslash => "a backslash ends the command",
        })
    }
}

/// What is wrong with the process's output (names fields, never values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OutputError {
    NotJson,
    Version,
    Credentials(JsonError),
}

impl std::fmt::Display for OutputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutputError::NotJson => f.write_str("its output is not JSON"),
            OutputError::Version => f.write_str("its output must have \"Version\": 1"),
            OutputError::Credentials(e) => e.fmt(f),
        }
    }
}

/// Splits a command line into words: whitespace separates, single and double quotes
/// group, a backslash escapes the next character (outside single quotes).
pub(crate) fn split_words(command: &str) -> std::result::Result<Vec<String>, SplitError> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err(SplitError::UnclosedSingleQuote),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c) => cur.push(c),
                            None => return Err(SplitError::TrailingBackslash),
                        },
                        Some(c) => cur.push(c),
                        None => return Err(SplitError::UnclosedDoubleQuote),
                    }
                }
            }
            '\\' => {
                in_word = true;
                cur.push(chars.next().ok_or(SplitError::TrailingBackslash)?);
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// Runs `command` for `profile` and parses its output, all within `timeout`. The
/// command runs in its own process group, which is ended when the run is over, however
/// it ends: the output read, an error, the deadline, or `stop` (a signal to the caller).
/// A wrapper's background child (`sleep 30 &`) can neither outlive it nor, by holding
/// its output open, keep kubectl waiting.
pub(crate) fn run(
    command: &str,
    profile: &str,
    timeout: Duration,
    stop: &Stop,
) -> Result<Credentials> {
    let err = |m: String| Error::source("credential_process", format!("profile {profile}: {m}"));
    if stop.is_stopped() {
        return Err(Error::Stopped);
    }
    let words = split_words(command).map_err(|e| err(format!("cannot split the command: {e}")))?;
    let (program, args) = words
        .split_first()
        .ok_or_else(|| err("credential_process is empty".into()))?;
    let deadline = Instant::now() + timeout;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        // Piped and copied, not inherited: a grandchild must not hold kubectl's stderr.
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| err(format!("cannot run {program}: {e}")))?;
    let group = stop.track(rustix::process::Pid::from_child(&child));
    let mut child_stderr = child.stderr.take().expect("piped");
    let (stderr_done, stderr_ended) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut child_stderr, &mut std::io::stderr());
        let _ = stderr_done.send(());
    });
    // The output arrives in chunks from a reader thread, so that waiting for it can
    // stop at the deadline.
    let mut stdout = child.stdout.take().expect("piped");
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    let mut output = Vec::new();
    let mut wait = || -> Result<ExitStatus> {
        let mut eof = false;
        let mut status = None;
        loop {
            if stop.is_stopped() {
                return Err(Error::Stopped);
            }
            if status.is_none() {
                status = child.try_wait().map_err(|e| err(e.to_string()))?;
            }
            if let Some(st) = status {
                // Done when the output ended, or (a background child holding it open)
                // when what arrived is already a whole JSON document.
                if eof
                    || !st.success()
                    || serde_json::from_slice::<serde_json::Value>(&output).is_ok()
                {
                    return Ok(st);
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return status.ok_or_else(|| {
                    err(format!(
                        "{program} did not finish within {:.0} s (raise --timeout if it needs longer)",
                        timeout.as_secs_f64()
                    ))
                });
            }
            match rx.recv_timeout(left.min(Duration::from_millis(10))) {
                Ok(chunk) if output.len() + chunk.len() > MAX_OUTPUT as usize => {
                    return Err(err(format!(
                        "its output is larger than {} KiB",
                        MAX_OUTPUT / 1024
                    )))
                }
                Ok(chunk) => output.extend_from_slice(&chunk),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => eof = true,
            }
        }
    };
    let result = wait();
    // End whatever is left of the group, then reap the command if it still ran, and
    // let its last words on stderr through (the group is gone, so the pipe ends; a
    // process that left the group by starting its own session gets a second).
    drop(group);
    let _ = stderr_ended.recv_timeout(Duration::from_secs(1));
    let status = match result {
        Ok(st) => st,
        Err(e) => {
            let _ = child.wait();
            return Err(e);
        }
    };
    if !status.success() {
        return Err(err(format!("{program} failed ({status})")));
    }
    parse_output(&output).map_err(|e| err(e.to_string()))
}

/// Parses the Version 1 output.
pub(crate) fn parse_output(output: &[u8]) -> std::result::Result<Credentials, OutputError> {
    let json: serde_json::Value =
        serde_json::from_slice(output).map_err(|_| OutputError::NotJson)?;
    if json.get("Version").and_then(|v| v.as_u64()) != Some(1) {
        return Err(OutputError::Version);
    }
    credentials::from_json(&json, "SessionToken").map_err(OutputError::Credentials)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        assert_eq!(
            split_words(r#"/bin/get-creds --profile "a b" 'c d' e\ f"#).unwrap(),
            ["/bin/get-creds", "--profile", "a b", "c d", "e f"]
        );
        assert_eq!(split_words("  x  ").unwrap(), ["x"]);
        assert_eq!(split_words(r#""""#).unwrap(), [""]);
        assert_eq!(
            split_words("'open").unwrap_err(),
            SplitError::UnclosedSingleQuote
        );
    }

    #[test]
    fn output() {
        let ok = br#"{"Version":1,"AccessKeyId":"AKID","SecretAccessKey":"S","SessionToken":"T","Expiration":"2030-01-01T00:00:00Z"}"#;
        let c = parse_output(ok).unwrap();
        assert_eq!(c.access_key_id, "AKID");
        assert!(c.expiration.is_some());
        assert!(parse_output(br#"{"Version":2}"#).is_err());
        let e = parse_output(br#"{"Version":1,"AccessKeyId":"AKID","SecretAccessKey":""}"#)
            .unwrap_err();
        assert!(e.to_string().contains("SecretAccessKey"));
        assert_eq!(
            parse_output(b"SECRET not json").unwrap_err(),
            OutputError::NotJson
        );
    }
}
