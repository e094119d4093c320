"""The spec's walkthrough against the real server: creation, quarantine, staff decisions,
automatic progressions, the illness path, rejections and no-ops, as a curl user sees them.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from services.decisions import DAY_MS
from steprunner.testing.waiting import wait_until
from tests.pets.conftest import steprunner_only
from tests.pets.pets_api import (
    admitted,
    console_has,
    create,
    get,
    move_to,
    request_status,
    settled,
    wait_for,
    wait_for_status,
)
from tests.support.server import Server, run_cli

# Statuses staff can find a pet resting in (the others move on by themselves), and what the
# spec's table lets staff ask for from each.
RESTING = {
    "in_quarantine": {"healthy", "ill"},
    "available": {"ill", "pending"},
    "pending": {"adopted", "available"},
    "adopted": set(),
    "under_treatment": {"recovered"},
}
RUNTIMES = ("steprunner", "motia")  # the whole walkthrough runs on real Motia too

LIFECYCLE = [
    "new",
    "in_quarantine",
    "healthy",
    "available",
    "pending",
    "adopted",
    "ill",
    "under_treatment",
    "recovered",
]


def test_the_specs_walkthrough_from_intake_to_adoption(server_factory: Callable[..., Server]) -> None:
    server = server_factory()
    with server.client() as client:
        # 1. Create: 201 at once, status new, the spec's fields.
        response = client.post("/py/pets", json={"name": "Buddy", "species": "dog", "ageMonths": 24})
        assert response.status_code == 201
        pet = response.json()
        assert pet["id"] == "1"
        assert (pet["name"], pet["species"], pet["ageMonths"], pet["status"]) == ("Buddy", "dog", 24, "new")
        assert pet["createdAt"] == pet["updatedAt"]

        # 2. The feeding job and the orchestrator move it to quarantine; the AI step profiles it.
        pet = wait_for(client, "1", settled, "Buddy in quarantine with notes and a profile")
        assert pet["notes"] == "Welcome to our pet store! We'll take great care of this pet."
        assert pet["nextFeedingAt"] == pet["createdAt"] + DAY_MS
        assert set(pet["profile"]) == {"bio", "breedGuess", "temperamentTags", "adopterHints"}

        # Skipping quarantine is refused, with the spec's reason, and changes nothing.
        answer = request_status(client, "1", "available")
        assert answer["accepted"] is False
        assert answer["reason"] == "Invalid transition: cannot change from in_quarantine to available"
        assert (answer["currentStatus"], answer["requestedStatus"]) == ("in_quarantine", "available")
        assert get(client, "1")["status"] == "in_quarantine"

        # 3. Staff health check: healthy, then automatically available.
        answer = request_status(client, "1", "healthy")
        assert answer["accepted"] is True and answer["petId"] == "1"
        wait_for_status(client, "1", "available")

        # 4. The spec's "mark ready for adoption": it already is, so nothing happens.
        before = get(client, "1")
        answer = request_status(client, "1", "available")
        assert answer["accepted"] is True and "already available" in answer["message"]
        assert get(client, "1") == before

        # 5-6. Adoption application, then adoption.
        move_to(client, "1", "pending")
        adopted = move_to(client, "1", "adopted")
        assert adopted["notes"] == pet["notes"] and adopted["profile"] == pet["profile"]

    logs = server.logs()
    for line in [
        '🐾 Pet created {"petId": "1", "name": "Buddy", "species": "dog", "status": "new"}',
        '🔄 Setting next feeding reminder {"petId": "1"',
        '✅ Next feeding reminder set {"petId": "1"',
        '🔄 Lifecycle orchestrator processing {"petId": "1", "eventType": "feeding.reminder.completed"}',
        '✅ Lifecycle transition completed {"petId": "1", "oldStatus": "new", "newStatus": "in_quarantine", "description": "Pet moved to quarantine after feeding setup"}',
        '👤 Staff requesting status change {"petId": "1", "currentStatus": "in_quarantine", "requestedStatus": "available"}',
        '⚠️ Transition rejected {"petId": "1", "currentStatus": "in_quarantine", "requestedStatus": "available", "reason": "Invalid transition: cannot change from in_quarantine to available"}',
        '👤 Staff requesting status change {"petId": "1", "currentStatus": "in_quarantine", "requestedStatus": "healthy"}',
        '🔄 Lifecycle orchestrator processing {"petId": "1", "eventType": "status.update.requested", "requestedStatus": "healthy"}',
        '✅ Lifecycle transition completed {"petId": "1", "oldStatus": "in_quarantine", "newStatus": "healthy", "description": "Staff health check - pet cleared from quarantine"}',
        '🤖 Orchestrator triggering automatic progression {"petId": "1", "currentStatus": "healthy", "nextStatus": "available"}',
        '🤖 Automatic progression {"petId": "1", "eventType": "status.update.requested", "requestedStatus": "available", "automatic": true}',
        '✅ Lifecycle transition completed {"petId": "1", "oldStatus": "healthy", "newStatus": "available", "description": "Automatic progression - pet ready for adoption"}',
        '✅ Lifecycle transition completed {"petId": "1", "oldStatus": "pending", "newStatus": "adopted"',
    ]:
        assert console_has(logs, line), f"missing console line: {line}"


def test_the_illness_path_with_its_automatic_progressions(server_factory: Callable[..., Server]) -> None:
    server = server_factory()
    with server.client() as client:
        admitted(client, "Rex")
        # Ill during quarantine: treatment starts by itself.
        move_to(client, "1", "ill", then="under_treatment")
        # The spec's "Start treatment" PUT: already under treatment, nothing to do.
        assert request_status(client, "1", "under_treatment")["accepted"] is True
        # Recovered: healthy, then available, by themselves.
        move_to(client, "1", "recovered", then="available")
        # Ill again before adoption, and back.
        move_to(client, "1", "ill", then="under_treatment")
        move_to(client, "1", "recovered", then="available")
        # Adoption fell through: pending back to available.
        move_to(client, "1", "pending")
        move_to(client, "1", "available")

    logs = server.logs()
    for old, new, text in [
        ("in_quarantine", "ill", "Staff assessment - pet identified as ill"),
        ("ill", "under_treatment", "Automatic progression - treatment started"),
        ("under_treatment", "recovered", "Staff assessment - treatment completed"),
        ("recovered", "healthy", "Automatic progression - recovery complete"),
        ("healthy", "available", "Automatic progression - pet ready for adoption"),
        ("available", "ill", "Staff assessment - pet identified as ill"),
    ]:
        line = f'✅ Lifecycle transition completed {{"petId": "1", "oldStatus": "{old}", "newStatus": "{new}", "description": "{text}"}}'
        assert console_has(logs, line), f"missing console line: {line}"
    assert console_has(
        logs,
        '🤖 Orchestrator triggering automatic progression {"petId": "1", "currentStatus": "recovered", "nextStatus": "healthy"}',
    )


def test_every_invalid_transition_is_rejected_with_its_reason(server_factory: Callable[..., Server]) -> None:
    """From each status a pet rests in, every status the table does not allow is refused."""
    server = server_factory()
    with server.client() as client:
        pets = {status: admitted(client, f"Pet-{status}")["id"] for status in RESTING}
        move_to(client, pets["available"], "healthy", then="available")
        move_to(client, pets["pending"], "healthy", then="available")
        move_to(client, pets["pending"], "pending")
        move_to(client, pets["adopted"], "healthy", then="available")
        move_to(client, pets["adopted"], "pending")
        move_to(client, pets["adopted"], "adopted")
        move_to(client, pets["under_treatment"], "ill", then="under_treatment")

        rejected = 0
        for status, allowed in RESTING.items():
            pet_id = pets[status]
            before = get(client, pet_id)
            for requested in LIFECYCLE:
                if requested in allowed or requested == status:
                    continue
                answer = request_status(client, pet_id, requested)
                assert answer["accepted"] is False, (status, requested)
                assert answer["reason"] == f"Invalid transition: cannot change from {status} to {requested}"
                rejected += 1
            assert get(client, pet_id) == before, f"a rejected request changed the {status} pet"
    assert rejected == sum(len(LIFECYCLE) - 1 - len(allowed) for allowed in RESTING.values())
    assert server.logs().count("⚠️ Transition rejected") == rejected


@pytest.mark.parametrize("status", ["in_quarantine", "available"])
def test_the_same_status_twice_has_no_effect(server_factory: Callable[..., Server], status: str) -> None:
    server = server_factory()
    with server.client() as client:
        pet = admitted(client)
        if status == "available":
            pet = move_to(client, pet["id"], "healthy", then="available")
        for _ in range(2):
            answer = request_status(client, pet["id"], status)
            assert answer["accepted"] is True and answer.get("reason") is None
            assert answer["currentStatus"] == answer["requestedStatus"] == status
        assert get(client, pet["id"]) == pet
    assert "⚠️ Transition rejected" not in server.logs()


def test_the_orchestrator_checks_again_when_the_request_arrives(
    server_factory: Callable[..., Server], runtime: str
) -> None:
    """A request that was valid when made but is not by the time it is handled is rejected
    by the orchestrator; a redelivered request that was applied is not applied twice."""
    steprunner_only(
        runtime,
        "late and duplicate events are injected with `python -m steprunner emit`; Motia keeps its queue in Redis",
    )
    server = server_factory()
    with server.client() as client:
        pet = admitted(client)
        move_to(client, pet["id"], "healthy", then="available")
        move_to(client, pet["id"], "pending")
        # A staff request made while the pet was in quarantine, arriving only now.
        stale = {
            "petId": "1",
            "requestedStatus": "healthy",
            "currentStatus": "in_quarantine",
            "automatic": False,
            "requestId": "r-stale",
        }
        result = run_cli(
            "emit", "--no-run", "py.pet.status.update.requested", json.dumps(stale), data_dir=server.data_dir
        )
        assert result.returncode == 0, result.stderr
        reason = "Invalid transition: cannot change from pending to healthy"
        wait_until(lambda: f'"reason": "{reason}"' in server.logs(), message="the orchestrator's rejection")
        # A late automatic progression from `healthy` must not undo the staff's `pending`.
        late = {
            "petId": "1",
            "requestedStatus": "available",
            "fromStatus": "healthy",
            "automatic": True,
            "requestId": "r-late",
        }
        run_cli("emit", "--no-run", "py.pet.status.update.requested", json.dumps(late), data_dir=server.data_dir)
        wait_until(
            lambda: "⏭️ Automatic progression skipped" in server.logs(), message="the late progression to be skipped"
        )
        assert get(client, "1")["status"] == "pending"
        # The adoption request delivered twice: applied once, the copy is recognised.
        answer = request_status(client, "1", "adopted")
        wait_for_status(client, "1", "adopted")
        copy = {
            "petId": "1",
            "requestedStatus": "adopted",
            "currentStatus": "pending",
            "automatic": False,
            "requestId": answer["requestId"],
        }
        run_cli("emit", "--no-run", "py.pet.status.update.requested", json.dumps(copy), data_dir=server.data_dir)
        wait_until(lambda: "request already settled" in server.logs(), message="the duplicate to be recognised")
        assert get(client, "1")["status"] == "adopted"
    assert server.logs().count("⚠️ Transition rejected") == 1


def test_a_pet_is_created_with_the_specs_fields(server_factory: Callable[..., Server]) -> None:
    server = server_factory()
    with server.client() as client:
        pet = create(client, "  Whiskers  ", "cat", 12.5)
    assert pet["name"] == "Whiskers", "the name is trimmed"
    assert pet["ageMonths"] == 12.5
    assert set(pet) >= {
        "id",
        "name",
        "species",
        "ageMonths",
        "status",
        "createdAt",
        "updatedAt",
        "notes",
        "nextFeedingAt",
        "deletedAt",
        "purgeAt",
        "profile",
    }
