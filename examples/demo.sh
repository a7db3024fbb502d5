#!/usr/bin/env bash
# The seed scenario, end to end and on loopback only:
#   pod's web identity token --AssumeRoleWithWebIdentity--> role in 111111111111
#   --AssumeRole--> arn:aws:iam::222222222222:role/testrole --presign--> EKS token
#   --> kubectl, against a local API server that verifies the token as EKS does and maps
#   it by the cluster's EKS access entries (authentication mode API); then
#   `eks-token doctor` reads those entries through the server's EKS API.
# moto's server plays STS. Run it with `make demo`.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
bin="$(realpath "${EKS_TOKEN_BIN:-$here/target/release/eks-token}")"
work="$(mktemp -d -t eks-token-demo.XXXXXX)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# A clean, loopback-only environment: no AWS config of this machine, no IMDS.
export HOME="$work/home" AWS_CONFIG_FILE="$work/none" AWS_SHARED_CREDENTIALS_FILE="$work/none"
export AWS_EC2_METADATA_DISABLED=true AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:9
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE || true
mkdir -p "$HOME"

say "Starting moto's STS server on loopback"
moto_port=$(free_port)
moto_server -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
pids+=($!)
sts="http://127.0.0.1:$moto_port"
python3 - "$sts" <<'PY'
import sys, time, urllib.request
for _ in range(300):
    try:
        urllib.request.urlopen(sys.argv[1] + "/moto-api/data.json", timeout=2)
        break
    except Exception:
        time.sleep(0.1)
else:
    sys.exit("moto_server did not start")
PY
echo "STS at $sts"

say "Starting the verifying API server (cluster 'dev', authentication mode API)"
# The cluster as EKS holds it: one access entry, for the dev role, with a username
# template, a group and an access policy scoped to the dev-* namespaces.
cat >"$work/control-plane.json" <<'JSON'
{"name": "dev", "arn": "arn:aws:eks:us-east-1:222222222222:cluster/dev",
 "authenticationMode": "API",
 "accessEntries": [{"principalArn": "arn:aws:iam::222222222222:role/testrole",
   "username": "testrole:{{SessionName}}", "kubernetesGroups": ["developers"],
   "accessPolicies": [{"policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
                       "accessScope": {"type": "namespace", "namespaces": ["dev-*"]}}]}]}
JSON
python3 "$here/tests/support/eks_verifier.py" serve --cluster dev --sts-url "$sts" \
    --control-plane "$work/control-plane.json" \
    --cert-dir "$work/certs" --log "$work/verdicts.jsonl" >"$work/verifier.out" &
pids+=($!)
for _ in $(seq 100); do grep -q ready "$work/verifier.out" 2>/dev/null && break; sleep 0.1; done
read -r _ api_port ca <"$work/verifier.out"
echo "API server at https://127.0.0.1:$api_port"

say "The pod's IRSA environment"
echo "eyJhbGciOiJSUzI1NiJ9.demo-service-account-token.c2ln" >"$work/token"
export AWS_WEB_IDENTITY_TOKEN_FILE="$work/token"
export AWS_ROLE_ARN=arn:aws:iam::111111111111:role/shared-services-irsa
export AWS_ENDPOINT_URL_STS="$sts" AWS_REGION=us-east-1
env | grep -E '^AWS_(WEB|ROLE|ENDPOINT|REGION)' | sort

say "eks-token get-token --cluster-name dev --role-arn arn:aws:iam::222222222222:role/testrole -v"
"$bin" get-token --cluster-name dev --role-arn arn:aws:iam::222222222222:role/testrole -v \
    >"$work/exec-credential.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["status"]["token"]=d["status"]["token"][:40]+"..."; print(json.dumps(d, indent=2))' "$work/exec-credential.json"

say "kubectl with eks-token as its exec plugin"
cat >"$work/kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: dev
  cluster:
    server: https://127.0.0.1:$api_port
    certificate-authority: $ca
users:
- name: dev-testrole
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: $bin
      args: [eks, get-token, --cluster-name, dev, --role, "arn:aws:iam::222222222222:role/testrole"]
      interactiveMode: Never
contexts:
- name: dev
  context: {cluster: dev, user: dev-testrole}
current-context: dev
YAML
sed -n '/^users/,/interactiveMode/p' "$work/kubeconfig"
echo
kubectl --kubeconfig "$work/kubeconfig" version
echo
echo "kubectl auth whoami:"
kubectl --kubeconfig "$work/kubeconfig" auth whoami

say "The identity EKS would see"
identity=$(kubectl --kubeconfig "$work/kubeconfig" get --raw /eks-identity)
echo "$identity" | python3 -m json.tool
arn=$(echo "$identity" | python3 -c 'import json,sys; print(json.load(sys.stdin)["arn"])')
case "$arn" in
    arn:aws:sts::222222222222:assumed-role/testrole/*) ;;
    *) echo "FAIL: unexpected identity $arn" >&2; exit 1 ;;
esac

say "A kubeconfig for another cluster is refused (the cluster name is signed)"
sed 's/--cluster-name, dev/--cluster-name, prod/' "$work/kubeconfig" >"$work/kubeconfig-prod"
if kubectl --kubeconfig "$work/kubeconfig-prod" version >/dev/null 2>"$work/prod.err"; then
    echo "FAIL: a token for cluster prod was accepted by cluster dev" >&2; exit 1
fi
grep -m1 -o 'Unauthorized\|provide credentials' "$work/prod.err" || true

say "eks-token doctor: the path step by step, the access entry read through EKS's API"
# The stand-in serves EKS's API too (DescribeCluster, the access entries), over its TLS.
eks_api=(env AWS_ENDPOINT_URL_EKS="https://127.0.0.1:$api_port" AWS_CA_BUNDLE="$ca")
"${eks_api[@]}" "$bin" doctor --cluster-name dev \
    --role-arn arn:aws:iam::222222222222:role/testrole --kubeconfig "$work/kubeconfig"

say "doctor for a role the cluster has no access entry for (exit 1, and what to do)"
if "${eks_api[@]}" "$bin" doctor --cluster-name dev \
    --role-arn arn:aws:iam::222222222222:role/no-entry; then
    echo "FAIL: doctor passed a role without an access entry" >&2; exit 1
fi

say "OK: IRSA -> AssumeRoleWithWebIdentity -> AssumeRole(222222222222) -> token verified as $arn"
