//! YAML alias bombs in every YAML file eks-token reads: a kubeconfig (`aws eks
//! update-kubeconfig`, `doctor --kubeconfig`), a later file of a `KUBECONFIG` list, an
//! aws-auth ConfigMap (`doctor --aws-auth`, the ConfigMap and the `mapRoles` text in it).
//! Each is refused in well under a second, naming the file, in a few MiB of memory,
//! and left as it was.

use std::net::TcpListener;

use super::*;

/// One large scalar and thousands of aliases of it: 2 GB once copied.
fn large_scalar_bomb(prefix: &str) -> String {
    let mut text = format!(
        "{prefix}big: &big \"{}\"\nclusters:\n",
        "x".repeat(512 << 10)
    );
    for _ in 0..4000 {
        text.push_str("- *big\n");
    }
    text
}

/// Aliases of aliases of a 1 KiB scalar, seven levels of ten: 10 GB once copied, in
/// a file of 2 KiB.
fn nested_bomb(prefix: &str) -> String {
    let mut text = format!("{prefix}a0: &a0 \"{}\"\n", "y".repeat(1024));
    for i in 1..8 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    text.push_str("clusters: []\n");
    text
}

const KUBECONFIG_HEAD: &str = "apiVersion: v1\nkind: Config\n";

/// Runs `program args` under GNU time with its address space capped at 1 GiB (so a
/// build that copies what the aliases name aborts instead of taking the machine's
/// memory): the run, and its peak resident memory in KiB.
fn run_capped(env: &TestEnv, program: &Path, args: &[&str]) -> (Run, u64) {
    let dir = TempDir::new("rss");
    let rss = dir.join("rss");
    let mut all: Vec<&str> = vec!["-f", "%M", "-o", rss.to_str().unwrap()];
    all.extend([
        "prlimit",
        "--as=1073741824",
        "--",
        program.to_str().unwrap(),
    ]);
    all.extend_from_slice(args);
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

/// Read within bounds: within a second, in at most 64 MiB of memory, `file` unchanged.
fn assert_bounded(what: &str, (r, kib): &(Run, u64), file: &Path, before: &str) {
    assert!(
        r.elapsed < Duration::from_secs(1),
        "{what}: {:?}",
        r.elapsed
    );
    assert!(*kib < 64 * 1024, "{what}: peak memory {kib} KiB");
    assert!(
        std::fs::read_to_string(file).unwrap() == before,
        "{what}: the file changed"
    );
}

/// Refused as an alias bomb: [`assert_bounded`], exit 1, the message (on stderr, or
/// in doctor's report on stdout) naming `file` and its aliases.
fn assert_refused(what: &str, run: (Run, u64), file: &Path, before: &str) {
    assert_refused_naming(what, run, file, before, file.to_str().unwrap());
}

/// [`assert_refused`], the message naming `named` (where in the file) and its aliases.
fn assert_refused_naming(what: &str, run: (Run, u64), file: &Path, before: &str, named: &str) {
    assert_bounded(what, &run, file, before);
    let r = run.0;
    let said = format!("{}{}", r.stdout, r.stderr);
    assert_eq!(
        r.code,
        1,
        "{what}: {}",
        said.chars().take(2000).collect::<String>()
    );
    assert!(
        said.contains(named) && said.contains("aliases"),
        "{what}: the file and its aliases are not named: {said}"
    );
}

/// Keys, STS at moto (doctor asks who they are), EKS at a listener that must never
/// be connected to; `aws` on PATH.
fn bomb_env() -> (TestEnv, PathBuf, TcpListener) {
    let untouched = TcpListener::bind("127.0.0.1:0").unwrap();
    untouched.set_nonblocking(true).unwrap();
    let mut env = TestEnv::new();
    env.static_creds("AKIAALIASBOMB0000001", "aliases/secret")
        .set(
            "AWS_ENDPOINT_URL_EKS",
            format!("http://{}", untouched.local_addr().unwrap()),
        )
        .set("AWS_ENDPOINT_URL_STS", &moto().url)
        .set("AWS_REGION", "us-east-1");
    let aws = as_program(&mut env, "aws");
    (env, aws, untouched)
}

fn kubeconfig_bombs() -> [(&'static str, String); 2] {
    [
        ("one large scalar", large_scalar_bomb(KUBECONFIG_HEAD)),
        ("nested aliases", nested_bomb(KUBECONFIG_HEAD)),
    ]
}

#[test]
fn alias_bombs_in_kubeconfigs_and_aws_auth_are_refused_in_milliseconds() {
    let (mut env, aws, untouched) = bomb_env();
    let file = env.home.join("kube/config");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let f = file.to_str().unwrap();
    for (what, text) in &kubeconfig_bombs() {
        std::fs::write(&file, text).unwrap();
        let update = [
            "eks",
            "update-kubeconfig",
            "--name",
            "dev",
            "--kubeconfig",
            f,
        ];
        let r = run_capped(&env, &aws, &update);
        assert_refused(
            &format!("aws eks update-kubeconfig, {what}"),
            r,
            &file,
            text,
        );
        let doctor = [
            "doctor",
            "--cluster-name",
            "dev",
            "--role-arn",
            DEV_ROLE,
            "--kubeconfig",
            f,
        ];
        let r = run_capped(&env, &bin(), &doctor);
        assert_refused(&format!("doctor --kubeconfig, {what}"), r, &file, text);
    }
    assert!(untouched.accept().is_err(), "EKS was asked");

    // A later file of KUBECONFIG (read after DescribeCluster, when the first file has
    // no entry for the cluster): read within the same bounds.
    for (what, run, later, text) in later_file_runs(&mut env, &aws) {
        assert_bounded(
            &format!("KUBECONFIG's later file, {what}"),
            &run,
            &later,
            &text,
        );
    }

    // The aws-auth ConfigMap, and the mapRoles text inside it (YAML read again).
    let configmap =
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: aws-auth, namespace: kube-system}\n";
    let in_map_roles = |bomb: String| {
        let indented: String = bomb.lines().map(|l| format!("    {l}\n")).collect();
        format!("{configmap}data:\n  mapRoles: |\n{indented}")
    };
    let aws_auth = env.home.join("aws-auth.yaml");
    let path = aws_auth.to_str().unwrap();
    // A mapRoles text aws-iam-authenticator cannot read is skipped (by it and in
    // doctor's prediction, which says so naming mapRoles).
    let skipped = "mapRoles is not valid YAML";
    for (what, text, named) in [
        ("one large scalar", large_scalar_bomb(configmap), path),
        ("nested aliases", nested_bomb(configmap), path),
        (
            "one large scalar in mapRoles",
            in_map_roles(large_scalar_bomb("")),
            skipped,
        ),
        (
            "nested aliases in mapRoles",
            in_map_roles(nested_bomb("")),
            skipped,
        ),
    ] {
        std::fs::write(&aws_auth, &text).unwrap();
        let doctor = [
            "doctor",
            "--cluster-name",
            "dev",
            "--role-arn",
            DEV_ROLE,
            "--aws-auth",
            path,
        ];
        let r = run_capped(&env, &bin(), &doctor);
        assert_refused_naming(
            &format!("doctor --aws-auth, {what}"),
            r,
            &aws_auth,
            &text,
            named,
        );
    }
}

/// `aws eks update-kubeconfig` with `KUBECONFIG=first:later`, `later` each bomb, EKS
/// answering DescribeCluster: what, the run, `later`, its text.
fn later_file_runs(
    env: &mut TestEnv,
    aws: &Path,
) -> Vec<(&'static str, (Run, u64), PathBuf, String)> {
    let eks = FaultServer::start(
        vec![],
        Reply::cluster(
            "arn:aws:eks:us-east-1:222222222222:cluster/dev",
            "https://dev.example.com",
        ),
    );
    env.set("AWS_ENDPOINT_URL_EKS", &eks.url);
    let first = env.home.join("kube/first");
    std::fs::create_dir_all(first.parent().unwrap()).unwrap();
    kubeconfig_bombs()
        .into_iter()
        .enumerate()
        .map(|(i, (what, text))| {
            let later = env.home.join(&format!("kube/later-{i}"));
            std::fs::write(&first, format!("{KUBECONFIG_HEAD}clusters: []\n")).unwrap();
            std::fs::write(&later, &text).unwrap();
            env.set(
                "KUBECONFIG",
                format!("{}:{}", first.display(), later.display()),
            );
            let run = run_capped(env, aws, &["eks", "update-kubeconfig", "--name", "dev"]);
            (what, run, later, text)
        })
        .collect()
}

/// kubectl refuses a `KUBECONFIG` list with a file it cannot read; so does
/// `eks update-kubeconfig` (exit 1 naming the file), where it once skipped the refused
/// later file in silence and wrote the entry to the first.
#[test]
fn an_alias_bomb_in_a_later_kubeconfig_file_is_an_error_naming_it() {
    let (mut env, aws, _untouched) = bomb_env();
    for (what, run, later, text) in later_file_runs(&mut env, &aws) {
        assert_refused(
            &format!("KUBECONFIG's later file, {what}"),
            run,
            &later,
            &text,
        );
    }
}
