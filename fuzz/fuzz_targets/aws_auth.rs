#![no_main]
//! `doctor --aws-auth`: the aws-auth ConfigMap read within bounds or refused, and the
//! mapping of two identities through it.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| eks_token::fuzzing::fuzz_aws_auth(data));
