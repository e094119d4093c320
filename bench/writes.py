"""Writes under load: 32 clients creating pets while one client reads a pet, on a fresh server.

    python bench/writes.py [--seconds 10] [--runs 1] [--root DIR] [--out bench/results/NAME.md]

Whether creates stay quick and a plain read stays fast while every create's chain of background
writes shares the one event loop. What is measured, the targets and the caveats: bench/README.md,
section 4 ("Writes under load").
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import machine, servers  # noqa: E402
from bench.load import Client, post_script, run_wrk, wrk_available  # noqa: E402
from bench.stats import summary  # noqa: E402

CLIENTS = 32
GET_EVERY_S = 0.010
SETTLE_POLL_S = 0.1
SETTLE_DEADLINE_S = 300.0
QUIET_BELOW = 0.20  # --wait-quiet: start a run once the cores are under this busy
TARGET_POST_RPS = 500.0
TARGET_GET_P99_MS = 20.0


def _settled(pet: dict[str, Any]) -> bool:
    return pet.get("status") == "in_quarantine" and bool(pet.get("profile"))


def count_pets(client: Client) -> tuple[int, int]:
    """(pets, of which settled), walking GET /py/pets?limit=100 to the last page."""
    total = done = 0
    cursor: str | None = None
    while True:
        path = "/py/pets?limit=100" + (f"&cursor={quote(cursor)}" if cursor else "")
        status, page, _ = client.call("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {page}")
        total += len(page["items"])
        done += sum(1 for pet in page["items"] if _settled(pet))
        cursor = page.get("nextCursor")
        if not cursor:
            return total, done


def _read_while(client: Client, pet_id: str, running: threading.Event) -> tuple[list[float], int]:
    """GET /py/pets/:id every GET_EVERY_S while `running` is set: (latencies ms, non-200 count)."""
    samples: list[float] = []
    failed = 0
    tick = time.monotonic()
    while running.is_set():
        status, _, elapsed = client.call("GET", f"/py/pets/{pet_id}")
        samples.append(elapsed)
        failed += status != 200
        tick = max(tick + GET_EVERY_S, time.monotonic())  # no burst to catch up after a slow GET
        time.sleep(max(0.0, tick - time.monotonic()))  # the reader's pace, not a wait for the server
    return samples, failed


def measure(seconds: float, root: Path = REPO, log: Any = print) -> dict[str, Any]:
    """One run on a fresh server and DATA_DIR (what it measures: bench/README.md, section 4)."""
    data = Path(tempfile.mkdtemp(prefix="bench-writes-"))
    busy_before = machine.cpu_busy()
    meter = machine.OtherWork()  # read after the server has stopped, so its CPU counts as ours
    try:
        with servers.steprunner(data, root=root) as server:
            client = Client(server.base_url)
            status, pet, _ = client.call("POST", "/py/pets", {"name": "Buddy", "species": "dog", "ageMonths": 24})
            if status != 201:
                raise RuntimeError(f"POST /py/pets answered {status}: {pet}")
            pet_id = pet["id"]
            give_up = time.monotonic() + 30
            while count_pets(client) != (1, 1):
                if time.monotonic() > give_up:
                    raise RuntimeError("the first pet's chain did not settle within 30 s")
                time.sleep(0.01)

            running = threading.Event()
            running.set()
            post: dict[str, Any] = {}

            def load() -> None:
                try:
                    post["result"] = run_wrk(server.base_url, post_script(), CLIENTS, seconds)
                except Exception as exc:  # noqa: BLE001 - re-raised below, in the main thread
                    post["error"] = exc
                finally:
                    running.clear()

            wrk = threading.Thread(target=load, daemon=True)
            wrk.start()
            gets, get_failed = _read_while(client, pet_id, running)
            wrk.join()
            load_ended = time.monotonic()
            if "error" in post:
                raise post["error"]

            give_up = load_ended + SETTLE_DEADLINE_S
            while True:
                pets, settled = count_pets(client)
                if pets == settled or time.monotonic() > give_up:
                    break
                time.sleep(SETTLE_POLL_S)
            settle_s = time.monotonic() - load_ended if pets == settled else None
            client.close()
            rss = servers.rss_mb(server.proc.pid)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    return {
        "seconds": seconds,
        "clients": CLIENTS,
        "post": post["result"].as_dict(),
        "get": {**summary(gets), "non_200": get_failed},
        "pets": pets,
        "pets_settled": settled,
        "settle_s": settle_s,
        "rss_mb": rss,
        "cpu_busy_before": busy_before,
        "other_work": meter.share(),
    }


def wait_quiet(limit_s: float, below: float = QUIET_BELOW, log: Any = print) -> float:
    """Wait up to `limit_s` for a 1 s window with the cores under `below` busy; the last reading.

    On a machine shared with other people's test runs, this starts a run in a lull instead of
    in the middle of someone's suite. It does not keep them away during the run: the run's
    "other work" still says how much they took.
    """
    give_up = time.monotonic() + limit_s
    while (busy := machine.cpu_busy()) >= below and time.monotonic() < give_up:
        pass
    if busy >= below:
        log(f"    cores still {busy:.0%} busy after waiting {limit_s:g} s for a lull; running anyway")
    return busy


def run(seconds: float, runs: int, root: Path = REPO, log: Any = print, quiet_wait_s: float = 0.0) -> dict[str, Any]:
    """`runs` runs, each on a fresh server; each run's numbers and the spread."""
    results = []
    for n in range(runs):
        if quiet_wait_s > 0:
            wait_quiet(quiet_wait_s, log=log)
        log(f"writes under load: run {n + 1}/{runs}, {seconds:g} s, root {root}")
        results.append(measure(seconds, root, log))
        log("    " + line(results[-1]))
    commit = machine.command_version(["git", "-C", str(root), "rev-parse", "--short", "HEAD"])
    return {"root": str(Path(root).resolve()), "root_commit": commit, "seconds": seconds, "runs": results}


