//! Files and processes eks-token does not own: a FIFO or a device where a file is
//! expected, links and lookalikes in directories others can write, concurrent writers of
//! one kubeconfig, a root run on a user's file, chains built to be slow, signals that
//! would dump memory, credentials that expired at their source. Nothing blocks past
//! `--timeout`, nothing is followed or taken over, no change is lost.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::fault::{FaultServer, Reply};
use crate::common::*;
use serde_json::{json, Value};

const DEV_ROLE: &str = "arn:aws:iam::222222222222:role/testrole";

fn mkfifo(path: &Path) {
    let st = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(st.success(), "mkfifo {}", path.display());
}

fn is_fifo(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_fifo())
}

/// Runs the binary under GNU time: the run, and its peak resident memory in KiB.
fn run_measured(env: &TestEnv, args: &[&str]) -> (Run, u64) {
    let dir = TempDir::new("rss");
    let rss = dir.join("rss");
    let mut all: Vec<String> = ["-f", "%M", "-o", rss.to_str().unwrap()]
        .iter()
        .map(|s| s.to_string())
        .collect();
    all.push(bin().display().to_string());
    all.extend(args.iter().map(|s| s.to_string()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    let mut c = env.command(Path::new("/usr/bin/time"), &all);
    c.stdin(Stdio::null());
    let run = run_killed_after(c, Duration::from_secs(30));
    let kib = std::fs::read_to_string(&rss)
        .unwrap_or_default()
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("GNU time gave no peak memory: {}", run.stderr));
    (run, kib)
}

fn sso_cache_name(session: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, session.as_bytes());
    format!("{}.json", hex::encode(d.as_ref()))
}

/// Each file eks-token reads from outside, set up at `path` (a FIFO or a device); the
/// arguments of the run that reads it.
type Setup = fn(&mut TestEnv, &Path) -> Vec<String>;

