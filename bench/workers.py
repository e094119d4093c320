"""Section 3: several workers: `--workers 1` and `--workers 2` (this machine has 2 cores).

With 2 workers, uvicorn runs two processes on one port; they share DATA_DIR: pets.json under
its file lock and the SQLite event journal. GET and POST throughput at 32 clients, then the
event chain one pet at a time (its steps may run in either process, and each process re-reads
what the other wrote). wrk runs on the same 2 cores, so with two workers three busy processes
share two cores.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from bench import servers
from bench.chain import done_via_http, measure_chain
from bench.load import Client, get_script, post_script, run_wrk_median
from bench.plan import Plan
from bench.seed import seed
from bench.stats import summary

CLIENTS = 32


def measure(workers: int, plan: Plan, log: Any) -> dict[str, Any]:
    """`--workers N` on fresh data: the chain, then GET and POST throughput, then memory of all processes."""
    data = Path(tempfile.mkdtemp(prefix=f"bench-w{workers}-"))
    try:
        seed(data, plan.seed_pets)
        with servers.steprunner(data, workers=workers) as server:
            log(f"--workers {workers}: chain, GET, POST")
            result: dict[str, Any] = {"workers": workers}
            client = Client(server.base_url)
            result["chain"] = summary(measure_chain(client, done_via_http(client), plan.chain_pets))
            client.close()
            result["get"] = run_wrk_median(
                server.base_url, get_script(plan.seed_pets), CLIENTS, plan.fast_seconds, plan.repeats
            )
            result["post"] = run_wrk_median(server.base_url, post_script(), CLIENTS, plan.fast_seconds, plan.repeats)
            result["rss_mb"] = servers.rss_mb(server.proc.pid)
        return result
    finally:
        shutil.rmtree(data, ignore_errors=True)


def run(plan: Plan, log: Any) -> list[dict[str, Any]]:
    """Each worker count of the plan."""
    return [measure(w, plan, log) for w in plan.workers]
