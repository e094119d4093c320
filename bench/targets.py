"""The targets of issue 6, checked against a run's numbers.

Each target says what it compares, the measured value, and whether it is met; a miss says by
how much. `WHY` is what profiling found behind each number (see bench/README.md), printed
next to a miss so the table explains itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Verdict:
    target: str
    measured: str
    met: bool | None  # None: could not be measured in this run
    note: str


WHY = {
    "get_vs_motia": "Motia starts a Python process per request (~0.2 s each).",
    "get_vs_ceiling": (
        "the server spends ~150 us of CPU per GET against the ceiling's ~65 us: Motia's `req` built from the "
        "request, the trace-id middleware, the step's context, the trace view's record, a stat() of pets.json "
        "(another process may have written it) and one stored line decoded and the pet encoded again. "
        "No single part dominates (py-spy: none above ~2%); see bench/README.md"
    ),
    "get_p50": "",
    "chain_p50": "four writes of pets.json (create, notes, status, profile), each with fsync, plus journal commits.",
    "chain_vs_motia": "Motia starts a Python process for the request and for each of the three event handlers.",
    "create_10k": (
        "a create rewrites the whole 7.6 MB file and fsyncs it (~15 ms on this disk: ~5 ms writing, ~8 ms fsync), "
        "then commits two events to the journal (~1 ms each, fsync)."
    ),
    "get_10k": "",
    "list_10k": "",
    "create_100k": (
        "a create rewrites the whole 77 MB file and fsyncs it: ~45 ms to write it, ~40 ms to fsync on this disk. "
        "The one-JSON-file store (docs/decisions.md#11) costs O(pets) per write; only another layout would change that."
    ),
}


def _get(d: dict[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def _num(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _at_most(name: str, label: str, value: Any, limit: float, unit: str = "ms") -> Verdict:
    v = _num(value)
    if v is None:
        return Verdict(label, "not measured", None, "")
    met = v < limit
    note = (
        ""
        if met
        else f"missed by {v - limit:.1f} {unit} ({v / limit:.2f}x the limit); {WHY.get(name, '')}".rstrip("; ")
    )
    return Verdict(label, f"{v:.2f} {unit}", met, note)


def _at_least(name: str, label: str, ours: Any, theirs: Any, factor: float, what: str) -> Verdict:
    a, b = _num(ours), _num(theirs)
    if a is None or b is None or b == 0:
        return Verdict(label, f"not measured ({what})", None, "")
    ratio = a / b
    met = ratio >= factor
    shown = f"{ratio:.3f}" if ratio < 1 else (f"{ratio:,.1f}" if ratio < 100 else f"{ratio:,.0f}")
    note = (
        ""
        if met
        else f"missed: {shown}x where {factor:g}x was the aim ({ratio / factor:.0%} of it); {WHY.get(name, '')}".rstrip(
            "; "
        )
    )
    return Verdict(label, f"{shown}x ({a:,.1f} vs {b:,.1f})", met, note)


def check(results: dict[str, Any]) -> list[Verdict]:
    sr, motia, ceiling = (_get(results, "compare", k) or {} for k in ("steprunner", "motia", "ceiling"))
    growth = {row["pets"]: row for row in results.get("growth") or []}
    verdicts = [
        _at_least(
            "get_vs_motia",
            "GET /py/pets/:id, 32 clients: >= 100x Motia's requests/s",
            _get(sr, "get_c32", "rps"),
            _get(motia, "get_c32", "rps"),
            100,
            "Motia " + ("unavailable" if "unavailable" in motia else "missing"),
        ),
        _at_least(
            "get_vs_ceiling",
            "GET /py/pets/:id, 32 clients: >= 0.5x bare Starlette's requests/s",
            _get(sr, "get_c32", "rps"),
            _get(ceiling, "get_c32", "rps"),
            0.5,
            "ceiling missing",
        ),
        _at_most("get_p50", "GET /py/pets/:id, 1 client: p50 < 2 ms", _get(sr, "get_c1", "p50_ms"), 2.0),
        _at_most(
            "chain_p50",
            "POST -> in_quarantine with profile (no AI key): p50 < 50 ms",
            _get(sr, "chain", "p50_ms"),
            50.0,
        ),
        _at_least(
            "chain_vs_motia",
            "POST -> in_quarantine with profile: >= 10x faster than Motia (p50)",
            _get(motia, "chain", "p50_ms"),
            _get(sr, "chain", "p50_ms"),
            10,
            "Motia " + ("unavailable" if "unavailable" in motia else "missing"),
        ),
        _at_most(
            "create_10k", "10,000 pets: create p50 < 20 ms", _get(growth.get(10_000, {}), "create", "p50_ms"), 20.0
        ),
        _at_most("get_10k", "10,000 pets: get p50 < 2 ms", _get(growth.get(10_000, {}), "get", "p50_ms"), 2.0),
        _at_most(
            "list_10k",
            "10,000 pets: first page of the list < 10 ms (p50)",
            _get(growth.get(10_000, {}), "list", "p50_ms"),
            10.0,
        ),
        _at_most(
            "create_100k",
            "100,000 pets: create < 100 ms (p50; the goal, reported honestly)",
            _get(growth.get(100_000, {}), "create", "p50_ms"),
            100.0,
        ),
    ]
    return verdicts
