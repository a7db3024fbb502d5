#!/usr/bin/env python3
"""Verifies EKS bearer tokens the way the EKS server (aws-iam-authenticator,
pkg/token/token.go) does, with botocore as an independent SigV4 implementation.

  eks_verifier.py check --cluster NAME --sts-url URL [--static-keys K]
                        [--clock-offset SECONDS] TOKEN
      prints a JSON verdict; exit 0 when the token verifies, 1 otherwise.
  eks_verifier.py serve --cluster NAME --sts-url URL --port P --cert-dir D [--log F]
                        [--aws-auth FILE] [--control-plane FILE] [--clock-offset SECONDS]
      a local HTTPS "API server": every request must carry a verifying bearer token;
      answers /version, /api, /apis, SelfSubjectReview (kubectl auth whoami) and
      /eks-identity; anything else that verifies gets 404, anything that does not 401.
      With --aws-auth, the identity is also mapped through that aws-auth ConfigMap (see
      below): an unmapped identity gets 401 everywhere, and SelfSubjectReview answers with
      the mapped username and groups.
      With --control-plane, the server is also EKS's control plane for that cluster
      (eks_control_plane.py: the file's format, the API, what is simplified): it answers
      SigV4-signed DescribeCluster, ListAccessEntries, DescribeAccessEntry and
      ListAssociatedAccessPolicies under /clusters/, and maps tokens by the cluster's
      authentication mode (map_by_mode): CONFIG_MAP through aws-auth (no --aws-auth: an
      empty one), API through access entries, API_AND_CONFIG_MAP the principal's access
      entry, else aws-auth. SelfSubjectReview's extra then carries
      eks-token.test/source ("access entry" or "aws-auth") and eks-token.test/matched (the
      entry's principalArn, or mapRoles / mapUsers / mapAccounts), /eks-identity and the
      log's verdicts "source" and "matched".
      --log F gets one JSON line per request: a token's verdict ({"path", "ok", "errors",
      "arn", ...}), or with "api": "eks" a control-plane call ({"action", "cluster",
      "caller", "status", "outcome": "ok" or the error code, "message"}).
      --clock-offset SECONDS: the stand-in's clock (token dates, API request dates, its
      Date header) is this machine's plus SECONDS; +1200 plays a machine 20 minutes
      behind EKS. Both flags of `check` and `serve` default to today's behaviour.
      Where the stand-in is simpler than EKS (eks_control_plane.py has the whole list):
      an access entry matches a caller by account and role or user name, paths dropped,
      not by the principal's unique id (moto gives every session a new random role id);
      {{EC2PrivateDNSName}} is never rendered (no EC2 here: such a user is refused, as
      with aws-auth); EC2 (Auto Mode) and HYPERPOD_LINUX entries, whose usernames EKS does
      not document, map no one; node entries are in system:nodes, as EKS shows for
      EC2_LINUX; one cluster per server.
  eks_verifier.py selftest [--cases FILE]...
      runs tests/data/aws-auth/cases.json and tests/data/access-entries/cases.json
      (or the files given) through the mapping; exit 1 on a mismatch (a case expects
      {"username","groups"[,"source"]}, {"error": CATEGORY}, one of "not mapped", "ec2",
      "node type", "malformed user id", "invalid arn", or {"invalid": TEXT} for a
      control plane EKS would refuse).

Rules (the EKS server's, aws-iam-authenticator pkg/token): prefix k8s-aws-v1., at most 4096 bytes, unpadded
base64url; https, path /, query keys from the allowed set, each once (case-insensitive);
Action=GetCallerIdentity; x-k8s-aws-id signed; X-Amz-Expires 0..900; not older than
15 minutes; the host a real STS endpoint. In place of the host rule (and https) the
verifier accepts its own loopback STS (--sts-url), as a local test must. Then the
signature is recomputed with botocore for *this* cluster (a token for another cluster
fails here, as at EKS), using the signing secret found in moto's state (assumed-role
sessions) or in --static-keys, and the URL must be byte-for-byte what botocore
presigns. Finally the identity is asked of STS (moto) as EKS asks it.

aws-auth mapping (--aws-auth, `map`): an independent re-implementation of
aws-iam-authenticator's EKSConfigMap backend -- pkg/token/token.go (identity from the STS
answer), pkg/arn/arn.go (Canonicalize), pkg/mapper/configmap/configmap.go (ParseMap,
saveMap), pkg/config/mapper.go (Validate, Matches, Key), pkg/mapper/configmap/mapper.go
(Map) and pkg/server/server.go (doMapping, renderTemplates). The ConfigMap's values are
read the way that Go code reads them: k8s.io/apimachinery's util/yaml.ToJSON (text
starting with `{` is taken as JSON as it is, anything else goes through sigs.k8s.io/yaml,
i.e. go-yaml v2 typing, then json.Marshal), then encoding/json into the mapping structs;
mapAccounts with go-yaml v2 straight into []string. The file the tests give is either a
whole ConfigMap (kubectl -o yaml / -o json) or just its data mapping.
"""
import argparse
import base64
import binascii
import datetime
import hmac
import json
import math
import os
import re
import ssl
import sys
import threading
import time
import unicodedata
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import eks_control_plane as control_plane

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


# The TLS context of requests to STS (None: the default, SSL_CERT_FILE); the check
# server sets it per request (an STS behind a private CA).
TLS = {"context": None}


def now_utc(offset=0.0):
    """Now, as the verifier sees it: this machine's clock plus `offset` seconds
    (--clock-offset: a test playing a machine whose clock is behind EKS and STS)."""
    return datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset)


