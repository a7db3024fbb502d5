//! `write-token`: the init container and the sidecar, against moto's STS (and a fault
//! server for outages), with real kubectl reading the token through `tokenFile:`.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::fault::{FaultServer, Reply};
use crate::common::*;
use serde_json::Value;

fn mode_of(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().mode() & 0o777
}

/// Starts `eks-token args` in the background with stderr captured to a file.
pub(crate) fn spawn(env: &TestEnv, args: &[&str], stderr: &Path) -> Child {
    env.command(&bin(), args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(stderr).unwrap())
        .spawn()
        .unwrap()
}

/// Waits for the child's exit; returns its code and how long it took.
pub(crate) fn wait_exit(child: &mut Child, timeout: Duration) -> (Option<i32>, Duration) {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code(), started.elapsed());
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            panic!("process did not exit within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub(crate) fn log_lines(stderr: &Path) -> Vec<Value> {
    std::fs::read_to_string(stderr)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn init_mode_writes_a_verifying_token_0600_in_a_0700_dir() {
    let m = moto();
    let env = irsa_env("wt-init");
    let out = env.home.join("run/eks/token");
    let r = env.run(&[
        "write-token",
        "--cluster-name",
        "dev",
        "--role-arn",
        DEV_ROLE,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.is_empty());
    let token = std::fs::read_to_string(&out).unwrap();
    assert!(token.starts_with("k8s-aws-v1.") && !token.ends_with('\n'));
    assert_verifies_as_dev_role(&token, "dev", &m.url);
    assert_eq!(mode_of(&out), 0o600);
    assert_eq!(mode_of(&env.home.join("run/eks")), 0o700);
    assert_eq!(mode_of(&env.home.join("run")), 0o700);
    // One structured log line, no secret.
    let entry: Value = serde_json::from_str(r.stderr.trim()).unwrap();
    assert_eq!(entry["outcome"], "ok");
    assert!(!r.stderr.contains(&token));
}

#[test]
fn json_output_and_a_group_readable_mode() {
    let m = moto();
    let env = irsa_env("wt-json");
    let out = env.home.join("shared/token.json");
    let r = env.run(&[
        "write-token",
        "--cluster-name",
        "dev",
        "--role-arn",
        DEV_ROLE,
        "--out",
        out.to_str().unwrap(),
        "--output",
        "json",
        "--mode",
        "0640",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ec: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(ec["apiVersion"], "client.authentication.k8s.io/v1");
    assert_verifies(&verify(
        ec["status"]["token"].as_str().unwrap(),
        "dev",
        Some(&m.url),
        &[],
    ));
    assert_eq!(mode_of(&out), 0o640);
}

#[test]
fn init_mode_failure_exits_1_and_writes_nothing() {
    let server = FaultServer::start(
        vec![],
        Reply::sts_error(400, "InvalidIdentityToken", "Token audience is wrong"),
    );
    let mut env = irsa_env("wt-fail");
    env.set("AWS_ENDPOINT_URL_STS", &server.url);
    let out = env.home.join("tokens/token");
    let r = env.run(&[
        "write-token",
        "--cluster-name",
        "dev",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_failed(&r, 1, &[&web_identity_token("wt-fail")]);
    assert!(r.stderr.contains("InvalidIdentityToken"));
    assert!(!out.exists());
    assert!(!env.home.join("tokens").exists());
}

#[test]
fn sidecar_refreshes_without_reassuming_the_chain() {
    let env = irsa_env("wt-sidecar");
    let out = env.home.join("token");
    let log = env.home.join("sidecar.log");
    let mut child = spawn(
        &env,
        &[
            "write-token",
            "--cluster-name",
            "dev",
            "--role-arn",
            DEV_ROLE,
            "--out",
            out.to_str().unwrap(),
            "--refresh",
            "--refresh-interval",
            "300ms",
        ],
        &log,
    );
    let mut seen = Vec::new();
    wait_until("4 distinct tokens", Duration::from_secs(20), || {
        if let Ok(t) = std::fs::read_to_string(&out) {
            if seen.last() != Some(&t) {
                seen.push(t);
            }
        }
        seen.len() >= 4
    });
    signal(child.id(), "TERM");
    let (code, took) = wait_exit(&mut child, Duration::from_secs(5));
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(1), "{took:?}");
    // Every token verifies and was signed by the same dev-account session.
    let m = moto();
    let keys: Vec<String> = seen
        .iter()
        .map(|t| {
            let v = verify(t, "dev", Some(&m.url), &[]);
            assert_verifies(&v);
            v["access_key_id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
    let sessions = m.sessions();
    let irsa = sessions
        .iter()
        .filter(|s| s["role_arn"] == "arn:aws:iam::111111111111:role/wt-sidecar")
        .count();
    assert_eq!(irsa, 1, "the IRSA hop is assumed once");
    let dev = sessions
        .iter()
        .filter(|s| s["role_arn"] == DEV_ROLE && s["access_key_id"] == keys[0].as_str())
        .count();
    assert_eq!(dev, 1);
    let lines = log_lines(&log);
    assert!(lines.iter().filter(|l| l["outcome"] == "ok").count() >= 4);
    assert!(lines
        .iter()
        .all(|l| l["next_refresh"].is_string() || l["event"] == "stop"));
    assert_eq!(lines.last().unwrap()["event"], "stop");
}

/// A reader loops on the file while the writer is killed (SIGKILL) at random points
/// and restarted: the reader must never see an empty, partial or unparsable file.
#[test]
fn sigkill_at_random_points_never_exposes_a_partial_file() {
    let mut env = TestEnv::new();
    env.static_creds("AKIACRASHTEST0000001", "crash/secret")
        .set("AWS_REGION", "us-west-2");
    let out = env.home.join("crash/token.json");
    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let reader = {
        let (out, stop, reads) = (out.clone(), Arc::clone(&stop), Arc::clone(&reads));
        std::thread::spawn(move || -> Result<(), String> {
            while !stop.load(Ordering::Relaxed) {
                match std::fs::read(&out) {
                    Ok(bytes) => {
                        reads.fetch_add(1, Ordering::Relaxed);
                        let v: Value = serde_json::from_slice(&bytes)
                            .map_err(|e| format!("unparsable file ({} bytes): {e}", bytes.len()))?;
                        let token = v["status"]["token"].as_str().ok_or("no token")?;
                        let url = eks_token::verify::decode(token).map_err(|e| e.to_string())?;
                        let sig = url.rsplit("X-Amz-Signature=").next().unwrap();
                        if sig.len() != 64 {
                            return Err(format!("partial token: {url}"));
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
            Ok(())
        })
    };
    // xorshift: deterministic "random" kill points.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let log = env.home.join("crash.log");
    for _ in 0..25 {
        let mut child = spawn(
            &env,
            &[
                "write-token",
                "--cluster-name",
                "dev",
                "--out",
                out.to_str().unwrap(),
                "--output",
                "json",
                "--refresh",
                "--refresh-interval",
                "100ms",
            ],
            &log,
        );
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        std::thread::sleep(Duration::from_millis(5 + x % 250));
        child.kill().unwrap();
        child.wait().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    reader.join().unwrap().unwrap();
    assert!(
        reads.load(Ordering::Relaxed) > 100,
        "the reader read too rarely"
    );
    assert_eq!(mode_of(&out), 0o600);
}

#[test]
fn sts_outage_keeps_the_old_file_and_recovers() {
    fn soon() -> String {
        eks_token::Token::rfc3339(time::OffsetDateTime::now_utc() + time::Duration::minutes(4))
    }
    let ok = || {
        Reply::assumed(
            "AssumeRoleWithWebIdentity",
            "ASIAOUTAGE0000000001",
            "outage/secret",
            "outage-token",
            &soon(),
        )
    };
    let server = FaultServer::start(vec![], ok());
    let mut env = irsa_env("wt-outage");
    env.set("AWS_ENDPOINT_URL_STS", &server.url);
    let out = env.home.join("token");
    let log = env.home.join("outage.log");
    let mut child = spawn(
        &env,
        &[
            "write-token",
            "--cluster-name",
            "dev",
            "--out",
            out.to_str().unwrap(),
            "--refresh",
            "--refresh-interval",
            "200ms",
        ],
        &log,
    );
    wait_until("a first token", Duration::from_secs(10), || out.exists());
    // Credentials that expire in 4 minutes are renewed on every refresh.
    wait_until("renewals", Duration::from_secs(10), || {
        server.requests().len() >= 3
    });
    server.set(vec![], Reply::xml(503, "<html>down</html>"));
    // Once a refresh has been refused, the file is what the last good one wrote.
    let switched = server.requests().len();
    wait_until("a refused refresh", Duration::from_secs(10), || {
        server.requests().len() > switched
    });
    let during = std::fs::read_to_string(&out).unwrap();
    let written = std::fs::metadata(&out).unwrap().modified().unwrap();
    let failed_before = server.requests().len();
    wait_until("failed refreshes", Duration::from_secs(15), || {
        log_lines(&log)
            .iter()
            .filter(|l| l["outcome"] == "error")
            .count()
            >= 2
    });
    // The file's token is untouched and still valid; its modification time says the
    // loop runs, so a liveness probe on its age passes through the outage.
    assert_eq!(std::fs::read_to_string(&out).unwrap(), during);
    assert!(std::fs::metadata(&out).unwrap().modified().unwrap() > written);
    let probe = env.run(&[
        "write-token",
        "--check",
        "--out",
        out.to_str().unwrap(),
        "--max-age",
        "5s",
    ]);
    assert_eq!(probe.code, 0, "{}", probe.stderr);
    let v = verify(
        &during,
        "dev",
        None,
        &[("ASIAOUTAGE0000000001", "outage/secret")],
    );
    assert!(
        v["errors"].as_array().unwrap().iter().all(|e| {
            let e = e.as_str().unwrap();
            e.starts_with("host:") || e.starts_with("scheme:")
        }),
        "{v}"
    );
    assert!(server.requests().len() > failed_before);
    let errors: Vec<Value> = log_lines(&log)
        .into_iter()
        .filter(|l| l["outcome"] == "error")
        .collect();
    assert!(
        errors[0]["error"].as_str().unwrap().contains("503"),
        "{}",
        errors[0]
    );
    assert!(errors[0]["retry_at"].is_string() && errors[0]["file_valid_until"].is_string());
    // Recovery: the next refresh succeeds and replaces the file.
    server.set(vec![], ok());
    wait_until(
        "a new token after recovery",
        Duration::from_secs(15),
        || std::fs::read_to_string(&out).unwrap() != during,
    );
    signal(child.id(), "TERM");
    assert_eq!(wait_exit(&mut child, Duration::from_secs(5)).0, Some(0));
    let log_text = std::fs::read_to_string(&log).unwrap();
    for secret in [
        "outage/secret",
        "outage-token",
        &web_identity_token("wt-outage"),
    ] {
        assert!(!log_text.contains(secret), "{secret}");
    }
}

#[test]
fn sigterm_ends_the_sidecar_as_pid_1() {
    let mut env = TestEnv::new();
    env.static_creds("AKIAPIDONE0000000001", "pid1/secret");
    let out = env.home.join("token");
    let log = env.home.join("pid1.log");
    let mut child = env
        .command(
            Path::new("unshare"),
            &[
                "--pid",
                "--fork",
                "--kill-child",
                bin().to_str().unwrap(),
                "write-token",
                "--cluster-name",
                "dev",
                "--out",
                out.to_str().unwrap(),
                "--refresh",
            ],
        )
        .stdin(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    wait_until("the token file", Duration::from_secs(10), || out.exists());
    // The eks-token process: unshare's child, PID 1 in its namespace.
    let children =
        std::fs::read_to_string(format!("/proc/{}/task/{}/children", child.id(), child.id()))
            .unwrap();
    let pid: u32 = children.split_whitespace().next().unwrap().parse().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let nspid = status.lines().find(|l| l.starts_with("NSpid:")).unwrap();
    assert!(nspid.trim_end().ends_with("\t1"), "not PID 1: {nspid}");
    signal(pid, "TERM");
    let (code, took) = wait_exit(&mut child, Duration::from_secs(5));
    assert_eq!(code, Some(0), "{}", std::fs::read_to_string(&log).unwrap());
    assert!(took < Duration::from_secs(1), "{took:?}");
    // SIGINT too, without a PID namespace, once its handler is in place (the file it
    // writes: the first run's is removed; a SIGINT before the handler would end it by
    // default, or be ignored where the test runner was started with SIGINT ignored).
    std::fs::remove_file(&out).unwrap();
    let mut child = spawn(
        &env,
        &[
            "write-token",
            "--cluster-name",
            "dev",
            "--out",
            out.to_str().unwrap(),
            "--refresh",
        ],
        &log,
    );
    wait_until("the token file", Duration::from_secs(10), || out.exists());
    signal(child.id(), "INT");
    let (code, took) = wait_exit(&mut child, Duration::from_secs(5));
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(1), "{took:?}");
}

#[test]
fn kubectl_reads_the_token_file_through_the_generated_kubeconfig() {
    let m = moto();
    let verifier = Verifier::start("dev", &m.url);
    let env = irsa_env("wt-kubectl");
    let out = env.home.join("secrets/token");
    let kubeconfig = env.home.join("secrets/kubeconfig");
    let log = env.home.join("kubectl-sidecar.log");
    let mut child = spawn(
        &env,
        &[
            "write-token",
            "--cluster-name",
            "dev",
            "--role-arn",
            DEV_ROLE,
            "--out",
            out.to_str().unwrap(),
            "--refresh",
            "--refresh-interval",
            "1s",
            "--kubeconfig-out",
            kubeconfig.to_str().unwrap(),
            "--server",
            &verifier.url,
            "--ca-file",
            verifier.ca.to_str().unwrap(),
        ],
        &log,
    );
    wait_until("the kubeconfig", Duration::from_secs(10), || {
        kubeconfig.exists()
    });
    assert_eq!(mode_of(&kubeconfig), 0o600);
    let cfg: Value = serde_json::from_str(&std::fs::read_to_string(&kubeconfig).unwrap()).unwrap();
    assert_eq!(
        cfg["users"][0]["user"]["tokenFile"],
        out.display().to_string()
    );
    let kubectl = |args: &[&str]| {
        let mut full = vec!["--kubeconfig", kubeconfig.to_str().unwrap()];
        full.extend_from_slice(args);
        let o = env.command(Path::new("kubectl"), &full).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let first = std::fs::read_to_string(&out).unwrap();
    let who: Value = serde_json::from_str(&kubectl(&["get", "--raw", "/eks-identity"])).unwrap();
    assert!(who["arn"]
        .as_str()
        .unwrap()
        .starts_with("arn:aws:sts::222222222222:assumed-role/testrole/"));
    wait_until("a refreshed token", Duration::from_secs(10), || {
        std::fs::read_to_string(&out).unwrap() != first
    });
    let who: Value = serde_json::from_str(&kubectl(&["get", "--raw", "/eks-identity"])).unwrap();
    assert!(who["arn"].as_str().unwrap().contains("222222222222"));
    let dates: Vec<String> = verifier
        .verdicts()
        .iter()
        .filter(|v| v["ok"] == true)
        .map(|v| v["date"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        dates.len() >= 2 && dates.first() != dates.last(),
        "{dates:?}"
    );
    signal(child.id(), "TERM");
    assert_eq!(wait_exit(&mut child, Duration::from_secs(5)).0, Some(0));
}

#[test]
fn bad_write_token_input() {
    let env = irsa_env("wt-bad");
    let out = env.home.join("token");
    let bad_ca = env.home.join("not-a-ca.pem");
    std::fs::write(&bad_ca, "hello").unwrap();
    for (args, code, needle) in [
        (
            vec![
                "--kubeconfig-out",
                "k",
                "--server",
                "http://plain",
                "--ca-data",
                "QUJD",
            ],
            1,
            "https",
        ),
        (
            vec![
                "--kubeconfig-out",
                "k",
                "--server",
                "https://x",
                "--ca-file",
                bad_ca.to_str().unwrap(),
            ],
            1,
            "PEM",
        ),
        (
            vec![
                "--kubeconfig-out",
                "k",
                "--server",
                "https://x",
                "--ca-data",
                "***",
            ],
            1,
            "base64",
        ),
        (vec!["--mode", "0777777"], 1, "mode"),
        // A bearer token readable (or writable) by every user: refused, with the way
        // to share it instead.
        (vec!["--mode", "0666"], 1, "fsGroup and --mode 0640"),
        (vec!["--mode", "0604"], 1, "other users"),
        (vec!["--mode", "0601"], 1, "other users"),
    ] {
        let mut full = vec![
            "write-token",
            "--cluster-name",
            "dev",
            "--out",
            out.to_str().unwrap(),
        ];
        full.extend(args);
        let r = env.run(&full);
        assert_failed(&r, code, &[]);
        assert!(r.stderr.contains(needle), "{needle}: {}", r.stderr);
        assert!(!out.exists());
    }
    // A directory where the file should go: a clear error, exit 1.
    std::fs::create_dir_all(env.home.join("dir-token/x")).unwrap();
    let r = env.run(&[
        "write-token",
        "--cluster-name",
        "dev",
        "--out",
        env.home.join("dir-token").to_str().unwrap(),
    ]);
    assert_failed(&r, 1, &[]);
    assert!(r.stderr.contains("dir-token"), "{}", r.stderr);
}

/// A writer killed while writing leaves its temporary file. As PID 1 (a container's
/// sidecar), its successor has the same pid, so the pid alone cannot tell the file is
/// stale; the lock the writer held while writing can.
#[test]
fn a_restarted_pid_1_removes_its_killed_predecessors_temporary_file() {
    let mut env = TestEnv::new();
    env.static_creds("AKIAPIDONESTALE00001", "stale/secret");
    let out = env.home.join("pid1/token");
    let log = env.home.join("pid1.log");
    let as_pid_1 = |refresh: bool| {
        let (bin, out) = (bin().display().to_string(), out.display().to_string());
        let mut args = vec![
            "--pid",
            "--fork",
            "--kill-child",
            &bin,
            "write-token",
            "--cluster-name",
            "dev",
            "--out",
            &out,
        ];
        if refresh {
            args.extend(["--refresh", "--refresh-interval", "100ms"]);
        }
        env.command(Path::new("unshare"), &args)
            .stdin(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap()
    };
    let temps = || -> Vec<String> {
        std::fs::read_dir(out.parent().unwrap())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".eks-token-tmp."))
            .collect()
    };
    // A PID 1 sidecar, killed with SIGKILL while it rewrites the file every 100 ms.
    let mut child = as_pid_1(true);
    wait_until("the token file", Duration::from_secs(10), || out.exists());
    let children =
        std::fs::read_to_string(format!("/proc/{}/task/{}/children", child.id(), child.id()))
            .unwrap();
    let pid: u32 = children.split_whitespace().next().unwrap().parse().unwrap();
    // Killed while it goes on rewriting: once the file has been replaced again.
    let first = std::fs::metadata(&out).unwrap().modified().unwrap();
    wait_until("a rewrite", Duration::from_secs(10), || {
        std::fs::metadata(&out).is_ok_and(|m| m.modified().unwrap() != first)
    });
    signal(pid, "KILL");
    child.wait().unwrap();
    // Whether or not the kill fell inside a write, leave what a write cut short leaves:
    // a partial temporary file named for pid 1, its lock released with the process.
    std::fs::write(
        out.parent()
            .unwrap()
            .join(".token.eks-token-tmp.1.0123456789ab"),
        "k8s-aws-v1.partial",
    )
    .unwrap();
    // And a live writer's file (another process's pid, its lock held): not stale.
    let live = out.parent().unwrap().join(format!(
        ".token.eks-token-tmp.{}.live00000000",
        std::process::id()
    ));
    std::fs::write(&live, "in progress").unwrap();
    let held = std::fs::File::open(&live).unwrap();
    held.lock().unwrap();
    assert!(temps().len() >= 2, "{:?}", temps());
    // Started again the same way (once, as an init container would be).
    let mut child = as_pid_1(false);
    let (code, _) = wait_exit(&mut child, Duration::from_secs(10));
    assert_eq!(code, Some(0), "{}", std::fs::read_to_string(&log).unwrap());
    assert_eq!(temps(), [live.file_name().unwrap().to_string_lossy()]);
    drop(held);
}
