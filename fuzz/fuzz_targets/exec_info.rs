#![no_main]
//! `KUBERNETES_EXEC_INFO` as kubectl passes it.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| eks_token::fuzzing::fuzz_exec_info(data));
