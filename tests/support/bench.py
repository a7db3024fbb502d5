#!/usr/bin/env python3
"""eks-token vs `aws eks get-token`, side by side in one run. The machines are noisy:
the two commands alternate and their medians are compared as ratios.

Scenarios:
  env          static environment credentials (no network for either tool)
  chain-cold   IRSA -> AssumeRoleWithWebIdentity -> AssumeRole against moto's server,
               every run with an empty cache (eks-token's and aws-cli's ~/.aws/cli/cache)
  chain-warm   the same chain with the caches kept between runs
  fleet        three clusters (dev, qa, prod: three accounts) behind one IRSA role, their
               token files kept fresh for --fleet-seconds (60) at a 1 s refresh interval
               by one `write-token --clusters` and, at the same time, by three sidecars of
               one cluster each: the STS calls of each side (the sessions moto issued for
               its roles) and VmRSS sampled every second

Every scenario also times the binary's own `--version` in the same rotation: the exec
floor, what running the binary at all costs. Reports median wall time, the ratio to
that floor and to aws-cli, each command's peak RSS (GNU time), the STS requests one run
makes (counted in moto's log) and the binary's size, as a Markdown table; --readme
rewrites the table between the bench markers of README.md. Exits 1 when a target is
missed. Processes are started with posix_spawn, which costs this (large) Python process
far less than fork.
"""
import argparse
import json
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


FLEET = [("dev", "222222222222"), ("qa", "333333333333"), ("prod", "444444444444")]


def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def sessions(url):
    """Every session moto has issued: (role ARN, access key id)."""
    with urllib.request.urlopen(url + "/moto-api/data.json", timeout=10) as r:
        data = json.load(r)
    return [s["role_arn"] for s in data["sts"]["AssumedRole"]]


def fleet(binary, base, url, work, seconds):
    """One `write-token --clusters` for three clusters, and three one-cluster sidecars
    beside it, for `seconds` at a 1 s refresh interval, each side with its own roles and
    a cold cache: the STS calls of each (the sessions moto issued for its roles), the
    files written, and VmRSS each second (the writer's; the sidecars' summed)."""
    token = os.path.join(work, "fleet-web-identity")
    with open(token, "w") as f:
        f.write("eyJhbGciOiJSUzI1NiJ9.fleet.c2ln")
    role = lambda side, name, account: f"arn:aws:iam::{account}:role/{side}-{name}"
    irsa = lambda side: f"arn:aws:iam::111111111111:role/{side}-irsa"

    def env(side, home):
        os.makedirs(os.path.join(work, home), exist_ok=True)
        return dict(base, HOME=os.path.join(work, home), AWS_WEB_IDENTITY_TOKEN_FILE=token,
                    AWS_ROLE_ARN=irsa(side), AWS_ENDPOINT_URL_STS=url)

    clusters = os.path.join(work, "clusters.yaml")
    with open(clusters, "w") as f:
        f.write("clusters:\n")
        for name, account in FLEET:
            f.write(f"- name: {name}\n  roleArn: {role('fleet', name, account)}\n"
                    f"  out: {os.path.join(work, 'fleet', name, 'token')}\n")
    logs, procs = [], []

    def start(cmd, env):
        log = open(os.path.join(work, f"log-{len(procs)}"), "w+")
        logs.append(log)
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log))

    start([binary, "write-token", "--clusters", clusters, "--refresh", "--refresh-interval", "1s"],
          env("fleet", "fleet-home"))
    for name, account in FLEET:
        start([binary, "write-token", "--cluster-name", name, "--role-arn", role("sidecar", name, account),
               "--out", os.path.join(work, "sidecar", name, "token"), "--refresh", "--refresh-interval", "1s"],
              env("sidecar", f"sidecar-{name}-home"))
    writer, sidecars = [], []
    for _ in range(seconds):
        time.sleep(1)
        writer.append(vm_rss_kib(procs[0].pid))
        sidecars.append(sum(vm_rss_kib(p.pid) for p in procs[1:]))
    for p in procs:
        p.terminate()
        p.wait(timeout=10)
    issued = sessions(url)
    calls = lambda side: sum(1 for r in issued if r.startswith("arn:aws:iam::") and
                             r.split("/")[-1].startswith(side + "-"))
    writes = []
    for log in logs:
        log.seek(0)
        writes.append(sum(1 for line in log if '"outcome":"ok"' in line))
        log.close()
    exits = [p.returncode for p in procs]
    return dict(seconds=seconds, fleet_sts=calls("fleet"), sidecar_sts=calls("sidecar"),
                fleet_writes=writes[0], sidecar_writes=sum(writes[1:]), exits=exits,
                fleet_rss=(min(writer), max(writer)), sidecar_rss=(min(sidecars), max(sidecars)))


