//! `-v` output: each step and its duration on stderr. Never pass a secret here.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

static VERBOSE: AtomicBool = AtomicBool::new(false);
static JSON: AtomicBool = AtomicBool::new(false);
static START: OnceLock<Instant> = OnceLock::new();

/// Turns verbose output (`-v`: each step and its duration on stderr, never a secret)
/// on or off, and starts its clock.
pub(crate) fn set_verbose(on: bool) {
    START.get_or_init(Instant::now);
    VERBOSE.store(on, Ordering::Relaxed);
}

/// Writes warnings and verbose lines as one JSON object each (`time`, `event`:
/// `warning` or `verbose`, `message`), as `write-token`'s log is.
pub(crate) fn set_json(on: bool) {
    JSON.store(on, Ordering::Relaxed);
}

/// One log line: `eks-token: {prefix}{msg}`, or its JSON object.
fn line(event: &str, prefix: &str, msg: std::fmt::Arguments<'_>) {
    if JSON.load(Ordering::Relaxed) {
        let time = crate::timefmt::format_rfc3339(time::OffsetDateTime::now_utc());
        let message = msg.to_string();
        eprintln!(
            "{}",
            serde_json::json!({"time": time, "event": event, "message": message})
        );
    } else {
        eprintln!("eks-token: {prefix}{msg}");
    }
}

/// Whether verbose output is on.
pub(crate) fn verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

/// Milliseconds since the run started.
pub(crate) fn elapsed_ms() -> f64 {
    START.get_or_init(Instant::now).elapsed().as_secs_f64() * 1000.0
}

/// Writes one verbose line when verbose output is on: `eks-token: [  12.3 ms] message`.
pub(crate) fn verbose_line(msg: std::fmt::Arguments<'_>) {
    if verbose() {
        line("verbose", &format!("[{:7.1} ms] ", elapsed_ms()), msg);
    }
}

/// Writes a warning line (always shown).
pub(crate) fn warn(msg: std::fmt::Arguments<'_>) {
    line("warning", "warning: ", msg);
}

/// `vlog!("...", args)`: a verbose line, formatted only when `-v` is on.
macro_rules! vlog {
    ($($arg:tt)*) => {
        if $crate::log::verbose() {
            $crate::log::verbose_line(format_args!($($arg)*));
        }
    };
}
pub(crate) use vlog;
