#![no_main]
//! `eks update-kubeconfig`'s YAML: read within bounds or refused; what is accepted
//! and merged reads back as exactly what was merged.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| eks_token::fuzzing::fuzz_kubeconfig(data));
