//! A fleet from one process: `write-token --clusters`, `kubeconfig --clusters` and
//! provideClusterInfo against moto's STS (behind a front of the tests' own, which counts
//! every call and can deny a role) and three verifying API servers, dev, qa and prod,
//! each its own cluster name and account; real kubectl reaches each.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine;
use serde_json::Value;

use crate::common::fault::{FaultServer, Reply};
use crate::common::recorder::StsRecorder;
use crate::common::*;
use crate::write_token::{log_lines, spawn, wait_exit};

mod kubeconfig;
mod reload;

/// The three clusters and their accounts.
const CLUSTERS: [(&str, &str); 3] = [
    ("dev", "222222222222"),
    ("qa", "333333333333"),
    ("prod", "444444444444"),
];

/// The STS front and a verifying API server per cluster, shared by this module's tests
/// (each test its own roles, so the calls it counts are its own).
struct Stand {
    sts: StsRecorder,
    servers: Vec<Verifier>,
}

fn stand() -> &'static Stand {
    static STAND: OnceLock<Stand> = OnceLock::new();
    STAND.get_or_init(|| {
        let sts = StsRecorder::start(moto().port);
        let servers = CLUSTERS
            .iter()
            .map(|(name, _)| Verifier::start(name, &sts.url))
            .collect();
        Stand { sts, servers }
    })
}

/// The role of cluster `i` in test `tag`: in the cluster's own account.
fn role(tag: &str, i: usize) -> String {
    let (name, account) = CLUSTERS[i];
    format!("arn:aws:iam::{account}:role/{tag}-{name}")
}

/// The IRSA base of test `tag`, STS reached through the counting front.
fn env(tag: &str) -> TestEnv {
    let mut env = irsa_env(tag);
    env.set("AWS_ENDPOINT_URL_STS", &stand().sts.url);
    env
}

fn irsa_role(tag: &str) -> String {
    format!("arn:aws:iam::111111111111:role/{tag}")
}

fn ca_data(v: &Verifier) -> String {
    base64::engine::general_purpose::STANDARD.encode(std::fs::read(&v.ca).unwrap())
}

/// Each cluster's out file in `dir`.
fn out(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("eks/{}/token", CLUSTERS[i].0))
}

