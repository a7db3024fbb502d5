"""The control plane of the EKS stand-in (`eks_verifier.py serve --control-plane FILE`):
the cluster as EKS holds it (authentication mode, access entries and their access
policies), the part of EKS's REST API that moto 5.2.1 lacks, and the SigV4 check of
every API request. eks_verifier.py maps tokens with it; this module knows nothing of
tokens or aws-auth.

Shapes follow botocore's model (data/eks/2017-11-01/service-2.json); behaviour the EKS
user guide (access-entries, creating-access-entries, set-custom-username,
migrating-access-entries), the API reference, and error messages EKS was seen to give.

The control-plane file (JSON; read again for every request, so a test may rewrite it):

  {"name": "dev",                  cluster name (default: serve's --cluster)
   "arn": "arn:aws:eks:us-east-1:222222222222:cluster/dev",           required
   "region": "us-east-1",          default: the ARN's (must agree with it)
   "authenticationMode": "API_AND_CONFIG_MAP",   CONFIG_MAP (default, as EKS's own API),
                                   API_AND_CONFIG_MAP or API
   "version": "1.32", "platformVersion": "eks.1", "roleArn": "...", "tags": {...},
   "createdAt": 1700000000 or "2024-01-02T03:04:05Z",   default: when the stand-in started
   "pageSize": 2,                  the stand-in's own knob: the page of a List call that
                                   gives no maxResults (EKS: 100); small, so that clients
                                   meet nextToken
   "accessEntries": [{"principalArn": "arn:aws:iam::222222222222:role/team/deployer",
                      "type": "STANDARD", "username": "deployer:{{SessionName}}",
                      "kubernetesGroups": ["deployers"], "tags": {},
                      "createdAt": ..., "modifiedAt": ...,
                      "accessPolicies": [{"policyArn":
                          "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
                          "accessScope": {"type": "namespace", "namespaces": ["dev-*"]},
                          "associatedAt": ..., "modifiedAt": ...}]}],
   "deny": {"eks:ListAccessEntries": ["*"],
            "eks:DescribeAccessEntry": ["arn:aws:sts::222222222222:assumed-role/x/*"]}}

Entries are checked as CreateAccessEntry and AssociateAccessPolicy check them, so a test
cannot describe a cluster EKS would not hold: a principal is an IAM role or user ARN
(never an assumed-role session, nor a service-linked role), once; a custom username does
not start with system:, eks:, aws:, amazon: or iam:, and has a colon before
{{SessionName}} / {{SessionNameRaw}}; no group starts with system:; a node entry
(EC2_LINUX, EC2_WINDOWS, FARGATE_LINUX, HYBRID_LINUX, EC2, HYPERPOD_LINUX) is a role of
the cluster's account with no username, groups or policies; a policy ARN is
arn:aws:eks::aws:cluster-access-policy/NAME, each once per entry, scoped to the cluster
(no namespaces) or to namespaces (at least one). `deny` names an action
(eks:DescribeCluster, eks:ListAccessEntries, eks:DescribeAccessEntry,
eks:ListAssociatedAccessPolicies, or eks:*) and the callers refused it: ARNs as
GetCallerIdentity gives them, with IAM's wildcards * and ?.

The API, on the stand-in's own HTTPS port (rest-json, SigV4 service `eks`):
  GET /clusters/{name}                                            DescribeCluster
  GET /clusters/{name}/access-entries                             ListAccessEntries
  GET /clusters/{name}/access-entries/{principalArn}              DescribeAccessEntry
  GET /clusters/{name}/access-entries/{principalArn}/access-policies
                                                                  ListAssociatedAccessPolicies
Each request is checked in EKS's order: the signature (403 MissingAuthenticationToken-
Exception, IncompleteSignatureException, UnrecognizedClientException for a key or session
token no one issued, InvalidSignatureException for a wrong scope, a date more than 5
minutes from the stand-in's clock, or a signature botocore computes otherwise), the
caller's permission (403 AccessDeniedException naming caller, action and resource), the
cluster (404 ResourceNotFoundException "No cluster found for name: X."), the mode
(access-entry calls on a CONFIG_MAP cluster: 400 InvalidRequestException), the entry
(404), the paging parameters (400 InvalidParameterException).

Simplifications against EKS, on purpose:
- One cluster per stand-in; other names are "not found".
- Access entries are matched to a caller by account and name (the role's path dropped on
  both sides, as the assumed-role ARN has none), case-insensitively. EKS stores the
  principal's unique id (AROA.../AIDA...) and matches on it, so a role deleted and made
  again under the same name stops matching there but not here: moto hands out a new
  random role id for every session, so no test could name one.
- The IAM resource of DescribeAccessEntry and ListAssociatedAccessPolicies is the access
  entry's ARN (computed even for an absent entry), of the others the cluster's ARN;
  `deny` is an explicit deny, nothing else is refused.
- List calls answer in principalArn order; accessEntryArn ends in a UUID derived from
  cluster and principal (EKS's look like version-5 UUIDs too), so it is stable.
- Node entries get the groups EKS shows for EC2_LINUX (system:nodes); the username of an
  EC2 (Auto Mode) or HYPERPOD_LINUX entry is not documented, so such an entry maps no one.
"""
import base64
import datetime
import fnmatch
import json
import re
import urllib.parse
import urllib.request
import uuid

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

