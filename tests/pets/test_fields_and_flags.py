"""The pet's new fields (`weightKg`, `symptoms`, `flags`) and the `needs_data` guard, over HTTP
(docs/decisions.md#17, #25): good values are stored, bad ones are a 400 naming the field, and a
flagged pet can't become available or pending, whoever asks, until the flag is cleared.

One server serves the validation tests; the guard tests each start their own.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from steprunner.testing.waiting import wait_until
from tests.pets.conftest import steprunner_only
from tests.pets.pets_api import (
    Pet,
    admitted,
    console_has,
    create,
    errors_of,
    get,
    move_to,
    put,
    request_status,
    store_of,
    wait_for,
    wait_for_status,
)
from tests.support.server import Server, run_cli

RUNTIMES = ("steprunner", "motia")
GOOD = {"name": "Rex", "species": "dog", "ageMonths": 36}
FLAGGED_REASON = "Pet is flagged needs_data: it can't become available or pending until the flag is cleared"


# ----------------------------------------------------------------------------- the fields


def test_weight_and_symptoms_are_stored_on_create(client: httpx.Client) -> None:
    pet = create(client, "Rex", weightKg=12.5, symptoms=["  coughing ", "limping"])
    assert (pet["weightKg"], pet["symptoms"]) == (12.5, ["coughing", "limping"]), "symptoms are trimmed"
    assert (pet["flags"], pet["reviews"], pet["treatmentPlan"], pet["adoptionPosting"]) == ([], [], None, None)
    assert get(client, pet["id"])["weightKg"] == 12.5
    whole = create(client, "Tiny", "cat", weightKg=4.0)
    assert whole["weightKg"] == 4 and whole["symptoms"] == [], "a whole weight is written as one, as ageMonths is"
    bounds = create(client, "Huge", "other", weightKg=500, symptoms=["x" * 100] * 20)
    assert bounds["weightKg"] == 500 and len(bounds["symptoms"]) == 20


def test_weight_symptoms_and_flags_are_updated_at_once(client: httpx.Client) -> None:
    pet = admitted(client, "Max")
    response = put(client, pet["id"], {"weightKg": 30, "symptoms": ["sneezing"]})
    assert response.status_code == 200, response.text
    assert (response.json()["weightKg"], response.json()["symptoms"]) == (30, ["sneezing"])
    assert put(client, pet["id"], {"symptoms": []}).json()["symptoms"] == []
    flagged = put(client, pet["id"], {"flags": ["needs_data", "needs_data"]})
    assert flagged.status_code == 200 and flagged.json()["flags"] == ["needs_data"], (
        "an in_quarantine pet may be flagged, once"
    )
    assert put(client, pet["id"], {"flags": []}).json()["flags"] == []
    assert get(client, pet["id"])["status"] == "in_quarantine"


BAD_VALUES = [
    ({"weightKg": 0}, "weightKg", "greater than 0"),
    ({"weightKg": -2.5}, "weightKg", "greater than 0"),
    ({"weightKg": 500.1}, "weightKg", "less than or equal to 500"),
    ({"weightKg": "12"}, "weightKg", "valid number"),
    ({"weightKg": "NaN"}, "weightKg", "valid number"),
    ({"weightKg": True}, "weightKg", "not true/false"),
    ({"weightKg": None}, "weightKg", "can't be null"),
    ({"symptoms": [""]}, "symptoms.0", "must not be empty"),
    ({"symptoms": ["ok", "   "]}, "symptoms.1", "must not be empty"),
    ({"symptoms": ["x" * 101]}, "symptoms.0", "at most 100 characters"),
    ({"symptoms": ["cough"] * 21}, "symptoms", "at most 20 items"),
    ({"symptoms": "coughing"}, "symptoms", "valid list"),
    ({"symptoms": [42]}, "symptoms.0", "valid string"),
    ({"symptoms": None}, "symptoms", "can't be null"),
]


@pytest.mark.parametrize(("fields", "field", "why"), [*BAD_VALUES, ({"flags": []}, "flags", "unknown field")])
def test_create_names_the_bad_new_field_and_why(
    client: httpx.Client, fields: dict[str, Any], field: str, why: str
) -> None:
    before = client.get("/py/pets", params={"limit": 100}).json()["items"]
    errors = errors_of(client.post("/py/pets", json={**GOOD, **fields}))
    assert field in errors, errors
    assert why in errors[field]
    assert client.get("/py/pets", params={"limit": 100}).json()["items"] == before, "nothing is stored"


@pytest.mark.parametrize(
    ("fields", "field", "why"),
    [
        *BAD_VALUES,
        ({"flags": ["vip"]}, "flags.0", "'needs_data'"),
        ({"flags": ["needs_data", "vip"]}, "flags.1", "'needs_data'"),
        ({"flags": "needs_data"}, "flags", "valid list"),
        ({"flags": None}, "flags", "can't be null"),
    ],
)
def test_update_names_the_bad_new_field_and_why(
    client: httpx.Client, fields: dict[str, Any], field: str, why: str
) -> None:
    pet = admitted(client)
    errors = errors_of(put(client, pet["id"], fields))
    assert any(f.startswith(field) and why in e for f, e in errors.items()), errors
    assert get(client, pet["id"]) == pet, "a refused update changes nothing"


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity"])
def test_a_weight_that_is_not_a_finite_number_is_refused(client: httpx.Client, runtime: str, literal: bytes) -> None:
    body = b'{"name": "Rex", "species": "dog", "ageMonths": 36, "weightKg": ' + literal + b"}"
    response = client.post("/py/pets", content=body, headers={"content-type": "application/json"})
    if runtime == "motia":  # Motia difference: Express refuses the non-JSON literal itself (HTML 400)
        assert response.status_code == 400 and "SyntaxError" in response.text
    else:
        assert "finite number" in errors_of(response)["weightKg"]


def test_a_weight_too_large_for_json_is_refused(client: httpx.Client, runtime: str) -> None:
    body = b'{"name": "Rex", "species": "dog", "ageMonths": 36, "weightKg": 1e999}'
    errors = errors_of(client.post("/py/pets", content=body, headers={"content-type": "application/json"}))
    # Motia difference: Node reads 1e999 as Infinity, which reaches the step as null.
    assert ("can't be null" if runtime == "motia" else "finite number") in errors["weightKg"]


# ----------------------------------------------------------------------------- the needs_data guard


def flagged_healthy(client: httpx.Client, name: str) -> Pet:
    """A healthy pet flagged needs_data: flags and the health check in one PUT, from quarantine."""
    pet = admitted(client, name)
    answer = put(client, pet["id"], {"flags": ["needs_data"], "status": "healthy"})
    assert answer.status_code == 202 and answer.json()["accepted"] is True, answer.text
    return wait_for_status(client, pet["id"], "healthy")


def test_a_flagged_pet_waits_in_healthy_until_staff_clear_the_flag(server_factory: Callable[..., Server]) -> None:
    server = server_factory()
    with server.client() as client:
        pet = flagged_healthy(client, "Bella")
        answer = request_status(client, pet["id"], "available")
        assert answer["accepted"] is False and answer["reason"].startswith(FLAGGED_REASON)
        assert get(client, pet["id"])["status"] == "healthy"

        before_clearing = server.logs()
        cleared = put(client, pet["id"], {"flags": []})
        assert cleared.status_code == 200 and cleared.json()["flags"] == []
        moved = wait_for(
            client,
            pet["id"],
            lambda p: p["status"] == "available" and p["adoptionPosting"] is not None,
            "Bella to move on",
        )
    assert moved["flags"] == []
    # It moved on only once the flag was cleared: the transition is not in the log before.
    transition = (
        f'✅ Lifecycle transition completed {{"petId": "{pet["id"]}", "oldStatus": "healthy", "newStatus": "available"'
    )
    assert not console_has(before_clearing, transition) and console_has(server.logs(), transition)


def test_staff_can_not_flag_an_available_pet(server_factory: Callable[..., Server]) -> None:
    server = server_factory()
    with server.client() as client:
        pet = admitted(client, "Luna")
        pet = move_to(client, pet["id"], "healthy", then="available")
        response = put(client, pet["id"], {"flags": ["needs_data"], "name": "Lunita"})
        assert response.status_code == 409
        assert "needs_data" in response.json()["message"]
        assert get(client, pet["id"])["flags"] == [] and get(client, pet["id"])["name"] == "Luna", "nothing is written"


@pytest.mark.parametrize(("status", "requested"), [("available", "pending"), ("pending", "available")])
def test_a_flagged_pet_can_not_be_made_available_or_pending_by_staff(
    server_factory: Callable[..., Server], status: str, requested: str
) -> None:
    server = server_factory()
    with server.client() as client:
        pet = admitted(client, "Coco")
        move_to(client, pet["id"], "healthy", then="available")
        if status == "pending":
            move_to(client, pet["id"], "pending")
        # Staff can't flag such a pet (409 above); the flag is set by hand, as the spec sets purgeAt.
        store = store_of(server.data_dir)
        store.update(pet["id"], {"flags": ["needs_data"]})
        store.close()
        answer = request_status(client, pet["id"], requested)
        assert answer["accepted"] is False and answer["reason"].startswith(FLAGGED_REASON)
        assert get(client, pet["id"])["status"] == status


def test_an_adoption_decision_needs_data_holds_the_pet_until_cleared(
    server_factory: Callable[..., Server], runtime: str
) -> None:
    steprunner_only(
        runtime, "the decision is injected with `python -m steprunner emit` (the agents are built elsewhere)"
    )
    server = server_factory()
    with server.client() as client:
        pet = admitted(client, "Nala")
        move_to(client, pet["id"], "healthy", then="available")
        review = {
            "id": "rv-1",
            "agent": "adoption",
            "choice": "needs_data",
            "rationale": "no weight on record",
            "source": "fallback",
            "fallbackReason": "no key",
            "inputs": {"weightKg": None},
            "allowedChoices": ["ready", "needs_data"],
            "at": 0,
        }
        result = run_cli(
            "emit",
            "--no-run",
            "py.adoption.needs_data",
            json.dumps({"petId": pet["id"], "review": review}),
            data_dir=server.data_dir,
        )
        assert result.returncode == 0, result.stderr
        held = wait_for(
            client,
            pet["id"],
            lambda p: p["status"] == "healthy" and p["flags"] == ["needs_data"],
            "Nala back to healthy, flagged",
        )
        assert [r["id"] for r in held["reviews"]] == ["rv-1"]
        answer = request_status(client, pet["id"], "available")
        assert answer["accepted"] is False and answer["reason"].startswith(FLAGGED_REASON)

        # The same decision delivered again changes nothing; clearing the flag lets the pet move on.
        run_cli(
            "emit",
            "--no-run",
            "py.adoption.needs_data",
            json.dumps({"petId": pet["id"], "review": review}),
            data_dir=server.data_dir,
        )
        wait_until(lambda: "review already applied" in server.logs(), message="the copied decision to be recognised")
        assert get(client, pet["id"]) == held
        assert put(client, pet["id"], {"flags": []}).status_code == 200
        wait_for_status(client, pet["id"], "available")
