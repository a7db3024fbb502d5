//! Where the first credentials come from, one file per source: environment variables,
//! web identity (IRSA), container agents (ECS, EKS Pod Identity), EC2 instance metadata,
//! `credential_process` and IAM Identity Center (SSO). Each reads its own configuration
//! and makes its own call; which one is used, and what is assumed after it, is decided
//! by [`crate::plan`] and run by [`crate::executor`].

pub(crate) mod container;
pub(crate) mod environment;
pub(crate) mod imds;
pub(crate) mod process;
pub(crate) mod sso;
pub(crate) mod web_identity;