MODES = ("CONFIG_MAP", "API_AND_CONFIG_MAP", "API")
ENTRY_TYPES = ("STANDARD", "EC2_LINUX", "EC2_WINDOWS", "FARGATE_LINUX", "HYBRID_LINUX", "EC2",
               "HYPERPOD_LINUX")
# creating-access-entries: the username EKS sets for a node entry. EC2 (Auto Mode) and
# HYPERPOD_LINUX have none documented.
NODE_USERNAMES = {
    "EC2_LINUX": "system:node:{{EC2PrivateDNSName}}",
    "EC2_WINDOWS": "system:node:{{EC2PrivateDNSName}}",
    "FARGATE_LINUX": "system:node:{{SessionName}}",
    "HYBRID_LINUX": "system:node:{{SessionName}}",
}
NODE_GROUPS = ["system:nodes"]
RESERVED_USERNAME_PREFIXES = ("system:", "eks:", "aws:", "amazon:", "iam:")
ACTIONS = ("DescribeCluster", "ListAccessEntries", "DescribeAccessEntry",
           "ListAssociatedAccessPolicies")
PARTITION = r"(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|aws-iso-e|aws-iso-f|aws-eusc)"
PRINCIPAL = re.compile(r"arn:" + PARTITION + r":iam::([0-9]{12}):(role|user)/(.+)")
CLUSTER_ARN = re.compile(r"arn:" + PARTITION + r":eks:([a-z0-9-]+):([0-9]{12}):cluster/(.+)")
POLICY_ARN = re.compile(r"arn:" + PARTITION + r":eks::aws:cluster-access-policy/[A-Za-z0-9]+")
MAX_RESULTS = 100
SIGNATURE_WINDOW = datetime.timedelta(minutes=5)


class ControlPlaneError(Exception):
    """The control-plane file describes no cluster EKS could hold."""


class ApiError(Exception):
    """An answer of EKS's API other than 200: status, x-amzn-ErrorType, message."""

    def __init__(self, status, code, message):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


# --- the file -------------------------------------------------------------------------

def _epoch(value, default, what):
    """A timestamp of the file (epoch seconds, or ISO 8601 with a zone) as epoch seconds."""
    if value is None:
        return default
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            t = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
            if t.tzinfo is not None:
                return t.timestamp()
        except ValueError:
            pass
    raise ControlPlaneError(f"{what} must be epoch seconds or an ISO 8601 time with a zone")


def _strings(value, what):
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ControlPlaneError(f"{what} must be a list of strings")
    return list(value)


def _tags(value, what):
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ControlPlaneError(f"{what} must map tag keys to strings")
    return dict(value)


def strip_path(arn):
    """An IAM role or user ARN without its path: .../role/team/x -> .../role/x."""
    m = PRINCIPAL.fullmatch(arn)
    if not m:
        return arn
    return f"arn:{m.group(1)}:iam::{m.group(2)}:{m.group(3)}/{m.group(4).rsplit('/', 1)[-1]}"


