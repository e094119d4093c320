"""Turn a run's numbers (results.json) into the Markdown page bench/results/results.md."""

from __future__ import annotations

import math
from typing import Any

from bench import writes
from bench.targets import check


def _f(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.{digits}f}"


def _ms(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.2f}" if value < 10 else f"{value:,.1f}"


def _ratio(ours: Any, theirs: Any) -> str:
    if not ours or not theirs or any(isinstance(v, float) and math.isnan(v) for v in (ours, theirs)):
        return "–"
    r = ours / theirs
    return f"{r:,.0f}x" if r >= 100 else f"{r:,.1f}x"


def _machine(m: dict[str, Any], plan: dict[str, Any]) -> list[str]:
    lines = [
        f"Measured {m['date']} on {m['cores']} cores ({m['cpu']}), {m['memory_gb']} GB, {m['os']}; "
        f"Python {m['python']}, Node {m['node']}, Motia {m['motia'] or 'not installed'}, {m['wrk'] or 'wrk ?'}; "
        f"commit {m['commit']} (plus the working tree).",
        "",
        "Client and servers share the same 2 cores; every load is on 127.0.0.1. Share of the cores that other "
        "processes (not this run's) used during each section, a few % on an idle machine: "
        + ", ".join(f"{k} {v:.0%}" for k, v in (m.get("other_work_sections") or {}).items())
        + ".",
    ]
    noisy = [k for k, v in (m.get("other_work_sections") or {}).items() if v > 0.10]
    if noisy:
        lines += [
            "",
            f"**Other work shared the cores during: {', '.join(noisy)}. "
            "Those numbers are lower than an idle machine's.**",
        ]
    if plan.get("quick"):
        lines += ["", "**Quick run (`--quick`): short loads and small sizes, a smoke test, not a measurement.**"]
    return lines


def _targets(results: dict[str, Any]) -> list[str]:
    rows = ["| target | measured | met? | note |", "|---|---|---|---|"]
    for v in check(results):
        mark = "–" if v.met is None else ("yes" if v.met else "**no**")
        rows.append(f"| {v.target} | {v.measured} | {mark} | {v.note} |")
    return rows


def _compare(c: dict[str, Any], plan: dict[str, Any]) -> list[str]:
    sr, mo, ce = c.get("steprunner", {}), c.get("motia", {}), c.get("ceiling", {})
    out = [
        f"pets.json starts with {plan['seed_pets']} pets on both runtimes. wrk, one thread, keep-alive: on steprunner "
        f"and the ceiling the median (by requests/s) of {plan.get('repeats', 1)} runs of {plan['fast_seconds']:g} s "
        f"per line; on Motia one run of {plan['motia_seconds']:g} s on a freshly started Motia for each line (it "
        "handles a few requests per second, and slows down as it runs). GETs pick ids at random; every POST "
        "creates a pet and sets off its event chain. The chain is timed first, on the fresh server, one pet at a time: "
        f"{_get_n(sr)} pets on steprunner, {_get_n(mo)} on Motia"
        + (
            f" (as many as fit in {plan['motia_chain_budget_s']:g} s)."
            if _get_n(mo) != str(plan["motia_chain_pets"])
            else "."
        )
        + "",
        "",
    ]
    if "unavailable" in mo:
        out += [f"**Motia: not measured.** {mo['unavailable']}", ""]
    elif not mo:
        out += ["**Motia: not part of this run** (`--only` without `motia`).", ""]
    out += ["| measure | steprunner | Motia 0.17 | steprunner vs Motia |", "|---|---:|---:|---:|"]
    for kind, label in (("get", "GET /py/pets/:id"), ("post", "POST /py/pets")):
        for c_ in plan["clients"]:
            key = f"{kind}_c{c_}"
            a, b = sr.get(key, {}), mo.get(key, {})
            who = "client" if c_ == 1 else "clients"
            motia_rps = (
                _f(b.get("rps")) if b.get("requests") != 0 else f"0 (none answered within {plan['motia_seconds']:g} s)"
            )
            out.append(
                f"| {label}, {c_} {who}: requests/s | {_f(a.get('rps'))} | {motia_rps} "
                f"| {_ratio(a.get('rps'), b.get('rps'))} more |"
            )
            out.append(
                f"| {label}, {c_} {who}: p50 / p99 ms | {_ms(a.get('p50_ms'))} / {_ms(a.get('p99_ms'))} "
                f"| {_ms(b.get('p50_ms'))} / {_ms(b.get('p99_ms'))} "
                f"| {_ratio(b.get('p50_ms'), a.get('p50_ms'))} faster (p50) |"
            )
    a, b = sr.get("chain", {}), mo.get("chain", {})
    out.append(
        f"| POST -> in_quarantine with profile: p50 / p99 ms | {_ms(a.get('p50_ms'))} / {_ms(a.get('p99_ms'))} "
        f"| {_ms(b.get('p50_ms'))} / {_ms(b.get('p99_ms'))} | {_ratio(b.get('p50_ms'), a.get('p50_ms'))} faster (p50) |"
    )
    errors = {
        k: v.get("errors")
        for k, v in {
            **{f"steprunner {k}": v for k, v in sr.items()},
            **{f"Motia {k}": v for k, v in mo.items()},
        }.items()
        if isinstance(v, dict) and v.get("errors")
    }
    if errors:
        out += ["", "Errors (non-2xx or socket errors): " + ", ".join(f"{k}: {v}" for k, v in errors.items())]
    out += [
        "",
        "The ceiling: bare Starlette on the same uvicorn (uvloop, httptools), one process, "
        "a constant JSON body the size of a pet.",
        "",
    ]
    out += [
        "| GET | bare Starlette requests/s | p50 / p99 ms | steprunner requests/s | steprunner / ceiling |",
        "|---|---:|---:|---:|---:|",
    ]
    for c_ in plan["clients"]:
        key = f"get_c{c_}"
        a, b = ce.get(key, {}), sr.get(key, {})
        frac = "–" if not a.get("rps") or not b.get("rps") else f"{b['rps'] / a['rps']:.2f}"
        out.append(
            f"| {c_} client{'s' if c_ > 1 else ''} | {_f(a.get('rps'))} "
            f"| {_ms(a.get('p50_ms'))} / {_ms(a.get('p99_ms'))} | {_f(b.get('rps'))} | {frac} |"
        )
    if sr.get("rss_mb"):
        out += ["", f"steprunner's resident memory after this section: {sr['rss_mb']:.0f} MB."]
    return out


