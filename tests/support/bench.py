#!/usr/bin/env python3
"""eks-token vs `aws eks get-token`, side by side in one run (the machines are noisy:
the two commands alternate and medians are compared as ratios).

Scenarios:
  env    static environment credentials (no network for either tool)
  chain  IRSA -> AssumeRoleWithWebIdentity -> AssumeRole against moto's server

Reports median wall time, the ratio, each command's peak RSS, the number of STS
requests each made (counted in moto's log), and the binary's size. Prints a Markdown
table (also written to --out) and exits 1 when a target below is missed.
"""
import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

TARGETS = {  # scenario -> minimum speed-up over aws-cli
    "env": 100.0,
    "chain": 1.0,
}
MAX_PEAK_KIB = 8 * 1024


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run(cmd, env):
    """Runs cmd; returns its wall time in seconds."""
    t = time.perf_counter()
    p = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"{cmd[0]} failed ({p.returncode}): {p.stderr.decode(errors='replace')}")
    return elapsed


def peak_rss_kib(cmd, env):
    """Peak RSS of cmd, measured by GNU time: a process forked from this (large) Python
    would carry Python's resident pages into its own high-water mark."""
    p = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)
    return int(p.stderr.decode().strip().splitlines()[-1])


def start_moto(work):
    port = free_port()
    log = open(os.path.join(work, "moto.log"), "w")
    proc = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/moto-api/data.json", timeout=2)
            break
        except Exception:  # noqa: BLE001
            time.sleep(0.1)
    return proc, url, log.name


def sts_posts(log_path):
    """POST lines in moto's log, once the log has settled (moto logs a request just
    after answering it)."""
    last = -1
    while True:
        with open(log_path, encoding="utf-8", errors="replace") as f:
            n = f.read().count('"POST / HTTP/1.1"')
        if n == last:
            return n
        last = n
        time.sleep(0.1)


def bench(name, ours, theirs, env, rounds, moto_log=None):
    # Warm up both (page cache, Python bytecode cache).
    run(ours, env)
    run(theirs, env)
    o_times, t_times = [], []
    for i in range(rounds):
        pair = ((ours, o_times), (theirs, t_times))
        for cmd, times in pair if i % 2 == 0 else pair[::-1]:
            times.append(run(cmd, env))
    o_med, t_med = statistics.median(o_times), statistics.median(t_times)
    o_peak = max(peak_rss_kib(ours, env) for _ in range(3))
    t_peak = max(peak_rss_kib(theirs, env) for _ in range(3))
    o_posts = t_posts = 0
    if moto_log:
        before = sts_posts(moto_log)
        run(ours, env)
        o_posts = sts_posts(moto_log) - before
        before = sts_posts(moto_log)
        run(theirs, env)
        t_posts = sts_posts(moto_log) - before
    return {
        "name": name,
        "ours_ms": o_med * 1000,
        "theirs_ms": t_med * 1000,
        "ratio": t_med / o_med,
        "ours_peak": o_peak,
        "theirs_peak": t_peak,
        "ours_sts": o_posts,
        "theirs_sts": t_posts,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--out")
    args = ap.parse_args()
    binary = os.path.realpath(args.bin)
    work = tempfile.mkdtemp(prefix="eks-token-bench-")
    base = {
        "PATH": os.environ["PATH"],
        "HOME": work,
        "AWS_CONFIG_FILE": os.path.join(work, "none"),
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(work, "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:9",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    results = []
    env = dict(base, AWS_ACCESS_KEY_ID="AKIABENCHMARK0000001", AWS_SECRET_ACCESS_KEY="bench/secret")
    results.append(bench(
        "env credentials",
        [binary, "get-token", "--cluster-name", "dev"],
        ["aws", "eks", "get-token", "--cluster-name", "dev"],
        env, args.rounds,
    ))
    moto, url, moto_log = start_moto(work)
    try:
        token = os.path.join(work, "token")
        with open(token, "w") as f:
            f.write("eyJhbGciOiJSUzI1NiJ9.bench.c2ln")
        env = dict(base, AWS_WEB_IDENTITY_TOKEN_FILE=token,
                   AWS_ROLE_ARN="arn:aws:iam::111111111111:role/irsa",
                   AWS_ENDPOINT_URL_STS=url)
        role = "arn:aws:iam::222222222222:role/testrole"
        results.append(bench(
            "IRSA -> AssumeRole chain",
            [binary, "get-token", "--cluster-name", "dev", "--role-arn", role],
            ["aws", "eks", "get-token", "--cluster-name", "dev", "--role-arn", role],
            env, max(5, args.rounds // 2), moto_log,
        ))
    finally:
        moto.terminate()
    size = os.path.getsize(binary)
    lines = [
        f"Binary: `{args.bin}`, {size} bytes ({size / 1048576:.2f} MiB)",
        "",
        "| scenario | eks-token | aws eks get-token | speed-up | peak RSS eks-token | peak RSS aws | STS calls eks-token | STS calls aws |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['name']} | {r['ours_ms']:.1f} ms | {r['theirs_ms']:.0f} ms | {r['ratio']:.0f}x "
            f"| {r['ours_peak'] / 1024:.1f} MiB | {r['theirs_peak'] / 1024:.1f} MiB "
            f"| {r['ours_sts']:g} | {r['theirs_sts']:g} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.out:
        with open(args.out, "w") as f:
            f.write(table + "\n")
    failed = []
    for r, key in zip(results, ["env", "chain"]):
        if r["ratio"] < TARGETS[key]:
            failed.append(f"{r['name']}: {r['ratio']:.1f}x < {TARGETS[key]}x")
        if r["ours_peak"] > MAX_PEAK_KIB:
            failed.append(f"{r['name']}: peak {r['ours_peak']} KiB > {MAX_PEAK_KIB} KiB")
    for f in failed:
        print("MISSED:", f)
    print("all targets met" if not failed else f"{len(failed)} target(s) missed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
