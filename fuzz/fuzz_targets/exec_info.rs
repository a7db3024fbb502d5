#![no_main]
//! `KUBERNETES_EXEC_INFO`, read by the binary's own module, included here.

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../src/cli/exec_credential.rs"]
mod exec_credential;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let _ = exec_credential::api_version(Some(&s));
    let _ = exec_credential::interactive(Some(&s));
});
