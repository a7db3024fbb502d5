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
    },
    /// A local file or stream could not be read or written.
    Io {
        /// What we were doing, naming the path.
        what: String,
        /// The OS error.
        detail: String,
    },
}

/// An error answer from an AWS service.
#[derive(Debug)]
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
            Error::Http { what, detail } => write!(f, "{what} failed: {detail}"),
            Error::Io { what, detail } => write!(f, "{what}: {detail}"),
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

impl std::error::Error for Error {}
impl std::error::Error for ServiceError {}

/// Shorthand for the crate's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;