class Secrets:
    """Finds the secret of an access key: static keys given to the verifier, or the
    assumed-role sessions moto issued."""

    def __init__(self, sts_url, static_keys):
        self.sts_url = sts_url.rstrip("/") if sts_url else None
        self.static = dict(static_keys or {})

    def lookup(self, akid):
        session = self.session(akid)
        return session[0] if session else None

    def session(self, akid):
        """(secret, session token or None) of an access key, or None."""
        if akid in self.static:
            return self.static[akid], None
        if not self.sts_url:
            return None
        with urllib.request.urlopen(self.sts_url + "/moto-api/data.json", timeout=10,
                                    context=TLS["context"]) as r:
            data = json.load(r)
        for s in data.get("sts", {}).get("AssumedRole", []):
            if s["access_key_id"] == akid:
                return s["secret_access_key"], s.get("session_token")
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
        with urllib.request.urlopen(r, timeout=10, context=TLS["context"]) as resp:
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


# ---------------------------------------------------------------------------------------
# aws-auth ConfigMap mapping: aws-iam-authenticator's EKSConfigMap backend, re-implemented
# ---------------------------------------------------------------------------------------

# pkg/endpoints/partitions.go PARTITIONS: the partitions Canonicalize accepts.
PARTITIONS = ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f",
              "aws-eusc")
AWS_AUTH_KEYS = ("mapRoles", "mapUsers", "mapAccounts")
# Field names of pkg/config/types.go RoleMapping, UserMapping and SSOARNMatcher (json tags),
# each with the Go type encoding/json decodes into.
ROLE_FIELDS = {"rolearn": "string", "sso": "sso", "username": "string", "groups": "strings",
               "userid": "string"}
USER_FIELDS = {"userarn": "string", "username": "string", "groups": "strings", "userid": "string"}
SSO_FIELDS = {"permissionSetName": "string", "accountID": "string", "partition": "string"}
# pkg/server/server.go instanceIDPattern (Go's \w is ASCII).
INSTANCE_ID = re.compile(r"i-(\w{8}|\w{17})", re.ASCII)


class MappingError(Exception):
    """A mapping failure: `category` is the short, implementation-neutral name that
    tests compare ("not mapped", "ec2", "malformed user id", "invalid arn"); `detail`
    is the message for people."""

    def __init__(self, category, detail):
        super().__init__(f"{category}: {detail}")
        self.category = category
        self.detail = detail


class AwsAuthFileError(Exception):
    """The --aws-auth file itself is unusable (not a ConfigMap, nor its data)."""


# --- identity: pkg/arn/arn.go and pkg/token/token.go -----------------------------------

def canonicalize(arn):
    """pkg/arn/arn.go Canonicalize: returns (principal type, canonical ARN).

    aws-sdk-go-v2 arn.Parse (prefix `arn:`, split on ':' into at most 6 sections), a
    known partition, then by service: sts federated-user (unchanged), sts assumed-role
    (-> arn:<partition>:iam::<account>:role/<name>, session and region dropped), iam
    role/user/root (unchanged). Anything else raises MappingError("invalid arn")."""
    if not arn.startswith("arn:"):
        raise MappingError("invalid arn", f"arn '{arn}' is invalid: 'arn: invalid prefix'")
    sections = arn.split(":", 5)
    if len(sections) != 6:
        raise MappingError("invalid arn", f"arn '{arn}' is invalid: 'arn: not enough sections'")
    _, partition, service, _region, account, resource = sections
    if partition not in PARTITIONS:
        raise MappingError("invalid arn", f"arn '{arn}' does not have a recognized partition")
    parts = resource.split("/")
    if service == "sts":
        if parts[0] == "federated-user":
            return "FEDERATED_USER", arn
        if parts[0] == "assumed-role":
            if len(parts) < 3:
                raise MappingError("invalid arn", f"assumed-role arn '{arn}' does not have a role")
            role = "/".join(parts[1:-1])
            return "ASSUMED_ROLE", f"arn:{partition}:iam::{account}:role/{role}"
        raise MappingError("invalid arn", f"unrecognized resource {resource} for service sts")
    if service == "iam":
        kinds = {"role": "ROLE", "user": "USER", "root": "ROOT"}
        if parts[0] in kinds:
            return kinds[parts[0]], arn
        raise MappingError("invalid arn", f"unrecognized resource {resource} for service iam")
    raise MappingError("invalid arn",
                       f"service {service} in arn {arn} is not a valid service for identities")


def identity_from_sts(arn, account, user_id, access_key_id):
    """pkg/token/token.go getIdentityFromSTSResponse: the token.Identity of a
    GetCallerIdentity answer. Users, root and federated users keep the whole UserId;
    roles (assumed or iam) must have exactly `UserID:SessionName`, else
    MappingError("malformed user id")."""
    kind, canonical = canonicalize(arn)
    if kind in ("FEDERATED_USER", "USER", "ROOT"):
        uid, session = user_id, ""
    else:
        parts = user_id.split(":")
        if len(parts) != 2:
            raise MappingError("malformed user id", f"malformed UserID {json.dumps(user_id)}")
        uid, session = parts
    return {"arn": arn, "canonical_arn": canonical, "account": account, "user_id": uid,
            "session_name": session, "access_key_id": access_key_id}


# --- Go string helpers -----------------------------------------------------------------

def _go_is_space(c):
    """unicode.IsSpace (what strings.TrimSpace and bytes.TrimLeftFunc use)."""
    return c in "\t\n\v\f\r \x85\xa0" or unicodedata.category(c) == "Zs"


def _go_trim(text):
    """strings.TrimSpace."""
    i, j = 0, len(text)
    while i < j and _go_is_space(text[i]):
        i += 1
    while j > i and _go_is_space(text[j - 1]):
        j -= 1
    return text[i:j]


def _fold_rune(c):
    """One rune folded as Go's case-insensitive matching folds it:
    unicode.ToUpper(unicode.ToLower(r)), simple (one-rune) case mappings only."""
    if c < "\x80":
        return c.upper()
    low = go_lower(c)
    low = low if len(low) == 1 else c
    up = low.upper()
    return up if len(up) == 1 else low


def go_equal_fold(a, b):
    """strings.EqualFold: equal under Unicode simple case folding."""
    return len(a) == len(b) and all(x == y or _fold_rune(x) == _fold_rune(y) for x, y in zip(a, b))


def go_lower(text):
    """strings.ToLower (rune by rune, so U+0130 becomes a plain 'i')."""
    return "".join("i" if c == "\u0130" else c.lower() for c in text)


