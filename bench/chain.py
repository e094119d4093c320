"""Time from POST /py/pets to the pet being `in_quarantine` with its profile: the whole event chain.

POST -> CreatePet -> (py.pet.created -> AiProfileEnrichment writes the fallback profile) and
(py.feeding.reminder.enqueued -> SetNextFeedingReminder -> py.feeding.reminder.completed ->
PetLifecycleOrchestrator writes `in_quarantine`). The chain is done when both writes landed.

How it is timed: the wall clock just before the POST is sent, against the pet's own `updatedAt`
(the time, in epoch ms, of whichever of those two writes came last), both read from the same
machine's clock. So the moment we notice completion does not matter and the check can poll at
leisure: through GET on steprunner, through the file on Motia (where every GET
would start a Python process and slow the chain it measures). `updatedAt` has whole ms, so a
sample can read up to 1 ms short. Pets go one at a time: this is the latency of an idle server.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
if str(BENCH.parent) not in sys.path:
    sys.path.insert(0, str(BENCH.parent))

from bench.load import Client  # noqa: E402
from services.pet_store_file import PetStore  # noqa: E402

DoneAt = Callable[[str], "int | None"]  # pet id -> updatedAt once the chain is done, else None
POLL_SECONDS = 0.002


def _finished(pet: dict | None) -> int | None:
    """The pet's updatedAt once it is in quarantine with a profile, else None."""
    if pet and pet.get("status") == "in_quarantine" and pet.get("profile"):
        return int(pet["updatedAt"])
    return None


def done_via_http(client: Client) -> DoneAt:
    """Read the pet through GET /py/pets/:id (cheap on steprunner)."""

    def done_at(pet_id: str) -> int | None:
        status, pet, _ = client.call("GET", f"/py/pets/{pet_id}")
        return _finished(pet) if status == 200 else None

    return done_at


def done_via_file(data_dir: Path) -> DoneAt:
    """Read the pet from DATA_DIR/pets.json with the store's own reader (no request to the server)."""
    store = PetStore(data_dir / "pets.json")

    def done_at(pet_id: str) -> int | None:
        return _finished(store.get(pet_id))

    return done_at


def measure_chain(
    client: Client, done_at: DoneAt, pets: int, deadline_s: float = 60.0, time_budget_s: float | None = None
) -> list[float]:
    """Chain latencies in ms for up to `pets` pets created one after another.

    Stops early (fewer samples) when `time_budget_s` is spent, so a slow runtime can't
    stretch the run without bound; a pet whose chain does not finish within `deadline_s`
    is an error.
    """
    samples: list[float] = []
    started = time.monotonic()
    for n in range(pets):
        if time_budget_s is not None and time.monotonic() - started > time_budget_s:
            break
        sent_ms = time.time() * 1000
        status, pet, _ = client.call("POST", "/py/pets", {"name": f"Chain {n}", "species": "cat", "ageMonths": 6})
        if status != 201:
            raise RuntimeError(f"POST /py/pets answered {status}: {pet}")
        give_up = time.monotonic() + deadline_s
        while (finished := done_at(pet["id"])) is None:
            if time.monotonic() > give_up:
                raise RuntimeError(f"pet {pet['id']} did not reach in_quarantine with a profile within {deadline_s:g}s")
            time.sleep(POLL_SECONDS)  # a benchmark polling the result, not a test synchronising
        samples.append(finished - sent_ms)
    return samples