def _check_username(username, what):
    """creating-access-entries: a custom username's reserved prefixes and the colon that
    must come before a session name template."""
    if not isinstance(username, str) or not username:
        raise ControlPlaneError(f"{what}.username must be a non-empty string")
    for prefix in RESERVED_USERNAME_PREFIXES:
        if username.startswith(prefix):
            raise ControlPlaneError(f"{what}.username {username!r} is invalid, it cannot start "
                                    f"with {prefix}")
    for template in ("{{SessionName}}", "{{SessionNameRaw}}"):
        at = username.find(template)
        if at != -1 and ":" not in username[:at]:
            raise ControlPlaneError(f"{what}.username {username!r}: a colon must come before "
                                    f"{template}")


def _policy(raw, what):
    if not isinstance(raw, dict):
        raise ControlPlaneError(f"{what} must be an object")
    arn = raw.get("policyArn")
    if not isinstance(arn, str) or not POLICY_ARN.fullmatch(arn):
        raise ControlPlaneError(f"{what}.policyArn {arn!r} is not an access policy "
                                "(arn:aws:eks::aws:cluster-access-policy/NAME)")
    scope = raw.get("accessScope")
    if not isinstance(scope, dict) or scope.get("type") not in ("cluster", "namespace"):
        raise ControlPlaneError(f"{what}.accessScope.type must be cluster or namespace")
    namespaces = _strings(scope.get("namespaces"), f"{what}.accessScope.namespaces")
    if scope["type"] == "cluster" and namespaces:
        raise ControlPlaneError(f"{what}: a cluster scope names no namespaces")
    if scope["type"] == "namespace" and not namespaces:
        raise ControlPlaneError(f"{what}: a namespace scope names at least one namespace")
    return {"policyArn": arn, "accessScope": {"type": scope["type"], "namespaces": namespaces},
            "associatedAt": _epoch(raw.get("associatedAt"), None, f"{what}.associatedAt"),
            "modifiedAt": _epoch(raw.get("modifiedAt"), None, f"{what}.modifiedAt")}


def _entry(raw, i, account, created):
    what = f"accessEntries[{i}]"
    if not isinstance(raw, dict):
        raise ControlPlaneError(f"{what} must be an object")
    arn = raw.get("principalArn")
    m = PRINCIPAL.fullmatch(arn) if isinstance(arn, str) else None
    if not m:
        raise ControlPlaneError(f"{what}: The specified principalArn is invalid: invalid "
                                f"principal ({arn!r}: an IAM role or user ARN)")
    partition, principal_account, kind, name_with_path = m.groups()
    if kind == "role" and name_with_path.startswith("aws-service-role/"):
        raise ControlPlaneError(f"{what}: access entries do not support service-linked roles")
    kind_type = raw.get("type", "STANDARD")
    if kind_type not in ENTRY_TYPES:
        raise ControlPlaneError(f"{what}.type must be one of {', '.join(ENTRY_TYPES)}")
    groups = _strings(raw.get("kubernetesGroups"), f"{what}.kubernetesGroups")
    for g in groups:
        if g.startswith("system:"):
            raise ControlPlaneError(f"{what}: The kubernetes group name {g} is invalid, it "
                                    "cannot start with system:")
    policies = raw.get("accessPolicies") or []
    if not isinstance(policies, list):
        raise ControlPlaneError(f"{what}.accessPolicies must be a list")
    policies = [_policy(p, f"{what}.accessPolicies[{j}]") for j, p in enumerate(policies)]
    arns = [p["policyArn"] for p in policies]
    if len(set(arns)) != len(arns):
        raise ControlPlaneError(f"{what}: a policy is associated once per entry")
    if "username" in raw and raw["username"] is not None:
        _check_username(raw["username"], what)
    if kind_type != "STANDARD":
        if kind != "role" or principal_account != account:
            raise ControlPlaneError(f"{what}: a {kind_type} entry is a role of the cluster's "
                                    f"account {account}")
        for key in ("username", "kubernetesGroups", "accessPolicies"):
            if raw.get(key):
                raise ControlPlaneError(f"{what}: a {kind_type} entry takes no {key}")
    entry_created = _epoch(raw.get("createdAt"), created, f"{what}.createdAt")
    for p in policies:
        p["associatedAt"] = p["associatedAt"] or entry_created
        p["modifiedAt"] = p["modifiedAt"] or p["associatedAt"]
    return {
        "principalArn": arn, "type": kind_type, "username": raw.get("username"),
        "kubernetesGroups": groups, "tags": _tags(raw.get("tags"), f"{what}.tags"),
        "createdAt": entry_created,
        "modifiedAt": _epoch(raw.get("modifiedAt"), entry_created, f"{what}.modifiedAt"),
        "accessPolicies": policies, "partition": partition, "account": principal_account,
        "kind": kind, "name": name_with_path.rsplit("/", 1)[-1],
    }


