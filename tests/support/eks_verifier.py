#!/usr/bin/env python3
"""Verifies EKS bearer tokens the way the EKS server (aws-iam-authenticator,
pkg/token/token.go) does, with botocore as an independent SigV4 implementation.

  eks_verifier.py check --cluster NAME --sts-url URL [--static-keys K] TOKEN
      prints a JSON verdict; exit 0 when the token verifies, 1 otherwise.
  eks_verifier.py serve --cluster NAME --sts-url URL --port P --cert-dir D [--log F]
      a local HTTPS "API server": every request must carry a verifying bearer token;
      answers /version, /api, /apis, SelfSubjectReview (kubectl auth whoami) and
      /eks-identity; anything else that verifies gets 404, anything that does not 401.

Rules (the EKS server's, aws-iam-authenticator pkg/token): prefix k8s-aws-v1., at most 4096 bytes, unpadded
base64url; https, path /, query keys from the allowed set, each once (case-insensitive);
Action=GetCallerIdentity; x-k8s-aws-id signed; X-Amz-Expires 0..900; not older than
15 minutes; the host a real STS endpoint. In place of the host rule (and https) the
verifier accepts its own loopback STS (--sts-url), as a local test must. Then the
signature is recomputed with botocore for *this* cluster (a token for another cluster
fails here, as at EKS), using the signing secret found in moto's state (assumed-role
sessions) or in --static-keys, and the URL must be byte-for-byte what botocore
presigns. Finally the identity is asked of STS (moto) as EKS asks it.
"""
import argparse
import base64
import datetime
import hmac
import json
import os
import re
import ssl
import sys
import threading
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

PREFIX = "k8s-aws-v1."
MAX_TOKEN = 4096
ALLOWED_KEYS = {
    "action", "version", "x-amz-algorithm", "x-amz-credential", "x-amz-date",
    "x-amz-expires", "x-amz-security-token", "x-amz-signature", "x-amz-signedheaders",
}
SUFFIXES = [
    "amazonaws.com", "amazonaws.com.cn", "api.aws", "api.amazonwebservices.com.cn",
    "c2s.ic.gov", "sc2s.sgov.gov", "cloud.adc-e.uk", "csp.hci.ic.gov", "amazonaws.eu",
    "api.amazonwebservices.eu",
]
REAL_HOST = re.compile(
    r"^sts(-fips)?\.[a-z0-9-]+\.(" + "|".join(re.escape(s) for s in SUFFIXES) + r")$"
)


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc)


class Secrets:
    """Finds the secret of an access key: static keys given to the verifier, or the
    assumed-role sessions moto issued."""

    def __init__(self, sts_url, static_keys):
        self.sts_url = sts_url.rstrip("/") if sts_url else None
        self.static = dict(static_keys or {})

    def lookup(self, akid):
        if akid in self.static:
            return self.static[akid]
        if not self.sts_url:
            return None
        with urllib.request.urlopen(self.sts_url + "/moto-api/data.json", timeout=10) as r:
            data = json.load(r)
        for s in data.get("sts", {}).get("AssumedRole", []):
            if s["access_key_id"] == akid:
                return s["secret_access_key"]
        return None


def decode(token, errors):
    if len(token) > MAX_TOKEN:
        errors.append(f"size: token is {len(token)} bytes, over {MAX_TOKEN}")
    if not token.startswith(PREFIX):
        errors.append("prefix: token does not start with k8s-aws-v1.")
        return None
    b64 = token[len(PREFIX):]
    if "=" in b64:
        errors.append("base64: padding is not allowed")
        return None
    if not re.fullmatch(r"[A-Za-z0-9_-]*", b64):
        errors.append("base64: not base64url")
        return None
    try:
        return base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)).decode("utf-8")
    except Exception as e:  # noqa: BLE001
        errors.append(f"base64: {e}")
        return None