def section(plan: Any, log: Any) -> dict[str, Any]:
    """Section 4 of `bench/run.py`: this checkout, the plan's length and number of runs."""
    return run(plan.writes_seconds, plan.writes_runs, REPO, log)


def _ms(v: float | None) -> str:
    return "–" if v is None or v != v else (f"{v:.2f}" if v < 10 else f"{v:,.1f}")


def line(r: dict[str, Any]) -> str:
    p, g = r["post"], r["get"]
    settle = (
        f"{r['settle_s']:.1f} s"
        if r["settle_s"] is not None
        else f"NOT within {SETTLE_DEADLINE_S:g} s ({r['pets_settled']}/{r['pets']})"
    )
    return (
        f"POST {p['rps']:,.1f}/s p50 {_ms(p['p50_ms'])} p99 {_ms(p['p99_ms'])} ms, non-2xx {p['non_2xx']}, "
        f"socket errors {p['socket_errors']}; "
        f"GET p50 {_ms(g['p50_ms'])} p99 {_ms(g['p99_ms'])} ms over {g['n']} GETs ({g['non_200']} non-200); "
        f"{r['pets']} pets settled {settle} after the load; other work {r['other_work']:.0%} of the cores "
        f"({r['cpu_busy_before']:.0%} busy just before)"
    )


