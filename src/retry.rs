//! The SDKs' "standard" retry mode: 3 attempts, jittered
//! exponential backoff capped at 20 s, `x-amz-retry-after` honoured, only retryable
//! errors retried, and never past the run's deadline.

use std::time::Duration;

/// Attempts per request, the first included.
pub(crate) const MAX_ATTEMPTS: u32 = 3;

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