# --- YAML as go-yaml v2 reads it ------------------------------------------------------

_PLAIN = "!eks-verifier/plain"  # marks an untagged plain scalar: typed the go-yaml v2 way
_TAG = "tag:yaml.org,2002:"
_GO_YAML_MAP = {}
for _v, _words in ((True, "y Y yes Yes YES true True TRUE on On ON"),
                   (False, "n N no No NO false False FALSE off Off OFF"),
                   (None, "~ null Null NULL"),
                   (math.nan, ".nan .NaN .NAN"),
                   (math.inf, ".inf .Inf .INF +.inf +.Inf +.INF"),
                   (-math.inf, "-.inf -.Inf -.INF")):
    for _w in _words.split():
        _GO_YAML_MAP[_w] = _v
_GO_YAML_MAP[""] = None
_YAML_STYLE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")


def _go_parse_int(text, signed):
    """strconv.ParseInt(text, 0, 64) / ParseUint: 0x, 0o, 0b and leading-0 octal
    prefixes; None when Go would return an error (syntax or range)."""
    s, neg = text, False
    if signed and s[:1] in ("+", "-"):
        neg, s = s[0] == "-", s[1:]
    if not s:
        return None
    base = 10
    if s[0] == "0":
        if len(s) >= 3 and s[1] in "bB":
            base, s = 2, s[2:]
        elif len(s) >= 3 and s[1] in "oO":
            base, s = 8, s[2:]
        elif len(s) >= 3 and s[1] in "xX":
            base, s = 16, s[2:]
        else:
            base, s = 8, s[1:]
    digits = "0123456789abcdef"[:base]
    if any(c.lower() not in digits for c in s):
        return None
    n = int(s, base) if s else 0
    n = -n if neg else n
    if signed and not -(1 << 63) <= n < (1 << 63):
        return None
    if not signed and n >= (1 << 64):
        return None
    return n


def _go_parse_float(text):
    """strconv.ParseFloat(text, 64) for the decimal forms go-yaml v2 lets through."""
    try:
        f = float(text)
    except ValueError:
        return None
    return None if math.isinf(f) else f  # out of range is an error in Go


def go_yaml_resolve(text, tag=""):
    """go-yaml v2 resolve(): (tag, value) of a scalar. Plain scalars get YAML 1.1
    types the go-yaml v2 way (y/n/on/off are bools, 0123 is octal, 012345678901 is a
    float); timestamps stay strings (what v2 gives an interface{})."""
    if tag not in ("", _TAG + "str", _TAG + "bool", _TAG + "int", _TAG + "float",
                   _TAG + "timestamp"):
        return tag, text  # not resolvable: the text as it is
    rtag, value = _TAG + "str", text
    hint = text[:1]  # v2's resolve table: which first characters may start a non-string
    if tag != _TAG + "str" and (text == "" or hint in "+-0123456789yYnNtTfFoO~."):
        if text in _GO_YAML_MAP:
            value = _GO_YAML_MAP[text]
            rtag = {bool: "bool", type(None): "null", float: "float"}[type(value)]
            rtag = _TAG + rtag
        elif hint == ".":
            f = _go_parse_float(text)
            if re.fullmatch(r"\.[0-9]+([eE][-+]?[0-9]+)?", text) and f is not None:
                rtag, value = _TAG + "float", f
        elif hint in "+-0123456789":
            plain = text.replace("_", "")
            n = _go_parse_int(plain, True)
            if n is None:
                n = _go_parse_int(plain, False)
            if n is not None:
                rtag, value = _TAG + "int", n
            elif _YAML_STYLE_FLOAT.fullmatch(plain) and _go_parse_float(plain) is not None:
                rtag, value = _TAG + "float", _go_parse_float(plain)
            # (v2's own 0b/-0b fallback is already covered by ParseInt's base prefixes)
    if tag in ("", rtag, _TAG + "str"):
        return rtag, value
    if tag == _TAG + "timestamp" and rtag == _TAG + "str" and re.match(r"[0-9]{4}-", text):
        return rtag, value  # a timestamp given to an interface{} is its text
    if tag == _TAG + "float" and rtag == _TAG + "int":
        return tag, float(value)
    raise ValueError(f"yaml: cannot decode {rtag} `{text}` as a {tag}")


def _go_yaml_loader():
    """A PyYAML loader (libyaml when present: go-yaml v2 is a port of it) that marks
    untagged plain scalars so they can be typed by go_yaml_resolve instead of PyYAML."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class GoYamlLoader(base):
        def resolve(self, kind, value, implicit):
            if kind is yaml.ScalarNode:
                return _PLAIN if implicit[0] else _TAG + "str"
            return super().resolve(kind, value, implicit)

    return GoYamlLoader


def yaml_first_document(text):
    """The node of the first YAML document (go-yaml v2 Unmarshal reads only that one),
    or None for an empty stream. Raises ValueError on a YAML syntax error."""
    import yaml

    loader = _go_yaml_loader()(text)
    try:
        return loader.get_node() if loader.check_node() else None
    except yaml.YAMLError as e:
        raise ValueError(f"yaml: {e}".replace("\n", " ")) from None
    finally:
        loader.dispose()


def _go_scalar(node):
    """A scalar node as go-yaml v2 decodes it into an interface{}."""
    if node.tag == _PLAIN:
        return go_yaml_resolve(node.value)[1]
    if node.tag == _TAG + "binary":
        try:
            data = base64.b64decode(node.value.replace("\n", ""), validate=True)
            return data.decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            raise ValueError("yaml: !!binary value contains invalid base64 data") from None
    return go_yaml_resolve(node.value, node.tag)[1]


def _is_merge_key(node):
    import yaml

    return (isinstance(node, yaml.ScalarNode) and node.value == "<<"
            and node.tag in (_PLAIN, _TAG + "merge"))


def go_yaml_value(node, depth=0):
    """go-yaml v2 Unmarshal into interface{} followed by sigs.k8s.io/yaml's
    convertToJSONableObject: mappings become dicts with string keys (a later duplicate
    key wins; `<<` merges), a null or collection key is an error."""
    import yaml

    if depth > 200:
        raise ValueError("yaml: document nested too deeply")
    if isinstance(node, yaml.ScalarNode):
        return _go_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return [go_yaml_value(child, depth + 1) for child in node.value]
    out = {}
    for key_node, value_node in node.value:
        if _is_merge_key(key_node):
            # go-yaml v2 merges in place, in document order; of a list of maps the
            # first one wins (they are merged last to first).
            if isinstance(value_node, yaml.SequenceNode):
                merged = list(reversed(value_node.value))
            else:
                merged = [value_node]
            for m in merged:
                if not isinstance(m, yaml.MappingNode):
                    raise ValueError("yaml: map merge requires map or sequence of maps "
                                     "as the value")
                out.update(go_yaml_value(m, depth + 1))
            continue
        if not isinstance(key_node, yaml.ScalarNode):
            raise ValueError("yaml: invalid map key: a mapping or sequence")
        key = _go_scalar(key_node)
        if key is None:
            raise ValueError("unsupported map key of type: <nil>")
        if isinstance(key, bool):
            key = "true" if key else "false"
        out[key if isinstance(key, str) else repr(key)] = go_yaml_value(value_node, depth + 1)
    return out


def _check_json_marshal(value):
    """json.Marshal refuses NaN and infinities (UnsupportedValueError)."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        raise ValueError(f"json: unsupported value: {value}")
    if isinstance(value, list):
        for v in value:
            _check_json_marshal(v)
    if isinstance(value, dict):
        for v in value.values():
            _check_json_marshal(v)


