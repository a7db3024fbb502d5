//! The crate's error type: each variant is something a user can act on, and its message
//! says what failed, with what input (never a secret), and what to do.

use std::fmt;

/// Everything that can go wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The command line could not be parsed (exit code 2).
    Usage(String),
    /// A value was well-formed for the parser but is not valid, e.g. a malformed ARN.
    InvalidInput(String),
    /// No credential source was configured; lists where we looked.
    NoCredentials(Vec<String>),
    /// A configured credential source failed (file unreadable, bad reply, ...).
    Source {
        /// Which source, e.g. "web identity".
        source: &'static str,
        /// What went wrong and what to do.
        message: String,
    },
    /// STS answered with an error.
    Sts(Box<StsError>),
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

/// An error answer from STS.
#[derive(Debug)]
pub struct StsError {
    /// The STS action, e.g. `AssumeRole`.
    pub operation: &'static str,
    /// The role the call was for ("" for GetCallerIdentity).
    pub role_arn: String,
    /// HTTP status.
    pub status: u16,
    /// STS error code, e.g. `AccessDenied`.
    pub code: String,
    /// STS error message.
    pub message: String,
    /// STS request id.
    pub request_id: String,
    /// What the user can do about it, when we know.
    pub hint: Option<String>,
}

impl Error {
    /// The process exit code for this error: 2 for usage errors, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            _ => 1,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) => write!(f, "{m} (see eks-token --help)"),
            Error::InvalidInput(m) => f.write_str(m),
            Error::NoCredentials(tried) => write!(
                f,
                "no AWS credentials found; looked in: {}. Set AWS_ACCESS_KEY_ID and \
                 AWS_SECRET_ACCESS_KEY, use --profile, or run in a pod with IRSA \
                 (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN) or EKS Pod Identity",
                tried.join("; ")
            ),
            Error::Source { source, message } => write!(f, "{source} credentials: {message}"),
            Error::Sts(e) => fmt::Display::fmt(e, f),
            Error::Http { what, detail } => write!(f, "{what} failed: {detail}"),
            Error::Io { what, detail } => write!(f, "{what}: {detail}"),
        }
    }
}

impl fmt::Display for StsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.operation)?;
        if !self.role_arn.is_empty() {
            write!(f, " {}", self.role_arn)?;
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

/// Shorthand for the crate's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;
