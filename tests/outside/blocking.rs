//! Nothing blocks: FIFOs, devices and lookalikes where eks-token expects its files.

use super::*;

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

/// An IRSA -> role chain against moto, with its cache in HOME.
fn chain_env() -> TestEnv {
    irsa_env("outside-irsa")
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
    // Its own role: the sessions counted are this test's.
    let dev = "arn:aws:iam::222222222222:role/outside-dir-dev";
    let env = chain_env();
    let args = ["get-token", "--cluster-name", "dev", "--role-arn", dev];
    let r = env.run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let dir = env.home.join(".cache/eks-token");
    // Open to others: nothing in it is read (not even a FIFO planted there is opened).
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let before = sessions_of(dev);
    let r = env.run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("not using the credential cache") && r.stderr.contains("0777"),
        "{}",
        r.stderr
    );
    assert_eq!(
        sessions_of(dev),
        before + 1,
        "the entries were read from an unsafe directory"
    );
    // A link in place of the directory: not followed.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let real = env.home.join("real-cache");
    std::fs::rename(&dir, &real).unwrap();
    std::os::unix::fs::symlink(&real, &dir).unwrap();
    let before = sessions_of(dev);
    let r = env.run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
    assert_eq!(sessions_of(dev), before + 1);
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
fn verify_refuses_an_empty_stdin() {
    let env = TestEnv::new();
    let mut c = env.command(&bin(), &["verify"]);
    c.stdin(Stdio::null());
    let r = run_killed_after(c, Duration::from_secs(30));
    assert_failed(&r, 1, &[]);
    assert!(r.stderr.contains("empty"), "{}", r.stderr);
}