def yaml_to_json_value(text):
    """k8s.io/apimachinery util/yaml.ToJSON then the JSON's value: text whose first
    non-space character is `{` is JSON as it is, anything else is YAML (first document,
    go-yaml v2 types) turned into JSON (object keys sorted, as json.Marshal sorts them).
    Raises ValueError for what Go reports as an error."""
    if _go_trim(text).startswith("{"):
        try:
            return json.loads(text)
        except ValueError as e:
            raise ValueError(f"invalid JSON: {e}") from None
    node = yaml_first_document(text)
    value = None if node is None else go_yaml_value(node)
    _check_json_marshal(value)
    return value


# --- encoding/json into the mapping structs --------------------------------------------

def _json_kind(value):
    return ("null" if value is None else "bool" if isinstance(value, bool)
            else "number" if isinstance(value, (int, float)) else "string" if isinstance(value, str)
            else "array" if isinstance(value, list) else "object")


def _decode_string(value, current, errors, what):
    """encoding/json into a Go string: a string sets it, null leaves it, any other
    JSON type is an UnmarshalTypeError that leaves it as it was."""
    if isinstance(value, str):
        return value
    if value is not None:
        errors.append(f"json: cannot unmarshal {_json_kind(value)} into {what} of type string")
    return current


def _decode_strings(value, current, errors, what):
    """encoding/json into []string: null makes it nil, an array is decoded element by
    element (a wrongly typed element keeps its old value, "" for a new one), anything
    else is a type error that leaves the slice."""
    if value is None:
        return None
    if not isinstance(value, list):
        errors.append(f"json: cannot unmarshal {_json_kind(value)} into {what} of type []string")
        return current
    old = current or []
    return [_decode_string(v, old[i] if i < len(old) else "", errors, what)
            for i, v in enumerate(value)]


def _field_for(key, fields):
    """encoding/json field lookup: exact name, else case-insensitive (Go's fold)."""
    if key in fields:
        return key
    folded = "".join(_fold_rune(c) for c in key)
    for name in fields:
        if folded == name.upper():
            return name
    return None


def _decode_struct(value, fields, errors, what, current=None):
    """encoding/json into a struct: object keys in the order json.Marshal wrote them
    (sorted), each matched to a field case-insensitively (so among `rolearn` and
    `RoleArn` the one sorting last wins), unknown keys ignored, type errors leave a
    field as it was and decoding goes on."""
    out = dict(current) if current is not None else {
        name: None if kind != "string" else "" for name, kind in fields.items()}
    if value is None:
        return out
    if not isinstance(value, dict):
        errors.append(f"json: cannot unmarshal {_json_kind(value)} into {what}")
        return out
    for key in sorted(value):
        name = _field_for(key, fields)
        if name is None:
            continue
        kind, v = fields[name], value[key]
        if kind == "string":
            out[name] = _decode_string(v, out[name], errors, f"{what}.{name}")
        elif kind == "strings":
            out[name] = _decode_strings(v, out[name], errors, f"{what}.{name}")
        elif v is None:  # sso: null makes the pointer nil
            out[name] = None
        else:  # any other value allocates the SSOARNMatcher first
            out[name] = _decode_struct(v, SSO_FIELDS, errors, "SSOARNMatcher", out[name])
    return out


def _decode_list(value, fields, errors, what):
    """encoding/json into []RoleMapping / []UserMapping."""
    if value is None:
        return []
    if not isinstance(value, list):
        errors.append(f"json: cannot unmarshal {_json_kind(value)} into []{what}")
        return []
    return [_decode_struct(v, fields, errors, what) for v in value]


# --- ParseMap, Validate, saveMap ------------------------------------------------------

def is_skippable(text):
    """pkg/mapper/configmap/configmap.go isSkippable: empty, ``, "" or '' after trimming."""
    return _go_trim(text) in ("", "``", '""', "''")


def sso_arn_like(sso):
    """pkg/config/mapper.go SSOArnLike, bug included: an explicit partition leaves the
    partition section empty."""
    partition = "aws" if sso["partition"] == "" else ""
    return go_lower(f"arn:{partition}:iam::{sso['accountID']}:role/AWSReservedSSO_"
                    f"{sso['permissionSetName']}_*")


