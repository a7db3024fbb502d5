//! The lines of a run: warnings, `-v` steps with their time, and the error that ends it.
//! A [`Log`] is one run's, given by the caller: where lines go (its sink), whether steps
//! are shown, the clock their milliseconds count from, and every secret the run holds,
//! hidden in every line before the sink sees it. Nothing here is process-wide: two runs
//! in one program each have their own.

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::credentials::Credentials;
use crate::secret::{Redactor, Secret};

/// What a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// A step of the run and its outcome (`-v`): shown only when verbose.
    Verbose,
    /// Something the user should know, the run going on.
    Warning,
    /// What ended the run.
    Error,
}

/// One line for the sink.
#[derive(Debug)]
pub struct Line<'a> {
    /// What it is.
    pub level: Level,
    /// Time since the log was made (the run's start).
    pub elapsed: Duration,
    /// The message: one line, every secret the run holds hidden, its middle left out
    /// past 2 KiB.
    pub message: &'a str,
}

/// The log of one run: clones share it (the secrets learnt by one are hidden by all).
#[derive(Clone)]
pub struct Log(Rc<Inner>);

struct Inner {
    verbose: Cell<bool>,
    start: Instant,
    sink: Box<dyn Fn(&Line<'_>)>,
    redactor: Redactor,
}

impl Default for Log {
    /// A log that writes nothing.
    fn default() -> Self {
        Log::new(|_| {})
    }
}

impl Log {
    /// A log whose lines go to `sink`; its clock starts now; not verbose.
    pub fn new(sink: impl Fn(&Line<'_>) + 'static) -> Self {
        Log(Rc::new(Inner {
            verbose: Cell::new(false),
            start: Instant::now(),
            sink: Box::new(sink),
            redactor: Redactor::default(),
        }))
    }

    /// Shows (or stops showing) the steps of the run.
    pub fn set_verbose(&self, on: bool) {
        self.0.verbose.set(on);
    }

    /// Whether steps are shown.
    pub fn verbose(&self) -> bool {
        self.0.verbose.get()
    }

    /// Time since the log was made.
    pub fn elapsed(&self) -> Duration {
        self.0.start.elapsed()
    }

    /// From now on, no line shows `value` (nor its percent-encoded form, nor an EKS
    /// token's body without its prefix). For secrets of the caller's own; the library
    /// hides every secret it reads or is given.
    pub fn hide(&self, value: &str) {
        self.0.redactor.hide(value);
    }

    pub(crate) fn hide_secret(&self, s: &Secret) {
        self.hide(s.expose());
    }

    pub(crate) fn hide_credentials(&self, c: &Credentials) {
        self.hide_secret(&c.secret_access_key);
        if let Some(t) = &c.session_token {
            self.hide_secret(t);
        }
    }

    /// `text` as a line may show it: every secret the run holds hidden, and by their
    /// form any EKS token, JWT and presigned URL's signature, session token and credential.
    pub fn redact(&self, text: &str) -> String {
        self.0.redactor.redact(text)
    }

    /// A step of the run and its outcome, shown when verbose.
    pub fn step(&self, msg: fmt::Arguments<'_>) {
        if self.verbose() {
            self.line(Level::Verbose, msg);
        }
    }

    /// A warning.
    pub fn warn(&self, msg: fmt::Arguments<'_>) {
        self.line(Level::Warning, msg);
    }

    /// The error that ends the run.
    pub fn error(&self, msg: fmt::Arguments<'_>) {
        self.line(Level::Error, msg);
    }

    fn line(&self, level: Level, msg: fmt::Arguments<'_>) {
        let message = shortened(self.redact(&msg.to_string()));
        (self.0.sink)(&Line {
            level,
            elapsed: self.elapsed(),
            message: &message,
        });
    }
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

/// `vlog!(log, "...", args)`: a step of the run, formatted only when the log is verbose.
macro_rules! vlog {
    ($log:expr, $($arg:tt)*) => {{
        let log: &$crate::log::Log = &$log;
        if log.verbose() {
            log.step(format_args!($($arg)*));
        }
    }};
}
pub(crate) use vlog;

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

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

    #[test]
    fn two_logs_are_two_runs() {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let (a_seen, b_seen) = (seen.clone(), seen.clone());
        let a = Log::new(move |l| a_seen.borrow_mut().push(format!("a {}", l.message)));
        let b = Log::new(move |l| b_seen.borrow_mut().push(format!("b {}", l.message)));
        a.hide("secret-of-a-0123");
        a.set_verbose(true);
        vlog!(a, "step with secret-of-a-0123");
        vlog!(b, "not shown: b is not verbose");
        b.warn(format_args!("b shows secret-of-a-0123: not its secret"));
        assert_eq!(
            *seen.borrow(),
            [
                "a step with ***",
                "b b shows secret-of-a-0123: not its secret"
            ]
        );
    }
}
