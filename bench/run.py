"""`make bench`: every benchmark of issue 6 in one run, written to bench/results/.

    python bench/run.py [--quick] [--only compare,growth,workers,writes,motia] [--out DIR]
    python bench/run.py --redraw [--out DIR]     # results.md and chart.png again from results.json

Writes results.json (every number), results.md (the tables, the machine, the targets) and
chart.png, and prints the Markdown. Numbers, not pass/fail: the exit code is 0 whether or not
the targets are met, and non-zero only when a measurement itself could not be taken.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import chart, compare, growth, machine, report, workers, writes  # noqa: E402
from bench.load import wrk_available  # noqa: E402
from bench.plan import QUICK, Plan  # noqa: E402

# Motia last: it leaves the machine busy for a while, and later sections would pay for that.
SECTIONS = ("compare", "growth", "workers", "writes", "motia")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--quick", action="store_true", help="short loads and small stores: a smoke run, not a measurement"
    )
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma-separated sections (default: {','.join(SECTIONS)})"
    )
    parser.add_argument(
        "--out", type=Path, default=REPO / "bench" / "results", help="folder for results.md, results.json, chart.png"
    )
    parser.add_argument(
        "--redraw", action="store_true", help="only rewrite results.md and chart.png from the results.json in --out"
    )
    args = parser.parse_args(argv)
    if args.redraw:
        write(json.loads((args.out / "results.json").read_text()), args.out, with_json=False)
        return 0
    sections = [s for s in args.only.split(",") if s]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    if not wrk_available():
        print("bench: wrk is not installed (Debian package `wrk`; `make bench` installs it)", file=sys.stderr)
        return 2

    plan: Plan = QUICK if args.quick else Plan()
    started = time.monotonic()

    def log(message: str) -> None:
        print(f"[{time.monotonic() - started:6.0f}s] {message}", flush=True)

    results: dict[str, Any] = {"machine": machine.describe(), "plan": {**plan.as_dict(), "quick": args.quick}}
    box = results["machine"]
    log(f"machine: {box['cores']} cores, Python {box['python']}, {box['cpu_busy_before']:.0%} busy")
    runners = {"compare": compare.run, "growth": growth.run, "workers": workers.run, "writes": writes.section}
    busy = results["machine"]["cpu_busy_sections"] = {}
    other = results["machine"]["other_work_sections"] = {}
    for section in sections:
        busy[section] = machine.cpu_busy()
        log(f"--- {section} (cores {busy[section]:.0%} busy with other work just before)")
        meter = machine.OtherWork()
        if section == "motia":
            results.setdefault("compare", {})["motia"] = compare.run_motia(plan, log)
        else:
            results[section] = runners[section](plan, log)
        other[section] = meter.share()
        log(f"    other processes used {other[section]:.0%} of the cores during {section}")
    results["machine"]["load_average_after"] = machine.load_average()
    results["elapsed_s"] = time.monotonic() - started

    print()
    print(write(results, args.out))
    log(f"wrote {args.out}/results.md, results.json, chart.png")
    return 0


def write(results: dict[str, Any], out: Path, with_json: bool = True) -> str:
    """results.json (unless redrawing), results.md and chart.png in `out`; returns the Markdown."""
    out.mkdir(parents=True, exist_ok=True)
    if with_json:
        (out / "results.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    text = report.markdown(results)
    (out / "results.md").write_text(text)
    chart.draw(results, out / "chart.png")
    return text


if __name__ == "__main__":
    sys.exit(main())
