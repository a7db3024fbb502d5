#!/usr/bin/env python3
"""eks-token vs `aws eks get-token`, side by side in one run. The machines are noisy:
the two commands alternate and their medians are compared as ratios.

Scenarios:
  env          static environment credentials (no network for either tool)
  chain-cold   IRSA -> AssumeRoleWithWebIdentity -> AssumeRole against moto's server,
               every run with an empty cache (eks-token's and aws-cli's ~/.aws/cli/cache)
  chain-warm   the same chain with the caches kept between runs

Every scenario also times the binary's own `--version` in the same rotation: the exec
floor, what running the binary at all costs. Reports median wall time, the ratio to
that floor and to aws-cli, each command's peak RSS (GNU time), the STS requests one run
makes (counted in moto's log) and the binary's size, as a Markdown table; --readme
rewrites the table between the bench markers of README.md. Exits 1 when a target is
missed. Processes are started with posix_spawn, which costs this (large) Python process
far less than fork.
"""
import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

TARGETS = {"env": 150.0, "chain-cold": 1.0, "chain-warm": 500.0}  # minimum speed-up
FLOOR_TARGETS = {"chain-warm": 1.5}  # maximum ratio to the binary's own --version
MAX_PEAK_KIB = 6 * 1024
ROLE = "arn:aws:iam::222222222222:role/testrole"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run(cmd, env):
    """Wall time of one run of `cmd`, its output discarded."""
    exe = cmd[0] if os.path.isabs(cmd[0]) else shutil.which(cmd[0], path=env.get("PATH"))
    devnull = os.open(os.devnull, os.O_WRONLY)
    actions = [(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]
    try:
        t = time.perf_counter()
        pid = os.posix_spawn(exe, cmd, env, file_actions=actions)
        _, status = os.waitpid(pid, 0)
        elapsed = time.perf_counter() - t
    finally:
        os.close(devnull)
    if os.waitstatus_to_exitcode(status) != 0:
        p = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        sys.exit(f"{cmd[0]} failed ({p.returncode}): {p.stderr.decode(errors='replace')}")
    return elapsed


def peak_rss_kib(cmd, env):
    """Peak RSS by GNU time: a process forked from this (large) Python would carry
    Python's resident pages into its own high-water mark."""
    p = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)
    return int(p.stderr.decode().strip().splitlines()[-1])


def start_moto(work):
    port = free_port()
    log = open(os.path.join(work, "moto.log"), "w")
    proc = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/moto-api/data.json", timeout=2)
            break
        except Exception:  # noqa: BLE001
            time.sleep(0.1)
    return proc, url, log.name


def sts_posts(log_path):
    """POST lines in moto's log once it has settled (moto logs just after answering)."""
    last = -1
    while True:
        with open(log_path, encoding="utf-8", errors="replace") as f:
            n = f.read().count('"POST / HTTP/1.1"')
        if n == last:
            return n
        last = n
        time.sleep(0.1)


class Side:
    """One tool in one scenario: a command, its environment, and what to do before
    each run (empty the cache for a cold run)."""

    def __init__(self, cmd, env, prepare=None):
        self.cmd, self.env, self.prepare = cmd, env, prepare or (lambda: None)

    def timed(self):
        self.prepare()
        return run(self.cmd, self.env)

    def peak(self):
        self.prepare()
        return peak_rss_kib(self.cmd, self.env)


