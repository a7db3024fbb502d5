#![no_main]
//! The command line parser, the binary's own module, included here.

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../src/cli/args.rs"]
mod args;

fuzz_target!(|data: &[u8]| {
    // Arguments separated by NUL bytes.
    let argv: Vec<String> = String::from_utf8_lossy(data)
        .split('\0')
        .map(str::to_owned)
        .collect();
    let _ = args::parse(&argv);
    if let Some(first) = argv.first() {
        let _ = args::parse_duration(first);
        let _ = args::parse_mode(first);
    }
});
