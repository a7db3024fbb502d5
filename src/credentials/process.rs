//! `credential_process`: runs a command (without a shell) and reads its Version 1 JSON.
//! Its stderr passes through to ours; a hang is ended by the run's deadline.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::Credentials;
use crate::error::{Error, Result};

const MAX_OUTPUT: u64 = 1 << 20;

/// Splits a command line into words: whitespace separates, single and double quotes
/// group, a backslash escapes the next character (outside single quotes).
pub fn split_words(command: &str) -> std::result::Result<Vec<String>, String> {
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
                        None => return Err("unclosed single quote".into()),
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
                            None => return Err("a backslash ends the command".into()),
                        },
                        Some(c) => cur.push(c),
                        None => return Err("unclosed double quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                cur.push(chars.next().ok_or("a backslash ends the command")?);
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
pub fn run(command: &str, profile: &str, timeout: Duration) -> Result<Credentials> {
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
    parse_output(&output).map_err(err)
}

/// Parses the Version 1 output; messages name fields, never values.
pub fn parse_output(output: &[u8]) -> std::result::Result<Credentials, String> {
    let json: serde_json::Value =
        serde_json::from_slice(output).map_err(|_| "its output is not JSON".to_owned())?;
    if json.get("Version").and_then(|v| v.as_u64()) != Some(1) {
        return Err("its output must have \"Version\": 1".into());
    }
    super::from_json(&json, "SessionToken")
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
        assert!(split_words("'open").is_err());
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
        assert!(e.contains("SecretAccessKey"));
        assert!(parse_output(b"SECRET not json")
            .unwrap_err()
            .contains("not JSON"));
    }
}
