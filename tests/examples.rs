//! The files in `examples/` stay true to the binary: every eks-token command line in
//! them parses, and the kubeconfig is one kubectl reads.

use std::path::Path;
use std::process::Command;

#[allow(dead_code, unreachable_pub)]
#[path = "../src/cli/args.rs"]
mod cli;

use cli::Command as Cmd;

fn example(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(name),
    )
    .unwrap()
}

/// The items of a YAML flow sequence such as `[a, "b c", --x]`.
fn flow_items(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('[').trim_end_matches(']');
    let mut items = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in inner.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                items.push(cur.trim().to_owned());
                cur.clear();
            }
            _ => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        items.push(cur.trim().to_owned());
    }
    items
}

#[test]
fn pod_manifest_commands_parse() {
    let pod = example("pod.yaml");
    let mut seen = 0;
    for line in pod.lines() {
        let Some(rest) = line.trim().strip_prefix("args: ") else {
            continue;
        };
        let args = flow_items(rest);
        match cli::parse(cli::Dialect::EksToken, &args, &eks_token::Env::default()) {
            Ok(Cmd::WriteToken(g, w)) => {
                assert_eq!(g.request.cluster_id, "dev");
                assert_eq!(w.out, Path::new("/var/run/eks/token"));
                seen += 1;
            }
            other => panic!("{args:?}: {other:?}"),
        }
    }
    assert_eq!(seen, 2, "the init container and the sidecar");
    assert!(pod.contains("--refresh"));
}

#[test]
fn kubeconfig_example_is_read_by_kubectl_and_its_args_parse() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/kubeconfig.yaml");
    let out = Command::new("kubectl")
        .args(["config", "view", "--raw", "-o", "json", "--kubeconfig"])
        .arg(&path)
        .env("HOME", std::env::temp_dir())
        .output()
        .expect("kubectl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cfg: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let users = cfg["users"].as_array().unwrap();
    assert_eq!(users.len(), 2);
    for u in users {
        let exec = &u["user"]["exec"];
        assert_eq!(exec["command"], "eks-token");
        let args: Vec<String> = exec["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect();
        assert!(
            matches!(
                cli::parse(cli::Dialect::EksToken, &args, &eks_token::Env::default()),
                Ok(Cmd::GetToken(_))
            ),
            "{args:?}"
        );
    }
}

#[test]
fn dockerfile_copies_the_release_binaries() {
    let d = example("Dockerfile");
    assert!(d.contains("FROM scratch"));
    assert!(d.contains("ARG TARGETARCH"));
    // The names `make release` gives the binaries.
    let makefile =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Makefile")).unwrap();
    assert!(
        d.contains("COPY dist/eks-token-${VERSION}-linux-${TARGETARCH} /eks-token"),
        "{d}"
    );
    assert!(makefile.contains("dist/eks-token-$(VERSION)-linux-amd64"));
    assert!(makefile.contains("dist/eks-token-$(VERSION)-linux-arm64"));
    // The drop-in names.
    for name in ["aws", "aws-iam-authenticator", "argocd-k8s-auth"] {
        assert!(d.contains(&format!("/usr/local/bin/{name}\n")), "{name}");
    }
    let version = format!("ARG VERSION={}", env!("CARGO_PKG_VERSION"));
    assert!(d.contains(&version), "{version}");
}
