"""Section 2: the store as it grows: 100, 1,000, 10,000 and 100,000 pets in pets.json.

For each size: seed pets.json in one write (bench/seed.py), start a fresh server, then one
request at a time: get (random ids), list (first page, the default 20), create and update
(name only: a field write, no status request). Each create waits until its pet's event chain
has finished before the next one, so a create is timed on an idle server and not behind the
previous pet's three chain writes; that chain's latency is reported too. Also recorded: the
time from start to ready (the file is read and indexed once), the file size, and the server's
resident memory after the run.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import servers
from bench.chain import done_via_http
from bench.load import Client
from bench.plan import Plan
from bench.seed import seed
from bench.stats import summary


def _timed(client: Client, method: str, path: str, body: Any = None, expect: int = 200) -> float:
    status, answer, elapsed = client.call(method, path, body)
    if status != expect:
        raise RuntimeError(f"{method} {path} answered {status}: {answer}")
    return elapsed


def measure_size(size: int, plan: Plan, log: Any) -> dict[str, Any]:
    """One store size on a fresh server: latency summaries per operation, file size, memory."""
    rng = random.Random(size)
    writes = plan.writes_largest if size == max(plan.sizes) else plan.writes
    data = Path(tempfile.mkdtemp(prefix=f"bench-grow{size}-"))
    try:
        started = time.perf_counter()
        seed(data, size)
        seeded_s = time.perf_counter() - started
        started = time.perf_counter()
        with servers.steprunner(data) as server:
            ready_s = time.perf_counter() - started
            rss_start = servers.rss_mb(server.proc.pid)
            client = Client(server.base_url)
            for _ in range(20):  # warm-up: connection, first imports, caches
                _timed(client, "GET", f"/py/pets/{rng.randint(1, size)}")
            log(f"{size} pets: get, list")
            gets = [_timed(client, "GET", f"/py/pets/{rng.randint(1, size)}") for _ in range(plan.gets)]
            lists = [_timed(client, "GET", "/py/pets") for _ in range(plan.lists)]
            log(f"{size} pets: {writes} creates (each waits for its chain), {writes} updates")
            done_at = done_via_http(client)
            creates: list[float] = []
            chains: list[float] = []
            for n in range(writes):
                sent_ms = time.time() * 1000
                status, pet, elapsed = client.call(
                    "POST", "/py/pets", {"name": f"Grow {n}", "species": "dog", "ageMonths": 3}
                )
                if status != 201:
                    raise RuntimeError(f"POST /py/pets answered {status}: {pet}")
                creates.append(elapsed)
                deadline = time.monotonic() + 60
                while (finished := done_at(pet["id"])) is None:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"pet {pet['id']}: chain not finished after 60 s")
                    time.sleep(0.002)  # polling the result of a benchmark, not a test
                chains.append(finished - sent_ms)
            updates = [
                _timed(client, "PUT", f"/py/pets/{rng.randint(1, size)}", {"name": f"Renamed {n}"})
                for n in range(writes)
            ]
            client.close()
            rss_end = servers.rss_mb(server.proc.pid)
        file_mb = (data / "pets.json").stat().st_size / 1e6
        return {
            "pets": size,
            "seed_s": seeded_s,
            "ready_s": ready_s,
            "file_mb": file_mb,
            "rss_start_mb": rss_start,
            "rss_mb": rss_end,
            "get": summary(gets),
            "list": summary(lists),
            "create": summary(creates),
            "update": summary(updates),
            "chain": summary(chains),
        }
    finally:
        shutil.rmtree(data, ignore_errors=True)


def run(plan: Plan, log: Any) -> list[dict[str, Any]]:
    """Every size of the plan, smallest first."""
    return [measure_size(size, plan, log) for size in plan.sizes]
