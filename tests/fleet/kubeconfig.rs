//! `kubeconfig --clusters` and provideClusterInfo: a context per cluster of a clusters
//! file (exec users, token files, one shared user) reached by real kubectl, each as its
//! own role; DescribeCluster for what an entry leaves out.

use serde_json::Value;

use super::*;

/// Acceptance 2: `kubeconfig --clusters` gives a context per cluster, whose exec user
/// gets each cluster's token as its own role; with `--token-files`, users that read the
/// files `write-token --clusters` wrote.
#[test]
fn a_kubeconfig_with_a_context_per_cluster() {
    let tag = "fleet-kubeconfig";
    let env = env(tag);
    let dir = env.home.join("run");
    let file = clusters_file(tag, &dir, ["", "", ""]);
    let f = file.to_str().unwrap();
    let exec = env.home.join("exec.kubeconfig");
    let r = env.run(&[
        "kubeconfig",
        "--clusters",
        f,
        "--out",
        exec.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.is_empty());
    let view = kubectl_view(&exec);
    let mut contexts = names(&view, "contexts");
    contexts.sort();
    assert_eq!(contexts, ["dev", "prod", "qa"]);
    assert_eq!(view["current-context"], "dev");
    // Written before any token: the init container's run, then the token files.
    let w = env.run(&["write-token", "--clusters", f]);
    assert_eq!(w.code, 0, "{}", w.stderr);
    let files = env.home.join("files.kubeconfig");
    let r = env.run(&[
        "kubeconfig",
        "--clusters",
        f,
        "--token-files",
        "--out",
        files.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let view = kubectl_view(&files);
    for (i, (name, _)) in CLUSTERS.iter().enumerate() {
        let user = named(&view["users"], name);
        assert_eq!(
            user["user"]["tokenFile"],
            out(&dir, i).display().to_string()
        );
        for kubeconfig in [&exec, &files] {
            let who = identity(&env, kubeconfig, Some(name)).unwrap();
            assert_is_role(&who, tag, i);
            let (code, version, err) = kubectl(
                &env,
                kubeconfig,
                &["--context", name, "get", "--raw", "/version"],
            );
            assert_eq!(code, 0, "{err}");
            assert!(version.contains("gitVersion"));
        }
    }
    // The pod's one probe: every file valid, else exit 1 naming each that is not.
    let probe = env.run(&["write-token", "--check", "--clusters", f]);
    assert_eq!(probe.code, 0, "{}", probe.stderr);
    assert_eq!(probe.stderr.lines().count(), 3, "{}", probe.stderr);
    std::fs::remove_file(out(&dir, 1)).unwrap();
    let probe = env.run(&["write-token", "--check", "--clusters", f]);
    assert_failed(&probe, 1, &[]);
    assert!(
        probe
            .stderr
            .contains("1 of 3 token files fail the check: qa: cannot read"),
        "{}",
        probe.stderr
    );
}

/// Acceptance 3: two clusters carrying the exec extension and one user with
/// `provideClusterInfo: true` (eks-token's get-token, aws-cli's and
/// aws-iam-authenticator's forms): kubectl reaches each cluster as its own role through
/// that one user; `kubeconfig --clusters --shared-user` writes such a kubeconfig.
#[test]
fn one_user_serves_every_cluster_through_provide_cluster_info() {
    let tag = "fleet-shared-user";
    let mut env = env(tag);
    let aws = as_program(&mut env, "aws");
    let authenticator = as_program(&mut env, "aws-iam-authenticator");
    let s = stand();
    let cluster = |i: usize| {
        let v = &s.servers[i];
        serde_json::json!({"name": CLUSTERS[i].0, "cluster": {
            "server": v.url, "certificate-authority": v.ca.display().to_string(),
            "extensions": [{"name": "client.authentication.k8s.io/exec", "extension": {
                "clusterName": CLUSTERS[i].0, "region": "us-east-1",
                "roleArn": [role(tag, i)], "sessionName": "fleet-user"}}]}})
    };
    let user = |name: &str, command: &Path, args: &[&str]| {
        serde_json::json!({"name": name, "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": command.display().to_string(), "args": args,
            "provideClusterInfo": true, "interactiveMode": "Never"}}})
    };
    let users = [
        ("eks-token", user("eks-token", &bin(), &["get-token"])),
        ("aws", user("aws", &aws, &["eks", "get-token"])),
        (
            "authenticator",
            user("authenticator", &authenticator, &["token"]),
        ),
    ];
    let mut contexts = Vec::new();
    for (name, _) in CLUSTERS.iter().take(2) {
        for (u, _) in &users {
            contexts.push(serde_json::json!({"name": format!("{name}-{u}"),
                "context": {"cluster": name, "user": u}}));
        }
    }
    let doc = serde_json::json!({"apiVersion": "v1", "kind": "Config",
        "clusters": [cluster(0), cluster(1)],
        "users": users.iter().map(|(_, u)| u.clone()).collect::<Vec<_>>(),
        "contexts": contexts, "current-context": "dev-eks-token"});
    let written = env.home.join("shared.kubeconfig");
    std::fs::write(&written, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    for (i, (name, _)) in CLUSTERS.iter().enumerate().take(2) {
        for (u, _) in &users {
            let context = format!("{name}-{u}");
            let who = identity(&env, &written, Some(&context)).unwrap();
            assert_is_role(&who, tag, i);
            assert!(
                who["arn"].as_str().unwrap().ends_with("/fleet-user"),
                "{who}"
            );
        }
    }
    // The same, written by kubeconfig --clusters --shared-user.
    let dir = env.home.join("run");
    let file = clusters_file(tag, &dir, ["", "  region: us-east-1\n", ""]);
    let made = env.home.join("made.kubeconfig");
    let r = env.run(&[
        "kubeconfig",
        "--clusters",
        file.to_str().unwrap(),
        "--shared-user",
        "--out",
        made.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let view = kubectl_view(&made);
    assert_eq!(names(&view, "users"), ["eks-token"]);
    let exec = &view["users"][0]["user"]["exec"];
    assert_eq!(exec["provideClusterInfo"], true);
    assert_eq!(exec["args"], serde_json::json!(["get-token"]));
    for (i, (name, _)) in CLUSTERS.iter().enumerate() {
        let ext = &named(&view["clusters"], name)["cluster"]["extensions"][0];
        assert_eq!(ext["name"], "client.authentication.k8s.io/exec");
        assert_eq!(ext["extension"]["clusterName"], *name);
        let who = identity(&env, &made, Some(name)).unwrap();
        assert_is_role(&who, tag, i);
    }
    // Nine plugin runs, one cache: the IRSA session made once; each role once per
    // session name (fleet-user above, the default here).
    assert_eq!(calls("AssumeRoleWithWebIdentity", &irsa_role(tag)), 1);
    let assumed: Vec<usize> = (0..3).map(|i| calls("AssumeRole", &role(tag, i))).collect();
    assert_eq!(assumed, [2, 2, 1]);
    // doctor reads that user as kubectl runs it: its cluster, region, role and session
    // name from the cluster's extension, the same request as its own flags, so the
    // token it sends the cluster is the one kubectl would, answered as qa's role.
    let qa_role = role(tag, 1);
    let r = env.run(&[
        "doctor",
        "--cluster-name",
        CLUSTERS[1].0,
        "--region",
        "us-east-1",
        "--role-arn",
        &qa_role,
        "--session-name",
        "fleet-user",
        "--kubeconfig",
        written.to_str().unwrap(),
        "--context",
        &format!("{}-eks-token", CLUSTERS[1].0),
        "-o",
        "json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&r.stdout).unwrap_or_default();
    let step = |name: &str| {
        report["steps"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["name"] == name)
            .cloned()
            .unwrap_or_default()
    };
    let kubeconfig = step("kubeconfig");
    assert_eq!(kubeconfig["ok"], true, "{}\n{}", r.stdout, r.stderr);
    assert!(
        kubeconfig["detail"]
            .as_str()
            .unwrap()
            .contains("same request as doctor's"),
        "{kubeconfig}"
    );
    assert_eq!(step("cluster")["ok"], true, "{}", r.stdout);
    assert!(
        report["kubernetes"]["username"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!(
                "assumed-role/{}/fleet-user",
                qa_role.rsplit('/').next().unwrap()
            )),
        "{}",
        r.stdout
    );
}

/// `kubeconfig --clusters` asks EKS (DescribeCluster, with that cluster's own chain) for
/// the server and CA an entry leaves out; a cluster EKS does not know fails the command
/// naming it, and nothing is written.
#[test]
fn kubeconfig_clusters_asks_eks_for_what_an_entry_leaves_out() {
    let tag = "fleet-describe";
    create_cluster("fleet-described", DEV_ROLE);
    let mut env = irsa_env(tag);
    env.set("AWS_ENDPOINT_URL_EKS", &moto().url);
    let v = &stand().servers[0];
    let file = env.home.join("clusters.yaml");
    let given = format!(
        "- {{name: dev, roleArn: '{DEV_ROLE}', server: '{}', caData: {}}}\n",
        v.url,
        ca_data(v)
    );
    std::fs::write(
        &file,
        format!("clusters:\n{given}- {{name: fleet-described, roleArn: '{DEV_ROLE}'}}\n"),
    )
    .unwrap();
    let r = env.run(&["kubeconfig", "--clusters", file.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let view: Value = serde_json::from_str(&r.stdout).unwrap();
    let described = named(&view["clusters"], "fleet-described");
    let server = described["cluster"]["server"].as_str().unwrap();
    assert!(
        server.starts_with("https://") && !server.contains("127.0.0.1"),
        "{server}"
    );
    assert_eq!(named(&view["clusters"], "dev")["cluster"]["server"], v.url);
    std::fs::write(
        &file,
        format!("clusters:\n{given}- {{name: fleet-unknown, roleArn: '{DEV_ROLE}'}}\n"),
    )
    .unwrap();
    let out = env.home.join("k");
    let r = env.run(&[
        "kubeconfig",
        "--clusters",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_failed(&r, 1, &[]);
    assert!(
        r.stderr.contains("cluster fleet-unknown: DescribeCluster"),
        "{}",
        r.stderr
    );
    assert!(!out.exists());
}
