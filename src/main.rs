//! The `eks-token` binary: the command line (`cli/`) over the library.

#![forbid(unsafe_code)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
