//! The library's error type: each variant is something a user can act on, and its
//! message says what failed, with what input (never a secret), and what to do.
//! Internal layers have their own small error enums (URLs, XML, config files,
//! credentials documents); they become one of these variants where a caller sees them.

use std::fmt;

/// Everything that can go wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A value is well-formed text but not valid, e.g. a malformed role ARN or region.
    InvalidInput(String),
    /// A URL from the environment or the config files is refused.
    InvalidUrl {
        /// Where it came from: the variable or profile key.
        origin: String,
        /// The URL as written, any user part replaced by `***`.
        url: String,
        /// Why it is refused.
        reason: String,
    },
    /// No credential source was configured; lists where we looked.
    NoCredentials(Vec<String>),
    /// A configured credential source failed (file unreadable, bad reply, ...).
    Source {
        /// Which source, e.g. "web identity".
        source: &'static str,
        /// What went wrong and what to do.
        message: String,
    },
    /// An AWS service (STS, EKS) answered with an error.
    Service(Box<ServiceError>),
    /// A request could not be completed (network, TLS, timeout, bad reply).
    Http {
        /// What we were doing, e.g. "AssumeRole arn:aws:iam::...".
        what: String,
        /// Why it failed.
        detail: String,
        /// Whether the same request may succeed later (a connection refused, a
        /// timeout), as opposed to an answer that will not change (a TLS failure, a
        /// reply that is not STS's).
        retryable: bool,
    },
    /// A local file or stream could not be read or written.
    Io {
        /// What we were doing, naming the path.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// An error answer from an AWS service.
#[derive(Debug, Clone)]
pub struct ServiceError {
    /// The action, e.g. `AssumeRole` or `DescribeCluster`.
    pub operation: &'static str,
    /// What the call was about: the role ARN, the cluster name ("" for none).
    pub subject: String,
    /// HTTP status.
    pub status: u16,
    /// The service's error code, e.g. `AccessDenied`.
    pub code: String,
    /// The service's message.
    pub message: String,
    /// The request id.
    pub request_id: String,
    /// What the user can do about it, when we know.
    pub hint: Option<String>,
}

impl Error {
    /// A refused URL from `origin` (a variable or profile key).
    pub(crate) fn url(origin: &str, text: &str, why: crate::url::UrlError) -> Error {
        Error::InvalidUrl {
            origin: origin.to_owned(),
            url: crate::url::redacted(text),
            reason: why.to_string(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidInput(m) => f.write_str(m),
            Error::InvalidUrl {
                origin,
                url,
                reason,
            } => write!(
                f,
                "{origin} {url:?} is refused: {reason}; give a plain URL such as \
                 https://host[:port][/path]"
            ),
            Error::NoCredentials(tried) => write!(
                f,
                "no AWS credentials found; looked in: {}. Set AWS_ACCESS_KEY_ID and \
                 AWS_SECRET_ACCESS_KEY, use --profile, or run in a pod with IRSA \
                 (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN) or EKS Pod Identity",
                tried.join("; ")
            ),
            Error::Source { source, message } => write!(f, "{source} credentials: {message}"),
            Error::Service(e) => fmt::Display::fmt(e, f),
            Error::Http { what, detail, .. } => write!(f, "{what} failed: {detail}"),
            Error::Io { what, source } => write!(f, "{what}: {}", io_in_words(source)),
        }
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.operation)?;
        if !self.subject.is_empty() {
            write!(f, " {}", self.subject)?;
        }
        write!(f, " failed: {}: {}", self.code, self.message)?;
        if !self.request_id.is_empty() {
            write!(f, " (request id {})", self.request_id)?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "; {hint}")?;
        }
        Ok(())
    }
}

/// An I/O error in words a user can act on (the OS's own text alone is terse).
fn io_in_words(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    let words = match e.kind() {
        K::NotADirectory => "a part of the path that should be a directory is a file",
        K::PermissionDenied => "permission denied (by the file's or its directory's mode)",
        K::ReadOnlyFilesystem => "the filesystem is read-only (a read-only mount?)",
        K::StorageFull => "no space left on the device",
        K::AlreadyExists => "something is already there",
        K::IsADirectory => "it is a directory",
        _ => return e.to_string(),
    };
    // A message of ours (not the OS's) already says it.
    match e.raw_os_error() {
        Some(_) => format!("{words} ({e})"),
        None => e.to_string(),
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Service(e) => Some(&**e),
            _ => None,
        }
    }
}

impl std::error::Error for ServiceError {}

/// Service error codes that say the request itself is wrong: asking again, unchanged,
/// gets the same answer.
const INVALID_REQUEST_CODES: &[&str] = &[
    "ValidationError",
    "MalformedPolicyDocument",
    "PackedPolicyTooLarge",
    "InvalidParameterValue",
    "InvalidParameterCombination",
    "InvalidIdentityToken",
    "InvalidAuthorizationMessageException",
];

impl Error {
    /// Whether the same request may succeed later, with nothing changed on this side:
    /// a credential file that is not there yet, a network error, throttling, a policy
    /// change still on its way through IAM (AccessDenied); not a request that is
    /// invalid as written (a malformed ARN, a refused URL, a ValidationError).
    pub fn is_retryable(&self) -> bool {
        use std::io::ErrorKind as K;
        match self {
            Error::InvalidInput(_) | Error::InvalidUrl { .. } => false,
            Error::NoCredentials(_) | Error::Source { .. } => true,
            Error::Service(e) => !INVALID_REQUEST_CODES.contains(&e.code.as_str()),
            Error::Http { retryable, .. } => *retryable,
            Error::Io { source, .. } => matches!(
                source.kind(),
                K::NotFound | K::Interrupted | K::TimedOut | K::WouldBlock
            ),
        }
    }
}

/// Shorthand for the crate's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn the_cause_is_kept_and_retrying_is_a_question_of_the_error() {
        let io = Error::Io {
            what: "cannot write the token file /x/t".into(),
            source: std::io::Error::from_raw_os_error(20),
        };
        assert_eq!(
            io.source()
                .and_then(|s| s.downcast_ref::<std::io::Error>())
                .map(|e| e.kind()),
            Some(std::io::ErrorKind::NotADirectory)
        );
        assert!(io.to_string().contains("is a file"), "{io}");
        assert!(!io.is_retryable());
        let service = |code: &str| {
            Error::Service(Box::new(ServiceError {
                operation: "AssumeRole",
                subject: String::new(),
                status: 400,
                code: code.into(),
                message: String::new(),
                request_id: String::new(),
                hint: None,
            }))
        };
        assert!(service("AccessDenied").is_retryable(), "IAM propagates");
        assert!(service("Throttling").is_retryable());
        assert!(!service("ValidationError").is_retryable());
        assert!(service("AccessDenied").source().is_some());
        assert!(!Error::InvalidInput("bad".into()).is_retryable());
        assert!(Error::NoCredentials(vec![]).is_retryable());
    }
}
