//! `credential_process`: runs a command (without a shell) and reads its Version 1 JSON.
//! Its stderr passes through to ours; a hang is ended by the run's deadline.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::credentials::{self, Credentials, JsonError};
use crate::error::{Error, Result};

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

/// Runs `command` for `profile` and parses its output; gives up after `timeout`.
pub(crate) fn run(command: &str, profile: &str, timeout: Duration) -> Result<Credentials> {
    let err = |m: String| Error::Source {
        source: "credential_process",
        message: format!("profile {profile}: {m}"),
    };
    let words = split_words(command).map_err(|e| err(format!("cannot split the command: {e}")))?;
    let (program, args) = words
        .split_first()
        .ok_or_else(|| err("credential_process is empty".into()))?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        // Piped and copied, not inherited: a grandchild that outlives a killed command
        // must not hold kubectl's stderr open.
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| err(format!("cannot run {program}: {e}")))?;
    let mut child_stderr = child.stderr.take().expect("piped");
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut child_stderr, &mut std::io::stderr());
    });
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = (&mut stdout).take(MAX_OUTPUT).read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| err(e.to_string()))? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(err(format!(
                "{program} did not finish within {:.0} s (raise --timeout if it needs longer)",
                timeout.as_secs_f64()
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let output = reader.join().unwrap_or_default();
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
