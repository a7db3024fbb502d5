#!/usr/bin/env bash
# Runs every fuzz target for SECONDS seconds (default 20): fuzz.sh [SECONDS] [TARGET...]
# Needs the nightly toolchain and cargo-fuzz (installed here when missing; fails
# when they cannot be). Seeds are
# read from fuzz/seeds/<target>; new inputs go to fuzz/corpus/<target> (not committed).
# Prints each target's exec count; exits non-zero on a crash, hang or OOM.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-20}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(sts_response profile_file arn exec_info credentials_json token cli verify token_times kubeconfig aws_auth clusters_file)
fi
if ! cargo +nightly --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal >&2 || {
        echo "fuzz: no nightly toolchain and rustup could not install one" >&2
        exit 1
    }
fi
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz --version 0.13.2
(cd fuzz && cargo +nightly fuzz build -O >&2)
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t"
    log="fuzz/corpus/$t.log"
    if ! (cd fuzz && cargo +nightly fuzz run -O "$t" "corpus/$t" "seeds/$t" -- \
            -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1) >"$log" 2>&1; then
        echo "fuzz: $t FAILED (see $log)"; tail -30 "$log"; exit 1
    fi
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    echo "fuzz: $t ok, $runs execs in ${secs}s"
done