/// A clusters file for test `tag` in `dir`: every cluster with its role, token file,
/// a tokenFile kubeconfig and its server and CA as given; `extra[i]` added to entry i.
fn clusters_file(tag: &str, dir: &Path, extra: [&str; 3]) -> PathBuf {
    let text = clusters_text(tag, dir, &[0, 1, 2], extra);
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("clusters.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The text of [`clusters_file`] with the clusters `which` only.
fn clusters_text(tag: &str, dir: &Path, which: &[usize], extra: [&str; 3]) -> String {
    let mut text = String::from("clusters:\n");
    for &i in which {
        let (name, _) = CLUSTERS[i];
        let v = &stand().servers[i];
        text.push_str(&format!(
            "- name: {name}\n  roleArn: {}\n  out: {}\n  kubeconfigOut: {}\n  server: {}\n  caData: {}\n{}",
            role(tag, i),
            out(dir, i).display(),
            dir.join(format!("eks/{name}/kubeconfig")).display(),
            v.url,
            ca_data(v),
            extra[i]
        ));
    }
    text
}

/// `write-token --clusters FILE --refresh` every 300 ms (and `extra`), its stderr in
/// `log`.
fn writer(env: &TestEnv, file: &Path, log: &Path, extra: &[&str]) -> std::process::Child {
    let mut args = vec![
        "write-token",
        "--clusters",
        file.to_str().unwrap(),
        "--refresh",
        "--refresh-interval",
        "300ms",
    ];
    args.extend(extra);
    spawn(env, &args, log)
}

/// Who server `i` says the bearer of the kubeconfig's context is (`/eks-identity`), or
/// kubectl's error.
fn identity(env: &TestEnv, kubeconfig: &Path, context: Option<&str>) -> Result<Value, String> {
    let mut args = vec!["get", "--raw", "/eks-identity"];
    if let Some(c) = context {
        args.extend(["--context", c]);
    }
    let (code, out, err) = kubectl(env, kubeconfig, &args);
    if code != 0 {
        return Err(err);
    }
    Ok(serde_json::from_str(&out).unwrap())
}

/// Asserts `who` is a session of cluster `i`'s role in test `tag`.
fn assert_is_role(who: &Value, tag: &str, i: usize) {
    let (_, account) = CLUSTERS[i];
    let want = format!(
        "arn:aws:sts::{account}:assumed-role/{tag}-{}/",
        CLUSTERS[i].0
    );
    assert!(
        who["arn"].as_str().unwrap_or("").starts_with(&want),
        "{who} is not {want}"
    );
}

/// Calls of `action` into `role` so far.
fn calls(action: &str, role: &str) -> usize {
    stand()
        .sts
        .of(action)
        .iter()
        .filter(|c| c.role_arn.as_deref() == Some(role))
        .count()
}

/// Acceptance 1: one writer, three clusters in three accounts, one IRSA base: each file
/// is accepted by its own server as its own role and refused by the others, rewritten
/// every interval; 1 + 3 STS calls over the whole run (no cache: the base is shared in
/// memory); SIGTERM ends it with 0.
#[test]
fn one_writer_keeps_three_clusters_fresh_on_one_base() {
    let tag = "fleet-one-base";
    let env = env(tag);
    let dir = env.home.join("run");
    let file = clusters_file(tag, &dir, ["", "", ""]);
    let log = env.home.join("fleet.log");
    let mut child = writer(&env, &file, &log, &["--no-cache"]);
    // Every file rewritten three times (each a new token: a new X-Amz-Date).
    let mut seen: Vec<Vec<String>> = vec![Vec::new(); 3];
    wait_until("3 tokens in each file", Duration::from_secs(20), || {
        for (i, s) in seen.iter_mut().enumerate() {
            if let Ok(t) = std::fs::read_to_string(out(&dir, i)) {
                if s.last() != Some(&t) {
                    s.push(t);
                }
            }
        }
        seen.iter().all(|s| s.len() >= 3)
    });
    for (i, (name, _)) in CLUSTERS.iter().enumerate() {
        let kubeconfig = dir.join(format!("eks/{name}/kubeconfig"));
        // kubectl through the file's kubeconfig (tokenFile): its own server, its role.
        let who = identity(&env, &kubeconfig, None).unwrap();
        assert_is_role(&who, tag, i);
        assert_eq!(who["cluster"], *name);
        let (code, version, err) = kubectl(&env, &kubeconfig, &["get", "--raw", "/version"]);
        assert_eq!(code, 0, "{err}");
        assert!(version.contains("gitVersion"), "{version}");
        // The same token at the two other servers: refused (signed for another name).
        let token = std::fs::read_to_string(out(&dir, i)).unwrap();
        for (j, other) in stand().servers.iter().enumerate().filter(|(j, _)| *j != i) {
            let refused = other.whoami(&token);
            assert!(
                refused.as_ref().is_err_and(|e| e.contains("Unauthorized")),
                "{name}'s token at {}: {refused:?}",
                CLUSTERS[j].0
            );
        }
    }
    // The three kubeconfigs merged (KUBECONFIG=dev:qa:prod): a context each, each its
    // own user and token file.
    let merged =
        std::env::join_paths(CLUSTERS.map(|(name, _)| dir.join(format!("eks/{name}/kubeconfig"))))
            .unwrap();
    for (i, (name, _)) in CLUSTERS.iter().enumerate() {
        let mut c = env.command(
            Path::new("kubectl"),
            &["--context", name, "get", "--raw", "/eks-identity"],
        );
        c.env("KUBECONFIG", &merged);
        let r = run_killed_after(c, RUN_LIMIT);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_is_role(&serde_json::from_str(&r.stdout).unwrap(), tag, i);
    }
    signal(child.id(), "TERM");
    let (code, took) = wait_exit(&mut child, Duration::from_secs(5));
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(1), "{took:?}");
    // Exactly 1 + 3 calls over the whole run: the base once, each cluster's hop once.
    assert_eq!(calls("AssumeRoleWithWebIdentity", &irsa_role(tag)), 1);
    for (i, (name, _)) in CLUSTERS.iter().enumerate() {
        assert_eq!(calls("AssumeRole", &role(tag, i)), 1, "{name}");
    }
    let lines = log_lines(&log);
    for (name, _) in CLUSTERS {
        let ok = lines
            .iter()
            .filter(|l| l["cluster"] == name && l["outcome"] == "ok")
            .count();
        assert!(ok >= 3, "{name}: {ok} writes logged");
    }
    assert!(lines.iter().all(|l| l["outcome"] != "error"), "{lines:?}");
    assert_eq!(lines.last().unwrap()["event"], "stop");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains(&web_identity_token(tag)));
    assert!(seen.iter().flatten().all(|t| !text.contains(t.as_str())));
}

