//! The `eks-token` binary: the command line (`cli/`) over the library.

#![forbid(unsafe_code)]

mod cli;

/// The static (musl) build allocates with dlmalloc: musl's allocator unmaps every page
/// that empties, and a 1 ms run paid for it in system calls (see the README).
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

fn main() {
    cli::main()
}