def _get_n(side: dict[str, Any]) -> str:
    return str(side.get("chain", {}).get("n", "–"))


def _growth(rows: list[dict[str, Any]], plan: dict[str, Any]) -> list[str]:
    out = [
        f"One request at a time; per size {plan['gets']} gets (random ids), {plan['lists']} lists (first page of 20), "
        f"{plan['writes']} creates and {plan['writes']} updates ({plan['writes_largest']} each at the largest size, "
        "where p99 is then the slowest but one or two). Each create waits for its pet's chain before the next.",
        "",
        "| pets | pets.json MB | server RSS MB | start to ready s | create p50 / p99 ms | get p50 / p99 ms "
        "| update p50 / p99 ms | list p50 / p99 ms | chain p50 / p99 ms |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        cells = [f"{r['pets']:,}", _f(r["file_mb"]), _f(r["rss_mb"], 0), _f(r["ready_s"])]
        for op in ("create", "get", "update", "list", "chain"):
            cells.append(f"{_ms(r[op]['p50_ms'])} / {_ms(r[op]['p99_ms'])}")
        out.append("| " + " | ".join(cells) + " |")
    return out


def _workers(rows: list[dict[str, Any]]) -> list[str]:
    out = [
        "32 clients, wrk as above (median of the runs); the chain first, one pet at a time. Two workers are two "
        "processes on one port sharing DATA_DIR (pets.json under its file lock, the SQLite journal).",
        "",
        "| workers | GET requests/s | GET p50 / p99 ms | POST requests/s | POST p50 / p99 ms | chain p50 / p99 ms "
        "| RSS MB (all processes) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        g, p, c = r["get"], r["post"], r["chain"]
        out.append(
            f"| {r['workers']} | {_f(g['rps'])} | {_ms(g['p50_ms'])} / {_ms(g['p99_ms'])} | {_f(p['rps'])} | "
            f"{_ms(p['p50_ms'])} / {_ms(p['p99_ms'])} | {_ms(c['p50_ms'])} / {_ms(c['p99_ms'])} "
            f"| {_f(r['rss_mb'], 0)} |"
        )
    return out


def markdown(results: dict[str, Any]) -> str:
    plan = results["plan"]
    out = ["# Benchmark results", "", *_machine(results["machine"], plan), ""]
    out += ["How to run and read these: [bench/README.md](../README.md). Chart: [chart.png](chart.png).", ""]
    out += ["## Targets (issue 6)", "", *_targets(results), ""]
    if "compare" in results:
        out += ["## 1. Same steps, two runtimes", "", *_compare(results["compare"], plan), ""]
    if "growth" in results:
        out += ["## 2. The store as it grows", "", *_growth(results["growth"], plan), ""]
    if "workers" in results:
        out += ["## 3. Several workers", "", *_workers(results["workers"]), ""]
    if "writes" in results:
        out += ["## 4. Writes under load", "", writes.markdown(results["writes"]), ""]
    out += [f"Whole run: {results.get('elapsed_s', 0) / 60:.1f} min."]
    return "\n".join(out) + "\n"
