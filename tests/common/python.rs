//! Python programs the tests run many times (aws-cli, botocore's EKS client), served by a
//! pool of processes that have already imported what they need: a test run pays
//! Python's and botocore's start-up a few times, not once a call (most of a second of
//! CPU each). Each server answers one JSON request a line with one JSON line, and ends
//! when its stdin does (with the test process).

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::sync::Mutex;

use serde_json::Value;

use super::{support, RUN_LIMIT};

/// A process serving requests.
struct Server {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
}

/// The idle servers of each program (its script and arguments).
static IDLE: Mutex<BTreeMap<String, Vec<Server>>> = Mutex::new(BTreeMap::new());

fn start(script: &str, args: &[&str]) -> Server {
    let mut child = Command::new("python3")
        .arg(support(script))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 (make deps installs what the scripts import)");
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)).map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    Server {
        child,
        stdin,
        lines,
    }
}

/// `script` (with `args`)'s answer to `request`, from an idle server or a new one;
/// `None` when none came within [`RUN_LIMIT`] (that server is then ended).
pub fn serve(script: &str, args: &[&str], request: &Value) -> Option<Value> {
    let key = format!("{script} {args:?}");
    let idle = IDLE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_mut(&key)
        .and_then(Vec::pop);
    let mut server = idle.unwrap_or_else(|| start(script, args));
    let answer = (|| {
        writeln!(server.stdin, "{request}").ok()?;
        server.stdin.flush().ok()?;
        let line = server.lines.recv_timeout(RUN_LIMIT).ok()?;
        serde_json::from_str::<Value>(&line).ok()
    })();
    match answer {
        Some(a) => {
            IDLE.lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(key)
                .or_default()
                .push(server);
            Some(a)
        }
        None => {
            let _ = server.child.kill();
            None
        }
    }
}