def fleet_table(r):
    n = len(FLEET)
    mib = lambda kib: f"{kib / 1024:.2f} MiB"
    return "\n".join([
        f"Fleet: {n} clusters (three accounts) behind one IRSA role, every token file rewritten "
        f"each second for {r['seconds']} s, cold caches; STS calls are the sessions moto issued "
        "for each side's roles; VmRSS sampled each second.",
        "",
        "| for 3 clusters | processes | STS calls | token files written | VmRSS, lowest - highest |",
        "|---|---:|---:|---:|---|",
        f"| `write-token --clusters` | 1 | {r['fleet_sts']} (1 + {n}) | {r['fleet_writes']} "
        f"| {mib(r['fleet_rss'][0])} - {mib(r['fleet_rss'][1])} |",
        f"| a `write-token` sidecar per cluster | {n} | {r['sidecar_sts']} (2 x {n}) | {r['sidecar_writes']} "
        f"| {mib(r['sidecar_rss'][0])} - {mib(r['sidecar_rss'][1])} (summed) |",
    ])


def replace_between(path, marker, table):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    new = re.sub(rf"(<!-- {marker}:start -->\n).*?(<!-- {marker}:end -->)",
                 lambda m: m.group(1) + table + "\n" + m.group(2), text, flags=re.S)
    with open(path, "w", encoding="utf-8") as f:
        f.write(new)
    print(f"updated {path} ({marker})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--readme")
    ap.add_argument("--fleet-seconds", type=int, default=60)
    ap.add_argument("--only", choices=["fleet"], help="run this scenario alone")
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

    if args.only == "fleet":
        moto, url, _ = start_moto(work)
        try:
            r = fleet(binary, base, url, work, args.fleet_seconds)
        finally:
            moto.terminate()
        return finish_fleet(r, args, work)

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
        fleet_result = fleet(binary, base, url, work, args.fleet_seconds)
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
        replace_between(args.readme, "bench", table)
    failed = fleet_missed(fleet_result)
    print(fleet_table(fleet_result))
    if args.readme:
        replace_between(args.readme, "bench-fleet", fleet_table(fleet_result))
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


# The fleet's targets: exactly 1 + N STS calls (N sidecars make 2N), every file rewritten
# about each second, and flat memory: VmRSS may move by no more than this over the run.
MAX_FLEET_RSS_RANGE_KIB = 256


def fleet_missed(r):
    n, failed = len(FLEET), []
    if r["fleet_sts"] != 1 + n:
        failed.append(f"fleet: {r['fleet_sts']} STS calls, not 1 + {n}")
    if r["sidecar_sts"] != 2 * n:
        failed.append(f"sidecars: {r['sidecar_sts']} STS calls, not 2 x {n}")
    if r["fleet_writes"] < n * (r["seconds"] - 5):
        failed.append(f"fleet: {r['fleet_writes']} files written in {r['seconds']} s")
    low, high = r["fleet_rss"]
    if high - low > MAX_FLEET_RSS_RANGE_KIB:
        failed.append(f"fleet: VmRSS moved {high - low} KiB ({low} - {high})")
    if any(code != 0 for code in r["exits"]):
        failed.append(f"exit codes after SIGTERM: {r['exits']}")
    return failed


def finish_fleet(r, args, work):
    table = fleet_table(r)
    print(table)
    if args.readme:
        replace_between(args.readme, "bench-fleet", table)
    failed = fleet_missed(r)
    for f in failed:
        print("MISSED:", f)
    print("all targets met" if not failed else f"{len(failed)} target(s) missed")
    shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
