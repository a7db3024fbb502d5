//! A `credential_process` that never answers, and its own child: SIGINT, SIGTERM or
//! `--timeout` end the run, and the helper's whole process group with it (the helper
//! runs in a group of its own, out of the terminal's reach of Ctrl-C).

use super::*;

/// Whether `pid` is a live process (not gone, not a zombie waiting to be reaped).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
        !state.is_some_and(|s| s.starts_with('Z') || s.starts_with('X'))
    })
}

/// A helper that writes its pid (its process group's id: eks-token makes it a group
/// leader) and its child `sleep 300`'s, then waits; ended for good when dropped.
struct Helper {
    dir: TempDir,
    script: PathBuf,
}

impl Helper {
    fn new() -> Self {
        let dir = TempDir::new("helper");
        let script = dir.join("hangs.sh");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho $$ > {d}/group.tmp && mv {d}/group.tmp {d}/group\n\
                 sleep 300 &\necho $! > {d}/sleep.tmp && mv {d}/sleep.tmp {d}/sleep\nwait\n",
                d = dir.path().display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        Helper { dir, script }
    }

    /// A profile `helper` whose credentials come from the script, in `env`.
    fn configure(&self, env: &mut TestEnv) {
        let config = self.dir.join("config");
        std::fs::write(
            &config,
            format!(
                "[profile helper]\ncredential_process = {}\nregion = us-east-1\n",
                self.script.display()
            ),
        )
        .unwrap();
        env.set("AWS_CONFIG_FILE", config.display().to_string())
            .set("AWS_PROFILE", "helper");
    }

    fn pid(&self, name: &str) -> Option<u32> {
        std::fs::read_to_string(self.dir.join(name))
            .ok()
            .and_then(|p| p.trim().parse().ok())
    }

    /// The helper's and its sleep's pids, once both run; `child` (eks-token) must not
    /// end before (its output then says why).
    fn running(&self, child: &mut std::process::Child) -> (u32, u32) {
        wait_until("the helper and its sleep", Duration::from_secs(20), || {
            if let Ok(Some(status)) = child.try_wait() {
                let mut stderr = String::new();
                if let Some(e) = child.stderr.as_mut() {
                    let _ = std::io::Read::read_to_string(e, &mut stderr);
                }
                panic!("eks-token ended ({status}) before its helper ran: {stderr}");
            }
            matches!((self.pid("group"), self.pid("sleep")), (Some(_), Some(s)) if alive(s))
        });
        (self.pid("group").unwrap(), self.pid("sleep").unwrap())
    }

    /// Both gone (SIGKILL is delivered as the killed process is next scheduled).
    fn assert_gone(&self, what: &str) {
        let (group, sleep) = self.running_or_last();
        wait_until(
            &format!("{what}: the helper {group} and its sleep {sleep} to end"),
            Duration::from_secs(2),
            || !alive(group) && !alive(sleep),
        );
    }

    fn running_or_last(&self) -> (u32, u32) {
        (self.pid("group").unwrap(), self.pid("sleep").unwrap())
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        // What a failed test left: the group, ended.
        if let Some(group) = self.pid("group") {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{group}")])
                .stderr(Stdio::null())
                .status();
        }
    }
}

#[test]
fn sigint_sigterm_and_the_timeout_end_a_credential_process_and_its_children() {
    let token_args = ["get-token", "--cluster-name", "dev", "--timeout", "60"];
    for (sig, code) in [("INT", 130), ("TERM", 143)] {
        let helper = Helper::new();
        let mut env = TestEnv::new();
        helper.configure(&mut env);
        let mut child = env
            .command(&bin(), &token_args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        helper.running(&mut child);
        signal(child.id(), sig);
        let out = child.wait_with_output().unwrap();
        // What a shell reports: 128 + the signal's number (exited so, or killed by it).
        let shell_code = out.status.code().or(out.status.signal().map(|n| 128 + n));
        assert_eq!(
            shell_code,
            Some(code),
            "SIG{sig}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty());
        helper.assert_gone(&format!("SIG{sig}"));
    }

    // --timeout: exit 1 when it passes, the group ended.
    let helper = Helper::new();
    let mut env = TestEnv::new();
    helper.configure(&mut env);
    let r = env.run(&["get-token", "--cluster-name", "dev", "--timeout", "2"]);
    assert_failed(&r, 1, &[]);
    assert!(r.elapsed < Duration::from_secs(3), "{:?}", r.elapsed);
    helper.running_or_last();
    helper.assert_gone("--timeout");

    // The sidecar, stopped while its helper runs: its stop is a clean exit (0).
    let helper = Helper::new();
    let mut env = TestEnv::new();
    helper.configure(&mut env);
    let out = env.home.join("token");
    let mut child = env
        .command(
            &bin(),
            &[
                "write-token",
                "--cluster-name",
                "dev",
                "--refresh",
                "--out",
                out.to_str().unwrap(),
            ],
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    helper.running(&mut child);
    signal(child.id(), "TERM");
    let done = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("\"event\":\"stop\""), "{stderr}");
    assert!(!out.exists());
    helper.assert_gone("write-token --refresh, SIGTERM");
}
