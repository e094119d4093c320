"""How much load each measurement gets: one place to read, and `--quick` for a smoke run.

Every number here bounds a load in time or count. Motia gets longer runs than steprunner, not
more requests, since each of its calls starts a Python process (bench/README.md, section 1); its
event chain is capped by a time budget as well as by the pet count.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Plan:
    seed_pets: int = 100  # pets.json at the start of sections 1 and 3
    clients: tuple[int, ...] = (1, 32)
    fast_seconds: float = 5.0  # one wrk run against steprunner or the ceiling ...
    repeats: int = 3  # ... of which the median (by requests/s) is reported
    motia_seconds: float = 15.0  # one wrk run against Motia (once: it is slow, and slows down as it runs)
    chain_pets: int = 200
    motia_chain_pets: int = 200
    motia_chain_budget_s: float = 360.0
    sizes: tuple[int, ...] = (100, 1_000, 10_000, 100_000)
    gets: int = 500  # per size, section 2
    lists: int = 200
    writes: int = 100  # creates and updates per size, section 2
    writes_largest: int = 40  # at the largest size, where one write is ~0.1 s
    workers: tuple[int, ...] = (1, 2)
    writes_seconds: float = 10.0  # section 4: one POST load at 32 clients, with the reader alongside ...
    writes_runs: int = 1  # ... on this many fresh servers (`python bench/writes.py --runs 3` for a spread)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


QUICK = Plan(
    fast_seconds=2.0,
    repeats=1,
    motia_seconds=4.0,
    chain_pets=20,
    motia_chain_pets=5,
    motia_chain_budget_s=30.0,
    sizes=(100, 1_000),
    gets=50,
    lists=20,
    writes=10,
    writes_largest=10,
    writes_seconds=3.0,
)
