"""The two load generators every section shares, so every runtime is measured the same way.

- `wrk`: fixed concurrency for a fixed time (Debian's `wrk`, one thread, keep-alive), for
  requests per second with p50/p99. It is C, so it takes less of the 2 cores from the server
  than a Python client would; it still runs on the same machine, and that is part of the
  numbers.
- `Client`: one keep-alive connection from `http.client`, one request at a time, for the
  latency of single operations (create, get, update, list) and for the event chain. It adds
  far less of its own per call than httpx (bench/README.md, "Reading results/results.md").

Every load is bounded: wrk by its duration, the client by a count of calls, each with a
timeout; everything goes to 127.0.0.1.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


@dataclass(frozen=True)
class LoadResult:
    """What one wrk run measured. Latencies in ms; errors = non-2xx answers + socket errors
    (the two also apart: non_2xx, socket_errors)."""

    connections: int
    seconds: float
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    non_2xx: int = 0
    socket_errors: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def get_script(ids: int) -> str:
    """GET /py/pets/:id over ids 1..ids, in a fixed pseudo-random order (same for every runtime)."""
    return (
        "math.randomseed(42)\n"
        f"request = function() return wrk.format('GET', '/py/pets/' .. math.random(1, {ids})) end\n"
    )


def post_script() -> str:
    """POST /py/pets with a valid new pet each time (a different name per request)."""
    return (
        "local n = 0\n"
        "request = function()\n"
        "  n = n + 1\n"
        '  local body = \'{"name":"Bench \' .. n .. \'","species":"dog","ageMonths":12}\'\n'
        "  return wrk.format('POST', '/py/pets', {['Content-Type'] = 'application/json'}, body)\n"
        "end\n"
    )


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def _latency_ms(out: str, label: str) -> float:
    match = re.search(rf"^\s*{re.escape(label)}\s+([\d.]+)(us|ms|s|m)\b", out, re.MULTILINE)
    if match is None:
        return float("nan")  # no request finished
    return float(match.group(1)) * WRK_UNITS[match.group(2)]


def run_wrk(
    base_url: str, script: str, connections: int, seconds: float, timeout_s: float = 10.0, core: int | None = None
) -> LoadResult:
    """Run wrk against base_url for `seconds` at `connections` concurrent keep-alive clients
    (on CPU `core` only, when given)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
        lua = f.name
    cmd = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds:g}s",
        f"--timeout={timeout_s:g}s",
        "--latency",
        "-s",
        lua,
        base_url,
    ]
    try:
        on_core = (lambda: os.sched_setaffinity(0, {core})) if core is not None else None
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + timeout_s + 30, preexec_fn=on_core)
    finally:
        Path(lua).unlink(missing_ok=True)
    out = done.stdout
    if done.returncode != 0 or "Requests/sec" not in out:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip() or out.strip()}")
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    bad = int(non2xx.group(1)) if non2xx else 0
    lost = sum(int(g) for g in socket.groups()) if socket else 0
    requests = int(total.group(1)) if total else 0
    return LoadResult(
        connections=connections,
        seconds=seconds,
        requests=requests,
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        p50_ms=_latency_ms(out, "50%") if requests else float("nan"),  # wrk prints 0 when none finished
        p99_ms=_latency_ms(out, "99%") if requests else float("nan"),
        errors=bad + lost,
        non_2xx=bad,
        socket_errors=lost,
    )


def run_wrk_median(
    base_url: str,
    script: str,
    connections: int,
    seconds: float,
    repeats: int,
    timeout_s: float = 10.0,
    core: int | None = None,
) -> dict[str, Any]:
    """Run wrk `repeats` times and keep the run with the median requests/s (all rates kept in `runs_rps`).

    Other work on a shared 2-core machine can take the cores for a few seconds; a median of
    short runs is steadier than one long run.
    """
    return median_run(
        [run_wrk(base_url, script, connections, seconds, timeout_s, core) for _ in range(max(1, repeats))]
    )


def median_run(runs: list[LoadResult]) -> dict[str, Any]:
    """The run with the median requests/s, plus every run's rate and all runs' errors."""
    middle = sorted(runs, key=lambda r: r.rps)[len(runs) // 2]
    return {**middle.as_dict(), "runs_rps": [round(r.rps, 1) for r in runs], "errors": sum(r.errors for r in runs)}


class Client:
    """One keep-alive HTTP/1.1 connection to a server on 127.0.0.1, one request at a time."""

    def __init__(self, base_url: str, timeout_s: float = 30.0) -> None:
        host, port = base_url.removeprefix("http://").split(":")
        self._conn = http.client.HTTPConnection(host, int(port), timeout=timeout_s)

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any, float]:
        """(status, decoded JSON body or None, elapsed ms from sending to the last byte read)."""
        payload = None if body is None else json.dumps(body).encode()
        headers = {} if payload is None else {"Content-Type": "application/json"}
        for attempt in (1, 2):
            started = time.perf_counter()
            try:
                self._conn.request(method, path, body=payload, headers=headers)
                response = self._conn.getresponse()
                raw = response.read()
                break
            except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
                # The server closed an idle keep-alive connection (Node does after 5 s) before
                # reading this request: connect again and send it once more.
                self._conn.close()
                if attempt == 2:
                    raise
            except (http.client.HTTPException, OSError):
                self._conn.close()
                raise
        elapsed = (time.perf_counter() - started) * 1000
        return response.status, (json.loads(raw) if raw else None), elapsed

    def close(self) -> None:
        self._conn.close()
