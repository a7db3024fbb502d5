//! Lines on stderr: warnings, `-v` steps with their time, and the error that ends a run;
//! plain (`eks-token: ...`) or, for a log a program reads, one JSON object each. One
//! logger for the library and the command line, so their lines share one format and one
//! clock. Never pass a secret here.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

static VERBOSE: AtomicBool = AtomicBool::new(false);
/// Set: every line is JSON, and the error line carries this event (the command).
static EVENT: OnceLock<&'static str> = OnceLock::new();
static START: OnceLock<Instant> = OnceLock::new();

/// Turns verbose output (each step and its duration, never a secret) on or off, and
/// starts the clock its milliseconds count from.
pub fn set_verbose(on: bool) {
    START.get_or_init(Instant::now);
    VERBOSE.store(on, Ordering::Relaxed);
}

/// Writes every line as one JSON object (`time`, `event`, then `message`, or for the
/// error `outcome: error` and `error`); `event` names the error line's event (the
/// command: `write-token`, `check`). The first event set stays.
pub fn set_json_event(event: &'static str) {
    _ = EVENT.set(event);
}

/// Whether verbose output is on.
pub fn verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

/// Writes a verbose line when verbose output is on: `eks-token: [  12.3 ms] message`.
pub fn verbose_line(msg: std::fmt::Arguments<'_>) {
    if verbose() {
        let ms = START.get_or_init(Instant::now).elapsed().as_secs_f64() * 1000.0;
        line(Kind::Verbose, &format!("[{ms:7.1} ms] "), msg);
    }
}

/// Writes a warning line (always shown): `eks-token: warning: message`.
pub fn warn(msg: std::fmt::Arguments<'_>) {
    line(Kind::Warning, "warning: ", msg);
}

/// Writes the error that ends the run: `eks-token: message`.
pub fn error(msg: std::fmt::Arguments<'_>) {
    line(Kind::Error, "", msg);
}

#[derive(Clone, Copy)]
enum Kind {
    Verbose,
    Warning,
    Error,
}

/// One line: `eks-token: {prefix}{msg}`, or its JSON object.
fn line(kind: Kind, prefix: &str, msg: std::fmt::Arguments<'_>) {
    let Some(event) = EVENT.get().copied() else {
        eprintln!("eks-token: {prefix}{msg}");
        return;
    };
    let time = crate::timefmt::format_rfc3339(time::OffsetDateTime::now_utc());
    let msg = msg.to_string();
    let line = match kind {
        Kind::Verbose => serde_json::json!({"time": time, "event": "verbose", "message": msg}),
        Kind::Warning => serde_json::json!({"time": time, "event": "warning", "message": msg}),
        Kind::Error => {
            serde_json::json!({"time": time, "event": event, "outcome": "error", "error": msg})
        }
    };
    eprintln!("{line}");
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
