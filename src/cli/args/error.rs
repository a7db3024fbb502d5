//! Why a command line was not accepted, and its exit code.

use std::fmt;

/// Why the command line was not accepted.
#[derive(Debug)]
pub(crate) enum ArgError {
    /// It cannot be parsed (exit code 2).
    Usage(String),
    /// A long option the command does not have (exit code 2): its name, without `--`,
    /// and the message.
    UnknownOption { long: String, message: String },
    /// A value parses but is out of range (exit code 1).
    Invalid(String),
}

impl ArgError {
    /// The exit code: 2 for usage errors, 1 for invalid values.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            ArgError::Usage(_) | ArgError::UnknownOption { .. } => 2,
            ArgError::Invalid(_) => 1,
        }
    }
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgError::Usage(m) | ArgError::UnknownOption { message: m, .. } => {
                write!(f, "{m} (see --help)")
            }
            ArgError::Invalid(m) => f.write_str(m),
        }
    }
}

pub(crate) type Result<T> = std::result::Result<T, ArgError>;

pub(crate) fn usage(msg: impl Into<String>) -> ArgError {
    ArgError::Usage(msg.into())
}
