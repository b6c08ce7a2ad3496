"""Load run: throughput and latency of gunicorn on MySQL, from loopback, bounded in time.

    python .ci/load.py        # MYSQL_HOST etc. as for the MySQL test suite; needs wrk

A throwaway MySQL database (test_intrasoft_load) gets the demo data; gunicorn serves it with
the production settings and its default worker count on 127.0.0.1:LOAD_PORT (8107). wrk then
runs

1. a mix of opportunity list (40%), detail (40%) and create (20%) at increasing concurrency,
   LOAD_STEP_SECONDS each (default 10 s x 6 steps = 60 s): the maximum throughput;
2. at half of that maximum, LOAD_TARGET_SECONDS each (default 20 s): detail reads only,
   creates only, and the mix: the latency targets (p99 < 100 ms) apply here.

It prints a table (requests/s, p50/p95/p99/max latency, errors) and exits non-zero if any
request failed or a target was missed. The database is dropped afterwards.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

from serverkit import ROOT, api_token, create_database, drop_database, gunicorn, log, mysql_env, mysql_query

PORT = int(os.environ.get("LOAD_PORT", "8107"))
STEP_SECONDS = int(os.environ.get("LOAD_STEP_SECONDS", "10"))
TARGET_SECONDS = int(os.environ.get("LOAD_TARGET_SECONDS", "20"))
CONCURRENCY = [int(c) for c in os.environ.get("LOAD_CONCURRENCY", "1,2,4,8,16,32").split(",")]
TARGET_CONNECTIONS = 4
P99_TARGET_MS = 100.0
SCRIPT = ROOT / ".ci" / "load.lua"
HEADER = (
    "| run                          |   c |   req/s | p50 ms | p95 ms | p99 ms |  max ms | errors |\n"
    "|------------------------------|-----|---------|--------|--------|--------|---------|--------|"
)


def wrk(ids: dict, mix: str, connections: int, seconds: int, delay_ms: float = 0, port: int = PORT) -> dict:
    process = start_wrk(ids, mix, connections, seconds, delay_ms, port)
    return wrk_result(process, mix, connections, seconds)


def start_wrk(ids: dict, mix: str, connections: int, seconds: int, delay_ms: float = 0, port: int = PORT):
    env = {
        **os.environ,
        "LOAD_TOKEN": ids["token"],
        "LOAD_READ_TOKEN": ids.get("read_token", ""),
        "LOAD_CIDS": ",".join(map(str, ids["cids"])),
        "LOAD_OIDS": ",".join(ids["oids"]),
        "LOAD_MIX": mix,
        "LOAD_DELAY_MS": str(int(delay_ms)),
    }
    threads = min(connections, 2)
    return subprocess.Popen(
        [
            shutil.which("wrk") or "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(SCRIPT),
            f"http://127.0.0.1:{port}",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wrk_result(process: subprocess.Popen, mix: str, connections: int, seconds: int) -> dict:
    stdout, stderr = process.communicate(timeout=seconds + 60)
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed ({process.returncode}): {stderr.strip()}")
    line = next(line for line in stdout.splitlines() if line.startswith("LOAD_RESULT "))
    figures = json.loads(line.removeprefix("LOAD_RESULT "))
    figures["rps"] = figures["requests"] / (figures["duration_us"] / 1e6)
    figures["errors"] = sum(
        figures[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts", "non_2xx")
    )
    figures.update(mix=mix, connections=connections)
    return figures


def one_and_two_instances(ids: dict, ports: tuple[int, int], connections: int, seconds: int) -> list[dict]:
    """The mixed load on the first instance alone, then on both at once (half the connections each,
    then the same connections each), back to back: throughput summed over the two wrk runs, the
    latency figures the worse of the two (percentiles of two runs cannot be merged exactly)."""
    runs = [{**wrk(ids, "mixed", connections, seconds, port=ports[0]), "label": "1 instance"}]
    for each in (connections // 2, connections):
        processes = [start_wrk(ids, "mixed", each, seconds, port=port) for port in ports]
        results = [wrk_result(p, "mixed", each, seconds) for p in processes]
        combined = {k: max(r[k] for r in results) for k in ("p50_us", "p95_us", "p99_us", "max_us")}
        combined.update(
            rps=sum(r["rps"] for r in results),
            errors=sum(r["errors"] for r in results),
            connections=each * len(ports),
            label=f"2 instances, {each} + {each}",
            mix="mixed",
        )
        runs.append(combined)
    return runs


def row(label: str, f: dict) -> str:
    ms = {k: f[f"{k}_us"] / 1000 for k in ("p50", "p95", "p99", "max")}
    return (
        f"| {label:<28} | {f['connections']:>3} | {f['rps']:>7.1f} | {ms['p50']:>6.1f} | {ms['p95']:>6.1f} "
        f"| {ms['p99']:>6.1f} | {ms['max']:>7.1f} | {f['errors']:>6} |"
    )


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.system()}"


def main() -> int:
    if not shutil.which("wrk"):
        log("load: wrk is not installed (Debian/Ubuntu: apt-get install wrk)")
        return 2
    # LOAD_CACHE_URL compares where the rate-limit counters live (default: the database cache).
    env = mysql_env(
        os.environ.get("LOAD_MYSQL_DB", "test_intrasoft_load"), CACHE_URL=os.environ.get("LOAD_CACHE_URL", "")
    )
    log(f"load: preparing MySQL database {env['MYSQL_DB']} with the demo data")
    create_database(env)
    token = api_token(env, "load-editor", "editor")
    ids = {
        "token": token,
        "cids": [r[0] for r in mysql_query(env, "SELECT cid FROM customer ORDER BY cid", db=env["MYSQL_DB"])],
        "oids": [r[0] for r in mysql_query(env, "SELECT oid FROM crm_opportunities", db=env["MYSQL_DB"])],
    }
    problems = []
    try:
        with gunicorn(env, PORT):
            workers = os.environ.get("WEB_CONCURRENCY") or str((os.cpu_count() or 1) * 2 + 1)
            log(f"load: gunicorn with {workers} sync workers on 127.0.0.1:{PORT}; machine: {machine()}")
            # Warm up: connections, imports, the first queries.
            wrk(ids, "mixed", 2, 3)
            steps = []
            for connections in CONCURRENCY:
                figures = wrk(ids, "mixed", connections, STEP_SECONDS)
                steps.append(figures)
                p99 = figures["p99_us"] / 1000
                log(f"load: mixed c={connections}: {figures['rps']:.0f} req/s, p99 {p99:.1f} ms")
            peak = max(steps, key=lambda f: f["rps"])
            half = peak["rps"] / 2
            # Each of the connections waits between requests so that together they send about
            # half the peak rate (wrk is closed-loop: a slower answer lowers the rate).
            # The typical answer time near that rate comes from the step whose rate was closest.
            base_ms = min(steps, key=lambda f: abs(f["rps"] - half))["p50_us"] / 1000
            delay_ms = max(0.0, TARGET_CONNECTIONS * 1000 / half - base_ms)
            targets = {}
            for mix in ("detail", "create", "mixed"):
                targets[mix] = wrk(ids, mix, TARGET_CONNECTIONS, TARGET_SECONDS, delay_ms)
            print("\n" + HEADER)
            for f in steps:
                print(row(f"mixed, step {f['connections']}", f))
            for mix, f in targets.items():
                print(row(f"{mix} at ~50% of peak", f))
            print(
                f"\npeak {peak['rps']:.0f} req/s (mixed, c={peak['connections']}); "
                f"half-peak runs aimed at {half:.0f} req/s. Machine: {machine()}."
            )
            for f in steps + list(targets.values()):
                if f["errors"]:
                    problems.append(f"{f['mix']} c={f['connections']}: {f['errors']} errors")
            for mix in ("detail", "create"):
                p99 = targets[mix]["p99_us"] / 1000
                if p99 >= P99_TARGET_MS:
                    problems.append(f"{mix} p99 {p99:.1f} ms at half peak (target < {P99_TARGET_MS:.0f} ms)")
    finally:
        drop_database(env)
    for problem in problems:
        log(f"load: MISSED: {problem}")
    log("load: all targets met" if not problems else "load: targets missed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
