#!/usr/bin/env python3
"""Writes the release's SLSA v1 provenance: one in-toto Statement v1, on one line.

  provenance.py --dist DIR --out FILE --version V --commit SHA --repository URL
                --toolchain FILE

Subjects: every file of DIR (with its sha256) but the provenance itself, SHA256SUMS
and signatures (*.minisig), which are made after it. The predicate
(https://slsa.dev/provenance/v1) names the source (repository and commit), the make
target, and what the build resolved: Cargo.lock (its digest) and each crate it locks
(the registry's checksum), the pins (.ci/toolchain.env), rustc, the Debian packages of
the toolchain (the Rust source std is built from, musl, libunwind, the C compilers),
cargo-auditable and cargo-cyclonedx, Python's zlib (the image's layers).

Reproducible: no time of the run and no path of the machine. startedOn and finishedOn
are left out rather than set to a time that is not the build's; every timestamp of the
release is SOURCE_DATE_EPOCH (the commit's time), recorded in internalParameters.
The file is not signed itself: SHA256SUMS covers it, and `make sign` signs SHA256SUMS.
"""
import argparse
import hashlib
import json
import os
import re
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOT_SUBJECTS = {"SHA256SUMS"}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def q(s):
    return urllib.parse.quote(s, safe="")


def locked_crates(lock):
    """(name, version, checksum) of every registry package of Cargo.lock."""
    out = []
    for block in lock.split("[[package]]")[1:]:
        fields = dict(re.findall(r'^(\w+) = "([^"]*)"', block, re.M))
        if "checksum" in fields:
            out.append((fields["name"], fields["version"], fields["checksum"]))
    return sorted(out)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    for a in ["--dist", "--out", "--version", "--commit", "--repository", "--toolchain"]:
        p.add_argument(a, required=True)
    a = p.parse_args()
    toolchain = json.load(open(a.toolchain))
    distro = f"debian-{toolchain['debian']}"
    out_name = os.path.basename(a.out)

    subjects = [{"name": n, "digest": {"sha256": sha256(os.path.join(a.dist, n))}}
                for n in sorted(os.listdir(a.dist))
                if n != out_name and n not in NOT_SUBJECTS and not n.endswith(".minisig")]

    source = {"uri": f"git+{a.repository}", "digest": {"gitCommit": a.commit}}
    deps = [dict(source, name="source")]
    for rel in ["Cargo.lock", ".ci/toolchain.env"]:
        deps.append({"name": rel, "uri": f"git+{a.repository}@{a.commit}#{rel}",
                     "digest": {"sha256": sha256(os.path.join(ROOT, rel))}})
    rustc = toolchain["rustc"]
    deps.append({"name": "rustc", "uri": "file:///usr/bin/rustc",
                 "annotations": {"version": rustc["version"], "commitHash": rustc["commit-hash"],
                                 "host": rustc["host"], "llvmVersion": rustc["llvm-version"]}})
    for spec, pkg in sorted(toolchain["packages"].items()):
        d = {"name": spec,
             "uri": f"pkg:deb/debian/{pkg['package']}@{q(pkg['version'])}"
                    f"?arch={pkg['arch']}&distro={distro}",
             "annotations": {"source": f"{pkg['source']} {pkg['source_version']}"}}
        deb = pkg.get("deb")
        if deb:
            d["digest"] = {"sha256": deb["sha256"]}
        deps.append(d)
    for tool, version in sorted(toolchain["cargo_tools"].items()):
        deps.append({"name": tool, "uri": f"pkg:cargo/{tool}@{version}"})
    deps.append({"name": "python3 zlib",
                 "annotations": {"python": toolchain["python"], "zlib": toolchain["zlib"]}})
    with open(os.path.join(ROOT, "Cargo.lock")) as f:
        for name, version, checksum in locked_crates(f.read()):
            deps.append({"uri": f"pkg:cargo/{name}@{version}", "digest": {"sha256": checksum}})

    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": subjects,
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "buildType": f"{a.repository}/blob/main/docs/release.md#provenance",
                "externalParameters": {"source": source, "makeTarget": "release"},
                "internalParameters": {
                    "sourceDateEpoch": os.environ["SOURCE_DATE_EPOCH"],
                    "toolchainPins": ".ci/toolchain.env",
                    "version": a.version,
                },
                "resolvedDependencies": deps,
            },
            "runDetails": {
                "builder": {"id": f"{a.repository}/blob/main/docs/release.md#builder"},
            },
        },
    }
    with open(a.out, "w") as f:
        f.write(json.dumps(statement, sort_keys=True, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
