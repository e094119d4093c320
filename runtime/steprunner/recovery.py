"""A process restarted after a crash settles what its earlier process stranded, within seconds.

At start-up the runtime looks for this node's earlier processes that died (a SIGKILL, an OOM kill, a
power cut): by the marker each process keeps in `DATA_DIR/processes/` while it runs, and by the claims
in the journal that name this node (steprunner/node.py). It puts their claimed deliveries back at once
(`EventJournal.recover`) instead of waiting for their leases, and publishes `RESTARTED_TOPIC` for any
step that settles more than the journal knows of (a project's reconciler): its data names the dead
processes. Such a step asks `work_in_flight()` what is still to run, so that it re-emits nothing
another live process holds. Another node's claims are never touched. Details: runtime/docs/events.md.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from steprunner.journal.contract import EventJournal, Recovered, owner_is_dead

__all__ = ["RESTARTED_TOPIC", "Recovered", "begin", "end", "recover", "work_in_flight"]

RESTARTED_TOPIC = "steprunner.node.restarted"
PROCESSES_DIR = "processes"

_journal: list[EventJournal] = []  # this process's, once it has started
_released: set[int] = set()  # deliveries put back at start-up: the dead process's work, to be settled again


def _marker_dir(data_dir: Path) -> Path:
    return data_dir / PROCESSES_DIR


def begin(data_dir: Path, owner: str) -> list[str]:
    """Mark this process as running; the owners of this node's earlier processes that died while marked."""
    folder = _marker_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    dead: list[str] = []
    for marker in folder.iterdir():
        other = marker.name
        if other.count(":") == 2 and owner_is_dead(other, owner):
            dead.append(other)
            marker.unlink(missing_ok=True)
    (folder / owner).touch()
    return dead


def end(data_dir: Path, owner: str) -> None:
    """This process stops cleanly: its marker goes (what it held it released)."""
    (_marker_dir(data_dir) / owner).unlink(missing_ok=True)


async def recover(journal: EventJournal, dead_by_marker: list[str]) -> Recovered:
    """Take back the claims of this node's dead processes; what was found, marker or claim."""
    found = await journal.recover()
    _journal[:] = [journal]
    _released.update(found.released)
    owners = tuple(sorted({*dead_by_marker, *found.owners}))
    return Recovered(owners, found.released)


async def work_in_flight() -> list[Any] | None:
    """The data of every delivery still to run that a live process holds or will take (pending, or
    claimed), leaving out what this process put back at start-up: its own dead process's work, which the
    caller may settle again. None outside a steprunner process that has started (under real Motia, say)."""
    if not _journal:
        return None
    return [data for delivery_id, data in await _journal[0].in_flight() if delivery_id not in _released]


def node_data(recovered: Recovered) -> dict[str, Any]:
    """`RESTARTED_TOPIC`'s data: the dead processes and how many deliveries they held."""
    return {"pid": os.getpid(), "deadProcesses": list(recovered.owners), "deliveriesReleased": len(recovered.released)}
