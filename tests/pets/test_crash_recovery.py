"""No pet is left behind: whatever instant a process dies at, or a journal write fails, every pet
that exists finishes its chain (in quarantine, with notes, nextFeedingAt and a profile).

A pet is written to pets.json before its events reach the journal; the reconciler
(steps/pet_reconciler_cron_step.py) finds pets whose follow-up is missing and queues it again.
These tests run it every second with no grace period (`STEPRUNNER_CRON_PET_RECONCILER`,
`PET_RECONCILE_GRACE_SECONDS`), and stop the process exactly between the store write and the
journal (`STEPRUNNER_FAULT=kill:<topic>`, a test-only hook) or at many points of a burst (SIGKILL).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

import httpx

from tests.pets.pets_api import create, settled, store_of, wait_for
from tests.support.server import Server
from tests.support.waiting import wait_until

RECONCILE_EVERY_SECOND = {"STEPRUNNER_CRON_PET_RECONCILER": "* * * * * *", "PET_RECONCILE_GRACE_SECONDS": "0"}


def every_pet_settles(server: Server, timeout: float = 90.0) -> int:
    """Wait until every pet in pets.json has finished its chain; returns how many there are."""
    store = store_of(server.data_dir)
    last: list[dict] = []

    def all_settled() -> bool:
        last[:] = [pet for pet in store.all() if not settled(pet) or pet.get("nextFeedingAt") is None]
        return not last

    try:
        wait_until(all_settled, timeout=timeout, message="every pet in quarantine with notes, nextFeedingAt and a profile")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; unsettled: {last[:3]} ({len(last)} in all)") from None
    count = store.count()
    store.close()
    return count


def test_a_process_killed_between_the_store_write_and_the_journal_leaves_no_pet_behind(
    server_factory: Callable[..., Server], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    doomed = server_factory(data_dir, env={"STEPRUNNER_FAULT": "kill:py.pet.created"})
    with doomed.client() as client:
        try:
            client.post("/py/pets", json={"name": "Ghost", "species": "cat", "ageMonths": 5})
        except httpx.TransportError:
            pass  # the process died mid-request, as a crash would
    assert doomed.wait_exit() != 0
    (pet,) = store_of(data_dir).all()
    assert pet["name"] == "Ghost" and pet["status"] == "new" and pet["notes"] is None, "written, but nothing queued"

    server = server_factory(data_dir, env=RECONCILE_EVERY_SECOND)
    with server.client() as client:
        healed = wait_for(client, pet["id"], settled, "the stranded pet to finish its chain", timeout=60)
    assert healed["nextFeedingAt"] == pet["createdAt"] + 24 * 3600 * 1000
    assert "🩹 Pet chain incomplete" in server.logs()


def test_a_failed_journal_write_answers_201_and_the_pet_still_finishes(server_factory: Callable[..., Server]) -> None:
    server = server_factory(env={"STEPRUNNER_FAULT": "fail:py.pet.created,fail:py.feeding.reminder.enqueued", **RECONCILE_EVERY_SECOND})
    with server.client() as client:
        pet = create(client, "Lucky")  # 201: the pet exists, so the client must not be told otherwise
        assert client.get("/py/pets").json()["items"] == [pet]
    logs = server.logs()
    assert "Event not queued; the reconciler will queue it again" in logs
    # the fault stays on for the first topic: the reconciler's own topics reach the chain
    assert every_pet_settles(server) == 1


def test_sigkill_at_many_points_of_a_burst_leaves_no_pet_behind(server_factory: Callable[..., Server], tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    for round_ in range(3):
        server = server_factory(data_dir)
        stop = threading.Event()
        acknowledged: list[str] = []

        def burst() -> None:
            with server.client(timeout=10.0) as client:
                while not stop.is_set():
                    try:
                        acknowledged.append(create(client, f"Burst {round_}")["id"])
                    except (httpx.TransportError, AssertionError):
                        return  # the server is gone

        workers = [threading.Thread(target=burst) for _ in range(8)]
        for worker in workers:
            worker.start()
        target = 20 * (round_ + 1)  # kill at a different point of each burst
        wait_until(lambda: len(acknowledged) >= target, timeout=60, message=f"{target} creates")
        server.kill()
        stop.set()
        for worker in workers:
            worker.join(timeout=30)
        store = store_of(data_dir)
        assert set(acknowledged) <= {p["id"] for p in store.all()}, "every acknowledged pet is on disk"
        store.close()

    final = server_factory(data_dir, env=RECONCILE_EVERY_SECOND)
    assert every_pet_settles(final) >= 60
