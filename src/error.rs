//! The library's error type: each variant is a kind of failure a caller can act on (and
//! decide from: [`Error::retry`] answers whether asking again may help), and its message
//! says what failed, with what input (never a secret), and what to do. Internal layers
//! have their own small error enums (URLs, XML, config files, credentials documents);
//! they become one of these variants where a caller sees them.

use std::fmt;

/// Everything that can go wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A value given is well-formed text but not valid, e.g. a malformed role ARN or
    /// region.
    InvalidInput(String),
    /// The configuration cannot be used as written: a profile that is not there, a loop
    /// of `source_profile`, contradicting settings, a config file that cannot be read as
    /// one. Asking again changes nothing until it is edited.
    InvalidConfiguration {
        /// The profile at fault, when one is.
        profile: Option<String>,
        /// What is wrong and what to do.
        message: String,
    },
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
        /// What it failed on (a file, a request), when that is an error of its own.
        cause: Option<Box<Error>>,
    },
    /// An AWS service (STS, EKS) answered with an error.
    Service(Box<ServiceError>),
    /// A request could not be completed (network, TLS, timeout, bad reply).
    Http {
        /// What we were doing, e.g. "AssumeRole arn:aws:iam::...".
        what: String,
        /// Why it failed.
        failure: HttpFailure,
    },
    /// A local file or stream could not be read or written.
    Io {
        /// What we were doing, naming the path.
        what: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The caller stopped the run ([`crate::Stop`]), e.g. on a signal.
    Stopped,
}

/// Why a request got no usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpFailure {
    /// No answer in time (connect or read).
    Timeout(String),
    /// The run's deadline passed.
    DeadlineExceeded,
    /// Could not connect, or the connection broke.
    Connection(String),
    /// TLS failed (a certificate not trusted, a handshake refused).
    Tls(String),
    /// The answer was not one to use: too large, not HTTP, not the service's format.
    BadAnswer(String),
    /// Refused before sending: plain http where only https may go, a proxy that cannot
    /// be used.
    Refused(String),
}

impl HttpFailure {
    /// The same failure, its message naming where it happened (`endpoint URL`).
    pub(crate) fn at(self, place: &str) -> HttpFailure {
        let with = |m: String| format!("{m} ({place})");
        match self {
            HttpFailure::Timeout(m) => HttpFailure::Timeout(with(m)),
            HttpFailure::Connection(m) => HttpFailure::Connection(with(m)),
            HttpFailure::Tls(m) => HttpFailure::Tls(with(m)),
            HttpFailure::BadAnswer(m) => HttpFailure::BadAnswer(with(m)),
            HttpFailure::Refused(m) => HttpFailure::Refused(with(m)),
            HttpFailure::DeadlineExceeded => HttpFailure::DeadlineExceeded,
        }
    }

    /// The error of `what` failing this way.
    pub(crate) fn during(self, what: impl Into<String>) -> Error {
        Error::Http {
            what: what.into(),
            failure: self,
        }
    }
}

impl fmt::Display for HttpFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpFailure::Timeout(m) => write!(f, "timed out ({m})"),
            HttpFailure::DeadlineExceeded => {
                f.write_str("the overall deadline passed (raise --timeout if the network is slow)")
            }
            HttpFailure::Connection(m)
            | HttpFailure::Tls(m)
            | HttpFailure::BadAnswer(m)
            | HttpFailure::Refused(m) => f.write_str(m),
        }
    }
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

/// Whether asking again may help, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// A transient failure (throttling, a server error, a broken connection, a timeout):
    /// the same request again, after a short backoff (the SDKs' standard retry mode).
    Now,
    /// Nothing wrong with the request, but the world must change first (a policy still
    /// reaching every IAM endpoint, a file not there yet, a source not up yet): worth
    /// asking again in seconds, not at once.
    Later,
    /// Invalid as written, or configured wrong: asking again gets the same answer.
    Never,
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

    /// A configuration error of `profile` (or none).
    pub(crate) fn config(profile: Option<&str>, message: impl Into<String>) -> Error {
        Error::InvalidConfiguration {
            profile: profile.map(str::to_owned),
            message: message.into(),
        }
    }

    /// A failure of `source`, without a cause of its own.
    pub(crate) fn source(source: &'static str, message: impl Into<String>) -> Error {
        Error::Source {
            source,
            message: message.into(),
            cause: None,
        }
    }

    /// Whether and when asking again may help, decided from the kind alone.
    pub fn retry(&self) -> Retry {
        use std::io::ErrorKind as K;
        match self {
            Error::InvalidInput(_)
            | Error::InvalidConfiguration { .. }
            | Error::InvalidUrl { .. }
            | Error::Stopped => Retry::Never,
            Error::NoCredentials(_) => Retry::Later,
            Error::Source { cause: Some(c), .. } => match c.retry() {
                Retry::Never => Retry::Never,
                // A source is asked again as a whole, not its request alone.
                Retry::Now | Retry::Later => Retry::Later,
            },
            Error::Source { cause: None, .. } => Retry::Later,
            Error::Service(e) => e.retry(),
            Error::Http { failure, .. } => match failure {
                HttpFailure::Timeout(_) | HttpFailure::Connection(_) => Retry::Now,
                HttpFailure::DeadlineExceeded => Retry::Later,
                HttpFailure::Tls(_) | HttpFailure::BadAnswer(_) | HttpFailure::Refused(_) => {
                    Retry::Never
                }
            },
            Error::Io { source, .. } => match source.kind() {
                K::NotFound | K::Interrupted | K::TimedOut | K::WouldBlock => Retry::Later,
                _ => Retry::Never,
            },
        }
    }

    /// Whether the same request may succeed later, with nothing changed on this side
    /// ([`Retry::Now`] or [`Retry::Later`]).
    pub fn is_retryable(&self) -> bool {
        self.retry() != Retry::Never
    }
}

