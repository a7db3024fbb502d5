//! A clusters file that changes under a running writer (a ConfigMap's update), and a
//! writer whose base runs a program.

use std::time::Duration;

use super::*;

/// A clusters file replaced as a ConfigMap's update replaces it (a new file renamed
/// over the old): the writer reads it again, writes the cluster it adds (from the
/// cached base: no second web identity call) and keeps the others; a replacement that
/// does not read is logged, and the clusters before go on.
#[test]
fn a_changed_clusters_file_is_read_again() {
    let tag = "fleet-reload";
    let env = env(tag);
    let dir = env.home.join("run");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("clusters.yaml");
    let replace = |text: &str| {
        let next = dir.join("clusters.yaml.next");
        std::fs::write(&next, text).unwrap();
        std::fs::rename(&next, &file).unwrap();
    };
    replace(&clusters_text(tag, &dir, &[0], ["", "", ""]));
    let log = env.home.join("fleet.log");
    let mut child = writer(&env, &file, &log, &[]);
    let read = |i: usize| std::fs::read_to_string(out(&dir, i)).ok();
    wait_until("dev's file", Duration::from_secs(20), || read(0).is_some());
    assert!(read(1).is_none());
    replace(&clusters_text(tag, &dir, &[0, 1], ["", "", ""]));
    wait_until("qa's file", Duration::from_secs(20), || read(1).is_some());
    let who = identity(&env, &dir.join("eks/qa/kubeconfig"), None).unwrap();
    assert_is_role(&who, tag, 1);
    let reloads = |outcome: &str| {
        log_lines(&log)
            .into_iter()
            .filter(|l| l["event"] == "clusters-file" && l["outcome"] == outcome)
            .collect::<Vec<_>>()
    };
    let reloaded = reloads("reloaded");
    assert_eq!(reloaded.len(), 1, "{reloaded:?}");
    assert_eq!(reloaded[0]["clusters"], serde_json::json!(["dev", "qa"]));
    assert_eq!(reloaded[0]["removed"], serde_json::json!([]));
    // The same bytes in a new file (kubelet swaps every key of a ConfigMap at once):
    // nothing to read again.
    replace(&clusters_text(tag, &dir, &[0, 1], ["", "", ""]));
    let rounds = log_lines(&log).len();
    wait_until("two more rounds", Duration::from_secs(10), || {
        log_lines(&log).len() >= rounds + 4
    });
    assert_eq!(reloads("reloaded").len(), 1);
    // A replacement that does not read: said once, and dev and qa go on.
    replace("clusters: [{name: dev, rolearn: x}]\n");
    wait_until("the refusal logged", Duration::from_secs(20), || {
        !reloads("error").is_empty()
    });
    let refused = &reloads("error")[0];
    let why = refused["error"].as_str().unwrap();
    assert!(
        why.contains("unknown key") && why.ends_with("the clusters read before go on"),
        "{refused}"
    );
    let before = [read(0).unwrap(), read(1).unwrap()];
    wait_until("dev and qa rewritten", Duration::from_secs(10), || {
        read(0).unwrap() != before[0] && read(1).unwrap() != before[1]
    });
    assert_eq!(reloads("error").len(), 1, "the same file is not read again");
    // qa alone: dev is named as removed, and its file is no longer written.
    replace(&clusters_text(tag, &dir, &[1], ["", "", ""]));
    wait_until("the second reload", Duration::from_secs(20), || {
        reloads("reloaded").len() == 2
    });
    assert_eq!(
        reloads("reloaded")[1]["removed"],
        serde_json::json!(["dev"])
    );
    let (dev, qa) = (read(0).unwrap(), read(1).unwrap());
    wait_until("qa rewritten", Duration::from_secs(10), || {
        read(1).unwrap() != qa
    });
    wait_until("qa rewritten again", Duration::from_secs(10), || {
        read(1).unwrap() != qa
    });
    assert_eq!(read(0).unwrap(), dev, "dev's file is left as it is");
    signal(child.id(), "TERM");
    assert_eq!(wait_exit(&mut child, Duration::from_secs(5)).0, Some(0));
    // The base once (the new clusters took it from the cache), each hop once.
    assert_eq!(calls("AssumeRoleWithWebIdentity", &irsa_role(tag)), 1);
    assert_eq!(calls("AssumeRole", &role(tag, 0)), 1);
    assert_eq!(calls("AssumeRole", &role(tag, 1)), 1);
    assert!(read(2).is_none());
}

/// A base that runs a program (credential_process) stops with the writer: SIGTERM
/// ends `write-token --clusters --refresh` with 0 and its stop line, as it ends a
/// single cluster's writer.
#[test]
fn sigterm_ends_a_clusters_writer_on_a_credential_process_base() {
    let mut env = TestEnv::new();
    let helper = env.home.join("creds.sh");
    std::fs::write(
        &helper,
        "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"AKIAPROCESSFLEET0001\", \
         \"SecretAccessKey\": \"fleet/secret\"}'\n",
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let config = env.home.join("config");
    std::fs::write(
        &config,
        format!("[profile p]\ncredential_process = {}\n", helper.display()),
    )
    .unwrap();
    env.set("AWS_CONFIG_FILE", config.display().to_string())
        .set("AWS_PROFILE", "p")
        .set("AWS_REGION", "us-east-1")
        .set("AWS_ENDPOINT_URL_STS", &stand().sts.url);
    let dir = env.home.join("run");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("clusters.yaml");
    std::fs::write(
        &file,
        format!(
            "clusters:\n- {{name: dev, out: {}}}\n",
            out(&dir, 0).display()
        ),
    )
    .unwrap();
    let log = env.home.join("fleet.log");
    let mut child = spawn(
        &env,
        &[
            "write-token",
            "--clusters",
            file.to_str().unwrap(),
            "--refresh",
        ],
        &log,
    );
    wait_until("dev's file", Duration::from_secs(20), || {
        out(&dir, 0).exists()
    });
    signal(child.id(), "TERM");
    assert_eq!(wait_exit(&mut child, Duration::from_secs(5)).0, Some(0));
    assert_eq!(log_lines(&log).last().unwrap()["event"], "stop");
}
