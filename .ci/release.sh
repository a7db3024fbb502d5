#!/usr/bin/env bash
# Builds the release into dist/, reproducibly: the same commit built with the pinned
# toolchain (.ci/toolchain.env: rustc, the Debian packages, cargo-auditable and
# cargo-cyclonedx; the build stops when what is installed differs) gives the same bytes
# in any clone (paths remapped, every timestamp the commit's). docs/release.md.
#   dist/eks-token-V-linux-amd64, dist/eks-token-V-linux-arm64   static binaries, each
#       with its dependency list in a .dep-v0 section (cargo-auditable); --version
#       names the commit
#   dist/eks-token-V.cdx.json      CycloneDX 1.5 SBOM: the crates (cargo-cyclonedx),
#       build-only ones excluded, Rust's std, musl and libunwind (.ci/sbom.py)
#   dist/eks-token-V-oci.tar       OCI image archive: amd64 + arm64, FROM scratch, user
#       65532, labels naming the source and the commit (.ci/oci.py)
#   dist/eks-token-V.intoto.jsonl  SLSA v1 provenance of all of the above (.ci/provenance.py)
#   dist/SHA256SUMS                every file above; `make sign` signs it
set -euo pipefail
cd "$(dirname "$0")/.."
export SOURCE_DATE_EPOCH="$(git log -1 --format=%ct)"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
repository=$(sed -n 's/^repository = "\(.*\)"/\1/p' Cargo.toml | head -1)
commit=$(git rev-parse HEAD)
[ -n "$repository" ] || { echo "release: Cargo.toml names no repository" >&2; exit 1; }
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
    echo "release: WARNING: the working tree has uncommitted changes: the release names" \
         "commit $commit, which is not exactly what is built (make reproducible will differ)" >&2
fi

# The pinned toolchain and no other: installed where missing (the pinned versions), then
# compared with the pins. The Debian recipe even where a rustup musl target exists.
export EKS_TOKEN_BUILD_STD=1
.ci/build-static.sh --install x86_64
.ci/build-static.sh --install aarch64
. .ci/toolchain.env
cargo install --list | grep -qx "cargo-cyclonedx v$CARGO_CYCLONEDX_VERSION:" \
    || cargo install --locked --quiet --force --version "$CARGO_CYCLONEDX_VERSION" cargo-cyclonedx
python3 .ci/toolchain.py check

# build-static.sh prints the binary's path on its last line.
amd64_built=$(.ci/build-static.sh x86_64 | tail -1)
arm64_built=$(.ci/build-static.sh aarch64 | tail -1)
rm -rf dist && mkdir -p dist
amd64="dist/eks-token-$version-linux-amd64"
arm64="dist/eks-token-$version-linux-arm64"
cp "$amd64_built" "$amd64"
cp "$arm64_built" "$arm64"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 .ci/toolchain.py json >"$work/toolchain.json"
.ci/build-static.sh --unit-graph x86_64 >"$work/units-amd64.json"
.ci/build-static.sh --unit-graph aarch64 >"$work/units-arm64.json"

# The SBOM: cargo-cyclonedx's list of the crates (normal dependencies for the musl
# target, versions from Cargo.lock, licences from their manifests), completed and made
# independent of the checkout by sbom.py.
cargo cyclonedx --format json --spec-version 1.5 --target x86_64-unknown-linux-musl \
    --no-build-deps --override-filename "eks-token-$version.cdx" >/dev/null
mv "eks-token-$version.cdx.json" "$work/cargo-cyclonedx.json"
python3 .ci/sbom.py --cyclonedx "$work/cargo-cyclonedx.json" --out "dist/eks-token-$version.cdx.json" \
    --version "$version" --commit "$commit" --checkout "$PWD" \
    --binary "$amd64" --binary "$arm64" \
    --unit-graph "$work/units-amd64.json" --unit-graph "$work/units-arm64.json" \
    --toolchain "$work/toolchain.json"

python3 .ci/oci.py --version "$version" --revision "$commit" --source "$repository" \
    --amd64 "$amd64" --arm64 "$arm64" --out "dist/eks-token-$version-oci.tar"
python3 .ci/provenance.py --dist dist --out "dist/eks-token-$version.intoto.jsonl" \
    --version "$version" --commit "$commit" --repository "$repository" \
    --toolchain "$work/toolchain.json"
(cd dist && sha256sum -- * > SHA256SUMS)
ls -l dist >&2
