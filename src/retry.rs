//! The SDKs' "standard" retry mode: 3 attempts (or `AWS_MAX_ATTEMPTS`), jittered
//! exponential backoff capped at 20 s, `x-amz-retry-after` honoured, only retryable
//! errors retried, and never past the run's deadline.

use std::time::Duration;

use crate::config_files::ProfileSet;
use crate::env::Env;
use crate::error::{Error, Result};

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
                    return Err(Error::InvalidInput(format!(
                        "{origin} is {mode:?}: use standard, adaptive or legacy"
                    )))
                }
            },
        };
        let max_attempts = match setting("AWS_MAX_ATTEMPTS", "max_attempts") {
            None => default,
            Some((v, origin)) => match v.parse::<u32>() {
                Ok(n) if n >= 1 => n,
                _ => {
                    return Err(Error::InvalidInput(format!(
                        "{origin} is {v:?}: use a whole number of attempts, at least 1"
                    )))
                }
            },
        };
        Ok(Policy { max_attempts })
    }
}

/// Error codes worth retrying (throttling and transient faults).
const RETRYABLE_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "RequestTimeout",
    "RequestTimeoutException",
    "IDPCommunicationError",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
];

/// Whether an error answer (status and code) is transient.
pub(crate) fn is_retryable(status: u16, code: &str) -> bool {
    matches!(status, 500 | 502 | 503 | 504) || RETRYABLE_CODES.contains(&code)
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
    fn classification() {
        assert!(is_retryable(400, "Throttling"));
        assert!(is_retryable(503, ""));
        assert!(is_retryable(400, "IDPCommunicationError"));
        assert!(!is_retryable(403, "AccessDenied"));
        assert!(!is_retryable(400, "InvalidIdentityToken"));
        assert!(!is_retryable(400, "ExpiredTokenException"));
    }

    #[test]
    fn backoff_is_bounded() {
        for _ in 0..100 {
            assert!(backoff(2, None) < Duration::from_secs(1));
            assert!(backoff(3, None) < Duration::from_secs(2));
        }
        assert_eq!(backoff(2, Some("250")), Duration::from_millis(250));
    }
}
