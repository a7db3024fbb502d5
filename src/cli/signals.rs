//! Stopping on SIGTERM or SIGINT without leaving anything half done: a file being
//! replaced is finished first, the runs registered here are stopped (the programs they
//! started, `credential_process`, end with them), and what was registered to be undone
//! (a kubeconfig's lock removed) is, also when the process is PID 1.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, Once};
use std::time::Duration;

use eks_token::Stop;

/// Held while a file is being replaced: a signal waits for it.
static WRITING: Mutex<()> = Mutex::new(());
/// Done when a signal ends the process.
static UNDO: Mutex<Vec<Box<dyn Fn() + Send>>> = Mutex::new(Vec::new());
/// Stopped when a signal ends the process.
static STOPS: Mutex<Vec<Stop>> = Mutex::new(Vec::new());
/// Set once a signal is being handled: the process ends with the signal's code.
static SIGNALLED: AtomicBool = AtomicBool::new(false);

/// Called by the main thread before it ends the process on an error: when a signal is
/// being handled (its stop is what made the run fail, "stopped before it was done"),
/// the handler ends the process with the signal's code and says why; the main thread
/// waits for it rather than racing it with exit 1 and its own message.
pub(crate) fn yield_to_a_stop() {
    if SIGNALLED.load(Ordering::SeqCst) {
        // The handler finishes a write in progress, undoes, and exits; a bound in case
        // it cannot.
        std::thread::sleep(Duration::from_secs(10));
    }
}

/// Stops `stop` (ending the programs its run started) when SIGTERM or SIGINT ends the
/// process; installs the handler unless one is, which then ends the process with the
/// shell's code for the signal (128 + its number).
pub(crate) fn stop_with_the_process(stop: Stop) -> std::io::Result<()> {
    lock(&STOPS).push(stop);
    on_stop(|sig| 128 + sig)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Held while a file is replaced, so that a stop waits for the rename.
pub(crate) fn writing() -> MutexGuard<'static, ()> {
    lock(&WRITING)
}

/// Does `undo` if a signal ends the process (it must be harmless once its cause is
/// gone: a lock's release removes only the lock it took).
pub(crate) fn on_stop_do(undo: Box<dyn Fn() + Send>) {
    lock(&UNDO).push(undo);
}

/// Handles SIGTERM and SIGINT from now on: after a write in progress and the removals,
/// `stop(signal)` says (on stderr) what happened and gives the exit code. Installed
/// once; a later call changes nothing.
pub(crate) fn on_stop(stop: fn(i32) -> i32) -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    static INSTALLED: Once = Once::new();
    let mut result = Ok(());
    INSTALLED.call_once(|| {
        let mut signals = match signal_hook::iterator::Signals::new([SIGTERM, SIGINT]) {
            Ok(s) => s,
            Err(e) => {
                result = Err(e);
                return;
            }
        };
        std::thread::spawn(move || {
            if let Some(sig) = signals.forever().next() {
                SIGNALLED.store(true, Ordering::SeqCst);
                for stop in lock(&STOPS).iter() {
                    stop.stop();
                }
                let _writing = writing();
                for undo in lock(&UNDO).drain(..) {
                    undo();
                }
                std::process::exit(stop(sig));
            }
        });
    });
    result
}