def validate_role(role):
    """pkg/config/mapper.go RoleMapping.Validate: exactly one of rolearn and sso; an sso
    needs a 12-digit account, a permission set name of [\\w+=,.@-]{1,32} and a known
    partition (or none). Returns the reason it is invalid, or None."""
    if role["rolearn"] == "" and role["sso"] is None:
        return "one of rolearn or SSO must be supplied"
    if role["rolearn"] != "" and role["sso"] is not None:
        return "only one of rolearn or SSO can be supplied"
    sso = role["sso"]
    if sso is not None:
        if not re.fullmatch(r"[0-9]{12}", sso["accountID"], re.ASCII):
            return f"AccountID '{sso['accountID']}' is not a valid AWS Account ID"
        if not re.fullmatch(r"[\w+=,.@-]{1,32}", sso["permissionSetName"], re.ASCII):
            return (f"PermissionSetName '{sso['permissionSetName']}' is not a valid AWS SSO "
                    "PermissionSet Name")
        if sso["partition"] != "" and sso["partition"] not in PARTITIONS:
            return f"partition '{sso['partition']}' is not a valid AWS partition"
        # The ArnLike check that follows in Validate always passes once the above hold.
    return None


def _parse_accounts(text, errors):
    """gopkg.in/yaml.v2 Unmarshal into []string: every scalar element keeps its text
    (`- 012345678901` stays "012345678901"), a null one is "", a collection element
    is skipped with a type error; a document that is not a list loads nothing."""
    import yaml

    try:
        node = yaml_first_document(text)
    except ValueError as e:
        errors.append(f"mapAccounts: {e}")
        return []
    if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _PLAIN
                        and go_yaml_resolve(node.value)[1] is None):
        return []
    if not isinstance(node, yaml.SequenceNode):
        errors.append("mapAccounts: yaml: cannot unmarshal into []string")
        return []
    accounts = []
    for child in node.value:
        if not isinstance(child, yaml.ScalarNode):
            errors.append("mapAccounts: yaml: cannot unmarshal a collection into string")
            continue
        try:
            value = _go_scalar(child)
        except ValueError as e:
            errors.append(f"mapAccounts: {e}")
            break
        if child.tag == _TAG + "binary":
            accounts.append(value)
        else:
            accounts.append("" if value is None and child.tag == _PLAIN else child.value)
    return accounts


def parse_aws_auth(data):
    """pkg/mapper/configmap/configmap.go ParseMap then saveMap, for a ConfigMap's data.

    Only the exact keys mapRoles, mapUsers, mapAccounts are read; skippable values are
    ignored; a key whose text does not convert loses all its entries while the other
    keys still load; invalid entries are dropped one by one. Returns
    {"roles": {lower(rolearn) or SSOArnLike: role}, "users": {userarn: user},
     "accounts": set, "errors": [...]} -- later duplicates overwrite earlier ones."""
    errors = []
    parsed = {}
    for key, fields, what in (("mapUsers", USER_FIELDS, "UserMapping"),
                              ("mapRoles", ROLE_FIELDS, "RoleMapping")):
        parsed[key] = []
        text = data.get(key)
        if text is None or is_skippable(text):
            continue
        try:
            value = yaml_to_json_value(text)
        except ValueError as e:
            errors.append(f"{key}: {e}")
            continue
        key_errors = []
        entries = _decode_list(value, fields, key_errors, what)
        errors.extend(f"{key}: {e}" for e in key_errors)
        for i, entry in enumerate(entries):
            if key == "mapRoles":
                reason = validate_role(entry)
            else:
                reason = None if entry["userarn"] != "" else "value for userarn must be supplied"
            if reason:
                errors.append(f"{key}[{i}] dropped: {reason}")
            else:
                parsed[key].append(entry)
    accounts = []
    text = data.get("mapAccounts")
    if text is not None and not is_skippable(text):
        accounts = _parse_accounts(text, errors)
    roles = {}
    for role in parsed["mapRoles"]:
        roles[go_lower(role["rolearn"]) if role["rolearn"] else sso_arn_like(role["sso"])] = role
    users = {}
    for user in parsed["mapUsers"]:
        users[user["userarn"]] = user
    return {"roles": roles, "users": users, "accounts": set(accounts), "errors": errors}


def aws_auth_data(text):
    """The data mapping of an --aws-auth file: a whole ConfigMap (kubectl get configmap
    aws-auth -o yaml / -o json, or a List holding it) or just its data mapping."""
    import yaml

    try:
        if text.lstrip().startswith("{"):
            doc = json.loads(text)
        else:
            doc = yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as e:
        raise AwsAuthFileError(f"cannot read the aws-auth file: {e}") from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise AwsAuthFileError("the aws-auth file is neither a ConfigMap nor a data mapping")
    if doc.get("kind") == "List":
        items = [i for i in doc.get("items") or [] if isinstance(i, dict)
                 and (i.get("metadata") or {}).get("name") == "aws-auth"]
        if len(items) != 1:
            raise AwsAuthFileError("the List holds no single ConfigMap named aws-auth")
        doc = items[0]
    if doc.get("kind") == "ConfigMap" or "apiVersion" in doc or "metadata" in doc:
        doc = doc.get("data") or {}
        if not isinstance(doc, dict):
            raise AwsAuthFileError("the ConfigMap's data is not a mapping")
    for key, value in doc.items():
        if key in AWS_AUTH_KEYS and value is not None and not isinstance(value, str):
            raise AwsAuthFileError(f"data.{key} must be a string, as in a ConfigMap "
                                   f"(a YAML block scalar: `{key}: |`)")
    return {k: v for k, v in doc.items() if isinstance(v, str)}


def load_aws_auth(path):
    """Reads and parses an --aws-auth file (see aws_auth_data and parse_aws_auth)."""
    with open(path, encoding="utf-8") as f:
        return parse_aws_auth(aws_auth_data(f.read()))


# --- Map, renderTemplates, doMapping --------------------------------------------------