def parse(doc, default_name, started_at):
    """The cluster a control-plane document describes (see the module's doc), checked."""
    if not isinstance(doc, dict):
        raise ControlPlaneError("the control plane must be a JSON object")
    arn = doc.get("arn")
    m = CLUSTER_ARN.fullmatch(arn) if isinstance(arn, str) else None
    if not m:
        raise ControlPlaneError(f"arn {arn!r} is not an EKS cluster ARN "
                                "(arn:aws:eks:REGION:ACCOUNT:cluster/NAME)")
    partition, arn_region, account, arn_name = m.groups()
    name = doc.get("name", default_name)
    if name != arn_name:
        raise ControlPlaneError(f"name {name!r} is not the name in the arn ({arn_name!r})")
    region = doc.get("region", arn_region)
    if region != arn_region:
        raise ControlPlaneError(f"region {region!r} is not the arn's ({arn_region!r})")
    mode = doc.get("authenticationMode", "CONFIG_MAP")
    if mode not in MODES:
        raise ControlPlaneError(f"authenticationMode must be one of {', '.join(MODES)}")
    page = doc.get("pageSize", 2)
    if not isinstance(page, int) or isinstance(page, bool) or not 1 <= page <= MAX_RESULTS:
        raise ControlPlaneError(f"pageSize must be a number in 1..{MAX_RESULTS}")
    created = _epoch(doc.get("createdAt"), started_at, "createdAt")
    raw_entries = doc.get("accessEntries") or []
    if not isinstance(raw_entries, list):
        raise ControlPlaneError("accessEntries must be a list")
    entries = {}
    for i, raw in enumerate(raw_entries):
        e = _entry(raw, i, account, created)
        if e["principalArn"] in entries:
            raise ControlPlaneError(f"accessEntries[{i}]: The specified access entry resource "
                                    f"is already in use on this cluster ({e['principalArn']})")
        entries[e["principalArn"]] = e
    deny = doc.get("deny") or {}
    if not isinstance(deny, dict):
        raise ControlPlaneError("deny must map actions to lists of caller ARNs")
    known = ["eks:*"] + ["eks:" + a for a in ACTIONS]
    for action, callers in deny.items():
        if action not in known:
            raise ControlPlaneError(f"deny: {action!r} is not one of {', '.join(known)}")
        _strings(callers, f"deny[{action!r}]")
    return {
        "name": name, "arn": arn, "region": region, "account": account,
        "partition": partition, "authenticationMode": mode,
        "version": str(doc.get("version", "1.32")),
        "platformVersion": str(doc.get("platformVersion", "eks.1")),
        "roleArn": doc.get("roleArn"), "tags": _tags(doc.get("tags"), "tags"),
        "createdAt": created, "pageSize": page, "entries": entries, "deny": deny,
    }


def load(path, default_name, started_at):
    """Reads and checks a control-plane file; ControlPlaneError when it is unusable."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        raise ControlPlaneError(f"cannot read {path}: {e}") from None
    return parse(doc, default_name, started_at)


# --- entries as the authenticator sees them ------------------------------------------

def default_username(entry):
    """The username EKS sets when an entry names none (set-custom-username,
    creating-access-entries): a role's session ARN without the path and with
    {{SessionName}}, a user's ARN, a node entry's system:node:... (None: not documented)."""
    if entry["type"] != "STANDARD":
        return NODE_USERNAMES.get(entry["type"])
    if entry["kind"] == "user":
        return entry["principalArn"]
    return (f"arn:{entry['partition']}:sts::{entry['account']}:assumed-role/"
            f"{entry['name']}/{{{{SessionName}}}}")


def username_template(entry):
    """The entry's username before rendering: its own, else EKS's default."""
    return entry["username"] or default_username(entry)


def groups_of(entry):
    """The entry's Kubernetes groups before rendering (node entries: system:nodes)."""
    if entry["type"] != "STANDARD":
        return list(NODE_GROUPS) if entry["type"] in NODE_USERNAMES else []
    return list(entry["kubernetesGroups"])


