#!/usr/bin/env python3
"""Runs a command until this process's stdin closes, then stops it.

Test processes start servers (moto, the EKS verifier) through this guard with a pipe as
its stdin: when the test process exits, for any reason, the pipe closes and the server
goes with it, so no test leaves a server behind.
"""
import subprocess
import sys
import threading

child = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL)


def watch():
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except Exception:  # noqa: BLE001
        pass
    child.terminate()
    try:
        child.wait(5)
    except subprocess.TimeoutExpired:
        child.kill()


threading.Thread(target=watch, daemon=True).start()
sys.exit(child.wait())
