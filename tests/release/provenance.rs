//! The SLSA v1 provenance (`dist/eks-token-V.intoto.jsonl`): an in-toto Statement v1 that
//! in-toto-attestation's own types accept, whose subjects are every file of `dist/` with
//! its digest, and whose predicate names the repository, the commit, the make target and
//! what the build resolved, as installed on the machine that built it.

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;

use super::*;

fn statement() -> (Value, String) {
    let text = std::fs::read_to_string(file("eks-token-V.intoto.jsonl")).unwrap();
    assert_eq!(
        text.lines().count(),
        1,
        "JSON Lines: one statement, one line"
    );
    (serde_json::from_str(&text).unwrap(), text)
}

/// in-toto-attestation's Statement (its validate()) and SLSA Provenance v1 protobuf
/// types, parsed strictly (an unknown field is an error), each resolved dependency a
/// valid ResourceDescriptor.
const VALIDATE: &str = "
import json, sys
from google.protobuf import json_format
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement
from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
from in_toto_attestation.predicates.provenance.v1 import provenance_pb2
text = open(sys.argv[1]).read()
statement = json_format.Parse(text, statement_pb2.Statement())
Statement.copy_from_pb(statement).validate()
if statement.predicate_type != 'https://slsa.dev/provenance/v1':
    sys.exit('predicateType ' + statement.predicate_type)
p = json_format.ParseDict(json.loads(text)['predicate'], provenance_pb2.Provenance())
if not p.build_definition.build_type or not p.run_details.builder.id:
    sys.exit('buildType and builder.id are required')
for d in p.build_definition.resolved_dependencies:
    ResourceDescriptor.copy_from_pb(d).validate()
print(len(statement.subject))
";

#[test]
#[ignore = "needs dist/: make release-test builds the release and runs these"]
fn the_provenance_is_an_in_toto_statement_with_a_slsa_v1_predicate() {
    let path = file("eks-token-V.intoto.jsonl");
    let (ok, out, err) = python(VALIDATE, &[path.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    let (s, _) = statement();
    assert_eq!(s["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(
        out.trim(),
        s["subject"].as_array().unwrap().len().to_string()
    );
    // The validation can fail: another statement type, an unknown predicate field.
    let t = TempDir::new("bad-provenance");
    for (what, bad) in [
        ("_type", {
            let mut b = s.clone();
            b["_type"] = "https://in-toto.io/Statement/v0.1".into();
            b
        }),
        ("field", {
            let mut b = s.clone();
            b["predicate"]["buildDefinition"]["builtBy"] = "x".into();
            b
        }),
    ] {
        let f = t.join(what);
        std::fs::write(&f, bad.to_string()).unwrap();
        let (ok, out, err) = python(VALIDATE, &[f.to_str().unwrap()]);
        assert!(!ok, "{what}: {out}{err}");
    }
}

/// Every file of `dist/` but the provenance itself, SHA256SUMS and a signature is a
/// subject, with the sha256 sha256sum computes.
#[test]
#[ignore = "needs dist/: make release-test builds the release and runs these"]
fn every_artifact_is_a_subject_with_its_digest() {
    let (s, _) = statement();
    let subjects: BTreeMap<String, String> = s["subject"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["name"].as_str().unwrap().to_owned(),
                x["digest"]["sha256"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let own = format!("eks-token-{}.intoto.jsonl", version());
    let mut expected = BTreeMap::new();
    for e in std::fs::read_dir(dist()).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if name == own || name == "SHA256SUMS" || name.ends_with(".minisig") {
            continue;
        }
        expected.insert(name.clone(), sha256_of(&dist().join(&name)));
    }
    assert_eq!(subjects, expected);
    for name in [
        "eks-token-V-linux-amd64",
        "eks-token-V-linux-arm64",
        "eks-token-V-oci.tar",
        "eks-token-V.cdx.json",
    ] {
        let name = name.replace('V', version());
        assert!(subjects.contains_key(&name), "{name}: {subjects:?}");
    }
}

/// The build definition: the repository (Cargo.toml's) at the commit the binaries name,
/// `make release`, and what was resolved: Cargo.lock and each crate it locks with their
/// digests, the pins, rustc and the Debian packages at the versions installed.
#[test]
#[ignore = "needs dist/: make release-test builds the release and runs these"]
fn the_build_definition_names_the_source_the_target_and_the_toolchain() {
    let (s, text) = statement();
    let def = &s["predicate"]["buildDefinition"];
    let source = &def["externalParameters"]["source"];
    assert_eq!(source["digest"]["gitCommit"], version::head().as_str());
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let repository = manifest
        .lines()
        .find_map(|l| l.strip_prefix("repository = "))
        .unwrap()
        .trim_matches('"');
    assert_eq!(source["uri"], format!("git+{repository}").as_str());
    assert_eq!(def["externalParameters"]["makeTarget"], "release");
    let deps = def["resolvedDependencies"].as_array().unwrap();
    let by_name = |n: &str| {
        deps.iter()
            .find(|d| d["name"] == n)
            .unwrap_or_else(|| panic!("no {n} in {deps:?}"))
    };
    assert_eq!(
        by_name("Cargo.lock")["digest"]["sha256"],
        sha256_of(&root().join("Cargo.lock")).as_str()
    );
    assert_eq!(
        by_name(".ci/toolchain.env")["digest"]["sha256"],
        sha256_of(&root().join(".ci/toolchain.env")).as_str()
    );
    let rustc = Command::new("/usr/bin/rustc")
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        by_name("rustc")["annotations"]["version"],
        String::from_utf8_lossy(&rustc.stdout).trim()
    );
    for package in ["rust-web-src", "rustc-web", "musl-dev", "libunwind-14-dev"] {
        let v = dpkg_version(package);
        let uri = by_name(package)["uri"].as_str().unwrap();
        let encoded = v.replace(':', "%3A").replace('+', "%2B");
        assert!(
            uri.starts_with(&format!("pkg:deb/debian/{package}@{encoded}?")),
            "{uri} is not {package} {v}"
        );
    }
    // Each crate of Cargo.lock from the registry, with its checksum.
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).unwrap();
    for block in lock.split("[[package]]").skip(1) {
        let field = |k: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{k} = ")))
                .map(|v| v.trim_matches('"').to_owned())
        };
        let Some(checksum) = field("checksum") else {
            continue;
        };
        let uri = format!(
            "pkg:cargo/{}@{}",
            field("name").unwrap(),
            field("version").unwrap()
        );
        let d = deps.iter().find(|d| d["uri"] == uri.as_str());
        assert_eq!(
            d.map(|d| d["digest"]["sha256"].clone()),
            Some(checksum.into()),
            "{uri}"
        );
    }
    // Reproducible: no path of this machine's checkout.
    let checkout = root().canonicalize().unwrap();
    assert!(!text.contains(checkout.to_str().unwrap()));
}
