"""On PostgreSQL a handler's store writes, its emits and its delivery's ack commit together, or not at all.

With `pets.json` a process that dies between a step's store write and its emit leaves the write
without its event (tests/pets/test_crash_recovery.py: the reconciler finishes such pets). With
DATABASE_URL set there is no such gap: the process is killed at exactly that point (the test-only
`STEPRUNNER_FAULT=kill:<topic>` hook, which SIGKILLs as the step emits), and the database holds
neither the write nor the event; the node that takes the delivery over does both, once. The
reconciler is switched off, so only the journal's redelivery can finish the work.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import psycopg

from services.decisions import DAY_MS
from steprunner.testing.waiting import wait_until
from tests.pets.pets_api import create, list_all, settled, wait_for

NO_RECONCILER = {"STEPRUNNER_CRON_PET_RECONCILER": "0 0 1 1 *"}
FAST_TAKEOVER = {"STEPRUNNER_LEASE_SECONDS": "2", "STEPRUNNER_POLL_SECONDS": "0.5"}


def pet_in_database(url: str, pet_id: str) -> dict[str, Any] | None:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT doc::text FROM pets WHERE id = %s", (pet_id,)).fetchone()
    return None if row is None else json.loads(row[0])


def journal(url: str) -> Counter[tuple[str, str]]:
    """(topic, status) of every delivery still in the journal."""
    with psycopg.connect(url) as conn:
        return Counter(conn.execute("SELECT topic, status FROM steprunner_deliveries").fetchall())


def test_a_node_killed_between_a_handlers_store_write_and_its_emit_leaves_neither_and_the_takeover_does_both_once(
    server_factory: Any, database_url: str, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": database_url, **NO_RECONCILER, **FAST_TAKEOVER}
    doomed = server_factory(tmp_path / "node-a", env={**env, "STEPRUNNER_FAULT": "kill:py.feeding.reminder.completed"})
    with doomed.client() as http:
        pet = create(http, name="Ghost", species="cat")  # 201: the pet and its two events are committed
    assert doomed.wait_exit() != 0, "killed in the feeding job, after its store write, as it emits"

    stored = pet_in_database(database_url, pet["id"])
    assert stored is not None and stored["status"] == "new"
    assert stored["notes"] is None and stored.get("nextFeedingAt") is None, (
        "the feeding job's write rolled back with the process"
    )
    left = journal(database_url)
    assert left[("py.feeding.reminder.enqueued", "claimed")] == 1, "its delivery is still there, held by the dead node"
    assert not any(topic == "py.feeding.reminder.completed" for topic, _ in left), (
        "and the event it was emitting is not"
    )

    survivor = server_factory(tmp_path / "node-b", env=env)
    with survivor.client() as http:
        healed = wait_for(
            http, pet["id"], settled, "the pet to finish its chain on the node that took over", timeout=60
        )
    assert healed["nextFeedingAt"] == healed["createdAt"] + DAY_MS
    wait_until(lambda: not journal(database_url), timeout=30, message="an empty journal")
    logs = survivor.logs()
    assert logs.count("✅ Next feeding reminder set") == 1, "the feeding job ran once more, on the survivor"
    assert logs.count("✅ Lifecycle transition completed") == 1, "its event reached the orchestrator once"


def test_a_node_killed_inside_a_create_leaves_no_pet_and_no_event(
    server_factory: Any, database_url: str, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": database_url, **NO_RECONCILER}
    doomed = server_factory(tmp_path / "node-a", env={**env, "STEPRUNNER_FAULT": "kill:py.pet.created"})
    with doomed.client() as http:
        try:
            answer = http.post("/py/pets", json={"name": "Ghost", "species": "cat", "ageMonths": 5})
        except httpx.TransportError:
            answer = None  # the process died mid-request
    assert answer is None, "no answer: the create was not committed"
    assert doomed.wait_exit() != 0
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM pets").fetchone() == (0,), "the pet rolled back with its events"
    assert not journal(database_url)

    survivor = server_factory(tmp_path / "node-b", env=env)
    with survivor.client() as http:
        pet = create(http, name="Buddy")
        assert wait_for(http, pet["id"], settled, "a new pet to settle")["name"] == "Buddy"
        assert [p["name"] for p in list_all(http)] == ["Buddy"]
