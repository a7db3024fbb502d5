//! eks-token: Kubernetes credentials for Amazon EKS without the AWS CLI or an AWS SDK.
//!
//! The data flows one way: a [`Request`] and the environment become a plan (the source
//! of the first credentials, then roles to assume); the executor runs it, through the
//! credential cache; the credentials at the top presign a [`Token`]. The command line
//! (`src/main.rs`, `src/cli/`) builds the request and prints the result; everything it
//! needs is here:
//!
//! ```no_run
//! let env = eks_token::Env::from_process();
//! let request = eks_token::Request {
//!     cluster_id: "dev".into(),
//!     role_arns: vec!["arn:aws:iam::222222222222:role/eks-dev-deployer".into()],
//!     ..Default::default()
//! };
//! let token = eks_token::Issuer::new(&request, &env)?.issue()?;
//! println!("{}", token.value);
//! # Ok::<(), eks_token::Error>(())
//! ```
//!
//! Several clusters on one base (one process for dev, qa and prod): [`fleet::Fleet`].

#![forbid(unsafe_code)]
#![deny(missing_docs, unreachable_pub)]

// Bottom: values, errors, time, logging, URLs, what the caller gives.
mod credentials;
mod env;
mod error;
mod log;
mod runtime;
mod secret;
mod timefmt;
mod url;
mod validate;

// Transport: signing, HTTP, endpoints, the services.
mod eks;
mod endpoint;
mod http;
mod retry;
mod session;
#[cfg(feature = "testkit")]
#[doc(hidden)]
pub mod sigv4;
#[cfg(not(feature = "testkit"))]
mod sigv4;
mod sts;
mod tls;
mod xml;

// Credentials: files, sources, plan, cache, executor.
mod cache;
mod config_files;
mod diagnose;
mod executor;
mod fsutil;
mod plan;
mod sources;

// Files of Kubernetes and EKS: YAML, kubeconfigs, identity mappings.
pub mod kubeconfig;
pub mod mapping;
mod yaml;

// Top: the request, the issuer and what it makes; fleets of clusters; the walk of doctor.
pub mod doctor;
pub mod fleet;
mod issuer;
mod kube;
mod request;
mod token;
pub mod verify;

/// Entry points of the fuzz targets (`fuzz/`), with the feature `fuzzing`.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
/// Test hooks of the integration tests, with the feature `testkit`.
#[cfg(feature = "testkit")]
#[doc(hidden)]
pub mod testkit;

// The fuzz targets of the command line run the binary's own modules: with `fuzzing`,
// they are compiled into the library too (their `eks_token::` paths then name it).
#[cfg(feature = "fuzzing")]
extern crate self as eks_token;
#[cfg(feature = "fuzzing")]
#[allow(dead_code, unreachable_pub, missing_docs, unused_imports)]
mod cli;

pub use credentials::Credentials;
pub use diagnose::{ChainFailure, ChainReport, LevelReport};
pub use eks::Cluster;
pub use env::Env;
pub use error::{Error, HttpFailure, Result, Retry, ServiceError};
pub use issuer::Issuer;
pub use log::{Level, Line, Log};
pub use request::Request;
pub use runtime::{MfaPrompt, Runtime, Stop};
pub use secret::Secret;
pub use sts::CallerIdentity;
pub use token::Token;

/// Files that hold tokens, credentials or configuration: read whole with a size cap,
/// written atomically and crash-safe, with exact permissions, in directories created 0700.
/// For eks-token's own command line (the binary is another crate): not part of the API,
/// and free to change in any release.
#[doc(hidden)]
pub mod files {
    pub use crate::fsutil::{
        check_target, locate, names_a_file, read_file, read_file_meta, remove_stale_temps, touch,
        write_atomic, write_atomic_with, Dir, Links, WriteOptions,
    };
}
