#!/usr/bin/env bash
# Builds the release into dist/, reproducibly: the same commit built with the same
# toolchain (Rust, cargo-auditable and cargo-cyclonedx at the versions pinned here and in
# build-static.sh) gives the same bytes in any clone (paths remapped, every timestamp
# the commit's).
#   dist/eks-token-V-linux-amd64, dist/eks-token-V-linux-arm64   static binaries, each
#       with its dependency list in a .dep-v0 section (cargo-auditable)
#   dist/eks-token-V.cdx.json    CycloneDX SBOM of the binary's crates (cargo-cyclonedx)
#   dist/eks-token-V-oci.tar     OCI image archive: amd64 + arm64, FROM scratch, user 65532
#   dist/SHA256SUMS
set -euo pipefail
cd "$(dirname "$0")/.."
export SOURCE_DATE_EPOCH="$(git log -1 --format=%ct)"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
# build-static.sh prints the binary's path on its last line.
amd64_built=$(.ci/build-static.sh x86_64 | tail -1)
arm64_built=$(.ci/build-static.sh aarch64 | tail -1)
rm -rf dist && mkdir -p dist
amd64="dist/eks-token-$version-linux-amd64"
arm64="dist/eks-token-$version-linux-arm64"
cp "$amd64_built" "$amd64"
cp "$arm64_built" "$arm64"

# The SBOM: the crates of the binary (normal dependencies for the musl target, no dev or
# build-only crates), versions from Cargo.lock, licences from their manifests. Its
# timestamp and serial number are made from the commit, and the checkout's path is
# remapped, so that it is reproducible too.
cargo install --list | grep -qx 'cargo-cyclonedx v0.5.9:' \
    || cargo install --locked --quiet --force --version 0.5.9 cargo-cyclonedx
cargo cyclonedx --format json --spec-version 1.5 --target x86_64-unknown-linux-musl \
    --no-build-deps --override-filename "eks-token-$version.cdx" >/dev/null
python3 - "eks-token-$version.cdx.json" "dist/eks-token-$version.cdx.json" "$PWD" <<'PY'
import datetime, hashlib, json, os, sys, uuid
src, dst, checkout = sys.argv[1:]
with open(src) as f:
    # The package's own reference names the checkout: remapped as the binary's paths are.
    bom = json.loads(f.read().replace("path+file://" + checkout, "path+file:///eks-token"))
os.remove(src)
epoch = int(os.environ["SOURCE_DATE_EPOCH"])
bom["metadata"]["timestamp"] = datetime.datetime.fromtimestamp(
    epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
seed = hashlib.sha256(json.dumps(bom, sort_keys=True).encode()).digest()[:16]
bom["serialNumber"] = "urn:uuid:" + str(uuid.UUID(bytes=seed, version=4))
with open(dst, "w") as f:
    json.dump(bom, f, indent=2, sort_keys=True)
    f.write("\n")
PY

python3 .ci/oci.py --version "$version" --amd64 "$amd64" --arm64 "$arm64" \
    --out "dist/eks-token-$version-oci.tar"
(cd dist && sha256sum -- * > SHA256SUMS)
ls -l dist >&2
