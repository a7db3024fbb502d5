//! The SBOM (`dist/eks-token-V.cdx.json`): CycloneDX 1.5 that validates; every crate of
//! the binaries with Cargo.lock's version and a licence; build-only crates `excluded`
//! exactly as the binaries' `.dep-v0` says; what is linked and is not a crate of
//! Cargo.lock (Rust's std, musl, libunwind) at the versions installed; the package named
//! the same from any directory.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::*;

fn sbom() -> Value {
    json_file("eks-token-V.cdx.json")
}

fn components(bom: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    let mut stack: Vec<&Value> = bom["components"].as_array().unwrap().iter().collect();
    while let Some(c) = stack.pop() {
        out.push(c.clone());
        if let Some(sub) = c["components"].as_array() {
            stack.extend(sub);
        }
    }
    out
}

fn str_of<'a>(c: &'a Value, key: &str) -> &'a str {
    c[key].as_str().unwrap_or("")
}

/// A crate of Cargo.lock, as cargo-cyclonedx writes it.
fn is_locked_crate(c: &Value) -> bool {
    str_of(c, "bom-ref").starts_with("registry+")
}

/// `/usr/bin/rustc`'s release (the compiler of the static build).
fn rustc_release() -> String {
    let out = Command::new("/usr/bin/rustc").arg("-vV").output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("release: "))
        .unwrap()
        .to_owned()
}

