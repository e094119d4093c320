"""steprunner on its own: a trivial API step and a one-hop event.

Prints requests/s at 32 concurrent connections with p50/p99 (wrk), and emit-to-handler latency
(sequential and under load). Run: `make bench-runtime` (or `.venv/bin/python bench/runtime_bench.py`).
Numbers, not pass/fail. wrk runs on the same 2 cores as the server, so it takes a share of them.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from steprunner.testing.server import start_server  # the same launcher the tests use

HERE = Path(__file__).resolve().parent

DURATION = os.environ.get("BENCH_DURATION", "8s")
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
POST_LUA = 'wrk.method = "POST"\nwrk.body = "{}"\nwrk.headers["Content-Type"] = "application/json"\n'


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def wrk(url: str, script: str | None = None) -> dict[str, float]:
    cmd = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{DURATION}", "--latency", url]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        if script:
            f.write(script)
            cmd[1:1] = ["-s", f.name]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    unit = {"us": 1e-3, "ms": 1.0, "s": 1e3}

    def latency(label: str) -> float:
        value, u = re.search(rf"{label}\s+([\d.]+)(us|ms|s)\b", out).groups()
        return float(value) * unit[u]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": latency("50%"),
        "p99": latency("99%"),
        "non2xx": int(errors.group(1)) if errors else 0,
    }


def main() -> None:
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (Debian package `wrk`; `make bench` installs it)")
    data = Path(tempfile.mkdtemp(prefix="bench-runtime-"))
    server = start_server(
        data,
        root=HERE / "runtime_project",
        env={"STEPRUNNER_JOURNAL_SYNC": os.environ.get("STEPRUNNER_JOURNAL_SYNC", "FULL")},
    )
    try:
        with httpx.Client(base_url=server.base_url) as client:
            for _ in range(200):
                client.get("/ping")
            client.delete("/latency")
            for _ in range(500):  # one at a time: the latency an idle server adds
                client.post("/emit", json={})
            time.sleep(0.5)  # let the last handlers finish before collecting (a benchmark, not a test)
            idle = client.delete("/latency").json()["samples"]
        ping = wrk(f"{server.base_url}/ping")
        emit = wrk(f"{server.base_url}/emit", POST_LUA)
        time.sleep(0.5)
        with httpx.Client(base_url=server.base_url) as client:
            loaded = client.delete("/latency").json()["samples"]
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)

    ms = lambda s: s * 1000  # noqa: E731
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}")
    print(
        f"load: wrk -t1 -c{CONNECTIONS} -d{DURATION} on 127.0.0.1; "
        f"journal sync {os.environ.get('STEPRUNNER_JOURNAL_SYNC', 'FULL')}\n"
    )
    print("| measure | requests/s | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|")
    print(
        f"| GET /ping (trivial API step), {CONNECTIONS} clients "
        f"| {ping['rps']:.0f} | {ping['p50']:.2f} | {ping['p99']:.2f} |"
    )
    print(
        f"| POST /emit (API step + one emit), {CONNECTIONS} clients "
        f"| {emit['rps']:.0f} | {emit['p50']:.2f} | {emit['p99']:.2f} |"
    )
    print(
        f"| emit -> handler start, idle ({len(idle)} events) "
        f"| | {ms(statistics.median(idle)):.2f} | {ms(quantile(idle, 0.99)):.2f} |"
    )
    print(
        f"| emit -> handler start, under the POST load ({len(loaded)} events) "
        f"| | {ms(statistics.median(loaded)):.2f} | {ms(quantile(loaded, 0.99)):.2f} |"
    )
    if ping["non2xx"] or emit["non2xx"]:
        print(f"\nnon-2xx responses: ping {ping['non2xx']}, emit {emit['non2xx']}")


if __name__ == "__main__":
    main()