/// Service error codes of transient faults: retried at once (with backoff).
const TRANSIENT_CODES: &[&str] = &[
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
    "InvalidParameterException",
    "InvalidRequestException",
];

impl ServiceError {
    /// Whether asking again may help: transient codes and server errors at once,
    /// requests invalid as written never, the rest (AccessDenied while IAM propagates a
    /// change, an expired token about to be rotated) later.
    pub fn retry(&self) -> Retry {
        if matches!(self.status, 500 | 502 | 503 | 504)
            || TRANSIENT_CODES.contains(&self.code.as_str())
        {
            Retry::Now
        } else if INVALID_REQUEST_CODES.contains(&self.code.as_str()) {
            Retry::Never
        } else {
            Retry::Later
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidInput(m) => f.write_str(m),
            // As a profile's failure has always read.
            Error::InvalidConfiguration {
                profile: Some(_),
                message,
            } => write!(f, "profile credentials: {message}"),
            Error::InvalidConfiguration { message, .. } => f.write_str(message),
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
            Error::Source {
                source, message, ..
            } => write!(f, "{source} credentials: {message}"),
            Error::Service(e) => fmt::Display::fmt(e, f),
            Error::Http { what, failure } => write!(f, "{what} failed: {failure}"),
            Error::Io { what, source } => write!(f, "{what}: {}", io_in_words(source)),
            Error::Stopped => f.write_str("stopped before it was done"),
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
pub(crate) fn io_in_words(e: &std::io::Error) -> String {
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
            Error::Source { cause: Some(c), .. } => Some(&**c),
            _ => None,
        }
    }
}

impl std::error::Error for ServiceError {}

/// Shorthand for the crate's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    fn service(status: u16, code: &str) -> Error {
        Error::Service(Box::new(ServiceError {
            operation: "AssumeRole",
            subject: String::new(),
            status,
            code: code.into(),
            message: String::new(),
            request_id: String::new(),
            hint: None,
        }))
    }

    #[test]
    fn the_cause_is_kept() {
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
        assert!(service(403, "AccessDenied").source().is_some());
        let s = Error::Source {
            source: "web identity",
            message: "cannot read the token file".into(),
            cause: Some(Box::new(Error::Io {
                what: "x".into(),
                source: std::io::ErrorKind::NotFound.into(),
            })),
        };
        assert!(s.source().is_some());
    }

    /// One question, asked of the kind: every kind's answer.
    #[test]
    fn retrying_is_decided_by_the_kind() {
        let io = |k: std::io::ErrorKind| Error::Io {
            what: "x".into(),
            source: k.into(),
        };
        let http = |f: HttpFailure| f.during("AssumeRole x");
        let cases: Vec<(Error, Retry)> = vec![
            (Error::InvalidInput("bad".into()), Retry::Never),
            (Error::config(Some("a"), "loop a -> b -> a"), Retry::Never),
            (
                Error::url("AWS_ENDPOINT_URL", "x", crate::url::UrlError::NoScheme),
                Retry::Never,
            ),
            (Error::Stopped, Retry::Never),
            (Error::NoCredentials(vec![]), Retry::Later),
            (Error::source("container", "HTTP 500"), Retry::Later),
            (
                Error::Source {
                    source: "web identity",
                    message: "not there yet".into(),
                    cause: Some(Box::new(io(std::io::ErrorKind::NotFound))),
                },
                Retry::Later,
            ),
            (
                Error::Source {
                    source: "web identity",
                    message: "not allowed".into(),
                    cause: Some(Box::new(io(std::io::ErrorKind::PermissionDenied))),
                },
                Retry::Never,
            ),
            (service(400, "Throttling"), Retry::Now),
            (service(503, "Whatever"), Retry::Now),
            (service(400, "IDPCommunicationError"), Retry::Now),
            (service(403, "AccessDenied"), Retry::Later),
            (service(400, "ExpiredTokenException"), Retry::Later),
            (service(400, "ValidationError"), Retry::Never),
            (service(400, "InvalidIdentityToken"), Retry::Never),
            (http(HttpFailure::Timeout("read".into())), Retry::Now),
            (http(HttpFailure::Connection("reset".into())), Retry::Now),
            (http(HttpFailure::DeadlineExceeded), Retry::Later),
            (http(HttpFailure::Tls("unknown CA".into())), Retry::Never),
            (http(HttpFailure::BadAnswer("not XML".into())), Retry::Never),
            (
                http(HttpFailure::Refused("plain http".into())),
                Retry::Never,
            ),
            (io(std::io::ErrorKind::NotFound), Retry::Later),
            (io(std::io::ErrorKind::PermissionDenied), Retry::Never),
        ];
        for (e, want) in cases {
            assert_eq!(e.retry(), want, "{e}");
            assert_eq!(e.is_retryable(), want != Retry::Never, "{e}");
        }
    }
}
