//! Every pod spec under `examples/` (a Pod, the pod template of a Deployment or other
//! workload, a kustomize patch, and what each kustomization builds) is ready for a
//! namespace that enforces Pod Security "restricted", checked here rule by rule as the
//! Pod Security Standards list them (baseline, then restricted), and keeps this
//! project's own rules: a read-only root filesystem, memory requests and limits on every
//! container, a size limit on every `emptyDir`, images by digest, and a sidecar whose
//! liveness probe is not a token check (`write-token --check --max-age`, above the
//! refresh interval and the retry backoff) while startup and readiness check the token.

use std::time::Duration;

use yaml_rust2::{Yaml, YamlLoader};

use super::*;

/// A pod spec found in a manifest.
struct PodSpec {
    origin: String,
    meta: Yaml,
    spec: Yaml,
}

/// The pod specs of a YAML stream: a Pod's spec, a workload's pod template.
fn pod_specs(origin: &str, text: &str) -> Vec<PodSpec> {
    let docs = YamlLoader::load_from_str(text).unwrap_or_else(|e| panic!("{origin}: {e}"));
    let mut out = Vec::new();
    for doc in docs {
        let template = match doc["kind"].as_str().unwrap_or("") {
            "Pod" => doc.clone(),
            "Deployment"
            | "StatefulSet"
            | "DaemonSet"
            | "ReplicaSet"
            | "Job"
            | "ReplicationController" => doc["spec"]["template"].clone(),
            "CronJob" => doc["spec"]["jobTemplate"]["spec"]["template"].clone(),
            _ => continue,
        };
        let name = doc["metadata"]["name"].as_str().unwrap_or("?");
        out.push(PodSpec {
            origin: format!("{origin} ({} {name})", doc["kind"].as_str().unwrap()),
            meta: template["metadata"].clone(),
            spec: template["spec"].clone(),
        });
    }
    out
}

fn set(v: &Yaml) -> bool {
    !v.is_badvalue() && !v.is_null()
}

fn items(v: &Yaml) -> &[Yaml] {
    v.as_vec().map(Vec::as_slice).unwrap_or(&[])
}

fn strs(v: &Yaml) -> Vec<&str> {
    items(v).iter().filter_map(Yaml::as_str).collect()
}

/// `10m`, `90s`, `1h`, `1m30s`, `100ms`.
fn duration(s: &str) -> Option<Duration> {
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit, len) = [("ms", 1), ("h", 3_600_000), ("m", 60_000), ("s", 1000)]
            .into_iter()
            .find(|(u, _)| rest.starts_with(u))
            .map(|(u, ms)| (ms, u.len()))?;
        total += Duration::from_millis(n * unit);
        rest = &rest[len..];
    }
    (!s.is_empty()).then_some(total)
}

/// The value of `--name VALUE` or `--name=VALUE` in an argument list.
fn option<'a>(args: &[&'a str], name: &str) -> Option<&'a str> {
    args.iter().enumerate().find_map(|(i, a)| {
        if *a == name {
            args.get(i + 1).copied()
        } else {
            a.strip_prefix(name)?.strip_prefix('=')
        }
    })
}