fn outside_file_cases() -> Vec<(&'static str, Setup)> {
    fn token_args() -> Vec<String> {
        ["get-token", "--cluster-name", "dev", "--timeout", "3"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }
    vec![
        ("AWS_CONFIG_FILE", |env, p| {
            env.static_creds("AKIAOUTSIDE000000001", "outside/secret")
                .set("AWS_CONFIG_FILE", p.display().to_string());
            token_args()
        }),
        ("AWS_SHARED_CREDENTIALS_FILE", |env, p| {
            env.static_creds("AKIAOUTSIDE000000001", "outside/secret")
                .set("AWS_SHARED_CREDENTIALS_FILE", p.display().to_string());
            token_args()
        }),
        ("web identity token file", |env, p| {
            env.set("AWS_WEB_IDENTITY_TOKEN_FILE", p.display().to_string())
                .set("AWS_ROLE_ARN", "arn:aws:iam::111111111111:role/irsa")
                .set(
                    "AWS_ENDPOINT_URL_STS",
                    format!("http://127.0.0.1:{}", closed_port()),
                );
            token_args()
        }),
        ("container authorization token file", |env, p| {
            env.set(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                format!("http://127.0.0.1:{}/creds", closed_port()),
            )
            .set(
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                p.display().to_string(),
            );
            token_args()
        }),
        ("SSO token cache", |env, p| {
            let config = env.home.join("sso-config");
            std::fs::write(
                &config,
                "[profile sso]\nsso_session = corp\nsso_account_id = 222222222222\n\
                 sso_role_name = Deployer\nregion = us-east-1\n\
                 [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n\
                 sso_region = eu-west-1\n",
            )
            .unwrap();
            let cache = env.home.join(".aws/sso/cache");
            std::fs::create_dir_all(&cache).unwrap();
            std::os::unix::fs::symlink(p, cache.join(sso_cache_name("corp"))).unwrap();
            env.set("AWS_CONFIG_FILE", config.display().to_string())
                .set("AWS_PROFILE", "sso")
                .set(
                    "AWS_ENDPOINT_URL_SSO",
                    format!("http://127.0.0.1:{}", closed_port()),
                );
            token_args()
        }),
        ("AWS_CA_BUNDLE", |env, p| {
            env.static_creds("AKIAOUTSIDE000000001", "outside/secret")
                .set("AWS_CA_BUNDLE", p.display().to_string())
                .set(
                    "AWS_ENDPOINT_URL_STS",
                    format!("https://127.0.0.1:{}", closed_port()),
                );
            let mut a = token_args();
            a.extend(["--role-arn".into(), DEV_ROLE.into()]);
            a
        }),
        ("write-token --ca-file", |env, p| {
            env.static_creds("AKIAOUTSIDE000000001", "outside/secret");
            let out = env.home.join("out/token");
            let kubeconfig = env.home.join("out/kubeconfig");
            [
                "write-token",
                "--cluster-name",
                "dev",
                "--timeout",
                "3",
                "--out",
                out.to_str().unwrap(),
                "--kubeconfig-out",
                kubeconfig.to_str().unwrap(),
                "--server",
                "https://127.0.0.1:6443",
                "--ca-file",
                p.to_str().unwrap(),
            ]
            .iter()
            .map(|s| s.to_string())
            .collect()
        }),
        ("eks update-kubeconfig --kubeconfig", |env, p| {
            env.static_creds("AKIAOUTSIDE000000001", "outside/secret")
                .set(
                    "AWS_ENDPOINT_URL_EKS",
                    format!("http://127.0.0.1:{}", closed_port()),
                );
            [
                "eks",
                "update-kubeconfig",
                "--name",
                "dev",
                "--timeout",
                "3",
                "--kubeconfig",
                p.to_str().unwrap(),
            ]
            .iter()
            .map(|s| s.to_string())
            .collect()
        }),
    ]
}

#[test]
fn a_fifo_or_a_device_where_a_file_is_expected_ends_the_run_at_once() {
    for (what, setup) in outside_file_cases() {
        for (kind, says) in [
            ("fifo", "it is a FIFO (named pipe), not a regular file"),
            ("/dev/zero", "it is a character device, not a regular file"),
        ] {
            let mut env = TestEnv::new();
            env.set("AWS_REGION", "us-east-1");
            let path = if kind == "fifo" {
                let p = env.home.join("outside-fifo");
                mkfifo(&p);
                p
            } else {
                PathBuf::from("/dev/zero")
            };
            let args = setup(&mut env, &path);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let (r, rss_kib) = run_measured(&env, &args);
            assert_failed(&r, 1, &["outside/secret"]);
            assert!(
                r.elapsed < Duration::from_secs(4),
                "{what} as {kind}: {:?}",
                r.elapsed
            );
            assert!(r.stderr.contains(says), "{what} as {kind}: {}", r.stderr);
            // The message names the path (the SSO cache is named by its own path, a
            // link to this one).
            if what != "SSO token cache" {
                assert!(
                    r.stderr.contains(path.to_str().unwrap()),
                    "{what} as {kind}: {}",
                    r.stderr
                );
            }
            assert!(rss_kib < 16 * 1024, "{what} as {kind}: {rss_kib} KiB");
            if kind == "fifo" {
                assert!(is_fifo(&path), "{what}: the FIFO was replaced");
            }
        }
    }
}

#[test]
fn verify_reads_stdin_within_its_timeout_and_its_cap() {
    let env = TestEnv::new();
    // A writer that never writes nor closes (`timeout` ends a run that would hang).
    let mut child = env
        .command(
            Path::new("timeout"),
            &["30", bin().to_str().unwrap(), "verify", "--timeout", "2"],
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let held = child.stdin.take();
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    drop(held);
    let r = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: started.elapsed(),
    };
    assert_failed(&r, 1, &[]);
    assert!(r.elapsed < Duration::from_secs(3), "{:?}", r.elapsed);
    assert!(
        r.stderr.contains("stdin") && r.stderr.contains("--timeout"),
        "{}",
        r.stderr
    );
    // An endless device: read up to the cap only.
    let dir = TempDir::new("stdin");
    let rss = dir.join("rss");
    let started = Instant::now();
    let out = env
        .command(
            Path::new("/usr/bin/time"),
            &[
                "-f",
                "%M",
                "-o",
                rss.to_str().unwrap(),
                bin().to_str().unwrap(),
                "verify",
                "--timeout",
                "3",
            ],
        )
        .stdin(std::fs::File::open("/dev/zero").unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(started.elapsed() < Duration::from_secs(4));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("more than 1024 KiB"), "{stderr}");
    let kib: u64 = std::fs::read_to_string(&rss)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(kib < 16 * 1024, "{kib} KiB");
}

/// The role the cache tests assume (their own: other tests share moto).
const OUTSIDE_DEV: &str = "arn:aws:iam::222222222222:role/outside-dev";

/// Sessions moto has issued for `role`.
fn sessions_of(role: &str) -> usize {
    moto()
        .sessions()
        .iter()
        .filter(|s| s["role_arn"] == role)
        .count()
}

/// An IRSA -> role chain against moto, with its cache in HOME.
fn chain_env() -> TestEnv {
    let mut env = TestEnv::new();
    env.irsa(
        "arn:aws:iam::111111111111:role/outside-irsa",
        "eyJhbGciOiJSUzI1NiJ9.outside.c2ln",
    );
    env.set("AWS_ENDPOINT_URL_STS", &moto().url)
        .set("AWS_REGION", "us-east-1");
    env
}

fn cache_files(env: &TestEnv, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(env.home.join(".cache/eks-token"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    v.sort();
    v
}

#[test]
fn cache_entries_and_locks_that_are_not_regular_files_are_not_waited_for_or_followed() {
    let env = chain_env();
    let args = [
        "get-token",
        "--cluster-name",
        "dev",
        "--role-arn",
        OUTSIDE_DEV,
        "--timeout",
        "3",
    ];
    // A fresh cache with both entries (web identity, then the role), and their locks.
    let populate = || {
        let _ = std::fs::remove_dir_all(env.home.join(".cache/eks-token"));
        let r = env.run(&args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let (entries, locks) = (cache_files(&env, "json"), cache_files(&env, "lock"));
        assert_eq!(
            (entries.len(), locks.len()),
            (2, 2),
            "{entries:?} {locks:?}"
        );
        (entries, locks)
    };
    let run_ok = |says: &str| {
        let before = sessions_of(OUTSIDE_DEV);
        let r = env.run(&args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(r.elapsed < Duration::from_secs(4), "{:?}", r.elapsed);
        assert!(r.stderr.contains(says), "{}", r.stderr);
        assert_verifies(&verify(&token_of(&r.stdout), "dev", Some(&moto().url), &[]));
        assert_eq!(sessions_of(OUTSIDE_DEV), before + 1, "STS was asked again");
        r
    };

    // A FIFO at each entry's name: a miss with a warning, and a token. (The role's
    // entry gets a new key with the new web identity credentials below it.)
    let (entries, _) = populate();
    for e in &entries {
        std::fs::remove_file(e).unwrap();
        mkfifo(e);
    }
    let r = run_ok("it is a FIFO (named pipe), not a regular file");
    assert_eq!(
        r.stderr.matches("ignoring cache entry").count(),
        1,
        "{}",
        r.stderr
    );
    // In our own directory nothing is waited for: each FIFO is replaced by an entry or
    // removed by housekeeping.
    for e in &entries {
        assert!(!is_fifo(e), "a FIFO is left in the cache");
    }

    // A link at each entry's name, to a valid copy of the entry: not followed.
    let (entries, _) = populate();
    let elsewhere = TempDir::new("elsewhere");
    let mut copies = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let copy = elsewhere.join(&format!("entry-{i}"));
        std::fs::rename(e, &copy).unwrap();
        std::os::unix::fs::symlink(&copy, e).unwrap();
        copies.push((copy.clone(), std::fs::read(&copy).unwrap()));
    }
    run_ok("symbolic link");
    for (copy, bytes) in &copies {
        assert_eq!(
            &std::fs::read(copy).unwrap(),
            bytes,
            "a link's target changed"
        );
    }

    // A FIFO at each lock's name (the entries gone, so the run takes the locks).
    let (entries, locks) = populate();
    for e in &entries {
        std::fs::remove_file(e).unwrap();
    }
    for l in &locks {
        std::fs::remove_file(l).unwrap();
        mkfifo(l);
    }
    run_ok("");
    // A link at each lock's name, to a file that must not be created.
    let (entries, locks) = populate();
    for e in &entries {
        std::fs::remove_file(e).unwrap();
    }
    let victims: Vec<PathBuf> = (0..locks.len())
        .map(|i| elsewhere.join(&format!("victim-{i}")))
        .collect();
    for (l, v) in locks.iter().zip(&victims) {
        std::fs::remove_file(l).unwrap();
        std::os::unix::fs::symlink(v, l).unwrap();
    }
    run_ok("");
    for v in &victims {
        assert!(!v.exists(), "a link at a lock's name was followed");
    }
}

#[test]
fn the_cache_directory_is_checked_before_anything_in_it_is_read() {
    let env = chain_env();
    let args = [
        "get-token",
        "--cluster-name",
        "dev",
        "--role-arn",
        OUTSIDE_DEV,
    ];
    let r = env.run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let dir = env.home.join(".cache/eks-token");
    // Open to others: nothing in it is read (not even a FIFO planted there is opened).
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let before = sessions_of(OUTSIDE_DEV);
    let r = env.run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("not using the credential cache") && r.stderr.contains("0777"),
        "{}",
        r.stderr
    );
    assert_eq!(
        sessions_of(OUTSIDE_DEV),
        before + 1,
        "the entries were read from an unsafe directory"
    );
    // A link in place of the directory: not followed.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let real = env.home.join("real-cache");
    std::fs::rename(&dir, &real).unwrap();
    std::os::unix::fs::symlink(&real, &dir).unwrap();
    let before = sessions_of(OUTSIDE_DEV);
    let r = env.run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
    assert_eq!(sessions_of(OUTSIDE_DEV), before + 1);
}

#[test]
fn write_token_leaves_lookalikes_of_dead_writers_temp_files_alone() {
    let mut env = TestEnv::new();
    env.static_creds("AKIAOUTSIDE000000002", "outside/secret")
        .set("AWS_REGION", "us-east-1");
    let dir = env.home.join("shared");
    std::fs::create_dir_all(&dir).unwrap();
    // Named as a writer with a pid that cannot exist would have named them.
    let temp = |tag: &str| dir.join(format!(".token.eks-token-tmp.4294967295.{tag}"));
    let (fifo, subdir, link, dead) = (temp("fifo"), temp("dir"), temp("link"), temp("dead"));
    mkfifo(&fifo);
    std::fs::create_dir(&subdir).unwrap();
    let target = env.home.join("link-target");
    std::fs::write(&target, "not ours to remove").unwrap();
    std::os::unix::fs::symlink(&target, &link).unwrap();
    std::fs::write(&dead, "a dead writer's partial token").unwrap();
    let out = dir.join("token");
    let r = env.run(&[
        "write-token",
        "--cluster-name",
        "dev",
        "--timeout",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.elapsed < Duration::from_secs(4), "{:?}", r.elapsed);
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .contains("k8s-aws-v1."));
    assert!(is_fifo(&fifo));
    assert!(subdir.is_dir());
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "not ours to remove"
    );
    // What a dead writer of ours left is removed (the cleanup ran).
    assert!(!dead.exists());
}

/// A config whose `dev` profile describes clusters as the dev role, against moto.
fn kubeconfig_env() -> TestEnv {
    let mut env = TestEnv::new();
    let config = env.home.join("aws-config");
    let creds = env.home.join("aws-credentials");
    std::fs::write(
        &config,
        format!(
            "[profile dev]\nrole_arn = {DEV_ROLE}\nsource_profile = base\nregion = us-east-1\n"
        ),
    )
    .unwrap();
    std::fs::write(
        &creds,
        "[base]\naws_access_key_id = AKIAOUTSIDEKUBE00001\naws_secret_access_key = s\n",
    )
    .unwrap();
    env.set("AWS_CONFIG_FILE", config.display().to_string())
        .set("AWS_SHARED_CREDENTIALS_FILE", creds.display().to_string())
        .set("AWS_PROFILE", "dev")
        .set("AWS_ENDPOINT_URL_EKS", &moto().url)
        .set("AWS_ENDPOINT_URL_STS", &moto().url);
    env
}

fn update_args(cluster: &str, kubeconfig: &Path) -> Vec<String> {
    [
        "eks",
        "update-kubeconfig",
        "--name",
        cluster,
        "--timeout",
        "10",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn arn(cluster: &str) -> String {
    format!("arn:aws:eks:us-east-1:222222222222:cluster/{cluster}")
}

fn kubectl_view(path: &Path) -> Value {
    let out = Command::new("kubectl")
        .args(["config", "view", "--raw", "-o", "json", "--kubeconfig"])
        .arg(path)
        .env("HOME", std::env::temp_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn names(view: &Value, list: &str) -> Vec<String> {
    view[list]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["name"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn concurrent_updates_of_one_kubeconfig_keep_every_change() {
    create_cluster("outside-a", DEV_ROLE);
    create_cluster("outside-b", DEV_ROLE);
    let env = kubeconfig_env();
    for round in 0..20 {
        let config = env.home.join(&format!("kube-{round}/config"));
        let children: Vec<_> = ["outside-a", "outside-b"]
            .iter()
            .map(|c| {
                let args = update_args(c, &config);
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                env.command(&bin(), &args)
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
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let clusters = names(&kubectl_view(&config), "clusters");
        for c in ["outside-a", "outside-b"] {
            assert!(
                clusters.contains(&arn(c)),
                "round {round}: {c} lost: {clusters:?}"
            );
        }
        assert!(!config.with_file_name("config.lock").exists());
    }

    // Beside kubectl, which takes the same lock (and gives up at once if it is held:
    // it is run again then, as a user would).
    for round in 0..5 {
        let config = env.home.join(&format!("kubectl-{round}/config"));
        std::fs::create_dir_all(config.parent().unwrap()).unwrap();
        let args = update_args("outside-a", &config);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let ours = env
            .command(&bin(), &args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut kubectl_ok = false;
        for _ in 0..200 {
            let out = Command::new("kubectl")
                .args(["config", "set-context", "beside", "--namespace=team"])
                .arg("--kubeconfig")
                .arg(&config)
                .env("HOME", env.home.path())
                .output()
                .unwrap();
            if out.status.success() {
                kubectl_ok = true;
                break;
            }
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains(".lock"), "kubectl: {err}");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(kubectl_ok, "kubectl never got the lock");
        let out = ours.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let view = kubectl_view(&config);
        assert!(names(&view, "contexts").contains(&"beside".to_owned()));
        assert!(names(&view, "clusters").contains(&arn("outside-a")));
    }

    // A lock someone holds: the run waits, then fails within --timeout naming it.
    let config = env.home.join("held/config");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, "apiVersion: v1\nkind: Config\nclusters: []\n").unwrap();
    let lock = config.with_file_name("config.lock");
    std::fs::write(&lock, "").unwrap();
    let mut args = update_args("outside-a", &config);
    args[5] = "2".into();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = env.run(&args);
    assert_failed(&r, 1, &[]);
    assert!(r.elapsed < Duration::from_secs(3), "{:?}", r.elapsed);
    assert!(r.elapsed >= Duration::from_secs(1), "it waited");
    assert!(r.stderr.contains(lock.to_str().unwrap()), "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "apiVersion: v1\nkind: Config\nclusters: []\n"
    );
    assert!(lock.exists(), "someone else's lock is not removed");
}

#[test]
fn a_users_kubeconfig_stays_theirs() {
    create_cluster("outside-owner", DEV_ROLE);
    let env = kubeconfig_env();
    // Root updates a user's file: still theirs, with its mode.
    let dir = env.home.join("user-kube");
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config");
    std::fs::write(&config, "apiVersion: v1\nkind: Config\nclusters: []\n").unwrap();
    std::os::unix::fs::chown(&config, Some(1000), Some(1000)).unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let args = update_args("outside-owner", &config);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = env.run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let m = std::fs::metadata(&config).unwrap();
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (1000, 1000, 0o600));
    assert!(names(&kubectl_view(&config), "clusters").contains(&arn("outside-owner")));

    // A dangling link: still a link; its target created, 0600.
    let link = env.home.join("linked/config");
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    let target = env.home.join("linked/real-config");
    std::os::unix::fs::symlink("real-config", &link).unwrap();
    let args = update_args("outside-owner", &link);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = env.run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::metadata(&target).unwrap().mode() & 0o7777, 0o600);
    assert!(names(&kubectl_view(&link), "clusters").contains(&arn("outside-owner")));

    // The caller's own 0400 kubeconfig (run as uid 1000): refused, unchanged.
    let own = TempDir::new("uid1000");
    std::fs::set_permissions(own.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let kube = own.join("config");
    let before = "apiVersion: v1\nkind: Config\nclusters: []\n";
    std::fs::write(&kube, before).unwrap();
    std::os::unix::fs::chown(own.path(), Some(1000), Some(1000)).unwrap();
    std::os::unix::fs::chown(&kube, Some(1000), Some(1000)).unwrap();
    std::fs::set_permissions(&kube, std::fs::Permissions::from_mode(0o400)).unwrap();
    let mut args = vec![
        "--reuid=1000".to_owned(),
        "--regid=1000".to_owned(),
        "--clear-groups".to_owned(),
        "--".to_owned(),
        bin().display().to_string(),
    ];
    args.extend(update_args("outside-owner", &kube));
    args.push("--no-cache".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = env
        .command(Path::new("setpriv"), &args)
        .current_dir(own.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(stderr.contains("Permission denied"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&kube).unwrap(), before);
}

/// A config of `depth` profiles, each the source of the one before; the last has
/// `bottom`.
fn deep_chain(dir: &Path, depth: usize, bottom: &str) -> PathBuf {
    let mut text = String::with_capacity(depth * 100);
    for i in 0..depth - 1 {
        text.push_str(&format!(
            "[profile p{i}]\nrole_arn = arn:aws:iam::111111111111:role/r{i}\nsource_profile = p{}\n",
            i + 1
        ));
    }
    text.push_str(&format!(
        "[profile p{}]\nrole_arn = arn:aws:iam::111111111111:role/last\n{bottom}\n",
        depth - 1
    ));
    let p = dir.join(format!("config-{depth}"));
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn deep_profile_chains_are_planned_in_linear_time_within_the_deadline() {
    let mut env = TestEnv::new();
    env.set("AWS_PROFILE", "p0")
        .set("AWS_REGION", "us-east-1")
        .set("AWS_ENDPOINT_URL_STS", &moto().url);
    // 50,000 roles to assume, with keys at the bottom: the deadline ends it.
    let keys = "aws_access_key_id = AKIADEEPCHAIN0000001\naws_secret_access_key = s";
    let config = deep_chain(
        env.home.path(),
        50_000,
        &format!("source_profile = keys\n[profile keys]\n{keys}"),
    );
    env.set("AWS_CONFIG_FILE", config.display().to_string());
    let r = env.run(&["get-token", "--cluster-name", "dev", "--timeout", "3"]);
    assert_failed(&r, 1, &[]);
    assert!(r.elapsed < Duration::from_secs(4), "{:?}", r.elapsed);
    assert!(r.stderr.contains("deadline"), "{}", r.stderr);

    // Planning alone (the bottom fails at once, before any request): linear.
    let plan_time = |depth: usize| {
        let config = deep_chain(env.home.path(), depth, "credential_source = Environment");
        let mut e = TestEnv::new();
        e.set("AWS_PROFILE", "p0")
            .set("AWS_CONFIG_FILE", config.display().to_string());
        (0..3)
            .map(|_| {
                let r = e.run(&["get-token", "--cluster-name", "dev", "--timeout", "30"]);
                assert_failed(&r, 1, &[]);
                assert!(
                    r.stderr.contains("credential_source Environment"),
                    "{}",
                    r.stderr
                );
                r.elapsed.as_secs_f64()
            })
            .fold(f64::MAX, f64::min)
    };
    let (half, full) = (plan_time(25_000), plan_time(50_000));
    assert!(
        full / half < 3.0,
        "planning 50,000 took {full:.3} s, 25,000 {half:.3} s"
    );
}

/// Whether this machine writes core files into the working directory (the test below
/// is meaningful only if a process that may dump core does).
fn core_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("core"))
        .collect()
}

/// Starts `program args` with core dumps allowed (`ulimit -c unlimited`) in `dir`.
fn spawn_dumpable(env: &TestEnv, dir: &Path, program: &Path, args: &[&str]) -> std::process::Child {
    let mut all = vec![
        "-c",
        "ulimit -c unlimited && exec \"$0\" \"$@\"",
        program.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    env.command(Path::new("sh"), &all)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn sigquit(child: &mut std::process::Child) -> std::process::ExitStatus {
    let st = Command::new("kill")
        .args(["-QUIT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    child.wait().unwrap()
}

#[test]
fn a_quit_signal_leaves_no_core_file_with_secrets() {
    // The control: on this machine a process that may dump core leaves one.
    let env = TestEnv::new();
    let control = TempDir::new("core-control");
    let mut sleeper = spawn_dumpable(&env, control.path(), Path::new("sleep"), &["30"]);
    std::thread::sleep(Duration::from_millis(300));
    let st = sigquit(&mut sleeper);
    assert!(st.core_dumped(), "control: no core dump ({st:?})");
    assert!(
        !core_files(control.path()).is_empty(),
        "this machine writes no core files in the working directory (see \
         /proc/sys/kernel/core_pattern): the test cannot tell"
    );

    // get-token while its STS call hangs.
    let sts = FaultServer::start(vec![], Reply::Hang);
    let mut env = TestEnv::new();
    env.static_creds("AKIACORE000000000001", "core/SECRETKEY")
        .set("AWS_SESSION_TOKEN", "core-SESSIONTOKEN")
        .set("AWS_ENDPOINT_URL_STS", &sts.url)
        .set("AWS_REGION", "us-east-1");
    let dir = TempDir::new("core-get-token");
    let mut child = spawn_dumpable(
        &env,
        dir.path(),
        &bin(),
        &[
            "get-token",
            "--cluster-name",
            "dev",
            "--role-arn",
            DEV_ROLE,
            "--timeout",
            "20",
        ],
    );
    let started = Instant::now();
    while sts.requests().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(10), "no STS call");
        std::thread::sleep(Duration::from_millis(20));
    }
    let st = sigquit(&mut child);
    assert_eq!(st.signal(), Some(3), "{st:?}");
    assert!(!st.core_dumped(), "{st:?}");
    assert!(
        core_files(dir.path()).is_empty(),
        "{:?}",
        core_files(dir.path())
    );

    // The sidecar, after its first write.
    let dir = TempDir::new("core-sidecar");
    let out = dir.join("token");
    env.unset("AWS_ENDPOINT_URL_STS");
    let mut child = spawn_dumpable(
        &env,
        dir.path(),
        &bin(),
        &[
            "write-token",
            "--cluster-name",
            "dev",
            "--refresh",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let started = Instant::now();
    while !out.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no token written"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let st = sigquit(&mut child);
    assert_eq!(st.signal(), Some(3), "{st:?}");
    assert!(!st.core_dumped(), "{st:?}");
    assert!(
        core_files(dir.path()).is_empty(),
        "{:?}",
        core_files(dir.path())
    );
}

fn past(minutes: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc() - time::Duration::minutes(minutes)
}

#[test]
fn expired_credentials_sign_nothing_hops_included() {
    let sts = FaultServer::start(vec![], Reply::sts_error(500, "ShouldNotBeCalled", "no"));
    let hop = [
        "get-token",
        "--cluster-name",
        "dev",
        "--role-arn",
        DEV_ROLE,
        "--no-cache",
    ];
    let expired = eks_token::Token::rfc3339(past(5));
    let base_env = || {
        let mut env = TestEnv::new();
        env.set("AWS_ENDPOINT_URL_STS", &sts.url)
            .set("AWS_REGION", "us-east-1");
        env
    };

    // credential_process.
    let mut env = base_env();
    let script = env.home.join("creds.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho '{}'\n",
            json!({"Version": 1, "AccessKeyId": "AKIAEXPIREDPROCESS01",
                   "SecretAccessKey": "expired/secret", "SessionToken": "t",
                   "Expiration": expired})
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = env.home.join("config");
    std::fs::write(
        &config,
        format!(
            "[profile proc]\ncredential_process = {}\n",
            script.display()
        ),
    )
    .unwrap();
    env.set("AWS_CONFIG_FILE", config.display().to_string())
        .set("AWS_PROFILE", "proc");
    let r = env.run(&hop);
    assert_failed(&r, 1, &["expired/secret"]);
    assert!(
        r.stderr.contains("credential_process")
            && r.stderr.contains(&format!("expired at {expired}")),
        "{}",
        r.stderr
    );

    // Container credentials.
    let agent = FaultServer::start(
        vec![],
        Reply::Http {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body:
                json!({"AccessKeyId": "ASIAEXPIREDCONTAINER", "SecretAccessKey": "expired/secret",
                         "Token": "t", "Expiration": expired})
                .to_string()
                .into_bytes(),
        },
    );
    let mut env = base_env();
    env.set(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        format!("{}/creds", agent.url),
    );
    let r = env.run(&hop);
    assert_failed(&r, 1, &["expired/secret"]);
    assert!(
        r.stderr.contains("container credentials") && r.stderr.contains("expired at"),
        "{}",
        r.stderr
    );

    // SSO role credentials.
    let portal = FaultServer::start(
        vec![],
        Reply::Http {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: json!({"roleCredentials": {"accessKeyId": "ASIAEXPIREDSSO000001",
                "secretAccessKey": "expired/secret", "sessionToken": "t",
                "expiration": past(5).unix_timestamp() * 1000}})
            .to_string()
            .into_bytes(),
        },
    );
    let mut env = base_env();
    let config = env.home.join("config");
    std::fs::write(
        &config,
        "[profile sso]\nsso_session = corp\nsso_account_id = 222222222222\n\
         sso_role_name = Deployer\n[sso-session corp]\n\
         sso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n",
    )
    .unwrap();
    let cache = env.home.join(".aws/sso/cache");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::write(
        cache.join(sso_cache_name("corp")),
        json!({"accessToken": "sso-bearer", "region": "eu-west-1",
               "expiresAt": eks_token::Token::rfc3339(time::OffsetDateTime::now_utc() + time::Duration::hours(1))})
        .to_string(),
    )
    .unwrap();
    env.set("AWS_CONFIG_FILE", config.display().to_string())
        .set("AWS_PROFILE", "sso")
        .set("AWS_ENDPOINT_URL_SSO", &portal.url);
    let r = env.run(&hop);
    assert_failed(&r, 1, &["expired/secret"]);
    assert!(
        r.stderr.contains("SSO") && r.stderr.contains("expired at"),
        "{}",
        r.stderr
    );
    assert_eq!(portal.requests().len(), 1);

    assert!(
        sts.requests().is_empty(),
        "STS was called: {:?}",
        sts.requests()
    );
}

/// A kubeconfig whose untouched entries hold values kubectl types (YAML 1.1, as go-yaml
/// v2 reads them) and strings that look like them.
const TYPED: &str = "\
apiVersion: v1
kind: Config
preferences:
  colors: on
  extensions:
  - name: prefs
    extension:
      a: on
      b: yes
      c: no
      d: 1e3
      e: 0755
      f: 0x1F
      g: ~
      h: y
      list: [on, yes, no, 1e3, 0755, 0x1F, ~]
clusters:
- name: typed
  cluster: &base
    server: https://typed.example.com
    insecure-skip-tls-verify: true
    extensions:
    - name: x
      extension: {a: on, b: yes, c: no, d: 1e3, e: 0755, f: 0x1F, g: ~, on: key, yes: 1, y: 2}
    - name: tagged
      extension: [!!int 12, !!bool yes, !!float 1, !!null '', !!str 12, !!binary aGVsbG8=]
- name: merged
  cluster:
    <<: *base
    server: https://merged.example.com
users:
- name: merged
  user: {<<: {token: merged-token, username: m}, username: after}
- name: quoted
  user:
    username: \"yes\"
    password: \"on\"
    token: \"1e3\"
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: echo
      args: [\"0755\", \"0x1F\", \"~\", \"no\", \"1e3\"]
contexts:
- name: typed
  context: {cluster: typed, user: quoted, namespace: \"on\"}
current-context: typed
";

#[test]
fn entries_update_kubeconfig_does_not_touch_read_the_same_to_kubectl() {
    create_cluster("outside-typed", DEV_ROLE);
    let env = kubeconfig_env();
    let config = env.home.join("typed/config");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, TYPED).unwrap();
    let before = kubectl_view(&config);
    let args = update_args("outside-typed", &config);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = env.run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let after = kubectl_view(&config);
    assert_eq!(after["preferences"], before["preferences"]);
    for (list, name) in [
        ("clusters", "typed"),
        ("users", "quoted"),
        ("contexts", "typed"),
    ] {
        let find = |v: &Value| {
            v[list]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["name"] == name)
                .cloned()
                .unwrap()
        };
        assert_eq!(find(&after), find(&before), "{list} {name}");
    }
    // Spot checks of what kubectl read, before and after.
    let typed = after["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "typed")
        .unwrap();
    let ext = &typed["cluster"]["extensions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "x")
        .unwrap()["extension"];
    assert_eq!(ext["a"], true);
    assert_eq!(ext["e"], 493);
    assert_eq!(ext["d"], 1000);
    assert_eq!(ext["true"], 2, "the last of on, yes, y");
    let merged = after["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "merged")
        .unwrap();
    assert_eq!(merged["cluster"]["insecure-skip-tls-verify"], true);
    assert_eq!(merged["cluster"]["server"], "https://merged.example.com");
    let context = after["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "typed")
        .unwrap();
    assert_eq!(context["context"]["namespace"], "on");
    assert!(names(&after, "clusters").contains(&arn("outside-typed")));
}

#[test]
fn root_does_not_follow_a_users_link_and_a_user_keeps_a_group_only_when_it_matters() {
    create_cluster("outside-link", DEV_ROLE);
    let env = kubeconfig_env();
    // A user's directory; their kubeconfig is a link they own, to a file of root's.
    let home = TempDir::new("user-home");
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let victim = home.join("root-file");
    std::fs::write(&victim, "apiVersion: v1\nkind: Config\nclusters: []\n").unwrap();
    let kube = home.join("kube");
    std::fs::create_dir(&kube).unwrap();
    let config = kube.join("config");
    std::os::unix::fs::symlink(&victim, &config).unwrap();
    for p in [home.path(), kube.as_path()] {
        std::os::unix::fs::chown(p, Some(1000), Some(1000)).unwrap();
    }
    std::os::unix::fs::lchown(&config, Some(1000), Some(1000)).unwrap();
    let args = update_args("outside-link", &config);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = env.run(&args);
    assert_failed(&r, 1, &[]);
    assert!(
        r.stderr.contains("symbolic link") && r.stderr.contains("uid 1000"),
        "{}",
        r.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "apiVersion: v1\nkind: Config\nclusters: []\n"
    );
    assert_eq!(std::fs::metadata(&victim).unwrap().uid(), 0);

    // Run as uid 1000: a kubeconfig of theirs whose group is root's. With mode 0600 the
    // group gives nothing: it is updated. With 0640 it would be given away: refused,
    // before any request.
    let own = TempDir::new("uid1000-group");
    std::fs::set_permissions(own.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::chown(own.path(), Some(1000), Some(1000)).unwrap();
    let kube = own.join("config");
    let run_as_user = |mode: u32| {
        std::fs::write(&kube, "apiVersion: v1\nkind: Config\nclusters: []\n").unwrap();
        std::os::unix::fs::chown(&kube, Some(1000), Some(0)).unwrap();
        std::fs::set_permissions(&kube, std::fs::Permissions::from_mode(mode)).unwrap();
        let mut args = vec![
            "--reuid=1000".to_owned(),
            "--regid=1000".to_owned(),
            "--clear-groups".to_owned(),
            "--".to_owned(),
            bin().display().to_string(),
        ];
        args.extend(update_args("outside-link", &kube));
        args.push("--no-cache".into());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut c = env.command(Path::new("setpriv"), &args);
        c.current_dir(own.path());
        run_killed_after(c, Duration::from_secs(60))
    };
    let r = run_as_user(0o600);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let m = std::fs::metadata(&kube).unwrap();
    assert_eq!((m.uid(), m.mode() & 0o7777), (1000, 0o600));
    let r = run_as_user(0o640);
    assert_failed(&r, 1, &[]);
    assert!(r.stderr.contains("gid 0"), "{}", r.stderr);
    assert_eq!(std::fs::metadata(&kube).unwrap().gid(), 0);
}

#[test]
fn credentials_are_checked_before_every_call_they_sign_within_one_calls_time() {
    let sts = FaultServer::start(vec![], Reply::sts_error(500, "ShouldNotBeCalled", "no"));
    let mut env = TestEnv::new();
    env.static_creds("ASIAEXPIREDENV000001", "expired/secret")
        .set("AWS_SESSION_TOKEN", "expired-session")
        .set(
            "AWS_CREDENTIAL_EXPIRATION",
            eks_token::Token::rfc3339(past(60)),
        )
        .set("AWS_ENDPOINT_URL_STS", &sts.url)
        .set("AWS_ENDPOINT_URL_EKS", &sts.url)
        .set("AWS_REGION", "us-east-1");
    // No hop: GetCallerIdentity and DescribeCluster are not signed with them either.
    let r = env.run(&["whoami"]);
    assert_failed(&r, 1, &["expired/secret"]);
    assert!(r.stderr.contains("expired at"), "{}", r.stderr);
    let kube = env.home.join("kube");
    let r = env.run(&[
        "eks",
        "update-kubeconfig",
        "--name",
        "x",
        "--dry-run",
        "--kubeconfig",
        kube.to_str().unwrap(),
    ]);
    assert_failed(&r, 1, &["expired/secret"]);
    assert!(r.stderr.contains("expired at"), "{}", r.stderr);
    assert!(sts.requests().is_empty(), "{:?}", sts.requests());
    // Valid for two hours: enough for one call, whatever --timeout says.
    let m = moto();
    env.set(
        "AWS_CREDENTIAL_EXPIRATION",
        eks_token::Token::rfc3339(time::OffsetDateTime::now_utc() + time::Duration::hours(2)),
    )
    .set("AWS_ENDPOINT_URL_STS", &m.url);
    let r = env.run(&[
        "get-token",
        "--cluster-name",
        "dev",
        "--role-arn",
        DEV_ROLE,
        "--timeout",
        "3h",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn dead_writers_lookalikes_by_the_thousand_do_not_hold_write_token() {
    let mut env = TestEnv::new();
    env.static_creds("AKIAOUTSIDE000000003", "outside/secret")
        .set("AWS_REGION", "us-east-1");
    let dir = env.home.join("crowded");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..30_000 {
        std::fs::write(
            dir.join(format!(".token.eks-token-tmp.{}.x", 4_000_000 + i)),
            "",
        )
        .unwrap();
    }
    let out = dir.join("token");
    let r = env.run(&[
        "write-token",
        "--cluster-name",
        "dev",
        "--timeout",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.elapsed < Duration::from_secs(2), "{:?}", r.elapsed);
    assert!(out.exists());
    // At most 64 of them were examined (and removed: they are dead writers' files).
    let left = std::fs::read_dir(&dir).unwrap().count();
    assert!(left >= 30_000 - 64, "{left}");
}

#[test]
fn a_huge_kubeconfig_is_refused_within_the_deadline_and_a_stop_releases_the_lock() {
    create_cluster("outside-huge", DEV_ROLE);
    let env = kubeconfig_env();
    let dir = env.home.join("huge");
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config");
    let mut text = String::from("apiVersion: v1\nkind: Config\nclusters:\n");
    for i in 0..100_000 {
        text.push_str(&format!(
            "- name: c{i}\n  cluster: {{server: 'https://c{i}.example.com'}}\n"
        ));
    }
    std::fs::write(&config, &text).unwrap();
    let mut args = update_args("outside-huge", &config);
    args[5] = "3".into();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (r, rss_kib) = run_measured(&env, &args);
    assert_failed(&r, 1, &[]);
    assert!(r.elapsed < Duration::from_secs(4), "{:?}", r.elapsed);
    assert!(r.stderr.contains("nodes"), "{}", r.stderr);
    assert!(rss_kib < 256 * 1024, "{rss_kib} KiB");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), text);

    // A kubeconfig just small enough takes a while to merge under the lock: SIGTERM
    // then removes the lock, and the file is left as it was.
    let mut text = String::from("apiVersion: v1\nkind: Config\nclusters:\n");
    for i in 0..15_000 {
        text.push_str(&format!(
            "- name: c{i}\n  cluster: {{server: 'https://c{i}.example.com'}}\n"
        ));
    }
    std::fs::write(&config, &text).unwrap();
    let lock = config.with_file_name("config.lock");
    let mut args = update_args("outside-huge", &config);
    args[5] = "30".into();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let child = env
        .command(&bin(), &args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !lock.exists() {
        assert!(started.elapsed() < Duration::from_secs(20), "no lock taken");
        std::thread::sleep(Duration::from_millis(1));
    }
    let st = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(0) {
        // It finished before the signal arrived: then it removed the lock itself.
        assert!(!lock.exists());
    } else {
        assert_eq!(out.status.code(), Some(128 + 15), "{stderr}");
        assert!(stderr.contains("stopped by signal 15"), "{stderr}");
        assert!(!lock.exists(), "the lock is released on SIGTERM");
        assert_eq!(std::fs::read_to_string(&config).unwrap(), text);
    }
}

#[test]
fn verify_refuses_an_empty_stdin() {
    let env = TestEnv::new();
    let mut c = env.command(&bin(), &["verify"]);
    c.stdin(Stdio::null());
    let r = run_killed_after(c, Duration::from_secs(30));
    assert_failed(&r, 1, &[]);
    assert!(r.stderr.contains("empty"), "{}", r.stderr);
}