/// Acceptance 1, its last clause: qa's hop denied (qa re-assumes on every refresh: its
/// sessions last 900 s, inside the 15-minute renewal margin) leaves dev and prod fresh;
/// qa's file keeps its last good token (still valid: `--check --clusters` passes) and
/// its error is a JSON line naming qa; allowed again, qa is written again.
#[test]
fn one_clusters_failing_hop_leaves_the_others_fresh() {
    let tag = "fleet-one-fails";
    let env = env(tag);
    let dir = env.home.join("run");
    let file = clusters_file(tag, &dir, ["", "  durationSeconds: 900\n", ""]);
    let log = env.home.join("fleet.log");
    let mut child = writer(&env, &file, &log, &[]);
    let read = |i: usize| std::fs::read_to_string(out(&dir, i)).ok();
    wait_until("the three files", Duration::from_secs(20), || {
        (0..3).all(|i| read(i).is_some())
    });
    let qa = role(tag, 1);
    stand().sts.deny(&qa);
    let denied_at = calls("AssumeRole", &qa);
    let errors = |lines: &[Value]| {
        lines
            .iter()
            .filter(|l| l["outcome"] == "error")
            .cloned()
            .collect::<Vec<_>>()
    };
    wait_until("qa's refusal logged", Duration::from_secs(10), || {
        !errors(&log_lines(&log)).is_empty()
    });
    let kept = read(1).unwrap();
    let before = [read(0).unwrap(), read(2).unwrap()];
    wait_until("dev and prod rewritten", Duration::from_secs(10), || {
        read(0).unwrap() != before[0] && read(2).unwrap() != before[1]
    });
    wait_until("qa refused again", Duration::from_secs(10), || {
        errors(&log_lines(&log)).len() >= 2
    });
    assert_eq!(
        read(1).unwrap(),
        kept,
        "qa's file keeps its last good token"
    );
    assert!(calls("AssumeRole", &qa) > denied_at);
    let probe = env.run(&[
        "write-token",
        "--check",
        "--clusters",
        file.to_str().unwrap(),
    ]);
    assert_eq!(probe.code, 0, "{}", probe.stderr);
    for e in errors(&log_lines(&log)) {
        assert_eq!(e["cluster"], "qa", "{e}");
        assert!(e["error"].as_str().unwrap().contains("AccessDenied"), "{e}");
        assert!(
            e["retry_at"].is_string() && e["file_valid_until"].is_string(),
            "{e}"
        );
    }
    // dev and prod are still who they were.
    for i in [0, 2] {
        let name = CLUSTERS[i].0;
        let who = identity(&env, &dir.join(format!("eks/{name}/kubeconfig")), None).unwrap();
        assert_is_role(&who, tag, i);
    }
    stand().sts.allow(&qa);
    wait_until("qa written again", Duration::from_secs(10), || {
        read(1).unwrap() != kept
    });
    let who = identity(&env, &dir.join("eks/qa/kubeconfig"), None).unwrap();
    assert_is_role(&who, tag, 1);
    signal(child.id(), "TERM");
    assert_eq!(wait_exit(&mut child, Duration::from_secs(5)).0, Some(0));
    // The base was taken once for all (the cache holds it too, and the hops).
    assert_eq!(calls("AssumeRoleWithWebIdentity", &irsa_role(tag)), 1);
    assert_eq!(calls("AssumeRole", &role(tag, 0)), 1);
    assert_eq!(calls("AssumeRole", &role(tag, 2)), 1);
}