/// The bom-refs a component depends on.
fn depends_on(bom: &Value, r: &str) -> BTreeSet<String> {
    bom["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["ref"] == r)
        .flat_map(|d| d["dependsOn"].as_array().cloned().unwrap_or_default())
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[test]
#[ignore = "needs dist/: make release-test builds the release and runs these"]
fn the_sbom_names_every_crate_of_the_binary_with_its_locked_version() {
    let bom = sbom();
    assert_eq!(bom["bomFormat"], "CycloneDX");
    assert_eq!(bom["specVersion"], "1.5");
    let all = components(&bom);
    for c in &all {
        if c["licenses"].as_array().is_none_or(|l| l.is_empty()) && c["type"] == "library" {
            panic!("no licence for {c}");
        }
    }
    let crates: BTreeSet<(String, String)> = all
        .iter()
        .filter(|c| is_locked_crate(c))
        .map(|c| {
            (
                str_of(c, "name").to_owned(),
                str_of(c, "version").to_owned(),
            )
        })
        .collect();
    let lock = cargo_lock();
    for c in &crates {
        assert!(lock.contains(c), "{c:?} is not in Cargo.lock");
    }
    // Every crate compiled into either binary (cargo-auditable's list) is in the SBOM.
    for arch in ["amd64", "arm64"] {
        for (name, v) in audit_data(&file(&format!("eks-token-V-linux-{arch}"))) {
            if name == "eks-token" {
                continue;
            }
            assert!(
                crates.contains(&(name.clone(), v.clone())),
                "{name} {v} is in the {arch} binary but not in the SBOM"
            );
        }
    }
}

/// The CycloneDX 1.5 JSON schema, strictly (cyclonedx-python-lib's validator); and the
/// check can fail: a scope that is not one of the schema's is refused.
#[test]
#[ignore = "needs dist/: make release-test builds the release and runs these"]
fn the_sbom_validates_as_cyclonedx_1_5() {
    const VALIDATE: &str = "
import sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
error = JsonStrictValidator(SchemaVersion.V1_5).validate_str(open(sys.argv[1]).read())
print(error or '', end='')
sys.exit(1 if error else 0)
";
    let path = file("eks-token-V.cdx.json");
    let (ok, out, err) = python(VALIDATE, &[path.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    let mut broken = sbom();
    broken["components"][0]["scope"] = "build-only".into();
    let t = TempDir::new("broken-sbom");
    let copy = t.join("broken.cdx.json");
    std::fs::write(&copy, broken.to_string()).unwrap();
    let (ok, out, _) = python(VALIDATE, &[copy.to_str().unwrap()]);
    assert!(!ok && out.contains("build-only"), "{out}");
}

/// `scope: excluded` for exactly the crates the binaries' `.dep-v0` lists as build-time
/// only (proc-macros and what they use: they ran in the compiler, they are not linked);
/// every other crate is required.
#[test]
#[ignore = "needs dist/: make release-test builds the release and runs these"]
fn build_only_crates_are_excluded_as_dep_v0_says() {
    let mut kinds: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for arch in ["amd64", "arm64"] {
        for p in audit_packages(&file(&format!("eks-token-V-linux-{arch}"))) {
            let key = (
                p["name"].as_str().unwrap().to_owned(),
                p["version"].as_str().unwrap().to_owned(),
            );
            let kind = p["kind"].as_str().unwrap_or("runtime").to_owned();
            kinds.entry(key).or_default().insert(kind);
        }
    }
    let mut excluded = BTreeSet::new();
    for c in components(&sbom()).iter().filter(|c| is_locked_crate(c)) {
        let key = (
            str_of(c, "name").to_owned(),
            str_of(c, "version").to_owned(),
        );
        let build_only = kinds
            .get(&key)
            .is_none_or(|k| k.iter().all(|k| k == "build"));
        let scope = str_of(c, "scope");
        assert_eq!(
            scope,
            if build_only { "excluded" } else { "required" },
            "{key:?}: .dep-v0 kinds {:?}",
            kinds.get(&key)
        );
        if build_only {
            excluded.insert(key.0);
        }
    }
    // The proc-macros of serde and time, and what they are built with.
    for c in ["serde_derive", "syn", "quote", "proc-macro2", "time-macros"] {
        assert!(excluded.contains(c), "{c} not excluded: {excluded:?}");
    }
}

/// Rust's standard library (built from Debian's rust-web-src with -Z build-std), musl,
/// LLVM's libunwind and GCC's runtime files are in every binary and are components, at
/// the versions installed on the machine that built the release; std depends on musl,
/// unwind on libunwind.
#[test]
#[ignore = "needs dist/: make release-test builds the release and runs these"]
fn what_is_linked_and_not_a_crate_is_a_component() {
    let bom = sbom();
    let all = components(&bom);
    let named = |r: &str| {
        all.iter()
            .find(|c| str_of(c, "bom-ref") == r)
            .unwrap_or_else(|| panic!("no component {r}"))
            .clone()
    };
    let rustc = rustc_release();
    let src = dpkg_version("rust-web-src");
    let std_lock = lock_file(Path::new("/usr/lib/rustlib/src/rust/library/Cargo.lock"));
    let std: Vec<&Value> = all
        .iter()
        .filter(|c| str_of(c, "bom-ref").starts_with("rust-std#"))
        .collect();
    for name in [
        "core",
        "alloc",
        "std",
        "compiler_builtins",
        "unwind",
        "panic_abort",
    ] {
        assert!(std.iter().any(|c| c["name"] == name), "{name}: {std:?}");
    }
    for c in &std {
        let (name, v) = (str_of(c, "name"), str_of(c, "version"));
        let in_lock = std_lock.contains(&(name.into(), v.into()))
            || (v == rustc && std_lock.contains(&(name.into(), "0.0.0".into())));
        assert!(in_lock, "{name} {v} is not a crate of rust-web-src {src}");
        assert!(c.to_string().contains(&src), "{c}: rust-web-src {src}");
        if ["core", "alloc", "std"].contains(&name) {
            assert_eq!(v, rustc, "{c}");
            assert!(str_of(c, "purl").starts_with("pkg:deb/debian/rustc-web@"));
        }
    }
    // proc_macro is built by -Z build-std but linked only into proc-macros.
    assert!(!std.iter().any(|c| c["name"] == "proc_macro"));

    let musl = named(&format!("debian#musl@{}", dpkg_version("musl-dev")));
    assert_eq!(musl["version"], dpkg_version("musl-dev:arm64"));
    assert!(str_of(&musl, "purl").starts_with("pkg:deb/debian/musl@"));
    assert!(str_of(&musl, "cpe").contains(":musl-libc:musl:"));
    let unwind = dpkg_version("libunwind-14-dev");
    let libunwind = named(&format!("debian#libunwind@{unwind}"));
    for arch in ["amd64", "arm64"] {
        assert!(
            libunwind.to_string().contains(&format!("({arch})")),
            "{libunwind}"
        );
    }
    // GCC's start and end files (musl-gcc's specs link them), for each architecture.
    let own = bom["metadata"]["component"]["bom-ref"].as_str().unwrap();
    for package in ["libgcc-12-dev", "libgcc-12-dev-arm64-cross"] {
        let libgcc = named(&format!("debian#libgcc@{}", dpkg_version(package)));
        assert!(libgcc.to_string().contains(package), "{libgcc}");
        assert!(depends_on(&bom, own).contains(str_of(&libgcc, "bom-ref")));
    }
    let std_ref = format!("rust-std#std@{rustc}");
    assert!(depends_on(&bom, own).contains(&std_ref));
    assert!(depends_on(&bom, &std_ref).contains(str_of(&musl, "bom-ref")));
    assert!(depends_on(&bom, &format!("rust-std#unwind@{rustc}"))
        .contains(str_of(&libunwind, "bom-ref")));
}

/// The package's own reference does not depend on the checkout (cargo writes
/// `path+file:///DIR/eks-token#V` in a directory named eks-token, `#eks-token@V` in
/// another): `make reproducible` compares two directory names; here, no path of this
/// checkout is left anywhere in the SBOM.
#[test]
#[ignore = "needs dist/: make release-test builds the release and runs these"]
fn the_sbom_names_the_package_the_same_from_any_directory() {
    let bom = sbom();
    let own = format!("path+file:///eks-token#eks-token@{}", version());
    assert_eq!(bom["metadata"]["component"]["bom-ref"], own.as_str());
    let text = std::fs::read_to_string(file("eks-token-V.cdx.json")).unwrap();
    let checkout = root().canonicalize().unwrap();
    assert!(!text.contains(checkout.to_str().unwrap()), "{text}");
    for (i, _) in text.match_indices("path+file://") {
        assert!(text[i..].starts_with(&own), "{}", &text[i..i + 80]);
    }
}
