#!/usr/bin/env bash
# Signs a release's SHA256SUMS with minisign: sign.sh SECRET_KEY [DIST]
# (make sign MINISIGN_KEY=FILE). Writes DIST/SHA256SUMS.minisig, whose trusted (signed)
# comment names the version and the commit; users check it with
# `minisign -Vm SHA256SUMS -P KEY`, then `sha256sum --check SHA256SUMS`.
# SHA256SUMS covers every file of the release, the provenance included, so this one
# signature covers them all. The secret key never enters the repository; minisign asks
# for its password (a key made with -W has none).
set -euo pipefail
key="${1:?usage: sign.sh SECRET_KEY [DIST] (make sign MINISIGN_KEY=FILE)}"
dist="${2:-dist}"
command -v minisign >/dev/null || { echo "sign: minisign is needed (apt-get install minisign)" >&2; exit 1; }
[ -f "$key" ] || { echo "sign: no secret key at $key" >&2; exit 1; }
[ -f "$dist/SHA256SUMS" ] || { echo "sign: no $dist/SHA256SUMS: make release first" >&2; exit 1; }
# Only what the checksums say: a file changed since make release is not signed for.
(cd "$dist" && sha256sum --check --quiet SHA256SUMS) \
    || { echo "sign: $dist/ does not match its SHA256SUMS: not signed" >&2; exit 1; }
provenance=$(cd "$dist" && ls -- *.intoto.jsonl)
read -r version commit < <(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
p = s["predicate"]["buildDefinition"]
print(p["internalParameters"]["version"], p["externalParameters"]["source"]["digest"]["gitCommit"])
' "$dist/$provenance")
minisign -S -s "$key" -m "$dist/SHA256SUMS" -x "$dist/SHA256SUMS.minisig" \
    -c "eks-token $version: minisign -Vm SHA256SUMS -P KEY, then sha256sum --check SHA256SUMS" \
    -t "eks-token $version commit $commit SHA256SUMS"
echo "sign: $dist/SHA256SUMS.minisig" >&2
