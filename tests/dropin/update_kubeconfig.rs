//! `eks update-kubeconfig` into a kubeconfig the user has: merged as aws-cli merges, byte for byte.

use super::*;

const EXISTING: &str = "\
apiVersion: v1
kind: Config
preferences:
  colors: true
clusters:
- name: other-cluster
  cluster:
    server: https://other.example.com
    certificate-authority-data: T1RIRVI=
    extensions:
    - name: team
      extension:
        owner: platform
users:
- name: alice
  user:
    token: alice-static-token
contexts:
- name: other
  context:
    cluster: other-cluster
    user: alice
    namespace: team-a
current-context: other
";

#[test]
fn update_kubeconfig_merges_into_a_kubeconfig_the_user_has() {
    let m = moto();
    create_cluster("dropin-dev", DEV_ROLE);
    let mut env = TestEnv::new();
    env.static_creds("AKIASHAREDSERVICES01", "shared/secret")
        .set("AWS_ENDPOINT_URL_STS", &m.url)
        .set("AWS_ENDPOINT_URL_EKS", &m.url)
        .set("AWS_REGION", "us-east-1");
    let aws = as_program(&mut env, "aws");
    let config = env.home.join("kube/config");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, EXISTING).unwrap();
    std::fs::set_permissions(&config, std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
    let cfg = config.to_str().unwrap();
    let base = [
        "eks",
        "update-kubeconfig",
        "--name",
        "dropin-dev",
        "--role-arn",
        DEV_ROLE,
        "--assume-role-arn",
        DEV_ROLE,
        "--kubeconfig",
        cfg,
    ];
    // --dry-run: the merged file on stdout, the file byte-identical.
    let mut dry = base.to_vec();
    dry.push("--dry-run");
    let r = run_as(&env, &aws, &dry);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("dropin-dev") && r.stdout.contains("alice-static-token"));
    assert_eq!(std::fs::read_to_string(&config).unwrap(), EXISTING);
    // For real.
    let r = run_as(&env, &aws, &base);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let arn = "arn:aws:eks:us-east-1:222222222222:cluster/dropin-dev";
    assert_eq!(r.stdout, format!("Added new context {arn} to {cfg}\n"));
    let v = kubectl_view(&config);
    assert_eq!(v["current-context"], arn);
    // Every old entry and field as it was.
    let other = named(&v["clusters"], "other-cluster");
    assert_eq!(other["cluster"]["server"], "https://other.example.com");
    assert_eq!(
        other["cluster"]["extensions"][0]["extension"]["owner"],
        "platform"
    );
    assert_eq!(
        named(&v["users"], "alice")["user"]["token"],
        "alice-static-token"
    );
    assert_eq!(
        named(&v["contexts"], "other")["context"]["namespace"],
        "team-a"
    );
    assert_eq!(v["preferences"]["colors"], true);
    // The new entries, shaped as aws-cli writes them.
    assert!(named(&v["clusters"], arn)["cluster"]["server"]
        .as_str()
        .unwrap()
        .starts_with("https://"));
    let exec = &named(&v["users"], arn)["user"]["exec"];
    assert_eq!(exec["command"], "aws");
    assert_eq!(exec["apiVersion"], "client.authentication.k8s.io/v1beta1");
    let args: Vec<&str> = exec["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        args,
        [
            "--region",
            "us-east-1",
            "eks",
            "get-token",
            "--cluster-name",
            "dropin-dev",
            "--output",
            "json",
            "--role",
            DEV_ROLE
        ]
    );
    assert_eq!(named(&v["contexts"], arn)["context"]["user"], arn);
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        std::fs::metadata(&config).unwrap().mode() & 0o777,
        0o640,
        "the mode is kept"
    );
    // The new user's exec command gives a token of the --role-arn role.
    let r = run_as(&env, Path::new(exec["command"].as_str().unwrap()), &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_verifies_as_dev_role(&token_of(&r.stdout), "dropin-dev", &m.url);
    // Again: updated in place, not duplicated; aliases name the context and the user.
    let mut aliased = base.to_vec();
    aliased.extend(["--alias", "dev", "--user-alias", "dev-deployer"]);
    let r = run_as(&env, &aws, &aliased);
    assert_eq!(r.stdout, format!("Updated context dev in {cfg}\n"));
    let v = kubectl_view(&config);
    assert_eq!(v["clusters"].as_array().unwrap().len(), 2);
    assert_eq!(v["current-context"], "dev");
    assert_eq!(
        named(&v["contexts"], "dev")["context"]["user"],
        "dev-deployer"
    );
    assert_eq!(named(&v["contexts"], "dev")["context"]["cluster"], arn);
    named(&v["users"], "dev-deployer");

    // A file that is not a kubeconfig is left byte-identical, before any request.
    for junk in ["{{{ not yaml", "- just\n- a list\n", "clusters: 5\n"] {
        std::fs::write(&config, junk).unwrap();
        let r = run_as(&env, &aws, &base);
        assert_failed(&r, 1, &[]);
        assert!(r.stderr.contains("cannot be used"), "{}", r.stderr);
        assert_eq!(std::fs::read_to_string(&config).unwrap(), junk);
    }
}

