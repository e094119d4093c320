"""Section 1: the same steps on two runtimes (steprunner, real Motia 0.17), and the bare Starlette ceiling.

Each server starts fresh on its own port and data folder, seeded with the same pets, and gets
the same load: the event chain (POST -> in_quarantine with profile) one pet at a time, then
wrk on GET /py/pets/:id and POST /py/pets at 1 and 32 clients. The chain goes first, on a
fresh server. Motia slows down as it runs (by how much: bench/README.md), so it is started
afresh for each line, its best case. The POSTs go last: each sets off an event chain that keeps the server
busy after the load stops. For the GETs, steprunner and the ceiling are pinned to core 0 and
wrk to core 1 (see `servers.pin`); Motia, several processes by design, is never pinned.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import servers
from bench.chain import done_via_file, done_via_http, measure_chain
from bench.load import Client, get_script, median_run, post_script, run_wrk, run_wrk_median
from bench.plan import Plan
from bench.seed import seed
from bench.stats import summary

SERVER_CORE, WRK_CORE = 0, 1  # steprunner and the ceiling on one core, wrk on the other


def _pinned() -> bool:
    return (os.cpu_count() or 1) >= 2


def _http_lines(base_url: str, plan: Plan, fast: bool, which: str) -> dict[str, Any]:
    """wrk at each client count: the median of `plan.repeats` short runs, or one long run on Motia."""
    script = get_script(plan.seed_pets) if which == "get" else post_script()
    seconds, repeats, timeout_s = (plan.fast_seconds, plan.repeats, 10.0) if fast else (plan.motia_seconds, 1, 60.0)
    return {f"{which}_c{c}": run_wrk_median(base_url, script, c, seconds, repeats, timeout_s) for c in plan.clients}


def run(plan: Plan, log: Any) -> dict[str, Any]:
    """steprunner, and the ceiling's GETs alternating with steprunner's (the two are compared, and
    other work on the machine then weighs on both alike). Motia is `run_motia`, run last of all."""
    data = Path(tempfile.mkdtemp(prefix="bench-sr-"))
    sr: dict[str, Any] = {}
    ceiling: dict[str, Any] = {}
    try:
        seed(data, plan.seed_pets)
        with servers.steprunner(data) as server:
            log("steprunner: event chain")
            client = Client(server.base_url)
            sr["chain"] = summary(measure_chain(client, done_via_http(client), plan.chain_pets))
            client.close()
            with servers.ceiling() as app:
                core = WRK_CORE if _pinned() else None
                if (
                    _pinned()
                ):  # for the GETs only: the chain and the POSTs gain from the journal thread on the other core
                    servers.pin(server.proc.pid, {SERVER_CORE})
                    servers.pin(app.proc.pid, {SERVER_CORE})
                script = get_script(plan.seed_pets)
                for c in plan.clients:
                    log(f"steprunner and the Starlette ceiling, in turn: GET at {c} client{'s' if c > 1 else ''}")
                    ours, theirs = [], []
                    for _ in range(max(1, plan.repeats)):
                        ours.append(run_wrk(server.base_url, script, c, plan.fast_seconds, core=core))
                        theirs.append(run_wrk(app.base_url, script, c, plan.fast_seconds, core=core))
                    sr[f"get_c{c}"], ceiling[f"get_c{c}"] = median_run(ours), median_run(theirs)
            if _pinned():
                servers.pin(server.proc.pid, set(range(os.cpu_count() or 1)))
            log("steprunner: POST")
            sr.update(_http_lines(server.base_url, plan, True, "post"))
            sr["rss_mb"] = servers.rss_mb(server.proc.pid)
        return {"steprunner": sr, "ceiling": ceiling}
    finally:
        shutil.rmtree(data, ignore_errors=True)


def run_motia(plan: Plan, log: Any) -> dict[str, Any]:
    """Every line on a freshly started Motia (with freshly seeded pets): it slows down as it runs
    (bench/README.md), so each line gets its best case rather than the leftovers of the one before."""
    missing = servers.motia_missing()
    if missing:
        log(f"Motia: skipped: {missing}")
        return {"unavailable": missing}
    result: dict[str, Any] = {}
    try:
        with _fresh_motia(plan) as (server, data):
            log("Motia: event chain")
            client = Client(server.base_url, timeout_s=120)
            samples = measure_chain(
                client,
                done_via_file(data),
                plan.motia_chain_pets,
                deadline_s=120,
                time_budget_s=plan.motia_chain_budget_s,
            )
            result["chain"] = summary(samples)
            client.close()
        for which, script in (("get", get_script(plan.seed_pets)), ("post", post_script())):
            for c in plan.clients:
                with _fresh_motia(plan) as (server, _):
                    log(f"Motia: {which.upper()} at {c} client{'s' if c > 1 else ''}")
                    result[f"{which}_c{c}"] = run_wrk_median(
                        server.base_url, script, c, plan.motia_seconds, 1, timeout_s=60.0
                    )
        return result
    except servers.MotiaUnavailable as exc:
        return {**result, "unavailable": str(exc)}


@contextlib.contextmanager
def _fresh_motia(plan: Plan) -> Iterator[tuple[Any, Path]]:
    data = Path(tempfile.mkdtemp(prefix="bench-motia-"))
    try:
        seed(data, plan.seed_pets)
        with servers.motia(data) as server:
            yield server, data
    finally:
        shutil.rmtree(data, ignore_errors=True)