def verify(token, cluster, secrets, sts_url=None, now=None, ask_identity=True):
    """Returns a dict: ok, errors (each prefixed with the rule), and what was learnt."""
    now = now or now_utc()
    errors = []
    out = {"ok": False, "errors": errors, "size": len(token)}
    url = decode(token, errors)
    if url is None:
        return out
    out["url"] = url
    parts = urllib.parse.urlsplit(url)
    local = None
    if sts_url:
        local = urllib.parse.urlsplit(sts_url)
    is_local = local is not None and (parts.scheme, parts.netloc) == (local.scheme, local.netloc)
    if not is_local:
        if parts.scheme != "https":
            errors.append(f"scheme: {parts.scheme} is not https")
        host = parts.hostname or ""
        if not (host == "sts.amazonaws.com" or REAL_HOST.match(host)) or parts.port:
            errors.append(f"host: {parts.netloc} is not an STS endpoint")
    if parts.path != "/":
        errors.append(f"path: {parts.path!r} is not /")
    if parts.fragment:
        errors.append("fragment: not allowed")
    pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    seen = {}
    for k, v in pairs:
        lk = k.lower()
        if lk not in ALLOWED_KEYS:
            errors.append(f"query: parameter {k} is not allowed")
        if lk in seen:
            errors.append(f"query: parameter {k} appears more than once")
        seen[lk] = v
    if seen.get("action") != "GetCallerIdentity":
        errors.append("action: Action is not GetCallerIdentity")
    signed = seen.get("x-amz-signedheaders", "")
    out["signed_headers"] = signed
    if "x-k8s-aws-id" not in signed.split(";"):
        errors.append("signed-headers: x-k8s-aws-id is not signed")
    try:
        expires = int(seen.get("x-amz-expires", ""))
        if not 0 <= expires <= 900:
            errors.append(f"expires: X-Amz-Expires {expires} is not in 0..900")
    except ValueError:
        errors.append("expires: X-Amz-Expires is missing or not a number")
        expires = None
    try:
        date = datetime.datetime.strptime(seen.get("x-amz-date", ""), "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc
        )
        out["date"] = date.strftime("%Y-%m-%dT%H:%M:%SZ")
        if now > date + datetime.timedelta(minutes=15):
            errors.append("date: X-Amz-Date is more than 15 minutes old")
        if date > now + datetime.timedelta(minutes=1):
            errors.append("date: X-Amz-Date is in the future")
    except ValueError:
        errors.append("date: X-Amz-Date is missing or malformed")
        date = None
    cred = seen.get("x-amz-credential", "").split("/")
    if len(cred) != 5 or cred[3] != "sts" or cred[4] != "aws4_request":
        errors.append("credential: X-Amz-Credential is malformed")
        return out
    akid, _, region = cred[0], cred[1], cred[2]
    out["access_key_id"] = akid
    out["region"] = region
    if errors:
        return out
    secret = secrets.lookup(akid)
    if secret is None:
        errors.append(f"signature: no secret known for access key {akid}")
        return out
    # Recompute with botocore for this cluster: the header is signed, never sent.
    creds = Credentials(akid, secret, seen.get("x-amz-security-token"))
    req = AWSRequest(
        method="GET",
        url=f"{parts.scheme}://{parts.netloc}/",
        headers={"x-k8s-aws-id": cluster},
        params={"Action": "GetCallerIdentity", "Version": seen.get("version", "")},
    )
    auth = SigV4QueryAuth(creds, "sts", region, expires=expires)
    req.context["timestamp"] = seen["x-amz-date"]
    auth._modify_request_before_signing(req)
    canonical = auth.canonical_request(req)
    signature = auth.signature(auth.string_to_sign(req, canonical), req)
    if not hmac.compare_digest(signature, seen.get("x-amz-signature", "")):
        errors.append("signature: does not match (wrong cluster, secret or token)")
        return out
    expected_url = req.url + "&X-Amz-Signature=" + signature
    if expected_url != url:
        errors.append(f"layout: URL differs from botocore's presigned URL {expected_url}")
        return out
    if ask_identity and sts_url:
        auth_header = (
            f"AWS4-HMAC-SHA256 Credential={seen['x-amz-credential']}, "
            f"SignedHeaders=host, Signature={signature}"
        )
        body = b"Action=GetCallerIdentity&Version=2011-06-15"
        r = urllib.request.Request(
            sts_url.rstrip("/") + "/",
            data=body,
            headers={
                "Authorization": auth_header,
                "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            },
        )
        with urllib.request.urlopen(r, timeout=10) as resp:
            xml = resp.read().decode()
        m = {k: re.search(f"<{k}>(.*?)</{k}>", xml) for k in ("Arn", "Account", "UserId")}
        out["arn"] = m["Arn"].group(1) if m["Arn"] else None
        out["account"] = m["Account"].group(1) if m["Account"] else None
        out["user_id"] = m["UserId"].group(1) if m["UserId"] else None
    out["ok"] = not errors
    return out


def load_static(path):
    if not path:
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def make_cert(cert_dir, dns_names=()):
    """A throw-away CA (ca.crt, what clients trust) and a server certificate for
    127.0.0.1/localhost (and `dns_names`) signed by it (server.crt + server.key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    import ipaddress

    t = now_utc()
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "eks-token test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(t - datetime.timedelta(minutes=5))
        .not_valid_after(t + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True,
                          crl_sign=True, encipher_only=False, decipher_only=False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(t - datetime.timedelta(minutes=5))
        .not_valid_after(t + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
                + [x509.DNSName(n) for n in dns_names]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    os.makedirs(cert_dir, exist_ok=True)
    ca_path = os.path.join(cert_dir, "ca.crt")
    cert_path = os.path.join(cert_dir, "server.crt")
    key_path = os.path.join(cert_dir, "server.key")
    with open(ca_path, "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return ca_path, cert_path, key_path


def serve(args):
    secrets = Secrets(args.sts_url, load_static(args.static_keys))
    log_lock = threading.Lock()

    def log(entry):
        line = json.dumps(entry)
        if not args.log:
            print(line, file=sys.stderr, flush=True)
        else:
            with log_lock, open(args.log, "a", encoding="utf-8") as f:
                f.write(line + "\n")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):  # quiet: our own log has the verdicts
            pass

        def send_json(self, code, obj):
            body = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def authenticate(self):
            h = self.headers.get("Authorization", "")
            if not h.startswith("Bearer "):
                log({"path": self.path, "ok": False, "errors": ["no bearer token"]})
                return None
            try:
                v = verify(h[len("Bearer "):].strip(), args.cluster, secrets, args.sts_url)
            except Exception as e:  # noqa: BLE001
                v = {"ok": False, "errors": [f"verifier error: {e}"]}
            log({
                "path": self.path, "ok": v["ok"], "errors": v["errors"],
                "arn": v.get("arn"), "access_key_id": v.get("access_key_id"),
                "date": v.get("date"),
            })
            return v if v["ok"] else None

        def unauthorized(self):
            self.send_json(401, {
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "Unauthorized", "reason": "Unauthorized", "code": 401,
            })

        def handle_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            who = self.authenticate()
            if who is None:
                return self.unauthorized()
            path = self.path.split("?")[0]
            if path == "/version":
                return self.send_json(200, {
                    "major": "1", "minor": "32", "gitVersion": "v1.32.0-eks-token-verifier",
                    "platform": "linux/amd64",
                })
            if path == "/eks-identity":
                return self.send_json(200, {
                    "arn": who.get("arn"), "account": who.get("account"),
                    "userId": who.get("user_id"), "cluster": args.cluster,
                    "accessKeyId": who.get("access_key_id"),
                })
            if path == "/api":
                return self.send_json(200, {"kind": "APIVersions", "versions": ["v1"],
                                            "serverAddressByClientCIDRs": []})
            if path == "/apis":
                return self.send_json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [{
                    "name": "authentication.k8s.io",
                    "versions": [{"groupVersion": "authentication.k8s.io/v1", "version": "v1"}],
                    "preferredVersion": {"groupVersion": "authentication.k8s.io/v1", "version": "v1"},
                }]})
            if path == "/apis/authentication.k8s.io/v1/selfsubjectreviews":
                return self.send_json(201, {
                    "kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1",
                    "metadata": {"creationTimestamp": None},
                    "status": {"userInfo": {
                        "username": who.get("arn"),
                        "uid": "aws-iam-authenticator:" + (who.get("user_id") or ""),
                        "groups": ["system:authenticated"],
                        "extra": {"accessKeyId": [who.get("access_key_id")],
                                  "arn": [who.get("arn")]},
                    }},
                })
            return self.send_json(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                        "message": "not found", "reason": "NotFound", "code": 404})

        do_GET = handle_any
        do_POST = handle_any

    ca, cert, key = make_cert(args.cert_dir)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print(f"ready {server.server_address[1]} {ca}", flush=True)
    server.serve_forever()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("--cluster", required=True)
    c.add_argument("--sts-url")
    c.add_argument("--static-keys")
    c.add_argument("--no-identity", action="store_true")
    c.add_argument("token")
    s = sub.add_parser("serve")
    s.add_argument("--cluster", required=True)
    s.add_argument("--sts-url", required=True)
    s.add_argument("--static-keys")
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--cert-dir", required=True)
    s.add_argument("--log")
    args = p.parse_args()
    if args.cmd == "check":
        token = args.token
        if token == "-":
            token = sys.stdin.read().strip()
        v = verify(token, args.cluster, Secrets(args.sts_url, load_static(args.static_keys)),
                   args.sts_url, ask_identity=not args.no_identity)
        json.dump(v, sys.stdout)
        print()
        sys.exit(0 if v["ok"] else 1)
    serve(args)


if __name__ == "__main__":
    main()
