//! Why a command failed, and its exit code: 2 for a command line that cannot be parsed,
//! 1 for everything else.

use std::fmt;

use super::args::ArgError;

/// Why a command failed.
pub(crate) enum Failure {
    Args(ArgError),
    Lib(eks_token::Error),
}

impl From<ArgError> for Failure {
    fn from(e: ArgError) -> Self {
        Failure::Args(e)
    }
}

impl From<eks_token::Error> for Failure {
    fn from(e: eks_token::Error) -> Self {
        Failure::Lib(e)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Args(e) => e.fmt(f),
            Failure::Lib(e) => e.fmt(f),
        }
    }
}

impl Failure {
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Failure::Args(e) => e.exit_code(),
            Failure::Lib(_) => 1,
        }
    }
}