#[test]
fn kubectl_uses_the_merged_kubeconfig_against_the_verifying_server() {
    let m = moto();
    create_cluster("dropin-kubectl", DEV_ROLE);
    let verifier = Verifier::start("dropin-kubectl", &m.url);
    let mut env = TestEnv::new();
    env.static_creds("AKIASHAREDSERVICES02", "shared/secret")
        .set("AWS_ENDPOINT_URL_STS", &m.url)
        .set("AWS_REGION", "us-east-1");
    let aws = as_program(&mut env, "aws");
    let config = env.home.join(".kube/config");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, EXISTING).unwrap();
    // KUBECONFIG's first path, aws-cli's --endpoint-url for EKS.
    env.set("KUBECONFIG", config.display().to_string());
    let r = run_as(
        &env,
        &aws,
        &[
            "--endpoint-url",
            &m.url,
            "eks",
            "update-kubeconfig",
            "--name",
            "dropin-kubectl",
            "--role-arn",
            DEV_ROLE,
            "--assume-role-arn",
            DEV_ROLE,
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let arn = "arn:aws:eks:us-east-1:222222222222:cluster/dropin-kubectl";
    // Point the new cluster entry at the verifying server (moto's cluster has no API).
    let set = env
        .command(
            Path::new("kubectl"),
            &[
                "config",
                "set-cluster",
                arn,
                "--server",
                &verifier.url,
                "--certificate-authority",
                verifier.ca.to_str().unwrap(),
                "--embed-certs",
            ],
        )
        .output()
        .unwrap();
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let out = env
        .command(Path::new("kubectl"), &["get", "--raw", "/version"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdicts = verifier.verdicts();
    let last = verdicts.last().expect("the verifier saw the request");
    assert_eq!(last["ok"], true, "{last}");
    assert!(
        last["arn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:sts::222222222222:assumed-role/testrole/"),
        "{last}"
    );
}

#[test]
fn the_exec_command_is_this_program_even_when_another_aws_comes_first_on_path() {
    let m = moto();
    create_cluster("dropin-path", DEV_ROLE);
    let mut env = TestEnv::new();
    env.static_creds("AKIASHAREDSERVICES03", "shared/secret")
        .set("AWS_ENDPOINT_URL_STS", &m.url)
        .set("AWS_ENDPOINT_URL_EKS", &m.url)
        .set("AWS_REGION", "us-east-1");
    // The binary as `aws`, run by its path, not found on PATH (where aws-cli is).
    let dir = env.home.join("not-on-path");
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("aws");
    std::os::unix::fs::symlink(bin(), &link).unwrap();
    let config = env.home.join("kubeconfig");
    let r = run_as(
        &env,
        &link,
        &[
            "eks",
            "update-kubeconfig",
            "--name",
            "dropin-path",
            "--assume-role-arn",
            DEV_ROLE,
            "--kubeconfig",
            config.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = kubectl_view(&config);
    let arn = "arn:aws:eks:us-east-1:222222222222:cluster/dropin-path";
    let command = named(&v["users"], arn)["user"]["exec"]["command"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(Path::new(&command).is_absolute(), "{command}");
    assert_eq!(
        std::fs::canonicalize(&command).unwrap(),
        std::fs::canonicalize(bin()).unwrap()
    );
}

/// A small deterministic generator (xorshift) for the side-by-side YAML test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
}

/// Strings that test a YAML writer's choice of plain or quoted and its folding: YAML
/// 1.1 booleans, numbers, nulls and timestamps, indicators first and inside, edge
/// spaces, quotes, long lines.
const TRICKY: &[&str] = &[
    "dev",
    "us-east-1",
    "--region",
    "- x",
    "-x",
    "a: b",
    "a:b",
    "ab:",
    ":a",
    "#x",
    "a #b",
    "x#y",
    "yes",
    "No",
    "on",
    "OFF",
    "y",
    "true",
    "null",
    "~",
    "",
    " lead",
    "trail ",
    "1",
    "-1",
    "0755",
    "0x1F",
    "0b11",
    "1_000",
    "1:30",
    "1:30.5",
    "1.5",
    "1.",
    ".5",
    "1.5e+3",
    ".inf",
    "-.Inf",
    ".NaN",
    "2001-12-14",
    "2001-12-14 21:59:43.10 -5",
    "2001-12-14t21:59:43Z",
    "<<",
    "=",
    "it's",
    "'q'",
    "\"dq\"",
    "{a}",
    "[b]",
    "a,b",
    "@at",
    "`bt",
    "%p",
    "!t",
    "&a",
    "*s",
    "|",
    ">",
    "?",
    "? q",
    "?q",
    ":",
    "---",
    "--- x",
    "...",
    "http://x:80/p?q=1#f",
    "arn:aws:eks:us-east-1:222222222222:cluster/dev",
    "a  b",
    "tab\there",
    "naïve café",
    "日本",
    "😀",
    "line1\nline2",
    "a \nb",
    "a\n b",
    "\nlead",
    "trail\n",
    "x\n\ny",
    "bell\u{7}",
    "nul\u{0}",
    "nel\u{85}x",
    "ls\u{2028}x",
    "nbsp\u{A0}x",
    "quote\"in",
    "back\\slash",
    "\r\n",
];

fn tricky_string(rng: &mut Rng) -> String {
    match rng.below(4) {
        // A sentence long enough to be folded, quotes and double spaces included.
        0 => {
            let words = 5 + rng.below(60);
            let mut s = rng.pick(TRICKY).to_owned();
            for _ in 0..words {
                s.push_str(if rng.below(8) == 0 { "  " } else { " " });
                s.push_str(rng.pick(&[
                    "word",
                    "it's",
                    "x",
                    "longer-word",
                    "a:b",
                    "#",
                    "'",
                    "naïve",
                    "tab\t",
                    "x\ny",
                ]));
            }
            s
        }
        // Long unbroken text (certificate data).
        1 if rng.below(4) == 0 => "QUJD".repeat(50 + rng.below(300)),
        _ => rng.pick(TRICKY).to_owned(),
    }
}

fn tricky_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 3 { 5 } else { 9 }) {
        0 => Value::from(rng.next() as i32),
        1 => Value::from(rng.below(2) == 0),
        2 => Value::Null,
        3 | 4 => Value::from(tricky_string(rng)),
        5 => Value::Array(Vec::new()),
        6 => Value::Object(Default::default()),
        7 => Value::Array(
            (0..1 + rng.below(4))
                .map(|_| tricky_value(rng, depth + 1))
                .collect(),
        ),
        _ => tricky_map(rng, depth + 1),
    }
}

fn tricky_map(rng: &mut Rng, depth: usize) -> Value {
    let keys = [
        "name",
        "a",
        "b-c",
        "x_y",
        "with space",
        "k:v",
        "1",
        "true",
        "-d",
        "#h",
        "http://k",
    ];
    Value::Object(
        (0..1 + rng.below(6))
            .map(|_| (rng.pick(&keys).to_owned(), tricky_value(rng, depth)))
            .collect(),
    )
}

/// A kubeconfig in JSON (which is YAML that both tools read alike: every string quoted,
/// nothing to resolve) with random content around one cluster, user and context.
fn random_kubeconfig(seed: u64) -> String {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ seed);
    let existing = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": tricky_map(&mut rng, 0),
        "clusters": [{"name": "other", "cluster": {"server": "https://other",
            "extensions": [{"name": "x", "extension": tricky_map(&mut rng, 1)}]}}],
        "users": [{"name": "alice", "user": tricky_map(&mut rng, 1)}],
        "contexts": [{"name": "other", "context": {"cluster": "other", "user": "alice",
            "namespace": tricky_string(&mut rng)}}],
        "current-context": "other",
        "x-extra": Value::Array((0..8).map(|_| tricky_value(&mut rng, 0)).collect()),
    });
    // Raw NEL and line separators are line breaks to a YAML 1.1 reader, even inside
    // quotes: escape them, as JSON allows.
    existing
        .to_string()
        .replace('\u{85}', "\\u0085")
        .replace('\u{2028}', "\\u2028")
}