def bench(name, ours, theirs, floor, rounds, moto_log=None):
    ours.timed()
    theirs.timed()  # warm the page cache and Python's bytecode cache
    o_times, t_times, f_times = [], [], []
    for i in range(rounds):
        sides = [(ours, o_times), (theirs, t_times), (floor, f_times)]
        sides = sides[i % 3:] + sides[:i % 3]
        for side, times in sides:
            times.append(side.timed())
        # eks-token runs are short: time them (and the floor) more often, alternated,
        # for a stable median at no cost to the aws-cli side.
        for _ in range(4):
            for side, times in (((ours, o_times), (floor, f_times)) if i % 2 else
                                ((floor, f_times), (ours, o_times))):
                times.append(side.timed())
    o_med, t_med = statistics.median(o_times), statistics.median(t_times)
    f_med = statistics.median(f_times)
    o_peak = max(ours.peak() for _ in range(3))
    t_peak = max(theirs.peak() for _ in range(3))
    o_sts = t_sts = 0
    if moto_log:
        before = sts_posts(moto_log)
        ours.timed()
        o_sts = sts_posts(moto_log) - before
        before = sts_posts(moto_log)
        theirs.timed()
        t_sts = sts_posts(moto_log) - before
    return dict(name=name, ours_ms=o_med * 1000, theirs_ms=t_med * 1000, ratio=t_med / o_med,
                floor_ms=f_med * 1000, floor_ratio=o_med / f_med,
                ours_peak=o_peak, theirs_peak=t_peak, ours_sts=o_sts, theirs_sts=t_sts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--readme")
    args = ap.parse_args()
    binary = os.path.realpath(args.bin)
    work = tempfile.mkdtemp(prefix="eks-token-bench-")
    base = {
        "PATH": os.environ["PATH"],
        "AWS_CONFIG_FILE": os.path.join(work, "none"),
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(work, "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:9",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }

    def home(name):
        h = os.path.join(work, name)
        os.makedirs(h, exist_ok=True)
        return h

    results = []
    floor = Side([binary, "--version"], dict(base, HOME=home("floor")))
    env = dict(base, HOME=home("env"), AWS_ACCESS_KEY_ID="AKIABENCHMARK0000001",
               AWS_SECRET_ACCESS_KEY="bench/secret")
    results.append(("env", bench(
        "env credentials",
        Side([binary, "get-token", "--cluster-name", "dev"], env),
        Side(["aws", "eks", "get-token", "--cluster-name", "dev"], env),
        floor, args.rounds)))

    moto, url, moto_log = start_moto(work)
    try:
        token = os.path.join(work, "token")
        with open(token, "w") as f:
            f.write("eyJhbGciOiJSUzI1NiJ9.bench.c2ln")
        chain = dict(base, AWS_WEB_IDENTITY_TOKEN_FILE=token,
                     AWS_ROLE_ARN="arn:aws:iam::111111111111:role/irsa", AWS_ENDPOINT_URL_STS=url)
        ours_cmd = [binary, "get-token", "--cluster-name", "dev", "--role-arn", ROLE]
        aws_cmd = ["aws", "eks", "get-token", "--cluster-name", "dev", "--role-arn", ROLE]

        cold_ours, cold_aws = home("cold-ours"), home("cold-aws")
        results.append(("chain-cold", bench(
            "IRSA -> AssumeRole chain, cold cache",
            Side(ours_cmd, dict(chain, HOME=cold_ours),
                 lambda: shutil.rmtree(os.path.join(cold_ours, ".cache"), ignore_errors=True)),
            Side(aws_cmd, dict(chain, HOME=cold_aws),
                 lambda: shutil.rmtree(os.path.join(cold_aws, ".aws"), ignore_errors=True)),
            floor, max(5, args.rounds // 2), moto_log)))

        warm = home("warm")
        results.append(("chain-warm", bench(
            "IRSA -> AssumeRole chain, warm cache",
            Side(ours_cmd, dict(chain, HOME=warm)),
            Side(aws_cmd, dict(chain, HOME=warm)),
            floor, args.rounds, moto_log)))
    finally:
        moto.terminate()

    size = os.path.getsize(binary)
    lines = [
        f"Binary: `{args.bin}`, {size} bytes ({size / 1048576:.2f} MiB). Medians of alternating runs on one machine; "
        "`--version` is the exec floor, timed in the same rotation as each scenario.",
        "",
        "| scenario | eks-token | `eks-token --version` | to the floor | aws eks get-token | speed-up | peak RSS eks-token | peak RSS aws | STS calls per run, eks-token | STS calls per run, aws |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for _, r in results:
        lines.append(
            f"| {r['name']} | {r['ours_ms']:.2f} ms | {r['floor_ms']:.2f} ms | {r['floor_ratio']:.2f}x "
            f"| {r['theirs_ms']:.0f} ms | {r['ratio']:.0f}x "
            f"| {r['ours_peak'] / 1024:.1f} MiB | {r['theirs_peak'] / 1024:.1f} MiB "
            f"| {r['ours_sts']} | {r['theirs_sts']} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.readme:
        with open(args.readme, encoding="utf-8") as f:
            text = f.read()
        new = re.sub(r"(<!-- bench:start -->\n).*?(<!-- bench:end -->)",
                     lambda m: m.group(1) + table + "\n" + m.group(2), text, flags=re.S)
        with open(args.readme, "w", encoding="utf-8") as f:
            f.write(new)
        print(f"updated {args.readme}")
    failed = []
    for key, r in results:
        if r["ratio"] < TARGETS[key]:
            failed.append(f"{r['name']}: {r['ratio']:.1f}x < {TARGETS[key]}x")
        if key in FLOOR_TARGETS and r["floor_ratio"] > FLOOR_TARGETS[key]:
            failed.append(f"{r['name']}: {r['floor_ratio']:.2f}x the exec floor > {FLOOR_TARGETS[key]}x")
        if r["ours_peak"] > MAX_PEAK_KIB:
            failed.append(f"{r['name']}: peak {r['ours_peak']} KiB > {MAX_PEAK_KIB} KiB")
    for f in failed:
        print("MISSED:", f)
    print("all targets met" if not failed else f"{len(failed)} target(s) missed")
    shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
