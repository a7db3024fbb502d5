#!/usr/bin/env python3
"""Completes cargo-cyclonedx's SBOM into the release's, reproducibly.

  sbom.py --cyclonedx IN --out OUT --version V --commit SHA --checkout DIR
          --binary BIN... --unit-graph FILE... --toolchain FILE

cargo-cyclonedx lists the crates of Cargo.lock that the musl target resolves. This adds
and corrects what it cannot know:

- the package's own reference names the checkout (`path+file:///home/x/eks-token#0.2.0`,
  or `#eks-token@0.2.0` when the directory has another name): it becomes
  `path+file:///eks-token#eks-token@V` whatever the directory, as the binaries' paths
  are remapped to /eks-token;
- crates that the binaries' `.dep-v0` (cargo-auditable) marks as build-time only
  (proc-macros and their dependencies) get `"scope": "excluded"`: they ran in the
  compiler, they are not in the binary;
- what is linked into every binary and is not a crate of Cargo.lock: Rust's standard
  library (core, alloc, std and the crates std is built from, as cargo's unit graph of
  the `-Z build-std` build names them, from Debian's rust-web-src), musl (Debian's
  musl-dev) and LLVM's libunwind (Debian's libunwind-14-dev), at the versions installed
  (.ci/toolchain.py json, which `make release` has compared with the pins);
- the timestamp is the commit's (SOURCE_DATE_EPOCH) and the serial number is made from
  the content.
"""
import argparse
import datetime
import hashlib
import json
import os
import re
import struct
import sys
import tomllib
import urllib.parse
import uuid
import zlib

STD_SOURCE = "/usr/lib/rustlib/src/rust/library"
# Crates of std's workspace that only re-export core or alloc under a crates.io name (so
# that std's crates.io dependencies can name them): no code of their own.
SHIMS = {"rustc-std-workspace-core", "rustc-std-workspace-alloc", "rustc-std-workspace-std"}