def find_entry(plane, canonical_arn):
    """The access entry of a caller whose canonical ARN (pkg/arn Canonicalize: an assumed
    role as arn:...:iam::ACCOUNT:role/NAME) is `canonical_arn`, or None. By account and
    name, paths dropped, case-insensitively: see the module's doc."""
    wanted = strip_path(canonical_arn).lower()
    for entry in plane["entries"].values():
        if strip_path(entry["principalArn"]).lower() == wanted:
            return entry
    return None


# --- the API --------------------------------------------------------------------------

def access_entry_arn(plane, cluster_name, principal_arn):
    """arn:aws:eks:REGION:ACCOUNT:access-entry/CLUSTER/role|user/PRINCIPAL-ACCOUNT/NAME/UUID,
    or None for a principal that is no IAM role or user."""
    m = PRINCIPAL.fullmatch(principal_arn)
    if not m:
        return None
    _, account, kind, name = m.groups()
    uid = uuid.uuid5(uuid.NAMESPACE_URL, f"{plane['arn']}#{principal_arn}")
    return (f"arn:{plane['partition']}:eks:{plane['region']}:{plane['account']}:access-entry/"
            f"{cluster_name}/{kind}/{account}/{name.rsplit('/', 1)[-1]}/{uid}")


def cluster_arn(plane, cluster_name):
    return (f"arn:{plane['partition']}:eks:{plane['region']}:{plane['account']}:"
            f"cluster/{cluster_name}")


def route(method, raw_path):
    """(action, cluster name, principal ARN or None) of a request to the API, or an
    ApiError for a path or method the stand-in does not serve."""
    parts = raw_path.split("/")[1:]
    names = {1: "DescribeCluster", 2: "ListAccessEntries", 3: "DescribeAccessEntry",
             4: "ListAssociatedAccessPolicies"}
    shape_ok = (parts[0] == "clusters" and 2 <= len(parts) <= 5 and all(parts[1:])
                and (len(parts) < 3 or parts[2] == "access-entries")
                and (len(parts) < 5 or parts[4] == "access-policies"))
    if not shape_ok:
        raise ApiError(404, "UnknownOperationException",
                       f"no EKS operation at {raw_path} in this stand-in")
    if method != "GET":
        raise ApiError(501, "NotImplemented",
                       f"this stand-in serves GET only, not {method} {raw_path}")
    principal = urllib.parse.unquote(parts[3]) if len(parts) >= 4 else None
    return names[len(parts) - 1], urllib.parse.unquote(parts[1]), principal


def _denied(plane, action, caller):
    for key in (f"eks:{action}", "eks:*"):
        for pattern in plane["deny"].get(key, []):
            if pattern == "*" or (caller and fnmatch.fnmatchcase(caller, pattern)):
                return True
    return False


def _page(items, query, plane, kind):
    """One page of `items` for maxResults/nextToken; the token is opaque to clients."""
    size = plane["pageSize"]
    if "maxResults" in query:
        try:
            size = int(query["maxResults"])
        except ValueError:
            size = 0
        if not 1 <= size <= MAX_RESULTS:
            raise ApiError(400, "InvalidParameterException",
                           f"maxResults must be between 1 and {MAX_RESULTS}")
    start = 0
    if "nextToken" in query:
        try:
            token = json.loads(base64.urlsafe_b64decode(query["nextToken"].encode()))
            if token["kind"] != kind or not 0 < token["offset"] < len(items):
                raise ValueError(token)
            start = token["offset"]
        except (ValueError, KeyError, TypeError):
            raise ApiError(400, "InvalidParameterException",
                           "The nextToken provided is invalid") from None
    end = start + size
    page = {"items": items[start:end]}
    if end < len(items):
        page["nextToken"] = base64.urlsafe_b64encode(
            json.dumps({"kind": kind, "offset": end}).encode()).decode()
    return page


