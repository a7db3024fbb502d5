#!/usr/bin/env python3
"""Signs the requests described in a JSON file with botocore, an independent SigV4
implementation, and prints canonical request, string to sign and signature for each.

Input: a JSON list of cases (see tests/botocore_diff.rs). Output: a JSON list, same order.
"""
import json
import sys

from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def sign(case):
    creds = Credentials(case["access_key_id"], case["secret"], case.get("token"))
    url = f"https://{case['host']}{case['path']}"
    body = case["body"].encode("utf-8")
    if case["mode"] == "query":
        auth = SigV4QueryAuth(creds, case["service"], case["region"], expires=case["expires"])
        params = {k: v for k, v in case["query"]}
    else:
        auth = SigV4Auth(creds, case["service"], case["region"])
        params = [(k, v) for k, v in case["query"]]
    request = AWSRequest(method=case["method"], url=url, data=body, params=params)
    for name, value in case["headers"]:
        request.headers[name] = value  # appends: repeated names stay repeated
    # add_auth without its clock: the same steps at the case's timestamp.
    request.context["timestamp"] = case["timestamp"]
    auth._modify_request_before_signing(request)
    canonical_request = auth.canonical_request(request)
    string_to_sign = auth.string_to_sign(request, canonical_request)
    signature = auth.signature(string_to_sign, request)
    return {
        "canonical_request": canonical_request,
        "string_to_sign": string_to_sign,
        "signature": signature,
    }


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)
    json.dump([sign(c) for c in cases], sys.stdout)


if __name__ == "__main__":
    main()
