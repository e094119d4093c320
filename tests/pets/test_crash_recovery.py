"""No pet is left behind: whatever instant a process dies at, or a journal write fails, every pet
that exists finishes its chain (in quarantine, with notes, nextFeedingAt and a profile).

A pet is written to pets.json before its events reach the journal; the reconciler
(steps/pet_reconciler_cron_step.py) finds pets whose follow-up is missing and queues it again.
These tests run it every second with no grace period (`STEPRUNNER_CRON_PET_RECONCILER`,
`PET_RECONCILE_GRACE_SECONDS`), and stop the process exactly between the store write and the
journal (`STEPRUNNER_FAULT=kill:<topic>`, a test-only hook) or at many points of a burst (SIGKILL).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import httpx

from steprunner.testing.waiting import wait_until
from tests.pets.pets_api import create, list_all, settled, timeline_of, wait_for
from tests.support.server import Server

RECONCILE_EVERY_SECOND = {"STEPRUNNER_CRON_PET_RECONCILER": "* * * * * *", "PET_RECONCILE_GRACE_SECONDS": "0"}


def every_pet_settles(server: Server, timeout: float = 90.0) -> int:
    """Wait until every pet has finished its chain; returns how many there are."""
    last: list[dict] = []
    with server.client() as client:

        def all_settled() -> bool:
            last[:] = [pet for pet in list_all(client) if not settled(pet) or pet.get("nextFeedingAt") is None]
            return not last

        try:
            wait_until(
                all_settled, timeout=timeout, message="every pet in quarantine with notes, nextFeedingAt and a profile"
            )
        except AssertionError as exc:
            raise AssertionError(f"{exc}; unsettled: {last[:3]} ({len(last)} in all)") from None
        return len(list_all(client))


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
    doc = json.loads((data_dir / "pets.json").read_text(encoding="utf-8"))
    (pet,) = doc["pets"].values()
    assert pet["name"] == "Ghost" and pet["status"] == "new" and pet["notes"] is None, "written, but nothing queued"

    server = server_factory(data_dir, env=RECONCILE_EVERY_SECOND)
    with server.client() as client:
        healed = wait_for(client, pet["id"], settled, "the stranded pet to finish its chain", timeout=60)
    assert healed["nextFeedingAt"] == pet["createdAt"] + 24 * 3600 * 1000
    assert "🩹 Pet chain incomplete" in server.logs()
    every_timeline_is_whole(server)


def test_a_failed_journal_write_answers_201_and_the_pet_still_finishes(server_factory: Callable[..., Server]) -> None:
    server = server_factory(env={"STEPRUNNER_FAULT": "fail:py.pet.created", **RECONCILE_EVERY_SECOND})
    with server.client() as client:
        pet = create(client, "Lucky")  # 201: the pet exists, so the client must not be told otherwise
        assert [p["id"] for p in client.get("/py/pets").json()["items"]] == [pet["id"]]
    logs = server.logs()
    assert "Event not queued; the reconciler will queue it again" in logs
    # The fault stays on; the reconciler asks for the missing profile with its own topic.
    assert every_pet_settles(server) == 1


def burst(server: Server, name: str, acknowledged: list[str], stop: threading.Event) -> None:
    """Create pets one after another until told to stop or the server is gone."""
    with server.client(timeout=10.0) as client:
        while not stop.is_set():
            try:
                acknowledged.append(create(client, name)["id"])
            except (httpx.TransportError, AssertionError):
                return


def test_sigkill_at_many_points_of_a_burst_leaves_no_pet_behind(
    server_factory: Callable[..., Server], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    for round_ in range(3):
        server = server_factory(data_dir)
        stop = threading.Event()
        acknowledged: list[str] = []
        workers = [
            threading.Thread(target=burst, args=(server, f"Burst {round_}", acknowledged, stop)) for _ in range(8)
        ]
        for worker in workers:
            worker.start()
        target = 20 * (round_ + 1)  # kill at a different point of each burst
        wait_until(lambda done=acknowledged, n=target: len(done) >= n, timeout=60, message=f"{target} creates")
        server.kill()
        stop.set()
        for worker in workers:
            worker.join(timeout=30)
        on_disk = json.loads((data_dir / "pets.json").read_text(encoding="utf-8"))["pets"]
        assert set(acknowledged) <= set(on_disk), "every acknowledged pet is on disk"

    final = server_factory(data_dir, env=RECONCILE_EVERY_SECOND)
    assert every_pet_settles(final) >= 60
    every_timeline_is_whole(final)


def every_timeline_is_whole(server: Server) -> None:
    """Each settled pet's timeline tells each step of its chain exactly once, in consecutive ids."""
    with server.client() as client:
        for pet in list_all(client):
            items = timeline_of(client, pet["id"])
            told = sorted(i["kind"] for i in items)
            finished = [k for k in told if k in ("enrichment_completed", "enrichment_failed", "profile_from_template")]
            expected = sorted(
                ["created", "feeding_reminder_set", "enrichment_started", *finished[:1], "status_changed"]
            )
            assert told == expected and len(finished) == 1, f"pet {pet['id']}: {told}"
            assert [i["id"] for i in items] == [f"{n:06d}" for n in range(1, 6)], (
                f"pet {pet['id']}: {[i['id'] for i in items]}"
            )


def test_an_accepted_status_request_survives_a_crash_before_it_is_queued(
    server_factory: Callable[..., Server], tmp_path: Path
) -> None:
    """A PUT answered 202 accepted is recorded on the pet before it is queued: it can't be lost."""
    data_dir = tmp_path / "data"
    first = server_factory(data_dir)
    with first.client() as client:
        pet = wait_for(client, create(client, "Bella")["id"], settled, "Bella to settle")
    first.stop()

    doomed = server_factory(data_dir, env={"STEPRUNNER_FAULT": "kill:py.pet.status.update.requested"})
    with doomed.client() as client:
        try:
            client.put(f"/py/pets/{pet['id']}", json={"status": "healthy"})
        except httpx.TransportError:
            pass  # died between recording the request and queueing it
    assert doomed.wait_exit() != 0
    stranded = json.loads((data_dir / "pets.json").read_text(encoding="utf-8"))["pets"][pet["id"]]
    assert stranded["status"] == "in_quarantine" and stranded["pendingStatusRequest"]["requestedStatus"] == "healthy"

    server = server_factory(data_dir, env=RECONCILE_EVERY_SECOND)
    with server.client() as client:
        done = wait_for(
            client, pet["id"], lambda p: p["status"] == "available", "the request to be carried out", timeout=60
        )
    assert done["pendingStatusRequest"] is None
    assert '"oldStatus": "in_quarantine", "newStatus": "healthy"' in server.logs()
