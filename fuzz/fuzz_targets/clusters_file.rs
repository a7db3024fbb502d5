#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    eks_token::fuzzing::fuzz_clusters_file(data);
});