/// Acceptance 4: a file that is not a list of clusters, an unknown key, a duplicate name
/// or out path, an entry without out: refused before any request (an STS stand-in hears
/// nothing), the entry named, nothing on stdout, no file written.
#[test]
fn bad_clusters_files_are_refused_before_any_request() {
    let sts = FaultServer::start(vec![], Reply::sts_error(500, "Unexpected", "no request"));
    let mut env = irsa_env("fleet-bad");
    env.set("AWS_ENDPOINT_URL_STS", &sts.url);
    let dir = env.home.join("run");
    let entry =
        |name: &str, out: &str| format!("- {{name: {name}, out: {}}}\n", dir.join(out).display());
    let ok = entry("dev", "dev/token");
    for (text, named) in [
        ("- name: dev\n".to_owned(), "not a list of clusters"),
        (
            "clusters: {dev: {}}\n".to_owned(),
            "`clusters` is not a list",
        ),
        (
            format!("clusters:\n{ok}- {{name: qa, out: x, region: us-east-1, rolearn: y}}\n"),
            "entry 2 (qa): unknown key",
        ),
        (
            format!("clusters:\n{ok}{}", entry("dev", "other")),
            "entry 2 (dev): the name",
        ),
        (
            format!("clusters:\n{ok}{}", entry("qa", "dev/token")),
            "entry 2 (qa): ",
        ),
        (
            format!("clusters:\n{ok}- {{name: qa}}\n"),
            "cluster qa has no `out`",
        ),
        // A value is named by its key in the file, in a file of one entry too (each
        // part between `|` in the message: the JSON line escapes the quotes).
        (
            "clusters:\n- {name: dev, out: x, roleArn: 'arn:aws:iam::12345:role/a'}\n".to_owned(),
            "entry 1 (dev): roleArn |arn:aws:iam::12345:role/a|is not a valid IAM role ARN",
        ),
        (
            format!("clusters:\n{ok}- {{name: qa, out: x, region: US_EAST}}\n"),
            "entry 2 (qa): region |US_EAST|is not a valid region name",
        ),
        (
            format!("clusters:\n{ok}- {{name: qa, out: x, sessionName: 'a b'}}\n"),
            "entry 2 (qa): sessionName |a b|is not a valid role session name",
        ),
        (
            format!("clusters:\n{ok}- {{name: qa, out: x, durationSeconds: 60}}\n"),
            "entry 2 (qa): durationSeconds 60 is out of range",
        ),
    ] {
        let file = env.home.join("clusters.yaml");
        std::fs::write(&file, &text).unwrap();
        let f = file.to_str().unwrap();
        for args in [
            vec!["write-token", "--clusters", f],
            vec!["write-token", "--clusters", f, "--refresh"],
            vec!["kubeconfig", "--clusters", f, "--token-files"],
        ] {
            let r = env.run(&args);
            assert_failed(&r, 1, &[]);
            let says = |named: &str| named.split('|').all(|part| r.stderr.contains(part));
            assert!(says(named), "{args:?} {text:?}: {}", r.stderr);
            assert!(r.stderr.contains("clusters.yaml"), "{}", r.stderr);
        }
        if !named.contains("no `out`") {
            let r = env.run(&["write-token", "--check", "--clusters", f]);
            assert_failed(&r, 1, &[]);
            let says = |named: &str| named.split('|').all(|part| r.stderr.contains(part));
            assert!(says(named), "{}", r.stderr);
        }
    }
    // A FIFO where the file should be is named, at once (never read: it would block).
    let fifo = env.home.join("clusters.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let r = env.run(&["write-token", "--clusters", fifo.to_str().unwrap()]);
    assert_failed(&r, 1, &[]);
    assert!(
        r.stderr.contains("clusters.fifo") && r.elapsed < Duration::from_secs(5),
        "{r:?}"
    );
    assert!(sts.requests().is_empty(), "{:?}", sts.requests());
    assert!(!dir.exists());
    // Options that are each cluster's own are usage errors with --clusters.
    let file = env.home.join("clusters.yaml");
    std::fs::write(&file, format!("clusters:\n{ok}")).unwrap();
    let f = file.to_str().unwrap();
    for (args, named) in [
        (
            vec!["write-token", "--clusters", f, "--out", "/tmp/x"],
            "--out",
        ),
        (
            vec!["write-token", "--clusters", f, "--cluster-name", "x"],
            "--cluster-name",
        ),
        (
            vec!["kubeconfig", "--clusters", f, "--alias", "x"],
            "--alias",
        ),
        (
            vec![
                "kubeconfig",
                "--clusters",
                f,
                "--token-files",
                "--shared-user",
            ],
            "(one) goes with --clusters",
        ),
        (
            vec!["kubeconfig", "--cluster-name", "x", "--shared-user"],
            "(one) goes with --clusters",
        ),
    ] {
        let r = env.run(&args);
        assert_failed(&r, 2, &[]);
        assert!(r.stderr.contains(named), "{args:?}: {}", r.stderr);
    }
    assert!(sts.requests().is_empty());
}

/// A base that fails (the IRSA token refused) is asked once a round, not once a
/// cluster: each cluster's failure is logged naming it, and the init run exits 1
/// naming them all.
#[test]
fn a_failing_base_is_asked_once_for_all_clusters() {
    let sts = FaultServer::start(
        vec![],
        Reply::sts_error(400, "InvalidIdentityToken", "Token audience is wrong"),
    );
    let mut env = irsa_env("fleet-base-fails");
    env.set("AWS_ENDPOINT_URL_STS", &sts.url);
    let dir = env.home.join("run");
    let file = env.home.join("clusters.yaml");
    let mut text = String::from("clusters:\n");
    for (i, (name, _)) in CLUSTERS.iter().enumerate() {
        text.push_str(&format!(
            "- {{name: {name}, roleArn: '{}', out: {}}}\n",
            role("fleet-base-fails", i),
            out(&dir, i).display()
        ));
    }
    std::fs::write(&file, text).unwrap();
    let r = env.run(&["write-token", "--clusters", file.to_str().unwrap()]);
    assert_failed(&r, 1, &[&web_identity_token("fleet-base-fails")]);
    assert_eq!(sts.requests().len(), 1, "{:?}", sts.requests());
    let lines: Vec<Value> = r
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (name, _) in CLUSTERS {
        let line = lines.iter().find(|l| l["cluster"] == name).unwrap();
        assert!(
            line["error"]
                .as_str()
                .unwrap()
                .contains("InvalidIdentityToken"),
            "{line}"
        );
    }
    let last = lines.last().unwrap()["error"].as_str().unwrap();
    assert!(
        last.contains("3 of 3 clusters got no token: dev, qa, prod"),
        "{last}"
    );
    assert!(!dir.exists());
}

/// The region IMDS tells (no region configured anywhere) reaches every cluster, also
/// those that got the shared base without asking IMDS: each token is presigned for the
/// regional STS endpoint (real STS host names, reached through a CONNECT proxy that
/// tunnels to moto's TLS front on loopback), not the global one.
#[test]
fn the_region_imds_tells_reaches_every_cluster() {
    use crate::common::recorder::ConnectProxy;
    let m = moto();
    let front = TlsFront::start_as(
        &m.url,
        &["sts.us-east-1.amazonaws.com", "sts.amazonaws.com"],
    );
    let proxy = ConnectProxy::start(front.port);
    let mut env = TestEnv::new();
    env.unset("AWS_EC2_METADATA_DISABLED")
        .set("AWS_EC2_METADATA_SERVICE_ENDPOINT", &m.url)
        .set("HTTPS_PROXY", &proxy.url)
        .set("AWS_CA_BUNDLE", front.ca.display().to_string());
    let dir = env.home.join("run");
    let file = env.home.join("clusters.yaml");
    std::fs::write(
        &file,
        format!(
            "clusters:\n- {{name: dev, out: {}}}\n- {{name: qa, out: {}, roleArn: '{DEV_ROLE}'}}\n",
            out(&dir, 0).display(),
            out(&dir, 1).display()
        ),
    )
    .unwrap();
    let r = env.run(&[
        "write-token",
        "--clusters",
        file.to_str().unwrap(),
        "--no-cache",
        "-v",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stderr.matches("from instance metadata").count(),
        1,
        "{}",
        r.stderr
    );
    for i in 0..2 {
        let token = std::fs::read_to_string(out(&dir, i)).unwrap();
        let url = eks_token::verify::decode(&token).unwrap();
        assert!(
            url.starts_with("https://sts.us-east-1.amazonaws.com/?"),
            "{url}"
        );
    }
    // qa's hop went to the regional endpoint too.
    assert_eq!(proxy.targets(), ["sts.us-east-1.amazonaws.com:443"]);
}
