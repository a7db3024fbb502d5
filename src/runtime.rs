//! What the library needs of the program it runs in: where its lines go ([`Log`]), a
//! way to stop a run from another thread ([`Stop`], e.g. a signal handler's), and a way
//! to ask a person for an MFA code. Nothing of it is process-wide: each run is given
//! its own.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::log::Log;

/// Asks a person for the current code of the MFA device named (its serial number or
/// ARN); an error when no one can be asked.
pub type MfaPrompt = Box<dyn Fn(&str) -> std::io::Result<String>>;

/// What a run is given by the program it runs in.
#[derive(Default)]
pub struct Runtime {
    /// Where lines go; its verbose switch shows the run's steps.
    pub log: Log,
    /// Stops the run from another thread.
    pub stop: Stop,
    /// Asks for MFA codes; without one, a role that needs MFA is an error.
    pub mfa_prompt: Option<MfaPrompt>,
}

/// A way to stop a run from another thread (a signal handler's): the programs it
/// started (`credential_process`) are ended with their process group at once, and a
/// wait in progress ends with [`crate::Error::Stopped`]. Clones share it.
#[derive(Clone, Default)]
pub struct Stop(Arc<StopInner>);

#[derive(Default)]
struct StopInner {
    stopped: AtomicBool,
    /// Process groups of the programs running now.
    groups: Mutex<Vec<rustix::process::Pid>>,
}

impl Stop {
    /// Stops the run: every program it runs is ended (SIGKILL to its process group),
    /// and it starts no other.
    pub fn stop(&self) {
        self.0.stopped.store(true, Ordering::SeqCst);
        for g in self.groups().iter() {
            // ESRCH when it already ended: nothing to do.
            let _ = rustix::process::kill_process_group(*g, rustix::process::Signal::KILL);
        }
    }

    /// Whether [`Stop::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.0.stopped.load(Ordering::SeqCst)
    }

    fn groups(&self) -> MutexGuard<'_, Vec<rustix::process::Pid>> {
        self.0.groups.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ends the process group `group` if the run is stopped while it lives; until the
    /// guard is dropped (which ends what is left of the group too).
    pub(crate) fn track(&self, group: rustix::process::Pid) -> Tracked<'_> {
        self.groups().push(group);
        // Stopped just before: the stopper did not see this group.
        if self.is_stopped() {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
        Tracked { stop: self, group }
    }
}

/// A process group that [`Stop`] ends; ended when dropped.
pub(crate) struct Tracked<'a> {
    stop: &'a Stop,
    group: rustix::process::Pid,
}

impl Drop for Tracked<'_> {
    fn drop(&mut self) {
        let _ = rustix::process::kill_process_group(self.group, rustix::process::Signal::KILL);
        self.stop.groups().retain(|g| *g != self.group);
    }
}
