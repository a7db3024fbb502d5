//! The SDKs' "standard" retry mode: 3 attempts (or `AWS_MAX_ATTEMPTS`), jittered
//! exponential backoff capped at 20 s, `x-amz-retry-after` honoured, only retryable
//! errors retried, and never past the run's deadline.

use std::time::Duration;

use crate::config_files::ProfileSet;
use crate::env::Env;
use crate::error::{Error, Result, Retry};
use crate::http::Client;
use crate::log::{vlog, Log};
use crate::runtime::Stop;

/// Attempts per request, the first included, in the standard and adaptive modes.
const STANDARD_ATTEMPTS: u32 = 3;
/// Attempts in botocore's `legacy` mode (its `_retry.json`).
const LEGACY_ATTEMPTS: u32 = 5;

/// How many attempts a request gets: `AWS_MAX_ATTEMPTS` (else the profile's
/// `max_attempts`), else the default of `AWS_RETRY_MODE` (else `retry_mode`): 3 for
/// `standard` and `adaptive`, 5 for `legacy`; 3 when nothing is set. Every attempt
/// stays within the run's deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    /// Attempts, the first included (at least 1).
    pub(crate) max_attempts: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_attempts: STANDARD_ATTEMPTS,
        }
    }
}

impl Policy {
    /// Reads the environment, then the selected profile; a value botocore refuses is
    /// refused here too, naming the variable or the profile key.
    pub(crate) fn load(env: &Env, profiles: &ProfileSet, profile: &str) -> Result<Policy> {
        let setting = |var: &str, key: &str| {
            profiles
                .setting(env, profile, var, key)
                .map(|(v, origin)| (v.trim().to_owned(), origin))
        };
        let default = match setting("AWS_RETRY_MODE", "retry_mode") {
            None => STANDARD_ATTEMPTS,
            Some((mode, origin)) => match mode.as_str() {
                "standard" | "adaptive" => STANDARD_ATTEMPTS,
                "legacy" => LEGACY_ATTEMPTS,
                _ => {
                    return Err(Error::config(
                        None,
                        format!("{origin} is {mode:?}: use standard, adaptive or legacy"),
                    ))
                }
            },
        };
        let max_attempts = match setting("AWS_MAX_ATTEMPTS", "max_attempts") {
            None => default,
            Some((v, origin)) => match v.parse::<u32>() {
                Ok(n) if n >= 1 => n,
                _ => {
                    return Err(Error::config(
                        None,
                        format!("{origin} is {v:?}: use a whole number of attempts, at least 1"),
                    ))
                }
            },
        };
        Ok(Policy { max_attempts })
    }
}

/// One attempt of a request: its number (from 1) and how long it may take.
pub(crate) struct Attempt {
    pub(crate) number: u32,
    /// Half of what is left of the run's deadline, so that a retry still fits; the last
    /// attempt may use all of it.
    pub(crate) timeout: Duration,
}

/// Why an attempt failed, and the server's `x-amz-retry-after`, if it sent one.
pub(crate) struct Failed {
    pub(crate) error: Error,
    pub(crate) retry_after: Option<String>,
}

impl From<Error> for Failed {
    fn from(error: Error) -> Self {
        Failed {
            error,
            retry_after: None,
        }
    }
}

/// The one retry loop: runs `attempt` until it succeeds, fails with an error that is
/// not transient ([`Retry::Now`]), `attempts` are used, or the run's deadline (or a
/// stop) leaves no time for another; sleeping [`backoff`] between attempts.
pub(crate) fn run<T>(
    http: &Client,
    log: &Log,
    stop: &Stop,
    attempts: u32,
    what: &str,
    mut attempt: impl FnMut(&Attempt) -> std::result::Result<T, Failed>,
) -> Result<T> {
    let mut number = 1;
    loop {
        if stop.is_stopped() {
            return Err(Error::Stopped);
        }
        let left = http.remaining();
        let timeout = if number < attempts {
            (left / 2).max(Duration::from_secs(2)).min(left)
        } else {
            left
        };
        let failed = match attempt(&Attempt { number, timeout }) {
            Ok(t) => return Ok(t),
            Err(f) => f,
        };
        if failed.error.retry() != Retry::Now || number >= attempts {
            return Err(failed.error);
        }
        number += 1;
        let sleep = backoff(number, failed.retry_after.as_deref());
        if sleep >= http.remaining() {
            return Err(failed.error);
        }
        vlog!(
            log,
            "{what}: retrying in {:.0} ms",
            sleep.as_secs_f64() * 1000.0
        );
        std::thread::sleep(sleep);
    }
}

/// How long to sleep before attempt `next_attempt` (2 or 3): `rand(0,1) *
/// min(2^(n-2) s, 20 s)`, or the server's `x-amz-retry-after` (milliseconds).
pub(crate) fn backoff(next_attempt: u32, retry_after: Option<&str>) -> Duration {
    if let Some(ms) = retry_after.and_then(|v| v.trim().parse::<u64>().ok()) {
        return Duration::from_millis(ms.min(20_000));
    }
    let base = (1u64 << (next_attempt.saturating_sub(2)).min(5)).min(20) as f64;
    Duration::from_secs_f64(jitter() * base)
}

/// A uniform number in [0, 1) from the system's random source.
fn jitter() -> f64 {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 8];
    if ring::rand::SystemRandom::new().fill(&mut b).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded() {
        for _ in 0..100 {
            assert!(backoff(2, None) < Duration::from_secs(1));
            assert!(backoff(3, None) < Duration::from_secs(2));
        }
        assert_eq!(backoff(2, Some("250")), Duration::from_millis(250));
    }
}