def markdown(
    result: dict[str, Any],
    machine_info: dict[str, Any] | None = None,
    command: str | None = None,
    note: str | None = None,
) -> str:
    """The section as Markdown: one row per run, the spread, the targets."""
    runs = result["runs"]
    out: list[str] = []
    if machine_info:
        m = machine_info
        out += [
            f"Measured {m['date']} on {m['cores']} cores ({m['cpu']}), Python {m['python']}, {m['wrk'] or 'wrk ?'}; "
            f"code measured: `{result['root']}` at commit {result.get('root_commit')} "
            f"(bench scripts at {m['commit']}).",
            "",
        ]
    if command:
        out += [f"Command: `{command}`", ""]
    if note:
        out += [note, ""]
    out += [
        f"Fresh server and DATA_DIR per run, no OpenAI key. One pet created first; then {result['seconds']:g} s "
        f"of wrk at {CLIENTS} connections POSTing /py/pets (every create sets off its chain), while one client GETs "
        f"that first pet every {GET_EVERY_S * 1000:g} ms. Settled: every pet `in_quarantine` with a profile, polled "
        f"every {SETTLE_POLL_S:g} s from the end of the load. wrk and the reader share the 2 cores with the server. "
        '"Other work": the share of the cores other processes (not this run\'s) used during the run, a few % on an '
        "idle machine.",
        "",
        "| run | POST requests/s | POST p50 / p99 ms | non-2xx | GET p50 / p99 ms | GETs | pets "
        "| settled after load s | other work | busy just before |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, r in enumerate(runs, 1):
        p, g = r["post"], r["get"]
        settle = f"{r['settle_s']:.1f}" if r["settle_s"] is not None else f"not in {SETTLE_DEADLINE_S:g}"
        out.append(
            f"| {n} | {p['rps']:,.1f} | {_ms(p['p50_ms'])} / {_ms(p['p99_ms'])} | {p['non_2xx']} "
            f"| {_ms(g['p50_ms'])} / {_ms(g['p99_ms'])} | "
            f"{g['n']} | {r['pets']:,} | {settle} | {r['other_work']:.0%} | {r['cpu_busy_before']:.0%} |"
        )
    rps = [r["post"]["rps"] for r in runs]
    p99 = [r["get"]["p99_ms"] for r in runs]
    rps_met = "yes" if statistics.median(rps) >= TARGET_POST_RPS else "**no**"
    p99_met = "yes" if statistics.median(p99) < TARGET_GET_P99_MS else "**no**"
    out += [
        "",
        f"Spread over {len(runs)} run{'s' if len(runs) > 1 else ''}: "
        f"POST {min(rps):,.1f}-{max(rps):,.1f}/s (median {statistics.median(rps):,.1f}); "
        f"GET p99 {_ms(min(p99))}-{_ms(max(p99))} ms (median {_ms(statistics.median(p99))}).",
        "",
        "| target | measured (median of runs) | met? |",
        "|---|---|---|",
        f"| POST /py/pets, {CLIENTS} clients: >= {TARGET_POST_RPS:g} requests/s "
        f"| {statistics.median(rps):,.1f}/s | {rps_met} |",
        f"| GET /py/pets/:id under that load: p99 < {TARGET_GET_P99_MS:g} ms "
        f"| {_ms(statistics.median(p99))} ms | {p99_met} |",
    ]
    noisy = [str(n) for n, r in enumerate(runs, 1) if r["other_work"] > 0.10]
    if noisy:
        out += [
            "",
            f"**Other processes used over 10% of the cores during run(s) {', '.join(noisy)}: "
            "those numbers are lower than an idle machine's.**",
        ]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the POST load (default 10)")
    parser.add_argument("--runs", type=int, default=1, help="runs, each on a fresh server (default 1)")
    parser.add_argument("--root", type=Path, default=REPO, help="the project checkout to run (default: this one)")
    parser.add_argument("--out", type=Path, help="also write the Markdown here, and the numbers next to it (.json)")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help=f"before each run, wait up to this long for the cores to be under {QUIET_BELOW:.0%}% busy "
        "(default 0: don't)",
    )
    parser.add_argument("--note", help="a line for the page, e.g. what else was running on the machine")
    args = parser.parse_args(argv)
    if not wrk_available():
        print("bench: wrk is not installed (Debian package `wrk`; `make wrk` installs it)", file=sys.stderr)
        return 2
    if not (args.root / "steps").is_dir():
        parser.error(f"{args.root} has no steps/ folder")
    info = machine.describe()
    print(
        f"machine: {info['cores']} cores, {info['cpu_busy_before']:.0%} busy, "
        f"load average {info['load_average_before']:.2f}",
        flush=True,
    )
    result = run(
        args.seconds, max(1, args.runs), args.root, log=lambda m: print(m, flush=True), quiet_wait_s=args.wait_quiet
    )
    command = shlex.join(["python", "bench/writes.py", *(argv if argv is not None else sys.argv[1:])])
    text = markdown(result, info, command, args.note)
    print()
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(f"# Writes under load\n\n{text}")
        args.out.with_suffix(".json").write_text(
            json.dumps(
                {"machine": info, "command": command, "note": args.note, "writes": result}, indent=1, default=str
            )
            + "\n"
        )
        print(f"wrote {args.out} and {args.out.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
