//! The credential cache across runs: warm runs make no STS call, a cold burst makes one
//! per hop, stale, corrupt and unsafe caches are handled.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Stdio;

use crate::common::fault::{FaultServer, Reply};
use crate::common::*;

fn chain_env(tag: &str) -> (TestEnv, String, String) {
    let irsa = format!("{tag}-irsa");
    let env = irsa_env(&irsa);
    let dev = format!("arn:aws:iam::222222222222:role/{tag}-dev");
    (env, format!("arn:aws:iam::111111111111:role/{irsa}"), dev)
}

fn cache_dir(env: &TestEnv) -> std::path::PathBuf {
    env.home.join(".cache/eks-token")
}

fn entries(env: &TestEnv) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(cache_dir(env))
        .map(|d| {
            d.map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn warm_cache_makes_no_sts_call_and_its_token_verifies() {
    let m = moto();
    let (env, irsa, dev) = chain_env("warm");
    let r1 = env.run(&[
        "get-token",
        "--cluster-name",
        "dev",
        "--role-arn",
        &dev,
        "-v",
    ]);
    assert_eq!(r1.code, 0, "{}", r1.stderr);
    assert!(r1.stderr.contains("cache miss"), "{}", r1.stderr);
    assert_eq!((sessions_of(&irsa), sessions_of(&dev)), (1, 1));
    // The cache: 0700 directory, 0600 entries, one per assumed hop.
    assert_eq!(
        std::fs::metadata(cache_dir(&env)).unwrap().mode() & 0o777,
        0o700
    );
    let files = entries(&env);
    assert_eq!(files.len(), 2);
    for f in &files {
        assert_eq!(std::fs::metadata(f).unwrap().mode() & 0o777, 0o600);
    }
    let r2 = env.run(&[
        "get-token",
        "--cluster-name",
        "dev",
        "--role-arn",
        &dev,
        "-v",
    ]);
    assert_eq!(r2.code, 0, "{}", r2.stderr);
    assert_eq!(
        (sessions_of(&irsa), sessions_of(&dev)),
        (1, 1),
        "no STS call on a warm cache"
    );
    // One entry read: the hop's, found by its key alone (it names the base's key).
    assert_eq!(r2.stderr.matches("cache hit").count(), 1, "{}", r2.stderr);
    assert!(!r2.stderr.contains("AssumeRole"), "{}", r2.stderr);
    // Signed with the cached session's secret, which botocore finds at moto.
    let v = verify(&token_of(&r2.stdout), "dev", Some(&m.url), &[]);
    assert_verifies(&v);
    assert!(v["arn"]
        .as_str()
        .unwrap()
        .starts_with("arn:aws:sts::222222222222:assumed-role/warm-dev/"));
    // --no-cache calls STS again.
    let r3 = env.run(&[
        "get-token",
        "--cluster-name",
        "dev",
        "--role-arn",
        &dev,
        "--no-cache",
    ]);
    assert_eq!(r3.code, 0, "{}", r3.stderr);
    assert_eq!((sessions_of(&irsa), sessions_of(&dev)), (2, 2));
    // Another chain (here: another session name) is another entry.
    let r4 = env.run(&[
        "get-token",
        "--cluster-name",
        "dev",
        "--role-arn",
        &dev,
        "-s",
        "other",
    ]);
    assert_eq!(r4.code, 0, "{}", r4.stderr);
    assert_eq!((sessions_of(&irsa), sessions_of(&dev)), (2, 3));
    // The cache holds assumed credentials only, never the web identity token.
    for f in entries(&env) {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(!text.contains(&web_identity_token("warm-irsa")));
    }
}

/// A warm run reads the top entry alone; what needs every level (`whoami -v`: who each
/// one is) reads the levels below from the cache too, without assuming anything.
#[test]
fn every_level_is_read_from_the_cache_when_asked_for() {
    let (env, irsa, dev) = chain_env("levels");
    let args = ["get-token", "--cluster-name", "dev", "--role-arn", &dev];
    assert_eq!(env.run(&args).code, 0);
    let before = (sessions_of(&irsa), sessions_of(&dev));
    let r = env.run(&["whoami", "--role-arn", &dev, "-v"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!((sessions_of(&irsa), sessions_of(&dev)), before);
    assert_eq!(r.stderr.matches("cache hit").count(), 2, "{}", r.stderr);
    // Who each level is, on stderr; the top on stdout.
    let irsa_name = irsa.rsplit('/').next().unwrap();
    assert!(
        r.stderr.contains(&format!("assumed-role/{irsa_name}/")),
        "{}",
        r.stderr
    );
    assert!(
        r.stdout.contains("assumed-role/levels-dev/"),
        "{}",
        r.stdout
    );
}

#[test]
fn twenty_concurrent_cold_runs_share_one_set_of_sts_calls() {
    let (env, irsa, dev) = chain_env("burst");
    let children: Vec<_> = (0..20)
        .map(|_| {
            env.command(
                &bin(),
                &["get-token", "--cluster-name", "dev", "--role-arn", &dev],
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("k8s-aws-v1."));
    }
    let (a, b) = (sessions_of(&irsa), sessions_of(&dev));
    assert!(a <= 2 && b <= 2, "AssumeRole calls per hop: {a}, {b}");
    // The cache is valid afterwards: one more run calls nothing.
    let r = env.run(&["get-token", "--cluster-name", "dev", "--role-arn", &dev]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!((sessions_of(&irsa), sessions_of(&dev)), (a, b));
}

#[test]
fn entries_near_expiry_are_renewed() {
    let exp =
        eks_token::Token::rfc3339(time::OffsetDateTime::now_utc() + time::Duration::minutes(10));
    let server = FaultServer::start(
        vec![],
        Reply::assumed(
            "AssumeRoleWithWebIdentity",
            "ASIASHORTLIVED000001",
            "short/secret",
            "short-token",
            &exp,
        ),
    );
    let mut env = TestEnv::new();
    env.irsa(
        "arn:aws:iam::111111111111:role/short",
        "eyJhbGciOiJSUzI1NiJ9.short.c2ln",
    );
    env.set("AWS_ENDPOINT_URL_STS", &server.url);
    for _ in 0..2 {
        let r = env.run(&["get-token", "--cluster-name", "dev"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    assert_eq!(
        server.requests().len(),
        2,
        "10 minutes left is less than a token needs"
    );
}

#[test]
fn corrupt_entries_are_replaced() {
    let (env, irsa, dev) = chain_env("corrupt");
    // The web identity entry alone first, then the hop's entry beside it.
    assert_eq!(env.run(&["get-token", "--cluster-name", "dev"]).code, 0);
    let base = entries(&env);
    assert_eq!(base.len(), 1);
    let base = base[0].clone();
    assert_eq!(
        env.run(&["get-token", "--cluster-name", "dev", "--role-arn", &dev])
            .code,
        0
    );
    let hop = entries(&env).into_iter().find(|f| *f != base).unwrap();
    let run = || {
        let r = env.run(&[
            "get-token",
            "--cluster-name",
            "dev",
            "--role-arn",
            &dev,
            "-v",
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_verifies(&verify(&token_of(&r.stdout), "dev", Some(&moto().url), &[]));
        r.stderr
    };
    let sessions = || (sessions_of(&irsa), sessions_of(&dev));
    let (irsa_0, dev_0) = sessions();
    // A truncated hop entry: the hop is assumed again, the base is not.
    std::fs::write(&hop, "{\"version\": 2, \"key\": \"trunc").unwrap();
    assert!(run().contains("corrupt"));
    assert_eq!(sessions(), (irsa_0, dev_0 + 1));
    // An entry whose key is not its name (or of an older format): not used.
    std::fs::write(
        &hop,
        "{\"version\":2,\"key\":\"someone-elses\",\"access_key_id\":\"X\"}",
    )
    .unwrap();
    assert!(run().contains("not ours"));
    assert_eq!(sessions(), (irsa_0, dev_0 + 2));
    // A corrupt base under a good hop: the hop's entry is found by its key alone (it
    // names the base's key, not the base's credentials), so neither is read again or
    // assumed, and the base is left until it is needed.
    std::fs::write(&base, "not json").unwrap();
    let warm = run();
    assert_eq!(warm.matches("cache hit").count(), 1, "{warm}");
    assert_eq!(sessions(), (irsa_0, dev_0 + 2));
    // Needed once the hop's entry is gone: the base is assumed again and replaced, then
    // the hop.
    std::fs::remove_file(&hop).unwrap();
    assert!(run().contains("corrupt"));
    assert_eq!(sessions(), (irsa_0 + 1, dev_0 + 3));
    for f in entries(&env) {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        assert_eq!(v["version"], 2);
        assert_eq!(std::fs::metadata(&f).unwrap().mode() & 0o777, 0o600);
    }
}

#[test]
fn unsafe_cache_directories_are_not_used() {
    let (env, irsa, dev) = chain_env("unsafe");
    let dir = cache_dir(&env);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let r = env.run(&["get-token", "--cluster-name", "dev", "--role-arn", &dev]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("not using the credential cache") && r.stderr.contains("0777"),
        "{}",
        r.stderr
    );
    assert!(entries(&env).is_empty());
    // Another owner (giving a directory away needs root, which make test runs as).
    require_root("giving the cache directory to another owner");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
    let before = sessions_of(&irsa);
    let r = env.run(&["get-token", "--cluster-name", "dev", "--role-arn", &dev]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("belongs to uid 65534"), "{}", r.stderr);
    assert_eq!(sessions_of(&irsa), before + 1);
    // An explicit --cache-dir that cannot be created: a warning, and the run goes on.
    let blocker = env.home.join("a-file");
    std::fs::write(&blocker, "").unwrap();
    let bad = blocker.join("cache");
    let r = env.run(&[
        "get-token",
        "--cluster-name",
        "dev",
        "--role-arn",
        &dev,
        "--cache-dir",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("cannot be created"), "{}", r.stderr);
}

#[test]
fn cache_location_follows_flag_env_and_xdg() {
    let (mut env, _, dev) = chain_env("where");
    let xdg = env.home.join("xdg");
    env.set("XDG_CACHE_HOME", xdg.display().to_string());
    assert_eq!(
        env.run(&["get-token", "--cluster-name", "dev", "--role-arn", &dev])
            .code,
        0
    );
    assert!(xdg.join("eks-token").is_dir());
    let custom = env.home.join("custom");
    env.set("EKS_TOKEN_CACHE_DIR", custom.display().to_string());
    assert_eq!(
        env.run(&["get-token", "--cluster-name", "dev", "--role-arn", &dev])
            .code,
        0
    );
    assert!(std::fs::read_dir(&custom).unwrap().count() >= 2);
    let flag = env.home.join("flag");
    assert_eq!(
        env.run(&[
            "get-token",
            "--cluster-name",
            "dev",
            "--role-arn",
            &dev,
            "--cache-dir",
            flag.to_str().unwrap()
        ])
        .code,
        0
    );
    assert!(flag.is_dir());
    // No HOME, nothing else: no cache and no noise.
    let mut bare = TestEnv::new();
    bare.unset("HOME").static_creds("AKIANOHOME0000000001", "s");
    let r = bare.run(&["get-token", "--cluster-name", "dev"]);
    assert_eq!(r.code, 0);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
}

/// `strace -c` of one run: calls per system call name.
fn syscall_counts(env: &TestEnv, args: &[&str]) -> std::collections::BTreeMap<String, u64> {
    let out = env.home.join("strace.out");
    let mut all = vec!["-f", "-c", "-o", out.to_str().unwrap()];
    let bin = bin();
    all.push(bin.to_str().unwrap());
    all.extend_from_slice(args);
    let r = env
        .command(std::path::Path::new("strace"), &all)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(r.success());
    // "% time  seconds  usecs/call  calls  errors  syscall", errors may be blank.
    std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let name = (*f.last()?).to_owned();
            let calls = f.get(3)?.parse().ok()?;
            (f.len() >= 5 && name != "total").then_some((name, calls))
        })
        .collect()
}

#[test]
fn a_warm_chain_reads_each_file_in_a_few_system_calls() {
    require_tool("strace", "it counts the warm run's system calls");
    let (env, irsa, dev) = chain_env("strace");
    let args = ["get-token", "--cluster-name", "dev", "--role-arn", &dev];
    assert_eq!(env.run(&args).code, 0);
    let before = (sessions_of(&irsa), sessions_of(&dev));
    let counts = syscall_counts(&env, &args);
    assert_eq!(
        (sessions_of(&irsa), sessions_of(&dev)),
        before,
        "warm: no STS call"
    );
    let reads = counts.get("read").copied().unwrap_or(0);
    // The token file and two cache entries, one or two reads each (a dynamically
    // linked build adds its loader's reads).
    assert!(reads <= 40, "{reads} read calls: {counts:?}");
    let opens = counts
        .get("open")
        .or(counts.get("openat"))
        .copied()
        .unwrap_or(0);
    assert!(opens <= 12, "{opens} opens: {counts:?}");
    let total: u64 = counts.values().sum();
    assert!(total <= 120, "{total} system calls in all: {counts:?}");
}

#[test]
fn expired_entries_are_swept_a_bounded_batch_per_run() {
    let (env, _, dev) = chain_env("sweep");
    let dir = cache_dir(&env);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let expired =
        eks_token::Token::rfc3339(time::OffsetDateTime::now_utc() - time::Duration::hours(2));
    let valid =
        eks_token::Token::rfc3339(time::OffsetDateTime::now_utc() + time::Duration::hours(2));
    let write = |name: String, body: String| {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        p
    };
    let entry = |key: &str, exp: &str| {
        serde_json::json!({"version": 2, "key": key, "access_key_id": "ASIAEXPIRED",
            "secret_access_key": "s", "session_token": "t", "expiration": exp})
        .to_string()
    };
    for i in 0..1000 {
        let key = format!("{i:064x}");
        write(format!("{key}.json"), entry(&key, &expired));
        write(format!("{key}.lock"), String::new());
    }
    // A valid entry stays; a lock file without an entry, older than a day, goes; a
    // fresh one stays.
    let keep = format!("{:064x}", 5000);
    let kept = write(format!("{keep}.json"), entry(&keep, &valid));
    let orphan = write(format!("{:064x}.lock", 6000), String::new());
    let recent_orphan = write(format!("{:064x}.lock", 6001), String::new());
    let touched = std::process::Command::new("touch")
        .args(["-d", "2 days ago"])
        .arg(&orphan)
        .status()
        .unwrap();
    assert!(touched.success());
    let count = |ext: &str| {
        std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == ext))
            .count()
    };
    let expired_left = || {
        (0..1000)
            .filter(|i| {
                dir.join(format!("{i:064x}.json")).exists()
                    || dir.join(format!("{i:064x}.lock")).exists()
            })
            .count()
    };
    let mut runs = 0;
    let mut examined_most = 0;
    while expired_left() > 0 {
        runs += 1;
        assert!(
            runs <= 20,
            "not swept after 20 runs: {} expired entries left",
            expired_left()
        );
        // Another session name each run: a miss, so the run writes (and sweeps).
        let session = format!("sweep-{runs}");
        let r = env.run(&[
            "get-token",
            "--cluster-name",
            "dev",
            "--role-arn",
            &dev,
            "-s",
            &session,
            "-v",
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let line = r
            .stderr
            .lines()
            .find(|l| l.contains("cache housekeeping: examined"))
            .unwrap_or_else(|| panic!("{}", r.stderr));
        let examined: usize = line
            .split("examined ")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        examined_most = examined_most.max(examined);
    }
    assert!(
        examined_most <= 64,
        "a run examined {examined_most} entries"
    );
    // 1000 entries, 64 a run (each run also adds one of its own).
    assert!(runs >= 1000 / 64, "{runs} runs");
    assert!(kept.exists());
    assert!(!orphan.exists());
    assert!(recent_orphan.exists());
    // Left: the valid entries, each written with its lock, the planted valid one
    // (without), and the recent orphan lock.
    assert_eq!(count("lock"), count("json"));
}