def call(plane, action, cluster_name, principal, query, caller, endpoint, ca_pem):
    """The answer (a JSON object) of one authorised-or-not call by `caller`; ApiError."""
    resource = cluster_arn(plane, cluster_name)
    if principal is not None:
        resource = access_entry_arn(plane, cluster_name, principal) or resource
    if _denied(plane, action, caller):
        raise ApiError(403, "AccessDeniedException",
                       f"User: {caller} is not authorized to perform: eks:{action} on "
                       f"resource: {resource}")
    if cluster_name != plane["name"]:
        raise ApiError(404, "ResourceNotFoundException",
                       f"No cluster found for name: {cluster_name}.")
    if action == "DescribeCluster":
        return {"cluster": describe_cluster(plane, endpoint, ca_pem)}
    if plane["authenticationMode"] == "CONFIG_MAP":
        raise ApiError(400, "InvalidRequestException",
                       "The cluster's authentication mode must be set to one of [API, "
                       "API_AND_CONFIG_MAP] to perform this operation.")
    if action == "ListAccessEntries":
        arns = sorted(plane["entries"])
        wanted = query.get("associatedPolicyArn")
        if wanted is not None:
            arns = [a for a in arns if any(p["policyArn"] == wanted for p in
                                           plane["entries"][a]["accessPolicies"])]
        page = _page(arns, query, plane, "access-entries")
        out = {"accessEntries": page["items"]}
        if "nextToken" in page:
            out["nextToken"] = page["nextToken"]
        return out
    entry = plane["entries"].get(principal)
    if entry is None:
        raise ApiError(404, "ResourceNotFoundException",
                       "The specified principalArn could not be found. You can view your "
                       "available access entries with 'list-access-entries'.")
    if action == "DescribeAccessEntry":
        return {"accessEntry": {
            "clusterName": plane["name"], "principalArn": entry["principalArn"],
            "kubernetesGroups": groups_of(entry),
            "accessEntryArn": access_entry_arn(plane, plane["name"], entry["principalArn"]),
            "createdAt": entry["createdAt"], "modifiedAt": entry["modifiedAt"],
            "tags": entry["tags"], "username": username_template(entry),
            "type": entry["type"],
        }}
    policies = sorted(entry["accessPolicies"], key=lambda p: p["policyArn"])
    page = _page(policies, query, plane, "access-policies:" + entry["principalArn"])
    out = {"clusterName": plane["name"], "principalArn": entry["principalArn"],
           "associatedAccessPolicies": page["items"]}
    if "nextToken" in page:
        out["nextToken"] = page["nextToken"]
    return out


def describe_cluster(plane, endpoint, ca_pem):
    """DescribeCluster's `cluster`: this stand-in's endpoint and CA, ACTIVE."""
    cluster = {
        "name": plane["name"], "arn": plane["arn"], "createdAt": plane["createdAt"],
        "version": plane["version"], "endpoint": endpoint,
        "resourcesVpcConfig": {"subnetIds": [], "securityGroupIds": [],
                               "endpointPublicAccess": True, "endpointPrivateAccess": False,
                               "publicAccessCidrs": ["0.0.0.0/0"]},
        "kubernetesNetworkConfig": {"serviceIpv4Cidr": "10.100.0.0/16", "ipFamily": "ipv4"},
        "status": "ACTIVE",
        "certificateAuthority": {"data": base64.b64encode(ca_pem).decode()},
        "platformVersion": plane["platformVersion"], "tags": plane["tags"],
        "health": {"issues": []},
        "accessConfig": {"authenticationMode": plane["authenticationMode"]},
    }
    if plane["roleArn"]:
        cluster["roleArn"] = plane["roleArn"]
    return cluster


# --- SigV4, as AWS checks a header-signed request -------------------------------------

class _ExactHeaders(SigV4Auth):
    """botocore's signer over exactly the headers the client signed (botocore itself
    leaves out some, e.g. user-agent, that another client may sign)."""

    def __init__(self, credentials, service, region, signed):
        super().__init__(credentials, service, region)
        self._signed = signed

    def headers_to_sign(self, request):
        from botocore.awsrequest import HTTPHeaders

        out = HTTPHeaders()
        for name in self._signed:
            out[name] = request.headers.get(name, "")
        return out


def _authorization(header):
    m = re.fullmatch(r"AWS4-HMAC-SHA256 (.*)", header.strip())
    if not m:
        raise ApiError(403, "IncompleteSignatureException",
                       "Authorization header requires the AWS4-HMAC-SHA256 algorithm")
    fields = {}
    for part in m.group(1).split(","):
        key, _, value = part.strip().partition("=")
        fields[key] = value
    for key in ("Credential", "SignedHeaders", "Signature"):
        if not fields.get(key):
            raise ApiError(403, "IncompleteSignatureException",
                           f"Authorization header requires '{key}' parameter.")
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise ApiError(403, "IncompleteSignatureException",
                       f"Credential {fields['Credential']!r} is not AKID/DATE/REGION/"
                       "SERVICE/aws4_request")
    return scope, fields["SignedHeaders"].split(";"), fields["Signature"]