#[test]
fn update_kubeconfig_writes_aws_clis_bytes() {
    let m = moto();
    create_cluster("dropin-sbs", DEV_ROLE);
    let mut env = TestEnv::new();
    // The cluster is in the dev account: describe it as the dev role.
    write_aws_files(
        &mut env,
        &format!(
            "[profile dev]\nrole_arn = {DEV_ROLE}\nsource_profile = base\nregion = us-east-1\n"
        ),
        "[base]\naws_access_key_id = AKIASIDEBYSIDE000001\naws_secret_access_key = s\n",
    );
    env.set("AWS_ENDPOINT_URL_EKS", &m.url)
        .set("AWS_ENDPOINT_URL_STS", &m.url);
    let aws = as_program(&mut env, "aws");
    // Into a new file, into the kubeconfig a user has, and into kubeconfigs holding
    // random content (200 seeds were run once; 60 again once reading as kubectl does; 4
    // each run).
    let starts = [None, Some(EXISTING.to_owned())]
        .into_iter()
        .chain((1..=4).map(|seed| Some(random_kubeconfig(seed))));
    for (i, start) in starts.enumerate() {
        let dir = env.home.join(&format!("sbs-{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        let (ours, theirs) = (dir.join("ours"), dir.join("theirs"));
        if let Some(text) = &start {
            std::fs::write(&ours, text).unwrap();
            std::fs::write(&theirs, text).unwrap();
        }
        let args = |p: &Path| -> Vec<String> {
            [
                "--profile",
                "dev",
                "eks",
                "update-kubeconfig",
                "--name",
                "dropin-sbs",
                "--role-arn",
                DEV_ROLE,
                "--alias",
                "sbs",
            ]
            .iter()
            .map(|s| s.to_string())
            .chain(["--kubeconfig".to_owned(), p.display().to_string()])
            .collect()
        };
        let r = run_as(&env, &aws, &strs(&args(&ours)));
        assert_eq!(r.code, 0, "{}", r.stderr);
        let t = aws_cli(&env, &strs(&args(&theirs)));
        assert_eq!(t.code, 0, "aws-cli: {}", t.stderr);
        assert_eq!(
            r.stdout.replace(&ours.display().to_string(), "PATH"),
            t.stdout.replace(&theirs.display().to_string(), "PATH")
        );
        // The same kubeconfig, byte for byte (but for quotes kubectl needs); kubectl
        // reads it.
        let (a, b) = (
            std::fs::read_to_string(&ours).unwrap(),
            std::fs::read_to_string(&theirs).unwrap(),
        );
        // One deliberate difference: a string that kubectl would not read back as a
        // string (go-yaml v2 reads `y` as true) stays quoted where aws-cli writes it
        // plain.
        let deliberate = |ours: &str, theirs: &str| {
            ["y", "Y", "n", "N"].iter().any(|s| {
                ours.strip_suffix(&format!("'{s}'"))
                    .is_some_and(|head| head.ends_with(' ') && format!("{head}{s}") == theirs)
            })
        };
        let same = a.lines().count() == b.lines().count()
            && a.lines()
                .zip(b.lines())
                .all(|(x, y)| x == y || deliberate(x, y));
        if !same {
            let line = a
                .lines()
                .zip(b.lines())
                .position(|(x, y)| x != y && !deliberate(x, y));
            panic!("start {i}: first difference at line {line:?}\n--- ours\n{a}\n--- aws-cli\n{b}");
        }
        if i < 2 {
            assert_eq!(kubectl_view(&ours)["current-context"], "sbs");
        }
    }
}
