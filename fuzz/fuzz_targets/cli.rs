#![no_main]
//! The command line in every dialect (eks-token, aws, aws-iam-authenticator,
//! argocd-k8s-auth) on arbitrary arguments.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| eks_token::fuzzing::fuzz_cli(data));