def render(template, identity):
    """pkg/server/server.go renderTemplate: {{EC2PrivateDNSName}} needs an EC2 lookup
    (MappingError "ec2": this stand-in has no EC2); then plain replace-all, in order, of
    {{AccountID}}, {{SessionName}} (every '@' -> '-'), {{SessionNameRaw}},
    {{AccessKeyID}}. Any other {{...}} stays as written."""
    if "{{EC2PrivateDNSName}}" in template:
        if not INSTANCE_ID.fullmatch(identity["session_name"]):
            raise MappingError("ec2", "SessionName did not contain an instance id")
        raise MappingError("ec2", "{{EC2PrivateDNSName}} needs ec2:DescribeInstances "
                           f"for {identity['session_name']}, which this test server cannot do")
    template = template.replace("{{AccountID}}", identity["account"])
    template = template.replace("{{SessionName}}", identity["session_name"].replace("@", "-"))
    template = template.replace("{{SessionNameRaw}}", identity["session_name"])
    return template.replace("{{AccessKeyID}}", identity["access_key_id"])


def _find_mapping(aws_auth, identity):
    """pkg/mapper/configmap/mapper.go Map: the lowercased canonical ARN compared with
    strings.EqualFold to each rolearn, then to each userarn. SSO entries never match:
    the SSORoleMatch feature gate is off by default. (Go scans its maps in random
    order; only exotic Unicode folding could make two entries match, this takes the
    first.)"""
    subject = go_lower(identity["canonical_arn"])
    for role in aws_auth["roles"].values():
        if role["rolearn"] and go_equal_fold(role["rolearn"], subject):
            return "mapRoles", role
    for user in aws_auth["users"].values():
        if go_equal_fold(user["userarn"], subject):
            return "mapUsers", user
    return None, None


def map_identity(aws_auth, identity):
    """pkg/server/server.go doMapping with the EKSConfigMap mapper alone: a mapping
    from mapRoles/mapUsers is rendered (a render error denies at once; no reserved
    username prefixes: that is server configuration, none by default); without one, an account in mapAccounts maps to the canonical ARN with no groups.
    Returns {"username", "groups", "uid", "canonical_arn", "matched"}, or raises
    MappingError."""
    source, mapping = _find_mapping(aws_auth, identity)
    if mapping is not None:
        username = render(mapping["username"], identity)
        groups = [render(g, identity) for g in mapping["groups"] or []]
    elif identity["account"] in aws_auth["accounts"]:
        source, username, groups = "mapAccounts", identity["canonical_arn"], []
    else:
        raise MappingError("not mapped", f"{identity['canonical_arn']} is not in aws-auth "
                           "(mapRoles, mapUsers) and its account is not in mapAccounts")
    return {"username": username, "groups": groups,
            "uid": f"aws-iam-authenticator:{identity['account']}:{identity['user_id']}",
            "canonical_arn": identity["canonical_arn"], "matched": source}


def map_caller(aws_auth, arn, account, user_id, access_key_id):
    """GetCallerIdentity answer + access key -> (identity, mapping); MappingError."""
    identity = identity_from_sts(arn, account, user_id, access_key_id)
    return identity, map_identity(aws_auth, identity)


def map_by_mode(plane, aws_auth, identity):
    """EKS's mapping for the cluster's authentication mode: the authenticator's doMapping
    over its mapper chain, access entries (the dynamic file EKS writes them to) before
    the aws-auth ConfigMap. CONFIG_MAP reads aws-auth only, API access entries only,
    API_AND_CONFIG_MAP the principal's access entry if it has one, else aws-auth. An
    entry's username (its own or EKS's default) and groups are rendered as aws-auth's
    are, and a render error denies at once (no fall-back to aws-auth, as in doMapping).
    The mapping's "source" says which one mapped: "access entry" or "aws-auth"."""
    mode = plane["authenticationMode"]
    if mode != "CONFIG_MAP":
        entry = control_plane.find_entry(plane, identity["canonical_arn"])
        if entry is not None:
            template = control_plane.username_template(entry)
            if template is None:
                raise MappingError("node type", f"the {entry['type']} access entry "
                                   f"{entry['principalArn']} has no documented username")
            return {"username": render(template, identity),
                    "groups": [render(g, identity) for g in control_plane.groups_of(entry)],
                    "uid": f"aws-iam-authenticator:{identity['account']}:{identity['user_id']}",
                    "canonical_arn": identity["canonical_arn"],
                    "matched": entry["principalArn"], "source": "access entry"}
        if mode == "API":
            raise MappingError("not mapped", f"{identity['canonical_arn']} has no access entry "
                               "(authentication mode API: aws-auth is not read)")
    try:
        mapping = map_identity(aws_auth, identity)
    except MappingError as e:
        if e.category == "not mapped" and mode == "API_AND_CONFIG_MAP":
            raise MappingError("not mapped", f"{identity['canonical_arn']} has no access entry, "
                               f"and in aws-auth: {e.detail}") from None
        raise
    mapping["source"] = "aws-auth"
    return mapping


def user_info(identity, mapping):
    """The user a Kubernetes API server sees for a mapped identity: the authenticator's
    TokenReview user (uid, extra) after the API server's AuthenticatedGroupAdder, which
    appends system:authenticated unless a group is already system:(un)authenticated."""
    groups = list(mapping["groups"])
    if mapping["username"] != "system:anonymous" and not any(
            g in ("system:authenticated", "system:unauthenticated") for g in groups):
        groups.append("system:authenticated")
    return {
        "username": mapping["username"], "uid": mapping["uid"], "groups": groups,
        "extra": {
            "accessKeyId": [identity["access_key_id"]], "arn": [identity["arn"]],
            "canonicalArn": [identity["canonical_arn"]],
            "principalId": [identity["user_id"]], "sessionName": [identity["session_name"]],
            "sigs.k8s.io/aws-iam-authenticator/principalId": [identity["user_id"]],
        },
    }


def default_cases_paths():
    data = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "data")
    return [os.path.join(data, "aws-auth", "cases.json"),
            os.path.join(data, "access-entries", "cases.json")]


