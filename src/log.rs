//! `-v` output: each step and its duration on stderr. Never pass a secret here.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

static VERBOSE: AtomicBool = AtomicBool::new(false);
static START: OnceLock<Instant> = OnceLock::new();

/// Turns verbose output on (and starts its clock).
pub fn set_verbose(on: bool) {
    START.get_or_init(Instant::now);
    VERBOSE.store(on, Ordering::Relaxed);
}

/// Whether `-v` was given.
pub fn verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

/// Milliseconds since the run started.
pub fn elapsed_ms() -> f64 {
    START.get_or_init(Instant::now).elapsed().as_secs_f64() * 1000.0
}

/// Writes one verbose line: `eks-token: [  12.3 ms] message`.
pub fn line(msg: std::fmt::Arguments<'_>) {
    if verbose() {
        eprintln!("eks-token: [{:7.1} ms] {msg}", elapsed_ms());
    }
}

/// Writes a warning line (always shown).
pub fn warn(msg: std::fmt::Arguments<'_>) {
    eprintln!("eks-token: warning: {msg}");
}

/// `vlog!("...", args)`: a verbose line, formatted only when `-v` is on.
#[macro_export]
macro_rules! vlog {
    ($($arg:tt)*) => {
        if $crate::log::verbose() {
            $crate::log::line(format_args!($($arg)*));
        }
    };
}