/// What the Pod Security Standards and this project's rules find wrong with a pod spec.
fn violations(pod: &PodSpec) -> Vec<String> {
    let mut found = Vec::new();
    let mut bad = |what: String| found.push(what);
    let (spec, psc) = (&pod.spec, &pod.spec["securityContext"]);

    // Baseline: host namespaces, HostProcess, host ports, hostPath, AppArmor, SELinux,
    // /proc mount, sysctls; restricted: volume types, runAsUser, seccomp.
    for ns in ["hostNetwork", "hostPID", "hostIPC"] {
        if spec[ns].as_bool() == Some(true) {
            bad(format!("pod: {ns}"));
        }
    }
    if let Some(h) = pod.meta["annotations"].as_hash() {
        for (k, v) in h {
            let (k, v) = (k.as_str().unwrap_or(""), v.as_str().unwrap_or(""));
            if k.starts_with("container.apparmor.security.beta.kubernetes.io/")
                && v != "runtime/default"
                && !v.starts_with("localhost/")
            {
                bad(format!("pod: AppArmor annotation {k}: {v}"));
            }
        }
    }
    security_context("pod", psc, &mut bad);
    const SAFE_SYSCTLS: [&str; 10] = [
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    ];
    for s in items(&psc["sysctls"]) {
        let name = s["name"].as_str().unwrap_or("");
        if !SAFE_SYSCTLS.contains(&name) {
            bad(format!("pod: sysctl {name}"));
        }
    }
    const VOLUME_TYPES: [&str; 8] = [
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    ];
    for v in items(&spec["volumes"]) {
        let name = v["name"].as_str().unwrap_or("?");
        let Some(h) = v.as_hash() else { continue };
        for k in h.keys().filter_map(Yaml::as_str).filter(|k| *k != "name") {
            if !VOLUME_TYPES.contains(&k) {
                bad(format!("volume {name}: type {k}"));
            }
        }
        if set(&v["emptyDir"]) && !set(&v["emptyDir"]["sizeLimit"]) {
            bad(format!("volume {name}: emptyDir without sizeLimit"));
        }
    }

    let containers = ["initContainers", "containers", "ephemeralContainers"]
        .into_iter()
        .flat_map(|k| items(&spec[k]).iter().map(move |c| (k, c)));
    for (kind, c) in containers {
        let name = format!("{kind} {}", c["name"].as_str().unwrap_or("?"));
        let sc = &c["securityContext"];
        security_context(&name, sc, &mut bad);
        if sc["privileged"].as_bool() == Some(true) {
            bad(format!("{name}: privileged"));
        }
        for p in items(&c["ports"]) {
            if p["hostPort"].as_i64().is_some_and(|p| p != 0) {
                bad(format!("{name}: hostPort"));
            }
        }
        if sc["allowPrivilegeEscalation"].as_bool() != Some(false) {
            bad(format!("{name}: allowPrivilegeEscalation is not false"));
        }
        let drop = strs(&sc["capabilities"]["drop"]);
        if !drop.contains(&"ALL") {
            bad(format!("{name}: capabilities.drop has no ALL"));
        }
        for cap in strs(&sc["capabilities"]["add"]) {
            if cap != "NET_BIND_SERVICE" {
                bad(format!("{name}: capability {cap} added"));
            }
        }
        match (sc["runAsNonRoot"].as_bool(), psc["runAsNonRoot"].as_bool()) {
            (Some(true), _) | (None, Some(true)) => {}
            _ => bad(format!(
                "{name}: runAsNonRoot is not true (pod or container)"
            )),
        }
        let seccomp = |v: &Yaml| v["seccompProfile"]["type"].as_str().map(str::to_owned);
        match seccomp(sc).or_else(|| seccomp(psc)).as_deref() {
            Some("RuntimeDefault" | "Localhost") => {}
            other => bad(format!("{name}: seccompProfile {other:?}")),
        }

        // This project's rules.
        if sc["readOnlyRootFilesystem"].as_bool() != Some(true) {
            bad(format!("{name}: readOnlyRootFilesystem is not true"));
        }
        for part in ["requests", "limits"] {
            if !set(&c["resources"][part]["memory"]) {
                bad(format!("{name}: no memory {part}"));
            }
        }
        let image = c["image"].as_str().unwrap_or("");
        let digest = image.split_once("@sha256:").map(|(_, d)| d);
        let by_digest = digest.is_some_and(|d| {
            d == "DIGEST" || (d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()))
        });
        if !by_digest {
            bad(format!("{name}: image {image} is not by digest (@sha256:)"));
        }
        sidecar_probes(&name, c, &mut bad);
    }
    found
}

