#!/usr/bin/env python3
"""The release's toolchain: pinned in .ci/toolchain.env, compared with what is installed.

  toolchain.py check [--pins FILE]   exit 1, naming every difference, unless the
                                     installed toolchain is the pinned one
  toolchain.py json  [--pins FILE]   the toolchain as installed (JSON), for the SBOM and
                                     the provenance

Compared: the Debian release, /usr/bin/rustc's version, cargo-auditable and
cargo-cyclonedx, and every Debian package of DEBIAN_PACKAGES (libunwind-14-dev:arm64 by
the .deb unpacked into target/aarch64-libunwind, as .ci/build-static.sh does).
"""
import argparse
import glob
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Packages that are unpacked, not installed: where their .deb is.
UNPACKED = {"libunwind-14-dev:arm64": "target/aarch64-libunwind/libunwind-14-dev_*_arm64.deb"}


def read_pins(path):
    """KEY=VALUE lines of a file bash also sources (a value may be a quoted list)."""
    text = open(path).read()
    pins = {}
    for m in re.finditer(r'^([A-Z_0-9]+)=(?:"([^"]*)"|(\S*))', text, re.M):
        pins[m.group(1)] = m.group(2) if m.group(2) is not None else m.group(3)
    packages = {}
    for line in pins.get("DEBIAN_PACKAGES", "").split():
        name, _, version = line.partition("=")
        packages[name] = version
    pins["DEBIAN_PACKAGES"] = packages
    return pins


def run(*args):
    try:
        out = subprocess.run(args, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return None
    return out.stdout if out.returncode == 0 else None


def file_sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def native_arch():
    return (run("dpkg", "--print-architecture") or "").strip()


def debian_package(spec):
    """What is installed of PACKAGE[:ARCH]: dict or None."""
    if spec in UNPACKED:
        debs = sorted(glob.glob(os.path.join(ROOT, UNPACKED[spec])))
        if not debs:
            return None
        fields = {}
        for f in ["Package", "Architecture", "Version", "Source"]:
            fields[f] = (run("dpkg-deb", "-f", debs[-1], f) or "").strip()
        source, _, sv = fields["Source"].partition(" ")
        return {"package": fields["Package"], "arch": fields["Architecture"],
                "version": fields["Version"], "source": source or fields["Package"],
                "source_version": sv.strip("()") or fields["Version"],
                "deb": {"file": os.path.basename(debs[-1]), "sha256": file_sha256(debs[-1])}}
    name, _, arch = spec.partition(":")
    out = run("dpkg-query", "-W", "-f",
              "${Package}\t${Architecture}\t${Version}\t${source:Package}\t"
              "${source:Version}\t${db:Status-Abbrev}\n", name)
    for line in (out or "").splitlines():
        pkg, a, version, source, source_version, status = line.split("\t")
        if status.strip() != "ii":
            continue
        if a == (arch or native_arch()) or (not arch and a == "all"):
            return {"package": pkg, "arch": a, "version": version, "source": source,
                    "source_version": source_version}
    return None


def rustc():
    out = run("/usr/bin/rustc", "-vV")
    if out is None:
        return None
    info = dict(line.split(": ", 1) for line in out.splitlines()[1:] if ": " in line)
    return {"version": out.splitlines()[0], "release": info.get("release"),
            "commit-hash": info.get("commit-hash"), "host": info.get("host"),
            "llvm-version": info.get("LLVM version")}


def cargo_tools():
    out = run("cargo", "install", "--list") or ""
    return {m.group(1): m.group(2) for m in re.finditer(r"^(\S+) v(\S+):$", out, re.M)}


def os_release():
    try:
        text = open("/etc/os-release").read()
    except OSError:
        return {}
    return dict((k, v.strip('"')) for k, _, v in
                (line.partition("=") for line in text.splitlines()) if k)


def installed(pins):
    return {
        "debian": os_release().get("VERSION_ID"),
        "rustc": rustc(),
        "cargo_tools": {t: cargo_tools().get(t) for t in ["cargo-auditable", "cargo-cyclonedx"]},
        "packages": {spec: debian_package(spec) for spec in pins["DEBIAN_PACKAGES"]},
        # The OCI archive's layers are gzipped by Python's zlib: recorded, not pinned.
        "python": platform.python_version(),
        "zlib": zlib.ZLIB_RUNTIME_VERSION,
    }


def differences(pins, have):
    out = []

    def compare(what, pinned, found, how):
        if pinned != found:
            out.append(f"  {what}: pinned {pinned}, "
                       + (f"installed {found}" if found else f"not installed ({how})"))

    compare("Debian", pins.get("DEBIAN_VERSION_ID"), have["debian"], "another distribution")
    compare("rustc (/usr/bin/rustc)", pins.get("RUSTC_VERSION"),
            (have["rustc"] or {}).get("release"), "the rustc-web package")
    for tool, key in [("cargo-auditable", "CARGO_AUDITABLE_VERSION"),
                      ("cargo-cyclonedx", "CARGO_CYCLONEDX_VERSION")]:
        compare(tool, pins.get(key), have["cargo_tools"][tool],
                f"cargo install --locked --version {pins.get(key)} {tool}")
    for spec, version in pins["DEBIAN_PACKAGES"].items():
        got = have["packages"][spec]
        compare(spec, version, got and got["version"],
                ".ci/build-static.sh x86_64 and aarch64 install the packages they use")
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["check", "json"])
    p.add_argument("--pins", default=os.path.join(ROOT, ".ci/toolchain.env"))
    a = p.parse_args()
    pins = read_pins(a.pins)
    have = installed(pins)
    if a.command == "json":
        json.dump(have, sys.stdout, indent=2, sort_keys=True)
        print()
        return 0
    diff = differences(pins, have)
    if diff:
        print(f"release: the installed toolchain is not the one pinned in {a.pins}:", file=sys.stderr)
        print("\n".join(diff), file=sys.stderr)
        print("Install the pinned versions (apt-get install PACKAGE=VERSION), or move the "
              "toolchain on purpose: change the pins in a commit of their own "
              "(docs/release.md, \"The toolchain\").", file=sys.stderr)
        return 1
    print(f"toolchain: as pinned in {os.path.relpath(a.pins, ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
