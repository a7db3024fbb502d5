//! The integration tests: one test binary (as ripgrep's `tests/tests.rs`), one module
//! per area, the shared harness in `common`. They run the binary under test
//! (`EKS_TOKEN_BIN`, else cargo's) against real parts: moto's STS server, kubectl,
//! aws-cli and botocore side by side, the official SigV4 vectors and the SDKs' shared
//! config vectors (in `tests/data/`).

mod common;
mod vectors;

mod architecture;
mod aws_config_vectors;
mod botocore_diff;
mod cache;
mod cache_keys;
mod credential_chain_scenarios;
mod doctor;
mod doctor_access;
mod dropin;
mod eks_api;
mod examples;
mod failures;
mod faults;
mod fleet;
mod get_token;
mod hostile;
mod kubectl;
mod links;
mod outside;
mod release;
mod retries;
mod secret_hygiene;
mod sigv4_vectors;
mod sources;
mod standalone;
mod static_binary;
mod terminal;
mod tools;
mod troubleshooting;
mod write_token;