/// The rules a securityContext of the pod or of a container shares: HostProcess,
/// SELinux, AppArmor, /proc mount, runAsUser, seccomp.
fn security_context(who: &str, sc: &Yaml, bad: &mut impl FnMut(String)) {
    if sc["windowsOptions"]["hostProcess"].as_bool() == Some(true) {
        bad(format!("{who}: hostProcess"));
    }
    let se = &sc["seLinuxOptions"];
    if let Some(t) = se["type"].as_str() {
        let allowed = ["", "container_t", "container_init_t", "container_kvm_t"];
        if !allowed.contains(&t) && t != "container_engine_t" {
            bad(format!("{who}: SELinux type {t}"));
        }
    }
    if set(&se["user"]) || set(&se["role"]) {
        bad(format!("{who}: SELinux user or role"));
    }
    if let Some(t) = sc["appArmorProfile"]["type"].as_str() {
        if t != "RuntimeDefault" && t != "Localhost" {
            bad(format!("{who}: AppArmor {t}"));
        }
    }
    if sc["procMount"].as_str().is_some_and(|p| p != "Default") {
        bad(format!("{who}: procMount"));
    }
    if sc["runAsUser"].as_i64() == Some(0) {
        bad(format!("{who}: runAsUser 0"));
    }
    if sc["seccompProfile"]["type"].as_str() == Some("Unconfined") {
        bad(format!("{who}: seccompProfile Unconfined"));
    }
}

/// `write-token --check` probes: liveness only by the file's age (`--max-age`, never the
/// token's validity, which STS decides: restarting the sidecar cannot help), above what
/// the sidecar can take between two writes (the refresh interval, the longest retry
/// backoff of 60 s and its run's deadline); startup or readiness check the token.
fn sidecar_probes(name: &str, c: &Yaml, bad: &mut impl FnMut(String)) {
    let command = |probe: &str| strs(&c[probe]["exec"]["command"]);
    let is_check = |argv: &[&str]| argv.contains(&"write-token") && argv.contains(&"--check");
    let liveness = command("livenessProbe");
    if is_check(&liveness) && option(&liveness, "--max-age").is_none() {
        bad(format!(
            "{name}: liveness checks the token, not the writer's progress"
        ));
    }
    if option(&liveness, "--min-validity").is_some() {
        bad(format!("{name}: liveness checks the token's validity"));
    }
    let args = strs(&c["args"]);
    if !(args.contains(&"write-token") && args.contains(&"--refresh")) {
        return;
    }
    let Some(max_age) = option(&liveness, "--max-age") else {
        return bad(format!(
            "{name}: a refreshing sidecar without a --max-age liveness probe"
        ));
    };
    let interval =
        option(&args, "--refresh-interval").map_or(Some(Duration::from_secs(300)), duration);
    let deadline = option(&args, "--timeout").map_or(Some(Duration::from_secs(30)), duration);
    let (Some(max_age), Some(interval), Some(deadline)) = (duration(max_age), interval, deadline)
    else {
        return bad(format!("{name}: a duration that does not parse"));
    };
    let longest_gap = interval.max(Duration::from_secs(60)) + deadline;
    if max_age < longest_gap + Duration::from_secs(60) {
        bad(format!(
            "{name}: liveness --max-age {max_age:?} is not comfortably above {longest_gap:?}"
        ));
    }
    let checks_token = ["startupProbe", "readinessProbe"].iter().any(|p| {
        let argv = command(p);
        is_check(&argv) && option(&argv, "--max-age").is_none()
    });
    if !checks_token {
        bad(format!(
            "{name}: no startup or readiness probe checks the token"
        ));
    }
}

/// Every pod spec of the examples: the files as they are (patches included) and what
/// each kustomization builds.
fn example_pod_specs() -> Vec<PodSpec> {
    let mut out = Vec::new();
    for f in yaml_files(&examples()) {
        let text = std::fs::read_to_string(&f).unwrap();
        let origin = f.strip_prefix(examples()).unwrap().display().to_string();
        out.extend(pod_specs(&origin, &text));
    }
    for dir in kustomizations() {
        let origin = format!(
            "kubectl kustomize {}",
            dir.strip_prefix(examples()).unwrap().display()
        );
        out.extend(pod_specs(&origin, &kustomize(&dir)));
    }
    out
}

