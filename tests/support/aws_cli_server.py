#!/usr/bin/env python3
"""Runs the real aws-cli, in this process, once for each request: a JSON line on stdin
({"args": [...], "env": {...}, "cwd": "..."}) gets a JSON line on stdout ({"code",
"stdout", "stderr"}). Each run is aws-cli's own `main`: a new driver and a new botocore
session, the environment replaced by the request's and the directory changed, its
output captured as the process would write it. What a fresh `aws` process pays on every
start (importing botocore and awscli, most of a second of CPU) is paid once: the
differential tests run aws-cli dozens of times. Ends when stdin does.
"""
import io
import json
import logging
import os
import sys

from awscli.clidriver import create_clidriver
import awscli.customizations.assumerole as assumerole
import awscli.customizations.eks.update_kubeconfig as update_kubeconfig
import awscli.customizations.history as history
import awscli.customizations.history.constants as history_constants

real_stdout, real_stdin = sys.stdout, sys.stdin
# What importing awscli set: where its own data is (a fresh process sets it again).
DATA_PATH = os.environ["AWS_DATA_PATH"]


def run(req):
    os.environ.clear()
    os.environ.update(req["env"])
    # As awscli's import does in a process of its own: the caller's paths, then its own.
    own = req["env"].get("AWS_DATA_PATH")
    os.environ["AWS_DATA_PATH"] = os.pathsep.join(p for p in [own, DATA_PATH] if p)
    # What awscli's modules read of HOME when imported, read again for this run.
    assumerole.CACHE_DIR = os.path.expanduser(os.path.join("~", ".aws", "cli", "cache"))
    update_kubeconfig.DEFAULT_PATH = os.path.expanduser("~/.kube/config")
    history_file = os.path.expanduser(os.path.join("~", ".aws", "cli", "history", "history.db"))
    history_constants.DEFAULT_HISTORY_FILENAME = history_file
    history.DEFAULT_HISTORY_FILENAME = history_file
    os.chdir(req["cwd"])
    out, err = io.BytesIO(), io.BytesIO()
    # Kept until read: a wrapper that goes away closes its buffer.
    wout = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    werr = io.TextIOWrapper(err, encoding="utf-8", newline="", write_through=True)
    sys.stdout, sys.stderr = wout, werr
    sys.stdin = open(os.devnull)
    root = logging.getLogger()
    handlers = list(root.handlers)
    try:
        sys.argv = ["aws"] + req["args"]
        code = create_clidriver().main(req["args"])
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException as e:  # noqa: BLE001 - as the process would: a trace, code 255
        import traceback
        traceback.print_exc()
        code = 255
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdin.close()
        sys.stdout, sys.stderr, sys.stdin = real_stdout, sys.__stderr__, real_stdin
        # --debug adds handlers to the root logger: each run starts without them.
        for h in list(root.handlers):
            if h not in handlers:
                root.removeHandler(h)
    answer = {
        "code": code if code is not None else 0,
        "stdout": out.getvalue().decode("utf-8", "replace"),
        "stderr": err.getvalue().decode("utf-8", "replace"),
    }
    wout.detach()
    werr.detach()
    return answer


for line in real_stdin:
    if not line.strip():
        continue
    answer = run(json.loads(line))
    real_stdout.write(json.dumps(answer) + "\n")
    real_stdout.flush()
