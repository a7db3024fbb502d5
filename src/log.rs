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

/// The longest message a line carries: past it, the middle is left out (a 100 KB
/// argument echoed in an error is not worth a screenful).
const MAX_MESSAGE: usize = 2048;

/// `msg`, its middle left out when it is longer than [`MAX_MESSAGE`].
fn shortened(msg: String) -> String {
    if msg.len() <= MAX_MESSAGE {
        return msg;
    }
    let floor = |mut i: usize| {
        while !msg.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let head = floor(MAX_MESSAGE * 3 / 4);
    let tail = floor(msg.len() - MAX_MESSAGE / 4);
    format!(
        "{} [... {} bytes left out ...] {}",
        &msg[..head],
        tail - head,
        &msg[tail..]
    )
}

/// Writes one line to stderr as it is, but for the secrets hidden in it (EKS tokens,
/// JWTs, the environment's secret key and session token); a closed stderr (a
/// reader gone) is no panic. For a JSON event line the caller built.
pub fn emit(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let text = crate::secret::redacted(&line.to_string());
    _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// One line: `eks-token: {prefix}{msg}`, or its JSON object.
fn line(kind: Kind, prefix: &str, msg: std::fmt::Arguments<'_>) {
    let msg = shortened(msg.to_string());
    let Some(event) = EVENT.get().copied() else {
        emit(format_args!("eks-token: {prefix}{msg}"));
        return;
    };
    let time = crate::timefmt::format_rfc3339(time::OffsetDateTime::now_utc());
    let line = match kind {
        Kind::Verbose => serde_json::json!({"time": time, "event": "verbose", "message": msg}),
        Kind::Warning => serde_json::json!({"time": time, "event": "warning", "message": msg}),
        Kind::Error => {
            serde_json::json!({"time": time, "event": event, "outcome": "error", "error": msg})
        }
    };
    emit(format_args!("{line}"));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_keep_their_ends() {
        assert_eq!(shortened("short".into()), "short");
        let long = format!("--region {:?} is not a region", "é".repeat(50_000));
        let s = shortened(long.clone());
        assert!(s.len() < MAX_MESSAGE + 64, "{}", s.len());
        assert!(s.starts_with("--region \"é"), "{s}");
        assert!(s.ends_with("é\" is not a region"), "{s}");
        assert!(s.contains("bytes left out"), "{s}");
    }
}