#[test]
fn every_example_pod_spec_is_ready_for_pod_security_restricted() {
    let pods = example_pod_specs();
    let origins: Vec<&str> = pods.iter().map(|p| p.origin.as_str()).collect();
    for expected in [
        "pod.yaml",
        "sidecar.yaml",
        "deployment.yaml",
        "kubectl kustomize",
        "shared-services.yaml",
        "eks-token-fleet/sidecar.yaml",
        "kubectl kustomize kustomize/fleet-example",
    ] {
        assert!(
            origins.iter().any(|o| o.contains(expected)),
            "{expected}: {origins:?}"
        );
    }
    let mut all = Vec::new();
    for pod in &pods {
        assert!(
            set(&pod.spec["containers"]) || set(&pod.spec["initContainers"]),
            "{}",
            pod.origin
        );
        for v in violations(pod) {
            all.push(format!("{}: {v}", pod.origin));
        }
    }
    assert!(all.is_empty(), "{}", all.join("\n"));
}

/// The rules can fail: a compliant pod passes, and each change a rule forbids is found
/// and named.
#[test]
fn the_rules_find_each_violation() {
    const GOOD: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: good}
spec:
  securityContext: {runAsNonRoot: true, runAsUser: 65532, seccompProfile: {type: RuntimeDefault}}
  volumes:
  - {name: v, emptyDir: {medium: Memory, sizeLimit: 1Mi}}
  containers:
  - name: w
    image: REGISTRY/eks-token@sha256:DIGEST
    args: [write-token, --cluster-name, c, --out, /t, --refresh, --refresh-interval, 5m]
    startupProbe: {exec: {command: [eks-token, write-token, --check, --out, /t]}}
    livenessProbe: {exec: {command: [eks-token, write-token, --check, --out, /t, --max-age, 10m]}}
    securityContext:
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
      readOnlyRootFilesystem: true
    resources: {requests: {memory: 8Mi}, limits: {memory: 16Mi}}
"#;
    let check = |text: &str| violations(&pod_specs("test", text).remove(0));
    assert_eq!(check(GOOD), Vec::<String>::new());
    for (change, from, to) in [
        (
            "hostNetwork",
            "  volumes:",
            "  hostNetwork: true\n  volumes:",
        ),
        (
            "hostPath",
            "emptyDir: {medium: Memory, sizeLimit: 1Mi}",
            "hostPath: {path: /}",
        ),
        ("without sizeLimit", ", sizeLimit: 1Mi", ""),
        (
            "privileged",
            "      readOnlyRootFilesystem: true",
            "      readOnlyRootFilesystem: true\n      privileged: true",
        ),
        (
            "allowPrivilegeEscalation",
            "allowPrivilegeEscalation: false",
            "allowPrivilegeEscalation: true",
        ),
        ("no ALL", "drop: [ALL]", "drop: [NET_RAW]"),
        (
            "capability SYS_ADMIN",
            "drop: [ALL]",
            "drop: [ALL], add: [SYS_ADMIN]",
        ),
        ("runAsNonRoot", "runAsNonRoot: true, ", ""),
        ("runAsUser 0", "runAsUser: 65532", "runAsUser: 0"),
        (
            "seccompProfile",
            ", seccompProfile: {type: RuntimeDefault}",
            "",
        ),
        ("Unconfined", "type: RuntimeDefault", "type: Unconfined"),
        (
            "sysctl kernel.msgmax",
            "{type: RuntimeDefault}}",
            "{type: RuntimeDefault}, sysctls: [{name: kernel.msgmax, value: '1'}]}",
        ),
        (
            "readOnlyRootFilesystem",
            "readOnlyRootFilesystem: true",
            "readOnlyRootFilesystem: false",
        ),
        ("no memory limits", ", limits: {memory: 16Mi}", ""),
        (
            "not by digest",
            "eks-token@sha256:DIGEST",
            "eks-token:0.3.0",
        ),
        (
            "liveness checks the token",
            "--max-age, 10m",
            "--min-validity, 1m",
        ),
        ("not comfortably above", "--max-age, 10m", "--max-age, 6m"),
        ("no startup or readiness", "startupProbe", "otherProbe"),
        (
            "hostPort",
            "    args:",
            "    ports: [{containerPort: 1, hostPort: 1}]\n    args:",
        ),
    ] {
        assert!(GOOD.contains(from), "{change}: {from}");
        let text = GOOD.replacen(from, to, 1);
        let found = check(&text);
        assert!(
            found.iter().any(|v| v.contains(change)),
            "{change}: {found:?}"
        );
    }
}
