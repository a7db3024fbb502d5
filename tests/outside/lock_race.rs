//! Root updating a user's kubeconfig while the user swaps the directory for a link: the
//! lock root made is removed where root made it, and nothing is removed through the
//! link.

use super::*;

/// A kubeconfig that takes a while to merge (so that a run can be caught holding its
/// lock).
fn large_kubeconfig() -> String {
    let mut text = String::from("apiVersion: v1\nkind: Config\nclusters:\n");
    for i in 0..10_000 {
        text.push_str(&format!(
            "- name: c{i}\n  cluster: {{server: 'https://c{i}.example.com'}}\n"
        ));
    }
    text
}

#[test]
fn a_users_kube_directory_swapped_for_a_link_under_roots_lock_removes_nothing_through_it() {
    require_root("root updating a user's kubeconfig");
    let eks = FaultServer::start(
        vec![],
        Reply::cluster(
            "arn:aws:eks:us-east-1:222222222222:cluster/race",
            "https://race.example.com",
        ),
    );
    let mut env = TestEnv::new();
    env.static_creds("AKIALOCKRACE00000001", "race/secret")
        .set("AWS_ENDPOINT_URL_EKS", &eks.url)
        .set("AWS_REGION", "us-east-1");
    // The user's home and ~/.kube (uid 1000), and a directory of root's the link will
    // name, with a lock and a file of root's in it.
    let home = TempDir::new("race-home");
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::chown(home.path(), Some(1000), Some(1000)).unwrap();
    let kube = home.join(".kube");
    std::fs::create_dir(&kube).unwrap();
    let config = kube.join("config");
    let text = large_kubeconfig();
    std::fs::write(&config, &text).unwrap();
    for p in [&kube, &config] {
        std::os::unix::fs::chown(p, Some(1000), Some(1000)).unwrap();
    }
    let roots = TempDir::new("race-root");
    std::fs::set_permissions(roots.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let (roots_lock, roots_config) = (roots.join("config.lock"), roots.join("config"));
    std::fs::write(&roots_lock, "root's own lock").unwrap();
    std::fs::write(&roots_config, "root's own config").unwrap();

    let lock = kube.join("config.lock");
    let args = [
        "eks",
        "update-kubeconfig",
        "--name",
        "race",
        "--timeout",
        "60",
        "--kubeconfig",
        config.to_str().unwrap(),
    ];
    let child = env
        .command(&bin(), &args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Held still once its lock exists: the user swaps ~/.kube for a link to root's
    // directory (a rename and a link in their own home), then it goes on.
    wait_until("root's lock", Duration::from_secs(20), || lock.exists());
    signal(child.id(), "STOP");
    assert!(
        lock.exists(),
        "the run released its lock before it could be held: make the kubeconfig larger"
    );
    let moved = home.join(".kube-before");
    std::fs::rename(&kube, &moved).unwrap();
    std::os::unix::fs::symlink(roots.path(), &kube).unwrap();
    std::os::unix::fs::lchown(&kube, Some(1000), Some(1000)).unwrap();
    signal(child.id(), "CONT");
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        // Written where it was read and locked: the directory it held.
        Some(0) => assert!(std::fs::read_to_string(moved.join("config"))
            .unwrap()
            .contains("cluster/race")),
        Some(1) => {}
        _ => panic!("{:?}: {stderr}", out.status),
    }
    // Nothing of root's was removed or written through the link...
    assert_eq!(
        std::fs::read_to_string(&roots_lock).ok().as_deref(),
        Some("root's own lock"),
        "root's lock in the directory the link names was removed: {stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&roots_config).unwrap(),
        "root's own config"
    );
    // ...and the lock the run made is gone from where it made it.
    assert!(
        !moved.join("config.lock").exists(),
        "the run's own lock was left behind: {stderr}"
    );
    let names: Vec<_> = std::fs::read_dir(roots.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}
