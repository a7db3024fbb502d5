#!/usr/bin/env bash
# Builds the static musl binary: build-static.sh [--install | --unit-graph] [x86_64|aarch64]
#   (no option)    build it; prints the path of the binary on its last line
#   --install      only install what the build needs (the versions pinned in
#                  .ci/toolchain.env where a package is missing)
#   --unit-graph   print cargo's unit graph of the build (JSON): the standard library's
#                  crates compiled into the binary, for the SBOM
#
# With a rustup musl target installed, a plain `cargo build --target` does it. Otherwise
# (as on these machines, where rustup cannot download the musl standard library) the
# standard library is built from Debian's Rust source with Debian's compiler
# (`-Z build-std`; the recipe is in docs/architecture.md, "The static binary"); the Debian packages are installed
# here when missing. EKS_TOKEN_BUILD_STD=1 takes the Debian recipe in any case: `make
# release` does, its toolchain being the one pinned in .ci/toolchain.env.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=build
case "${1:-}" in
    --install) mode=install; shift ;;
    --unit-graph) mode=unit-graph; shift ;;
esac
arch="${1:-x86_64}"
case "$arch" in
    x86_64|amd64) arch=x86_64 ;;
    aarch64|arm64) arch=aarch64 ;;
    *) echo "build-static.sh: unknown architecture $arch (use x86_64 or aarch64)" >&2; exit 2 ;;
esac
target="$arch-unknown-linux-musl"
out="target/$target/release/eks-token"

log() { echo "build-static: $*" >&2; }

# The pinned versions (DEBIAN_PACKAGES, CARGO_AUDITABLE_VERSION, ...).
. .ci/toolchain.env
# The pinned version of PACKAGE[:ARCH], or nothing.
pinned() {
    local line
    for line in $DEBIAN_PACKAGES; do
        if [ "${line%%=*}" = "$1" ]; then echo "${line#*=}"; return; fi
    done
}

# The release recipe, always (make static, make test and make release build the same
# bytes): the binary carries its dependency list in cargo-auditable's `.dep-v0`
# section (for scanners: cargo audit bin, Trivy, Grype), and no path of this machine
# (the checkout, cargo's home) ends up in it, so any clone of a commit builds the same.
# Pinned: its version is part of the bytes (the .dep-v0 section).
cargo install --list | grep -qx "cargo-auditable v$CARGO_AUDITABLE_VERSION:" \
    || cargo install --locked --quiet --force --version "$CARGO_AUDITABLE_VERSION" cargo-auditable >&2
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
remap="--remap-path-prefix=$PWD=/eks-token --remap-path-prefix=$cargo_home=/cargo"
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}"

# Installs the packages that are missing, at their pinned versions (the current ones,
# with a warning, where the archive no longer has them: make release then refuses).
need_pkgs() {
    local missing=() p v
    for p in "$@"; do
        dpkg -s "$p" >/dev/null 2>&1 && continue
        v=$(pinned "$p")
        missing+=("$p${v:+=$v}")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]}"
        if [ "$(id -u)" -ne 0 ]; then echo "build-static.sh: run as root or install: ${missing[*]}" >&2; exit 1; fi
        apt-get update -qq
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; then
            log "the pinned versions are not available: installing the current ones (not those of .ci/toolchain.env: make release will refuse them)"
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]%%=*}" >/dev/null
        fi
    fi
}

if [ "${EKS_TOKEN_BUILD_STD:-0}" != 1 ] && command -v rustup >/dev/null \
    && rustup target list --installed 2>/dev/null | grep -qx "$target"; then
    log "using the rustup target $target"
    if [ "$arch" = aarch64 ]; then
        need_pkgs gcc-aarch64-linux-gnu
        export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=aarch64-linux-gnu-gcc
    fi
    export RUSTFLAGS="$remap"
    case "$mode" in
        install) ;;
        unit-graph) cargo build --release --locked --target "$target" -Z unstable-options --unit-graph ;;
        *) cargo auditable build --release --locked --target "$target" >&2; echo "$out" ;;
    esac
    exit 0
fi

log "$target: building std from Debian's Rust source"
need_pkgs rustc-web cargo-web rust-web-src libstd-rust-web-dev musl-tools libunwind-14-dev

export RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1
# Panic messages without their source file, line and column: 60 KiB of location data
# (a panic still prints its message and aborts).
size_flags="-Z location-detail=none -C force-unwind-tables=no $remap"
if [ "$arch" = x86_64 ]; then
    export RUSTFLAGS="-C linker=musl-gcc -C link-self-contained=no -C relocation-model=static -L /usr/lib/llvm-14/lib $size_flags"
else
    dpkg --print-foreign-architectures | grep -qx arm64 || { dpkg --add-architecture arm64; apt-get update -qq; }
    need_pkgs gcc-aarch64-linux-gnu musl-dev:arm64 qemu-user-static
    # libunwind-14-dev:arm64 cannot be installed beside the amd64 one: unpack it privately.
    # The pinned version (.ci/toolchain.py compares the .deb kept there).
    unwind="target/aarch64-libunwind"
    want=$(pinned libunwind-14-dev:arm64)
    have=$(dpkg-deb -f "$unwind"/libunwind-14-dev_*_arm64.deb Version 2>/dev/null || true)
    if [ ! -f "$unwind/usr/lib/llvm-14/lib/libunwind.a" ] || [ "$have" != "$want" ]; then
        rm -rf "$unwind" && mkdir -p "$unwind"
        (cd "$unwind" && { apt-get download -qq "libunwind-14-dev:arm64${want:+=$want}" >/dev/null 2>&1 \
            || { log "libunwind-14-dev:arm64 $want is not available: downloading the current one"; \
                 apt-get download -qq libunwind-14-dev:arm64 >/dev/null; }; } \
            && dpkg -x libunwind-14-dev_*_arm64.deb .)
    fi
    wrapper="$PWD/target/aarch64-musl-gcc"
    printf '#!/bin/sh\nexec aarch64-linux-gnu-gcc -specs /usr/lib/aarch64-linux-musl/musl-gcc.specs "$@"\n' >"$wrapper"
    chmod +x "$wrapper"
    export CC_aarch64_unknown_linux_musl="$wrapper" AR_aarch64_unknown_linux_musl=aarch64-linux-gnu-ar
    export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER="$wrapper"
    export RUSTFLAGS="-C link-self-contained=no -C relocation-model=static -L $PWD/$unwind/usr/lib/llvm-14/lib $size_flags"
fi
# std without its `backtrace` feature: panics still print their message (and abort),
# without the DWARF symbolizer (about 170 KiB).
build_std=(-Z build-std=std,panic_abort -Z build-std-features= --target "$target")
case "$mode" in
    install) ;;
    unit-graph) /usr/bin/cargo build --release --locked "${build_std[@]}" -Z unstable-options --unit-graph ;;
    *) /usr/bin/cargo auditable build --release --locked "${build_std[@]}" >&2; echo "$out" ;;
esac