def elf_section(path, name):
    """The bytes of section `name` of a 64-bit little-endian ELF file."""
    b = open(path, "rb").read()
    shoff, = struct.unpack_from("<Q", b, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", b, 0x3A)
    strtab, = struct.unpack_from("<Q", b, shoff + shstrndx * shentsize + 0x18)
    for i in range(shnum):
        h = shoff + i * shentsize
        n, = struct.unpack_from("<I", b, h)
        if b[strtab + n:b.index(b"\0", strtab + n)] == name.encode():
            off, size = struct.unpack_from("<QQ", b, h + 0x18)
            return b[off:off + size]
    sys.exit(f"sbom.py: no {name} section in {path}")


def linked_crates(binaries):
    """(name, version) of every crate compiled into any of the binaries (.dep-v0)."""
    out = set()
    for b in binaries:
        audit = json.loads(zlib.decompress(elf_section(b, ".dep-v0")))
        out |= {(p["name"], p["version"]) for p in audit["packages"] if p.get("kind") != "build"}
    return out


def deb_purl(package, version, distro):
    return (f"pkg:deb/debian/{package}@{urllib.parse.quote(version, safe='')}"
            f"?arch=source&distro=debian-{distro}")


def upstream(version):
    """A Debian version without its epoch and revision: 1:14.0.6-12 -> 14.0.6."""
    return version.split(":", 1)[-1].rsplit("-", 1)[0]


def manifest(path):
    with open(os.path.join(path, "Cargo.toml"), "rb") as f:
        return tomllib.load(f).get("package", {})


def std_components(unit_graphs, rustc_release, source_pkg, distro):
    """The standard library's crates linked into the binaries: std, the panic runtime
    (panic = "abort" in Cargo.toml's release profile) and what they depend on, as each
    unit graph of the build names them: (components, edges by bom-ref). Cargo makes every
    unit depend on all of the std set it builds, proc_macro and panic_unwind included;
    those two are not linked (no proc-macro in the binary, the other panic runtime)."""
    found, edges = set(), {}
    for path in unit_graphs:
        units = json.load(open(path))["units"]

        def ident(unit):
            """(name, version, where its sources are) of a std unit built for the
            target, or None."""
            if not unit.get("is_std") or unit["mode"] != "build" or unit["platform"] is None:
                return None
            if "custom-build" in unit["target"]["kind"]:
                return None
            loc, _, frag = unit["pkg_id"].partition("#")
            name, _, version = frag.rpartition("@")
            if loc.startswith("path+file://"):
                where = loc[len("path+file://"):]
                return name or os.path.basename(where), version, where
            return name, version, os.path.join(STD_SOURCE, "vendor", f"{name}-{version}")

        todo = [i for i, u in enumerate(units)
                if ident(u) and u["target"]["name"] in ("std", "panic_abort")]
        seen = set()
        while todo:
            i = todo.pop()
            if i in seen:
                continue
            seen.add(i)
            me = ident(units[i])
            found.add(me)
            for d in units[i]["dependencies"]:
                dep = ident(units[d["index"]])
                if dep:
                    todo.append(d["index"])
                    edges.setdefault(me, set()).add(dep)
    if not found:
        sys.exit("sbom.py: no standard library in the unit graphs (not a -Z build-std build?)")
    found = {k for k in found if k[0] not in SHIMS}
    edges = {k: {d for d in v if d[0] not in SHIMS} for k, v in edges.items() if k in found}

    def ref(key):
        name, version, where = key
        return f"rust-std#{name}@{version_of(key)}"

    def version_of(key):
        name, version, where = key
        return rustc_release if version in ("", "0.0.0") else version

    components = []
    for key in sorted(found):
        name, version, where = key
        m = manifest(where)
        licence = m.get("license")
        if not isinstance(licence, str):
            sys.exit(f"sbom.py: no licence in {where}/Cargo.toml")
        in_tree = where.startswith(STD_SOURCE + "/") and "/vendor/" not in where
        c = {
            "bom-ref": ref(key),
            "type": "library",
            "name": name,
            "version": version_of(key),
            "description": " ".join((m.get("description") or "Rust standard library").split()),
            "licenses": [{"expression": licence.replace("/", " OR ")}],
            "purl": (deb_purl(source_pkg["source"], source_pkg["source_version"], distro)
                     + "#" + os.path.relpath(where, os.path.dirname(STD_SOURCE)))
            if in_tree else f"pkg:cargo/{name}@{version}",
            "scope": "required",
            "properties": [{"name": "eks-token:built-from", "value":
                            f"Debian {source_pkg['package']} {source_pkg['version']} "
                            f"(-Z build-std with rustc {rustc_release})"}],
        }
        components.append(c)
    deps = {ref(k): sorted(ref(d) for d in v) for k, v in edges.items()}
    return components, deps


def native_components(toolchain, distro):
    """musl, libunwind and GCC's runtime files: one component each per Debian version
    linked."""
    out = []
    for name, specs, licence, description, cpe in [
        ("libgcc", ["libgcc-12-dev", "libgcc-12-dev-arm64-cross"],
         "GPL-3.0-or-later WITH GCC-exception-3.1",
         "GCC's runtime files, linked by musl-gcc's specs: crtbeginS.o, crtendS.o and what"
         " libgcc.a resolves", None),
        ("musl", ["musl-dev", "musl-dev:arm64"], "MIT",
         "the C library, linked statically (Debian's musl-dev: libc.a and the start files)",
         "cpe:2.3:a:musl-libc:musl:{}:*:*:*:*:*:*:*"),
        ("libunwind", ["libunwind-14-dev", "libunwind-14-dev:arm64"],
         "Apache-2.0 WITH LLVM-exception",
         "LLVM's unwinder, linked statically by std's unwind crate (Debian's libunwind-14-dev:"
         " libunwind.a)", None),
    ]:
        pkgs = [toolchain["packages"][s] for s in specs]
        if any(p is None for p in pkgs):
            sys.exit(f"sbom.py: {name}: {specs} not all installed (.ci/toolchain.py json)")
        versions = sorted({p["version"] for p in pkgs})
        for version in versions:
            same = [p for p in pkgs if p["version"] == version]
            c = {
                "bom-ref": f"debian#{name}@{version}",
                "type": "library",
                "name": name,
                "version": version,
                "description": description,
                "licenses": [{"expression": licence}],
                "purl": deb_purl(same[0]["source"], same[0]["source_version"], distro),
                "scope": "required",
                "properties": [{"name": "eks-token:debian-package", "value":
                                f"{p['package']} {p['version']} ({p['arch']})"} for p in same],
            }
            if cpe:
                c["cpe"] = cpe.format(upstream(version))
            out.append(c)
    return out


def rename(value, old, new):
    """Every string equal to `old`, or starting with `old` and a space (its targets),
    with `new` in its place."""
    if isinstance(value, dict):
        return {k: rename(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [rename(v, old, new) for v in value]
    if isinstance(value, str) and (value == old or value.startswith(old + " ")):
        return new + value[len(old):]
    return value


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cyclonedx", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--version", required=True)
    p.add_argument("--commit", required=True)
    p.add_argument("--checkout", required=True)
    p.add_argument("--binary", action="append", required=True)
    p.add_argument("--unit-graph", action="append", required=True)
    p.add_argument("--toolchain", required=True)
    a = p.parse_args()
    with open(a.cyclonedx) as f:
        bom = json.load(f)
    toolchain = json.load(open(a.toolchain))
    distro = toolchain["debian"]
    rustc_release = toolchain["rustc"]["release"]

    own = f"path+file:///eks-token#eks-token@{a.version}"
    bom = rename(bom, bom["metadata"]["component"]["bom-ref"], own)

    linked = linked_crates(a.binary)
    for c in bom["components"]:
        if (c["name"], c["version"]) not in linked:
            c["scope"] = "excluded"
            c.setdefault("properties", []).append({
                "name": "eks-token:not-linked",
                "value": "build-time only (.dep-v0 of the binaries: kind build): ran in the "
                         "compiler, not in the binary"})

    std, std_deps = std_components(a.unit_graph, rustc_release,
                                   toolchain["packages"]["rust-web-src"], distro)
    native = native_components(toolchain, distro)
    bom["components"] += std + native
    refs = {c["name"]: c["bom-ref"] for c in std + native}
    std_deps.setdefault(refs["std"], []).append(refs["musl"])
    std_deps.setdefault(refs["unwind"], []).append(refs["libunwind"])
    linked_by_gcc = {c["bom-ref"] for c in native if c["name"] == "libgcc"}
    for d in bom["dependencies"]:
        if d["ref"] == own:
            d["dependsOn"] = sorted(set(d.get("dependsOn", [])) | {refs["std"]} | linked_by_gcc)
    for c in std + native:
        entry = {"ref": c["bom-ref"]}
        if std_deps.get(c["bom-ref"]):
            entry["dependsOn"] = sorted(set(std_deps[c["bom-ref"]]))
        bom["dependencies"].append(entry)

    rustc = toolchain["rustc"]
    bom["metadata"].setdefault("properties", []).extend([
        {"name": "eks-token:git-commit", "value": a.commit},
        {"name": "eks-token:toolchain:rustc", "value": rustc["version"]},
        {"name": "eks-token:toolchain:cargo-auditable",
         "value": toolchain["cargo_tools"]["cargo-auditable"]},
    ])
    epoch = int(os.environ["SOURCE_DATE_EPOCH"])
    bom["metadata"]["timestamp"] = datetime.datetime.fromtimestamp(
        epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    bom.pop("serialNumber", None)
    seed = hashlib.sha256(json.dumps(bom, sort_keys=True).encode()).digest()[:16]
    bom["serialNumber"] = "urn:uuid:" + str(uuid.UUID(bytes=seed, version=4))
    text = json.dumps(bom, indent=2, sort_keys=True) + "\n"
    # No path of this machine: the checkout's would make the SBOM differ between clones.
    checkout = os.path.realpath(a.checkout)
    for path in {checkout, os.path.abspath(a.checkout)} - {"/eks-token"}:
        if path in text:
            sys.exit(f"sbom.py: the SBOM names the checkout {path}")
    with open(a.out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
