#![no_main]
//! The command line parser, the binary's own module, included here: every dialect
//! (eks-token, aws, aws-iam-authenticator, argocd-k8s-auth) on arbitrary arguments.

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../src/cli/args.rs"]
mod args;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    // Arguments separated by NUL bytes.
    let argv: Vec<String> = String::from_utf8_lossy(rest)
        .split('\0')
        .map(str::to_owned)
        .collect();
    let program = ["eks-token", "aws", "aws-iam-authenticator", "argocd-k8s-auth"][which as usize % 4];
    let _ = args::parse(args::Dialect::of_program(program), &argv, &eks_token::Env::default());
    if let Some(first) = argv.first() {
        let _ = args::parse_duration(first);
        let _ = args::parse_mode(first);
    }
});
