//! A user's kubeconfig: concurrent writers, owners and groups, typed scalars, size.

use super::*;

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
    set_arg(&mut args, "--timeout", "2");
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
    require_root("root updating a user's kubeconfig");
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
    require_root("root and a user's link");
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
    set_arg(&mut args, "--timeout", "3");
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
    set_arg(&mut args, "--timeout", "30");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let child = env
        .command(&bin(), &args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the lock", Duration::from_secs(20), || lock.exists());
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
