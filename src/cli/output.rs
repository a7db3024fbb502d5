//! What the command line writes for people and programs to read: the run's log on
//! stderr (`eks-token: ...` lines, or one JSON object a line for `write-token`), and the
//! one sanitiser of text meant for a terminal. Nothing a server or a file says reaches a
//! terminal raw: control characters (C0, DEL, C1, ESC above all) and the bidi controls
//! are written as visible escapes, so no such text can start a line, move the cursor,
//! set the title or reorder what follows it.

use std::cell::Cell;
use std::io::Write;
use std::rc::Rc;

use eks_token::{Level, Line, Log};

/// How stderr lines are written: plain (`None`), or as JSON objects whose error line
/// names `event` (the command: `write-token`, `check`). Shared with the log's sink, so
/// that it can be chosen once the command line is read.
#[derive(Clone, Default)]
pub(crate) struct Mode(Rc<Cell<Option<&'static str>>>);

impl Mode {
    /// Every line as a JSON object from now on; the error line's event is `event`.
    pub(crate) fn json(&self, event: &'static str) {
        self.0.set(Some(event));
    }

    fn event(&self) -> Option<&'static str> {
        self.0.get()
    }
}

/// The run's log: its lines on stderr, written as `mode` says.
pub(crate) fn stderr_log(mode: Mode) -> Log {
    Log::new(move |line| write_stderr(&render(line, mode.event())))
}

/// One line as it goes to stderr.
fn render(line: &Line<'_>, json_event: Option<&str>) -> String {
    let Some(event) = json_event else {
        let prefix = match line.level {
            Level::Verbose => format!("[{:7.1} ms] ", line.elapsed.as_secs_f64() * 1000.0),
            Level::Warning => "warning: ".into(),
            Level::Error => String::new(),
        };
        return format!("eks-token: {prefix}{}", terminal(line.message));
    };
    let time = eks_token::Token::rfc3339(time::OffsetDateTime::now_utc());
    let v = match line.level {
        Level::Verbose => {
            serde_json::json!({"time": time, "event": "verbose", "message": line.message})
        }
        Level::Warning => {
            serde_json::json!({"time": time, "event": "warning", "message": line.message})
        }
        Level::Error => serde_json::json!({
            "time": time, "event": event, "outcome": "error", "error": line.message
        }),
    };
    json_for_terminal(&v.to_string())
}

/// Writes a line of news on stderr (`eks-token: wrote ...`), secrets hidden and made
/// safe for a terminal.
pub(crate) fn note(log: &Log, msg: std::fmt::Arguments<'_>) {
    write_stderr(&format!(
        "eks-token: {}",
        terminal(&log.redact(&msg.to_string()))
    ));
}

/// Writes one JSON event line to stderr (`write-token`'s), every secret the run holds
/// hidden in it.
pub(crate) fn json_event(log: &Log, v: &serde_json::Value) {
    write_stderr(&json_for_terminal(&log.redact(&v.to_string())));
}

/// Writes `text` and a newline to stderr; a closed stderr (a reader gone) is no panic.
fn write_stderr(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Whether a character may not reach a terminal as it is: C0 controls (tab, newline and
/// ESC among them), DEL, C1 controls, and the bidi controls (U+061C, U+200E, U+200F,
/// U+202A-U+202E, U+2066-U+2069).
fn unsafe_for_terminal(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}')
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// `text` for a terminal: every character [`unsafe_for_terminal`] written as a visible
/// escape (`\n`, `\u{1b}`, `\u{202e}`).
pub(crate) fn terminal(text: &str) -> String {
    if !text.chars().any(unsafe_for_terminal) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if unsafe_for_terminal(c) {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Whether a character that serialized JSON may hold raw is [`unsafe_for_terminal`]:
/// DEL, C1 and the bidi controls (JSON escapes C0 controls in strings, and its own
/// newlines and indentation are whitespace between values).
fn unsafe_in_json(c: char) -> bool {
    unsafe_for_terminal(c) && !matches!(c, '\n' | '\r' | '\t' | ' ') && c >= ' '
}

/// Serialized JSON for a terminal: the characters JSON leaves raw but a terminal acts
/// on (DEL, C1, bidi controls) as `\uXXXX` escapes. They can only be inside strings, so
/// the value read back is the same.
pub(crate) fn json_for_terminal(json: &str) -> String {
    if !json.chars().any(unsafe_in_json) {
        return json.to_owned();
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if unsafe_in_json(c) {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A step on stderr, formatted only with `-v` (the run's log: one format and one clock
/// for the library's lines and ours).
macro_rules! vlog {
    ($log:expr, $($arg:tt)*) => {{
        let log: &eks_token::Log = &$log;
        if log.verbose() {
            log.step(format_args!($($arg)*));
        }
    }};
}
pub(crate) use vlog;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_a_server_says_acts_on_the_terminal() {
        let hostile =
            "ok\u{1b}]0;pwned\u{7}\u{1b}[2J\neks-token: FORGED LINE\r\u{202e}txt.exe\u{9b}";
        let shown = terminal(hostile);
        assert!(!shown.chars().any(unsafe_for_terminal), "{shown:?}");
        assert_eq!(
            shown,
            "ok\\u{1b}]0;pwned\\u{7}\\u{1b}[2J\\neks-token: FORGED LINE\\r\\u{202e}txt.exe\\u{9b}"
        );
        assert_eq!(terminal("plain text, é"), "plain text, é");
    }

    #[test]
    fn json_for_a_terminal_reads_back_the_same() {
        let v = serde_json::json!({"m": "a\u{202e}b\u{7f}c\u{85}d\u{1b}e\n"});
        let s = json_for_terminal(&v.to_string());
        assert!(!s.chars().any(unsafe_for_terminal), "{s}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&s).unwrap(), v);
        // Pretty-printed: its own newlines stay.
        let pretty = serde_json::to_string_pretty(&v).unwrap();
        let s = json_for_terminal(&pretty);
        assert_eq!(s.lines().count(), pretty.lines().count());
        assert_eq!(serde_json::from_str::<serde_json::Value>(&s).unwrap(), v);
    }

    #[test]
    fn plain_lines_have_their_prefix_and_no_raw_control() {
        let line = Line {
            level: Level::Warning,
            elapsed: std::time::Duration::ZERO,
            message: "bad\nnext",
        };
        assert_eq!(render(&line, None), "eks-token: warning: bad\\nnext");
        let v: serde_json::Value = serde_json::from_str(&render(&line, Some("x"))).unwrap();
        assert_eq!(v["event"], "warning");
        assert_eq!(v["message"], "bad\nnext");
    }
}
