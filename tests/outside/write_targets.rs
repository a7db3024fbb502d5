//! Where write-token writes: only a regular file is replaced (a link, a FIFO or a device
//! at --out stays, and fails the run before any request), paths that name no file are
//! refused, and the kubeconfig's tokenFile is the file the token went to.

use super::*;

/// What is at --out and is not a regular file (a link, a FIFO, a device such as
/// `/dev/null`, which a root container would otherwise replace with a token file) stays
/// as it is: exit 1, naming what it is. Paths that name no file, and a kubeconfig that
/// would overwrite the token it reads, are usage errors.
#[test]
fn write_token_replaces_only_a_regular_file() {
    let env = irsa_env("wt-nonfile");
    let dir = env.home.join("shared");
    std::fs::create_dir_all(&dir).unwrap();
    let victim = env.home.join("victim");
    std::fs::write(&victim, "keep").unwrap();
    let (link, fifo, device) = (dir.join("link"), dir.join("fifo"), dir.join("null"));
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let made = |args: &[&str]| Command::new(args[0]).args(&args[1..]).status().unwrap();
    assert!(made(&["mkfifo", fifo.to_str().unwrap()]).success());
    // A device node needs root (CAP_MKNOD); a non-root run checks the link and the FIFO.
    let device = made(&[
        "mknod",
        "-m",
        "666",
        device.to_str().unwrap(),
        "c",
        "1",
        "3",
    ])
    .success()
    .then_some(device);
    let cases = [(&link, "symbolic link"), (&fifo, "FIFO")];
    let device_case = device.as_ref().map(|d| (d, "character device"));
    for (path, what) in cases.into_iter().chain(device_case) {
        let r = env.run(&[
            "write-token",
            "--cluster-name",
            "dev",
            "--timeout",
            "5",
            "--out",
            path.to_str().unwrap(),
        ]);
        assert_failed(&r, 1, &[]);
        assert!(r.stderr.contains(what), "{what}: {}", r.stderr);
        assert!(
            !std::fs::symlink_metadata(path).unwrap().is_file(),
            "{what} replaced"
        );
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left.len(), 2 + usize::from(device.is_some()), "{left:?}");
    let out = dir.join("token");
    let out_str = out.to_str().unwrap();
    let twin = format!("{}/../shared/token", dir.display());
    // The same directory through a link (/var/run and /run on most distributions).
    std::os::unix::fs::symlink(&dir, env.home.join("alias")).unwrap();
    let aliased = format!("{}/alias/token", env.home.path().display());
    let trailing = format!("{}/new/", dir.display());
    for (extra, says) in [
        (vec!["--out", &trailing], "names a directory"),
        (vec!["--out", "-"], "not stdout"),
        (
            vec![
                "--out",
                out_str,
                "--kubeconfig-out",
                &twin,
                "--server",
                "https://x",
                "--ca-data",
                "QUJD",
            ],
            "name one file",
        ),
        (
            vec![
                "--out",
                out_str,
                "--kubeconfig-out",
                &aliased,
                "--server",
                "https://x",
                "--ca-data",
                "QUJD",
            ],
            "name one file",
        ),
    ] {
        let mut args = vec!["write-token", "--cluster-name", "dev"];
        args.extend(extra);
        let r = env.run(&args);
        assert_failed(&r, 2, &[]);
        assert!(r.stderr.contains(says), "{says}: {}", r.stderr);
    }
    assert!(!out.exists() && !dir.join("new").exists() && !Path::new("-").exists());
    // A kubeconfig that cannot be written fails the run before any request: no token
    // file, no directory made for it.
    let plain = dir.join("plain");
    std::fs::write(&plain, "a file").unwrap();
    let nested = dir.join("made/token");
    let under_a_file = plain.join("kubeconfig");
    // STS is a server of this test's own: whatever reaches it is this run's.
    let sts = FaultServer::start(Vec::new(), Reply::Reset);
    let mut env = env;
    env.set("AWS_ENDPOINT_URL_STS", &sts.url);
    let r = env.run(&[
        "write-token",
        "--cluster-name",
        "dev",
        "--role-arn",
        DEV_ROLE,
        "--out",
        nested.to_str().unwrap(),
        "--kubeconfig-out",
        under_a_file.to_str().unwrap(),
        "--server",
        "https://x",
        "--ca-data",
        "QUJD",
    ]);
    assert_failed(&r, 1, &[]);
    assert!(r.stderr.contains("kubeconfig"), "{}", r.stderr);
    assert!(!dir.join("made").exists());
    assert!(sts.requests().is_empty(), "a request was made");
}

/// The kubeconfig's tokenFile is the file the token went to, as the kernel resolves
/// the path: `link/../t` through a linked directory is not `./t`.
#[test]
fn the_kubeconfigs_token_file_is_where_the_token_went() {
    let mut env = TestEnv::new();
    env.static_creds("AKIATOKENFILE0000001", "tokenfile/secret")
        .set("AWS_REGION", "us-east-1");
    let k = env.home.join("k");
    std::fs::create_dir_all(k.join("sub/deeper")).unwrap();
    std::os::unix::fs::symlink("sub/deeper", k.join("link")).unwrap();
    let out = format!("{}/link/../t", k.display());
    let kubeconfig = k.join("kubeconfig");
    // The PEM check reads the header only.
    let ca = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUIKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=";
    let r = env.run(&[
        "write-token",
        "--cluster-name",
        "dev",
        "--out",
        &out,
        "--kubeconfig-out",
        kubeconfig.to_str().unwrap(),
        "--server",
        "https://dev.example.com",
        "--ca-data",
        ca,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let written = k.join("sub/t");
    assert!(written.exists(), "the token went elsewhere");
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(&kubeconfig).unwrap()).unwrap();
    let token_file = config["users"][0]["user"]["tokenFile"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        std::fs::canonicalize(&token_file).unwrap(),
        std::fs::canonicalize(&written).unwrap()
    );
}