def run_case(case):
    """One case through the mapping: {"username","groups"} or {"error"}. A case with a
    "control_plane" (tests/data/access-entries/cases.json) maps by the cluster's
    authentication mode and says which source mapped ({"username","groups","source"}),
    or that the control plane is one EKS would not hold ({"invalid": message})."""
    i = case["identity"]
    plane = None
    if "control_plane" in case:
        doc = dict(case["control_plane"])
        doc.setdefault("arn", "arn:aws:eks:us-east-1:314159265358:cluster/selftest")
        try:
            plane = control_plane.parse(doc, "selftest", 0.0)
        except control_plane.ControlPlaneError as e:
            return {"invalid": str(e)}
    try:
        aws_auth = parse_aws_auth(aws_auth_data(case.get("aws_auth") or ""))
        if plane is None:
            _, m = map_caller(aws_auth, i["arn"], i["account"], i["user_id"],
                              i["access_key_id"])
            return {"username": m["username"], "groups": m["groups"]}
        identity = identity_from_sts(i["arn"], i["account"], i["user_id"], i["access_key_id"])
        m = map_by_mode(plane, aws_auth, identity)
        return {"username": m["username"], "groups": m["groups"], "source": m["source"]}
    except MappingError as e:
        return {"error": e.category}


def case_agrees(got, expect):
    """An expected {"invalid": text} is met by a message that contains the text."""
    if "invalid" in expect:
        return "invalid" in got and expect["invalid"] in got["invalid"]
    return got == expect


def selftest(paths):
    bad = total = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            cases = json.load(f)["cases"]
        for case in cases:
            got = run_case(case)
            if not case_agrees(got, case["expect"]):
                bad += 1
                print(f"MISMATCH {case['name']}: expected {json.dumps(case['expect'])}, "
                      f"got {json.dumps(got)}")
        total += len(cases)
        print(f"{os.path.normpath(path)}: {len(cases)} cases")
    print(f"{total - bad}/{total} mapping cases agree")
    return 0 if bad == 0 else 1