def parse_query(query):
    """The (name, value) pairs of a query string, percent-decoded as SigV4 reads them
    ('+' stays '+')."""
    pairs = []
    for pair in query.split("&") if query else []:
        k, _, v = pair.partition("=")
        pairs.append((urllib.parse.unquote(k), urllib.parse.unquote(v)))
    return pairs


def check_signature(method, raw_path, headers, body, now, region, session_of):
    """Checks a SigV4 header-signed request as AWS would, recomputing the signature with
    botocore. `headers` maps lower-cased names to values; `session_of(akid)` gives
    (secret, session token or None) or None. Returns botocore Credentials; ApiError."""
    header = headers.get("authorization")
    if not header:
        raise ApiError(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
    (akid, day, scope_region, service, _), signed, signature = _authorization(header)
    if "host" not in signed:
        raise ApiError(403, "InvalidSignatureException",
                       "'Host' or ':authority' must be a 'SignedHeader' in the AWS "
                       "Authorization.")
    stamp = headers.get("x-amz-date", "")
    try:
        when = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc)
    except ValueError:
        raise ApiError(403, "IncompleteSignatureException",
                       "Authorization header requires existence of either a 'X-Amz-Date' "
                       "or a 'Date' header.") from None
    fmt = "%Y%m%dT%H%M%SZ"
    if when < now - SIGNATURE_WINDOW:
        raise ApiError(403, "InvalidSignatureException",
                       f"Signature expired: {stamp} is now earlier than "
                       f"{(now - SIGNATURE_WINDOW).strftime(fmt)} ({now.strftime(fmt)} - 5 min.)")
    if when > now + SIGNATURE_WINDOW:
        raise ApiError(403, "InvalidSignatureException",
                       f"Signature not yet current: {stamp} is still later than "
                       f"{(now + SIGNATURE_WINDOW).strftime(fmt)} ({now.strftime(fmt)} + 5 min.)")
    if day != stamp[:8]:
        raise ApiError(403, "InvalidSignatureException",
                       f"Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                       f"version of date from HTTP: '{day}' != '{stamp[:8]}', from "
                       f"'{stamp}'.")
    if service != "eks":
        raise ApiError(403, "InvalidSignatureException",
                       "Credential should be scoped to correct service: 'eks'. ")
    if scope_region != region:
        raise ApiError(403, "InvalidSignatureException",
                       "Credential should be scoped to a valid region. ")
    session = session_of(akid)
    token = headers.get("x-amz-security-token")
    if session is None or (session[1] is not None and token != session[1]):
        raise ApiError(403, "UnrecognizedClientException",
                       "The security token included in the request is invalid.")
    creds = Credentials(akid, session[0], token)
    path, _, query = raw_path.partition("?")
    params = parse_query(query)
    request = AWSRequest(method=method, url=f"https://{headers.get('host', '')}{path}",
                         headers={k: v for k, v in headers.items() if k in signed},
                         data=body, params=params)
    request.context["timestamp"] = stamp
    auth = _ExactHeaders(creds, "eks", region, signed)
    expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)),
                              request)
    if expected != signature:
        raise ApiError(403, "InvalidSignatureException",
                       "The request signature we calculated does not match the signature you "
                       "provided. Check your AWS Secret Access Key and signing method. Consult "
                       "the service documentation for details.")
    return creds


def caller_arn(sts_url, creds, region):
    """Who signed: GetCallerIdentity asked of STS (moto) with the caller's credentials."""
    request = AWSRequest(method="POST", url=sts_url.rstrip("/") + "/",
                         data=b"Action=GetCallerIdentity&Version=2011-06-15",
                         headers={"Content-Type":
                                  "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(creds, "sts", region).add_auth(request)
    prepared = request.prepare()
    r = urllib.request.Request(prepared.url, data=prepared.body, method="POST",
                               headers=dict(prepared.headers))
    with urllib.request.urlopen(r, timeout=10) as resp:
        xml = resp.read().decode()
    m = re.search(r"<Arn>(.*?)</Arn>", xml)
    return m.group(1) if m else None
