#!/usr/bin/env python3
"""A real EKS API client for the tests, written apart from the stand-in: botocore's own
`eks` client pointed at a stand-in (endpoint_url, verify=its CA), signing with
credentials moto's STS gave for AssumeRole.

  eks_api_client.py --endpoint URL --ca FILE --sts-url URL [--role-arn ARN]
                    [--session-name NAME] [--region R] [--tamper-secret] [--drop-token]
                    < calls.json

Without --role-arn the credentials are the environment's (AWS_ACCESS_KEY_ID, ...).
stdin: a JSON list of calls, each {"op": "list_access_entries", "args": {...}} (one
request) or {"paginate": "list_access_entries", "args": {...}} (botocore's paginator:
every page, with "PaginationConfig" in args if wanted).
stdout: {"caller": the assumed-role ARN of AssumeRole's answer (or null), "access_key_id",
"results": [...]}, one result per call: {"status": 200, "response": {...}} or, for a
paginator, {"status": 200, "pages": [...]}; an error is {"status": N, "code": the
x-amzn-ErrorType botocore read, "message": ...}. Timestamps are epoch seconds.
--tamper-secret signs with a secret one character off (a signature EKS must refuse);
--drop-token signs and sends without the session token (a key EKS must not recognise).
"""
import argparse
import datetime
import json
import os
import sys

import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError


def plain(value):
    """A botocore answer as JSON: datetimes to epoch seconds, metadata dropped."""
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def parser():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--endpoint")
    p.add_argument("--ca")
    p.add_argument("--sts-url")
    p.add_argument("--role-arn")
    p.add_argument("--session-name", default="eks-api-client")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--tamper-secret", action="store_true")
    p.add_argument("--drop-token", action="store_true")
    p.add_argument("--serve", action="store_true",
                   help="answer requests, a JSON line each on stdin ({argv, env, calls})")
    return p


def run(args, calls):
    """The calls, as `args` says: what main prints."""
    if not args.endpoint or not args.ca:
        raise SystemExit("--endpoint and --ca are needed")
    session = botocore.session.Session()
    no_retry = Config(retries={"total_max_attempts": 1})
    caller = None
    if args.role_arn:
        sts = session.create_client(
            "sts", region_name=args.region, endpoint_url=args.sts_url, config=no_retry,
            aws_access_key_id="AKIAEKSAPICLIENT0001", aws_secret_access_key="eks-api/secret")
        answer = sts.assume_role(RoleArn=args.role_arn, RoleSessionName=args.session_name)
        c = answer["Credentials"]
        akid, secret, token = c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]
        caller = answer["AssumedRoleUser"]["Arn"]
    else:
        akid = os.environ["AWS_ACCESS_KEY_ID"]
        secret = os.environ["AWS_SECRET_ACCESS_KEY"]
        token = os.environ.get("AWS_SESSION_TOKEN")
    if args.tamper_secret:
        secret = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    if args.drop_token:
        token = None
    eks = session.create_client(
        "eks", region_name=args.region, endpoint_url=args.endpoint, verify=args.ca,
        config=no_retry, aws_access_key_id=akid, aws_secret_access_key=secret,
        aws_session_token=token)

    results = []
    for call in calls:
        try:
            if "paginate" in call:
                pages = eks.get_paginator(call["paginate"]).paginate(**call.get("args", {}))
                results.append({"status": 200, "pages": [plain(page) for page in pages]})
            else:
                answer = getattr(eks, call["op"])(**call.get("args", {}))
                results.append({"status": answer["ResponseMetadata"]["HTTPStatusCode"],
                                "response": plain(answer)})
        except ClientError as e:
            results.append({"status": e.response["ResponseMetadata"]["HTTPStatusCode"],
                            "code": e.response["Error"]["Code"],
                            "message": e.response["Error"]["Message"]})
    return {"caller": caller, "access_key_id": akid, "results": results}


def main():
    args = parser().parse_args()
    if not args.serve:
        json.dump(run(args, json.load(sys.stdin)), sys.stdout)
        print()
        return
    # One process for a test run: botocore is imported once.
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        os.environ.clear()
        os.environ.update(req["env"])
        try:
            answer = run(parser().parse_args(req["argv"]), req["calls"])
        except Exception as e:  # noqa: BLE001
            answer = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
