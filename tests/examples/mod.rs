//! The manifests in `examples/` are valid Kubernetes objects: each passes
//! `kubernetes-validate --strict` (the API's OpenAPI schemas, unknown fields refused),
//! and each kustomization builds with `kubectl kustomize` into objects that pass too.
//! Every pod spec in them is ready for a namespace enforcing Pod Security "restricted"
//! (`restricted`). (The command lines in them parse: the binary's unit tests; the
//! kubeconfig is read by kubectl there as well.)

mod restricted;

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// Every YAML file below `dir`.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(yaml_files(&p));
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// The kustomization directories under `examples/`.
fn kustomizations() -> Vec<PathBuf> {
    yaml_files(&examples())
        .into_iter()
        .filter(|f| f.file_name().is_some_and(|n| n == "kustomization.yaml"))
        .filter(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .contains("kind: Kustomization")
        })
        .map(|f| f.parent().unwrap().to_path_buf())
        .collect()
}

/// What `kubectl kustomize DIR` builds.
fn kustomize(dir: &Path) -> String {
    let home = TempDir::new("kustomize-home");
    let built = Command::new("kubectl")
        .env("HOME", home.path())
        .arg("kustomize")
        .arg(dir)
        .output()
        .expect("kubectl (make deps installs it)");
    assert!(
        built.status.success(),
        "kubectl kustomize {}: {}",
        dir.display(),
        String::from_utf8_lossy(&built.stderr)
    );
    String::from_utf8(built.stdout).unwrap()
}

/// `kubernetes-validate --strict` over `files`, in one process (it takes two seconds
/// to start): for each file, whether every resource in it passed (an `INFO FILE passed`
/// line, no `ERROR FILE` line), and the whole output.
fn validate(files: &[PathBuf]) -> (Vec<bool>, String) {
    require_tool("kubernetes-validate", "it checks the example manifests");
    let home = TempDir::new("validate-home");
    let out = Command::new("kubernetes-validate")
        .env("HOME", home.path())
        .arg("--strict")
        .args(files)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let passed = files
        .iter()
        .map(|f| {
            let f = f.display().to_string();
            let named = |level: &str| {
                text.lines()
                    .any(|l| l.starts_with(&format!("{level} {f} ")))
            };
            named("INFO") && !named("ERROR") && !named("WARN")
        })
        .collect();
    (passed, text)
}

/// Every manifest and every kustomization's output passes `kubernetes-validate
/// --strict`; in the same run, a manifest with a field its schema lacks is refused (the
/// check can fail).
#[test]
fn every_example_manifest_is_valid() {
    let mut manifests = Vec::new();
    let mut kustomizations = Vec::new();
    for f in yaml_files(&examples()) {
        let text = std::fs::read_to_string(&f).unwrap();
        let kind = text
            .lines()
            .find_map(|l| l.strip_prefix("kind: "))
            .unwrap_or("")
            .trim()
            .to_owned();
        match kind.as_str() {
            // Not API objects: the kubeconfig (read by kubectl in the unit tests) and
            // kustomize's own files.
            "Config" | "Component" => {}
            "Kustomization" => kustomizations.push(f.parent().unwrap().to_path_buf()),
            // A patch inside a component: checked in the kustomizations that use it.
            _ if f.parent().unwrap().join("kustomization.yaml").exists() => {}
            _ => manifests.push(f),
        }
    }
    for name in [
        "pod.yaml",
        "shared-services.yaml",
        "argocd-cluster-secret.yaml",
        "argocd-clusters.yaml",
    ] {
        assert!(
            manifests.iter().any(|m| m.ends_with(name)),
            "{name}: {manifests:?}"
        );
    }
    assert!(kustomizations.len() >= 2, "{kustomizations:?}");
    let t = TempDir::new("kustomized");
    for (i, dir) in kustomizations.iter().enumerate() {
        let built = kustomize(dir);
        assert!(
            built.contains("kind: Deployment") && built.contains("write-token"),
            "{}: {built}",
            dir.display()
        );
        let file = t.join(&format!("built-{i}.yaml"));
        std::fs::write(&file, &built).unwrap();
        manifests.push(file);
    }
    let bad = t.join("unknown-field.yaml");
    std::fs::write(
        &bad,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers:\n  - name: a\n    image: b\n    restartPolicyy: Always\n",
    )
    .unwrap();
    manifests.push(bad);
    let (passed, out) = validate(&manifests);
    let (last, good) = passed.split_last().unwrap();
    for (f, ok) in manifests.iter().zip(good) {
        assert!(ok, "{}: {out}", f.display());
    }
    assert!(!last, "a field the schema lacks passed: {out}");
    assert!(out.contains("'restartPolicyy' was unexpected"), "{out}");
}