def serve(args):
    secrets = Secrets(args.sts_url, load_static(args.static_keys))
    log_lock = threading.Lock()
    offset = args.clock_offset
    started_at = now_utc(offset).timestamp()
    if args.aws_auth:
        # Fail at start on an unusable file; it is read again for every request, as the
        # authenticator follows the ConfigMap, so a test may change it between requests.
        for e in load_aws_auth(args.aws_auth)["errors"]:
            print(f"aws-auth: {e}", file=sys.stderr, flush=True)
    if args.control_plane:
        # The same for the control plane: refused at start, read for every request.
        try:
            control_plane.load(args.control_plane, args.cluster, started_at)
        except control_plane.ControlPlaneError as e:
            print(f"control plane: {e}", file=sys.stderr, flush=True)
            sys.exit(2)
    state = {}  # this server's endpoint and CA, once it listens

    def current_plane():
        return control_plane.load(args.control_plane, args.cluster, started_at)

    def current_aws_auth():
        """The cluster's aws-auth; with a control plane and no --aws-auth, an empty one."""
        return load_aws_auth(args.aws_auth) if args.aws_auth else parse_aws_auth({})

    def map_verified(v):
        """Adds the mapping to a verified verdict: v["identity"] and v["mapping"], or
        v["mapping_error"]. With a control plane, by its authentication mode."""
        arn, account = v.get("arn") or "", v.get("account") or ""
        user_id, akid = v.get("user_id") or "", v.get("access_key_id") or ""
        try:
            if args.control_plane:
                v["identity"] = identity_from_sts(arn, account, user_id, akid)
                v["mapping"] = map_by_mode(current_plane(), current_aws_auth(), v["identity"])
            else:
                v["identity"], v["mapping"] = map_caller(
                    load_aws_auth(args.aws_auth), arn, account, user_id, akid)
        except MappingError as e:
            v["mapping_error"] = str(e)
        except (OSError, AwsAuthFileError) as e:
            v["mapping_error"] = f"aws-auth file: {e}"
        except control_plane.ControlPlaneError as e:
            v["mapping_error"] = f"control-plane file: {e}"

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

        def date_time_string(self, timestamp=None):
            # The Date header by the stand-in's clock, as EKS's would be.
            return super().date_time_string(time.time() + offset if timestamp is None
                                            else timestamp)

        def send_json(self, code, obj, headers=()):
            body = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def authenticate(self):
            h = self.headers.get("Authorization", "")
            if not h.startswith("Bearer "):
                log({"path": self.path, "ok": False, "errors": ["no bearer token"]})
                return None
            try:
                v = verify(h[len("Bearer "):].strip(), args.cluster, secrets, args.sts_url,
                           now=now_utc(offset))
            except Exception as e:  # noqa: BLE001
                v = {"ok": False, "errors": [f"verifier error: {e}"]}
            entry = {
                "path": self.path, "ok": v["ok"], "errors": v["errors"],
                "arn": v.get("arn"), "access_key_id": v.get("access_key_id"),
                "date": v.get("date"),
            }
            if v["ok"] and (args.aws_auth or args.control_plane):
                map_verified(v)
                if "mapping" in v:
                    entry["username"] = v["mapping"]["username"]
                    entry["groups"] = v["mapping"]["groups"]
                    if args.control_plane:
                        entry["source"] = v["mapping"]["source"]
                        entry["matched"] = v["mapping"]["matched"]
                else:
                    entry["mapping_error"] = v["mapping_error"]
            log(entry)
            if not v["ok"] or "mapping_error" in v:
                return None  # EKS answers 401 to a token it cannot map, too
            return v

        def unauthorized(self):
            self.send_json(401, {
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "Unauthorized", "reason": "Unauthorized", "code": 401,
            })

        def eks_api(self, body):
            """One call of EKS's REST API (see eks_control_plane), logged with "api": "eks"."""
            entry = {"api": "eks", "method": self.command, "path": self.path}
            headers = {k.lower(): v for k, v in self.headers.items()}
            request_id = str(uuid.uuid4())
            try:
                raw_path, _, raw_query = self.path.partition("?")
                action, cluster_name, principal = control_plane.route(self.command, raw_path)
                entry.update(action=action, cluster=cluster_name)
                if principal is not None:
                    entry["principalArn"] = principal
                plane = current_plane()
                creds = control_plane.check_signature(
                    self.command, self.path, headers, body, now_utc(offset), plane["region"],
                    secrets.session)
                entry["access_key_id"] = creds.access_key
                caller = control_plane.caller_arn(args.sts_url, creds, plane["region"])
                entry["caller"] = caller
                query = dict(control_plane.parse_query(raw_query))
                answer = control_plane.call(plane, action, cluster_name, principal, query,
                                            caller, state["endpoint"], state["ca_pem"])
                entry.update(status=200, outcome="ok")
                log(entry)
                return self.send_json(200, answer, [("x-amzn-RequestId", request_id)])
            except control_plane.ApiError as e:
                status, code, message = e.status, e.code, e.message
            except control_plane.ControlPlaneError as e:
                status, code, message = 500, "ServerException", f"control-plane file: {e}"
            except Exception as e:  # noqa: BLE001
                status, code, message = 500, "ServerException", f"stand-in error: {e}"
            entry.update(status=status, outcome=code, message=message)
            log(entry)
            self.send_json(status, {"message": message},
                           [("x-amzn-RequestId", request_id), ("x-amzn-ErrorType", code)])

        def handle_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = self.path.split("?")[0]
            if args.control_plane and (path == "/clusters" or path.startswith("/clusters/")):
                return self.eks_api(body)
            who = self.authenticate()
            if who is None:
                return self.unauthorized()
            if path == "/version":
                return self.send_json(200, {
                    "major": "1", "minor": "32", "gitVersion": "v1.32.0-eks-token-verifier",
                    "platform": "linux/amd64",
                })
            if path == "/eks-identity":
                body = {
                    "arn": who.get("arn"), "account": who.get("account"),
                    "userId": who.get("user_id"), "cluster": args.cluster,
                    "accessKeyId": who.get("access_key_id"),
                }
                if "mapping" in who:
                    body["username"] = who["mapping"]["username"]
                    body["groups"] = who["mapping"]["groups"]
                    if args.control_plane:
                        body["source"] = who["mapping"]["source"]
                        body["matched"] = who["mapping"]["matched"]
                return self.send_json(200, body)
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
                if "mapping" in who:
                    info = user_info(who["identity"], who["mapping"])
                    if args.control_plane:
                        # Not EKS's: where the stand-in found the user, for tests to see.
                        info["extra"]["eks-token.test/source"] = [who["mapping"]["source"]]
                        info["extra"]["eks-token.test/matched"] = [who["mapping"]["matched"]]
                else:
                    info = {
                        "username": who.get("arn"),
                        "uid": "aws-iam-authenticator:" + (who.get("user_id") or ""),
                        "groups": ["system:authenticated"],
                        "extra": {"accessKeyId": [who.get("access_key_id")],
                                  "arn": [who.get("arn")]},
                    }
                return self.send_json(201, {
                    "kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1",
                    "metadata": {"creationTimestamp": None},
                    "status": {"userInfo": info},
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
    with open(ca, "rb") as f:
        state["ca_pem"] = f.read()
    state["endpoint"] = f"https://127.0.0.1:{server.server_address[1]}"
    print(f"ready {server.server_address[1]} {ca}", flush=True)
    server.serve_forever()


def check_server():
    """Checks tokens one request a line on stdin (a JSON object: token, cluster,
    sts_url, static_keys, no_identity, clock_offset, ca), each verdict a line on stdout;
    ends when stdin does. One process for a whole test run: a check then costs no
    interpreter start."""
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        ca = req.get("ca")
        TLS["context"] = ssl.create_default_context(cafile=ca) if ca else None
        try:
            v = verify(req["token"], req["cluster"],
                       Secrets(req.get("sts_url"), req.get("static_keys") or {}),
                       req.get("sts_url"), now=now_utc(req.get("clock_offset") or 0.0),
                       ask_identity=not req.get("no_identity"))
        except Exception as e:  # noqa: BLE001
            v = {"ok": False, "errors": [f"verifier error: {e}"]}
        sys.stdout.write(json.dumps(v) + "\n")
        sys.stdout.flush()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("--cluster", required=True)
    c.add_argument("--sts-url")
    c.add_argument("--static-keys")
    c.add_argument("--no-identity", action="store_true")
    c.add_argument("--clock-offset", type=float, default=0.0, metavar="SECONDS",
                   help="judge X-Amz-Date against this machine's clock plus SECONDS")
    c.add_argument("token")
    s = sub.add_parser("serve")
    s.add_argument("--cluster", required=True)
    s.add_argument("--sts-url", required=True)
    s.add_argument("--static-keys")
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--cert-dir", required=True)
    s.add_argument("--log")
    s.add_argument("--aws-auth", help="an aws-auth ConfigMap (or its data) to map identities with")
    s.add_argument("--control-plane", metavar="FILE",
                   help="the cluster as EKS holds it (JSON, see eks_control_plane.py): "
                   "authentication mode, access entries; serves EKS's API for them")
    s.add_argument("--clock-offset", type=float, default=0.0, metavar="SECONDS",
                   help="the stand-in's clock is this machine's plus SECONDS")
    sub.add_parser("check-server", help="check tokens, one JSON request a line on stdin")
    t = sub.add_parser("selftest", help="run tests/data/aws-auth/cases.json and "
                       "tests/data/access-entries/cases.json")
    t.add_argument("--cases", action="append", help="a cases file (repeat; default: both)")
    args = p.parse_args()
    if args.cmd == "selftest":
        sys.exit(selftest(args.cases or default_cases_paths()))
    if args.cmd == "check-server":
        check_server()
        return
    if args.cmd == "check":
        token = args.token
        if token == "-":
            token = sys.stdin.read().strip()
        v = verify(token, args.cluster, Secrets(args.sts_url, load_static(args.static_keys)),
                   args.sts_url, now=now_utc(args.clock_offset),
                   ask_identity=not args.no_identity)
        json.dump(v, sys.stdout)
        print()
        sys.exit(0 if v["ok"] else 1)
    serve(args)


if __name__ == "__main__":
    main()
